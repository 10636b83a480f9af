"""Qt glue: deliver a finished I/O-loop future to the GUI thread through a queued signal."""

import concurrent.futures
import contextlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

FutureCallback = Callable[["concurrent.futures.Future[Any]"], None]


class FutureRelay(QObject):
    """Runs a callback on this object's thread (the GUI thread) once a future is done.

    The future's done-callback fires on the ``io-loop`` thread (or on the thread that
    cancelled it); it only emits a signal, and the queued connection makes the callback
    run later from the GUI event loop. Deleting the relay drops pending deliveries.
    """

    _finished = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def deliver(self, future: "concurrent.futures.Future[Any]", callback: FutureCallback) -> None:
        """Call ``callback(future)`` on the GUI thread when ``future`` is done."""
        future.add_done_callback(lambda done: self._emit(callback, done))

    def _emit(self, callback: FutureCallback, future: "concurrent.futures.Future[Any]") -> None:
        with contextlib.suppress(RuntimeError):  # the relay is gone: nobody is waiting
            self._finished.emit(callback, future)

    @Slot(object, object)
    def _deliver(self, callback: FutureCallback, future: "concurrent.futures.Future[Any]") -> None:
        callback(future)
