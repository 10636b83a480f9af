"""The bars above the cards: the DEMO banner and the error bar."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

DEMO_TEXT = (
    "DEMO environment — simulated data, not a real fleet. "
    "Add a Prometheus profile to connect to yours."
)


class DemoBanner(QFrame):
    """Amber bar shown whenever the demo profile is on screen."""

    addProfileRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoBanner")
        self.label = QLabel(DEMO_TEXT)
        self.label.setWordWrap(True)
        button = QPushButton("Add profile…")
        button.clicked.connect(self.addProfileRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(button)


class ErrorBar(QFrame):
    """Red bar listing errors that need the user's attention until dismissed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBar")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self._messages: list[str] = []
        self.hide()

    def add(self, message: str) -> None:
        """Show ``message`` (once, even if reported again)."""
        if message not in self._messages:
            self._messages.append(message)
        self.label.setText("\n".join(self._messages))
        self.show()

    def clear(self) -> None:
        """Hide the bar and forget its messages."""
        self._messages = []
        self.label.clear()
        self.hide()
