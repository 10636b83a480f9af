"""Every suite run and its case results, in SQLite under the data dir. No Qt.

The database (``suite_runs.sqlite3``, WAL mode) has two tables: ``runs`` (the suite's
description, path and hash, the target, base URL, model, profile, deployment and model
version, status and timestamps, and which process runs it) and ``case_results`` (one row
per send, with the request, the answer, timings, tokens, cost, confidence and each
assertion's outcome as JSON). :class:`RunHistory` implements the runner's ``RunRecorder``:
each result is committed as it finishes, so a process killed with ``kill -9`` loses only
the sends in flight. On the next open, runs left ``running`` by a process that no longer
exists are marked ``interrupted`` (on Windows, where liveness is not checked, by any other
process).

Queries: :meth:`RunHistory.runs` (newest first, per deployment or target),
:meth:`RunHistory.pass_rates` (a deployment's pass rate over time),
:meth:`RunHistory.load` and :meth:`RunHistory.compare` (pass -> fail and back, per case).
"""

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.config.paths import data_dir
from console.domain.suite_results import (
    AssertionOutcome,
    CaseRecord,
    CaseStatus,
    RunComparison,
    RunInfo,
    RunStatus,
    Tally,
    compare_runs,
)
from console.services.process_owner import owner_alive, owner_token

DB_FILE = "suite_runs.sqlite3"
SCHEMA_VERSION = 1
_BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    suite TEXT NOT NULL,
    suite_path TEXT NOT NULL,
    suite_sha256 TEXT NOT NULL,
    target TEXT NOT NULL,
    base_url TEXT NOT NULL,
    model TEXT NOT NULL,
    profile TEXT,
    deployment TEXT,
    model_version TEXT,
    status TEXT NOT NULL,
    planned INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    owner TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_deployment ON runs (deployment, started_at);
CREATE INDEX IF NOT EXISTS runs_by_target ON runs (target, started_at);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
CREATE TABLE IF NOT EXISTS case_results (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    case_index INTEGER NOT NULL,
    description TEXT NOT NULL,
    prompt_index INTEGER NOT NULL,
    prompt_label TEXT NOT NULL,
    target_index INTEGER NOT NULL,
    target TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    reason TEXT NOT NULL,
    request TEXT NOT NULL,
    response_text TEXT,
    model TEXT,
    system_fingerprint TEXT,
    finish_reason TEXT,
    latency_ms REAL,
    ttft_ms REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost REAL,
    confidence REAL,
    attempts INTEGER NOT NULL,
    assertions TEXT NOT NULL,
    finished_at REAL NOT NULL,
    PRIMARY KEY (run_id, idx)
);
"""

_RUN_COLUMNS = (
    "id, suite, suite_path, suite_sha256, target, base_url, model, profile, deployment, "
    "model_version, status, planned, started_at, finished_at"
)
_TALLY = """
SELECT run_id,
       SUM(status = 'passed'), SUM(status = 'failed'), SUM(status = 'error')
