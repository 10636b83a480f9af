"""The distribution over time: each window's share per bucket as a time x bucket image."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from console.domain.series import FloatArray
from console.ui.charts.palette import blend
from console.ui.charts.units import label_axis
from console.ui.drift_style import bucket_labels

LEFT_AXIS_WIDTH = 64
"""As wide as a TimeChart's value axis, so that the time axes of both line up."""
COLOUR_MAP = "viridis"
_MAX_LABELS = 16


class DriftHeatmap(QWidget):
    """Time on x (each cell spans its window), buckets on y (labelled by their bounds), the
    bucket's share of the window's samples as colour. Empty windows stay blank."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = QLabel("Distribution over time (share of each window's samples)")
        self.title_label.setObjectName("chartTitle")
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(150)
        self.plot_item = pg.PlotItem(axisItems={"bottom": pg.DateAxisItem("bottom")})
        self.graphics.addItem(self.plot_item)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot_item.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(
            values=(0.0, 1.0),
            colorMap=pg.colormap.get(COLOUR_MAP),
            interactive=False,
            orientation="horizontal",
        )
        label_axis(self.colour_bar.axis, "ratio")
        self.colour_bar.axis.setLabel("share of the window's samples", units="%")
        self.colour_bar.setImageItem(self.image, insert_in=self.plot_item)
        self._configure()
        self._shape: tuple[int, int] = (0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title_label)
        layout.addWidget(self.graphics, 1)
        self._apply_theme()

    def _configure(self) -> None:
        item = self.plot_item
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        box = item.getViewBox()
        box.setMouseEnabled(x=True, y=False)
        box.enableAutoRange(y=False)
        box.setDefaultPadding(0.0)

    def set_data(self, timestamps: FloatArray, bounds: FloatArray, shares: FloatArray) -> None:
        """Show ``shares`` (t x n; NaN rows for empty windows) of the windows ending at
        ``timestamps``, on buckets with upper ``bounds``."""
        if shares.size == 0 or timestamps.size == 0:
            self.image.clear()
            self._shape = (0, 0)
            return
        step = float(np.median(np.diff(timestamps))) if timestamps.size > 1 else 1.0
        top = float(np.nanmax(shares)) if np.isfinite(shares).any() else 1.0
        self.image.setImage(shares, autoLevels=False, levels=(0.0, max(top, 1e-9)))
        self.colour_bar.setLevels((0.0, max(top, 1e-9)))
        width = float(timestamps[-1] - timestamps[0]) + step
        self.image.setRect(QRectF(float(timestamps[0]) - step, 0.0, width, float(bounds.size)))
        self._shape = (int(shares.shape[0]), int(shares.shape[1]))
        self._label_buckets(bounds)
        self.plot_item.getViewBox().setYRange(0.0, float(bounds.size), padding=0.0)

    def image_shape(self) -> tuple[int, int]:
        """(steps, buckets) of the image shown."""
        return self._shape

    def _label_buckets(self, bounds: FloatArray) -> None:
        labels = bucket_labels(bounds.tolist())
        every = max(1, -(-len(labels) // _MAX_LABELS))
        ticks = [(i + 0.5, text) for i, text in enumerate(labels) if i % every == 0]
        self.plot_item.getAxis("left").setTicks([ticks, []])

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._apply_theme()

    def _apply_theme(self) -> None:
        background = self.palette().color(QPalette.ColorRole.Window)
        foreground = self.palette().color(QPalette.ColorRole.WindowText)
        self.graphics.setBackground(background)
        for name in ("left", "bottom"):
            axis = self.plot_item.getAxis(name)
            axis.setPen(pg.mkPen(blend(background, foreground, 0.16)))
            axis.setTextPen(pg.mkPen(foreground))
        self.colour_bar.axis.setTextPen(pg.mkPen(foreground))
