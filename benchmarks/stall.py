"""GUI event-loop stall while a backend hangs and while a 10 x 11,000-point answer is decoded.

A 10 ms Qt timer records how late it fires. Phases: idle (the baseline), a hanging backend
under a live FleetViewModel, and back-to-back decoding of a 10-series x 11,000-point
query_range answer on the I/O loop. Target: p99 <= 16 ms and max <= 50 ms in both loaded
phases. Run: `python -m benchmarks.stall`.
"""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from benchmarks._lateness import LatenessProbe, figures
from benchmarks._measure import progress, report
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.signals import Signal
from console.domain.timerange import RangePlan
from console.qtbridge.runner import AsyncRunner
from console.services.connect import open_backend, open_fleet
from console.viewmodels.fleet import FleetViewModel
from tests.support.fault_proxy import Fault, FaultProxy

T = TypeVar("T")
TIMER_MS = 10
PHASE_S = 8.0
SERIES, POINTS, STEP_S = 10, 11_000, 15.0


def run_for(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


async def on_io_loop(build: Callable[[Profile, SecretStore], T], *args: Any) -> T:
    """Build a service or backend on the I/O loop, as the app does (TLS setup takes ~0.3 s)."""
    return build(*args)


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    runner = AsyncRunner()
    start = (int(time.time() / STEP_S) - POINTS) * STEP_S
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks._range_server",
            str(SERIES),
            str(POINTS),
            str(start),
            str(STEP_S),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    big_url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
    proxy = FaultProxy(big_url).start()
    proxy.set_fault(Fault.HANG)
    secrets = SecretStore()
    probe = LatenessProbe(TIMER_MS)
    results: dict[str, object] = {"timer_ms": TIMER_MS, "phase_s": PHASE_S}
    try:
        progress("idle baseline")
        run_for(PHASE_S)
        results |= figures("idle", probe.take())

        progress("hanging backend under a live fleet view (timeout 2 s, refresh 0.5 s)")
        hanging = Profile("hang", proxy.url, preset="vllm", timeout_s=2.0, refresh_interval_s=0.5)
        service = runner.submit(on_io_loop(open_fleet, hanging, secrets)).result(timeout=30)
        view = FleetViewModel(runner, service, refresh_interval_s=0.5)
        probe.take()
        view.start()
        run_for(PHASE_S)
        view.stop()
        results |= figures("hang", probe.take())
        results["hang_fleet_error"] = view.fleet_error()

        progress(f"decoding {SERIES} x {POINTS}-point answers back to back")
        big = Profile("big", big_url, preset="vllm")
        backend = runner.submit(on_io_loop(open_backend, big, secrets)).result(timeout=30)
        plan = RangePlan(start=start, end=start + (POINTS - 1) * STEP_S, step=STEP_S)
        probe.take()
        decoded: list[int] = []
        stop = asyncio.Event()

        async def decode_forever() -> None:
            while not stop.is_set():
                series = await backend.range(Signal.P95_LATENCY, plan, 300.0)
                decoded.append(sum(s.values.size for s in series.values()))

        task = runner.submit(decode_forever())
        run_for(PHASE_S)
        runner.loop.call_soon_threadsafe(stop.set)
        task.result(timeout=30)
        results |= figures("decode", probe.take())
        results["decodes"] = len(decoded)
        results["points_per_decode"] = decoded[0] if decoded else 0
        for phase in ("hang", "decode"):
            idle = max(float(results["idle_p99_ms"]), 0.01)  # type: ignore[arg-type]
            results[f"{phase}_p99_ratio_to_idle"] = round(
                float(results[f"{phase}_p99_ms"]) / idle, 2
            )  # type: ignore[arg-type]
        runner.submit(backend.aclose()).result(timeout=10)
    finally:
        proxy.stop()
        server.terminate()
        server.wait(10)
        runner.stop()
    del app
    report(results)


if __name__ == "__main__":
    main()
