"""The log explorer's state: queries, fetch-more, live tail, volume, completion and reveal.

The profile's log service opens on the I/O loop (keyring, SQLite); every query, parse,
redaction and row formatting runs there too, and results come back through a FutureRelay.
A run superseded by a newer one is cancelled and its result dropped. The live tail polls
on a timer while it is on and not paused (the view pauses it while the user reads older
rows); a paused tail loses nothing: its next poll returns everything since.
"""

import asyncio
import concurrent.futures
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from console.backends.demo_logs import ServingAt
from console.backends.errors import BackendError
from console.backends.log_protocol import MAX_LIMIT_PER_REQUEST, MetricSeries
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.log_records import LogRecord
from console.domain.promql_completion import CompletionIndex, ContextKind, complete, context_at
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner
from console.services.audit_log import AuditLog
from console.services.explore import Completion
from console.services.log_connect import open_log_service
from console.services.logs import LogPage, LogService, LogTail, RevealDenied
from console.services.permissions import denial_reason
from console.services.review_queue import ReviewError, ReviewQueue
from console.viewmodels.log_rows import LogRows, log_rows
from console.viewmodels.log_table import LogTableModel

DEFAULT_QUERY = '{app=~".+"}'
DEFAULT_RANGE_S = 3600.0
PAGE_LIMIT = 1000
"""Records per query and per fetch-more."""
TAIL_INTERVAL_MS = 2000
HISTOGRAM_BINS = 120
_AUDIT_WAIT_S = 30.0


@dataclass
class LogServices:
    """The log service of one profile and the review queue its low-confidence outputs
    go to (None when the queue cannot be opened: ``queue_error`` says why)."""

    logs: LogService
    queue: ReviewQueue | None
    queue_error: str | None = None

    async def aclose(self) -> None:
        """Close the log backend and the queue."""
        await self.logs.backend.aclose()
        if self.queue is not None:
            self.queue.close()


LogOpener = Callable[[], LogServices]
"""Builds the services; blocking (keyring, SQLite): called in a worker of the I/O loop."""


def logs_opener(
    profile: Profile,
    secrets: SecretStore,
    *,
    demo_serving: ServingAt | None = None,
    audit: "concurrent.futures.Future[AuditLog] | None" = None,
) -> LogOpener:
    """The opener of ``profile``'s log services; ``audit`` resolves to the process's audit
    log (reveals need it), ``demo_serving`` is the DEMO fleet's serving timeline."""

    def open_() -> LogServices:
        log: AuditLog | None = None
        if audit is not None:
            try:
                log = audit.result(timeout=_AUDIT_WAIT_S)
            except Exception:  # the audit view reports why; reveals then say it is not open
                log = None
        try:
            queue: ReviewQueue | None = ReviewQueue()
            queue_error = None
        except ReviewError as exc:
            queue, queue_error = None, str(exc)
        service = open_log_service(
            profile, secrets, audit=log, review_queue=queue, demo_serving=demo_serving
        )
        return LogServices(service, queue, queue_error)

    return open_


@dataclass(frozen=True)
class Volume:
    """Lines per bin: bin start times (Unix s), counts and the bin width."""

    starts: np.ndarray
    counts: np.ndarray
    step_s: float

    def add(self, timestamps_s: np.ndarray) -> "Volume":
        """The volume with more lines counted (bins are added after the last as needed)."""
        if not len(timestamps_s) or not len(self.starts):
            return self
        bins = np.floor((timestamps_s - self.starts[0]) / self.step_s).astype(np.int64)
        bins = bins[bins >= 0]
        if not len(bins):
            return self
        size = max(len(self.counts), int(bins.max()) + 1)
        counts = np.zeros(size)
        counts[: len(self.counts)] = self.counts
        counts += np.bincount(bins, minlength=size)[:size]
        starts = self.starts[0] + np.arange(size) * self.step_s
        return Volume(starts, counts, self.step_s)


@dataclass(frozen=True)
class _Loaded:
    page: LogPage
    rows: LogRows
    volume: Volume


