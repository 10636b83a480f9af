"""A deployment's incident timeline: one lane per source kind on the charts' time axis, and
the same items as a list. Activating an item asks to open its source."""

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.timeline import LANES, TimelineItem, TimelineKind
from console.ui.charts.axes import DateAxis, ValueAxis
from console.ui.charts.palette import blend
from console.viewmodels.timeline import TimelineViewModel

LANE_NAMES = {
    TimelineKind.VERSION: "versions",
    TimelineKind.ALERT: "alerts",
    TimelineKind.SILENCE: "silences",
    TimelineKind.DRIFT: "drift",
    TimelineKind.SYNTHETIC_RUN: "runs",
    TimelineKind.AUDIT: "audit",
}
LANE_COLOURS = {
    TimelineKind.VERSION: "#4c8bf5",
    TimelineKind.ALERT: "#e5534b",
    TimelineKind.SILENCE: "#8b949e",
    TimelineKind.DRIFT: "#d29922",
    TimelineKind.SYNTHETIC_RUN: "#2da44e",
    TimelineKind.AUDIT: "#a371f7",
}
LEFT_AXIS_PX = 64
"""As wide as a TimeChart's left axis, so that the time axes line up."""
LANES_HEIGHT_PX = 190
LIST_HEIGHT_PX = 170
_ITEM_ROLE = Qt.ItemDataRole.UserRole


def lane_row(kind: TimelineKind) -> int:
    """The y of a lane: the first lane on top."""
    return len(LANES) - 1 - LANES.index(kind)


