"""Axes that paint straight onto the view, without pyqtgraph's cached QPicture.

PySide6 6.11 adds six references to ``None`` each time a QPainter begins on a QPicture and
never releases them; pyqtgraph's axes re-record one on every range change, so a live chart
made ``sys.getrefcount(None)`` climb by about a dozen per redraw. These axes keep the draw
specs pyqtgraph computes (re-made whenever pyqtgraph drops its picture) and draw them
directly, which also skips the record-and-replay.
"""

from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QPainter

_SPECS_READY = object()
"""Stands in ``picture`` once the specs are computed; pyqtgraph sets it to None to redo them."""


class _DirectPaint:
    """Mixin over pg.AxisItem: ``paint`` without a QPicture."""

    picture: Any
    style: dict[str, Any]
    _specs: Any = None

    def paint(self, p: QPainter, opt: Any, widget: Any) -> None:
        p.save()
        try:
            if self.style["tickFont"]:
                p.setFont(self.style["tickFont"])
            if self.picture is None:
                self._specs = self.generateDrawSpecs(p)  # type: ignore[attr-defined]
                self.picture = _SPECS_READY
            if self._specs is not None:
                self.drawPicture(p, *self._specs)  # type: ignore[attr-defined]
        finally:
            p.restore()


class ValueAxis(_DirectPaint, pg.AxisItem):
    """A value axis (the y axis of a TimeChart)."""


class DateAxis(_DirectPaint, pg.DateAxisItem):
    """A time axis in local time (the x axis of a TimeChart)."""
