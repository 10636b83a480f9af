"""The base of a fleet card's badges: a small label in a status colour that follows the theme."""

from PySide6.QtCore import QEvent
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QWidget

from console.domain.drift import DriftStatus
from console.ui.charts.palette import is_dark
from console.ui.drift_style import status_colour


class StatusBadge(QLabel):
    """Hidden until a subclass shows it; restyled when shown and when the theme changes.

    Subclasses say which status colours it (``_badge_status``, None: nothing to colour) and
    give the stylesheet for that colour (``_sheet``).
    """

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self._styling = False
        self.hide()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and not self._styling:
            self._restyle()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._restyle()  # the surroundings are polished (themed) by now

    def _badge_status(self) -> DriftStatus | None:
        raise NotImplementedError

    def _sheet(self, colour: str) -> str:
        raise NotImplementedError

    def _restyle(self) -> None:
        status = self._badge_status()
        if status is None:
            return
        # The surroundings' palette: this label's own follows the stylesheet set here.
        surroundings = self.parentWidget() or self
        sheet = self._sheet(status_colour(status, is_dark(surroundings.palette())).name())
        # Never an empty stylesheet: clearing one crashes Qt 6.11.3. Setting one sends this
        # label a palette change, which must not restyle it again.
        if sheet != self.styleSheet():
            self._styling = True
            self.setStyleSheet(sheet)
            self._styling = False
