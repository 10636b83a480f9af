"""SuiteRunsViewModel: batched progress, the failure filter, a run that cannot start."""

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from console.config.secrets import SecretStore
from console.config.settings import ModelEndpoint, Profile
from console.qtbridge.runner import AsyncRunner
from console.services.annotations import AnnotationStore
from console.services.run_history import RunHistory
from console.services.suite_runner import RunOptions
from console.services.suite_targets import SuiteTargets
from console.viewmodels import suite_runs
from console.viewmodels.suite_runs import FLUSH_INTERVAL_MS, SuiteRunsViewModel
from tests.support.openai_server import OpenAIServer
from tests.support.suites import many_cases

CASES = 300


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(latency_s=0.002) as running:
        yield running


@pytest.fixture
def model(qtbot, runner: AsyncRunner, secrets: SecretStore, server: OpenAIServer, tmp_path: Path):
    suite = tmp_path / "many.yaml"
    suite.write_text(many_cases(CASES))
    endpoint = ModelEndpoint("chat", server.base_url, "m", suite=str(suite))
    profile = Profile("prod", "http://prom:9090", endpoints=(endpoint,))
    targets = SuiteTargets(profile, None, secrets)
    vm = SuiteRunsViewModel(
        runner,
        targets,
        annotations=AnnotationStore(),
        options=RunOptions(concurrency=16),
        history=RunHistory,
    )
    yield vm
    vm.dispose().result(timeout=10)


def test_progress_reaches_the_gui_in_batches_at_most_twenty_a_second(qtbot, model) -> None:
    updates: list[tuple[int, int]] = []
    model.progressed.connect(lambda done, planned: updates.append((done, planned)))
    started = time.monotonic()
    with qtbot.waitSignal(model.finished, timeout=60_000) as finished:
        assert model.start("chat")
        assert not model.start("chat")  # one run at a time
    elapsed_s = time.monotonic() - started
    summary = finished.args[0]
    assert summary.tally.total == CASES and summary.tally.failed == CASES // 10
    assert updates[-1] == (CASES, CASES)
    assert len(updates) <= elapsed_s * 1000 / FLUSH_INTERVAL_MS + 3
    assert [done for done, _ in updates] == sorted(done for done, _ in updates)
    assert model.results.rowCount() == CASES
    model.failures.set_failures_only(True)
    assert model.failures.rowCount() == CASES // 10
    rows = {model.failures.index(r, 0).data() for r in range(model.failures.rowCount())}
    assert rows == {"FAILED"}
    tooltip = model.failures.index(0, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert "icontains" in tooltip


def test_rows_join_the_table_a_budget_a_turn_and_all_are_there_at_the_end(
    qtbot, model, monkeypatch
) -> None:
    monkeypatch.setattr(suite_runs, "ROWS_BUDGET_MS", 0)  # one row a turn of the event loop
    threshold = gc.get_threshold()
    waiting: list[int] = []
    full_threshold: list[int] = []

    def on_progress(done: int, _planned: int) -> None:
        waiting.append(done - model.results.rowCount())
        full_threshold.append(gc.get_threshold()[2])

    model.progressed.connect(on_progress)
    with qtbot.waitSignal(model.finished, timeout=60_000):
        model.start("chat")
    assert max(waiting) > 1  # a batch's other records waited for the next turns
    assert waiting[-1] == 0
    results = model.results
    assert results.rowCount() == CASES
    assert {results.record(r).index for r in range(CASES)} == set(range(CASES))
    assert all(results.index(r, 1).data() == results.record(r).title for r in range(CASES))
    # No full garbage collection while the rows stream in; the usual ones once they are in.
    assert min(full_threshold) > 1_000_000
    assert gc.get_threshold() == threshold


def test_a_run_that_cannot_start_says_why(qtbot, model) -> None:
    with qtbot.waitSignal(model.failed, timeout=10_000) as failed:
        model.start("unknown")
    assert "names no model endpoint for 'unknown'" in failed.args[0]
    assert not model.running and not model.exportable
