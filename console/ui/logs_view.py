"""The Logs tab's content: the log explorer and the review queue of one profile."""

from PySide6.QtWidgets import QTabWidget, QWidget

from console.ui.log_explorer import LogExplorer
from console.ui.review_view import ReviewView
from console.viewmodels.logs import LogsViewModel
from console.viewmodels.review import ReviewViewModel

EXPLORER_TAB, REVIEW_TAB = range(2)


class LogsView(QTabWidget):
    """Explorer and Review sections over one profile's log services."""

    def __init__(
        self, logs: LogsViewModel, review: ReviewViewModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("logsView")
        self.setDocumentMode(True)
        self.logs = logs
        self.review = review
        self.explorer = LogExplorer(logs)
        self.review_view = ReviewView(review)
        self.addTab(self.explorer, "Explorer")
        self.addTab(self.review_view, "Review")
        logs.queueChanged.connect(review.refresh)
        logs.opened.connect(self._on_opened)
        review.pendingChanged.connect(self._show_pending)
        self.currentChanged.connect(self._on_section)

    def close_logs(self) -> None:
        """Stop the tail and close the profile's log services."""
        self.logs.close()

    def _on_opened(self) -> None:
        if self.logs.unavailable_reason is None:
            self.review.refresh()

    def _on_section(self, index: int) -> None:
        if index == REVIEW_TAB:
            self.review.refresh()

    def _show_pending(self, pending: int) -> None:
        self.setTabText(REVIEW_TAB, f"Review ({pending})" if pending else "Review")
