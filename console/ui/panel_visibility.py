"""Tell the refresh engine whether a panel can be seen: shown, not minimised, not scrolled away."""

from typing import Protocol

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

_RECHECK_ON = frozenset(
    {
        QEvent.Type.Show,
        QEvent.Type.Hide,
        QEvent.Type.Move,
        QEvent.Type.Resize,
        QEvent.Type.WindowStateChange,
        QEvent.Type.ParentChange,
    }
)


class VisibilitySink(Protocol):
    """What the watcher reports to (the RefreshEngine)."""

    def set_visible(self, panel_id: str, visible: bool) -> None:
        """Record whether the panel can be seen."""
        ...


class VisibilityWatcher(QObject):
    """Watches a widget and its ancestors; reports each change of visibility once.

    Events only schedule one check on the next event-loop turn (a zero-time single-shot
    timer), so a scroll that moves the content many times costs one check. The watcher is
    a child of the widget and ends with it.
    """

    def __init__(self, widget: QWidget, sink: VisibilitySink, panel_id: str) -> None:
        super().__init__(widget)
        self._widget = widget
        self._sink = sink
        self._panel_id = panel_id
        self._watched: list[QWidget] = []
        self._visible: bool | None = None
        self._check = QTimer(self)
        self._check.setSingleShot(True)
        self._check.setInterval(0)
        self._check.timeout.connect(self._report)
        self._watch_chain()
        self._report()

    def is_visible(self) -> bool:
        """Whether the widget is shown, its window is not minimised and part of it is on screen."""
        widget = self._widget
        return (
            widget.isVisible()
            and not widget.window().isMinimized()
            and not widget.visibleRegion().isEmpty()
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Schedule a check after any event that can change what is visible."""
        kind = event.type()
        if kind in _RECHECK_ON:
            if kind == QEvent.Type.ParentChange:
                self._watch_chain()
            self._check.start()
        return False

    def _watch_chain(self) -> None:
        """Filter the widget and every ancestor up to its window (which may have changed)."""
        for old in self._watched:
            if shiboken6.isValid(old):
                old.removeEventFilter(self)
        chain: list[QWidget] = []
        widget: QWidget | None = self._widget
        while widget is not None:
            chain.append(widget)
            widget.installEventFilter(self)
            widget = None if widget.isWindow() else widget.parentWidget()
        self._watched = chain

    def _report(self) -> None:
        visible = self.is_visible()
        if visible != self._visible:
            self._visible = visible
            self._sink.set_visible(self._panel_id, visible)


def watch_visibility(widget: QWidget, engine: VisibilitySink, panel_id: str) -> VisibilityWatcher:
    """Report ``widget``'s visibility to ``engine.set_visible(panel_id, …)`` until it is destroyed.

    Hidden, in a minimised window, or scrolled entirely out of view counts as not visible.
    """
    return VisibilityWatcher(widget, engine, panel_id)
