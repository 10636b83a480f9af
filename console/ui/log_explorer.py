"""The log explorer: LogQL editor, range, volume histogram, log table, detail pane, tail.

The table has fixed row heights and loads older rows when scrolled to the bottom (the
model's fetchMore). The live tail adds rows at the top while the newest rows are on screen;
scrolling down pauses it, scrolling back to the top resumes it.
"""

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.services.explore import Completion
from console.ui.format import TIME_RANGES
from console.ui.log_detail import LogDetailPane
from console.ui.log_volume import VolumeHistogram
from console.ui.promql_editor import PromqlEditor
from console.viewmodels.log_rows import (
    CONFIDENCE_COLUMN,
    DEPLOYMENT_COLUMN,
    LATENCY_COLUMN,
    PROMPT_COLUMN,
    TIME_COLUMN,
    TOKENS_COLUMN,
    VERSION_COLUMN,
)
from console.viewmodels.log_table import LOW_CONFIDENCE_COLOR, LogTableModel
from console.viewmodels.logs import LogsViewModel

ROW_HEIGHT_PX = 22
ALL_VERSIONS = "All versions"
ERROR_COLOR = "#e53935"
_COLUMN_WIDTHS = {
    TIME_COLUMN: 180,
    DEPLOYMENT_COLUMN: 110,
    VERSION_COLUMN: 60,
    LATENCY_COLUMN: 70,
    TOKENS_COLUMN: 90,
    CONFIDENCE_COLUMN: 80,
    PROMPT_COLUMN: 320,
}


