"""Output samples of a model version and the categorical features drift is measured on."""

import bisect
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class OutputRecord:
    """One sampled model response: who answered, how it ended and what it looked like.

    ``finish_reason`` is the engine's own word ("stop", "length", "content_filter",
    "tool_calls", "error", ...); ``json_valid`` is None when no JSON was expected.
    """

    timestamp: float
    deployment: str
    version: str
    finish_reason: str
    refused: bool
    json_valid: bool | None
    output_tokens: int

    def __post_init__(self) -> None:
        if not math.isfinite(self.timestamp):
            raise ValueError(f"output record of {self.deployment!r}: timestamp is not finite")
        if self.output_tokens < 0:
            raise ValueError(
                f"output record of {self.deployment!r} {self.version!r}: "
                f"output_tokens {self.output_tokens} is negative"
            )


class OutputFeature(StrEnum):
    """A categorical property of a response whose distribution can drift."""

    FINISH_REASON = "finish_reason"
    REFUSAL = "refusal"
    JSON_VALIDITY = "json_validity"
    OUTPUT_LENGTH = "output_length"


OUTPUT_LENGTH_EDGES: tuple[int, ...] = (0, 64, 128, 256, 512, 1024, 2048)
"""Lower bounds (tokens) of the output-length buckets; the last bucket is open-ended."""

_LENGTH_LABELS = (
    *(f"{low}-{high - 1}" for low, high in itertools.pairwise(OUTPUT_LENGTH_EDGES)),
    f"{OUTPUT_LENGTH_EDGES[-1]}+",
)
_LENGTH_RANK = {label: rank for rank, label in enumerate(_LENGTH_LABELS)}


def output_length_bucket(tokens: int) -> str:
    """The label of the bucket ``tokens`` falls in, such as "128-255" or "2048+"."""
    return _LENGTH_LABELS[bisect.bisect_right(OUTPUT_LENGTH_EDGES, tokens) - 1]


def categorise(record: OutputRecord, feature: OutputFeature) -> str | None:
    """The category of ``record`` for ``feature``, or None when the feature does not apply."""
    match feature:
        case OutputFeature.FINISH_REASON:
            return record.finish_reason
        case OutputFeature.REFUSAL:
            return "refused" if record.refused else "answered"
        case OutputFeature.JSON_VALIDITY:
            if record.json_valid is None:
                return None
            return "valid" if record.json_valid else "invalid"
        case OutputFeature.OUTPUT_LENGTH:
            return output_length_bucket(record.output_tokens)


def feature_counts(
    records: Iterable[OutputRecord], features: Sequence[OutputFeature]
) -> dict[OutputFeature, dict[str, int]]:
    """How many records fall in each category, per feature, in one pass over ``records``."""
    counters: dict[OutputFeature, Counter[str]] = {feature: Counter() for feature in features}
    for record in records:
        for feature, counter in counters.items():
            category = categorise(record, feature)
            if category is not None:
                counter[category] += 1
    return {feature: dict(counter) for feature, counter in counters.items()}


def category_counts(records: Iterable[OutputRecord], feature: OutputFeature) -> dict[str, int]:
    """How many records fall in each category of ``feature`` (inapplicable ones are left out)."""
    return feature_counts(records, (feature,))[feature]


def ordered_categories(feature: OutputFeature, categories: Iterable[str]) -> tuple[str, ...]:
    """``categories`` without repeats in display order: length buckets by size, others by name."""
    unique = set(categories)
    if feature is OutputFeature.OUTPUT_LENGTH:
        return tuple(sorted(unique, key=lambda c: (_LENGTH_RANK.get(c, len(_LENGTH_RANK)), c)))
    return tuple(sorted(unique))
