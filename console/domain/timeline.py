"""One incident timeline per deployment: items from every source on one time axis. Pure.

Each item links to its source through a typed reference the GUI can open: the version
(detail charts), the alert (its generatorURL), the silence, the drift point, the synthetic
run, or the audit entry (with its hash).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from console.domain.alerts import AlertSpan, Silence
from console.domain.annotations import Annotation
from console.domain.audit import AuditEntry


class TimelineKind(StrEnum):
    """The lane an item belongs to."""

    VERSION = "version"
    ALERT = "alert"
    SILENCE = "silence"
    DRIFT = "drift"
    SYNTHETIC_RUN = "synthetic_run"
    AUDIT = "audit"


LANES = tuple(TimelineKind)
"""Lane order, top to bottom."""


@dataclass(frozen=True)
class VersionRef:
    """A version change: open the deployment's charts at that version."""

    deployment: str
    version: str | None


@dataclass(frozen=True)
class AlertRef:
    """An alert: its fingerprint and the generatorURL of its rule's expression."""

    fingerprint: str
    generator_url: str | None = None


@dataclass(frozen=True)
class SilenceRef:
    """A silence in the profile's Alertmanager."""

    silence_id: str


@dataclass(frozen=True)
class DriftRef:
    """A drift step of a deployment's histogram."""

    deployment: str
    histogram: str
    at: float


@dataclass(frozen=True)
class RunRef:
    """A synthetic suite run in the run history."""

    run_id: int


@dataclass(frozen=True)
class AuditRef:
    """An audit log entry and its hash."""

    entry_id: int
    hash: str


SourceRef = VersionRef | AlertRef | SilenceRef | DriftRef | RunRef | AuditRef


@dataclass(frozen=True)
class TimelineItem:
    """Something that happened at ``at`` (until ``end`` for spans; None: still going)."""

    at: float
    kind: TimelineKind
    title: str
    source: SourceRef
    detail: str = ""
    end: float | None = None
    is_span: bool = False
    severity: str | None = None


def merge(
    sources: Iterable[Iterable[TimelineItem]], start: float, end: float
) -> list[TimelineItem]:
    """Items of every source that touch [start, end], by time then lane, duplicates once."""
    order = {kind: i for i, kind in enumerate(LANES)}
    kept: dict[TimelineItem, None] = {}
    for items in sources:
        for item in items:
            last = item.end if item.is_span and item.end is not None else item.at
            if item.is_span and item.end is None:
                last = end
            if item.at <= end and last >= start:
                kept.setdefault(item)
    return sorted(kept, key=lambda i: (i.at, order[i.kind], i.title))


def version_items(changes: Iterable[Annotation]) -> list[TimelineItem]:
    """Version changes (``annotations.version_changes``) as items."""
    return [
        TimelineItem(
            a.at,
            TimelineKind.VERSION,
            a.text,
            VersionRef(a.deployment or "", a.version),
        )
        for a in changes
    ]


def alert_items(
    spans: Iterable[AlertSpan], generator_urls: dict[str, str] | None = None
) -> list[TimelineItem]:
    """Alert firings as spans (start to end, or still firing)."""
    urls = generator_urls or {}
    return [
        TimelineItem(
            s.started_at,
            TimelineKind.ALERT,
            f"{s.name or 'alert'} " + ("fired" if s.ended_at is not None else "firing"),
            AlertRef(s.fingerprint, urls.get(s.fingerprint)),
            detail=", ".join(f"{k}={v}" for k, v in sorted(s.labels.items())),
            end=s.ended_at,
            is_span=True,
            severity=s.labels.get("severity"),
        )
        for s in spans
    ]


def silence_items(silences: Iterable[Silence]) -> list[TimelineItem]:
    """Silences as spans from their start to their end."""
    return [
        TimelineItem(
            s.starts_at,
            TimelineKind.SILENCE,
            f"silence by {s.created_by}: {s.comment}",
            SilenceRef(s.id),
            detail=", ".join(str(m) for m in s.matchers),
            end=s.ends_at,
            is_span=True,
        )
        for s in silences
    ]


def drift_items(
    deployment: str,
    histogram: str,
    timestamps: Sequence[float],
    statuses: Sequence[str],
    values: Sequence[float],
    judged: frozenset[str] = frozenset({"ok", "warn", "alert"}),
) -> list[TimelineItem]:
    """One item per drift threshold crossing: a step whose judged status differs from the
    previous judged one (inconclusive steps neither cross nor reset)."""
    items = []
    previous: str | None = None
    for at, status, value in zip(timestamps, statuses, values, strict=True):
        if status not in judged:
            continue
        if previous is not None and status != previous:
            items.append(
                TimelineItem(
                    float(at),
                    TimelineKind.DRIFT,
                    f"{histogram} drift {previous} → {status}",
                    DriftRef(deployment, histogram, float(at)),
                    detail=f"score {value:.3g}",
                    severity={"alert": "critical", "warn": "warning"}.get(status, "info"),
                )
            )
        previous = status
    return items


def audit_items(entries: Iterable[AuditEntry]) -> list[TimelineItem]:
    """Audit entries (rollbacks, failovers, silences, reveals) with their hash."""
    return [
        TimelineItem(
            datetime.fromisoformat(e.at).timestamp(),
            TimelineKind.AUDIT,
            f"{e.action} by {e.actor}: {e.outcome.value}",
            AuditRef(e.id, e.hash),
            detail=e.reason,
        )
        for e in entries
    ]
