"""50 live panels over a real Prometheus: the console's CPU at a 5 s and a 15 s refresh, and RSS.

A window of 50 PanelFrame(ChartTile) panels (as a dashboard draws them), each a different
(deployment, signal) pair
over the last hour, one line per model version, refreshed by one RefreshEngine through
PrometheusBackend. Prometheus and the exporter run in a child process, so the CPU measured
here (time.process_time deltas every 10 s, all threads of this process) is the console's.
Targets: median CPU <= 3 % of one core at 5 s, <= 1 % at 15 s; RSS <= 250 MB.
Run: `python -m benchmarks.panels [--minutes 5]` (QT_QPA_PLATFORM=offscreen by default).
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from benchmarks._live_panels import (
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

SAMPLE_S = 10.0
INTERVALS_S = (5.0, 15.0)


def cpu_percent_samples(minutes: float, warmup_s: float) -> list[float]:
    """CPU of this process in % of one core, one figure per SAMPLE_S, after ``warmup_s``."""
    samples: list[float] = []
    wanted = max(1, round(minutes * 60 / SAMPLE_S))
    loop = QEventLoop()
    last = (time.process_time(), time.monotonic())

    def sample() -> None:
        nonlocal last
        now = (time.process_time(), time.monotonic())
        samples.append(100 * (now[0] - last[0]) / (now[1] - last[1]))
        last = now
        if len(samples) % 6 == 0 or len(samples) == wanted:
            progress(f"  {len(samples)}/{wanted} samples, last {samples[-1]:.2f} %")
        if len(samples) == wanted:
            loop.quit()

    def start_sampling() -> None:
        nonlocal last
        last = (time.process_time(), time.monotonic())
        ticker.start()

    ticker = QTimer()
    ticker.setInterval(round(SAMPLE_S * 1000))
    ticker.timeout.connect(sample)
    QTimer.singleShot(round(warmup_s * 1000), start_sampling)
    loop.exec()
    ticker.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="per interval (default 5)")
    args = parser.parse_args()
    app = QApplication([])
    figures: dict[str, object] = {"panels": 50, "minutes_per_interval": args.minutes}
    with tempfile.TemporaryDirectory(prefix="sre-bench-") as scratch:
        progress("starting an exporter of 10 deployments and a real Prometheus (1 h backfilled)")
        with live_prometheus(Path(scratch)) as url:
            profile = bench_profile(url)
            runner = AsyncRunner()
            backend = open_backend(profile, SecretStore.session_only())
            engine = RefreshEngine(runner, interval_s=INTERVALS_S[0])
            dashboard = LiveDashboard(engine, backend, window_s=profile.rate_window_s)
            started = time.monotonic()
            dashboard.start()
            live = wait_until_loaded(engine, dashboard.charts)
            figures["first_load_s"] = round(time.monotonic() - started, 2)
            progress(f"{live} of 50 panels live after {figures['first_load_s']} s")
            for interval in INTERVALS_S:
                engine.set_interval(interval)
                progress(f"refresh every {interval:g} s: sampling CPU for {args.minutes:g} min")
                samples = cpu_percent_samples(args.minutes, warmup_s=2 * interval)
                figures[f"cpu_percent_median_{interval:g}s"] = round(statistics.median(samples), 2)
                figures[f"cpu_percent_max_{interval:g}s"] = round(max(samples), 2)
            figures["rss_mb"] = round(rss_mb(), 1)
            dashboard.close()
            runner.submit(backend.aclose()).result(5)
            runner.stop()
    app.quit()
    figures.update(target_cpu_percent_5s=3.0, target_cpu_percent_15s=1.0, target_rss_mb=250)
    report(figures)


if __name__ == "__main__":
    main()
