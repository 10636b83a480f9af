"""Categorical drift of model outputs: finish reasons, refusals, JSON validity, answer lengths.

The records come from any iterable (the DEMO generator, later the log backend) and each is
read exactly once, so a one-shot stream of samples can be compared without holding it.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from console.domain.drift import (
    DEFAULT_MIN_COUNT,
    DEFAULT_THRESHOLDS,
    DriftMetric,
    DriftStatus,
    DriftThresholds,
    categorical_psi,
    chi_square,
    judge,
)
from console.domain.outputs import OutputFeature, OutputRecord, feature_counts, ordered_categories


@dataclass(frozen=True)
class CategoricalDrift:
    """How far one output feature moved between a baseline and a current set of records.

    Both count mappings hold every category seen on either side (zero where absent), in
    display order. ``chi2``, ``p_value`` and ``psi`` are NaN when either side has no
    applicable record; ``status`` is judged on ``psi``.
    """

    feature: OutputFeature
    baseline_counts: Mapping[str, int]
    current_counts: Mapping[str, int]
    chi2: float
    p_value: float
    psi: float
    status: DriftStatus

    @property
    def baseline_count(self) -> int:
        """Baseline records the feature applies to."""
        return sum(self.baseline_counts.values())

    @property
    def current_count(self) -> int:
        """Current records the feature applies to."""
        return sum(self.current_counts.values())


def output_drift(
    baseline: Iterable[OutputRecord],
    current: Iterable[OutputRecord],
    *,
    features: Sequence[OutputFeature] = tuple(OutputFeature),
    thresholds: DriftThresholds = DEFAULT_THRESHOLDS[DriftMetric.PSI],
    min_count: float = DEFAULT_MIN_COUNT,
) -> list[CategoricalDrift]:
    """The drift of each of ``features`` from ``baseline`` to ``current``, in that order.

    Each feature's status is judged on its PSI; it is inconclusive when either side has fewer
    than ``min_count`` records the feature applies to.
    """
    baseline_by_feature = feature_counts(baseline, features)
    current_by_feature = feature_counts(current, features)
    return [
        _compare(
            feature,
            baseline_by_feature[feature],
            current_by_feature[feature],
            thresholds,
            min_count,
        )
        for feature in features
    ]


def by_version(records: Iterable[OutputRecord]) -> dict[str, list[OutputRecord]]:
    """The records of each model version, versions in order of first appearance."""
    split: dict[str, list[OutputRecord]] = {}
    for record in records:
        split.setdefault(record.version, []).append(record)
    return split


def _compare(
    feature: OutputFeature,
    baseline: Mapping[str, int],
    current: Mapping[str, int],
    thresholds: DriftThresholds,
    min_count: float,
) -> CategoricalDrift:
    categories = ordered_categories(feature, [*baseline, *current])
    baseline_counts = {c: baseline.get(c, 0) for c in categories}
    current_counts = {c: current.get(c, 0) for c in categories}
    chi2, p_value = chi_square(baseline_counts, current_counts)
    psi = categorical_psi(baseline_counts, current_counts)
    status = judge(
        psi,
        thresholds,
        baseline_count=sum(baseline_counts.values()),
        current_count=sum(current_counts.values()),
        min_count=min_count,
    )
    return CategoricalDrift(
        feature=feature,
        baseline_counts=baseline_counts,
        current_counts=current_counts,
        chi2=chi2,
        p_value=p_value,
        psi=psi,
        status=status,
    )
