"""1,000 refresh cycles of 50 live panels as fast as they go: memory and refcount steadiness.

The same window as benchmarks.panels (50 PanelFrame(ChartTile) panels over a real
Prometheus in a child process). Each cycle is refresh_now() and waiting until all 50
panels have delivered new data. Every cycle is real work: the ranges end "now" and the
plot width alternates by a few pixels, so each cycle asks Prometheus for a new grid and
every chart redraws. RSS and sys.getrefcount(None) are read (after a gc.collect()) at
cycle 100 and at the last cycle. Target: RSS grows by at most 5 MB from cycle 100 to 1,000.
Run: `python -m benchmarks.soak [--cycles 1000]` (QT_QPA_PLATFORM=offscreen by default).
"""

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from benchmarks._live_panels import (
    PLOT_WIDTH_PX,
    LiveDashboard,
    bench_profile,
    live_prometheus,
    rss_mb,
    wait_until_loaded,
)
from benchmarks._measure import progress, report
from console.config.secrets import SecretStore
from console.qtbridge.runner import AsyncRunner
from console.services.connect import open_backend
from console.viewmodels.refresh import RefreshEngine

BASELINE_CYCLE = 100
STALL_S = 60.0
WIDTH_STEP_PX = 24
"""180 px and 204 px plan 20 s and 18 s steps over an hour: each cycle gets a new grid."""


class Soak:
    """Runs refresh cycles back to back; reads memory at the baseline and the last cycle."""

    def __init__(self, engine: RefreshEngine, cycles: int, baseline: int) -> None:
        self._engine = engine
        self._panels: set[str] = set()
        self._cycles = cycles
        self._baseline = baseline
        self.cycle = 0
        self._round = 0
        self.readings: dict[int, tuple[float, int]] = {}
        self.started = self.finished = 0.0
        self._pending: set[str] = set()
        self._loop = QEventLoop()
        self._watchdog = QTimer()
        self._watchdog.setSingleShot(True)
        self._watchdog.setInterval(round(STALL_S * 1000))
        self._watchdog.timeout.connect(self._loop.quit)

    def width_px(self) -> int:
        """The plot width the fetches of this cycle plan for (the warm-up counts as cycle 0)."""
        return PLOT_WIDTH_PX + WIDTH_STEP_PX * (self._round % 2)

    def run(self, panels: set[str]) -> None:
        """Run every cycle; RuntimeError if one stalls."""
        self._panels = panels
        self._engine.panelChanged.connect(self._delivered)
        self.started = time.monotonic()
        self._next_cycle()
        self._loop.exec()
        self._engine.panelChanged.disconnect(self._delivered)
        if self.cycle < self._cycles:
            raise RuntimeError(
                f"cycle {self.cycle + 1} stalled for {STALL_S} s; waiting for "
                f"{sorted(self._pending)[:5]}: {self._engine.state(min(self._pending))}"
            )

    def _next_cycle(self) -> None:
        self._round += 1
        self._pending = set(self._panels)
        self._watchdog.start()
        self._engine.refresh_now()

    def _delivered(self, panel_id: str) -> None:
        self._pending.discard(panel_id)
        if self._pending:
            return
        self.cycle += 1
        if self.cycle in (self._baseline, self._cycles):
            gc.collect()
            self.readings[self.cycle] = (rss_mb(), sys.getrefcount(None))
        if self.cycle % 50 == 0 or self.cycle == self._cycles:
            rate = self.cycle / (time.monotonic() - self.started)
            progress(
                f"  cycle {self.cycle}/{self._cycles}: {rate:.2f} cycles/s, "
                f"RSS {rss_mb():.1f} MB, refcount(None) {sys.getrefcount(None)}"
            )
        if self.cycle == self._cycles:
            self.finished = time.monotonic()
            self._watchdog.stop()
            self._loop.quit()
        else:
            # Not from inside the engine's delivery: the next cycle starts on the next turn.
            QTimer.singleShot(0, self._next_cycle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000, help="refresh cycles (default 1000)")
    args = parser.parse_args()
    if args.cycles < 2:
        parser.error("--cycles must be at least 2")
    baseline = min(BASELINE_CYCLE, args.cycles // 2)
    app = QApplication([])
    with tempfile.TemporaryDirectory(prefix="sre-bench-") as scratch:
        progress("starting an exporter of 10 deployments and a real Prometheus (1 h backfilled)")
        with live_prometheus(Path(scratch)) as url:
            profile = bench_profile(url)
            runner = AsyncRunner()
            backend = open_backend(profile, SecretStore.session_only())
            engine = RefreshEngine(runner, interval_s=3600.0)  # only refresh_now() refreshes
            soak = Soak(engine, args.cycles, baseline)
            dashboard = LiveDashboard(
                engine, backend, window_s=profile.rate_window_s, width_px=soak.width_px
            )
            dashboard.start()
            live = wait_until_loaded(engine, dashboard.charts)
            progress(f"{live} of 50 panels live; running {args.cycles} refresh cycles")
            soak.run(set(dashboard.charts))
            dashboard.close()
            runner.submit(backend.aclose()).result(5)
            runner.stop()
    app.quit()
    rss_base, none_base = soak.readings[baseline]
    rss_end, none_end = soak.readings[args.cycles]
    report(
        {
            "panels": 50,
            "cycles": args.cycles,
            "cycles_per_s": round(args.cycles / (soak.finished - soak.started), 2),
            f"rss_mb_{baseline}": round(rss_base, 1),
            f"rss_mb_{args.cycles}": round(rss_end, 1),
            f"rss_growth_mb_{baseline}_to_{args.cycles}": round(rss_end - rss_base, 2),
            "none_refcount_delta": none_end - none_base,
            "target_rss_growth_mb": 5.0,
        }
    )


if __name__ == "__main__":
    main()
