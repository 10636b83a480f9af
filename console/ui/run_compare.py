"""Two runs side by side: the sends that moved from pass to fail and back."""

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from console.domain.suite_results import CaseChange, RunComparison

_ROW_HEIGHT = 22


class RunCompareTable(QTableWidget):
    """Regressions (pass → fail) first, then fixes (fail → pass), each with its reason."""

    HEADERS = ("Change", "Case", "Before", "After", "Reason")

    def __init__(self) -> None:
        super().__init__(0, len(self.HEADERS))
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(_ROW_HEIGHT)
        self.verticalHeader().hide()
        self.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((100, 340, 70, 70)):
            self.setColumnWidth(column, width)

    def show_comparison(self, comparison: RunComparison) -> None:
        """Show what moved between the two runs."""
        rows = [("pass → fail", c) for c in comparison.regressions]
        rows += [("fail → pass", c) for c in comparison.fixes]
        self.setRowCount(len(rows))
        for row, (label, change) in enumerate(rows):
            for column, text in enumerate((label, *_cells(change))):
                self.setItem(row, column, QTableWidgetItem(text))

    def changes(self) -> list[tuple[str, str]]:
        """(change, case title) of every row, for tests and copy."""
        return [(self._text(row, 0), self._text(row, 1)) for row in range(self.rowCount())]

    def _text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item is not None else ""


def _cells(change: CaseChange) -> tuple[str, str, str, str]:
    def word(status: object) -> str:
        return "—" if status is None else str(status)

    return change.title, word(change.before), word(change.after), change.reason
