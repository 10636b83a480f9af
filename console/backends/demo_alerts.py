"""The DEMO's in-process Alertmanager: alerts follow the simulated fleet, silences are real.

A simulated alerting rule fires while ``support-chat`` serves its bad version ``v42``
(after the rule's ``for`` duration) and resolves when it stops (a rollback through
``DemoBackend.set_serving``). Silences behave as Alertmanager's do: they are pending
before their start, active until their end, then expired; an alert they match is
suppressed and lists them in ``silenced_by``. Filters are Alertmanager matchers.
"""

import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote

from console.backends.demo import DemoBackend
from console.backends.errors import BackendError, BadQuery
from console.domain.alerts import (
    Alert,
    AlertmanagerStatus,
    AlertSpan,
    AlertState,
    Matcher,
    MatcherError,
    Silence,
    SilenceDraft,
    SilenceState,
    parse_matcher,
)

DEMO_ALERTMANAGER_URL = "demo:alertmanager"


@dataclass(frozen=True)
class _DemoRule:
    """Fires while ``deployment`` serves ``version``, after ``for_s``."""

    name: str
    deployment: str
    version: str
    severity: str
    summary: str
    runbook_url: str
    expr: str
    for_s: float = 120.0


_RULES = (
    _DemoRule(
        name="ModelLatencyP95High",
        deployment="support-chat",
        version="v42",
        severity="critical",
        summary="support-chat p95 latency is above 5 s on v42",
        runbook_url="https://runbooks.example/model-latency",
        expr="histogram_quantile(0.95, sum by (le, model_name) (rate("
        'vllm:e2e_request_latency_seconds_bucket{model_name="support-chat"}[5m]))) > 5',
    ),
)


class DemoAlertmanager:
    """Implements AlertingBackend and AlertHistory over a DemoBackend's serving timeline."""

    base_url = DEMO_ALERTMANAGER_URL

    def __init__(self, fleet: DemoBackend, *, clock: Callable[[], float] = time.time) -> None:
        self._fleet = fleet
        self._clock = clock
        self._silences: dict[str, Silence] = {}

    async def alerts(
        self,
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        filters: Sequence[str] = (),
        receiver: str | None = None,
    ) -> list[Alert]:
        """The firing alerts now, filtered like Alertmanager filters them."""
        matchers = _matchers(filters)
        now = self._clock()
        found = []
        for span in await self.alert_spans(now, now):
            alert = self._alert(span, now)
            if not all(m.matches(alert.labels) for m in matchers):
                continue
            if (alert.silenced and not silenced) or (not alert.silenced and not active):
                continue
            found.append(alert)
        return found

    async def alert_spans(self, start: float, end: float) -> list[AlertSpan]:
        """Every firing stretch of the simulated rules overlapping [start, end]."""
        now = self._clock()
        spans = []
        for rule in _RULES:
            for served_from, served_to in self._serving_spans(rule):
                fires_at = served_from + rule.for_s
                stops_at = served_to if served_to <= now else None
                if fires_at >= (stops_at if stops_at is not None else now):
                    continue
                if fires_at <= end and (stops_at is None or stops_at >= start):
                    spans.append(AlertSpan(_labels(rule), fires_at, stops_at))
        return sorted(spans, key=lambda s: s.started_at)

    async def silences(self, filters: Sequence[str] = ()) -> list[Silence]:
        """Every silence with its state now."""
        matchers = _matchers(filters)
        now = self._clock()
        return [
            self._with_state(s, now)
            for s in self._silences.values()
            if all(any(m == n for n in s.matchers) for m in matchers)
        ]

    async def create_silence(self, draft: SilenceDraft) -> str:
        """Create a silence, or replace the one ``draft.id`` names (a new id, as AM does)."""
        now = self._clock()
        if draft.id is not None:
            old = self._silences.get(draft.id)
            if old is None:
                raise BackendError(f"{DEMO_ALERTMANAGER_URL}: silence {draft.id} not found")
            self._silences[draft.id] = replace(old, ends_at=min(old.ends_at, now))
        if draft.ends_at <= now:
            raise BadQuery(f"{DEMO_ALERTMANAGER_URL}: silence invalid: end time is in the past")
        silence_id = str(uuid.uuid4())
        self._silences[silence_id] = Silence(
            id=silence_id,
            matchers=draft.matchers,
            starts_at=max(draft.starts_at, now),
            ends_at=draft.ends_at,
            created_by=draft.created_by,
            comment=draft.comment,
            updated_at=now,
        )
        return silence_id

    async def expire_silence(self, silence_id: str) -> None:
        """End a silence now (expiring an expired one changes nothing, as in AM)."""
        silence = self._silences.get(silence_id)
        if silence is None:
            raise BackendError(f"{DEMO_ALERTMANAGER_URL}: silence {silence_id} not found")
        now = self._clock()
        if silence.ends_at > now:
            self._silences[silence_id] = replace(silence, ends_at=now, updated_at=now)

    async def status(self) -> AlertmanagerStatus:
        """The DEMO names itself, so no view can mistake it for a real Alertmanager."""
        return AlertmanagerStatus("DEMO simulation", None, "disabled")

    async def aclose(self) -> None:
        """Nothing to release."""

    def _serving_spans(self, rule: _DemoRule) -> list[tuple[float, float]]:
        """When the rule's version served: [from, to) with to = +inf while it serves."""
        spans: list[tuple[float, float]] = []
        baseline = self._fleet.serving(rule.deployment, at=-math.inf)
        since: float | None = -math.inf if baseline.get(rule.version, 0.0) > 0 else None
        for change in self._fleet.timeline(rule.deployment):
            serves = change.shares.get(rule.version, 0.0) > 0
            if serves and since is None:
                since = change.at
            elif not serves and since is not None:
                spans.append((since, change.at))
                since = None
        if since is not None:
            spans.append((since, math.inf))
        return spans

    def _alert(self, span: AlertSpan, now: float) -> Alert:
        rule = next(r for r in _RULES if r.name == span.name)
        silenced_by = tuple(
            s.id
            for s in self._silences.values()
            if s.starts_at <= now < s.ends_at and s.matches(span.labels)
        )
        return Alert(
            fingerprint=span.fingerprint,
            labels=span.labels,
            annotations={"summary": rule.summary, "runbook_url": rule.runbook_url},
            starts_at=span.started_at,
            state=AlertState.SUPPRESSED if silenced_by else AlertState.ACTIVE,
            updated_at=now,
            generator_url=f"{DEMO_ALERTMANAGER_URL}/graph?g0.expr={quote(rule.expr)}&g0.tab=1",
            silenced_by=silenced_by,
            receivers=("demo-oncall",),
        )

    @staticmethod
    def _with_state(silence: Silence, now: float) -> Silence:
        if now < silence.starts_at:
            state = SilenceState.PENDING
        elif now < silence.ends_at:
            state = SilenceState.ACTIVE
        else:
            state = SilenceState.EXPIRED
        return replace(silence, state=state)


def _labels(rule: _DemoRule) -> dict[str, str]:
    return {
        "alertname": rule.name,
        "deployment": rule.deployment,
        "version": rule.version,
        "severity": rule.severity,
        "model_name": rule.deployment,
    }


def _matchers(filters: Sequence[str]) -> list[Matcher]:
    try:
        return [parse_matcher(f) for f in filters]
    except MatcherError as exc:
        raise BadQuery(
            f"{DEMO_ALERTMANAGER_URL} rejected the query: bad matcher format: {exc}"
        ) from None
