"""Drift over time: a deployment's histogram per window, scored against a baseline.

At each step the distribution over the window ending there (``increase(…[W])``) is compared
with a baseline: the window before it, one fixed reference range, or another serving
version over the same window. All steps are scored at once by the domain's drift math.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from console.backends.protocol import MetricsBackend
from console.domain.drift import (
    DEFAULT_MIN_COUNT,
    DEFAULT_THRESHOLDS,
    DriftMetric,
    DriftStatus,
    DriftThresholds,
    Histogram,
    judge,
    rebin,
    score,
)
from console.domain.histograms import HistogramSeries
from console.domain.series import FloatArray, SeriesKey
from console.domain.timerange import MAX_POINTS_PER_SERIES, RangePlan, TimeRange, plan_range

NO_THRESHOLDS = DriftThresholds(warn=math.inf, alert=math.inf)
"""For a metric without default thresholds (Wasserstein): never warn or alert."""


class DriftRequestError(ValueError):
    """The drift asked for cannot be computed as asked (unknown deployment, bad baseline)."""


@dataclass(frozen=True)
class PreviousWindow:
    """Baseline: the window just before each step's window."""


@dataclass(frozen=True)
class ReferenceRange:
    """Baseline: one distribution over a fixed range of Unix seconds (same for every step)."""

    start: float
    end: float

    def __post_init__(self) -> None:
        TimeRange(self.start, self.end)  # raises ValueError unless start < end, both finite


@dataclass(frozen=True)
class VersionBaseline:
    """Baseline: this version over each window; current: the deployment's other version."""

    version: str


Baseline = PreviousWindow | ReferenceRange | VersionBaseline


@dataclass(frozen=True)
class DriftPoint:
    """One step: its score (NaN when a side is empty), sample counts and status."""

    timestamp: float
    value: float
    baseline_count: float
    current_count: float
    status: DriftStatus


@dataclass(frozen=True, eq=False)
class DriftSeries:
    """Drift at every step, with the histograms compared (t x n counts on ``bounds``)."""

    deployment: str
    histogram: str
    metric: DriftMetric
    baseline: Baseline
    thresholds: DriftThresholds
    bounds: FloatArray
    timestamps: FloatArray
    values: FloatArray
    baseline_counts: FloatArray
    current_counts: FloatArray
    statuses: tuple[DriftStatus, ...]
    current_version: str | None = None

    @property
    def points(self) -> list[DriftPoint]:
        """One point per step, oldest first."""
        baseline_totals = _totals(self.baseline_counts)
        current_totals = _totals(self.current_counts)
        return [
            DriftPoint(float(t), float(v), float(b), float(c), s)
            for t, v, b, c, s in zip(
                self.timestamps,
                self.values,
                baseline_totals,
                current_totals,
                self.statuses,
                strict=True,
            )
        ]