class LogsViewModel(QObject):
    """One profile's log explorer: the table, the volume, errors, tail, reveal."""

    opened = Signal()
    """The services opened (``unavailable_reason`` None) or could not be."""
    busyChanged = Signal(bool)
    errorChanged = Signal()
    loaded = Signal()
    """A new query's rows are in the table (and ``volume`` is its histogram)."""
    volumeChanged = Signal()
    moreLoaded = Signal(int)
    """Fetch-more appended this many rows."""
    tailArrived = Signal(int)
    """The tail added this many rows at the top."""
    tailChanged = Signal()
    """The tail started, stopped, paused or resumed."""
    completionReady = Signal(object)  # Completion
    revealed = Signal(str, str, int, str)  # record key, field, span index, original
    revealFailed = Signal(str)
    queueChanged = Signal()
    """Records were added to the review queue."""

    def __init__(
        self,
        runner: AsyncRunner,
        profile: Profile,
        opener: LogOpener,
        *,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self.profile = profile
        self._clock = clock
        self._relay = FutureRelay(self)
        self._services: LogServices | None = None
        self._unavailable: str | None = "Opening the logs…"
        self._error: str | None = None
        self._page: LogPage | None = None
        self._query_end: float | None = None
        self._volume: Volume | None = None
        self._run: concurrent.futures.Future[_Loaded] | None = None
        self._more: concurrent.futures.Future[tuple[LogPage, LogRows]] | None = None
        self._completion: concurrent.futures.Future[Completion] | None = None
        self._tail: LogTail | None = None
        self._tail_poll: concurrent.futures.Future[LogRows] | None = None
        self._tail_query: str | None = None
        self._tail_since: float | None = None
        self._tail_on = False
        self._tail_paused = False
        self._queued = 0
        self._labels: dict[str, list[str]] = {}  # completion data, used on the I/O loop only
        self.range_s = DEFAULT_RANGE_S
        self.query = DEFAULT_QUERY
        self.table = LogTableModel(self)
        self.table.set_fetcher(self.fetch_more)
        self._timer = QTimer(self)
        self._timer.setInterval(TAIL_INTERVAL_MS)
        self._timer.timeout.connect(self._poll_tail)
        self.services_future: concurrent.futures.Future[LogServices] = runner.submit(
            asyncio.to_thread(opener)
        )
        self._relay.deliver(self.services_future, self._on_opened)

    # -- state ------------------------------------------------------------------------------

    @property
    def services(self) -> LogServices | None:
        """The open services (None until open, or when they could not be)."""
        return self._services

    @property
    def unavailable_reason(self) -> str | None:
        """Why no query can run (opening, no Loki, missing secret), or None."""
        return self._unavailable

    @property
    def busy(self) -> bool:
        """True while a query or fetch-more is in flight."""
        return self._run is not None or self._more is not None

    def error(self) -> str | None:
        """The last query's error, as the backend gave it."""
        return self._error

    @property
    def volume(self) -> Volume | None:
        """Lines per time bin of the last query (and the tail since)."""
        return self._volume

    @property
    def exhausted(self) -> bool:
        """True when the loaded rows are all the range holds."""
        return self._page is None or self._page.exhausted

    @property
    def tail_on(self) -> bool:
        """Whether the live tail is on (it may be paused)."""
        return self._tail_on

    @property
    def tail_paused(self) -> bool:
        """Whether the tail waits for the user to come back to the newest rows."""
        return self._tail_paused

    def reveal_denial(self) -> str | None:
        """Why this engineer may not reveal originals (None: they may, with a reason)."""
        if self._services is None:
            return self._unavailable or "the logs are not open"
        return denial_reason(self.profile) or self._services.logs.may_reveal()

    # -- actions ----------------------------------------------------------------------------

    def run(self, query: str | None = None, range_s: float | None = None) -> None:
        """Query the newest PAGE_LIMIT records of ``query`` over the range ending now."""
        if query is not None:
            self.query = query.strip() or DEFAULT_QUERY
        if range_s is not None:
            self.range_s = range_s
        services = self._services
        if services is None:
            return
        self._cancel_queries()
        end = self._clock()
        start = end - self.range_s
        self._query_end = end
        threshold = self.profile.review_threshold
        future = self._runner.submit(_load(services.logs, self.query, start, end, threshold))
        self._run = future
        self._relay.deliver(future, self._on_loaded)
        self.busyChanged.emit(True)
        if self._tail_on:
            self._drop_tail_poll()
            self._tail_since, self._tail_query, self._tail = end, self.query, None

    def fetch_more(self) -> None:
        """Load the next older page and append it (the table asks on scroll)."""
        services, page = self._services, self._page
        if services is None or page is None or page.exhausted or self.busy:
            return
        threshold = self.profile.review_threshold
        future = self._runner.submit(_older(services.logs, page, threshold))
        self._more = future
        self._relay.deliver(future, self._on_more)
        self.busyChanged.emit(True)

    def set_filter(self, version: str | None, text: str) -> None:
        """Show only ``version``'s rows holding ``text`` (client-side, over what is loaded)."""
        self.table.set_filter(version, text)

    def set_tail(self, on: bool) -> None:
        """Start or stop the live tail of the current query (from the newest row loaded)."""
        if on == self._tail_on:
            return
        self._tail_on = on
        self._tail_paused = False
        if on:
            since = self._query_end if self._query_end is not None else self._clock()
            self._tail_since, self._tail_query, self._tail = since, self.query, None
            self._timer.start()
            self._poll_tail()
        else:
            self._timer.stop()
            self._drop_tail_poll()
        self.tailChanged.emit()

    def set_tail_paused(self, paused: bool) -> None:
        """Pause the tail (the user scrolled away from the newest rows) or resume it."""
        if paused == self._tail_paused or not self._tail_on:
            return
        self._tail_paused = paused
        if not paused:
            self._poll_tail()
        self.tailChanged.emit()

    def request_completion(self, text: str, cursor: int) -> None:
        """Label names or values at ``cursor``; ``completionReady`` delivers them."""
        if self._services is None:
            return
        if self._completion is not None:
            self._completion.cancel()
        future = self._runner.submit(self._complete(self._services.logs, text, cursor))
        self._completion = future
        self._relay.deliver(future, self._on_completion)

    def reveal(self, record: LogRecord, field: str, span_index: int, reason: str) -> None:
        """Ask for one original behind a placeholder; audited, allowed or not.
        ``revealed`` or ``revealFailed`` answers."""
        if self._services is None:
            self.revealFailed.emit(self.reveal_denial() or "the logs are not open")
            return
        logs = self._services.logs
        future = self._runner.submit(
            asyncio.to_thread(logs.reveal, record, field, span_index, reason=reason)
        )
        self._relay.deliver(
            future, lambda done: self._on_revealed(done, record.key, field, span_index)
        )

    def close(self) -> "concurrent.futures.Future[None]":
        """Stop the tail, cancel what is in flight and close the services."""
        self._timer.stop()
        self._cancel_queries()
        self._drop_tail_poll()
        if self._completion is not None:
            self._completion.cancel()
        return self._runner.submit(_close_when_open(self.services_future))

    # -- results ----------------------------------------------------------------------------

    def _on_opened(self, future: "concurrent.futures.Future[LogServices]") -> None:
        try:
            self._services = future.result()
        except Exception as exc:  # NoLogBackend, MissingSecret, ReviewError…: said in the tab
            self._unavailable = str(exc) or type(exc).__name__
        else:
            self._unavailable = None
        self.opened.emit()

    def _on_loaded(self, future: "concurrent.futures.Future[_Loaded]") -> None:
        if future is not self._run:
            return
        self._run = None
        self.busyChanged.emit(False)
        if future.cancelled():
            return
        try:
            loaded = future.result()
        except BackendError as exc:
            self._error = exc.message
            self.errorChanged.emit()
            return
        self._error = None
        self._page = loaded.page
        self._volume = loaded.volume
        self.table.set_rows(loaded.rows)
        self.table.set_more_available(not loaded.page.exhausted)
        self.errorChanged.emit()
        self.loaded.emit()
        self.volumeChanged.emit()
        self._check_queue()

    def _on_more(self, future: "concurrent.futures.Future[tuple[LogPage, LogRows]]") -> None:
        if future is not self._more:
            return
        self._more = None
        self.busyChanged.emit(False)
        if future.cancelled():
            return
        try:
            page, rows = future.result()
        except BackendError as exc:
            self._error = exc.message
            self.errorChanged.emit()
            self.table.set_more_available(True)  # scrolling down again retries
            return
        self._page = page
        self.table.append(rows)
        self.table.set_more_available(not page.exhausted)
        self.moreLoaded.emit(len(rows))
        self._check_queue()

    def _poll_tail(self) -> None:
        services, query = self._services, self._tail_query
        if (
            services is None
            or query is None
            or not self._tail_on
            or self._tail_paused
            or self._tail_poll is not None
            or self._run is not None
        ):
            return
        if self._tail is None or self._tail.query != query:
            self._tail = services.logs.tail(query, since_s=self._tail_since)
        future = self._runner.submit(_poll(self._tail, self.profile.review_threshold))
        self._tail_poll = future
        self._relay.deliver(future, self._on_tail)

    def _on_tail(self, future: "concurrent.futures.Future[LogRows]") -> None:
        if future is not self._tail_poll:
            return
        self._tail_poll = None
        if future.cancelled() or not self._tail_on:
            return
        try:
            rows = future.result()
        except BackendError as exc:
            self._error = exc.message
            self.errorChanged.emit()
            return
        if not len(rows):
            return
        shown = self.table.prepend(rows)
        if self._volume is not None:
            self._volume = self._volume.add(rows.timestamps_ns / 1e9)
            self.volumeChanged.emit()
        self.tailArrived.emit(shown)
        self._check_queue()
        if len(rows) >= MAX_LIMIT_PER_REQUEST:
            self._poll_tail()  # more are waiting

    def _drop_tail_poll(self) -> None:
        if self._tail_poll is not None:
            self._tail_poll.cancel()
            self._tail_poll = None

    def _on_completion(self, future: "concurrent.futures.Future[Completion]") -> None:
        if future is not self._completion or future.cancelled():
            return
        self._completion = None
        try:
            completion = future.result()
        except BackendError:
            return  # completion is a convenience: a failed lookup offers nothing
        self.completionReady.emit(completion)

    def _on_revealed(
        self, future: "concurrent.futures.Future[str]", key: str, field: str, span: int
    ) -> None:
        try:
            original = future.result()
        except RevealDenied as exc:
            self.revealFailed.emit(str(exc))
        except Exception as exc:  # the audit log could not be written: nothing is shown
            self.revealFailed.emit(f"not revealed: {exc}")
        else:
            self.revealed.emit(key, field, span, original)

    def _check_queue(self) -> None:
        services = self._services
        if services is not None and services.logs.queued != self._queued:
            self._queued = services.logs.queued
            self.queueChanged.emit()

    def _cancel_queries(self) -> None:
        for future in (self._run, self._more):
            if future is not None:
                future.cancel()
        if self._run is not None or self._more is not None:
            self._run = self._more = None
            self.busyChanged.emit(False)

    async def _complete(self, logs: LogService, text: str, cursor: int) -> Completion:
        context = context_at(text, cursor)
        index = CompletionIndex()
        if context.kind is ContextKind.LABEL_NAME:
            if "" not in self._labels:
                self._labels[""] = await logs.labels()
            index = CompletionIndex(label_names=self._labels[""])
        elif context.kind is ContextKind.LABEL_VALUE and context.label:
            if context.label not in self._labels:
                self._labels[context.label] = await logs.label_values(context.label)
            index = CompletionIndex(label_values=self._labels[context.label])
        elif context.kind is ContextKind.EXPRESSION:
            return Completion(context, ())  # LogQL starts with a selector: nothing to offer
        return Completion(context, tuple(complete(context, index)))


async def _load(
    logs: LogService, query: str, start: float, end: float, threshold: float
) -> _Loaded:
    step = max(1.0, math.ceil((end - start) / HISTOGRAM_BINS))
    page_task = asyncio.ensure_future(logs.query(query, start, end, limit=PAGE_LIMIT))
    try:
        series: list[MetricSeries] | None = await logs.volume(query, start, end, step_s=step)
    except BackendError:
        series = None  # the histogram then counts the loaded rows
    page = await page_task
    rows = log_rows(page.records, threshold)
    return _Loaded(page, rows, _volume(series, rows, start, end, step))


def _volume(
    series: list[MetricSeries] | None, rows: LogRows, start: float, end: float, step: float
) -> Volume:
    bins = max(1, math.ceil((end - start) / step))
    starts = start + np.arange(bins) * step
    empty = Volume(starts, np.zeros(bins), step)
    if series is None:
        return empty.add(rows.timestamps_ns / 1e9)
    counts = np.zeros(bins)
    for one in series:
        times = np.asarray(one.timestamps, dtype=float)
        # A count_over_time sample at t covers (t - step, t]: it belongs to the bin before t.
        index = np.floor((times - step - start) / step + 1e-9).astype(np.int64)
        keep = (index >= 0) & (index < bins)
        np.add.at(counts, index[keep], np.asarray(one.values, dtype=float)[keep])
    return Volume(starts, counts, step)


async def _older(logs: LogService, page: LogPage, threshold: float) -> tuple[LogPage, LogRows]:
    more = await logs.fetch_more(page, limit=PAGE_LIMIT)
    return more, log_rows(more.records, threshold)


async def _poll(tail: LogTail, threshold: float) -> LogRows:
    records = await tail.poll()
    return log_rows(records[::-1], threshold)  # newest first, as the table shows them


async def _close_when_open(opening: "concurrent.futures.Future[LogServices]") -> None:
    try:
        services = await asyncio.wrap_future(opening)
    except Exception:
        return  # it never opened: nothing to close
    await services.aclose()
