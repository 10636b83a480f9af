"""Prompt/output logs of one profile: queries, fetch-more, live tail, volume, reveal. No Qt.

Every record leaves this service redacted (console.domain.redaction, with the profile's own
patterns): what the views show, copy, export or cache holds placeholders such as [EMAIL].
The originals of the records it returned stay in memory only (a bounded cache), so that an
operator can reveal one span; each reveal, allowed or refused, writes an audit entry.

A live tail repeats a forward range query from the last entry seen (Loki's /tail websocket
would need a websocket client and bypass the HTTP client's retries, auth and circuit
breaker; polling works through the same path as every other query). Pausing a tail is not
polling it: the next poll returns everything since, up to the backend's page size.
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from console.backends.log_protocol import (
    MAX_LIMIT_PER_REQUEST,
    Direction,
    LogBackend,
    MetricSeries,
)
from console.config.settings import Profile, Role
from console.domain.audit import AuditDraft, AuditOutcome
from console.domain.log_records import (
    FieldMap,
    LogEntry,
    LogRecord,
    parse_entries,
    redact_records,
)
from console.domain.redaction import Redactor
from console.services.audit_log import AuditLog
from console.services.permissions import actor_of
from console.services.review_queue import ReviewQueue

NS = 1_000_000_000
ORIGINALS_KEPT = 50_000
"""Records whose originals stay revealable (the most recently returned ones)."""
REVEAL_ACTION = "reveal_log"


class RevealDenied(Exception):
    """The original cannot be shown: the role, no audit log, or the record is no longer held."""


@dataclass(frozen=True)
class LogPage:
    """Records of one query, newest first, and where the next (older) page starts."""

    query: str
    start_ns: int
    end_ns: int
    records: tuple[LogRecord, ...]
    exhausted: bool
    """True when the range holds nothing older than these records."""

    @property
    def oldest_ns(self) -> int | None:
        """The timestamp of the oldest record, if any."""
        return self.records[-1].timestamp_ns if self.records else None


class LogService:
    """Queries one profile's log backend and redacts what it returns."""

    def __init__(
        self,
        backend: LogBackend,
        *,
        redactor: Redactor | None = None,
        field_map: FieldMap | None = None,
        deployment_label: str = "deployment",
        version_label: str = "version",
        profile: Profile | None = None,
        audit: AuditLog | None = None,
        review_queue: ReviewQueue | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self._redactor = redactor or Redactor()
        self._field_map = field_map or FieldMap()
        self._labels = (deployment_label, version_label)
        self._profile = profile
        self._audit = audit
        self._review_queue = review_queue
        self._clock = clock
        self._originals: OrderedDict[str, LogRecord] = OrderedDict()
        self.queued = 0
        """Records this service added to the review queue (below the profile's threshold)."""

    async def query(
        self, logql: str, start_s: float, end_s: float, *, limit: int = 1000
    ) -> LogPage:
        """The newest ``limit`` records of ``[start_s, end_s)``; raises BackendError."""
        start_ns, end_ns = _ns(start_s), _ns(end_s)
        entries = await self.backend.query_range(
            logql, start_ns, end_ns, limit=limit, direction=Direction.BACKWARD
        )
        return LogPage(logql, start_ns, end_ns, tuple(self.records(entries)), len(entries) < limit)

    async def fetch_more(self, page: LogPage, *, limit: int = 1000) -> LogPage:
        """The next ``limit`` records older than ``page``'s (only the new ones)."""
        oldest = page.oldest_ns
        if page.exhausted or oldest is None:
            return LogPage(page.query, page.start_ns, page.start_ns, (), True)
        shown = {r.key for r in page.records if r.timestamp_ns == oldest}
        entries = await self.backend.query_range(
            page.query,
            page.start_ns,
            oldest + 1,  # end is exclusive: entries sharing the oldest nanosecond come again
            limit=limit + len(shown),
            direction=Direction.BACKWARD,
        )
        records = [r for r in self.records(entries) if r.key not in shown][:limit]
        return LogPage(
            page.query, page.start_ns, oldest, tuple(records), len(entries) < limit + len(shown)
        )

    def tail(self, logql: str, *, since_s: float | None = None) -> "LogTail":
        """A live tail of ``logql`` from ``since_s`` (default: now)."""
        since = self._clock() if since_s is None else since_s
        return LogTail(self, logql, _ns(since))

    async def volume(
        self, logql: str, start_s: float, end_s: float, *, step_s: float
    ) -> list[MetricSeries]:
        """Lines per step of a log query over the range (for the volume histogram),
        as ``sum(count_over_time(QUERY [step]))``; raises BackendError."""
        step = max(1, math.ceil(step_s))
        query = f"sum(count_over_time({logql} [{step}s]))"
        return await self.backend.metric_range(query, _ns(start_s), _ns(end_s), float(step))

    def now_ns(self) -> int:
        """The service clock's time, in nanoseconds."""
        return _ns(self._clock())

    async def labels(self) -> list[str]:
        """Label names, for completion in a LogQL editor."""
        return await self.backend.labels()

    async def label_values(self, name: str) -> list[str]:
        """The values of one label, for completion."""
        return await self.backend.label_values(name)

    def records(self, entries: Sequence[LogEntry]) -> list[LogRecord]:
        """Parsed and redacted records of ``entries``; their originals are kept for reveal,
        and with a review queue (and profile) those below ``review_threshold`` are queued
        (a blocking SQLite write: this runs on the I/O loop)."""
        deployment_label, version_label = self._labels
        parsed = parse_entries(
            entries,
            self._field_map,
            deployment_label=deployment_label,
            version_label=version_label,
        )
        redacted = redact_records(parsed, self._redactor)
        for original, shown in zip(parsed, redacted, strict=True):
            if shown.redacted:
                self._originals[shown.key] = original
                self._originals.move_to_end(shown.key)
        while len(self._originals) > ORIGINALS_KEPT:
            self._originals.popitem(last=False)
        if self._review_queue is not None and self._profile is not None:
            self.queued += self._review_queue.enqueue(
                self._profile.name, redacted, self._profile.review_threshold
            )
        return redacted

    def may_reveal(self) -> str | None:
        """Why reveal is refused (None: allowed): it needs the operator role and an audit log."""
        if self._audit is None or self._profile is None:
            return "revealing needs the audit log, which is not open"
        if self._profile.role not in (Role.OPERATOR, Role.ADMIN):
            return f"profile {self._profile.name!r} gives the viewer role; revealing needs operator"
        return None

    def reveal(self, record: LogRecord, field: str, span_index: int, *, reason: str) -> str:
        """The original text behind one placeholder of ``record`` (a redacted record this
        service returned). Writes an audit entry, also when refused; blocking (SQLite):
        call it on the I/O loop. Raises RevealDenied."""
        refusal = self.may_reveal()
        spans = record.redactions.get(field, ())
        if refusal is None and not reason.strip():
            refusal = "a reveal needs a reason"
        if refusal is None and not 0 <= span_index < len(spans):
            refusal = f"record {record.key} has no redacted span {span_index} in {field!r}"
        original = self._originals.get(record.key)
        if refusal is None and original is None:
            refusal = f"record {record.key} is no longer held; query it again"
        kind = spans[span_index].kind if 0 <= span_index < len(spans) else "?"
        self._audit_reveal(record, field, kind, reason, refusal)
        if refusal is not None:
            raise RevealDenied(refusal)
        assert original is not None
        text = getattr(original, field)
        span = spans[span_index]
        return str(text)[span.start : span.end]

    def _audit_reveal(
        self, record: LogRecord, field: str, kind: str, reason: str, refusal: str | None
    ) -> None:
        if self._audit is None or self._profile is None:
            return
        self._audit.append(
            AuditDraft(
                actor=actor_of(self._profile),
                profile=self._profile.name,
                action=REVEAL_ACTION,
                target=f"{record.deployment or '?'} {record.key} {field} [{kind}]",
                outcome=AuditOutcome.DENIED if refusal else AuditOutcome.SUCCEEDED,
                reason=reason,
                error=refusal,
            )
        )


class LogTail:
    """Polls a log query forward from the last entry seen; ``poll`` gives only new records."""

    def __init__(self, service: LogService, query: str, since_ns: int) -> None:
        self._service = service
        self.query = query
        self._last_ns = since_ns
        self._seen_at_last: set[str] = set()

    @property
    def last_ns(self) -> int:
        """The timestamp of the newest entry seen (or the start)."""
        return self._last_ns

    async def poll(self, *, limit: int = MAX_LIMIT_PER_REQUEST) -> list[LogRecord]:
        """Records newer than the last poll's, oldest first; raises BackendError."""
        now_ns = self._service.now_ns() + 1
        entries = await self._service.backend.query_range(
            self.query, self._last_ns, now_ns, limit=limit, direction=Direction.FORWARD
        )
        records = [r for r in self._service.records(entries) if r.key not in self._seen_at_last]
        if records:
            newest = records[-1].timestamp_ns
            keys = {r.key for r in records if r.timestamp_ns == newest}
            self._seen_at_last = keys | self._seen_at_last if newest == self._last_ns else keys
            self._last_ns = newest
        return records


def _ns(seconds: float) -> int:
    return round(seconds * NS)