def log_table_view(model: LogTableModel) -> QTableView:
    """The log table: fixed row heights (never sized to contents), set column widths."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    rows = table.verticalHeader()
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(ROW_HEIGHT_PX)
    rows.hide()
    table.horizontalHeader().setStretchLastSection(True)
    for column, width in _COLUMN_WIDTHS.items():
        table.setColumnWidth(column, width)
    return table


class LogExplorer(QWidget):
    """Prompt → output logs of the open profile, redacted."""

    def __init__(self, viewmodel: LogsViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewmodel = viewmodel
        self.editor = PromqlEditor()
        self.editor.setPlaceholderText(
            'LogQL, e.g. {deployment="support-chat", version="v42"} |= "refund"  '
            "— Ctrl+Space completes labels, Ctrl+Enter runs"
        )
        self.editor.setFixedHeight(self.editor.fontMetrics().lineSpacing() * 2 + 14)
        self.editor.set_text(viewmodel.query)
        self.range_box = QComboBox()
        self.range_box.setToolTip("Range of the query, ending now")
        for label, seconds in TIME_RANGES:
            self.range_box.addItem(f"Last {label}", seconds)
        index = self.range_box.findData(viewmodel.range_s)
        self.range_box.setCurrentIndex(max(0, index))
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run the query (Ctrl+Enter)")
        self.tail_button = QPushButton("Live tail")
        self.tail_button.setCheckable(True)
        self.tail_button.setToolTip(
            "Add new lines at the top as they arrive; pauses while you read older rows"
        )
        self.version_box = QComboBox()
        self.version_box.addItem(ALL_VERSIONS, None)
        self.version_box.setToolTip("Show the rows of one model version")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter the loaded rows by text (prompt, output, model)")
        self.search.setClearButtonEnabled(True)
        self.status = QLabel()
        self.status.setObjectName("logsStatus")
        self.error = QLabel()
        self.error.setObjectName("logsError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"QLabel {{ color: {ERROR_COLOR}; }}")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.hide()
        self.unavailable = QLabel()
        self.unavailable.setObjectName("fleetMessage")
        self.unavailable.setWordWrap(True)
        self.unavailable.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.legend = QLabel(
            f"orange: confidence below {viewmodel.profile.review_threshold:.2f} (to review)"
        )
        self.legend.setStyleSheet(f"QLabel {{ color: {LOW_CONFIDENCE_COLOR}; }}")
        self.histogram = VolumeHistogram()
        self.table = log_table_view(viewmodel.table)
        self.detail = LogDetailPane()

        controls = QHBoxLayout()
        controls.addWidget(self.editor, 1)
        buttons = QVBoxLayout()
        top_buttons = QHBoxLayout()
        top_buttons.addWidget(self.range_box)
        top_buttons.addWidget(self.run_button)
        buttons.addLayout(top_buttons)
        buttons.addWidget(self.tail_button)
        controls.addLayout(buttons)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Version"))
        filters.addWidget(self.version_box)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.legend)
        filters.addWidget(self.status)
        table_part = QWidget()
        table_layout = QVBoxLayout(table_part)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.histogram)
        table_layout.addLayout(filters)
        table_layout.addWidget(self.table, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(table_part)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(controls)
        body.addWidget(self.error)
        body.addWidget(splitter, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.unavailable)
        layout.addWidget(self.body, 1)

        self.editor.runRequested.connect(self.run)
        self.editor.completionRequested.connect(viewmodel.request_completion)
        viewmodel.completionReady.connect(self._show_completion)
        self.run_button.clicked.connect(self.run)
        self.tail_button.toggled.connect(viewmodel.set_tail)
        self.version_box.currentIndexChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._apply_filter)
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._on_selection)
        self.table.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.detail.revealRequested.connect(self._reveal)
        viewmodel.opened.connect(self._on_opened)
        viewmodel.busyChanged.connect(self._show_busy)
        viewmodel.errorChanged.connect(self._show_error)
        viewmodel.loaded.connect(self._on_loaded)
        viewmodel.moreLoaded.connect(self._on_more)
        viewmodel.tailArrived.connect(self._on_tail_arrived)
        viewmodel.tailChanged.connect(self._show_tail)
        viewmodel.volumeChanged.connect(lambda: self.histogram.set_volume(viewmodel.volume))
        viewmodel.revealed.connect(self.detail.show_revealed)
        viewmodel.revealFailed.connect(self.detail.show_reveal_error)
        self._on_opened()

    def run(self) -> None:
        """Run the editor's query over the chosen range."""
        self.editor.popup.hide()
        self.viewmodel.run(self.editor.toPlainText(), float(self.range_box.currentData()))

    def _on_opened(self) -> None:
        reason = self.viewmodel.unavailable_reason
        self.unavailable.setText(reason or "")
        self.unavailable.setVisible(reason is not None)
        self.body.setEnabled(reason is None)
        self.detail.set_reveal_denial(self.viewmodel.reveal_denial())
        if reason is None and self.viewmodel.services is not None and not self.viewmodel.busy:
            self.run()

    def _on_loaded(self) -> None:
        self._fill_versions()
        self.table.scrollToTop()
        self.detail.show_record(None)
        self._show_status()

    def _on_more(self, _count: int) -> None:
        self._fill_versions()
        self._show_status()

    def _on_tail_arrived(self, shown: int) -> None:
        self._fill_versions()
        self._show_status()
        if shown and not self.viewmodel.tail_paused:
            self.table.scrollToTop()

    def _on_scrolled(self, value: int) -> None:
        # Reading older rows pauses the tail; back at the top it resumes.
        self.viewmodel.set_tail_paused(value > 0)

    def _show_tail(self) -> None:
        model = self.viewmodel
        self.tail_button.blockSignals(True)
        self.tail_button.setChecked(model.tail_on)
        self.tail_button.blockSignals(False)
        if not model.tail_on:
            self.tail_button.setText("Live tail")
        elif model.tail_paused:
            self.tail_button.setText("Tail paused (scroll to top)")
        else:
            self.tail_button.setText("Live tail ●")
        self._show_status()

    def _show_status(self) -> None:
        model = self.viewmodel
        table = model.table
        parts = [f"{table.rowCount()} of {table.loaded} loaded rows"]
        if not model.exhausted:
            parts.append("scroll down for older")
        if model.tail_on:
            parts.append("tail paused" if model.tail_paused else "tailing")
        self.status.setText(" · ".join(parts))

    def _show_busy(self, busy: bool) -> None:
        self.run_button.setText("Running…" if busy else "Run")

    def _show_error(self) -> None:
        message = self.viewmodel.error()
        self.error.setText(message or "")
        self.error.setVisible(message is not None)

    def _show_completion(self, completion: Completion) -> None:
        self.editor.show_completion(completion)

    def _fill_versions(self) -> None:
        current = self.version_box.currentData()
        versions = self.viewmodel.table.rows.versions()
        known = [self.version_box.itemData(i) for i in range(1, self.version_box.count())]
        if versions == known:
            return
        self.version_box.blockSignals(True)
        self.version_box.clear()
        self.version_box.addItem(ALL_VERSIONS, None)
        for version in versions:
            self.version_box.addItem(version, version)
        self.version_box.setCurrentIndex(max(0, self.version_box.findData(current)))
        self.version_box.blockSignals(False)

    def _apply_filter(self) -> None:
        version = self.version_box.currentData()
        self.viewmodel.set_filter(version, self.search.text())
        self.detail.show_record(None)
        self._show_status()

    def _on_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = selected.indexes()
        record = self.viewmodel.table.record(rows[0].row()) if rows else None
        self.detail.show_record(record)

    def select_row(self, row: int) -> None:
        """Select the row ``row`` (and show it in the detail pane)."""
        self.table.selectRow(row)
        self.table.scrollTo(self.viewmodel.table.index(row, 0))

    def _reveal(self, field: str, span_index: int, reason: str) -> None:
        record = self.detail.record
        if record is not None:
            self.viewmodel.reveal(record, field, span_index, reason)
