"""Time series values keyed by deployment and model version."""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SeriesKey:
    """Which deployment (and optionally which model version) a value belongs to."""

    deployment: str
    version: str | None = None


@dataclass(frozen=True, eq=False)
class Series:
    """Samples of one signal for one key: Unix timestamps (s) and float values (NaN = gap)."""

    key: SeriesKey
    timestamps: FloatArray
    values: FloatArray

    def __post_init__(self) -> None:
        if self.timestamps.shape != self.values.shape:
            raise ValueError(
                f"series {self.key}: {self.timestamps.size} timestamps "
                f"but {self.values.size} values"
            )

    def last_value(self) -> float | None:
        """The newest finite value, or None when the series holds no finite sample."""
        finite = np.flatnonzero(np.isfinite(self.values))
        return float(self.values[finite[-1]]) if finite.size else None


def known(value: float | None) -> float | None:
    """Map NaN and infinities to None: an empty or NaN result is "no data", never a figure."""
    if value is None or not math.isfinite(value):
        return None
    return value
