"""What the drift panel of one deployment shows: the drift series and everything drawn from it.

The per-bucket shares, each bucket's contribution to the score and the version changes are
computed here, on the I/O loop, so that the GUI thread only paints.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from console.backends.errors import BackendError
from console.domain.annotations import Annotation, version_changes
from console.domain.drift import DEFAULT_MIN_COUNT, DriftMetric, DriftThresholds, contributions
from console.domain.series import FloatArray, Series
from console.domain.timerange import TimeRange, plan_range
from console.services.drift import Baseline, DriftRequestError, DriftSeries, DriftService

MAX_STEPS = 720
"""A drift chart has at most this many points: the step grows with the range beyond it."""
HISTORY_POINTS = 600
"""Resolution of the version history behind the version-change marks."""


@dataclass(frozen=True)
class DriftQuery:
    """One drift chart: which histogram of which deployment, compared how, over what."""

    deployment: str
    histogram: str
    range_s: float
    window_s: float
    baseline: Baseline
    metric: DriftMetric
    thresholds: DriftThresholds | None = None
    """None: the metric's default levels."""
    min_count: float = DEFAULT_MIN_COUNT
    points_per_window: int = 1
    """Windows overlap when above 1: a step of window / points_per_window shows a change
    within that step (the steps are aligned, so the newest can be a whole step old)."""

    @property
    def step_s(self) -> float:
        """``points_per_window`` points per window, coarser beyond MAX_STEPS points."""
        return max(self.window_s / self.points_per_window, self.range_s / MAX_STEPS)


@dataclass(frozen=True, eq=False)
class DriftPanelData:
    """A drift series with its shares per bucket (t x n, rows of NaN where a window is empty),
    each bucket's contribution to each step's score, and the version changes in the range.

    ``problem`` says why there is no series (a version baseline that is impossible now, say);
    ``note`` mentions what is missing besides (the version marks).
    """

    series: DriftSeries | None
    baseline_shares: FloatArray
    current_shares: FloatArray
    contributions: FloatArray
    marks: tuple[Annotation, ...] = ()
    serving: tuple[str, ...] = ()
    """Versions serving at the end of the range (from the version history)."""
    problem: str | None = None
    note: str | None = None


async def drift_panel(
    service: DriftService, query: DriftQuery, *, clock: Callable[[], float] = time.time
) -> DriftPanelData:
    """The drift series of ``query`` and the version history of the same range, fetched at once.

    Raises BackendError when the histogram cannot be read; a version history that cannot be
    read only leaves the marks out (with a note).
    """
    history_plan = plan_range(
        TimeRange.last(query.range_s, clock()), HISTORY_POINTS, service.backend.scrape_interval_s
    )
    series, history = await asyncio.gather(
        service.series(
            query.deployment,
            query.histogram,
            range_s=query.range_s,
            step_s=query.step_s,
            window_s=query.window_s,
            baseline=query.baseline,
            metric=query.metric,
            thresholds=query.thresholds,
            min_count=query.min_count,
        ),
        service.backend.version_history(history_plan, deployment=query.deployment),
        return_exceptions=True,
    )
    marks: tuple[Annotation, ...] = ()
    serving: tuple[str, ...] = ()
    note = None
    if isinstance(history, BackendError):
        note = f"version changes unavailable: {history}"
    elif isinstance(history, BaseException):
        raise history
    else:
        marks = tuple(version_changes(query.deployment, history))
        serving = _serving_at_end(history)
    empty = np.empty((0, 0))
    if isinstance(series, DriftRequestError):
        return DriftPanelData(None, empty, empty, empty, marks, serving, str(series), note)
    if isinstance(series, BaseException):
        raise series
    return DriftPanelData(
        series,
        _shares(series.baseline_counts),
        _shares(series.current_counts),
        _contributions(series),
        marks,
        serving,
        None,
        note,
    )


def _serving_at_end(history: dict[str, Series]) -> tuple[str, ...]:
    """The versions with a value at the last step where any version has one."""
    if not history:
        return ()
    versions = sorted(history)
    serving = np.stack([np.isfinite(history[v].values) for v in versions])
    steps = np.flatnonzero(serving.any(axis=0))
    if not steps.size:
        return ()
    last = steps[-1]
    return tuple(v for v, on in zip(versions, serving[:, last], strict=True) if on)


def _shares(counts: FloatArray) -> FloatArray:
    """Each row as shares of its total; NaN rows where the window held nothing."""
    totals = np.nansum(counts, axis=1, keepdims=True) if counts.size else counts[:, :0]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares: FloatArray = np.where(totals > 0, counts / totals, np.nan)
    return shares


def _contributions(series: DriftSeries) -> FloatArray:
    if not series.bounds.size:
        return np.empty((series.timestamps.size, 0))
    parts: FloatArray = contributions(
        series.metric,
        series.bounds,
        np.nan_to_num(series.baseline_counts),
        np.nan_to_num(series.current_counts),
    )
    return parts


def is_additive(metric: DriftMetric) -> bool:
    """Whether a score is the sum of its bucket contributions (KS is their maximum)."""
    return metric is not DriftMetric.KS
