"""The log explorer's table model: rows newest first, filtered by version and text.

Cells come precomputed (console/viewmodels/log_rows.py); ``data`` only indexes arrays. The
visible rows are an index array over all loaded rows, so a filter is one numpy pass and a
model reset. A tail prepends rows, fetch-more appends them (``canFetchMore``/``fetchMore``:
the view asks when the user scrolls to the bottom).
"""

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from console.domain.log_records import LogRecord
from console.viewmodels.log_rows import (
    COLUMNS,
    NUMERIC_COLUMNS,
    OUTPUT_COLUMN,
    PROMPT_COLUMN,
    IntArray,
    LogRows,
)

LOW_CONFIDENCE_COLOR = "#ef6c00"
_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
_DISPLAY = Qt.ItemDataRole.DisplayRole
# Plain ints: the view asks data() for about seven roles per painted cell, and comparing ints
# is several times cheaper than comparing PySide enums.
_DISPLAY_ROLE = int(_DISPLAY)
_ALIGNMENT_ROLE = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND_ROLE = int(Qt.ItemDataRole.ForegroundRole)
_TOOLTIP_ROLE = int(Qt.ItemDataRole.ToolTipRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class LogTableModel(QAbstractTableModel):
    """Loaded log rows (redacted text only), newest first, behind a version/text filter."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows = LogRows.empty()
        self._visible: IntArray = np.empty(0, dtype=np.int64)
        self._version: str | None = None
        self._text = ""
        self._more = False
        self._fetch_more: Callable[[], None] | None = None
        self._low_brush = QBrush(QColor(LOW_CONFIDENCE_COLOR))

    @property
    def rows(self) -> LogRows:
        """All loaded rows, filtered or not."""
        return self._rows

    @property
    def loaded(self) -> int:
        """How many rows are loaded (before the filter)."""
        return len(self._rows)

    def set_fetcher(self, fetch_more: Callable[[], None] | None) -> None:
        """What ``fetchMore`` calls (the view model loads older rows and appends them)."""
        self._fetch_more = fetch_more

    def set_more_available(self, more: bool) -> None:
        """Whether older rows exist beyond the loaded ones."""
        self._more = more

    def set_rows(self, rows: LogRows) -> None:
        """Show ``rows`` instead of the loaded ones."""
        self.beginResetModel()
        self._rows = rows
        self._visible = rows.matching(self._version, self._text)
        self.endResetModel()

    def prepend(self, newer: LogRows) -> int:
        """Add rows newer than the loaded ones at the top; how many pass the filter."""
        if not len(newer):
            return 0
        shown = newer.matching(self._version, self._text)
        if len(shown):
            self.beginInsertRows(_ROOT, 0, len(shown) - 1)
        self._rows = newer.concat(self._rows)
        self._visible = np.concatenate((shown, self._visible + len(newer)))
        if len(shown):
            self.endInsertRows()
        return len(shown)

    def append(self, older: LogRows) -> int:
        """Add rows older than the loaded ones at the bottom; how many pass the filter."""
        if not len(older):
            return 0
        shown = older.matching(self._version, self._text) + len(self._rows)
        first = len(self._visible)
        if len(shown):
            self.beginInsertRows(_ROOT, first, first + len(shown) - 1)
        self._rows = self._rows.concat(older)
        self._visible = np.concatenate((self._visible, shown))
        if len(shown):
            self.endInsertRows()
        return len(shown)

    def set_filter(self, version: str | None, text: str) -> None:
        """Show only the rows of ``version`` (None: all) whose text holds ``text``."""
        if (version, text) == (self._version, self._text):
            return
        self._version, self._text = version, text
        self.beginResetModel()
        self._visible = self._rows.matching(version, text)
        self.endResetModel()

    def record(self, row: int) -> LogRecord:
        """The record shown at ``row``."""
        record: LogRecord = self._rows.records[self._visible[row]]
        return record

    def row_of(self, key: str) -> int | None:
        """The shown row of the record ``key``, if shown."""
        for row, index in enumerate(self._visible.tolist()):
            if self._rows.records[index].key == key:
                return row
        return None

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = _DISPLAY_ROLE) -> Any:
        if role == _DISPLAY_ROLE:
            return self._rows.cells[self._visible[index.row()], index.column()]
        if role == _ALIGNMENT_ROLE:
            return _RIGHT if index.column() in NUMERIC_COLUMNS else None
        if role == _FOREGROUND_ROLE:
            low = self._rows.low_confidence[self._visible[index.row()]]
            return self._low_brush if low else None
        if role == _TOOLTIP_ROLE and index.column() in (PROMPT_COLUMN, OUTPUT_COLUMN):
            record = self.record(index.row())
            text = record.prompt if index.column() == PROMPT_COLUMN else record.output
            return (text or record.raw)[:2000]
        return None

    def canFetchMore(self, parent: _Index) -> bool:
        return not parent.isValid() and self._more and self._fetch_more is not None

    def fetchMore(self, parent: _Index) -> None:
        if self.canFetchMore(parent) and self._fetch_more is not None:
            self._more = False  # until the page arrives: one request at a time
            self._fetch_more()
