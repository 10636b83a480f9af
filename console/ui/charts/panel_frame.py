"""A panel with a header (title, export, detach, pin) that can move into its own window."""

import re
import time
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Protocol, runtime_checkable

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from console.ui.file_dialogs import ask_save_path

PathChooser = Callable[[str, str, str], Path | None]
"""(dialog caption, suggested file name, file-type filter) -> the chosen path, or None."""
ErrorReporter = Callable[[str, str], None]
"""(title, message) -> None."""

PLACEHOLDER_TEXT = "Shown in its own window"


@runtime_checkable
class ChartContent(Protocol):
    """A chart a frame can export and whose header row takes the frame's menu button
    (TimeChart, ChartTile)."""

    def add_header_widget(self, widget: QWidget) -> None: ...

    def export_png(self, path: str | PathLike[str]) -> None: ...

    def export_csv(self, path: str | PathLike[str]) -> None: ...


class DetachedWindow(QWidget):
    """The top-level window of a detached panel; closing it gives the content back."""

    closed = Signal()

    def __init__(self, title: str, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(title)
        self.setObjectName("detachedPanel")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(6, 6, 6, 6)

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()


class PanelFrame(QFrame):
    """Shows ``content`` under a header; ``detach()`` moves it into its own window.

    ``choose_path`` and ``report_error`` stand in for the file dialog and the error box, so
    that tests (and other callers) can replace them.
    """

    pinRequested = Signal()
    detachedChanged = Signal(bool)

    def __init__(self, title: str, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panelFrame")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = title
        self.content = content
        self.choose_path: PathChooser = self._ask_for_path
        self.report_error: ErrorReporter = self._show_error
        self._window: DetachedWindow | None = None
        self._geometry: QByteArray | None = None

        self.title_label = QLabel(title)
        self.title_label.setObjectName("panelTitle")
        self.menu = QMenu(self)
        self.export_png_action = self._action("Export PNG…", self._export_png)
        self.export_csv_action = self._action("Export CSV…", self._export_csv)
        for action in (self.export_png_action, self.export_csv_action):
            action.setVisible(isinstance(content, ChartContent))
        self.menu.addSeparator()
        self.detach_action = self._action("Detach", self.toggle_detached)
        self.pin_action = self._action("Pin to dashboard", self.pinRequested.emit)
        self.pin_action.setVisible(False)
        self.menu_button = QToolButton()
        self.menu_button.setObjectName("panelMenu")
        self.menu_button.setText("⋯")
        self.menu_button.setToolTip("Panel actions")
        self.menu_button.setAccessibleName(f"{title} actions")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setMenu(self.menu)

        self.placeholder = QWidget()
        self.placeholder.setObjectName("detachedPlaceholder")
        self.bring_back = QPushButton("Bring back")
        self.bring_back.clicked.connect(self.attach)
        placeholder_layout = QVBoxLayout(self.placeholder)
        placeholder_layout.addStretch(1)
        name = QLabel(title)
        name.setObjectName("panelTitle")
        name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder_layout.addWidget(name)
        note = QLabel(PLACEHOLDER_TEXT)
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder_layout.addWidget(note)
        placeholder_layout.addWidget(self.bring_back, 0, Qt.AlignmentFlag.AlignCenter)
        placeholder_layout.addStretch(1)
        self.placeholder.hide()

        self.header = QWidget()
        header = QHBoxLayout(self.header)
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.menu_button)
        if isinstance(content, ChartContent):
            # The chart shows the title itself (it belongs in the exported image): the menu
            # joins its header row and travels with it into its own window.
            content.add_header_widget(self.menu_button)
            self.header.hide()
        self._body = QVBoxLayout()
        self._body.setContentsMargins(0, 0, 0, 0)
        self._body.addWidget(content, 1)
        self._body.addWidget(self.placeholder, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addLayout(self._body, 1)

    @property
    def is_detached(self) -> bool:
        """Whether the content is in its own window."""
        return self._window is not None

    def window_of_content(self) -> QWidget:
        """The window the content is shown in (its own window while detached)."""
        return self.content.window()

    def detached_window(self) -> DetachedWindow | None:
        """The content's own window while detached."""
        return self._window

    def set_pinnable(self, pinnable: bool) -> None:
        """Offer "Pin to dashboard" (which emits ``pinRequested``)."""
        self.pin_action.setVisible(pinnable)

    def toggle_detached(self) -> None:
        """Detach when attached, attach when detached."""
        if self.is_detached:
            self.attach()
        else:
            self.detach()

    def detach(self) -> None:
        """Move the content into its own top-level window (closed with this frame)."""
        if self._window is not None:
            return
        window = DetachedWindow(self.title, self)
        size = self.content.size()
        window.body.addWidget(self.content)
        if self._geometry is None or not window.restoreGeometry(self._geometry):
            window.resize(size.expandedTo(window.minimumSizeHint()))
        window.closed.connect(self.attach)
        self._window = window
        self.placeholder.show()
        self.detach_action.setText("Attach")
        self.content.show()
        window.show()
        self.detachedChanged.emit(True)

    def attach(self) -> None:
        """Put the content back into this frame and close its window."""
        window = self._window
        if window is None:
            return
        self._window = None
        self._geometry = window.saveGeometry()
        window.closed.disconnect(self.attach)
        self._body.insertWidget(0, self.content, 1)
        self.content.show()
        self.placeholder.hide()
        self.detach_action.setText("Detach")
        window.close()
        window.deleteLater()
        self.detachedChanged.emit(False)

    def _action(self, text: str, slot: Callable[[], object]) -> QAction:
        action = self.menu.addAction(text)
        action.triggered.connect(slot)
        return action

    def _export_png(self) -> None:
        assert isinstance(self.content, ChartContent)
        self._export("Export PNG", "PNG image (*.png)", ".png", self.content.export_png)

    def _export_csv(self) -> None:
        assert isinstance(self.content, ChartContent)
        self._export("Export CSV", "CSV file (*.csv)", ".csv", self.content.export_csv)

    def _export(
        self, caption: str, file_filter: str, suffix: str, write: Callable[[Path], None]
    ) -> None:
        path = self.choose_path(caption, _suggested_name(self.title, suffix), file_filter)
        if path is None:
            return
        if not path.suffix:
            path = path.with_suffix(suffix)
        try:
            write(path)
        except OSError as error:
            self.report_error(f"{caption} failed", str(error))

    def _ask_for_path(self, caption: str, suggested: str, file_filter: str) -> Path | None:
        return ask_save_path(self, caption, str(Path.home() / suggested), file_filter)

    def _show_error(self, title: str, message: str) -> None:
        QMessageBox.warning(self, title, message)


def _suggested_name(title: str, suffix: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower() or "chart"
    return f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"
