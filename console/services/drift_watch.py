"""The fleet's latest drift: per deployment, the last window against the one before it.

Cheap enough to run on every refresh: one inventory, then one two-step histogram query per
deployment. Each deployment is watched on the first preset histogram its engine exports
(output lengths first); the choice is remembered, so later checks ask for that one only,
and a deployment that exports none is only asked again now and then.
"""

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from console.backends.protocol import MetricsBackend
from console.domain.drift import (
    DEFAULT_MIN_COUNT,
    DEFAULT_THRESHOLDS,
    DriftMetric,
    DriftStatus,
    DriftThresholds,
    judge,
    score,
)
from console.domain.histograms import PRESET_HISTOGRAMS
from console.domain.series import SeriesKey
from console.domain.timerange import RangePlan
from console.services.drift import NO_THRESHOLDS

DEFAULT_WATCH_WINDOW_S = 3600.0
RETRY_MISSING_EVERY = 20
"""A deployment without any preset histogram is asked again only every this many checks."""
JUDGED = (DriftStatus.OK, DriftStatus.WARN, DriftStatus.ALERT)
"""Statuses between which a change is a threshold crossing (inconclusive is none of them)."""
_SEVERITY = {
    DriftStatus.ALERT: 3,
    DriftStatus.WARN: 2,
    DriftStatus.INCONCLUSIVE: 1,
    DriftStatus.OK: 0,
}

ThresholdsFor = Callable[[str, DriftMetric], DriftThresholds | None]
"""The levels set for a histogram and metric (a profile's), or None for the defaults."""


@dataclass(frozen=True)
class DriftReading:
    """A deployment's latest drift (the last ``window_s`` against the one before it);
    ``histogram`` None when the deployment exports no preset histogram."""

    deployment: str
    histogram: str | None
    value: float
    status: DriftStatus
    baseline_count: float = 0.0
    current_count: float = 0.0
    metric: DriftMetric = DriftMetric.PSI
    window_s: float = DEFAULT_WATCH_WINDOW_S


@dataclass(frozen=True)
class DriftCrossing:
    """A deployment's drift moved from one judged status to another."""

    deployment: str
    histogram: str
    old: DriftStatus
    new: DriftStatus
    value: float

    @property
    def worse(self) -> bool:
        """True when the drift got worse (ok -> warn, warn -> alert, ok -> alert)."""
        return _SEVERITY[self.new] > _SEVERITY[self.old]


def worst(statuses: Mapping[str, DriftStatus]) -> DriftStatus | None:
    """The most severe status (alert, warn, inconclusive, ok), None when there is none."""
    return max(statuses.values(), key=_SEVERITY.__getitem__, default=None)


class DriftWatch:
    """Reads the latest drift of every deployment of one backend."""

    def __init__(
        self,
        backend: MetricsBackend,
        *,
        window_s: float = DEFAULT_WATCH_WINDOW_S,
        metric: DriftMetric = DriftMetric.PSI,
        thresholds_for: ThresholdsFor | None = None,
        min_count: float = DEFAULT_MIN_COUNT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (math.isfinite(window_s) and window_s > 0):
            raise ValueError(f"drift watch window must be a positive number of seconds: {window_s}")
        self.backend = backend
        self.window_s = window_s
        self.metric = metric
        self._thresholds_for = thresholds_for or (lambda histogram, metric: None)
        self._min_count = min_count
        self._clock = clock
        self._histogram_of: dict[str, str] = {}
        self._skip_missing: dict[str, int] = {}

    async def readings(self) -> dict[str, DriftReading]:
        """The latest drift per deployment, by name. Raises BackendError."""
        inventory = await self.backend.inventory()
        end = math.floor(self._clock() / self.backend.scrape_interval_s)
        end_s = end * self.backend.scrape_interval_s
        plan = RangePlan(end_s - self.window_s, end_s, self.window_s)
        found = await asyncio.gather(*(self._reading(i.deployment, plan) for i in inventory))
        return {reading.deployment: reading for reading in found}

    async def _reading(self, deployment: str, plan: RangePlan) -> DriftReading:
        remembered = self._histogram_of.get(deployment)
        skip = self._skip_missing.get(deployment, 0)
        if skip:
            self._skip_missing[deployment] = skip - 1
            return self._unknown(deployment, None)
        candidates = (remembered,) if remembered else PRESET_HISTOGRAMS
        for histogram in candidates:
            answer = await self.backend.histogram_range(
                histogram, plan, self.window_s, deployment=deployment
            )
            series = answer.get(SeriesKey(deployment))
            if series is None or series.counts.shape[0] < 2:
                continue
            self._histogram_of[deployment] = histogram
            return self._judged(deployment, histogram, series.bounds, series.counts)
        if remembered is None:
            self._skip_missing[deployment] = RETRY_MISSING_EVERY - 1
        self._histogram_of.pop(deployment, None)
        return self._unknown(deployment, remembered)

    def _unknown(self, deployment: str, histogram: str | None) -> DriftReading:
        return DriftReading(
            deployment,
            histogram,
            math.nan,
            DriftStatus.INCONCLUSIVE,
            metric=self.metric,
            window_s=self.window_s,
        )

    def _judged(
        self, deployment: str, histogram: str, bounds: np.ndarray, counts: np.ndarray
    ) -> DriftReading:
        base, cur = counts[-2], counts[-1]
        value = (
            float(score(self.metric, bounds, base, cur))
            if np.all(np.isfinite(base)) and np.all(np.isfinite(cur))
            else math.nan
        )
        baseline_count = float(np.nansum(base))
        current_count = float(np.nansum(cur))
        chosen = self._thresholds_for(histogram, self.metric)
        if chosen is None:
            chosen = DEFAULT_THRESHOLDS.get(self.metric, NO_THRESHOLDS)
        status = judge(
            value,
            chosen,
            baseline_count=baseline_count,
            current_count=current_count,
            min_count=self._min_count,
        )
        return DriftReading(
            deployment,
            histogram,
            value,
            status,
            baseline_count,
            current_count,
            self.metric,
            self.window_s,
        )


class CrossingTracker:
    """Turns successive readings into threshold crossings, each reported once.

    The first judged status of a deployment is where it starts, not a crossing; an
    inconclusive reading in between neither crosses nor forgets the last judged status.
    """

    def __init__(self) -> None:
        self._last: dict[str, DriftStatus] = {}

    def update(self, readings: Mapping[str, DriftReading]) -> list[DriftCrossing]:
        """The crossings since the previous update, in deployment order."""
        crossings = []
        for name in sorted(readings):
            reading = readings[name]
            if reading.status not in JUDGED or reading.histogram is None:
                continue
            old = self._last.get(name)
            self._last[name] = reading.status
            if old is not None and old != reading.status:
                crossings.append(
                    DriftCrossing(name, reading.histogram, old, reading.status, reading.value)
                )
        return crossings
