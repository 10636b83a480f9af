"""A tiny line chart painted with QPainter: cheap enough for dozens of cards."""

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from console.domain.series import Series
from console.ui.charts.polylines import polylines
from console.ui.format import NO_DATA

_MARGIN = 3.0


class Sparkline(QWidget):
    """Draws one Series; NaN samples are gaps. The line colour is the QSS ``color``.

    The polylines are computed once per data or size change, so a repaint only draws.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._series: Series | None = None
        self._lines: list[QPolygonF] | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(40)

    def sizeHint(self) -> QSize:
        return QSize(200, 40)

    def series(self) -> Series | None:
        """The series drawn."""
        return self._series

    def set_series(self, series: Series | None) -> None:
        """Draw ``series`` (None: "no data")."""
        if series is self._series:
            return
        self._series = series
        self._lines = None
        self.update()

    def has_data(self) -> bool:
        """True when the series holds at least one finite sample."""
        return self._series is not None and bool(np.isfinite(self._series.values).any())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._lines = None

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        colour = self.palette().color(QPalette.ColorRole.WindowText)
        if not self.has_data():
            muted = QColor(colour)
            muted.setAlphaF(0.7)
            painter.setPen(muted)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, NO_DATA)
            return
        if self._lines is None:
            self._lines = self._polylines()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 1.6))
        for line in self._lines:
            if line.size() == 1:
                painter.drawPoint(line.at(0))
            else:
                painter.drawPolyline(line)

    def _polylines(self) -> list[QPolygonF]:
        assert self._series is not None
        times, values = self._series.timestamps, self._series.values
        finite = values[np.isfinite(values)]
        area = QRectF(self.rect()).adjusted(_MARGIN, _MARGIN, -_MARGIN, -_MARGIN)
        return polylines(
            times,
            values,
            area,
            (float(times[0]), float(times[-1])),
            (float(finite.min()), float(finite.max())),
        )
