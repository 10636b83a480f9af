"""The canary versus stable table: each SLI side by side, its change, and a verdict."""

from collections.abc import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from console.domain.canary import CanaryComparison, CanaryRow, Verdict
from console.domain.signals import Signal
from console.ui import format as fmt

VERDICT_COLOURS = {
    Verdict.BETTER: QColor("#2f9e57"),
    Verdict.WORSE: QColor("#e5534b"),
    Verdict.INCONCLUSIVE: QColor("#c98a16"),
}
"""Readable on both the dark and the light theme; "same" keeps the text colour."""
ROW_HEIGHT_PX = 24
COLUMNS = ("SLI", "Stable", "Canary", "Change", "Verdict")
_VALUE_FORMATS: dict[Signal, Callable[[float | None], str]] = {
    Signal.REQUEST_RATE: fmt.request_rate,
    Signal.ERROR_RATIO: fmt.error_ratio,
}
_Index = QModelIndex | QPersistentModelIndex


def change_text(change: float | None) -> str:
    """A relative change as a signed percentage, "—" when it cannot be known."""
    if change is None:
        return "—"
    return f"{change:+.0%}" if abs(change) >= 0.095 else f"{change:+.1%}"


class CanaryTableModel(QAbstractTableModel):
    """Rows of a CanaryComparison; the verdict's reason is its tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._comparison: CanaryComparison | None = None
        self._rows: tuple[CanaryRow, ...] = ()

    def set_comparison(self, comparison: CanaryComparison | None) -> None:
        """Show ``comparison`` (None empties the table)."""
        self.beginResetModel()
        self._comparison = comparison
        self._rows = comparison.rows if comparison is not None else ()
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        comparison = self._comparison
        if comparison is not None and section == 1:
            return f"Stable {comparison.stable_version}"
        if comparison is not None and section == 2 and len(comparison.canary_versions) == 1:
            return f"Canary {comparison.canary_versions[0]}"
        return COLUMNS[section]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == 4:
            return row.reason
        if role == Qt.ItemDataRole.ForegroundRole and column == 4:
            colour = VERDICT_COLOURS.get(row.verdict)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def row(self, row: int) -> CanaryRow:
        """The comparison row shown at ``row``."""
        return self._rows[row]

    def _text(self, row: CanaryRow, column: int) -> str:
        if column == 0:
            several = self._comparison is not None and len(self._comparison.canary_versions) > 1
            return f"{row.signal.label} ({row.canary_version})" if several else row.signal.label
        if column in (1, 2):
            value = row.stable if column == 1 else row.canary
            return _VALUE_FORMATS.get(row.signal, fmt.duration)(value)
        if column == 3:
            return change_text(row.relative_change)
        return row.verdict.value


class CanaryTable(QTableView):
    """A CanaryTableModel in a table with fixed row heights (never sized to contents)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canaryTable")
        self.table_model = CanaryTableModel(self)
        self.setModel(self.table_model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        vertical = self.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ROW_HEIGHT_PX)
        horizontal = self.horizontalHeader()
        horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def set_comparison(self, comparison: CanaryComparison | None) -> None:
        """Show ``comparison``; the table is as tall as its rows, without a scroll bar."""
        self.table_model.set_comparison(comparison)
        rows = self.table_model.rowCount()
        header = self.horizontalHeader().sizeHint().height()
        self.setFixedHeight(header + rows * ROW_HEIGHT_PX + 2 * self.frameWidth() + 2)
