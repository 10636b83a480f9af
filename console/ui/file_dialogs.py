"""The file dialogs of exports and imports: the chosen path, or None when cancelled."""

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

ChoosePath = Callable[[QWidget, str, str, str], Path | None]
"""(parent, title, suggested path, filter) -> the chosen path, None when cancelled."""


def ask_save_path(parent: QWidget, title: str, suggested: str, file_filter: str) -> Path | None:
    """A save dialog."""
    chosen, _ = QFileDialog.getSaveFileName(parent, title, suggested, file_filter)
    return Path(chosen) if chosen else None


def ask_open_path(parent: QWidget, title: str, suggested: str, file_filter: str) -> Path | None:
    """An open dialog (the file must exist)."""
    chosen, _ = QFileDialog.getOpenFileName(parent, title, suggested, file_filter)
    return Path(chosen) if chosen else None