FROM case_results WHERE run_id IN ({ids}) GROUP BY run_id
"""
_CASE_COLUMNS = (
    "idx, case_index, description, prompt_index, prompt_label, target_index, target, "
    "repeat, status, score, reason, request, response_text, model, system_fingerprint, "
    "finish_reason, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost, confidence, "
    "attempts, assertions, finished_at"
)


class HistoryError(Exception):
    """The history database cannot be opened or is not ours; names the file."""


@dataclass(frozen=True)
class StoredRun:
    """A run from the history with every case result it kept, in plan order."""

    info: RunInfo
    records: tuple[CaseRecord, ...]


@dataclass(frozen=True)
class PassRatePoint:
    """One finished run of a deployment, for the pass-rate-over-time chart."""

    run_id: int
    started_at: float
    pass_rate: float
    tally: Tally
    model_version: str | None


class RunHistory:
    """The suite-run history in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else data_dir() / DB_FILE
        self._owner = owner_token()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=5.0
            )
            self._setup()
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open the run history {self.path}: {exc}") from None
        self.interrupted = self._mark_interrupted()
        """Ids of the runs this open found abandoned and marked interrupted."""

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # RunRecorder

    def start_run(self, info: RunInfo) -> int:
        """Store a new run as ``running``, owned by this process; its id."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO runs (suite, suite_path, suite_sha256, target, base_url, model, "
                "profile, deployment, model_version, status, planned, started_at, owner) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info.suite,
                    info.suite_path,
                    info.suite_sha256,
                    info.target,
                    info.base_url,
                    info.model,
                    info.profile,
                    info.deployment,
                    info.model_version,
                    RunStatus.RUNNING.value,
                    info.planned,
                    info.started_at,
                    self._owner,
                ),
            )
            run_id = cursor.lastrowid
        assert run_id is not None
        return run_id

    def record(self, run_id: int, records: Sequence[CaseRecord]) -> None:
        """Commit case results, in one transaction."""
        rows = [_case_row(run_id, record) for record in records]
        placeholders = ", ".join("?" * (len(_CASE_COLUMNS.split(",")) + 1))
        with self._lock, self._db:
            self._db.executemany(
                f"INSERT OR REPLACE INTO case_results (run_id, {_CASE_COLUMNS}) "
                f"VALUES ({placeholders})",
                rows,
            )

    def finish_run(
        self, run_id: int, status: RunStatus, finished_at: float, model_version: str | None
    ) -> None:
        """Mark a run finished with ``status``; fills in the model version when learnt."""
        with self._lock, self._db:
            self._db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, "
                "model_version = COALESCE(model_version, ?) WHERE id = ?",
                (status.value, finished_at, model_version, run_id),
            )

    # Queries

    def runs(
        self, *, deployment: str | None = None, target: str | None = None, limit: int = 200
    ) -> list[RunInfo]:
        """Runs, newest first; only a deployment's or a target's when given."""
        where, params = _filters(deployment=deployment, target=target)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs {where} ORDER BY started_at DESC, id DESC "
                "LIMIT ?",
                (*params, limit),
            ).fetchall()
            tallies = self._tallies(row[0] for row in rows)
        return [_run_info(row, tallies.get(row[0], Tally())) for row in rows]

    def pass_rates(self, deployment: str, *, since: float | None = None) -> list[PassRatePoint]:
        """The completed runs of ``deployment``, oldest first, with their pass rates."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, started_at, model_version FROM runs "
                "WHERE deployment = ? AND status = ? AND started_at >= ? ORDER BY started_at, id",
                (deployment, RunStatus.COMPLETED.value, since if since is not None else -1e300),
            ).fetchall()
            tallies = self._tallies(row[0] for row in rows)
        points = []
        for run_id, started_at, version in rows:
            tally = tallies.get(run_id, Tally())
            points.append(PassRatePoint(run_id, started_at, tally.pass_rate, tally, version))
        return points

    def load(self, run_id: int) -> StoredRun:
        """A run and its case results; KeyError when there is no such run."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise KeyError(f"no run {run_id} in {self.path}")
            cases = self._db.execute(
                f"SELECT {_CASE_COLUMNS} FROM case_results WHERE run_id = ? ORDER BY idx",
                (run_id,),
            ).fetchall()
        records = tuple(_case_record(case) for case in cases)
        return StoredRun(_run_info(row, Tally.of(r.status for r in records)), records)

    def compare(self, before: int, after: int) -> RunComparison:
        """What moved from pass to fail and back between two stored runs."""
        return compare_runs(self.load(before).records, self.load(after).records)

    def delete(self, run_id: int) -> None:
        """Forget a run and its case results."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    # Internals

    def _setup(self) -> None:
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"WAL journal mode refused (got {mode})")
        self._db.execute("PRAGMA synchronous = NORMAL")  # durable across a process crash
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this console's ({SCHEMA_VERSION})"
            )
        with self._db:
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _mark_interrupted(self) -> tuple[int, ...]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, owner FROM runs WHERE status = ?", (RunStatus.RUNNING.value,)
            ).fetchall()
            abandoned = tuple(run_id for run_id, owner in rows if not owner_alive(owner))
            if abandoned:
                with self._db:
                    self._db.executemany(
                        "UPDATE runs SET status = ?, finished_at = COALESCE(finished_at, "
                        "(SELECT MAX(finished_at) FROM case_results WHERE run_id = runs.id), "
                        "started_at) WHERE id = ?",
                        [(RunStatus.INTERRUPTED.value, run_id) for run_id in abandoned],
                    )
        return abandoned

    def _tallies(self, run_ids: Iterable[int]) -> dict[int, Tally]:
        ids = list(run_ids)
        if not ids:
            return {}
        rows = self._db.execute(_TALLY.format(ids=", ".join("?" * len(ids))), ids).fetchall()
        return {run_id: Tally(passed, failed, errors) for run_id, passed, failed, errors in rows}


