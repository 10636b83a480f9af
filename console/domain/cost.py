"""Serving cost per hour from the prices a profile sets per model version."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from console.domain.series import FloatArray

_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class VersionPrice:
    """What one model version costs: per 1k tokens, or per GPU-hour times its GPU count.

    ``deployment`` None applies the price to the version of that name in every deployment.
    Token prices and a GPU-hour price may be combined (e.g. a hosted API plus a gateway).
    """

    version: str
    deployment: str | None = None
    per_1k_input_tokens: float = 0.0
    per_1k_output_tokens: float = 0.0
    per_gpu_hour: float = 0.0
    gpus: float = 1.0
    currency: str = "USD"

    def __post_init__(self) -> None:
        for name in ("per_1k_input_tokens", "per_1k_output_tokens", "per_gpu_hour", "gpus"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"price of {self.version!r}: {name} must be >= 0, got {value!r}")
        if not self.version:
            raise ValueError("a price needs the version it applies to")

    def per_hour(
        self, input_tokens_per_s: FloatArray, output_tokens_per_s: FloatArray
    ) -> FloatArray:
        """Cost per hour at each sample of the version's token rates.

        A token rate counts only when it has a price; NaN where a priced rate is unknown.
        GPU-hours are paid while the version serves, i.e. where either rate is known.
        """
        serving = np.isfinite(input_tokens_per_s) | np.isfinite(output_tokens_per_s)
        cost: FloatArray = np.where(serving, self.per_gpu_hour * self.gpus, np.nan)
        per_token_hour = _SECONDS_PER_HOUR / 1000.0
        if self.per_1k_input_tokens > 0:
            cost = cost + input_tokens_per_s * self.per_1k_input_tokens * per_token_hour
        if self.per_1k_output_tokens > 0:
            cost = cost + output_tokens_per_s * self.per_1k_output_tokens * per_token_hour
        return cost


def price_for(prices: Sequence[VersionPrice], deployment: str, version: str) -> VersionPrice | None:
    """The price of ``version`` in ``deployment``: one naming the deployment wins."""
    exact = next((p for p in prices if p.version == version and p.deployment == deployment), None)
    if exact is not None:
        return exact
    return next((p for p in prices if p.version == version and p.deployment is None), None)
