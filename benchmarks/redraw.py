"""Redraw time of a 1,000,000-point series in a TimeChart, with and without downsampling.

One redraw is `TimeChart.set_lines` with new values followed by a synchronous repaint of the
plot's viewport (the paint is counted, so an update that was never painted cannot pass as a
fast redraw). The baseline in the same run is the same chart with peak downsampling and
clip-to-view switched off. Target: median <= 10 ms with them (about 70 ms without).
Run: `python -m benchmarks.redraw` (offscreen unless QT_QPA_PLATFORM says otherwise).
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import statistics
import time

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from benchmarks._measure import percentile, progress, report
from console.ui.charts.time_chart import TimeChart

POINTS = 1_000_000
REDRAWS = 30
WARMUP = 3
TARGET_MS = 10.0


class PaintCounter(QObject):
    """Counts the paint events a widget receives."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def redraw_times_ms(
    chart: TimeChart, times: np.ndarray, variants: list[np.ndarray]
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of each measured redraw (after a few unmeasured ones).

    The CPU time of this thread (which also paints, offscreen) shows the work itself when
    other processes compete for the cores.
    """
    viewport = chart.plot_widget.viewport()
    counter = PaintCounter()
    viewport.installEventFilter(counter)
    wall: list[float] = []
    cpu: list[float] = []
    for index in range(WARMUP + REDRAWS):
        values = variants[index % len(variants)]
        painted = counter.paints
        started, started_cpu = time.perf_counter(), time.thread_time()
        chart.set_lines({"v1": (times, values)})
        viewport.repaint()
        elapsed, elapsed_cpu = time.perf_counter() - started, time.thread_time() - started_cpu
        if counter.paints != painted + 1:
            raise RuntimeError(f"redraw {index} painted {counter.paints - painted} times, not once")
        if index >= WARMUP:
            wall.append(elapsed * 1000)
            cpu.append(elapsed_cpu * 1000)
    viewport.removeEventFilter(counter)
    return wall, cpu


def main() -> None:
    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(7)
    times = 1_700_000_000.0 + np.arange(POINTS, dtype=float)
    walk = np.cumsum(rng.normal(0.0, 1.0, POINTS))
    variants = [walk + offset for offset in (0.0, 0.5, 1.0)]  # every redraw gets new values
    chart = TimeChart("redraw benchmark", "req/s")
    chart.resize(1200, 400)
    chart.show()
    app.processEvents()  # a benchmark script, not the app: let the window get mapped

    progress(f"{POINTS:,} points, {REDRAWS} redraws with peak downsampling and clip-to-view")
    with_ds, with_ds_cpu = redraw_times_ms(chart, times, variants)
    progress(
        f"median {statistics.median(with_ds):.2f} ms ({statistics.median(with_ds_cpu):.2f} ms CPU)"
    )

    chart.plot_item.setDownsampling(auto=False, ds=1)
    chart.plot_item.setClipToView(False)
    progress(f"{REDRAWS} redraws without downsampling (baseline)")
    without, without_cpu = redraw_times_ms(chart, times, variants)
    progress(
        f"median {statistics.median(without):.2f} ms ({statistics.median(without_cpu):.2f} ms CPU)"
    )
    chart.close()

    median = statistics.median(with_ds)
    baseline = statistics.median(without)
    report(
        {
            "points": POINTS,
            "redraws": REDRAWS,
            "redraw_ms_median": round(median, 2),
            "redraw_ms_p90": percentile(with_ds, 90),
            "redraw_ms_median_no_downsampling": round(baseline, 2),
            "redraw_ms_p90_no_downsampling": percentile(without, 90),
            "redraw_cpu_ms_median": round(statistics.median(with_ds_cpu), 2),
            "redraw_cpu_ms_median_no_downsampling": round(statistics.median(without_cpu), 2),
            "speedup_ratio": round(baseline / median, 1),
            "target_ms": TARGET_MS,
        }
    )


if __name__ == "__main__":
    main()
