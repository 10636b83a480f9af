"""In-app notifications: small toasts stacked in the top-right corner of a window."""

import math
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent, QPalette, QShowEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from console.domain.drift import DriftStatus
from console.ui.charts.palette import blend, is_dark
from console.ui.drift_style import STATUS_WORDS, status_colour

TOAST_WIDTH_PX = 340
DISMISS_AFTER_MS = 15_000
MAX_TOASTS = 4
_MARGIN_PX = 12


class Level(StrEnum):
    """How urgent a notice is; it decides the toast's accent colour."""

    INFO = "info"
    WARN = "warn"
    ALERT = "alert"


_ACCENTS = {
    Level.INFO: DriftStatus.OK,
    Level.WARN: DriftStatus.WARN,
    Level.ALERT: DriftStatus.ALERT,
}


@dataclass(frozen=True)
class Notice:
    """What a toast says; ``key`` is handed back when the toast is clicked."""

    title: str
    text: str
    level: Level = Level.INFO
    key: str = ""


def drift_crossing_notice(
    deployment: str, histogram: str, old: str, new: str, value: float
) -> Notice:
    """The notice for a deployment whose drift crossed a threshold (DriftWatchModel.crossed)."""
    before, after = DriftStatus(old), DriftStatus(new)
    level = {DriftStatus.ALERT: Level.ALERT, DriftStatus.WARN: Level.WARN}.get(after, Level.INFO)
    score = f" (score {value:.3g})" if math.isfinite(value) else ""
    return Notice(
        title=f"{deployment}: drift {STATUS_WORDS[after]}",
        text=f"The {histogram} distribution went from {STATUS_WORDS[before].lower()} to "
        f"{STATUS_WORDS[after].lower()}{score}. Click to open its drift chart.",
        level=level,
        key=deployment,
    )


class Toast(QFrame):
    """One notice: title, text and a close button; a click anywhere else activates it."""

    closed = Signal()
    activated = Signal()

    def __init__(self, notice: Notice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toast")
        self.notice = notice
        self.setFixedWidth(TOAST_WIDTH_PX)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.title = QLabel(notice.title)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = QLabel(notice.text)
        self.text.setWordWrap(True)
        self.close_button = QPushButton("✕")
        self.close_button.setFlat(True)
        self.close_button.setFixedWidth(24)
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAccessibleName("Dismiss notification")
        self.close_button.clicked.connect(self.closed)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 10)
        layout.addLayout(header)
        layout.addWidget(self.text)
        self.setAccessibleName(f"{notice.title}. {notice.text}")
        self._styling = False

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.activated.emit()
        super().mouseReleaseEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._restyle()  # the window is polished (themed) by now

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and not self._styling:
            self._restyle()

    def _restyle(self) -> None:
        # The window's palette: this frame's own follows the stylesheet set here.
        palette = self.window().palette()
        window = palette.color(QPalette.ColorRole.Window)
        text = palette.color(QPalette.ColorRole.WindowText)
        accent = status_colour(_ACCENTS[self.notice.level], is_dark(palette)).name()
        sheet = (
            f"QFrame#toast {{ background: {blend(window, text, 0.08).name()};"
            f" border: 1px solid {blend(window, text, 0.3).name()};"
            f" border-left: 4px solid {accent}; border-radius: 4px; }}"
        )
        # Never an empty stylesheet: clearing one crashes Qt 6.11.3.
        if sheet != self.styleSheet():
            self._styling = True
            self.setStyleSheet(sheet)
            self._styling = False


class NotificationStack(QWidget):
    """Toasts in the top-right corner of ``host``, newest on top, each dismissed after a while
    or by its close button; at most MAX_TOASTS at once (the oldest goes first).

    ``activated(key)`` is emitted when a toast is clicked (the toast then closes).
    """

    activated = Signal(str)

    def __init__(self, host: QWidget, *, dismiss_after_ms: int = DISMISS_AFTER_MS) -> None:
        super().__init__(host)
        self.setObjectName("notificationStack")
        self._dismiss_after_ms = dismiss_after_ms
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(6)
        self._toasts: list[Toast] = []
        self.hide()

    def notify(self, notice: Notice) -> Toast:
        """Show ``notice`` on top of the stack."""
        toast = Toast(notice, self)
        toast.closed.connect(lambda: self.dismiss(toast))
        toast.activated.connect(lambda: self._activate(toast))
        QTimer.singleShot(self._dismiss_after_ms, toast, lambda: self.dismiss(toast))
        self._toasts.insert(0, toast)
        self._column.insertWidget(0, toast)
        while len(self._toasts) > MAX_TOASTS:
            self.dismiss(self._toasts[-1])
        self._place()
        self.show()
        self.raise_()
        return toast

    def toasts(self) -> list[Toast]:
        """The toasts shown, newest first."""
        return list(self._toasts)

    def dismiss(self, toast: Toast) -> None:
        """Remove ``toast`` (nothing happens if it is already gone)."""
        if toast not in self._toasts:
            return
        self._toasts.remove(toast)
        self._column.removeWidget(toast)
        toast.hide()
        toast.deleteLater()
        if self._toasts:
            self._place()
        else:
            self.hide()

    def host_resized(self) -> None:
        """Keep the toasts in the host's corner; the host's owner calls this on resize.

        (Not an event filter on the host: a Python event filter on a long-lived widget
        crashed PySide 6.11 when an application-wide stylesheet was set.)
        """
        if self._toasts:
            self._place()

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        # Texts are measured anew once polished (themed fonts): take the height they need.
        if event.type() == QEvent.Type.LayoutRequest and self._toasts:
            self._place()
        return handled

    def _activate(self, toast: Toast) -> None:
        key = toast.notice.key
        self.dismiss(toast)
        self.activated.emit(key)

    def _place(self) -> None:
        host = self.parentWidget()
        # The word-wrapped texts need their height for the toasts' fixed width.
        height = self._column.totalHeightForWidth(TOAST_WIDTH_PX)
        self.setGeometry(
            max(0, host.width() - TOAST_WIDTH_PX - _MARGIN_PX), _MARGIN_PX, TOAST_WIDTH_PX, height
        )
