"""The drift panel of one deployment: drift over time with threshold bands, the distribution
over time, and one step opened up into its two histograms."""

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QDateTime, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console.domain.drift import DriftMetric, DriftStatus
from console.domain.histograms import PRESET_HISTOGRAMS
from console.services.drift import (
    Baseline,
    DriftPoint,
    DriftSeries,
    PreviousWindow,
    ReferenceRange,
    VersionBaseline,
)
from console.services.drift_panel import DriftPanelData
from console.ui import format as fmt
from console.ui.charts import TimeChart
from console.ui.charts.palette import is_dark
from console.ui.drift_heatmap import DriftHeatmap
from console.ui.drift_style import METRIC_NAMES, STATUS_WORDS, status_colour
from console.ui.histogram_compare import HistogramCompare
from console.ui.panel_visibility import watch_visibility
from console.viewmodels.drift import DriftViewModel
from console.viewmodels.refresh import PanelStatus

RANGES = (("6h", 21_600.0), ("24h", 86_400.0), ("7d", 604_800.0))
WINDOWS = (("10m", 600.0), ("30m", 1800.0), ("1h", 3600.0), ("6h", 21_600.0), ("1d", 86_400.0))
CHART_HEIGHT_PX = 240
HEATMAP_HEIGHT_PX = 210
COMPARE_HEIGHT_PX = 250
REFERENCE_OFFSET_S = 7 * 86_400.0
"""A fixed reference range starts as the same range one week earlier."""
NO_DATA_TEXT = "No histogram data in this range"
_POINT_SIZE = 9
_SELECTED_SIZE = 17
_BAND_ALPHA = 0.13
_PREVIOUS, _REFERENCE = "previous", "reference"


