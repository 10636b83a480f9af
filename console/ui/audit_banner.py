"""The red bar shown while the audit log's hash chain is broken."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from console.domain.audit import ChainReport


class AuditChainBanner(QFrame):
    """Names the first bad entry of a broken audit chain; hidden while the chain is intact.

    It cannot be dismissed: it goes only when a verification finds the chain intact.
    """

    openRequested = Signal()
    verifyRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBar")  # the error bar's red
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.label.font()
        font.setBold(True)
        self.label.setFont(font)
        show = QPushButton("Open Audit")
        show.clicked.connect(self.openRequested)
        verify = QPushButton("Verify again")
        verify.clicked.connect(self.verifyRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(show, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(verify, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_report(self, report: ChainReport) -> None:
        """Show a broken chain's first bad entry; hide when the chain is intact."""
        if report.intact:
            self.label.clear()
            self.hide()
            return
        self.label.setText(f"Tamper alarm: {report}. Keep the audit file for investigation.")
        self.show()
