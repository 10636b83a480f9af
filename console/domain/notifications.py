"""Which events become desktop notifications: per-profile rules and storm control. Pure.

Events are an alert starting to fire, a deployment turning ALERT, and a drift threshold
crossing. The rules of a profile keep an event when its severity is at least the rule's,
it is outside quiet hours and its deployment is not muted. Storm control then collapses
identical events (same key within ``collapse_s``) and lets at most one notification per
deployment out per ``per_deployment_s``: what arrives in between is held and comes out as
one summary when the deployment's minute is over (``flush``).
"""

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from enum import StrEnum

from console.domain.alerts import SEVERITY_RANK, severity_rank
from console.domain.slo import Status

PER_DEPLOYMENT_S = 60.0
COLLAPSE_S = 600.0
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
FLEET = "(fleet)"
"""The deployment key of an event that names no deployment."""


class EventKind(StrEnum):
    """What happened."""

    ALERT_FIRING = "alert_firing"
    DEPLOYMENT_ALERT = "deployment_alert"
    DRIFT_CROSSED = "drift_crossed"


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local time without notifications; it may wrap past midnight."""

    start: str
    end: str

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            if not _CLOCK.match(getattr(self, name)):
                raise ValueError(f"{name} {getattr(self, name)!r} is not a time like 22:00")
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end times")

    def contains(self, moment: time) -> bool:
        """Whether a local wall-clock time falls inside (start included, end excluded)."""
        start, end = _clock(self.start), _clock(self.end)
        if start < end:
            return start <= moment < end
        return moment >= start or moment < end


@dataclass(frozen=True)
class NotificationRules:
    """A profile's notification rules."""

    min_severity: str = "warning"
    quiet_hours: QuietHours | None = None
    muted: tuple[str, ...] = ()
    """Deployments that never notify."""

    def __post_init__(self) -> None:
        if self.min_severity not in SEVERITY_RANK:
            raise ValueError(
                f"{self.min_severity!r} is not a severity: use one of {', '.join(SEVERITY_RANK)}"
            )


@dataclass(frozen=True)
class Event:
    """Something that may notify. ``key`` identifies it: equal keys are the same event."""

    kind: EventKind
    at: float
    deployment: str | None
    title: str
    body: str
    severity: str
    key: str
    profile: str = ""


@dataclass(frozen=True)
class Notification:
    """What to show: one event, or a summary of several of one deployment."""

    deployment: str | None
    title: str
    body: str
    severity: str
    events: tuple[Event, ...]
    profile: str = ""


@dataclass(frozen=True)
class Verdict:
    """Whether the rules keep an event, and if not, why."""

    kept: bool
    reason: str = ""


def judge(event: Event, rules: NotificationRules, *, zone: tzinfo | None = None) -> Verdict:
    """Apply a profile's rules to one event (``zone`` None: the system's local time)."""
    if event.deployment is not None and event.deployment in rules.muted:
        return Verdict(False, f"{event.deployment} is muted")
    if severity_rank(event.severity) < SEVERITY_RANK[rules.min_severity]:
        return Verdict(False, f"severity {event.severity} is below {rules.min_severity}")
    quiet = rules.quiet_hours
    if quiet is not None:
        local = datetime.fromtimestamp(event.at, zone).time()
        if quiet.contains(local):
            return Verdict(False, f"quiet hours {quiet.start}-{quiet.end}")
    return Verdict(True)


@dataclass
class _Pending:
    events: list[Event] = field(default_factory=list)


