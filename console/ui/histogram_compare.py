"""One drift step opened up: baseline and current histograms side by side on the same buckets,
and each bucket's contribution to the score."""

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.ui.charts.palette import blend, is_dark, line_colour
from console.ui.charts.units import label_axis
from console.ui.drift_style import METRIC_NAMES, STATUS_WORDS, bucket_labels
from console.viewmodels.drift import PointDetail

ROW_HEIGHT_PX = 22
_BAR_WIDTH = 0.38
_BASELINE_SLOT, _CURRENT_SLOT = 0, 1  # blue and orange: apart from the status colours
HINT = "Click a point of the drift chart to compare its baseline and current histograms."


class HistogramCompare(QWidget):
    """Bars of the baseline's and the current window's share per bucket, and a table of each
    bucket's shares and contribution, with the score (their sum, or for KS their maximum)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel(HINT)
        self.caption.setObjectName("caption")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setMinimumHeight(180)
        item = self.plot_widget.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        label_axis(item.getAxis("left"), "ratio")
        item.getAxis("left").setLabel("share of samples", units="%")
        self.legend = item.addLegend(offset=(-10, 10))
        self.baseline_bars = pg.BarGraphItem(x=[], height=[], width=_BAR_WIDTH, name="baseline")
        self.current_bars = pg.BarGraphItem(x=[], height=[], width=_BAR_WIDTH, name="current")
        item.addItem(self.baseline_bars)
        item.addItem(self.current_bars)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Bucket", "Baseline", "Current", "Contribution"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(ROW_HEIGHT_PX)
        rows.hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumWidth(320)
        self._detail: PointDetail | None = None

        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.plot_widget, 3)
        row.addWidget(self.table, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addLayout(row, 1)
        self._apply_theme()
        self.show_detail(None)

    def show_detail(self, detail: PointDetail | None) -> None:
        """Show one step opened up; None shows how to pick one."""
        self._detail = detail
        has = detail is not None and detail.bounds.size > 0
        self.plot_widget.setVisible(has)
        self.table.setVisible(has)
        if detail is None or not has:
            self.caption.setText(HINT)
            self.table.setRowCount(0)
            return
        labels = bucket_labels(detail.bounds.tolist())
        positions = np.arange(detail.bounds.size, dtype=np.float64)
        base = np.nan_to_num(detail.baseline_shares)
        current = np.nan_to_num(detail.current_shares)
        self.baseline_bars.setOpts(x=positions - _BAR_WIDTH / 2, height=base)
        self.current_bars.setOpts(x=positions + _BAR_WIDTH / 2, height=current)
        axis = self.plot_widget.getPlotItem().getAxis("bottom")
        every = max(1, -(-len(labels) // 14))
        axis.setTicks([[(i, text) for i, text in enumerate(labels) if i % every == 0], []])
        self.plot_widget.getPlotItem().setXRange(-0.6, detail.bounds.size - 0.4, padding=0)
        self._fill_table(labels, detail)
        self.caption.setText(_caption(detail))

    def detail(self) -> PointDetail | None:
        """The step shown."""
        return self._detail

    def table_rows(self) -> list[list[str]]:
        """The table's text, row by row (for tests and copying)."""
        return [
            [self.table.item(r, c).text() for c in range(self.table.columnCount())]
            for r in range(self.table.rowCount())
        ]

    def _fill_table(self, labels: list[str], detail: PointDetail) -> None:
        parts = detail.contributions
        finite = np.isfinite(parts)
        self.table.setRowCount(len(labels) + 1)
        largest = int(np.nanargmax(np.abs(parts))) if finite.any() else -1
        for row, label in enumerate(labels):
            cells = (
                label,
                _percent(detail.baseline_shares[row]),
                _percent(detail.current_shares[row]),
                _number(parts[row]),
            )
            self._set_row(row, cells, bold=row == largest)
        total = float(np.sum(parts)) if detail.additive else float(np.max(parts))
        word = "Sum = score" if detail.additive else "Max = score"
        self._set_row(
            len(labels),
            (word, "100 %", "100 %", _number(total if finite.all() else float("nan"))),
            bold=True,
        )

    def _set_row(self, row: int, cells: tuple[str, ...], *, bold: bool) -> None:
        for column, text in enumerate(cells):
            cell = QTableWidgetItem(text)
            if column:
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if bold:
                font = QFont(cell.font())
                font.setBold(True)
                cell.setFont(font)
            self.table.setItem(row, column, cell)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._apply_theme()

    def _apply_theme(self) -> None:
        palette = self.palette()
        dark = is_dark(palette)
        background = palette.color(QPalette.ColorRole.Window)
        foreground = palette.color(QPalette.ColorRole.WindowText)
        self.plot_widget.setBackground(background)
        item = self.plot_widget.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(blend(background, foreground, 0.16)))
            axis.setTextPen(pg.mkPen(foreground))
        for bars, slot in (
            (self.baseline_bars, _BASELINE_SLOT),
            (self.current_bars, _CURRENT_SLOT),
        ):
            colour = line_colour(slot, dark)
            bars.setOpts(brush=pg.mkBrush(colour), pen=pg.mkPen(colour))
        self.legend.setLabelTextColor(foreground)


def _caption(detail: PointDetail) -> str:
    when = time.strftime("%a %d %b %H:%M", time.localtime(detail.timestamp))
    metric = METRIC_NAMES[detail.metric]
    counts = f"baseline {detail.baseline_count:,.0f} samples, current {detail.current_count:,.0f}"
    reason = detail.inconclusive_reason()
    if reason is not None:
        return f"Window ending {when}: {reason}."
    how = "the sum" if detail.additive else "the largest"
    return (
        f"Window ending {when}: {metric} {detail.value:.4g} ({STATUS_WORDS[detail.status]}), "
        f"{how} of the bucket contributions. {counts}."
    )


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %" if np.isfinite(value) else "no data"


def _number(value: float) -> str:
    return f"{value:.4f}" if np.isfinite(value) else "—"
