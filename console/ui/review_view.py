"""The review queue: outputs below the confidence threshold, for a human verdict.

Pick an item, read its (redacted) prompt and output, write a note and mark it acceptable
or unacceptable. Decisions export as JSON lines; "Add as test case" appends the prompt to a
suite file chosen in a file dialog (the service keeps the file a valid suite).
"""

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
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

from console.services.review_queue import ReviewItem, Verdict
from console.ui.file_dialogs import ChoosePath, ask_open_path, ask_save_path
from console.ui.log_detail import text_box
from console.viewmodels.log_rows import clock_text
from console.viewmodels.review import ReviewViewModel

ROW_HEIGHT_PX = 22


class ReviewView(QWidget):
    """Lists the review queue of a ReviewViewModel; dialogs are replaceable for tests."""

    def __init__(
        self,
        model: ReviewViewModel,
        *,
        save_path: ChoosePath = ask_save_path,
        suite_path: ChoosePath = ask_open_path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.save_path = save_path
        self.suite_path = suite_path
        threshold = model.profile.review_threshold
        self.caption = QLabel(
            f"Outputs with confidence below {threshold:.2f} (the profile's review_threshold) "
            "from the logs you loaded. Text is redacted."
        )
        self.caption.setWordWrap(True)
        self.pending_only = QCheckBox("Pending only")
        self.pending_only.setChecked(model.pending_only)
        self.refresh_button = QPushButton("Refresh")
        self.export_button = QPushButton("Export JSONL…")
        self.export_button.setToolTip("Write the decided items as JSON lines")
        self.table = QTableView()
        self.table.setModel(model.table)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(ROW_HEIGHT_PX)
        rows.hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((180, 110, 60, 80, 100, 320)):
            self.table.setColumnWidth(column, width)
        self.facts = QLabel("Select an item to review it.")
        self.facts.setWordWrap(True)
        self.prompt = text_box()
        self.output = text_box()
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note (why it is or is not acceptable)")
        self.acceptable_button = QPushButton("Acceptable")
        self.unacceptable_button = QPushButton("Unacceptable")
        self.add_case_button = QPushButton("Add as test case…")
        self.add_case_button.setToolTip("Append the prompt as a case of a suite file")
        self.message = QLabel()
        self.message.setObjectName("reviewMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._keep: tuple[str, int] | None = None  # the selection to restore after a reload
        self._build()
        self._connect()
        self._show_item(None)

    def _build(self) -> None:
        tools = QHBoxLayout()
        tools.addWidget(self.caption, 1)
        tools.addWidget(self.pending_only)
        tools.addWidget(self.refresh_button)
        tools.addWidget(self.export_button)
        texts = QHBoxLayout()
        for title, box in (("Prompt", self.prompt), ("Output", self.output)):
            column = QVBoxLayout()
            column.addWidget(QLabel(title))
            column.addWidget(box, 1)
            texts.addLayout(column, 1)
        verdict = QHBoxLayout()
        verdict.addWidget(self.note, 1)
        verdict.addWidget(self.acceptable_button)
        verdict.addWidget(self.unacceptable_button)
        verdict.addWidget(self.add_case_button)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.facts)
        detail_layout.addLayout(texts, 1)
        detail_layout.addLayout(verdict)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message)

    def _connect(self) -> None:
        model = self.model
        self.pending_only.toggled.connect(model.set_pending_only)
        self.refresh_button.clicked.connect(model.refresh)
        self.export_button.clicked.connect(self.export)
        self.acceptable_button.clicked.connect(lambda: self.decide(Verdict.ACCEPTABLE))
        self.unacceptable_button.clicked.connect(lambda: self.decide(Verdict.UNACCEPTABLE))
        self.add_case_button.clicked.connect(self.add_case)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        model.itemsChanged.connect(self._on_items)
        model.decided.connect(self._on_decided)
        model.exported.connect(self.message.setText)
        model.caseAdded.connect(self.message.setText)
        model.errorRaised.connect(lambda text: self.message.setText(f"Error: {text}"))

    def selected(self) -> ReviewItem | None:
        """The item selected in the table."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.table.item(rows[0].row()) if rows else None

    def decide(self, verdict: Verdict) -> None:
        """Mark the selected item with ``verdict`` and the note."""
        item = self.selected()
        if item is not None:
            self.model.decide(item.record_key, verdict, self.note.text())

    def export(self) -> None:
        """Ask where, then export the decided items."""
        path = self.save_path(self, "Export reviews", "reviews.jsonl", "JSON lines (*.jsonl)")
        if path is not None:
            self.model.export(path)

    def add_case(self) -> None:
        """Ask for a suite file, then add the selected item's prompt to it as a case."""
        item = self.selected()
        if item is None:
            return
        path = self.suite_path(
            self, "Add as test case to suite", "", "Suites (*.yaml *.yml);;All files (*)"
        )
        if path is not None:
            self.model.add_case(item.record_key, path)

    def _on_items(self) -> None:
        # After a verdict the list reloads: keep the item, or select the one now in its place.
        if self._keep is not None and self.model.table.rowCount():
            key, row = self._keep
            found = self.model.table.row_of(key)
            self.table.selectRow(
                found if found is not None else min(row, self.model.table.rowCount() - 1)
            )
        self._show_item(self.selected())

    def _on_decided(self, item: ReviewItem) -> None:
        verdict = item.verdict.value if item.verdict else "pending"
        self.message.setText(f"Marked {item.deployment or '?'} {item.record_key}: {verdict}")

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        item = self.selected()
        if item is not None:
            self._keep = (item.record_key, self.table.selectionModel().selectedRows()[0].row())
        self._show_item(item)

    def _show_item(self, item: ReviewItem | None) -> None:
        for button in (self.acceptable_button, self.unacceptable_button, self.add_case_button):
            button.setEnabled(item is not None)
        self.note.setEnabled(item is not None)
        if item is None:
            self.facts.setText("Select an item to review it.")
            self.prompt.clear()
            self.output.clear()
            return
        verdict = item.verdict.value if item.verdict else "pending"
        by = f" by {item.reviewer}" if item.reviewer else ""
        self.facts.setText(
            f"{clock_text(item.timestamp_ns)} · {item.deployment or '?'} {item.version or ''}"
            f" · confidence {item.confidence:.2f} < {item.threshold:.2f} · {verdict}{by}"
        )
        self.prompt.setPlainText(item.prompt or "")
        self.output.setPlainText(item.output or "")
        self.note.setText(item.note)