class DriftView(QWidget):
    """Shows a DriftViewModel. Clicking a point opens that step up below the charts.

    ``paintedAfterData`` is emitted once the drift chart has been painted with newly arrived
    data (what the drift benchmark times).
    """

    paintedAfterData = Signal()

    def __init__(self, model: DriftViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("driftView")
        self.model = model
        self._series: DriftSeries | None = None
        self._awaiting_paint = False
        self._build_controls()
        self.chart = TimeChart("Drift", "")
        self.chart.setMinimumHeight(CHART_HEIGHT_PX)
        self._build_chart_items()
        self.caption = QLabel()
        self.caption.setObjectName("caption")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.heatmap = DriftHeatmap()
        self.heatmap.setMinimumHeight(HEATMAP_HEIGHT_PX)
        self.heatmap.plot_item.setXLink(self.chart.plot_item)
        self.compare = HistogramCompare()
        self.compare.setMinimumHeight(COMPARE_HEIGHT_PX)
        self._layout()
        self.chart.plot_widget.viewport().installEventFilter(self)
        # Hidden (another tab, a minimised window, scrolled away): no refreshes.
        watch_visibility(self.chart, model.engine, model.panel_id)
        model.changed.connect(self._show)
        model.selectionChanged.connect(self._show_selection)
        model.queryChanged.connect(self._on_query_changed)
        self._sync_controls()
        self._show()

    # -- building -----------------------------------------------------------------------------

    def _build_controls(self) -> None:
        self.histogram_box = QComboBox()
        self.histogram_box.setEditable(True)
        self.histogram_box.addItems(PRESET_HISTOGRAMS)
        self.histogram_box.setToolTip(
            "A preset histogram, or type a histogram metric name (with or without _bucket)"
        )
        self.histogram_box.setMinimumContentsLength(18)
        self.histogram_box.lineEdit().editingFinished.connect(self._on_histogram)
        self.histogram_box.activated.connect(lambda _index: self._on_histogram())
        self.metric_box = QComboBox()
        for metric in DriftMetric:
            self.metric_box.addItem(METRIC_NAMES[metric], metric)
        self.metric_box.activated.connect(self._on_metric)
        self.baseline_box = QComboBox()
        self.baseline_box.activated.connect(self._on_baseline)
        self.reference_start = _datetime_edit()
        self.reference_end = _datetime_edit()
        self.reference_start.editingFinished.connect(self._on_reference)
        self.reference_end.editingFinished.connect(self._on_reference)
        self.window_box = _choices(WINDOWS)
        self.window_box.setToolTip("Each point compares the distribution over this window")
        self.window_box.activated.connect(
            lambda _index: self.model.set_window(self.window_box.currentData())
        )
        self.range_box = _choices(RANGES)
        self.range_box.activated.connect(
            lambda _index: self.model.set_range(self.range_box.currentData())
        )
        self.summary = QLabel()
        self.summary.setObjectName("driftSummary")
        self.summary.setWordWrap(True)
        self.status_word = QLabel()
        self.status_word.setObjectName("driftStatusWord")

    def _build_chart_items(self) -> None:
        item = self.chart.plot_item
        self.warn_band = _band()
        self.alert_band = _band()
        self.range_anchor = pg.PlotDataItem(pen=pg.mkPen(QColor(0, 0, 0, 0)))
        # One item per status, each in one colour: per-point brushes cost a symbol lookup each.
        self.points = {
            status: pg.ScatterPlotItem(
                size=_POINT_SIZE, hoverable=True, tip=lambda x, y, data: data, name=status.value
            )
            for status in DriftStatus
        }
        self.selected_ring = pg.ScatterPlotItem(size=_SELECTED_SIZE, brush=None)
        self.selected_ring.setZValue(19)
        for band in (self.warn_band, self.alert_band):
            item.addItem(band, ignoreBounds=True)
        item.addItem(self.range_anchor)
        for points in self.points.values():
            points.setZValue(20)
            item.addItem(points)
            points.sigClicked.connect(self._on_point_clicked)
        item.addItem(self.selected_ring, ignoreBounds=True)
        self.chart.view_box.sigYRangeChanged.connect(lambda *_: self._extend_alert_band())

    def _layout(self) -> None:
        controls = QHBoxLayout()
        controls.setSpacing(6)
        for caption, widget in (
            ("Histogram", self.histogram_box),
            ("Metric", self.metric_box),
            ("Baseline", self.baseline_box),
        ):
            controls.addWidget(_caption_label(caption))
            controls.addWidget(widget)
        for caption, widget in (("Window", self.window_box), ("Range", self.range_box)):
            controls.addWidget(_caption_label(caption))
            controls.addWidget(widget)
        controls.addStretch(1)
        self.reference_row = QWidget()
        reference = QHBoxLayout(self.reference_row)
        reference.setContentsMargins(0, 0, 0, 0)
        reference.addWidget(_caption_label("Reference range from"))
        reference.addWidget(self.reference_start)
        reference.addWidget(_caption_label("to"))
        reference.addWidget(self.reference_end)
        reference.addStretch(1)
        self.reference_row.hide()
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.status_word)
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 8, 8)
        column.addLayout(controls)
        column.addWidget(self.reference_row)
        column.addLayout(header)
        column.addWidget(self.chart)
        column.addWidget(self.caption)
        column.addWidget(_rule())
        column.addWidget(self.heatmap)
        column.addWidget(_rule())
        column.addWidget(self.compare)
        column.addStretch(1)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll_area)

    # -- controls -----------------------------------------------------------------------------

    def _sync_controls(self) -> None:
        """Show the query's settings (at start and whenever the query changed)."""
        query = self.model.query
        self.histogram_box.setCurrentText(query.histogram)
        _select(self.metric_box, query.metric)
        _select(self.window_box, query.window_s)
        _select(self.range_box, query.range_s)
        self._fill_baselines()
        self.reference_row.setVisible(isinstance(query.baseline, ReferenceRange))
        if isinstance(query.baseline, ReferenceRange):
            self.reference_start.setDateTime(_qt_time(query.baseline.start))
            self.reference_end.setDateTime(_qt_time(query.baseline.end))
        self.chart.title_label.setText(f"Drift · {METRIC_NAMES[query.metric]}")

    def _on_query_changed(self) -> None:
        self._sync_controls()
        self.chart.reset_range()  # a zoom into the previous range means nothing in the new one

    def _fill_baselines(self) -> None:
        """Offer a version baseline per version while two serve; rebuilt only on a change, so
        that a refresh does not close the open list."""
        query = self.model.query
        data = self.model.data()
        serving = data.serving if data is not None else ()
        entries = [("previous window", _PREVIOUS)]
        if len(serving) == 2:
            entries += [(f"version {a} vs {b}", a) for a, b in (serving, serving[::-1])]
        if isinstance(query.baseline, VersionBaseline) and len(serving) != 2:
            entries.append((f"version {query.baseline.version}", query.baseline.version))
        entries.append(("fixed range", _REFERENCE))
        box = self.baseline_box
        shown = [(box.itemText(i), box.itemData(i)) for i in range(box.count())]
        if shown != entries:
            box.blockSignals(True)
            box.clear()
            for label, value in entries:
                box.addItem(label, value)
            box.blockSignals(False)
            box.setToolTip(
                "What each window is compared with"
                if len(serving) == 2
                else "What each window is compared with (a version baseline needs two "
                "serving versions)"
            )
        match query.baseline:
            case VersionBaseline(version=version):
                _select(box, version)
            case ReferenceRange():
                _select(box, _REFERENCE)
            case _:
                _select(box, _PREVIOUS)

    def _on_histogram(self) -> None:
        text = self.histogram_box.currentText().strip()
        if text:
            self.model.set_histogram(text)

    def _on_metric(self, _index: int) -> None:
        self.model.set_metric(DriftMetric(self.metric_box.currentData()))

    def _on_baseline(self, _index: int) -> None:
        choice = self.baseline_box.currentData()
        baseline: Baseline
        if choice == _PREVIOUS:
            baseline = PreviousWindow()
        elif choice == _REFERENCE:
            end = time.time() - REFERENCE_OFFSET_S
            baseline = ReferenceRange(end - self.model.query.range_s, end)
        else:
            baseline = VersionBaseline(str(choice))
        self.model.set_baseline(baseline)

    def _on_reference(self) -> None:
        start = self.reference_start.dateTime().toSecsSinceEpoch()
        end = self.reference_end.dateTime().toSecsSinceEpoch()
        if start < end:
            self.model.set_baseline(ReferenceRange(float(start), float(end)))
        else:
            self.reference_end.setDateTime(self.reference_start.dateTime().addSecs(3600))

    # -- data ---------------------------------------------------------------------------------

    def _show(self) -> None:
        state = self.model.state()
        data = self.model.data()
        series = data.series if data is not None else None
        if series is not self._series:
            self._series = series
            self._show_series(series, data)
            self._awaiting_paint = series is not None
            self.chart.plot_widget.viewport().update()
        self._fill_baselines()
        self.chart.set_annotations(data.marks if data is not None else ())
        self.chart.set_status(_status_text(state.status, state.message, data))
        self._show_summary()
        self._show_selection()

    def _show_series(self, series: DriftSeries | None, data: DriftPanelData | None) -> None:
        if series is None or data is None:
            self.chart.set_lines({})
            for points in self.points.values():
                points.setData([], [])
            self.range_anchor.setData([], [])
            self.heatmap.set_data(np.empty(0), np.empty(0), np.empty((0, 0)))
            self._show_bands(None)
            self.caption.setText("")
            return
        times, values = series.timestamps, series.values
        self.chart.set_lines({METRIC_NAMES[series.metric]: (times, values)})
        dark = is_dark(self.palette())
        shown = np.where(np.isfinite(values), values, 0.0)  # no score: drawn on the axis
        statuses = np.array([status.value for status in series.statuses])
        tips = np.array([self._tip(point) for point in series.points], dtype=object)
        for status, points in self.points.items():
            colour = status_colour(status, dark)
            hollow = status is DriftStatus.INCONCLUSIVE
            mine = statuses == status.value
            points.setData(
                x=times[mine],
                y=shown[mine],
                brush=pg.mkBrush(None if hollow else colour),
                pen=pg.mkPen(colour, width=1.5 if hollow else 1),
                data=tips[mine],
            )
        self._show_bands(series)
        self.heatmap.set_data(times, series.bounds, data.current_shares)
        self.caption.setText(self._caption_text(series))

    def _show_bands(self, series: DriftSeries | None) -> None:
        levels = series.thresholds if series is not None else None
        dark = is_dark(self.palette())
        if levels is None or not math.isfinite(levels.alert):
            self.warn_band.hide()
            self.alert_band.hide()
            self.range_anchor.setData([], [])
            return
        assert series is not None
        for band, status, low, high in (
            (self.warn_band, DriftStatus.WARN, levels.warn, levels.alert),
            (self.alert_band, DriftStatus.ALERT, levels.alert, levels.alert * 4 + 1),
        ):
            _colour_band(band, status_colour(status, dark))
            band.setRegion((low, high))
            band.setToolTip(f"{STATUS_WORDS[status]} from {low:g}")
            band.show()
        # Keeps both levels in view even when every point lies far below them, and half a
        # step of room either side, so that the first and last points are not cut in half.
        top = levels.alert * 1.2 if levels.alert > 0 else 1.0
        times = series.timestamps
        half = (self.model.query.step_s if times.size < 2 else float(times[1] - times[0])) / 2
        xs = np.concatenate(([times[0] - half], times, [times[-1] + half]))
        self.range_anchor.setData(np.repeat(xs, 2), np.tile([0.0, top], xs.size))
        self._extend_alert_band()

    def _extend_alert_band(self) -> None:
        """The alert band reaches the top of the view, however far that is."""
        low = self.alert_band.getRegion()[0]
        top = self.chart.view_box.viewRange()[1][1]
        if top > low:
            self.alert_band.setRegion((low, top))

    def _tip(self, point: DriftPoint) -> str:
        when = time.strftime("%a %d %b %H:%M", time.localtime(point.timestamp))
        score = f"{point.value:.4g}" if math.isfinite(point.value) else "no score"
        text = f"{when}\n{score} · {STATUS_WORDS[point.status]}"
        text += (
            f"\nbaseline {point.baseline_count:,.0f} samples, current {point.current_count:,.0f}"
        )
        if point.status is DriftStatus.INCONCLUSIVE:
            text += f"\nfewer than {self.model.query.min_count:g} samples in a window, or none"
        return text + "\nclick to compare the histograms"

    def _caption_text(self, series: DriftSeries) -> str:
        inconclusive = sum(s is DriftStatus.INCONCLUSIVE for s in series.statuses)
        dark = is_dark(self.palette())
        legend = [
            f'<span style="color:{status_colour(status, dark).name()}">'
            f"{'○' if status is DriftStatus.INCONCLUSIVE else '●'}</span> {status.value}"
            for status in DriftStatus
        ]
        text = "&nbsp;&nbsp;".join(legend) + ". "
        if inconclusive:
            text += (
                f"{inconclusive} of {len(series.statuses)} windows are inconclusive (hollow, "
                f"grey; on the axis when there is no score): a window held fewer than "
                f"{self.model.query.min_count:g} samples, or none. "
            )
        return text + "Click a point to compare its histograms."

    def _show_summary(self) -> None:
        query = self.model.query
        levels = self.model.thresholds
        against = _baseline_text(query.baseline, query.window_s, self.model.data())
        limits = (
            f"warn {levels.warn:g} · alert {levels.alert:g}"
            if math.isfinite(levels.alert)
            else "no thresholds for this metric: read the values"
        )
        self.summary.setText(
            f"{query.deployment} · {query.histogram} · {METRIC_NAMES[query.metric]} against "
            f"{against} · {limits} · at least {query.min_count:g} samples per window"
        )
        latest = self._latest()
        if latest is None:
            self.status_word.setText("")
            return
        status, value = latest
        score = f" {value:.3g}" if math.isfinite(value) else ""
        self.status_word.setText(f"latest: {STATUS_WORDS[status]}{score}")
        colour = status_colour(status, is_dark(self.palette())).name()
        sheet = f"color: {colour}; font-weight: bold;"
        if sheet != self.status_word.styleSheet():
            self.status_word.setStyleSheet(sheet)

    def _latest(self) -> tuple[DriftStatus, float] | None:
        series = self._series
        if series is None or not series.statuses:
            return None
        return series.statuses[-1], float(series.values[-1])

    def _show_selection(self) -> None:
        detail = self.model.selected()
        self.compare.show_detail(detail)
        if detail is None:
            self.selected_ring.setData([], [])
            return
        y = detail.value if math.isfinite(detail.value) else 0.0
        colour = self.palette().color(self.foregroundRole())
        self.selected_ring.setData([detail.timestamp], [y], pen=pg.mkPen(colour, width=2))

    def _on_point_clicked(self, _item: object, points: list[object], _event: object) -> None:
        if points:
            self.model.select(float(points[0].pos().x()))  # type: ignore[attr-defined]

    # -- Qt -----------------------------------------------------------------------------------

    def eventFilter(self, watched: object, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._awaiting_paint:
            self._awaiting_paint = False
            # After this paint event has been handled, i.e. once the frame is drawn.
            QTimer.singleShot(0, self.paintedAfterData.emit)
        return super().eventFilter(watched, event)  # type: ignore[arg-type]

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            if self._series is not None:
                self._show_series(self._series, self.model.data())
            self._show_summary()


def _status_text(
    status: PanelStatus, message: str | None, data: DriftPanelData | None
) -> str | None:
    if status is not PanelStatus.LIVE:
        return message
    if data is not None and data.problem:
        return data.problem
    if data is None or data.series is None or not data.series.bounds.size:
        return NO_DATA_TEXT
    return None


def _baseline_text(baseline: Baseline, window_s: float, data: DriftPanelData | None) -> str:
    match baseline:
        case VersionBaseline(version=version):
            series = data.series if data is not None else None
            current = series.current_version if series is not None else None
            return f"version {version}" + (f" (current: {current})" if current else "")
        case ReferenceRange(start=start, end=end):
            return f"{_local(start)} to {_local(end)}"
        case _:
            return f"the previous {fmt.span(window_s)} window"


def _local(timestamp: float) -> str:
    return time.strftime("%d %b %H:%M", time.localtime(timestamp))


def _qt_time(timestamp: float) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(timestamp))


