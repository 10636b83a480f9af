"""A light live chart for dashboards: lines per model version, painted with QPainter.

A pyqtgraph TimeChart costs about 8 ms of the GUI thread per update (scene, auto-range,
axis layout); a wall of 50 live panels would keep a core busy. A ChartTile draws the same
lines, grid, annotations and crosshair values in about a millisecond. It does not zoom or
pan: double-click emits ``activated`` so the view can open the full chart.
"""

import math
import time
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from console.domain.annotations import Annotation
from console.ui import format as fmt
from console.ui.charts.line_chart import LineChart
from console.ui.charts.line_set import Lines, mark_tooltip
from console.ui.charts.palette import MARK_STYLES, blend, is_dark
from console.ui.charts.polylines import polylines

_LEFT_PX = 48  # room for the value labels
_BOTTOM_PX = 16  # room for the time labels
_PAD_PX = 6
_Y_TICKS = 3
_LINE_WIDTH = 1  # wider antialiased lines take Qt's slow path: several times the time
_X_LABEL_PX = 70  # one time label per this many pixels at most
_NICE_TIME_STEPS_S = (
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    604800,
)


class ChartTile(LineChart):
    """Lines over time in a fixed frame: the y range fits the data (from zero when positive),
    the x range spans the data. Hovering shows a crosshair and every line's value there."""

    activated = Signal()

    def __init__(self, title: str, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(title, unit, parent)
        self.plot = _Plot(self)
        self._set_plot(self.plot)
        self._marks: tuple[Annotation, ...] = ()
        self._show_readout()

    # -- data ---------------------------------------------------------------------------------

    def set_lines(self, lines: Lines) -> None:
        """Show ``lines`` (name -> (unix timestamps, values), NaN = gap); equal data draws
        nothing."""
        if self._lines.update(lines):
            self.plot.data_changed()
            self._show_readout()

    def set_annotations(self, marks: Sequence[Annotation]) -> None:
        """Draw a vertical line at each mark; hovering near one shows its text."""
        marks = tuple(marks)
        if marks != self._marks:
            self._marks = marks
            self.plot.update()

    def annotations(self) -> tuple[Annotation, ...]:
        """The marks drawn."""
        return self._marks

    # -- crosshair ----------------------------------------------------------------------------

    def show_crosshair(self, x: float | None) -> None:
        """Draw the crosshair at time ``x`` and list the values there; None hides it."""
        if x != self._crosshair_x:
            self._crosshair_x = x
            self._show_readout()
            self.plot.update()

    def readout_text(self) -> str:
        """The legend or crosshair values line as plain text."""
        return self.readout.text().replace("&nbsp;", " ").replace("■", "").replace("  ", " ")

    # -- Qt -----------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_status()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._show_readout()

    def _show_readout(self) -> None:
        # The frame is cached per data and size: no scan of the lines at every mouse move.
        frame = self.plot.frame()
        span = frame.x_range[1] - frame.x_range[0] if frame is not None else 0.0
        self.readout.setText(
            self._lines.readout_html(self.unit, self._crosshair_x, span, is_dark(self.palette()))
        )
        tooltip = "\n".join(mark_tooltip(m) for m in self._marks_near(self._crosshair_x))
        self.plot.setToolTip(tooltip)

    def _marks_near(self, x: float | None) -> list[Annotation]:
        if x is None or not self._marks:
            return []
        frame = self.plot.frame()
        if frame is None:
            return []
        per_px = (frame.x_range[1] - frame.x_range[0]) / max(frame.area.width(), 1.0)
        return [m for m in self._marks if abs(m.at - x) <= 4 * per_px]


class _Frame:
    """Where the data goes in the plot: the area in pixels and the ranges it spans."""

    def __init__(
        self, area: QRectF, x_range: tuple[float, float], y_range: tuple[float, float]
    ) -> None:
        self.area = area
        self.x_range = x_range
        self.y_range = y_range

    def x_px(self, t: float) -> float:
        t0, t1 = self.x_range
        return self.area.left() + (t - t0) / ((t1 - t0) or 1.0) * self.area.width()

    def y_px(self, v: float) -> float:
        low, high = self.y_range
        return self.area.bottom() - (v - low) / ((high - low) or 1.0) * self.area.height()

    def t_at(self, x_px: float) -> float:
        t0, t1 = self.x_range
        return t0 + (x_px - self.area.left()) / max(self.area.width(), 1.0) * (t1 - t0)


class _Plot(QWidget):
    """The drawing area of a ChartTile; polylines are made once per data or size change."""

    def __init__(self, tile: ChartTile) -> None:
        super().__init__(tile)
        self._tile = tile
        self._frame: _Frame | None = None
        self._paths: list[tuple[str, list[QPolygonF]]] | None = None
        self.setMouseTracking(True)
        self.setMinimumHeight(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def data_changed(self) -> None:
        self._frame = None
        self._paths = None
        self.update()

    def frame(self) -> _Frame | None:
        if self._frame is None:
            bounds = self._tile._lines.bounds()
            if bounds is None or not math.isfinite(bounds[2]):
                return None
            t0, t1, low, high = bounds
            area = QRectF(self.rect()).adjusted(_LEFT_PX, _PAD_PX, -_PAD_PX, -_BOTTOM_PX)
            self._frame = _Frame(area, (t0, t1), _nice_range(low, high))
        return self._frame

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._frame = None
        self._paths = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        frame = self.frame()
        x = event.position().x()
        if frame is None or not frame.area.left() <= x <= frame.area.right():
            self._tile.show_crosshair(None)
            return
        self._tile.show_crosshair(frame.t_at(x))

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self._tile.show_crosshair(None)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._tile.activated.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Window)
        foreground = palette.color(QPalette.ColorRole.WindowText)
        dark = is_dark(palette)
        painter = QPainter(self)
        frame = self.frame()
        if frame is None:
            return
        grid = QPen(blend(background, foreground, 0.16), 1)
        muted = blend(background, foreground, 0.7)
        painter.setPen(grid)
        painter.drawRect(frame.area)
        for value in _ticks(*frame.y_range):
            y = frame.y_px(value)
            painter.setPen(grid)
            painter.drawLine(QPointF(frame.area.left(), y), QPointF(frame.area.right(), y))
            painter.setPen(muted)
            painter.drawText(
                QRectF(0, y - 8, _LEFT_PX - 4, 16),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                _tick_text(self._tile.unit, value),
            )
        for t in _time_ticks(frame):
            x = frame.x_px(t)
            painter.setPen(grid)
            painter.drawLine(QPointF(x, frame.area.top()), QPointF(x, frame.area.bottom()))
            painter.setPen(muted)
            painter.drawText(
                QRectF(x - _X_LABEL_PX / 2, frame.area.bottom() + 1, _X_LABEL_PX, _BOTTOM_PX - 1),
                Qt.AlignmentFlag.AlignCenter,
                time.strftime("%H:%M", time.localtime(t)),
            )
        for mark in self._tile.annotations():
            if frame.x_range[0] <= mark.at <= frame.x_range[1]:
                style = MARK_STYLES[mark.kind]
                painter.setPen(QPen(style.colour(dark), 1, style.line))
                x = frame.x_px(mark.at)
                painter.drawLine(QPointF(x, frame.area.top()), QPointF(x, frame.area.bottom()))
        if self._paths is None:
            data = self._tile._lines.data()
            self._paths = [
                (name, polylines(t, v, frame.area, frame.x_range, frame.y_range))
                for name, (t, v) in data.items()
            ]
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setClipRect(frame.area.adjusted(-1, -1, 1, 1))
        for name, runs in self._paths:
            painter.setPen(QPen(self._tile._lines.colour(name, dark), _LINE_WIDTH))
            for run in runs:
                if run.size() == 1:
                    painter.drawPoint(run.at(0))
                else:
                    painter.drawPolyline(run)
        x = self._tile.crosshair_x()
        if x is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(QPen(foreground, 1))
            px = frame.x_px(x)
            painter.drawLine(QPointF(px, frame.area.top()), QPointF(px, frame.area.bottom()))


def _nice_range(low: float, high: float) -> tuple[float, float]:
    """A y range holding [low, high] from zero when the data is positive, with headroom."""
    if low >= 0:
        low = 0.0
    if high <= low:
        high = low + (abs(low) or 1.0)
    step = _nice_step((high - low) / _Y_TICKS)
    return math.floor(low / step) * step, math.ceil(high * 1.02 / step) * step


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    power = 10.0 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def _ticks(low: float, high: float) -> list[float]:
    step = _nice_step((high - low) / _Y_TICKS)
    first = math.ceil(low / step)
    return [i * step for i in range(first, math.floor(high / step) + 1)]


def _time_ticks(frame: _Frame) -> list[float]:
    t0, t1 = frame.x_range
    room = max(1, int(frame.area.width() // _X_LABEL_PX))
    span = max(t1 - t0, 1.0)
    step = next((s for s in _NICE_TIME_STEPS_S if span / s <= room), _NICE_TIME_STEPS_S[-1])
    offset = time.localtime(t0).tm_gmtoff  # ticks on local whole minutes and hours
    first = math.ceil((t0 + offset) / step) * step - offset
    return [t for t in (first + i * step for i in range(room + 1)) if t <= t1]


def _tick_text(unit: str, value: float) -> str:
    if unit == "ratio":
        return f"{value * 100:.3g}%"
    if unit == "s":
        return f"{value * 1000:.3g} ms" if 0 < value < 1 else f"{value:.3g} s"
    return fmt.compact(value)
