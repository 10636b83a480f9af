"""The detail of one deployment: its charts, annotations and canary table as live panels."""

import contextlib
import itertools
import math
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal

from console.domain.annotations import Annotation
from console.domain.canary import CanaryComparison
from console.services.detail import DETAIL_CHARTS, ChartData, ChartSpec, DetailService
from console.viewmodels.refresh import PanelState, Query, RefreshEngine

WIDTH_BUCKET_PX = 200
"""Chart widths are rounded up to this, so that resizing a window re-queries rarely and
charts of about the same width share one query."""

_ANNOTATIONS = "annotations"
_CANARY = "canary"
_instances = itertools.count(1)


def width_bucket(width_px: int) -> int:
    """``width_px`` rounded up to a whole number of buckets (at least one)."""
    return max(1, math.ceil(width_px / WIDTH_BUCKET_PX)) * WIDTH_BUCKET_PX


class DetailViewModel(QObject):
    """Registers one RefreshEngine panel per chart, one for annotations, one for the canary.

    Keys name the profile, deployment, chart, range and width bucket, so identical queries
    (the same chart pinned to a dashboard, say) share one request. A new range or
    deployment gives every panel a new key: results for the old one are dropped. With
    ``visible`` False nothing is fetched until a visibility watcher shows the panels.
    """

    chartChanged = Signal(str)
    """A chart's data or status changed (its chart id)."""
    annotationsChanged = Signal()
    canaryChanged = Signal()
    queryChanged = Signal()
    """The deployment or the range changed: every panel is loading anew."""
    _marked = Signal(object)

    def __init__(
        self,
        engine: RefreshEngine,
        service: DetailService,
        *,
        profile: str,
        deployment: str,
        range_s: float,
        width_px: int = 800,
        visible: bool = True,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._service = service
        self._profile = profile
        self._deployment = deployment
        self._range_s = range_s
        self._width = width_bucket(width_px)
        self._prefix = f"detail{next(_instances)}/"
        self._charts = {spec.chart_id: spec for spec in DETAIL_CHARTS}
        self._clock = clock
        self._disposed = False
        engine.panelChanged.connect(self._on_panel_changed)
        # A mark added to the store shows at once, without waiting for the next refresh.
        self._marked.connect(self._on_marked, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = service.annotation_store.subscribe(self._relay_mark)
        self.destroyed.connect(self._unsubscribe)
        for panel, query in self._queries().items():
            engine.add_panel(self._prefix + panel, *query, visible=visible)

    @property
    def engine(self) -> RefreshEngine:
        """The engine refreshing the panels (for visibility watchers)."""
        return self._engine

    @property
    def profile(self) -> str:
        """The profile the deployment belongs to."""
        return self._profile

    @property
    def deployment(self) -> str:
        """The deployment shown."""
        return self._deployment

    @property
    def range_s(self) -> float:
        """The time range of the charts in seconds."""
        return self._range_s

    def charts(self) -> tuple[ChartSpec, ...]:
        """The charts, in display order."""
        return tuple(self._charts.values())

    def unit(self, chart_id: str) -> str:
        """The unit of a chart's values (cost in the prices' currency)."""
        return self._service.unit(chart_id)

    def panel_id(self, chart_id: str) -> str:
        """The RefreshEngine panel of a chart."""
        return self._prefix + chart_id

    @property
    def annotations_panel_id(self) -> str:
        """The RefreshEngine panel of the annotations."""
        return self._prefix + _ANNOTATIONS

    @property
    def canary_panel_id(self) -> str:
        """The RefreshEngine panel of the canary table."""
        return self._prefix + _CANARY

    def chart_state(self, chart_id: str) -> PanelState:
        """Status, message and last good data (a ChartData) of a chart."""
        return self._engine.state(self.panel_id(chart_id))

    def chart_data(self, chart_id: str) -> ChartData | None:
        """The last good lines of a chart, if any arrived."""
        data = self.chart_state(chart_id).data
        return data if isinstance(data, ChartData) else None

    def annotations(self) -> list[Annotation]:
        """Version changes (last good answer) and the store's marks over the range."""
        data = self.annotations_state().data
        fetched = data if isinstance(data, list) else []
        now = self._clock()
        stored = self._service.annotation_store.between(self._deployment, now - self._range_s, now)
        return sorted(set(fetched) | set(stored), key=lambda mark: (mark.at, mark.text))

    def annotations_state(self) -> PanelState:
        """Status of the annotations panel."""
        return self._engine.state(self.annotations_panel_id)

    def canary_state(self) -> PanelState:
        """Status of the canary table panel."""
        return self._engine.state(self.canary_panel_id)

    def canary(self) -> CanaryComparison | None:
        """The canary table, or None while one version serves (or before the first answer)."""
        data = self.canary_state().data
        return data if isinstance(data, CanaryComparison) else None

    def set_range(self, range_s: float) -> None:
        """Show another time range; answers for the previous one are dropped."""
        if range_s != self._range_s:
            self._range_s = range_s
            self._requery()

    def set_deployment(self, deployment: str) -> None:
        """Show another deployment of the same profile."""
        if deployment != self._deployment:
            self._deployment = deployment
            self._requery()

    def set_width(self, width_px: int) -> None:
        """Charts are ``width_px`` wide; only a change of width bucket re-queries."""
        bucket = width_bucket(width_px)
        if bucket != self._width:
            self._width = bucket
            self._requery()

    def dispose(self) -> None:
        """Remove every panel from the engine; later calls to set_* do nothing."""
        if self._disposed:
            return
        self._disposed = True
        self._unsubscribe()
        self._engine.panelChanged.disconnect(self._on_panel_changed)
        for panel in self._queries():
            self._engine.remove_panel(self._prefix + panel)

    def _requery(self) -> None:
        if self._disposed:
            return  # its fleet is gone: the view is about to go too
        for panel, query in self._queries().items():
            self._engine.set_query(self._prefix + panel, *query)
        self.queryChanged.emit()

    def _queries(self) -> dict[str, Query]:
        profile, deployment, range_s, width = (
            self._profile,
            self._deployment,
            self._range_s,
            self._width,
        )
        service = self._service
        queries = {
            chart_id: chart_query(service, profile, deployment, chart_id, range_s, width)
            for chart_id in self._charts
        }
        queries[_ANNOTATIONS] = annotations_query(service, profile, deployment, range_s, width)
        queries[_CANARY] = Query(
            ("canary", profile, deployment), lambda: service.canary(deployment)
        )
        return queries

    def _relay_mark(self, mark: Annotation) -> None:
        # Called on the thread that added the mark; the queued signal brings it here.
        with contextlib.suppress(RuntimeError):  # this view model is already deleted
            self._marked.emit(mark)

    def _on_marked(self, mark: Annotation) -> None:
        if not self._disposed and mark.applies_to(self._deployment):
            self.annotationsChanged.emit()

    def _on_panel_changed(self, panel_id: str) -> None:
        if not panel_id.startswith(self._prefix):
            return
        name = panel_id[len(self._prefix) :]
        if name == _ANNOTATIONS:
            self.annotationsChanged.emit()
        elif name == _CANARY:
            self.canaryChanged.emit()
        else:
            self.chartChanged.emit(name)


def chart_query(
    service: DetailService,
    profile: str,
    deployment: str,
    chart_id: str,
    range_s: float,
    width_px: int,
) -> Query:
    """The RefreshEngine query of one detail chart (dashboards reuse it to share the request
    with an open detail view); the same chart of every deployment is one phase group."""
    width = width_bucket(width_px)

    async def fetch() -> ChartData:
        data = await service.chart(deployment, chart_id, range_s, width)
        if data.failure is not None:
            # Raised so that the engine keeps the last good lines, shows the error and
            # pauses with back-off when the backend's circuit is open.
            raise data.failure
        return data

    group = ("chart", profile, chart_id, range_s, width)
    return Query(("chart", profile, deployment, chart_id, range_s, width), fetch, group)


def annotations_query(
    service: DetailService, profile: str, deployment: str, range_s: float, width_px: int
) -> Query:
    """The RefreshEngine query of a deployment's chart annotations (shared and grouped alike)."""
    width = width_bucket(width_px)
    return Query(
        ("annotations", profile, deployment, range_s, width),
        lambda: service.annotations(deployment, range_s, width),
        ("annotations", profile, range_s, width),
    )
