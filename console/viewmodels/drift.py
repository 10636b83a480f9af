"""Drift: the drift panel of one deployment, and the fleet's latest drift (card badges).

Both are RefreshEngine panels: their fetches run on the I/O loop, a changed query drops the
answers of the old one, and they pause with the rest of the console.
"""

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from console.config.settings import Profile
from console.domain.drift import DEFAULT_THRESHOLDS, DriftMetric, DriftStatus, DriftThresholds
from console.domain.histograms import PRESET_HISTOGRAMS
from console.domain.series import FloatArray
from console.services.drift import (
    NO_THRESHOLDS,
    Baseline,
    DriftService,
    PreviousWindow,
)
from console.services.drift_panel import DriftPanelData, DriftQuery, drift_panel, is_additive
from console.services.drift_watch import (
    CrossingTracker,
    DriftReading,
    DriftWatch,
    worst,
)
from console.viewmodels.refresh import PanelState, Query, RefreshEngine

DEFAULT_RANGE_S = 86_400.0
DEFAULT_WINDOW_S = 3600.0
PREVIOUS_WINDOW = PreviousWindow()
_instances = itertools.count(1)
POINTS_PER_WINDOW = 12
"""The panel slides its window in twelfths: a new drift shows within five minutes of a
one-hour window, not at the next whole hour."""


@dataclass(frozen=True, eq=False)
class PointDetail:
    """One step of the drift chart opened up: both histograms and each bucket's part."""

    timestamp: float
    value: float
    status: DriftStatus
    baseline_count: float
    current_count: float
    bounds: FloatArray
    baseline_shares: FloatArray
    current_shares: FloatArray
    contributions: FloatArray
    metric: DriftMetric
    min_count: float

    @property
    def additive(self) -> bool:
        """Whether the contributions sum to the score (KS: their maximum is the score)."""
        return is_additive(self.metric)

    def inconclusive_reason(self) -> str | None:
        """Why the step is inconclusive, or None when it is not."""
        if self.status is not DriftStatus.INCONCLUSIVE:
            return None
        if min(self.baseline_count, self.current_count) < self.min_count:
            return (
                f"Inconclusive: a window held fewer than {self.min_count:g} samples "
                f"(baseline {self.baseline_count:.0f}, current {self.current_count:.0f})"
            )
        return "Inconclusive: no data in one of the windows"