def _filters(**equal: str | None) -> tuple[str, tuple[str, ...]]:
    chosen = {column: value for column, value in equal.items() if value is not None}
    if not chosen:
        return "", ()
    return "WHERE " + " AND ".join(f"{c} = ?" for c in chosen), tuple(chosen.values())


def _case_row(run_id: int, record: CaseRecord) -> tuple[object, ...]:
    return (
        run_id,
        record.index,
        record.case_index,
        record.description,
        record.prompt_index,
        record.prompt_label,
        record.target_index,
        record.target,
        record.repeat,
        record.status.value,
        record.score,
        record.reason,
        json.dumps(record.request),
        record.response_text,
        record.model,
        record.system_fingerprint,
        record.finish_reason,
        record.latency_ms,
        record.ttft_ms,
        record.prompt_tokens,
        record.completion_tokens,
        record.cost,
        record.confidence,
        record.attempts,
        json.dumps([_outcome_json(o) for o in record.assertions]),
        record.finished_at,
    )


def _run_info(row: tuple[Any, ...], tally: Tally) -> RunInfo:
    (
        run_id,
        suite,
        suite_path,
        sha256,
        target,
        base_url,
        model,
        profile,
        deployment,
        version,
        status,
        planned,
        started_at,
        finished_at,
    ) = row
    return RunInfo(
        id=run_id,
        suite=suite,
        suite_sha256=sha256,
        suite_path=suite_path,
        target=target,
        base_url=base_url,
        model=model,
        profile=profile,
        deployment=deployment,
        model_version=version,
        status=RunStatus(status),
        planned=planned,
        started_at=started_at,
        finished_at=finished_at,
        tally=tally,
    )


def _case_record(row: tuple[Any, ...]) -> CaseRecord:
    values = dict(zip((c.strip() for c in _CASE_COLUMNS.split(",")), row, strict=True))
    return CaseRecord(
        index=values["idx"],
        case_index=values["case_index"],
        description=values["description"],
        prompt_index=values["prompt_index"],
        prompt_label=values["prompt_label"],
        target_index=values["target_index"],
        target=values["target"],
        repeat=values["repeat"],
        status=CaseStatus(values["status"]),
        score=values["score"],
        reason=values["reason"],
        request=json.loads(values["request"]),
        response_text=values["response_text"],
        model=values["model"],
        system_fingerprint=values["system_fingerprint"],
        finish_reason=values["finish_reason"],
        latency_ms=values["latency_ms"],
        ttft_ms=values["ttft_ms"],
        prompt_tokens=values["prompt_tokens"],
        completion_tokens=values["completion_tokens"],
        cost=values["cost"],
        confidence=values["confidence"],
        attempts=values["attempts"],
        assertions=tuple(_outcome(item) for item in json.loads(values["assertions"])),
        finished_at=values["finished_at"],
    )


def _outcome_json(outcome: AssertionOutcome) -> dict[str, object]:
    return {
        "name": outcome.name,
        "passed": outcome.passed,
        "score": outcome.score,
        "reason": outcome.reason,
        "error": outcome.error,
        "broken": list(outcome.broken),
        "weight": outcome.weight,
        "metric": outcome.metric,
    }


def _outcome(item: Mapping[str, Any]) -> AssertionOutcome:
    return AssertionOutcome(
        name=item["name"],
        passed=item["passed"],
        score=item["score"],
        reason=item["reason"],
        error=item["error"],
        broken=tuple(item["broken"]),
        weight=item["weight"],
        metric=item["metric"],
    )
