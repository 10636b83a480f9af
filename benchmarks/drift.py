"""A 7-day drift chart at 1-hour steps, from request to painted chart, against a real Prometheus.

Starts a loopback exporter whose output-length histogram changes distribution at a known
time, and a real Prometheus (Debian `prometheus`) scraping it, backfilled with the exporter's
history by promtool. Prometheus only holds what was scraped or backfilled (HISTORY_S, not 7
days), but every query spans the whole 7 days at 1-hour steps, as the chart asks for them.

One run: in a DriftView on screen (offscreen), the clock starts when the histogram is asked
for, which launches the fetch on the I/O loop (drift series plus version history); it stops
once the drift chart has been painted with the data. Runs alternate between the preset name
and the raw metric name, so that each one is a new query for the same data.
The baseline in the same run is the bare histogram query the drift series needs (the same
7-day plan, one HTTP request). Target: median <= 1000 ms.
Run: `python -m benchmarks.drift`.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import math
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from keyring.backends import fail
from PySide6.QtCore import QEventLoop, QTimer, SignalInstance
from PySide6.QtWidgets import QApplication

from benchmarks._measure import progress, report
from console.backends.protocol import MetricsBackend
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.drift import DriftMetric
from console.domain.timerange import RangePlan
from console.qtbridge.runner import AsyncRunner
from console.services.connect import open_backend
from console.services.drift import DriftService, PreviousWindow
from console.ui.drift_view import DriftView
from console.viewmodels.drift import DriftViewModel
from console.viewmodels.refresh import RefreshEngine
from tests.support.exporter import DeploymentSpec, DriftSpec, Exporter
from tests.support.servers import prometheus

RUNS = 7
RANGE_S = 7 * 86_400.0
STEP_S = 3600.0
HISTORY_S = 3 * 3600.0
DEPLOYMENT = "drifting"
HISTOGRAM = "output_tokens"
HISTOGRAMS = (HISTOGRAM, "vllm:request_generation_tokens")
"""The preset name and the metric it stands for: the same data, asked for by turns, so that
each run is a new request (a changed query) while the view stays on screen."""
TARGET_MS = 1000.0
TIMEOUT_MS = 30_000
BOUNDS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)
BEFORE = (0.01, 0.02, 0.04, 0.08, 0.15, 0.2, 0.2, 0.15, 0.08, 0.04, 0.02, 0.005, 0.005)
AFTER = (0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.08, 0.06, 0.03, 0.02, 0.01)


def drifting() -> DeploymentSpec:
    """One vLLM-style deployment whose output lengths spread out half way through its history."""
    return DeploymentSpec(
        name=DEPLOYMENT,
        versions={"v1": 1.0},
        request_rate=20.0,
        error_ratio=0.001,
        p95_latency_s=1.2,
        p95_ttft_s=0.3,
        output_tokens_per_s=300.0,
        drift=DriftSpec(BOUNDS, BEFORE, AFTER, change_after_s=HISTORY_S / 2),
    )


def run_until(signal: SignalInstance | None, wait_ms: int) -> bool:
    """Run the event loop until ``signal`` fires (True) or ``wait_ms`` pass (no processEvents)."""
    loop = QEventLoop()
    fired = [False]
    if signal is not None:
        signal.connect(lambda: fired.__setitem__(0, True))
        signal.connect(loop.quit)
    QTimer.singleShot(wait_ms, loop.quit)
    loop.exec()
    return fired[0]


def request_to_paint_ms(view: DriftView, histogram: str) -> float:
    """One run: milliseconds from asking for ``histogram`` to the chart painted with it."""
    started = time.perf_counter()
    view.model.set_histogram(histogram)
    if not run_until(view.paintedAfterData, TIMEOUT_MS):
        raise RuntimeError(f"no painted drift chart within {TIMEOUT_MS} ms: {view.model.state()}")
    return (time.perf_counter() - started) * 1000


def query_ms(runner: AsyncRunner, backend: MetricsBackend) -> float:
    """The bare histogram query behind the series: the same 7-day plan, extended by a window."""
    end = math.floor(time.time() / STEP_S) * STEP_S
    plan = RangePlan(end - RANGE_S - STEP_S, end, STEP_S)

    async def fetch() -> None:
        await backend.histogram_range(HISTOGRAM, plan, STEP_S, deployment=DEPLOYMENT)

    started = time.perf_counter()
    runner.submit(fetch()).result(timeout=TIMEOUT_MS / 1000)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    _app = QApplication([])  # kept alive for the whole run
    with tempfile.TemporaryDirectory(prefix="sre-bench-drift-") as scratch:
        progress(f"starting a drifting exporter ({HISTORY_S / 3600:g} h of history) and Prometheus")
        with (
            Exporter([drifting()], history_s=HISTORY_S) as exporter,
            prometheus(Path(scratch) / "prometheus", exporter) as server,
        ):
            profile = Profile(name="bench", prometheus_url=server.url, preset="vllm")
            backend = open_backend(profile, SecretStore(fail.Keyring()))
            runner = AsyncRunner()
            engine = RefreshEngine(runner, interval_s=3600.0)
            model = DriftViewModel(
                engine,
                DriftService(backend),
                profile=profile,
                deployment=DEPLOYMENT,
                histogram=HISTOGRAMS[0],
                range_s=RANGE_S,
                window_s=STEP_S,
                points_per_window=1,  # one point per hour, as the figure asks
                baseline=PreviousWindow(),
                metric=DriftMetric.PSI,
            )
            view = DriftView(model)
            view.resize(1200, 900)
            try:
                view.show()
                if not run_until(view.paintedAfterData, TIMEOUT_MS):  # warm-up: imports, pools
                    raise RuntimeError(f"the drift view showed no data: {model.state()}")
                paint: list[float] = []
                queries: list[float] = []
                for run in range(1, RUNS + 1):
                    queries.append(query_ms(runner, backend))
                    elapsed = request_to_paint_ms(view, HISTOGRAMS[run % 2])
                    paint.append(elapsed)
                    progress(
                        f"run {run}/{RUNS}: request to paint {elapsed:.1f} ms, "
                        f"bare query {queries[-1]:.1f} ms"
                    )
                data = model.data()
                series = data.series if data is not None else None
            finally:
                view.close()
                engine.stop()
                runner.submit(backend.aclose()).result(timeout=5)
                runner.stop()
    if series is None:
        raise RuntimeError("the drift panel showed no series")
    with_data = int(np.count_nonzero(series.current_counts.sum(axis=1) > 0))
    statuses = Counter(status.value for status in series.statuses)
    progress(f"{series.timestamps.size} steps, {with_data} with data: {dict(statuses)}")
    median = statistics.median(paint)
    query_median = statistics.median(queries)
    report(
        {
            "runs": RUNS,
            "range_s": RANGE_S,
            "step_s": STEP_S,
            "steps": int(series.timestamps.size),
            "steps_with_data": with_data,
            "alert_steps": statuses.get("alert", 0),
            "data_span_s": HISTORY_S,
            "note": f"Prometheus holds {HISTORY_S / 3600:g} h of data (backfilled and scraped); "
            "every query spans the full 7 days",
            "request_to_paint_ms_median": round(median, 1),
            "request_to_paint_ms_min": round(min(paint), 1),
            "request_to_paint_ms_max": round(max(paint), 1),
            "bare_query_ms_median": round(query_median, 1),
            "ratio_to_bare_query": round(median / query_median, 2),
            "target_ms": TARGET_MS,
            "within_target": median <= TARGET_MS,
        }
    )


if __name__ == "__main__":
    main()