class DriftViewModel(QObject):
    """The drift of one deployment's histogram over time, refreshed by a RefreshEngine.

    Thresholds and the minimum sample count come from the profile (per histogram and
    metric), else the metric's defaults. ``select(timestamp)`` opens one step up
    (``selected()``); the selection follows that time across refreshes.
    """

    changed = Signal()
    """The data or the status changed."""
    queryChanged = Signal()
    """A setting changed: the panel is loading anew."""
    selectionChanged = Signal()

    def __init__(
        self,
        engine: RefreshEngine,
        service: DriftService,
        *,
        profile: Profile,
        deployment: str,
        histogram: str = PRESET_HISTOGRAMS[0],
        range_s: float = DEFAULT_RANGE_S,
        window_s: float = DEFAULT_WINDOW_S,
        baseline: Baseline = PREVIOUS_WINDOW,
        metric: DriftMetric = DriftMetric.PSI,
        points_per_window: int = POINTS_PER_WINDOW,
        visible: bool = True,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._service = service
        self._clock = clock
        self._profile = profile
        self._query = self._with_levels(
            DriftQuery(
                deployment,
                histogram,
                range_s,
                window_s,
                baseline,
                metric,
                points_per_window=points_per_window,
            )
        )
        self._panel_id = f"drift{next(_instances)}"
        self._selected: float | None = None
        self._disposed = False
        self._last_state: PanelState | None = None
        engine.panelChanged.connect(self._on_panel_changed)
        engine.add_panel(self._panel_id, *self._request(), visible=visible)

    # -- what is shown ------------------------------------------------------------------------

    @property
    def engine(self) -> RefreshEngine:
        """The engine refreshing the panel (for visibility watchers)."""
        return self._engine

    @property
    def panel_id(self) -> str:
        """The RefreshEngine panel."""
        return self._panel_id

    @property
    def query(self) -> DriftQuery:
        """What is asked for now (thresholds and minimum count included)."""
        return self._query

    @property
    def deployment(self) -> str:
        """The deployment shown."""
        return self._query.deployment

    @property
    def thresholds(self) -> DriftThresholds:
        """The warn and alert levels in force (infinite when the metric has none)."""
        levels = self._query.thresholds
        return levels if levels is not None else NO_THRESHOLDS

    def state(self) -> PanelState:
        """Status, message and the last good data of the panel (kept once disposed of,
        for a view that paints once more before it goes)."""
        if self._last_state is not None:
            return self._last_state
        return self._engine.state(self._panel_id)

    def data(self) -> DriftPanelData | None:
        """The last good answer, if one arrived."""
        data = self.state().data
        return data if isinstance(data, DriftPanelData) else None

    # -- settings -----------------------------------------------------------------------------

    def set_deployment(self, deployment: str) -> None:
        """Show another deployment of the same profile."""
        self._set(deployment=deployment)

    def set_histogram(self, histogram: str) -> None:
        """A preset histogram name or a raw histogram metric name."""
        self._set(histogram=histogram.strip())

    def set_range(self, range_s: float) -> None:
        """How far back the chart reaches."""
        self._set(range_s=range_s)

    def set_window(self, window_s: float) -> None:
        """The window each distribution is taken over (one point per window)."""
        self._set(window_s=window_s)

    def set_baseline(self, baseline: Baseline) -> None:
        """Previous window, a fixed reference range or a version."""
        self._set(baseline=baseline)

    def set_metric(self, metric: DriftMetric) -> None:
        """The drift score; its levels follow (the profile's, else the defaults)."""
        self._set(metric=metric)

    def dispose(self) -> None:
        """Remove the panel from the engine; the view model is unusable afterwards."""
        if not self._disposed:
            self._disposed = True
            self._last_state = self._engine.state(self._panel_id)
            self._engine.panelChanged.disconnect(self._on_panel_changed)
            self._engine.remove_panel(self._panel_id)

    # -- click-through ------------------------------------------------------------------------

    def select(self, timestamp: float | None) -> None:
        """Open up the step at ``timestamp`` (the nearest one); None closes it."""
        if timestamp != self._selected:
            self._selected = timestamp
            self.selectionChanged.emit()

    def selected(self) -> PointDetail | None:
        """The step opened up, from the latest data; None when none is or it left the range."""
        data = self.data()
        if self._selected is None or data is None or data.series is None:
            return None
        series = data.series
        if not series.timestamps.size or not series.bounds.size:
            return None
        index = int(np.argmin(np.abs(series.timestamps - self._selected)))
        if abs(series.timestamps[index] - self._selected) > self._query.step_s:
            return None  # the step has left the range
        point = series.points[index]
        return PointDetail(
            timestamp=point.timestamp,
            value=point.value,
            status=point.status,
            baseline_count=point.baseline_count,
            current_count=point.current_count,
            bounds=series.bounds,
            baseline_shares=data.baseline_shares[index],
            current_shares=data.current_shares[index],
            contributions=data.contributions[index],
            metric=series.metric,
            min_count=self._query.min_count,
        )

    # -- internals ----------------------------------------------------------------------------

    def _with_levels(self, query: DriftQuery) -> DriftQuery:
        levels = self._profile.drift_thresholds(query.histogram, query.metric)
        if levels is None:
            levels = DEFAULT_THRESHOLDS.get(query.metric, NO_THRESHOLDS)
        return replace(query, thresholds=levels, min_count=self._profile.drift_min_count)

    def _set(self, **changes: Any) -> None:
        query = self._with_levels(replace(self._query, **changes))
        if query == self._query or self._disposed:
            return
        self._query = query
        self._engine.set_query(self._panel_id, *self._request())
        self.queryChanged.emit()
        self.changed.emit()

    def _request(self) -> Query:
        service, query, clock = self._service, self._query, self._clock

        async def fetch() -> DriftPanelData:
            return await drift_panel(service, query, clock=clock)

        return Query(("drift", self._profile.name, query), fetch)

    def _on_panel_changed(self, panel_id: str) -> None:
        if panel_id == self._panel_id:
            self.changed.emit()
            if self._selected is not None:
                self.selectionChanged.emit()


class DriftWatchModel(QObject):
    """The latest drift of every deployment of a profile, for the fleet cards' badges.

    ``crossed(deployment, histogram, old status, new status, value)`` is emitted once per
    threshold crossing (ok, warn, alert; see CrossingTracker), for an in-app notification.
    """

    changed = Signal()
    crossed = Signal(str, str, str, str, float)

    def __init__(
        self,
        engine: RefreshEngine,
        watch: DriftWatch,
        *,
        profile: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._watch = watch
        self._tracker = CrossingTracker()
        self._panel_id = f"drift-watch{next(_instances)}"
        self._disposed = False
        engine.panelChanged.connect(self._on_panel_changed)
        engine.add_panel(
            self._panel_id,
            ("drift-watch", profile, watch.window_s, watch.metric),
            watch.readings,
            visible=False,  # until a visibility watcher shows it
        )

    @property
    def panel_id(self) -> str:
        """The RefreshEngine panel."""
        return self._panel_id

    def state(self) -> PanelState:
        """Status, message and the last good readings."""
        return self._engine.state(self._panel_id)

    def readings(self) -> dict[str, DriftReading]:
        """The last good reading per deployment."""
        data = self.state().data
        return dict(data) if isinstance(data, dict) else {}

    def reading(self, deployment: str) -> DriftReading | None:
        """The last good reading of ``deployment``, if any."""
        return self.readings().get(deployment)

    def status(self, deployment: str) -> DriftStatus | None:
        """The latest drift status of ``deployment``; None when it has no histogram to watch."""
        reading = self.reading(deployment)
        return None if reading is None or reading.histogram is None else reading.status

    def worst(self) -> DriftStatus | None:
        """The most severe status of the fleet."""
        statuses = {name: s for name in self.readings() if (s := self.status(name)) is not None}
        return worst(statuses)

    def dispose(self) -> None:
        """Remove the panel from the engine."""
        if not self._disposed:
            self._disposed = True
            self._engine.panelChanged.disconnect(self._on_panel_changed)
            self._engine.remove_panel(self._panel_id)

    def _on_panel_changed(self, panel_id: str) -> None:
        if panel_id != self._panel_id:
            return
        for crossing in self._tracker.update(self.readings()):
            self.crossed.emit(
                crossing.deployment,
                crossing.histogram,
                crossing.old.value,
                crossing.new.value,
                crossing.value,
            )
        self.changed.emit()
