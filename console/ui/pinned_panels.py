"""The live chart of each pinned dashboard panel, fed by the profile's RefreshEngine."""

import itertools

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from console.config.settings import GRID_COLUMNS, PinnedPanel
from console.domain.annotations import Annotation
from console.services.detail import DetailService
from console.services.explore import ExploreService
from console.ui.charts.chart_tile import ChartTile
from console.ui.live_chart import show_chart_state
from console.ui.panel_visibility import watch_visibility
from console.viewmodels.pinned import pinned_annotations_query, pinned_query, pinned_unit
from console.viewmodels.refresh import Query, RefreshEngine

DASHBOARD_WIDTH_PX = 1200
"""The width the panels' queries plan for: a column span's share of a typical window."""
_MARKS = ":marks"
_ids = itertools.count(1)


class PinnedPanels(QObject):
    """DashboardView's ``make_panel``: one ChartTile per pinned panel, refreshed live.

    Each chart is an engine panel (plus one for a deployment's version-change marks) that
    refreshes only while it is on screen and goes away with the chart. A pinned detail
    chart shares its requests with an open detail view of the same deployment. Tiles, not
    pyqtgraph charts: a wall of them stays light (benchmarks.panels); double-clicking a
    deployment's tile asks for its detail view, where the charts zoom and pan.
    """

    detailRequested = Signal(str)
    """A deployment whose full charts the user asked for."""

    def __init__(
        self,
        engine: RefreshEngine,
        detail: DetailService,
        explore: ExploreService,
        *,
        profile: str,
        range_s: float,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._detail = detail
        self._explore = explore
        self._profile = profile
        self._range_s = range_s
        self._bindings: dict[str, _Binding] = {}
        self._disposed = False

    def __call__(self, panel: PinnedPanel) -> QWidget:
        """A new live chart of ``panel``."""
        if self._disposed:
            raise RuntimeError("the dashboard's panels went with their profile")
        chart = ChartTile(panel.title, pinned_unit(panel, self._detail))
        if panel.deployment is not None:
            deployment = panel.deployment
            chart.activated.connect(lambda: self.detailRequested.emit(deployment))
        panel_id = f"pinned{next(_ids)}"
        binding = _Binding(chart, self._engine, panel_id, panel)
        self._bindings[panel_id] = binding
        binding.destroyed.connect(lambda: self._forget(panel_id))
        for engine_id, query in self._queries(panel_id, panel).items():
            self._engine.add_panel(engine_id, *query, visible=False)
            watch_visibility(chart, self._engine, engine_id)
        return chart

    def set_range(self, range_s: float) -> None:
        """Show every panel over the last ``range_s`` (its old results are dropped)."""
        self._range_s = range_s
        for panel_id, binding in self._bindings.items():
            for engine_id, query in self._queries(panel_id, binding.panel).items():
                self._engine.set_query(engine_id, *query)

    def dispose(self) -> None:
        """Stop every panel's refresh; charts deleted later leave the engine alone."""
        self._disposed = True
        for panel_id in list(self._bindings):
            self._forget(panel_id)

    def _queries(self, panel_id: str, panel: PinnedPanel) -> dict[str, Query]:
        width = max(200, DASHBOARD_WIDTH_PX * panel.column_span // GRID_COLUMNS)
        queries = {
            panel_id: pinned_query(
                panel,
                profile=self._profile,
                detail=self._detail,
                explore=self._explore,
                range_s=self._range_s,
                width_px=width,
            )
        }
        marks = pinned_annotations_query(
            panel, profile=self._profile, detail=self._detail, range_s=self._range_s, width_px=width
        )
        if marks is not None:
            queries[panel_id + _MARKS] = marks
        return queries

    def _forget(self, panel_id: str) -> None:
        binding = self._bindings.pop(panel_id, None)
        if binding is not None:
            self._engine.remove_panel(panel_id)
            if binding.panel.deployment is not None:
                self._engine.remove_panel(panel_id + _MARKS)


class _Binding(QObject):
    """Draws the engine's state of one panel (and its marks) on its chart; a child of it."""

    def __init__(
        self, chart: ChartTile, engine: RefreshEngine, panel_id: str, panel: PinnedPanel
    ) -> None:
        super().__init__(chart)
        self.panel = panel
        self._chart = chart
        self._engine = engine
        self._panel_id = panel_id
        engine.panelChanged.connect(self._on_changed)

    def _on_changed(self, panel_id: str) -> None:
        if panel_id == self._panel_id:
            show_chart_state(self._chart, self.panel.title, self._engine.state(panel_id))
        elif panel_id == self._panel_id + _MARKS:
            data = self._engine.state(panel_id).data
            marks = [m for m in data if isinstance(m, Annotation)] if isinstance(data, list) else []
            self._chart.set_annotations(marks)
