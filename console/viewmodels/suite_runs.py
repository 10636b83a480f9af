"""Synthetic suite runs of the active profile: start, live progress, results, history, export.

A run goes to the deployment's target (:class:`~console.services.suite_targets.SuiteTargets`)
with the suite bound to it, on the I/O loop. Its records arrive on the I/O loop; they are
queued and delivered to the GUI thread in batches, at most :data:`FLUSH_INTERVAL_MS` apart,
so a 1,000-case run does not flood the event loop; a batch goes into the results table
:data:`ROWS_BUDGET_MS` a turn of the event loop at most, the rest on the next turns. A
finished run marks the deployment's charts with a synthetic-run annotation.
"""

import asyncio
import concurrent.futures
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QObject,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QStandardItemModel

from console.domain.annotations import Annotation, AnnotationKind
from console.domain.redaction import Redactor
from console.domain.suite_results import (
    CaseRecord,
    CaseStatus,
    RunComparison,
    RunInfo,
    RunStatus,
    compare_targets,
    redacted_record,
)
from console.qtbridge.relay import FutureRelay
from console.services.annotations import AnnotationStore
from console.services.gc_policy import defer_full_collections
from console.services.run_history import PassRatePoint, RunHistory
from console.services.suite_export import write_csv, write_json, write_junit
from console.services.suite_runner import RunOptions, RunProgress, RunSummary, SuiteRun
from console.services.suite_targets import SuiteTargets

FLUSH_INTERVAL_MS = 50
"""Batched progress reaches the GUI thread at most this often (20 updates a second)."""
ROWS_BUDGET_MS = 8
"""The longest one turn of the event loop spends adding rows. While the I/O loop is busy,
the GUI thread has the GIL half the time at best: 25 rows at once took up to 40 ms."""


class ExportFormat(StrEnum):
    """The report formats of a run."""

    JUNIT = "junit"
    JSON = "json"
    CSV = "csv"


class ResultsModel(QStandardItemModel):
    """One row per case send (case x repeat): status, case, failed assertions, timings.

    A QStandardItemModel, not a Python ``data()``: the table's paints then never call into
    Python, which, while the I/O loop is busy with a run, waits for the GIL at every cell
    (measured: 50 ms a paint with a Python model, see benchmarks.suite_stall). Rows are
    inserted empty and filled through the model, so its items are C++ only:
    no Python wrapper per cell to create, collect and destroy again (1,000 rows are 6,000
    items). The view is read-only (the table edits nothing).
    """

    HEADERS = ("Status", "Case", "Failed assertions", "Latency", "TTFT", "Tokens")

    def __init__(self, redactor: Redactor, parent: QObject | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(list(self.HEADERS))
        self._redactor = redactor
        self._records: list[CaseRecord] = []

    def record(self, row: int) -> CaseRecord:
        """The record shown in ``row``."""
        return self._records[row]

    def set_records(self, records: Sequence[CaseRecord]) -> None:
        """Show ``records`` instead of the current rows."""
        self.removeRows(0, self.rowCount())
        self._records = []
        self.append(records)

    def append(self, records: Sequence[CaseRecord]) -> None:
        """Add ``records`` at the end."""
        if not records:
            return
        first = len(self._records)
        self._records.extend(records)
        self.insertRows(first, len(records))
        for row, record in enumerate(records, first):
            for column, roles in enumerate(_cells(record, self._redactor)):
                if roles:
                    self.setItemData(self.index(row, column), roles)


_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_STATUS = Qt.ItemDataRole.UserRole
"""The status value of column 0, what FailureFilter matches."""


def _cells(record: CaseRecord, redactor: Redactor) -> list[dict[int, str]]:
    """The roles of each column of ``record``'s row; empty cells are left out of the model."""
    cells: list[dict[int, str]] = [
        {_DISPLAY: text} if (text := _cell(record, column)) else {}
        for column in range(len(ResultsModel.HEADERS))
    ]
    cells[0][_STATUS] = record.status.value
    if record.failures:
        cells[2][_TOOLTIP] = "\n".join(
            f"{o.name}: {redactor.redact_text(o.reason)}" for o in record.failures
        )
    return cells


def _cell(record: CaseRecord, column: int) -> str:
    if column == 0:
        return record.status.value.upper()
    if column == 1:
        return record.title
    if column == 2:
        return ", ".join(o.name for o in record.failures)
    if column == 3:
        return _ms(record.latency_ms)
    if column == 4:
        return _ms(record.ttft_ms)
    tokens = record.completion_tokens
    return "" if tokens is None else str(tokens)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f} ms"


