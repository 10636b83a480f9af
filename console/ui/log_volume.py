"""The log volume histogram above the log table: lines per time bin, as a filled step chart."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from console.ui.charts.axes import DateAxis, ValueAxis
from console.ui.charts.palette import is_dark
from console.viewmodels.logs import Volume

HEIGHT_PX = 110
_BAR_LIGHT = "#1e88e5"
_BAR_DARK = "#64b5f6"


class VolumeHistogram(pg.PlotWidget):
    """Lines per bin over the query's range; one step curve, created once, then setData."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            parent, axisItems={"bottom": DateAxis("bottom"), "left": ValueAxis("left")}
        )
        self.setFixedHeight(HEIGHT_PX)
        item = self.getPlotItem()
        # No downsampling or clip-to-view: on step-mode data pyqtgraph 0.14 cuts X and Y to
        # the same length and raises (len(X) must be len(Y)+1). The histogram has a few
        # hundred bins at most (HISTOGRAM_BINS over the range, plus those a tail adds).
        item.setDownsampling(auto=False)
        item.setClipToView(False)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        item.getAxis("left").setWidth(48)
        for name in ("left", "bottom"):
            item.getAxis(name).setStyle(maxTickLevel=0)
        self.setBackground(self.palette().base().color())
        colour = QColor(_BAR_DARK if is_dark(self.palette()) else _BAR_LIGHT)
        fill = QColor(colour)
        fill.setAlpha(150)
        self.curve = pg.PlotDataItem(
            np.zeros(2), np.zeros(1), stepMode="center", fillLevel=0, brush=fill, pen=colour
        )
        item.addItem(self.curve)
        self.setToolTip("Log lines per time bin over the query's range")

    def set_volume(self, volume: Volume | None) -> None:
        """Show ``volume`` (None: nothing)."""
        if volume is None or not len(volume.counts):
            self.curve.setData(np.zeros(2), np.zeros(1))
            return
        edges = np.append(volume.starts, volume.starts[-1] + volume.step_s)
        self.curve.setData(edges, volume.counts)
        self.getPlotItem().setXRange(edges[0], edges[-1], padding=0)
        self.getPlotItem().setYRange(0, max(1.0, float(volume.counts.max())), padding=0.05)

    def total(self) -> float:
        """The number of lines shown."""
        _x, y = self.curve.getData()
        return float(np.sum(y)) if y is not None else 0.0
