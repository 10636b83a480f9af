"""Dark and light stylesheets; the System choice follows the OS colour scheme."""

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication

from console.config.settings import Theme
from console.ui.resources import read_text, register_icon_path

THEME_ORDER = (Theme.SYSTEM, Theme.DARK, Theme.LIGHT)
THEME_LABELS = {Theme.SYSTEM: "System", Theme.DARK: "Dark", Theme.LIGHT: "Light"}


def stylesheet(theme: Theme) -> str:
    """The QSS text of a concrete (dark or light) theme."""
    return read_text("styles", f"{theme.value}.qss")


class ThemeController(QObject):
    """Applies the chosen theme to the application and follows the OS while on System."""

    def __init__(self, app: QApplication, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._choice = Theme.SYSTEM
        self._applied: Theme | None = None
        register_icon_path()
        app.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)

    @property
    def choice(self) -> Theme:
        """What the user picked: System, Dark or Light."""
        return self._choice

    @property
    def effective(self) -> Theme:
        """The concrete theme (Dark or Light) the choice resolves to right now."""
        if self._choice is not Theme.SYSTEM:
            return self._choice
        dark = self._app.styleHints().colorScheme() == Qt.ColorScheme.Dark
        return Theme.DARK if dark else Theme.LIGHT

    def apply(self, choice: Theme) -> None:
        """Switch to ``choice``; the stylesheet is only reloaded when it changes."""
        self._choice = choice
        effective = self.effective
        if effective is self._applied:
            return
        # Never set an empty sheet in between: Qt 6.11 crashes when a widget outlives an
        # application stylesheet being removed and set again, and is deleted afterwards.
        self._app.setStyleSheet(stylesheet(effective))
        self._applied = effective

    def _on_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._choice is Theme.SYSTEM:
            self.apply(Theme.SYSTEM)