class FailureFilter(QSortFilterProxyModel):
    """The results, only the failed and errored sends when ``failures_only`` (a C++ filter
    on the status column, so filtering calls no Python per row)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterKeyColumn(0)
        self.setFilterRole(Qt.ItemDataRole.UserRole)
        self._failures_only = False

    @property
    def failures_only(self) -> bool:
        """True while passed sends are hidden."""
        return self._failures_only

    def set_failures_only(self, on: bool) -> None:
        """Hide (or show again) the passed sends."""
        self._failures_only = on
        pattern = f"^(?!{CaseStatus.PASSED.value}$)" if on else ""
        self.setFilterRegularExpression(QRegularExpression(pattern))


@dataclass(frozen=True)
class Candidate:
    """A candidate endpoint to run beside the deployment: the shadow comparison.

    An empty ``base_url`` means the DEMO's model server (``support-chat@v41`` pins v41).
    """

    base_url: str
    model: str


class _Job:
    """A run being started or running; its progress is collected here on the I/O loop."""

    def __init__(
        self, deployment: str, candidate: Candidate | None, wake: Callable[[], None]
    ) -> None:
        self.deployment = deployment
        self.candidate = candidate
        self.run: SuiteRun | None = None
        self.cancelled = False
        # Its records must not make a full collection walk the heap while they stream in.
        self.allow_full_collections = defer_full_collections()
        self._wake = wake
        self._lock = threading.Lock()
        self._pending: list[CaseRecord] = []
        self._done = 0
        self._planned = 0
        self._waking = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.run is not None:
            self.run.cancel()

    def detach(self) -> None:
        """Cancel, and wake nobody any more (the viewmodel is going away)."""
        with self._lock:
            self._wake = _ignore
        self.cancel()
        self.allow_full_collections()

    def started(self, run: SuiteRun) -> None:
        self.run = run
        with self._lock:
            self._planned = run.planned
        if self.cancelled:
            run.cancel()
        self._notify()

    def on_progress(self, progress: RunProgress) -> None:
        with self._lock:
            self._pending.append(progress.record)
            self._done = progress.done
            self._planned = progress.planned
        self._notify()

    def take(self) -> tuple[list[CaseRecord], int, int]:
        """The records since the last take, and the counts so far (GUI thread)."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._waking = False
            return pending, self._done, self._planned

    def _notify(self) -> None:
        # One queued wake-up per batch: the GUI thread takes everything pending at once.
        # Emitted under the lock (a queued signal only posts an event), so that after
        # detach() returns nothing emits on a viewmodel being deleted.
        with self._lock:
            if self._waking:
                return
            self._waking = True
            self._wake()


def _ignore() -> None:
    """A wake-up nobody listens to."""


@dataclass(frozen=True)
class ShownRun:
    """The run in the results table: its info (None while starting), deployment and, once
    finished, its records in plan order (the table shows a live run's in finish order)."""

    deployment: str
    info: RunInfo | None
    running: bool
    records: tuple[CaseRecord, ...] = ()


