"""Alerts, silences and label matchers, as Alertmanager (API v2) and Prometheus know them.

An alert is identified by its fingerprint: Alertmanager's 64-bit FNV-1a hash of the sorted
label pairs, which ``fingerprint`` computes the same way for Prometheus's own alerts.
"""

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from urllib.parse import parse_qs, urlsplit

Labels = Mapping[str, str]

ALERTNAME = "alertname"
SEVERITY = "severity"
DEFAULT_DEPLOYMENT_LABELS = ("deployment", "model_name", "model")
"""Labels naming the deployment an alert is about, tried in this order."""
SEVERITY_RANK: Mapping[str, int] = MappingProxyType(
    {
        "none": 0,
        "info": 1,
        "low": 1,
        "warning": 2,
        "warn": 2,
        "medium": 2,
        "error": 3,
        "high": 3,
        "critical": 4,
        "page": 4,
    }
)
"""How severe each usual ``severity`` label value is; an unknown value ranks as warning."""
_UNKNOWN_SEVERITY_RANK = 2
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF

DEFAULT_ACK_S = 3600.0
"""How long an ack silences its alert unless the engineer says otherwise."""


class AlertState(StrEnum):
    """Where an alert stands: firing, held back by a silence or inhibition, or pending."""

    ACTIVE = "active"
    SUPPRESSED = "suppressed"
    UNPROCESSED = "unprocessed"
    PENDING = "pending"
    """Prometheus only: the rule's condition holds but not yet for its ``for`` duration."""


class AlertSource(StrEnum):
    """Which API an alert came from."""

    ALERTMANAGER = "alertmanager"
    PROMETHEUS = "prometheus"


class SilenceState(StrEnum):
    """A silence is pending before its start, active until its end, then expired."""

    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


class MatcherError(ValueError):
    """A matcher cannot be built from the text or values given; says which and why."""


@dataclass(frozen=True)
class Matcher:
    """``name`` ``=``, ``!=``, ``=~`` or ``!~`` ``value`` (regexes are fully anchored)."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def __post_init__(self) -> None:
        if not _LABEL_NAME.match(self.name):
            raise MatcherError(f"{self.name!r} is not a label name")
        if self.is_regex:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise MatcherError(f"{self.name}: invalid regular expression: {exc}") from None

    @property
    def operator(self) -> str:
        """``=``, ``!=``, ``=~`` or ``!~``."""
        return {
            (False, True): "=",
            (False, False): "!=",
            (True, True): "=~",
            (True, False): "!~",
        }[(self.is_regex, self.is_equal)]

    def matches(self, labels: Labels) -> bool:
        """Whether a label set matches (a missing label has the value "")."""
        value = labels.get(self.name, "")
        hit = re.fullmatch(self.value, value) is not None if self.is_regex else value == self.value
        return hit == self.is_equal

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.operator}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """A matcher from ``name=value``, ``name!="value"``, ``name=~"re.*"`` or ``name!~re``."""
    match = _MATCHER.match(text)
    if match is None:
        raise MatcherError(
            f'{text!r} is not a matcher such as severity="critical" or alertname=~"High.*"'
        )
    name, operator, raw = match.groups()
    value = raw
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        value = re.sub(r"\\(.)", r"\1", raw[1:-1])
    return Matcher(name, value, is_regex="~" in operator, is_equal=operator[0] != "!")


def exact_matchers(labels: Labels) -> tuple[Matcher, ...]:
    """Equality matchers for every label: a silence of exactly this label set."""
    return tuple(Matcher(name, labels[name]) for name in sorted(labels) if labels[name])


def fingerprint(labels: Labels) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 of the sorted pairs, 16 hex."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            value = ((value ^ _SEPARATOR) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def severity_rank(severity: str | None) -> int:
    """The rank of a severity (``SEVERITY_RANK``); a missing one ranks as warning."""
    if not severity:
        return _UNKNOWN_SEVERITY_RANK
    return SEVERITY_RANK.get(severity.lower(), _UNKNOWN_SEVERITY_RANK)


def deployment_of(labels: Labels, deployment_labels: Iterable[str]) -> str | None:
    """The deployment an alert names through the first of ``deployment_labels`` it has."""
    return next((labels[name] for name in deployment_labels if labels.get(name)), None)


@dataclass(frozen=True)
class Alert:
    """One alert: its labels and annotations, since when it fires, and what holds it back.

    Times are Unix seconds; ``ends_at`` is None while no end is known.
    """

    fingerprint: str
    labels: Labels
    annotations: Labels
    starts_at: float
    state: AlertState
    source: AlertSource = AlertSource.ALERTMANAGER
    ends_at: float | None = None
    updated_at: float | None = None
    generator_url: str | None = None
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    receivers: tuple[str, ...] = ()
    value: str | None = None
    """Prometheus only: the value of the rule's expression when it last fired."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "annotations", MappingProxyType(dict(self.annotations)))
        if not math.isfinite(self.starts_at):
            raise ValueError(f"alert {self.fingerprint}: start {self.starts_at} is not finite")

    @property
    def name(self) -> str:
        """The ``alertname`` label (empty when missing)."""
        return self.labels.get(ALERTNAME, "")

    @property
    def severity(self) -> str | None:
        """The ``severity`` label, if any."""
        return self.labels.get(SEVERITY) or None

    @property
    def summary(self) -> str | None:
        """The ``summary`` annotation (or ``description``, ``message``), if any."""
        return next(
            (
                self.annotations[k]
                for k in ("summary", "description", "message")
                if self.annotations.get(k)
            ),
            None,
        )

    @property
    def runbook_url(self) -> str | None:
        """The ``runbook_url`` annotation, if any."""
        return self.annotations.get("runbook_url") or None

    @property
    def silenced(self) -> bool:
        """Whether a silence holds the alert back."""
        return bool(self.silenced_by)

    def firing_for(self, now: float) -> float:
        """Seconds since the alert started (0 when it starts in the future)."""
        return max(0.0, now - self.starts_at)

    def deployment(
        self, deployment_labels: Iterable[str] = DEFAULT_DEPLOYMENT_LABELS
    ) -> str | None:
        """The deployment the alert names, through the first matching label."""
        return deployment_of(self.labels, deployment_labels)


