"""The Explore screen: PromQL editor, history, range, graph and table, Grafana and pinning."""

from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.services.explore import Completion
from console.ui.charts.time_chart import TimeChart
from console.ui.format import TIME_RANGES, duration, span
from console.ui.promql_editor import PromqlEditor
from console.viewmodels.explore import ExploreViewModel

MAX_GRAPH_SERIES = 200
"""More lines than this make an unreadable graph and a slow redraw; the table has all."""
DEFAULT_WIDTH_PX = 800
TABLE_ROW_HEIGHT_PX = 24
ERROR_COLOR = "#e53935"
OpenUrl = Callable[[QUrl], object]


class ExploreView(QWidget):
    """Raw PromQL against the profile's Prometheus-compatible backend."""

    pinRequested = Signal(str, str)  # expr, title

    def __init__(
        self,
        viewmodel: ExploreViewModel,
        *,
        open_url: OpenUrl = QDesktopServices.openUrl,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.viewmodel = viewmodel
        self._open_url = open_url

        self.editor = PromqlEditor()
        self.editor.setFixedHeight(self.editor.fontMetrics().lineSpacing() * 4 + 12)
        self.range_box = QComboBox()
        self.range_box.setToolTip("Range of the graph, ending now")
        for label, seconds in TIME_RANGES:
            self.range_box.addItem(f"Last {label}", seconds)
        self.range_box.setCurrentIndex(self.range_box.findData(viewmodel.range_s))
        self.history_box = QComboBox()
        self.history_box.setToolTip("Queries run before on this profile, newest first")
        self.history_box.setMinimumContentsLength(24)
        self.history_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run the query (Ctrl+Enter)")
        self.run_button.setDefault(True)
        self.grafana_button = QPushButton("Open in Grafana")
        self.pin_button = QPushButton("Pin to dashboard")
        self.pin_button.setToolTip("Add this query as a panel of the profile's dashboard")

        self.status = QLabel()
        self.status.setObjectName("exploreStatus")
        self.error = QLabel()
        self.error.setObjectName("exploreError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"QLabel {{ color: {ERROR_COLOR}; }}")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        self.unavailable = QLabel()
        self.unavailable.setWordWrap(True)
        self.unavailable.hide()

        self.chart = TimeChart("", "")
        self.table = QTableView()
        self.table.setModel(viewmodel.table)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(TABLE_ROW_HEIGHT_PX)
        rows.hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.chart, "Graph")
        self.tabs.addTab(self.table, "Table")

        controls = QHBoxLayout()
        controls.addWidget(self.range_box)
        controls.addWidget(self.history_box, 1)
        controls.addWidget(self.run_button)
        controls.addWidget(self.grafana_button)
        controls.addWidget(self.pin_button)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(controls)
        top_layout.addWidget(self.editor)
        top_layout.addWidget(self.status)
        top_layout.addWidget(self.error)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.unavailable)
        layout.addWidget(splitter, 1)

        self.editor.runRequested.connect(self.run)
        self.editor.completionRequested.connect(viewmodel.request_completion)
        viewmodel.completionReady.connect(self._show_completion)
        self.run_button.clicked.connect(self.run)
        self.grafana_button.clicked.connect(self.open_in_grafana)
        self.pin_button.clicked.connect(lambda: viewmodel.pin(self.editor.toPlainText()))
        viewmodel.pinRequested.connect(self.pinRequested)
        self.range_box.currentIndexChanged.connect(self._on_range_chosen)
        self.history_box.activated.connect(self._on_history_chosen)
        viewmodel.resultChanged.connect(self._show_result)
        viewmodel.errorChanged.connect(self._show_error)
        viewmodel.busyChanged.connect(self._show_busy)
        viewmodel.historyChanged.connect(self._fill_history)
        viewmodel.historyError.connect(self._show_history_error)
        self._fill_history()
        self._apply_availability()

    def run(self) -> None:
        """Run the editor's query over the chosen range."""
        # The graph's width, also while the table tab hides it.
        width = self.tabs.width() if self.tabs.isVisible() else DEFAULT_WIDTH_PX
        self.viewmodel.run(self.editor.toPlainText(), max(width, 100))

    def open_in_grafana(self) -> None:
        """Open the query in Grafana Explore (when the profile sets grafana_url)."""
        url = self.viewmodel.grafana_link(self.editor.toPlainText())
        if url is not None:
            self._open_url(QUrl(url, QUrl.ParsingMode.StrictMode))

    def _apply_availability(self) -> None:
        reason = self.viewmodel.unavailable_reason
        grafana_problem = self.viewmodel.grafana_problem()
        self.grafana_button.setEnabled(grafana_problem is None and reason is None)
        self.grafana_button.setToolTip(
            grafana_problem or "Open this query in Grafana Explore over the same range"
        )
        if reason is None:
            return
        self.unavailable.setText(reason)
        self.unavailable.show()
        for widget in (self.editor, self.run_button, self.pin_button, self.history_box):
            widget.setEnabled(False)
        self.status.setText("Explore is unavailable on this profile")

    def _on_range_chosen(self, index: int) -> None:
        self.viewmodel.set_range_s(float(self.range_box.itemData(index)))

    def _on_history_chosen(self, index: int) -> None:
        if index > 0:
            self.editor.set_text(str(self.history_box.itemData(index)))
            self.editor.setFocus()
        self.history_box.setCurrentIndex(0)

    def _fill_history(self) -> None:
        entries = self.viewmodel.history()
        self.editor.set_history(entries)
        self.history_box.clear()
        self.history_box.addItem(f"History ({len(entries)})" if entries else "History (empty)")
        for expr in entries:
            self.history_box.addItem(" ".join(expr.split()))
            self.history_box.setItemData(self.history_box.count() - 1, expr)
        self.history_box.setCurrentIndex(0)

    def _show_completion(self, completion: Completion) -> None:
        self.editor.show_completion(completion)

    def _show_result(self) -> None:
        result = self.viewmodel.result()
        if result is None:
            return
        series = result.range.series
        shown = series[:MAX_GRAPH_SERIES]
        self.chart.set_lines({s.name: (s.timestamps, s.values) for s in shown})
        parts = [
            f"step {span(result.range.plan.step)}",
            f"{len(series)} series",
            f"query {duration(result.range.duration_s)}",
        ]
        if len(series) > len(shown):
            parts.append(f"graph shows the first {len(shown)}")
        self.status.setText(" · ".join(parts))
        self.table.resizeColumnsToContents()

    def _show_error(self) -> None:
        message = self.viewmodel.error()
        if message is None:
            self.error.hide()
            return
        self.error.setText(message)
        self.error.show()

    def _show_history_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _show_busy(self, busy: bool) -> None:
        self.run_button.setText("Running…" if busy else "Run")
        self.chart.set_status("Loading…" if busy else None)
