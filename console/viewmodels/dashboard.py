"""The dashboard of the active profile: pinned panels on a grid, saved after every change."""

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from console.config.settings import (
    GRID_COLUMNS,
    PinnedPanel,
    SettingsError,
    validate_dashboard,
)

SaveDashboard = Callable[[str, tuple[PinnedPanel, ...]], None]
"""Writes one profile's panels to the config file; raises when it cannot."""

NEW_PANEL_SPAN = (1, 4)
"""Rows and columns a panel pinned without a size of its own covers: three panels a row."""


class DashboardViewModel(QObject):
    """The panels pinned to the active profile's dashboard, and the grid rules.

    Every accepted change is emitted (``changed``) and then saved. A refused change
    (overlap, outside the grid) leaves the panels as they were and emits ``errorRaised``.
    A failed save is reported too, but the grid on screen is kept; the next change saves
    it all again.
    """

    changed = Signal()
    errorRaised = Signal(str)

    def __init__(self, save: SaveDashboard, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._save = save
        self._profile: str | None = None
        self._panels: tuple[PinnedPanel, ...] = ()
        self._save_error: str | None = None

    @property
    def profile(self) -> str | None:
        """The name of the profile whose dashboard this is."""
        return self._profile

    @property
    def panels(self) -> tuple[PinnedPanel, ...]:
        """The pinned panels, in the order they were pinned."""
        return self._panels

    @property
    def rows(self) -> int:
        """How many grid rows the panels use."""
        return max((p.row + p.row_span for p in self._panels), default=0)

    @property
    def save_error(self) -> str | None:
        """Why the last save failed, while the panels on screen are not saved."""
        return self._save_error

    def set_profile(self, name: str, panels: tuple[PinnedPanel, ...]) -> None:
        """Show profile ``name``'s dashboard, as loaded from its settings (not saved again)."""
        self._profile = name
        self._panels = panels
        self._save_error = None
        self.changed.emit()

    def index_at(self, row: int, column: int) -> int | None:
        """The index of the panel covering cell (row, column), if any."""
        return next(
            (i for i, panel in enumerate(self._panels) if (row, column) in panel.cells()), None
        )

    def pin(self, panel: PinnedPanel) -> int | None:
        """Add ``panel`` in the first free cell (row by row); returns its index.

        A panel of the default 1 by 1 size gets NEW_PANEL_SPAN. A panel showing what
        another one already shows is refused (None).
        """
        if self._profile is None:
            self.errorRaised.emit("No profile is open, so there is no dashboard to pin to.")
            return None
        twin = next((p for p in self._panels if p.subject == panel.subject), None)
        if twin is not None:
            self.errorRaised.emit(f"{panel.title!r} is already on the dashboard as {twin.title!r}.")
            return None
        spans = (panel.row_span, panel.column_span)
        row_span, column_span = NEW_PANEL_SPAN if spans == (1, 1) else spans
        row, column = self._first_free_cell(row_span, column_span)
        try:
            placed = dataclasses.replace(
                panel, row=row, column=column, row_span=row_span, column_span=column_span
            )
        except SettingsError as exc:
            self.errorRaised.emit(f"Cannot pin {panel.title!r}: {_reason(exc)}")
            return None
        self._commit((*self._panels, placed))
        return len(self._panels) - 1

    def remove(self, index: int) -> None:
        """Unpin the panel at ``index``."""
        self._check(index)
        self._commit(self._panels[:index] + self._panels[index + 1 :])

    def move(self, index: int, row: int, column: int) -> bool:
        """Put the panel's top-left corner at (row, column); False (and an error) if refused."""
        panel = self._check(index)
        return self._place(index, "move", row, column, panel.row_span, panel.column_span)

    def resize(self, index: int, row_span: int, column_span: int) -> bool:
        """Make the panel cover ``row_span`` by ``column_span`` cells from its top-left corner."""
        panel = self._check(index)
        return self._place(index, "resize", panel.row, panel.column, row_span, column_span)

    def swap(self, first: int, second: int) -> bool:
        """Exchange the top-left corners of two panels (what dropping one on the other does)."""
        a, b = self._check(first), self._check(second)
        panels = list(self._panels)
        try:
            panels[first] = dataclasses.replace(a, row=b.row, column=b.column)
            panels[second] = dataclasses.replace(b, row=a.row, column=a.column)
            validate_dashboard(tuple(panels))
        except SettingsError as exc:
            self.errorRaised.emit(f"Cannot swap {a.title!r} and {b.title!r}: {_reason(exc)}")
            return False
        self._commit(tuple(panels))
        return True

    def placement_error(
        self, index: int, row: int, column: int, row_span: int, column_span: int
    ) -> str | None:
        """Why the panel at ``index`` cannot cover those cells; None when it can."""
        try:
            self._placed(index, row, column, row_span, column_span)
        except SettingsError as exc:
            return _reason(exc)
        return None

    def _place(
        self, index: int, verb: str, row: int, column: int, row_span: int, column_span: int
    ) -> bool:
        try:
            panels = self._placed(index, row, column, row_span, column_span)
        except SettingsError as exc:
            title = self._panels[index].title
            self.errorRaised.emit(f"Cannot {verb} {title!r}: {_reason(exc)}")
            return False
        if panels != self._panels:
            self._commit(panels)
        return True

    def _placed(
        self, index: int, row: int, column: int, row_span: int, column_span: int
    ) -> tuple[PinnedPanel, ...]:
        self._check(index)
        panels = list(self._panels)
        panels[index] = dataclasses.replace(
            panels[index], row=row, column=column, row_span=row_span, column_span=column_span
        )
        # The changed panel goes last, so an overlap is reported as its own.
        validate_dashboard((*panels[:index], *panels[index + 1 :], panels[index]))
        return tuple(panels)

    def _first_free_cell(self, row_span: int, column_span: int) -> tuple[int, int]:
        taken = set().union(*(panel.cells() for panel in self._panels))
        row = 0
        while True:
            for column in range(GRID_COLUMNS - column_span + 1):
                cells = {
                    (r, c)
                    for r in range(row, row + row_span)
                    for c in range(column, column + column_span)
                }
                if not cells & taken:
                    return row, column
            row += 1

    def _check(self, index: int) -> PinnedPanel:
        if not 0 <= index < len(self._panels):
            raise IndexError(f"no panel {index} on a dashboard of {len(self._panels)}")
        return self._panels[index]

    def _commit(self, panels: tuple[PinnedPanel, ...]) -> None:
        self._panels = panels
        self.changed.emit()
        assert self._profile is not None  # panels exist only once a profile is set
        try:
            self._save(self._profile, panels)
        except Exception as exc:  # whatever the store raises, the grid on screen is kept
            self._save_error = str(exc)
            self.errorRaised.emit(f"Dashboard not saved: {exc}")
        else:
            self._save_error = None


def _reason(error: SettingsError) -> str:
    """The message of a grid error, without the panel index key meant for config files."""
    return error.message if error.key.startswith("[") else str(error)