class SuiteRunsViewModel(QObject):
    """The runs of one open profile; every blocking call runs on the I/O loop."""

    started = Signal(str)
    """A run of this deployment started (the results were cleared)."""
    progressed = Signal(int, int)
    """Done and planned sends so far (batched, at most 20 a second)."""
    finished = Signal(object)
    """The RunSummary of a run that ended (completed or cancelled)."""
    failed = Signal(str)
    """A run could not start or broke: why."""
    historyChanged = Signal()
    passRatesChanged = Signal()
    comparisonReady = Signal(object)
    """A RunComparison asked for with :meth:`compare`."""
    exported = Signal(str)
    """The path of a report written by :meth:`export`."""
    _wake = Signal()

    def __init__(
        self,
        runner: Any,
        targets: SuiteTargets,
        *,
        annotations: AnnotationStore | None = None,
        options: RunOptions | None = None,
        history: Callable[[], RunHistory] = RunHistory,
        clock: Callable[[], float] = time.time,
        redactor: Redactor | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.redactor = redactor or Redactor()
        """What hides personal data and secrets in prompts and outputs shown or exported."""
        self._runner = runner
        self._targets = targets
        self._annotations = annotations
        self._options = options or RunOptions()
        self._open_history = history
        self._history: RunHistory | None = None
        self._history_lock = threading.Lock()
        self._clock = clock
        self.comparison_title = ""
        """What the last comparison put side by side."""
        self._relay = FutureRelay(self)
        self.results = ResultsModel(self.redactor, self)
        self.failures = FailureFilter(self)
        self.failures.setSourceModel(self.results)
        self._job: _Job | None = None
        self._shown: ShownRun | None = None
        self._done = 0
        self._planned = 0
        self._runs: list[RunInfo] = []
        self._pass_rates: list[PassRatePoint] = []
        self._last_flush = 0.0
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush)
        self._backlog: deque[CaseRecord] = deque()
        self._backlog_timer = QTimer(self)
        self._backlog_timer.setSingleShot(True)
        self._backlog_timer.setInterval(0)
        self._backlog_timer.timeout.connect(self._add_rows)
        self._wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    @property
    def demo(self) -> bool:
        """Whether the profile is the DEMO (a candidate may be its model server)."""
        return self._targets.demo

    @property
    def running(self) -> bool:
        """True while a run is starting or running."""
        return self._job is not None

    @property
    def shown(self) -> ShownRun | None:
        """The run in the results table."""
        return self._shown

    @property
    def done(self) -> int:
        """Sends of the shown run finished so far."""
        return self._done

    @property
    def planned(self) -> int:
        """Sends the shown run makes (0 while starting)."""
        return self._planned

    @property
    def exportable(self) -> bool:
        """True when the results table shows a finished run."""
        shown = self._shown
        return shown is not None and shown.info is not None and not shown.running

    def runs(self) -> list[RunInfo]:
        """The stored runs of the deployment last asked for, newest first."""
        return list(self._runs)

    def pass_rates(self) -> list[PassRatePoint]:
        """The pass rate of each completed run of that deployment, oldest first."""
        return list(self._pass_rates)

    def start(self, deployment: str, candidate: Candidate | None = None) -> bool:
        """Run the suite bound to ``deployment`` (and against ``candidate``, to compare the
        two when it ends); False while another run is going."""
        if self._job is not None:
            return False
        job = _Job(deployment, candidate, self._wake.emit)
        self._job = job
        self._shown = ShownRun(deployment, None, running=True)
        self._done = self._planned = 0
        self.results.set_records(())
        self.started.emit(deployment)
        future = self._runner.submit(self._execute(job))
        self._relay.deliver(future, lambda done: self._on_finished(job, done))
        return True

    def cancel(self) -> None:
        """Stop the running run; its finished sends are kept."""
        if self._job is not None:
            self._job.cancel()

    def load_history(self, deployment: str) -> None:
        """Fetch the stored runs and pass rates of ``deployment`` (historyChanged)."""
        future = self._runner.submit(self._in_history(_history_of, deployment))
        self._relay.deliver(future, self._on_history)

    def show_run(self, run_id: int) -> None:
        """Show a stored run's results (not while a run is going)."""
        if self._job is not None:
            return
        future = self._runner.submit(self._in_history(RunHistory.load, run_id))
        self._relay.deliver(future, self._on_loaded)

    def compare(self, before: int, after: int) -> None:
        """What moved between two stored runs (comparisonReady)."""
        self.comparison_title = f"Run #{after} against run #{before}"
        future = self._runner.submit(self._in_history(RunHistory.compare, before, after))
        self._relay.deliver(future, self._on_compared)

    def export(self, kind: ExportFormat, path: Path) -> None:
        """Write the shown run as ``kind`` to ``path``, on the I/O loop (exported)."""
        shown = self._shown
        if shown is None or shown.info is None or not self.exportable:
            self.failed.emit("no finished run to export")
            return
        future = self._runner.submit(
            asyncio.to_thread(_write, kind, path, shown.info, shown.records, self.redactor)
        )
        self._relay.deliver(future, lambda done: self._on_exported(path, done))

    def dispose(self) -> "concurrent.futures.Future[None]":
        """Cancel the run, stop the DEMO's model server and close the history."""
        if self._job is not None:
            self._job.detach()
        self._flush_timer.stop()
        self._backlog_timer.stop()
        future: concurrent.futures.Future[None] = self._runner.submit(self._close())
        return future

    async def _close(self) -> None:
        job = self._job
        if job is not None and job.run is not None:
            job.run.cancel()
        await asyncio.to_thread(self._targets.close)
        with self._history_lock:
            history, self._history = self._history, None
        if history is not None:
            await asyncio.to_thread(history.close)

    async def _execute(self, job: _Job) -> RunSummary:
        targets = [await asyncio.to_thread(self._targets.target, job.deployment)]
        if job.candidate is not None:
            candidate = job.candidate
            targets.append(
                await asyncio.to_thread(
                    self._targets.candidate, job.deployment, candidate.base_url, candidate.model
                )
            )
        suite = await asyncio.to_thread(self._targets.suite, job.deployment)
        history = await asyncio.to_thread(self._opened_history)
        run = SuiteRun(suite, targets, self._options, history=history, clock=self._clock)
        job.started(run)
        return await run.run(job.on_progress)

    def _opened_history(self) -> RunHistory:
        with self._history_lock:
            if self._history is None:
                self._history = self._open_history()
            return self._history

    async def _in_history(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(lambda: call(self._opened_history(), *args))

    def _on_wake(self) -> None:
        wait = FLUSH_INTERVAL_MS - (time.monotonic() - self._last_flush) * 1000
        if wait <= 0:
            self._flush()
        elif not self._flush_timer.isActive():
            self._flush_timer.start(int(wait) + 1)

    def _flush(self) -> None:
        job = self._job
        if job is None:
            return
        self._last_flush = time.monotonic()
        records, done, planned = job.take()
        self._backlog.extend(records)
        self._add_rows()
        if (done, planned) != (self._done, self._planned):
            self._done, self._planned = done, planned
            self.progressed.emit(done, planned)

    def _add_rows(self) -> None:
        """Rows for the backlog's records, one at least and as many as fit in ROWS_BUDGET_MS;
        the rest on the next turn."""
        deadline = time.perf_counter() + ROWS_BUDGET_MS / 1000
        while self._backlog:
            self.results.append((self._backlog.popleft(),))
            if time.perf_counter() >= deadline:
                break
        if self._backlog:
            self._backlog_timer.start()

    def _on_finished(self, job: _Job, future: "concurrent.futures.Future[RunSummary]") -> None:
        try:
            self._show_finished(job, future)
        finally:
            job.allow_full_collections()

    def _show_finished(self, job: _Job, future: "concurrent.futures.Future[RunSummary]") -> None:
        self._flush()
        self._flush_timer.stop()
        self._backlog_timer.stop()
        self.results.append(self._backlog)
        self._backlog.clear()
        self._job = None
        try:
            summary = future.result()
        except Exception as exc:  # the reason is shown; nothing else may break the GUI
            self._shown = ShownRun(job.deployment, None, running=False)
            self.failed.emit(f"{job.deployment}: {exc}")
            return
        self._shown = ShownRun(job.deployment, summary.info, False, summary.records)
        if self.results.rowCount() != len(summary.records):
            # The rows came live, in the order the sends finished; rebuilding 1,000 rows
            # on the GUI thread costs ~200 ms, so they are replaced only when incomplete.
            self.results.set_records(summary.records)
        self._done, self._planned = len(summary.records), summary.info.planned
        self.progressed.emit(self._done, self._planned)
        self._annotate(summary.info)
        self.finished.emit(summary)
        self.load_history(job.deployment)
        if job.candidate is not None:
            self.comparison_title = (
                f"Shadow comparison: {job.candidate.model} against {job.deployment} "
                f"(run #{summary.info.id})"
            )
            self.comparisonReady.emit(compare_targets(summary.records))

    def _annotate(self, info: RunInfo) -> None:
        if self._annotations is None or info.deployment is None:
            return
        tally = info.tally
        word = "cancelled" if info.status is RunStatus.CANCELLED else "suite"
        self._annotations.add(
            Annotation(
                at=info.finished_at or self._clock(),
                kind=AnnotationKind.SYNTHETIC_RUN,
                text=f"{word} {tally.passed}/{tally.total} passed",
                deployment=info.deployment,
                version=info.model_version,
            )
        )

    def _on_history(self, future: "concurrent.futures.Future[Any]") -> None:
        try:
            self._runs, self._pass_rates = future.result()
        except Exception as exc:
            self.failed.emit(f"run history: {exc}")
            return
        self.historyChanged.emit()
        self.passRatesChanged.emit()

    def _on_loaded(self, future: "concurrent.futures.Future[Any]") -> None:
        try:
            stored = future.result()
        except Exception as exc:
            self.failed.emit(f"run history: {exc}")
            return
        if self._job is not None:
            return
        info = stored.info
        self._shown = ShownRun(info.deployment or info.target, info, False, stored.records)
        self.results.set_records(stored.records)
        self._done, self._planned = len(stored.records), info.planned
        self.progressed.emit(self._done, self._planned)

    def _on_compared(self, future: "concurrent.futures.Future[Any]") -> None:
        try:
            comparison: RunComparison = future.result()
        except Exception as exc:
            self.failed.emit(f"compare: {exc}")
            return
        self.comparisonReady.emit(comparison)

    def _on_exported(self, path: Path, future: "concurrent.futures.Future[None]") -> None:
        try:
            future.result()
        except OSError as exc:
            self.failed.emit(f"export to {path}: {exc.strerror or exc}")
            return
        self.exported.emit(str(path))


def _history_of(history: RunHistory, deployment: str) -> tuple[list[RunInfo], list[PassRatePoint]]:
    return history.runs(deployment=deployment), history.pass_rates(deployment)


def _write(
    kind: ExportFormat,
    path: Path,
    info: RunInfo,
    records: Sequence[CaseRecord],
    redactor: Redactor,
) -> None:
    records = [redacted_record(r, redactor) for r in records]
    if kind is ExportFormat.JUNIT:
        write_junit(path, info, records)
    elif kind is ExportFormat.JSON:
        write_json(path, info, records)
    else:
        write_csv(path, records)