@dataclass(frozen=True)
class AlertGroup:
    """Alertmanager's grouping of alerts by its route's ``group_by`` labels."""

    labels: Labels
    receiver: str
    alerts: tuple[Alert, ...]


@dataclass(frozen=True)
class Silence:
    """A silence: matchers, when it holds, who made it and why. Times are Unix seconds."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    state: SilenceState = SilenceState.ACTIVE
    updated_at: float | None = None

    def matches(self, labels: Labels) -> bool:
        """Whether every matcher matches ``labels``."""
        return all(m.matches(labels) for m in self.matchers)

    def is_exactly(self, labels: Labels) -> bool:
        """Whether the silence is the one ``exact_matchers(labels)`` gives (an ack)."""
        return set(self.matchers) == set(exact_matchers(labels))


@dataclass(frozen=True)
class SilenceDraft:
    """A silence to create (``id`` None) or to replace (``id`` set)."""

    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    id: str | None = None

    def __post_init__(self) -> None:
        if not self.matchers:
            raise MatcherError("a silence needs at least one matcher")
        if all(m.matches({}) for m in self.matchers):
            # Alertmanager refuses these: they would silence every alert.
            raise MatcherError("at least one matcher must not match the empty label set")
        if not (math.isfinite(self.starts_at) and math.isfinite(self.ends_at)):
            raise ValueError("a silence needs finite start and end times")
        if self.ends_at <= self.starts_at:
            raise ValueError("a silence must end after it starts")
        if not self.created_by.strip():
            raise ValueError("a silence needs createdBy (who makes it)")
        if not self.comment.strip():
            raise ValueError("a silence needs a comment (the reason)")


@dataclass(frozen=True)
class AlertmanagerStatus:
    """What /api/v2/status says: version, uptime start and cluster state."""

    version: str
    started_at: float | None
    cluster_status: str
    peers: int = 0


@dataclass(frozen=True)
class AlertRule:
    """An alerting rule as Prometheus evaluates it (/api/v1/rules)."""

    group: str
    name: str
    query: str
    duration_s: float
    labels: Labels
    annotations: Labels
    state: str
    """``inactive``, ``pending`` or ``firing``."""
    health: str
    last_error: str | None
    alerts: tuple[Alert, ...] = ()


def expression_of(generator_url: str | None) -> str | None:
    """The PromQL of a Prometheus generatorURL (``…/graph?g0.expr=…``), if it holds one."""
    if not generator_url:
        return None
    query = parse_qs(urlsplit(generator_url).query)
    values = query.get("g0.expr")
    return values[0] if values else None


@dataclass(frozen=True)
class AlertSpan:
    """One stretch of time during which an alert fired (``ended_at`` None: still firing)."""

    labels: Labels
    started_at: float
    ended_at: float | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))

    @property
    def name(self) -> str:
        """The ``alertname`` label."""
        return self.labels.get(ALERTNAME, "")

    @property
    def fingerprint(self) -> str:
        """Alertmanager's fingerprint of the labels."""
        return fingerprint(self.labels)