def _datetime_edit() -> QDateTimeEdit:
    edit = QDateTimeEdit()
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    edit.setCalendarPopup(True)
    edit.setToolTip("The fixed reference range (local time)")
    return edit


def _choices(options: tuple[tuple[str, float], ...]) -> QComboBox:
    box = QComboBox()
    for label, seconds in options:
        box.addItem(label, seconds)
    return box


def _select(box: QComboBox, value: object) -> None:
    """Select the entry whose data is ``value``; add one when there is none (a custom value)."""
    index = box.findData(value)
    if index < 0 and isinstance(value, float):
        box.addItem(fmt.span(value), value)
        index = box.count() - 1
    box.blockSignals(True)
    box.setCurrentIndex(index)
    box.blockSignals(False)


def _caption_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("caption")
    return label


def _rule() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


def _band() -> pg.LinearRegionItem:
    band = pg.LinearRegionItem(orientation="horizontal", movable=False)
    band.setZValue(-10)
    band.hide()
    return band


def _colour_band(band: pg.LinearRegionItem, colour: QColor) -> None:
    fill = QColor(colour)
    fill.setAlphaF(_BAND_ALPHA)
    band.setBrush(pg.mkBrush(fill))
    band.setHoverBrush(pg.mkBrush(fill))
    low, high = band.lines
    # Two pixels wide: the axes draw their grid lines over the plot, and a level often
    # falls on one.
    low.setPen(pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine))
    high.setPen(pg.mkPen(None))  # the top of a band is the next level's line or the view's edge