class DriftService:
    """Computes drift series from a metrics backend's histograms."""

    def __init__(self, backend: MetricsBackend, *, clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self._clock = clock

    async def series(
        self,
        deployment: str,
        histogram: str,
        *,
        range_s: float,
        step_s: float,
        window_s: float,
        baseline: Baseline,
        metric: DriftMetric,
        thresholds: DriftThresholds | None = None,
        min_count: float = DEFAULT_MIN_COUNT,
    ) -> DriftSeries:
        """The drift of ``histogram`` over the last ``range_s``, one point per step.

        The step is at least ``step_s`` (and coarser if the range would need more than
        11,000 points). Without ``thresholds`` the metric's defaults apply; a metric with
        none (Wasserstein) never warns or alerts, it is only inconclusive on few samples.
        Raises DriftRequestError for an unknown deployment or an impossible version baseline.
        """
        for name, value in (("range", range_s), ("step", step_s), ("window", window_s)):
            if not (math.isfinite(value) and value > 0):
                raise DriftRequestError(f"{name} must be a positive number of seconds, got {value}")
        now = self._clock()
        width = max(1, math.floor(range_s / step_s))
        aligned = plan_range(TimeRange.last(range_s, now), width, self.backend.scrape_interval_s)
        # Alignment may put the last step in the future, where no window is complete yet.
        end = aligned.end if aligned.end <= now else aligned.end - aligned.step
        plan = RangePlan(aligned.start, max(aligned.start, end), aligned.step)
        versions = await self._serving_versions(deployment)
        current_version = None
        if isinstance(baseline, VersionBaseline):
            current_version = _other_version(deployment, versions, baseline.version)
            base, cur = await self._by_version(
                deployment, histogram, plan, window_s, baseline.version, current_version
            )
        elif isinstance(baseline, ReferenceRange):
            base, cur = await self._against_reference(
                deployment, histogram, plan, window_s, baseline
            )
        else:
            base, cur = await self._against_previous(deployment, histogram, plan, window_s)
        bounds, base_counts, cur_counts = _aligned(base, cur, plan)
        values = (
            score(metric, bounds, np.nan_to_num(base_counts), np.nan_to_num(cur_counts))
            if bounds.size
            else np.full(plan.points, np.nan)
        )
        chosen = DEFAULT_THRESHOLDS.get(metric, NO_THRESHOLDS) if thresholds is None else thresholds
        statuses = tuple(
            judge(float(v), chosen, baseline_count=b, current_count=c, min_count=min_count)
            for v, b, c in zip(
                values.tolist(),
                _totals(base_counts).tolist(),
                _totals(cur_counts).tolist(),
                strict=True,
            )
        )
        return DriftSeries(
            deployment=deployment,
            histogram=histogram,
            metric=metric,
            baseline=baseline,
            thresholds=chosen,
            bounds=bounds,
            timestamps=plan.timestamps(),
            values=values,
            baseline_counts=base_counts,
            current_counts=cur_counts,
            statuses=statuses,
            current_version=current_version,
        )

    async def _serving_versions(self, deployment: str) -> tuple[str, ...]:
        inventory = await self.backend.inventory()
        for info in inventory:
            if info.deployment == deployment:
                return info.versions
        known = ", ".join(info.deployment for info in inventory) or "none"
        raise DriftRequestError(f"unknown deployment {deployment!r} (known: {known})")

    async def _histogram(
        self, histogram: str, plan: RangePlan, window_s: float, deployment: str
    ) -> HistogramSeries | None:
        result = await self.backend.histogram_range(
            histogram, plan, window_s, deployment=deployment
        )
        return result.get(SeriesKey(deployment))

    async def _against_previous(
        self, deployment: str, histogram: str, plan: RangePlan, window_s: float
    ) -> tuple[HistogramSeries | None, HistogramSeries | None]:
        """One query over the range extended by a window when the window is whole steps."""
        shift = window_s / plan.step
        extended = RangePlan(plan.start - window_s, plan.end, plan.step)
        if shift == round(shift) and extended.points <= MAX_POINTS_PER_SERIES:
            both = _on_plan(
                await self._histogram(histogram, extended, window_s, deployment), extended
            )
            if both is None:
                return None, None
            steps = round(shift)
            return _rows(both, 0, plan.points), _rows(both, steps, plan.points)
        shifted = RangePlan(plan.start - window_s, plan.end - window_s, plan.step)
        return (
            await self._histogram(histogram, shifted, window_s, deployment),
            await self._histogram(histogram, plan, window_s, deployment),
        )

    async def _against_reference(
        self,
        deployment: str,
        histogram: str,
        plan: RangePlan,
        window_s: float,
        reference: ReferenceRange,
    ) -> tuple[HistogramSeries | None, HistogramSeries | None]:
        at_end = RangePlan(reference.end, reference.end, plan.step)
        window = reference.end - reference.start
        base = await self._histogram(histogram, at_end, window, deployment)
        cur = await self._histogram(histogram, plan, window_s, deployment)
        if base is None:
            return None, cur
        counts = np.broadcast_to(base.counts[:1], (plan.points, base.bounds.size))
        return HistogramSeries(base.bounds, plan.timestamps(), counts.copy()), cur

    async def _by_version(
        self,
        deployment: str,
        histogram: str,
        plan: RangePlan,
        window_s: float,
        baseline_version: str,
        current_version: str,
    ) -> tuple[HistogramSeries | None, HistogramSeries | None]:
        result = await self.backend.histogram_range(
            histogram, plan, window_s, deployment=deployment, by_version=True
        )
        return (
            result.get(SeriesKey(deployment, baseline_version)),
            result.get(SeriesKey(deployment, current_version)),
        )


def _other_version(deployment: str, versions: tuple[str, ...], baseline: str) -> str:
    """The serving version that is not ``baseline``; there must be exactly two."""
    others = [v for v in versions if v != baseline]
    if baseline not in versions or len(others) != 1:
        serving = ", ".join(versions) or "no version"
        raise DriftRequestError(
            f"{deployment!r} serves {serving} now; a version baseline needs {baseline!r} "
            "and exactly one other version serving"
        )
    return others[0]


def _rows(series: HistogramSeries, first: int, count: int) -> HistogramSeries:
    part = slice(first, first + count)
    return HistogramSeries(series.bounds, series.timestamps[part], series.counts[part])


def _on_plan(series: HistogramSeries | None, plan: RangePlan) -> HistogramSeries | None:
    """The series with one row per plan step (NaN rows for missing steps)."""
    if series is None or series.timestamps.size == plan.points:
        return series
    counts = np.full((plan.points, series.bounds.size), np.nan)
    position = np.rint((series.timestamps - plan.start) / plan.step).astype(np.int64)
    inside = (position >= 0) & (position < plan.points)
    counts[position[inside]] = series.counts[inside]
    return HistogramSeries(series.bounds, plan.timestamps(), counts)


def _aligned(
    base: HistogramSeries | None, cur: HistogramSeries | None, plan: RangePlan
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bounds and both t x n count arrays on one set of buckets (the union when they differ)."""
    base, cur = _on_plan(base, plan), _on_plan(cur, plan)
    if base is None and cur is None:
        empty = np.full((plan.points, 0), np.nan)
        return np.empty(0), empty, empty.copy()
    if base is None:
        assert cur is not None
        return cur.bounds, np.full_like(cur.counts, np.nan), cur.counts
    if cur is None:
        return base.bounds, base.counts, np.full_like(base.counts, np.nan)
    if np.array_equal(base.bounds, cur.bounds):
        return base.bounds, base.counts, cur.counts
    return _rebinned(base, cur)


def _rebinned(
    base: HistogramSeries, cur: HistogramSeries
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Both series on the union of their bounds, step by step (NaN rows stay NaN)."""
    bounds = np.union1d(base.bounds, cur.bounds)
    base_rows = np.full((base.counts.shape[0], bounds.size), np.nan)
    cur_rows = np.full_like(base_rows, np.nan)
    for i, (b, c) in enumerate(zip(base.counts, cur.counts, strict=True)):
        _, base_rows[i], cur_rows[i] = rebin(
            Histogram(base.bounds, np.nan_to_num(b)), Histogram(cur.bounds, np.nan_to_num(c))
        )
    base_rows[np.isnan(base.counts).any(axis=1)] = np.nan
    cur_rows[np.isnan(cur.counts).any(axis=1)] = np.nan
    return bounds, base_rows, cur_rows


def _totals(counts: FloatArray) -> FloatArray:
    """Samples per step; 0 for a step without data."""
    totals: FloatArray = np.nan_to_num(counts).sum(axis=1)
    return totals
