"""The Logs tab of the main window: it follows the active profile.

The profile's :class:`~console.ui.logs_view.LogsView` is built the first time the tab is
shown (pyqtgraph and the log services are not needed for the first painted fleet); a
profile change closes the old one (its tail, queries, backend and queue).
"""

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from console.backends.demo import DemoBackend
from console.viewmodels.profiles import ProfilesViewModel

if TYPE_CHECKING:
    from console.ui.logs_view import LogsView


class LogsTab(QStackedWidget):
    """The Logs tab of the main window: a message, or the active profile's LogsView."""

    def __init__(self, profiles: ProfilesViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._profiles = profiles
        self.view: LogsView | None = None
        self.message = QLabel("Logs open with the profile.")
        self.message.setObjectName("fleetMessage")
        self.message.setWordWrap(True)
        self.addWidget(self.message)
        profiles.fleetChanged.connect(self._on_profile_changed)
        app = QCoreApplication.instance()
        if app is not None:  # the tail and the log backend stop with the app
            app.aboutToQuit.connect(self.close_logs)

    def close_logs(self) -> None:
        """Stop the tail and close the shown profile's log services."""
        if self.view is not None:
            self.view.close_logs()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.build()

    def build(self) -> "LogsView | None":
        """The active profile's logs (built once per opened profile); None until it is open."""
        profiles = self._profiles
        profile = profiles.active
        backend = profiles.metrics_backend
        if self.view is not None or profile is None or backend is None:
            return self.view
        from console.ui.logs_view import LogsView
        from console.viewmodels.logs import LogsViewModel, logs_opener
        from console.viewmodels.review import ReviewViewModel

        serving = backend.serving if isinstance(backend, DemoBackend) else None
        opener = logs_opener(
            profile, profiles.secrets, demo_serving=serving, audit=profiles.audit.log_future
        )
        logs = LogsViewModel(profiles.runner, profile, opener, parent=self)
        review = ReviewViewModel(profiles.runner, profile, logs.services_future, parent=self)
        self.view = LogsView(logs, review)
        logs.setParent(self.view)
        review.setParent(self.view)
        self.addWidget(self.view)
        self.setCurrentWidget(self.view)
        return self.view

    def _on_profile_changed(self) -> None:
        view = self.view
        if view is not None and view.logs.profile is self._profiles.active:
            return
        if view is not None:
            view.close_logs()
            self.removeWidget(view)
            view.deleteLater()
            self.view = None
        profiles = self._profiles
        if profiles.is_opening:
            self.message.setText("Opening the profile…")
        else:
            self.message.setText(profiles.open_error or "No profile is open.")
        self.setCurrentWidget(self.message)
        if self.isVisible():
            self.build()
