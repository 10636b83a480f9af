"""The run history: round trips, queries, comparison, and surviving `kill -9` mid-run."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from console.config.paths import data_dir
from console.domain.suite_results import (
    AssertionOutcome,
    CaseRecord,
    CaseStatus,
    RunInfo,
    RunStatus,
    compare_targets,
)
from console.services.run_history import DB_FILE, HistoryError, RunHistory
from tests.support.openai_server import OpenAIServer, Reply

ROOT = Path(__file__).resolve().parents[2]


def info(deployment: str = "support-chat", version: str = "v41", at: float = 1000.0) -> RunInfo:
    return RunInfo(
        id=None,
        suite="smoke",
        suite_sha256="abc123",
        suite_path="/suites/smoke.yaml",
        target=deployment,
        base_url="http://127.0.0.1:1/v1",
        model=deployment,
        profile="demo",
        deployment=deployment,
        model_version=version,
        status=RunStatus.RUNNING,
        started_at=at,
        planned=2,
    )


def record(index: int, status: CaseStatus, description: str | None = None) -> CaseRecord:
    return CaseRecord(
        index=index,
        case_index=index,
        description=description or f"case {index}",
        prompt_index=0,
        prompt_label="chat",
        target_index=0,
        target="support-chat",
        repeat=0,
        status=status,
        score=1.0 if status is CaseStatus.PASSED else 0.0,
        reason="all assertions passed" if status is CaseStatus.PASSED else "no Paris",
        request={"model": "support-chat", "messages": [{"role": "user", "content": "Capital?"}]},
        response_text="Paris" if status is CaseStatus.PASSED else "Lyon",
        model="support-chat@v41",
        system_fingerprint="fp-1",
        finish_reason="stop",
        latency_ms=120.5,
        ttft_ms=40.0,
        prompt_tokens=12,
        completion_tokens=3,
        cost=0.00042,
        confidence=0.93,
        attempts=1,
        assertions=(
            AssertionOutcome("icontains", status is CaseStatus.PASSED, 1.0, "ok"),
            AssertionOutcome("sensitivity", True, 0.5, "1 of 2", broken=("typos",), weight=2.0),
        ),
        finished_at=1001.0 + index,
    )


def stored_run(history: RunHistory, statuses: list[CaseStatus], **kwargs: object) -> int:
    run_id = history.start_run(info(**kwargs))  # type: ignore[arg-type]
    for index, status in enumerate(statuses):
        history.record(run_id, [record(index, status)])
    history.finish_run(run_id, RunStatus.COMPLETED, 1100.0, None)
    return run_id


def test_a_run_round_trips_with_every_field() -> None:
    history = RunHistory()
    assert history.path == data_dir() / DB_FILE
    run_id = history.start_run(info())
    records = [record(0, CaseStatus.PASSED), record(1, CaseStatus.FAILED)]
    history.record(run_id, records[:1])
    history.record(run_id, records[1:])
    history.finish_run(run_id, RunStatus.COMPLETED, 1100.0, "ignored: the version is known")
    history.close()

    loaded = RunHistory().load(run_id)
    assert loaded.records == tuple(records)
    assert loaded.info.status is RunStatus.COMPLETED
    assert loaded.info.finished_at == 1100.0
    assert loaded.info.model_version == "v41"
    assert (loaded.info.tally.passed, loaded.info.tally.failed) == (1, 1)
    assert loaded.info.suite_sha256 == "abc123" and loaded.info.planned == 2
    with pytest.raises(KeyError, match="no run 999"):
        RunHistory().load(999)


def test_the_database_is_in_wal_mode() -> None:
    RunHistory().close()
    with sqlite3.connect(data_dir() / DB_FILE) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_runs_per_deployment_newest_first_with_their_tallies() -> None:
    history = RunHistory()
    first = stored_run(history, [CaseStatus.PASSED, CaseStatus.PASSED], at=1000.0)
    second = stored_run(history, [CaseStatus.PASSED, CaseStatus.ERROR], at=2000.0)
    other = stored_run(history, [CaseStatus.FAILED], deployment="doc-qa", at=1500.0)
    assert [r.id for r in history.runs()] == [second, other, first]
    chat = history.runs(deployment="support-chat")
    assert [r.id for r in chat] == [second, first]
    assert (chat[0].tally.passed, chat[0].tally.errors, chat[0].tally.pass_rate) == (1, 1, 0.5)
    assert [r.id for r in history.runs(target="doc-qa")] == [other]
    assert len(history.runs(limit=1)) == 1


def test_pass_rate_over_time_counts_completed_runs_only() -> None:
    history = RunHistory()
    stored_run(history, [CaseStatus.PASSED, CaseStatus.PASSED], at=1000.0, version="v41")
    stored_run(history, [CaseStatus.PASSED, CaseStatus.FAILED], at=3000.0, version="v42")
    cancelled = history.start_run(info(at=4000.0))
    history.record(cancelled, [record(0, CaseStatus.FAILED)])
    history.finish_run(cancelled, RunStatus.CANCELLED, 4001.0, None)
    points = history.pass_rates("support-chat")
    assert [(p.started_at, p.pass_rate, p.model_version) for p in points] == [
        (1000.0, 1.0, "v41"),
        (3000.0, 0.5, "v42"),
    ]
    assert [p.started_at for p in history.pass_rates("support-chat", since=2000.0)] == [3000.0]
    assert history.pass_rates("unknown") == []


def test_compare_says_what_moved_from_pass_to_fail_and_back() -> None:
    history = RunHistory()
    before = history.start_run(info(version="v41"))
    after = history.start_run(info(version="v42"))
    for index, (old, new) in enumerate(
        [
            (CaseStatus.PASSED, CaseStatus.PASSED),
            (CaseStatus.PASSED, CaseStatus.FAILED),
            (CaseStatus.FAILED, CaseStatus.PASSED),
            (CaseStatus.ERROR, CaseStatus.FAILED),
            (CaseStatus.PASSED, CaseStatus.ERROR),
        ]
    ):
        history.record(before, [record(index, old)])
        history.record(after, [record(index, new)])
    history.record(after, [record(9, CaseStatus.PASSED)])
    comparison = history.compare(before, after)
    assert [c.key[0] for c in comparison.regressions] == [1, 4]
    assert [(c.before, c.after) for c in comparison.regressions] == [
        (CaseStatus.PASSED, CaseStatus.FAILED),
        (CaseStatus.PASSED, CaseStatus.ERROR),
    ]
    assert [c.title for c in comparison.fixes] == ["case 2 [chat] #1"]
    assert [c.key[0] for c in comparison.still_failing] == [3]
    assert [c.key[0] for c in comparison.only_after] == [9]
    assert comparison.only_before == ()
    assert comparison.unchanged_passing == 1


def test_two_targets_of_one_run_compare_as_a_shadow_run() -> None:
    production = [record(0, CaseStatus.PASSED), record(1, CaseStatus.PASSED)]
    candidate = [
        replace(record(0, CaseStatus.FAILED), target_index=1, target="candidate"),
        replace(record(1, CaseStatus.PASSED), target_index=1, target="candidate"),
    ]
    comparison = compare_targets(production + candidate)
    assert [(c.key[0], c.after) for c in comparison.regressions] == [(0, CaseStatus.FAILED)]
    assert comparison.unchanged_passing == 1
    assert comparison.only_before == comparison.only_after == ()


def test_a_run_of_this_process_is_left_running_one_of_a_dead_process_is_interrupted() -> None:
    history = RunHistory()
    live = history.start_run(info())
    assert RunHistory().interrupted == ()
    code = (
        "import sys\n"
        "from console.services.run_history import RunHistory\n"
        "from tests.unit.test_run_history import info\n"
        "print(RunHistory().start_run(info()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    dead = int(result.stdout)
    reopened = RunHistory()
    assert reopened.interrupted == (dead,)
    assert reopened.load(dead).info.status is RunStatus.INTERRUPTED
    assert reopened.load(live).info.status is RunStatus.RUNNING


def test_kill_9_mid_run_keeps_the_completed_cases_and_marks_the_run_interrupted(
    tmp_path: Path,
) -> None:
    suite = tmp_path / "suite.yaml"
    tests = "\n".join(
        f"  - {{description: case {i}, assert: [{{type: icontains, value: ok}}]}}" for i in range(6)
    )
    suite.write_text(f"prompts: [Say ok]\ntests:\n{tests}\n")
    done = {"choices": [{"message": {"role": "assistant", "content": "ok"}}], "model": "m"}
    with OpenAIServer(latency_s=60.0) as server:
        server.script.extend([Reply(200, body=json.dumps(done).encode())] * 3)
        argv = [
            sys.executable,
            "-m",
            "console",
            "run-suite",
            str(suite),
            "--target",
            server.base_url,
            "--model",
            "m",
            "--concurrency",
            "1",
        ]
        process = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy()
        )
        try:
            # One request at a time: the 4th arrives only once the 3rd result is committed.
            fourth_sent = server.wait_until(lambda: len(server.requests) == 4, timeout_s=30)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.kill()
            _, err = process.communicate(timeout=30)
        assert fourth_sent, err.decode()
        assert process.returncode == -signal.SIGKILL

    history = RunHistory()
    (run,) = history.runs()
    assert history.interrupted == (run.id,)
    assert run.status is RunStatus.INTERRUPTED
    stored = history.load(run.id or 0)
    assert [r.index for r in stored.records] == [0, 1, 2]
    assert all(r.status is CaseStatus.PASSED for r in stored.records)
    assert stored.info.planned == 6
    assert stored.info.finished_at == max(r.finished_at for r in stored.records)
    assert RunHistory().interrupted == ()  # marked once


def test_a_newer_schema_is_refused_with_the_file_name() -> None:
    path = data_dir() / DB_FILE
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match=f"{DB_FILE}.*newer"):
        RunHistory()


def test_deleting_a_run_drops_its_results() -> None:
    history = RunHistory()
    run_id = stored_run(history, [CaseStatus.PASSED])
    history.delete(run_id)
    assert history.runs() == []
    with sqlite3.connect(history.path) as db:
        assert db.execute("SELECT COUNT(*) FROM case_results").fetchone()[0] == 0
