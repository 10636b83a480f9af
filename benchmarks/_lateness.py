"""GUI event-loop lateness: a precise Qt timer that records how late each tick fires."""

import time

from PySide6.QtCore import Qt, QTimer

from benchmarks._measure import percentile, progress


class LatenessProbe:
    """A timer of ``interval_ms`` that records, in ms, how much later than due each tick fires."""

    def __init__(self, interval_ms: int) -> None:
        self.samples: list[float] = []
        self._interval_ms = interval_ms
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._timer.start(interval_ms)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.samples.append(max(0.0, (now - self._last) * 1000 - self._interval_ms))
        self._last = now

    def take(self) -> list[float]:
        """The samples since the last take (the window starts anew)."""
        samples, self.samples = self.samples, []
        self._last = time.perf_counter()
        return samples


def figures(name: str, samples: list[float]) -> dict[str, float]:
    """The p99 and max lateness (ms) and tick count of one phase, printed as progress."""
    result = {
        f"{name}_p99_ms": percentile(samples, 99),
        f"{name}_max_ms": round(max(samples), 2),
        f"{name}_ticks": len(samples),
    }
    progress(f"{name}: p99 {result[f'{name}_p99_ms']} ms, max {result[f'{name}_max_ms']} ms")
    return result
