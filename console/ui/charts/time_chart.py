"""A time-series chart: one line per name (model version), annotations, crosshair, export."""

from collections.abc import Sequence

import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPalette, QTextDocument
from PySide6.QtWidgets import QWidget

from console.domain.annotations import Annotation
from console.ui.charts.axes import DateAxis, ValueAxis
from console.ui.charts.line_chart import LineChart
from console.ui.charts.line_set import Lines, mark_label, mark_tooltip
from console.ui.charts.palette import MARK_STYLES, blend, is_dark
from console.ui.charts.units import label_axis

_MOUSE_RATE_HZ = 60
_LEFT_AXIS_WIDTH = 64  # fixed, so that the time axes of stacked charts line up
_LINE_WIDTH = 1  # wider lines take Qt's slow path: several times the paint time
_BINS_PER_PIXEL = 2.0
_MARK_LABEL_ROWS = (0.93, 0.82, 0.71)


class TimeChart(LineChart):
    """Lines over a local-time axis; wheel zooms and drag pans the time axis only.

    The y axis follows the visible data. Double-click resets the range and emits
    ``resetRequested``; hovering shows a crosshair, every line's value at that time and emits
    ``crosshairMoved``. Arrays passed to ``set_lines`` are kept, not copied: do not mutate them.
    """

    crosshairMoved = Signal(float)
    crosshairLeft = Signal()
    resetRequested = Signal()

    def __init__(self, title: str, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(title, unit, parent)
        self.plot_widget = pg.PlotWidget(
            axisItems={"bottom": DateAxis("bottom"), "left": ValueAxis("left")}
        )
        self._set_plot(self.plot_widget)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._marks: tuple[Annotation, ...] = ()
        self._mark_lines: list[pg.InfiniteLine] = []
        self._theme_key: tuple[int, int] | None = None
        self.plot_widget.setMinimumHeight(120)
        self._configure_plot()

        scene = self.plot_widget.scene()
        self._mouse_proxy = pg.SignalProxy(
            scene.sigMouseMoved, rateLimit=_MOUSE_RATE_HZ, slot=self._on_mouse_moved
        )
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self.plot_widget.installEventFilter(self)
        self.plot_widget.viewport().installEventFilter(self)
        self._apply_theme()
        self._show_readout()

    @property
    def plot_item(self) -> pg.PlotItem:
        """The pyqtgraph PlotItem (for linking views and tests)."""
        return self.plot_widget.getPlotItem()

    @property
    def view_box(self) -> pg.ViewBox:
        """The ViewBox of the plot."""
        return self.plot_item.getViewBox()

    # -- data ---------------------------------------------------------------------------------

    def set_lines(self, lines: Lines) -> None:
        """Show ``lines`` (name -> (unix timestamps, values), NaN = gap); unchanged lines are
        left alone, lines no longer named are removed."""
        changes = self._lines.update(lines)
        for name in changes.removed:
            self.plot_item.removeItem(self._curves.pop(name))
        for name in changes.added:
            self._curves[name] = self._add_curve(name)
        data = self._lines.data()
        for name in changes.changed:
            self._curves[name].setData(*data[name])
        if changes:
            self._show_readout()

    def set_annotations(self, marks: Sequence[Annotation]) -> None:
        """Show a vertical line with a short label at each mark; the tooltip has the full text."""
        marks = tuple(marks)
        if marks == self._marks:
            return
        self._marks = marks
        self._draw_marks()

    def annotation_lines(self) -> list[pg.InfiniteLine]:
        """The vertical lines drawn for the annotations."""
        return list(self._mark_lines)

    # -- crosshair ----------------------------------------------------------------------------

    def show_crosshair(self, x: float | None) -> None:
        """Draw the crosshair at time ``x`` and list the values there; None hides it."""
        self._crosshair_x = x
        if x is None:
            self._crosshair.hide()
        else:
            self._crosshair.setPos(x)
            self._crosshair.show()
        self._show_readout()

    def readout_text(self) -> str:
        """The legend or crosshair values line as plain text."""
        return _plain(self.readout.text())

    # -- range --------------------------------------------------------------------------------

    def reset_range(self) -> None:
        """Fit the data again; a chart whose time axis follows another one only fits y."""
        follows = self.view_box.linkedView(pg.ViewBox.XAxis) is not None
        self.view_box.enableAutoRange(x=None if follows else True, y=True)

    # -- export -------------------------------------------------------------------------------

    # -- Qt -----------------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._apply_theme()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.plot_widget and event.type() in (QEvent.Type.Resize, QEvent.Type.Move):
            self._place_status()
        elif event.type() == QEvent.Type.Leave and self._crosshair_x is not None:
            self._mouse_proxy.flush()  # a late rate-limited move must not bring it back
            self.show_crosshair(None)
            self.crosshairLeft.emit()
        return super().eventFilter(watched, event)

    # -- internals ----------------------------------------------------------------------------

    def _configure_plot(self) -> None:
        item = self.plot_item
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.setMenuEnabled(False)
        item.hideButtons()
        # Major grid lines only, in an opaque colour: Qt's raster engine draws translucent
        # cosmetic lines about ten times slower, which cost more than the curves.
        item.showGrid(x=True, y=True, alpha=1.0)
        for name in ("left", "bottom"):
            item.getAxis(name).setStyle(maxTickLevel=0)
        left = item.getAxis("left")
        left.setWidth(_LEFT_AXIS_WIDTH)
        label_axis(left, self.unit)
        box = self.view_box
        box.setMouseEnabled(x=True, y=False)
        box.setAutoVisible(y=True)
        self._crosshair = pg.InfiniteLine(angle=90, movable=False)
        self._crosshair.setZValue(1000)
        self._crosshair.hide()
        item.addItem(self._crosshair, ignoreBounds=True)

    def _add_curve(self, name: str) -> pg.PlotDataItem:
        curve = _TimeCurve(
            name=name,
            connect="finite",
            pen=self._line_pen(name),
            # Peak downsampling keeps each bin's min and max: two bins per pixel column lose
            # nothing visible and draw less than pyqtgraph's default of five.
            autoDownsampleFactor=_BINS_PER_PIXEL,
            # No dynamic range limit: it recomputes the downsampled data on every change of
            # the y range, which the auto-ranged y axis does on nearly every update.
            dynamicRangeLimit=None,
        )
        self.plot_item.addItem(curve)
        return curve

    def _line_pen(self, name: str) -> pg.QtGui.QPen:
        return pg.mkPen(self.colour_of(name), width=_LINE_WIDTH)

    def _on_mouse_moved(self, args: tuple[QPointF]) -> None:
        position = args[0]
        box = self.view_box
        if not box.sceneBoundingRect().contains(position):
            if self._crosshair_x is not None:
                self.show_crosshair(None)
                self.crosshairLeft.emit()
            return
        x = float(box.mapSceneToView(position).x())
        self.show_crosshair(x)
        self.crosshairMoved.emit(x)

    def _on_mouse_clicked(self, event: MouseClickEvent) -> None:
        if event.double() and event.button() == Qt.MouseButton.LeftButton:
            event.accept()
            self.reset_range()
            self.resetRequested.emit()

    def _show_readout(self) -> None:
        view = self.view_box.viewRange()[0]
        self.readout.setText(
            self._lines.readout_html(
                self.unit, self._crosshair_x, view[1] - view[0], is_dark(self.palette())
            )
        )

    def _draw_marks(self) -> None:
        for line in self._mark_lines:
            self.plot_item.removeItem(line)
        self._mark_lines = [self._mark_line(i, mark) for i, mark in enumerate(self._marks)]
        for line in self._mark_lines:
            self.plot_item.addItem(line, ignoreBounds=True)

    def _mark_line(self, index: int, mark: Annotation) -> pg.InfiniteLine:
        style = MARK_STYLES[mark.kind]
        colour = style.colour(is_dark(self.palette()))
        fill = QColor(self.palette().color(QPalette.ColorRole.Window))
        fill.setAlphaF(0.55)  # the label stays readable, the lines under it visible
        line = pg.InfiniteLine(
            pos=mark.at,
            angle=90,
            movable=False,
            pen=pg.mkPen(colour, width=1, style=style.line),
            label=mark_label(mark),
            labelOpts={
                # staggered, so that the labels of nearby marks do not cover each other
                "position": _MARK_LABEL_ROWS[index % len(_MARK_LABEL_ROWS)],
                "color": colour,
                "fill": fill,
                "anchors": [(0, 0.5), (0, 0.5)],  # right of the line
            },
        )
        tooltip = mark_tooltip(mark)
        line.setToolTip(tooltip)
        line.label.setToolTip(tooltip)
        return line

    def _apply_theme(self) -> None:
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Window)
        foreground = palette.color(QPalette.ColorRole.WindowText)
        key = (background.rgba(), foreground.rgba())
        if key == self._theme_key:
            return
        self._theme_key = key
        self.plot_widget.setBackground(background)
        grid = blend(background, foreground, 0.16)
        for name in ("left", "bottom"):
            axis = self.plot_item.getAxis(name)
            axis.setPen(pg.mkPen(grid))
            axis.setTextPen(pg.mkPen(foreground))
        self._crosshair.setPen(pg.mkPen(foreground, width=1))
        for name, curve in self._curves.items():
            curve.setPen(self._line_pen(name))
        self._draw_marks()
        self._show_readout()


def _plain(rich: str) -> str:
    document = QTextDocument()
    document.setHtml(rich)
    return document.toPlainText()


class _TimeCurve(pg.PlotDataItem):
    """A line over Unix timestamps, which are finite (series.py): pyqtgraph need not check.

    Without the hint, pyqtgraph's auto-downsampling copies the finite timestamps out of the
    whole line on every update: 4 of the 12 ms a 1,000,000-point redraw took
    (benchmarks.redraw). The hint goes on its dataset, which each setData makes anew.
    """

    def updateItems(self, styleUpdate: bool = True) -> None:
        dataset = getattr(self, "_dataset", None)  # pyqtgraph's; a rename only costs speed
        if dataset is not None and dataset.xAllFinite is None:
            dataset.xAllFinite = True
        super().updateItems(styleUpdate)
