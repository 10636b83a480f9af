"""When the cyclic garbage collector may run while suites are read and run. No Qt.

A collection holds the GIL while it walks its generations, so whichever thread triggers it,
the GUI thread stalls that long. Two bursts made the Runs tab stall past 50 ms
(benchmarks.suite_stall):

* reading a 1,000-case suite allocates ~100,000 acyclic YAML nodes: collections in the middle
  of it walk them over and over, and the first one after it walks them all (40 ms), unless
  they are gone by then. :func:`no_collection` pauses the collector while they live;
  reference counting frees them all the same.
* a run keeps tens of thousands of records alive; once they outnumber a quarter of the old
  generation, a full collection walks the whole heap (100 ms with Qt's wrappers, 30 ms after
  console/app.py's ``gc.freeze()``). :func:`no_full_collection` keeps the young collections
  (a few ms each) and leaves the full one to the first chance after the run.

Both hold across threads and nest: the collector is back as it was when the last holder ends.
"""

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_NEVER = 2**31 - 1
"""A threshold no count of young collections reaches."""


class _Holds:
    """Who keeps the collector paused or full collections off; restores it after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paused = 0
        self._was_enabled = False
        self._deferring = 0
        self._full_threshold = 0

    def pause(self) -> None:
        with self._lock:
            if self._paused == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._paused += 1

    def resume(self) -> None:
        with self._lock:
            self._paused -= 1
            if self._paused == 0 and self._was_enabled:
                gc.enable()

    def defer_full(self) -> None:
        with self._lock:
            young, middle, old = gc.get_threshold()
            if self._deferring == 0:
                self._full_threshold = old
                gc.set_threshold(young, middle, _NEVER)
            self._deferring += 1

    def allow_full(self) -> None:
        with self._lock:
            self._deferring -= 1
            if self._deferring == 0:
                young, middle, _ = gc.get_threshold()
                gc.set_threshold(young, middle, self._full_threshold)


_holds = _Holds()


@contextmanager
def no_collection() -> Iterator[None]:
    """No cyclic collection at all inside: for a burst of short-lived acyclic objects."""
    _holds.pause()
    try:
        yield
    finally:
        _holds.resume()


@contextmanager
def no_full_collection() -> Iterator[None]:
    """Young collections only inside: for a run that keeps what it allocates."""
    _holds.defer_full()
    try:
        yield
    finally:
        _holds.allow_full()


def defer_full_collections() -> Callable[[], None]:
    """Young collections only until the returned call (which does nothing a second time)."""
    _holds.defer_full()
    first = threading.Lock()  # taken by the first call, never released

    def allow() -> None:
        if first.acquire(blocking=False):
            _holds.allow_full()

    return allow
