"""Tell the refresh engine whether a panel can be seen: shown, not minimised, not scrolled away."""

import weakref
from typing import Protocol

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
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


_FILTER_NAME = "visibilityFilter"


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
        self._watched: list[_SharedFilter] = []
        self._visible: bool | None = None
        self._check = QTimer(self)
        self._check.setSingleShot(True)
        self._check.setInterval(0)
        self._check.timeout.connect(self._report)
        self.watch_chain()
        self._report()

    def is_visible(self) -> bool:
        """Whether the widget is shown, its window is not minimised and part of it is on screen."""
        widget = self._widget
        return (
            widget.isVisible()
            and not widget.window().isMinimized()
            and not widget.visibleRegion().isEmpty()
        )

    def schedule(self) -> None:
        """Check on the next event-loop turn."""
        self._check.start()

    def watch_chain(self) -> None:
        """Watch the widget and every ancestor up to its window (which may have changed)."""
        for old in self._watched:
            if shiboken6.isValid(old):
                old.watchers.discard(self)
        chain: list[_SharedFilter] = []
        widget: QWidget | None = self._widget
        while widget is not None:
            shared = _SharedFilter.of(widget)
            shared.watchers.add(self)
            chain.append(shared)
            widget = None if widget.isWindow() else widget.parentWidget()
        self._watched = chain

    def _report(self) -> None:
        visible = self.is_visible()
        if visible != self._visible:
            self._visible = visible
            self._sink.set_visible(self._panel_id, visible)


class _SharedFilter(QObject):
    """One event filter per watched widget, whatever the number of panels below it.

    A dashboard's 50 panels share their window and scroll area: 50 Python filters on the
    window would each see its every event (a few hundred a second while charts repaint).
    """

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.setObjectName(_FILTER_NAME)
        self.watchers: weakref.WeakSet[VisibilityWatcher] = weakref.WeakSet()
        widget.installEventFilter(self)

    @classmethod
    def of(cls, widget: QWidget) -> "_SharedFilter":
        """The widget's filter, made on first use."""
        found = widget.findChild(cls, _FILTER_NAME, Qt.FindChildOption.FindDirectChildrenOnly)
        return found if found is not None else cls(widget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Schedule its watchers' checks after any event that can change what is visible."""
        kind = event.type()
        if kind in _RECHECK_ON:
            for watcher in list(self.watchers):
                if shiboken6.isValid(watcher):
                    if kind == QEvent.Type.ParentChange:
                        watcher.watch_chain()
                    watcher.schedule()
        return False


def watch_visibility(widget: QWidget, engine: VisibilitySink, panel_id: str) -> VisibilityWatcher:
    """Report ``widget``'s visibility to ``engine.set_visible(panel_id, …)`` until it is destroyed.

    Hidden, in a minimised window, or scrolled entirely out of view counts as not visible.
    """
    return VisibilityWatcher(widget, engine, panel_id)
