"""Charts that move together: one time range, one crosshair, one reset."""

from collections.abc import Callable
from functools import partial

import pyqtgraph as pg
from PySide6.QtCore import QObject

from console.ui.charts.time_chart import TimeChart


class ChartGroup(QObject):
    """Links the time axes of its charts to the first one, shares the crosshair and resets all
    charts on a double-click on any of them. A deleted chart leaves the group by itself."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._charts: list[TimeChart] = []
        self._forget_slots: dict[TimeChart, Callable[[], None]] = {}
        self._leader: TimeChart | None = None

    def charts(self) -> list[TimeChart]:
        """The charts in the group, the one whose time axis leads first."""
        return list(self._charts)

    def add(self, chart: TimeChart) -> None:
        """Join ``chart``: it takes the group's time range."""
        if chart in self._charts:
            return
        self._charts.append(chart)
        chart.crosshairMoved.connect(self._on_crosshair_moved)
        chart.crosshairLeft.connect(self._on_crosshair_left)
        chart.resetRequested.connect(self.reset)
        forget = partial(self._forget, chart)
        self._forget_slots[chart] = forget
        chart.destroyed.connect(forget)
        self._link()

    def remove(self, chart: TimeChart) -> None:
        """Let ``chart`` go: its time axis stands alone again."""
        if chart not in self._charts:
            return
        self._charts.remove(chart)
        chart.crosshairMoved.disconnect(self._on_crosshair_moved)
        chart.crosshairLeft.disconnect(self._on_crosshair_left)
        chart.resetRequested.disconnect(self.reset)
        chart.destroyed.disconnect(self._forget_slots.pop(chart))
        was_auto = bool(chart.view_box.autoRangeEnabled()[0])
        chart.view_box.setXLink(None)
        chart.show_crosshair(None)
        self._link(leader_was_auto=was_auto)

    def reset(self) -> None:
        """Fit every chart to its data again (the time range follows the leading chart)."""
        for chart in self._charts:
            chart.reset_range()

    def _link(self, *, leader_was_auto: bool = True) -> None:
        leader = self._charts[0] if self._charts else None
        if leader is not None and leader is not self._leader:
            leader.view_box.setXLink(None)
            if self._leader is not None and leader_was_auto:
                # A follower takes the lead: it follows the data as the old leader did.
                leader.view_box.enableAutoRange(x=True)
        self._leader = leader
        for chart in self._charts[1:]:
            if chart.view_box.linkedView(pg.ViewBox.XAxis) is not self._charts[0].view_box:
                chart.view_box.setXLink(self._charts[0].view_box)

    def _on_crosshair_moved(self, x: float) -> None:
        source = self.sender()
        for chart in self._charts:
            if chart is not source:
                chart.show_crosshair(x)

    def _on_crosshair_left(self) -> None:
        source = self.sender()
        for chart in self._charts:
            if chart is not source:
                chart.show_crosshair(None)

    def _forget(self, gone: TimeChart) -> None:
        # Only the Python wrapper is left: drop it without calling into the deleted chart.
        self._charts = [chart for chart in self._charts if chart is not gone]
        self._forget_slots.pop(gone, None)
        self._link()  # a deleted leader cannot tell whether it followed the data: assume so
