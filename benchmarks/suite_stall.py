"""GUI event-loop stall while a 1,000-case suite run streams into the Runs tab's results table.

A 5 ms Qt timer records how late it fires (the method of benchmarks.stall): first idle,
then while SuiteRunsViewModel runs 1,000 cases at concurrency 32 against a loopback
OpenAI-compatible endpoint (tests/support/openai_server.py in its own process, answering
in 20 ms) and a shown RunsView takes the batched rows. Target: max <= 50 ms.

Each run is preceded by the same suite on the same I/O loop with nothing on the GUI side
(``runner_only``): the stall the runner alone causes in the process is the floor. Both are
measured twice: as the process is, and after ``gc.freeze()`` (``_gc_frozen``), because the
largest stalls were gen-2 garbage collections walking every Qt/pyqtgraph wrapper object
(a run now defers them to its end: console/services/gc_policy.py).
Run: `python -m benchmarks.suite_stall`.
"""

import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from benchmarks._lateness import LatenessProbe, figures
from benchmarks._measure import progress, report
from console.config.secrets import SecretStore
from console.config.settings import ModelEndpoint, Profile
from console.domain.suite import Suite
from console.qtbridge.runner import AsyncRunner
from console.services.run_history import RunHistory
from console.services.suite_loader import load_suite
from console.services.suite_runner import RunOptions, SuiteRun, endpoint_target
from console.services.suite_targets import SuiteTargets
from console.ui.runs_view import RunsView
from console.viewmodels.suite_runs import SuiteRunsViewModel
from tests.support.suites import many_cases

TIMER_MS = 5
IDLE_S = 3.0
CASES = 1000
CONCURRENCY = 32
LATENCY_S = 0.02


def serve() -> None:
    """The endpoint process: print the base URL, serve until stdin closes."""
    from tests.support.openai_server import OpenAIServer

    with OpenAIServer(latency_s=LATENCY_S) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


def wait_until(done: Callable[[], bool], timeout_s: float) -> None:
    """Run the Qt event loop until ``done()`` or the timeout."""
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: done() and loop.quit())
    poll.start(20)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    poll.stop()


def measure(
    runner: AsyncRunner,
    model: SuiteRunsViewModel,
    suite: Suite,
    base_url: str,
    probe: LatenessProbe,
    frozen: bool,
) -> dict[str, object]:
    """The stall of a bare run (no GUI consumer), then of a run into the Runs tab."""
    tag = "_gc_frozen" if frozen else ""
    results: dict[str, object] = {}
    bare = SuiteRun(suite, [endpoint_target(base_url, "m")], RunOptions(concurrency=CONCURRENCY))
    probe.take()
    progress(f"runner alone{tag}: {CASES} cases at concurrency {CONCURRENCY}, no GUI consumer")
    running = runner.submit(bare.run())
    wait_until(running.done, 120)
    results |= figures(f"runner_only{tag}", probe.take())

    progress(f"run{tag}: {CASES} cases at concurrency {CONCURRENCY} into the results table")
    updates: list[int] = []
    counting = model.progressed.connect(lambda done, _planned: updates.append(done))
    started = time.perf_counter()
    model.start("chat")
    wait_until(lambda: not model.running, 120)
    run_s = time.perf_counter() - started
    model.progressed.disconnect(counting)
    results |= figures(f"run{tag}", probe.take())
    results[f"run{tag}_wall_s"] = round(run_s, 2)
    results[f"run{tag}_rows"] = model.results.rowCount()
    results[f"run{tag}_progress_updates_per_s"] = round(len(updates) / run_s, 1)
    run_max = float(results[f"run{tag}_max_ms"])  # type: ignore[arg-type]
    results[f"run{tag}_meets_50ms_max"] = run_max <= 50.0
    return results


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    endpoint_process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.suite_stall", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert endpoint_process.stdout is not None and endpoint_process.stdin is not None
    base_url = endpoint_process.stdout.readline().strip()
    runner = AsyncRunner()
    scratch = Path(tempfile.mkdtemp(prefix="suite-stall-"))
    suite = scratch / "stall.yaml"
    suite.write_text(many_cases(CASES))
    endpoint = ModelEndpoint("chat", base_url, "m", suite=str(suite))
    profile = Profile("bench", "http://127.0.0.1:9", endpoints=(endpoint,))
    model = SuiteRunsViewModel(
        runner,
        SuiteTargets(profile, None, SecretStore.session_only()),
        options=RunOptions(concurrency=CONCURRENCY),
        history=lambda: RunHistory(scratch / "runs.sqlite"),
    )
    view = RunsView(model)
    view.resize(1280, 800)
    view.show()
    probe = LatenessProbe(TIMER_MS)
    results: dict[str, object] = {
        "timer_ms": TIMER_MS,
        "cases": CASES,
        "concurrency": CONCURRENCY,
        "endpoint_latency_ms": LATENCY_S * 1000,
    }
    try:
        progress("idle baseline")
        wait_until(lambda: False, IDLE_S)
        results |= figures("idle", probe.take())
        for frozen in (False, True):
            if frozen:
                # What the app can do once started: move its heap out of the collector's
                # sight, so the gen-2 collections a run triggers stop walking all of Qt.
                gc.collect()
                gc.freeze()
            results |= measure(runner, model, load_suite(suite), base_url, probe, frozen)
    finally:
        model.dispose().result(timeout=10)
        runner.stop()
        endpoint_process.stdin.close()
        endpoint_process.wait(10)
    del app
    report(results)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main()