class NotificationPolicy:
    """Rules plus storm control. Time comes from the events and ``flush(now)``, not a clock."""

    def __init__(
        self,
        rules_for: Callable[[str], NotificationRules],
        *,
        zone: tzinfo | None = None,
        per_deployment_s: float = PER_DEPLOYMENT_S,
        collapse_s: float = COLLAPSE_S,
    ) -> None:
        self._rules_for = rules_for
        self._zone = zone
        self._per_deployment_s = per_deployment_s
        self._collapse_s = collapse_s
        self._seen: dict[str, float] = {}
        self._last_sent: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], _Pending] = {}
        self.dropped: list[tuple[Event, str]] = []
        """Events the rules or collapsing dropped, with the reason (newest last, bounded)."""

    def submit(self, events: Iterable[Event]) -> list[Notification]:
        """The notifications to show now for ``events`` (the rest is dropped or held)."""
        out: list[Notification] = []
        for event in sorted(events, key=lambda e: e.at):
            verdict = judge(event, self._rules_for(event.profile), zone=self._zone)
            if not verdict.kept:
                self._drop(event, verdict.reason)
                continue
            seen = self._seen.get(event.key)
            if seen is not None and event.at - seen < self._collapse_s:
                self._drop(event, "identical to an earlier event")
                continue
            self._seen[event.key] = event.at
            slot = (event.profile, event.deployment or FLEET)
            last = self._last_sent.get(slot)
            if last is not None and event.at - last < self._per_deployment_s:
                self._held.setdefault(slot, _Pending()).events.append(event)
                continue
            self._last_sent[slot] = event.at
            out.append(_single(event))
        return out

    def flush(self, now: float) -> list[Notification]:
        """Summaries of the events held for deployments whose minute is over."""
        out: list[Notification] = []
        for slot in sorted(self._held):
            if now - self._last_sent.get(slot, -math.inf) < self._per_deployment_s:
                continue
            events = tuple(self._held.pop(slot).events)
            self._last_sent[slot] = now
            out.append(_summary(events))
        return out

    def _drop(self, event: Event, reason: str) -> None:
        self.dropped.append((event, reason))
        del self.dropped[:-100]


def _single(event: Event) -> Notification:
    return Notification(
        event.deployment, event.title, event.body, event.severity, (event,), event.profile
    )


def _summary(events: tuple[Event, ...]) -> Notification:
    if len(events) == 1:
        return _single(events[0])
    first = events[0]
    worst = max(events, key=lambda e: severity_rank(e.severity))
    where = first.deployment or "the fleet"
    lines = "\n".join(e.title for e in events)
    return Notification(
        first.deployment,
        f"{len(events)} events on {where}",
        lines,
        worst.severity,
        events,
        first.profile,
    )


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def alert_started(
    profile: str,
    fingerprint: str,
    name: str,
    deployment: str | None,
    severity: str | None,
    started_at: float,
    summary: str | None,
) -> Event:
    """The event of an alert that starts firing (keyed by its fingerprint and start)."""
    return Event(
        EventKind.ALERT_FIRING,
        started_at,
        deployment,
        f"{name or 'alert'} firing" + (f" on {deployment}" if deployment else ""),
        summary or "",
        severity or "warning",
        f"{profile}/alert/{fingerprint}/{started_at:.0f}",
        profile,
    )


def status_changes(
    profile: str,
    before: Mapping[str, Status],
    after: Mapping[str, Status],
    at: float,
) -> list[Event]:
    """A DEPLOYMENT_ALERT event per deployment that turned ALERT since ``before``.

    A deployment seen for the first time does not count: the console just started.
    """
    return [
        Event(
            EventKind.DEPLOYMENT_ALERT,
            at,
            name,
            f"{name} turned ALERT",
            f"status was {before[name].value}",
            "critical",
            f"{profile}/status/{name}/alert",
            profile,
        )
        for name, status in sorted(after.items())
        if status is Status.ALERT and name in before and before[name] is not Status.ALERT
    ]


def drift_crossed(
    profile: str, deployment: str, histogram: str, old: str, new: str, value: float, at: float
) -> Event:
    """The event of a drift threshold crossing (alert: critical, warn: warning, else info)."""
    severity = {"alert": "critical", "warn": "warning"}.get(new, "info")
    return Event(
        EventKind.DRIFT_CROSSED,
        at,
        deployment,
        f"{deployment}: {histogram} drift {old} → {new}",
        f"score {value:.3g}",
        severity,
        f"{profile}/drift/{deployment}/{histogram}/{new}",
        profile,
    )
