"""A text box centred over a chart: "Loading…", "No data in this range", errors."""

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

_MAX_WIDTH = 420
_PADDING = 10


class StatusOverlay(QWidget):
    """Word-wrapped, selectable text on a rounded box in the window colour."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("chartStatus")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(_PADDING, _PADDING, _PADDING, _PADDING)
        layout.addWidget(self.label)
        self.hide()

    def text(self) -> str:
        """The text shown (also while hidden)."""
        return self.label.text()

    def show_text(self, text: str | None, area: QRect) -> None:
        """Show ``text`` centred in ``area`` (parent coordinates); None hides the box."""
        if text is None:
            self.hide()
            return
        self.label.setText(text)
        self.place(area)
        self.show()
        self.raise_()

    def place(self, area: QRect) -> None:
        """Centre the box in ``area``, as wide as the text needs up to a limit."""
        natural = self.label.fontMetrics().horizontalAdvance(self.label.text()) + 2 * _PADDING + 4
        width = max(60, min(natural, _MAX_WIDTH, area.width() - 2 * _PADDING))
        inner = width - 2 * _PADDING
        height = self.label.heightForWidth(inner) + 2 * _PADDING
        box = QRect(0, 0, width, min(height, max(area.height(), 40)))
        box.moveCenter(area.center())
        self.setGeometry(box)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(self.palette().color(QPalette.ColorRole.Window))
        fill.setAlphaF(0.92)
        border = QColor(self.palette().color(QPalette.ColorRole.WindowText))
        border.setAlphaF(0.35)
        painter.setPen(border)
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
