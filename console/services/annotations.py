"""The annotation API: later features (rollback, synthetic runs, alerts) add marks here.

One store per profile. Marks added here show on every chart of the deployment they name
(or of every deployment when they name none), next to the version changes the detail
service derives from the version info metric.
"""

import bisect
import threading
from collections.abc import Callable

from console.domain.annotations import Annotation

Listener = Callable[[Annotation], None]


class AnnotationStore:
    """Marks kept in time order; safe to use from the GUI thread and the I/O loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marks: list[Annotation] = []
        self._listeners: list[Listener] = []

    def add(self, annotation: Annotation) -> None:
        """Keep ``annotation`` and tell every listener (on the caller's thread)."""
        with self._lock:
            bisect.insort_right(self._marks, annotation, key=lambda a: a.at)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(annotation)

    def between(self, deployment: str, start: float, end: float) -> list[Annotation]:
        """The marks for ``deployment`` with start <= at <= end, oldest first."""
        with self._lock:
            low = bisect.bisect_left(self._marks, start, key=lambda a: a.at)
            high = bisect.bisect_right(self._marks, end, key=lambda a: a.at)
            return [a for a in self._marks[low:high] if a.applies_to(deployment)]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for every mark added from now on; returns the unsubscribe call."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