class TimelineView(QWidget):
    """Shows a TimelineViewModel; ``itemActivated(item)`` when a marker is clicked or a list
    row is double-clicked (or Enter)."""

    itemActivated = Signal(object)  # TimelineItem
    exportRequested = Signal()

    def __init__(self, model: TimelineViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineView")
        self.model = model
        self.title = QLabel("Incident timeline")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.status = QLabel()
        self.status.setObjectName("caption")
        self.status.setWordWrap(True)
        self.refresh_button = QPushButton("Reload")
        self.export_button = QPushButton("Export incident report…")
        self.export_button.setToolTip(
            "Write this deployment's window as one HTML file (or Markdown with .md)"
        )
        self.plot = pg.PlotWidget(
            axisItems={"bottom": DateAxis("bottom"), "left": ValueAxis("left")}
        )
        self.plot.setObjectName("timelineLanes")
        self._apply_theme()
        self.plot.setFixedHeight(LANES_HEIGHT_PX)
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.showGrid(x=True, y=False, alpha=1.0)
        left = item.getAxis("left")
        left.setWidth(LEFT_AXIS_PX)
        left.setTicks([[(lane_row(k), LANE_NAMES[k]) for k in LANES]])
        item.getAxis("bottom").setStyle(maxTickLevel=0)
        self.view_box = item.getViewBox()
        self.view_box.setMouseEnabled(x=False, y=False)  # the charts lead: zoom them
        self.view_box.setYRange(-0.6, len(LANES) - 0.4, padding=0)
        self.spans = {
            kind: pg.PlotDataItem(
                connect="pairs", pen=pg.mkPen(QColor(LANE_COLOURS[kind]), width=5)
            )
            for kind in LANES
        }
        self.markers = pg.ScatterPlotItem(size=11, hoverable=True, tip=None)
        self.markers.setZValue(2)
        for curve in self.spans.values():
            curve.setZValue(1)
            item.addItem(curve)
        item.addItem(self.markers)
        self.markers.sigClicked.connect(self._on_marker_clicked)
        self.list = QTreeWidget()
        self.list.setObjectName("timelineList")
        self.list.setHeaderLabels(["When", "Lane", "What", "Detail"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setFixedHeight(LIST_HEIGHT_PX)
        header = self.list.header()
        header.resizeSection(0, 140)
        header.resizeSection(1, 70)
        header.resizeSection(2, 300)
        header.setStretchLastSection(True)
        self.list.itemActivated.connect(self._on_row_activated)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.status, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.plot)
        layout.addWidget(self.list)
        self.refresh_button.clicked.connect(model.reload)
        self.export_button.clicked.connect(self.exportRequested)
        model.changed.connect(self._render)
        self._items: list[TimelineItem] = []
        self._render()

    def link_x(self, view_box: pg.ViewBox) -> None:
        """Show the time range of ``view_box`` (the detail charts' leading chart) over the
        lanes' whole width. Not setXLink: that aligns screen pixels, and the lanes are
        wider than one chart."""
        view_box.sigXRangeChanged.connect(self._follow)
        self._follow(view_box, view_box.viewRange()[0])

    def _follow(self, _box: object, x_range: tuple[float, float]) -> None:
        self.view_box.setXRange(x_range[0], x_range[1], padding=0)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_theme()

    def _apply_theme(self) -> None:
        # As a TimeChart themes itself, so that the lanes look like the charts above.
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Window)
        foreground = palette.color(QPalette.ColorRole.WindowText)
        self.plot.setBackground(background)
        grid = blend(background, foreground, 0.16)
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(grid))
            axis.setTextPen(pg.mkPen(foreground))

    def items(self) -> list[TimelineItem]:
        """The items shown, in time order."""
        return list(self._items)

    def activate(self, index: int) -> None:
        """Activate item ``index`` as a click on it would."""
        self.itemActivated.emit(self._items[index])

    def _on_marker_clicked(self, _plot: object, points: list[pg.SpotItem], *_: object) -> None:
        if len(points):
            self.activate(int(points[0].data()))

    def _on_row_activated(self, row: QTreeWidgetItem, _column: int) -> None:
        self.activate(int(row.data(0, _ITEM_ROLE)))

    def _render(self) -> None:
        model = self.model
        timeline = model.timeline
        self._items = list(timeline.items) if timeline is not None else []
        if model.error:
            self.status.setText(model.error)
        elif timeline is None:
            self.status.setText("Loading…")
        else:
            counts = ", ".join(
                f"{len(timeline.lane(k))} {LANE_NAMES[k]}" for k in LANES if timeline.lane(k)
            )
            errors = f" · unavailable: {'; '.join(timeline.errors)}" if timeline.errors else ""
            self.status.setText((counts or "nothing happened in this window") + errors)
        self._draw(timeline.end if timeline is not None else time.time())
        self._fill_list()

    def _draw(self, window_end: float) -> None:
        xs, ys, brushes, data = [], [], [], []
        spans: dict[TimelineKind, list[float]] = {kind: [] for kind in LANES}
        for index, item in enumerate(self._items):
            row = lane_row(item.kind)
            xs.append(item.at)
            ys.append(row)
            brushes.append(pg.mkBrush(QColor(LANE_COLOURS[item.kind])))
            data.append(index)
            if item.is_span:
                spans[item.kind] += [item.at, item.end if item.end is not None else window_end]
        self.markers.setData(x=xs, y=ys, brush=brushes, data=data, pen=pg.mkPen("k", width=0.5))
        for kind, ends in spans.items():
            x = np.array(ends, dtype=float)
            self.spans[kind].setData(x, np.full(len(x), float(lane_row(kind))))

    def _fill_list(self) -> None:
        self.list.clear()
        for index, item in reversed(list(enumerate(self._items))):
            when = time.strftime("%m-%d %H:%M:%S", time.localtime(item.at))
            row = QTreeWidgetItem([when, LANE_NAMES[item.kind], item.title, item.detail])
            row.setData(0, _ITEM_ROLE, index)
            row.setForeground(1, QColor(LANE_COLOURS[item.kind]))
            row.setToolTip(2, item.title)
            row.setToolTip(3, item.detail)
            self.list.addTopLevelItem(row)
