"""The Audit tab: entries newest first, filters, search, an entry's details, verify, export."""

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.domain.audit import ENTRY_FIELDS, AuditEntry, AuditOutcome, ChainReport
from console.services.audit_log import AuditFilter
from console.ui.card import repolish
from console.ui.file_dialogs import ask_save_path
from console.viewmodels.audit import AuditViewModel

ROW_HEIGHT_PX = 24
SEARCH_DELAY_MS = 250
RELOAD_DELAY_MS = 150
"""Entries appended in a burst (an action's STARTED and closing entries) reload once."""
KNOWN_ACTIONS = ("rollback", "failover")
BAD_ENTRY_COLOR = QColor("#cf222e")
"""The first bad entry of a broken chain is listed in red."""
_ANY = ""
_ROOT = QModelIndex()
_Index = QModelIndex | QPersistentModelIndex
_COLUMNS = (
    "#",
    "Time (UTC)",
    "Profile",
    "Action",
    "Target",
    "Outcome",
    "Change",
    "Reason",
    "Actor",
)


class AuditTableModel(QAbstractTableModel):
    """Audit entries as table rows, newest first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[AuditEntry] = []
        self._bad_id: int | None = None

    def set_entries(self, entries: list[AuditEntry]) -> None:
        """Show ``entries`` (newest first)."""
        self.beginResetModel()
        self._entries = entries
        self.endResetModel()

    def set_bad_id(self, entry_id: int | None) -> None:
        """Mark the first bad entry of a broken chain (None: the chain is intact)."""
        self.beginResetModel()
        self._bad_id = entry_id
        self.endResetModel()

    def entry(self, row: int) -> AuditEntry:
        """The entry on ``row``."""
        return self._entries[row]

    def row_of(self, entry_id: int) -> int | None:
        """The row of entry ``entry_id``, if listed."""
        return next((row for row, e in enumerate(self._entries) if e.id == entry_id), None)

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid():
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.ForegroundRole and entry.id == self._bad_id:
            return BAD_ENTRY_COLOR
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        return _cells(entry)[index.column()]


class AuditView(QWidget):
    """Lists the audit log through an AuditViewModel; reloads as entries are appended."""

    def __init__(
        self, model: AuditViewModel, profiles: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("auditView")
        self.model = model
        self._wanted: int | None = None
        self.profile_filter = _combo("Any profile", profiles)
        self.action_filter = _combo("Any action", list(KNOWN_ACTIONS))
        self.outcome_filter = _combo("Any outcome", [o.value for o in AuditOutcome])
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search actor, target, reason, versions, checks, error…")
        self.search.setClearButtonEnabled(True)
        self.verify_button = QPushButton("Verify chain")
        self.export_button = QPushButton("Export JSONL…")
        self.chain_label = QLabel("Chain not verified yet")
        self.chain_label.setObjectName("statusWord")
        self.count_label = QLabel()
        self.table_model = AuditTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("auditTable")
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(ROW_HEIGHT_PX)
        columns = self.table.horizontalHeader()
        columns.setStretchLastSection(True)
        for column, width in enumerate((56, 200, 90, 80, 120, 90, 110, 240)):
            self.table.setColumnWidth(column, width)
        self.details = QPlainTextEdit()
        self.details.setObjectName("auditDetails")
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlaceholderText("Select an entry to see all its fields and hashes.")
        self._search_timer = _single_shot(self, SEARCH_DELAY_MS, self.reload)
        self._reload_timer = _single_shot(self, RELOAD_DELAY_MS, self.reload)
        self._build()
        self._connect()
        if model.report is not None:
            self._show_chain(model.report)
        self.reload()

    def _build(self) -> None:
        filters = QHBoxLayout()
        for widget in (self.profile_filter, self.action_filter, self.outcome_filter):
            filters.addWidget(widget)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.verify_button)
        filters.addWidget(self.export_button)
        status = QHBoxLayout()
        status.addWidget(self.chain_label)
        status.addWidget(self.count_label, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(filters)
        layout.addLayout(status)
        layout.addWidget(splitter, 1)

    def _connect(self) -> None:
        model = self.model
        model.entriesChanged.connect(self._show_entries)
        model.entryAppended.connect(lambda _entry: self._reload_timer.start())
        model.entryFound.connect(self._show_found)
        model.chainChecked.connect(self._show_chain)
        model.exported.connect(self.count_label.setText)
        model.errorRaised.connect(self.count_label.setText)
        model.opened.connect(self.reload)
        for combo in (self.profile_filter, self.action_filter, self.outcome_filter):
            combo.currentIndexChanged.connect(self.reload)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.verify_button.clicked.connect(self.verify)
        self.export_button.clicked.connect(self._ask_export)
        self.table.selectionModel().currentRowChanged.connect(self._on_row_changed)

    # Actions

    def current_filter(self) -> AuditFilter:
        """The filter the controls describe."""
        outcome = self.outcome_filter.currentData()
        return AuditFilter(
            profile=self.profile_filter.currentData() or None,
            action=self.action_filter.currentData() or None,
            outcome=AuditOutcome(outcome) if outcome else None,
            search=self.search.text().strip() or None,
        )

    def reload(self) -> None:
        """List the entries matching the controls."""
        self._search_timer.stop()
        self._reload_timer.stop()
        self.model.load(self.current_filter())

    def verify(self) -> None:
        """Verify the whole chain again."""
        self.chain_label.setText("Verifying…")
        repolish(self.chain_label, "status", "no_data")
        self.model.verify()

    def export_to(self, path: Path) -> None:
        """Export every entry to ``path`` as JSON lines (atomically)."""
        self.count_label.setText(f"Exporting to {path}…")
        self.model.export(path)

    def show_entry(self, entry_id: int) -> None:
        """Select entry ``entry_id``: clears the filters so that it is listed."""
        self._wanted = entry_id
        for combo in (self.profile_filter, self.action_filter, self.outcome_filter):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.reload()

    def selected_entry(self) -> AuditEntry | None:
        """The entry whose details are shown."""
        index = self.table.currentIndex()
        return self.table_model.entry(index.row()) if index.isValid() else None

    def _ask_export(self) -> None:
        path = ask_save_path(
            self, "Export the audit log", str(Path.home() / "audit.jsonl"), "JSON lines (*.jsonl)"
        )
        if path is not None:
            self.export_to(path)

    # Showing

    def _show_entries(self) -> None:
        selected = self.selected_entry()
        wanted = self._wanted if self._wanted is not None else (selected.id if selected else None)
        entries = self.model.entries()
        self.table_model.set_entries(entries)
        for entry in entries:
            _offer(self.profile_filter, entry.profile)
            _offer(self.action_filter, entry.action)
        self.count_label.setText(
            f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, newest first"
        )
        row = self.table_model.row_of(wanted) if wanted is not None else None
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.table_model.index(row, 0))
        elif self._wanted is not None:
            self.model.find(self._wanted)  # older than the listed entries
        else:
            self.details.clear()
        self._wanted = None

    def _show_found(self, entry: AuditEntry | None) -> None:
        self.details.setPlainText(_details(entry) if entry else "No such audit entry.")

    def _on_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.details.setPlainText(_details(self.table_model.entry(current.row())))

    def _show_chain(self, report: ChainReport) -> None:
        checked = time.strftime("%H:%M:%S")
        self.chain_label.setText(
            f"Chain intact: {report.checked} entries checked at {checked}"
            if report.intact
            else str(report)
        )
        repolish(self.chain_label, "status", "ok" if report.intact else "alert")
        self.table_model.set_bad_id(report.bad_id)


def _cells(entry: AuditEntry) -> tuple[str, ...]:
    change = f"{entry.before or '—'} → {entry.after}" if entry.after else (entry.before or "")
    return (
        str(entry.id),
        entry.at.replace("T", " ").removesuffix("+00:00"),
        entry.profile,
        entry.action,
        entry.target,
        entry.outcome.value,
        change,
        entry.reason,
        entry.actor,
    )


def _details(entry: AuditEntry) -> str:
    values = entry.to_json()
    width = max(len(name) for name in ENTRY_FIELDS)
    return "\n".join(
        f"{name.ljust(width)}  {'' if values[name] is None else values[name]}"
        for name in ENTRY_FIELDS
    )


def _combo(any_text: str, values: list[str]) -> QComboBox:
    combo = QComboBox()
    combo.addItem(any_text, _ANY)
    for value in values:
        combo.addItem(value, value)
    combo.setMinimumContentsLength(10)
    return combo


def _offer(combo: QComboBox, value: str) -> None:
    if value and combo.findData(value) < 0:
        combo.addItem(value, value)


def _single_shot(parent: QObject, delay_ms: int, slot: Callable[[], None]) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(delay_ms)
    timer.timeout.connect(slot)
    return timer
