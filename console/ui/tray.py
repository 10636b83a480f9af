"""Desktop notifications: a tray icon in the worst status's colour that shows notifications,
or in-window toasts where the desktop has no system tray (e.g. offscreen, some Wayland)."""

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from console.domain.alerts import severity_rank
from console.domain.notifications import Notification
from console.domain.slo import Status
from console.ui.notifications import Level, Notice, NotificationStack

DETAIL_KEY_PREFIX = "detail:"
"""Toast keys that open a deployment's detail (others open its drift section)."""
ICON_PX = 32
STATUS_COLOURS = {
    Status.OK: "#2da44e",
    Status.WARN: "#d29922",
    Status.ALERT: "#e5534b",
    Status.NO_DATA: "#8b949e",
}
_MESSAGE_MS = 10_000


def status_icon(status: Status) -> QIcon:
    """A filled circle in the status's colour."""
    pixmap = QPixmap(ICON_PX, ICON_PX)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(STATUS_COLOURS[status]))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(2, 2, ICON_PX - 4, ICON_PX - 4)
    painter.end()
    return QIcon(pixmap)


def level_of(severity: str) -> Level:
    """The toast level of a severity."""
    rank = severity_rank(severity)
    return Level.ALERT if rank >= 4 else Level.WARN if rank >= 2 else Level.INFO


class DesktopNotifier(QObject):
    """Shows notifications through the system tray, else as toasts in ``stack``.

    ``deploymentRequested(deployment)`` asks to open a deployment's detail: emitted when a
    tray message (or a toast) is clicked. ``uses_tray`` says which one is used.
    """

    deploymentRequested = Signal(str)

    def __init__(
        self,
        stack: NotificationStack,
        *,
        tray_available: bool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._stack = stack
        available = (
            QSystemTrayIcon.isSystemTrayAvailable() if tray_available is None else tray_available
        )
        self.status = Status.NO_DATA
        self.tray: QSystemTrayIcon | None = None
        self._last_deployment: str | None = None
        if available:
            self.tray = QSystemTrayIcon(status_icon(self.status), self)
            self.tray.setToolTip("SRE Console")
            self.tray.messageClicked.connect(self._on_message_clicked)
            self.tray.activated.connect(self._on_tray_activated)
            self.tray.show()

    @property
    def uses_tray(self) -> bool:
        """True when notifications go to the system tray, False when they are toasts."""
        return self.tray is not None

    def set_status(self, status: str) -> None:
        """Colour the tray icon by the worst status across profiles."""
        self.status = Status(status)
        if self.tray is not None:
            self.tray.setIcon(status_icon(self.status))
            self.tray.setToolTip(f"SRE Console: worst status {self.status.value.upper()}")

    def show(self, notification: Notification) -> None:
        """Show one notification (tray message, or a toast in the window)."""
        self._last_deployment = notification.deployment
        prefix = f"[{notification.profile}] " if notification.profile else ""
        if self.tray is not None:
            icon = (
                QSystemTrayIcon.MessageIcon.Critical
                if level_of(notification.severity) is Level.ALERT
                else QSystemTrayIcon.MessageIcon.Warning
            )
            self.tray.showMessage(prefix + notification.title, notification.body, icon, _MESSAGE_MS)
            return
        self._stack.notify(
            Notice(
                title=prefix + notification.title,
                text=notification.body or "Click to open the deployment.",
                level=level_of(notification.severity),
                key=DETAIL_KEY_PREFIX + (notification.deployment or ""),
            )
        )

    def _on_message_clicked(self) -> None:
        if self._last_deployment:
            self.deploymentRequested.emit(self._last_deployment)

    def _on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        window = self._stack.window()
        if reason is QSystemTrayIcon.ActivationReason.Trigger and isinstance(window, QWidget):
            window.showNormal()
            window.raise_()
            window.activateWindow()
