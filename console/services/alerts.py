"""Alerts grouped by deployment, acknowledging them with silences, and expiring those
silences once their alert resolves. No Qt.

Alerts come from the profile's Alertmanager (or the DEMO's), else from Prometheus's own
/api/v1/alerts. An "ack" is a silence of exactly the alert's labels (every label, equal),
one hour by default, with the reason as comment and the actor as createdBy. Every silence
action passes ``silence_guard.guarded``: the operator role, then audit entries.
"""

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from console.backends.alerting import AlertingBackend
from console.backends.errors import BackendError, BadQuery, NotSupported
from console.backends.prometheus_alerts import PrometheusAlerts
from console.config.settings import Profile
from console.domain.alerts import (
    DEFAULT_ACK_S,
    Alert,
    AlertmanagerStatus,
    AlertRule,
    AlertState,
    Matcher,
    MatcherError,
    Silence,
    SilenceDraft,
    exact_matchers,
    parse_matcher,
    severity_rank,
)
from console.domain.audit import AuditDraft, AuditOutcome
from console.services.silence_guard import AuditTrail, guarded

CONSOLE_ACTOR = "sre-console"
"""The actor of the console's own actions (expiring an ack whose alert resolved)."""


@dataclass(frozen=True)
class DeploymentAlerts:
    """The alerts of one deployment (None: alerts naming none), most severe first."""

    deployment: str | None
    alerts: tuple[Alert, ...]

    @property
    def worst_severity(self) -> str | None:
        """The most severe ``severity`` label among the alerts."""
        if not self.alerts:
            return None
        return max(self.alerts, key=lambda a: severity_rank(a.severity)).severity

    @property
    def firing(self) -> int:
        """How many alerts are not silenced, inhibited or pending."""
        return sum(1 for a in self.alerts if a.state is AlertState.ACTIVE)


@dataclass(frozen=True)
class AlertsOverview:
    """One read of a profile's alerts. ``error`` is set when it failed."""

    profile: str
    taken_at: float
    source: str
    groups: tuple[DeploymentAlerts, ...] = ()
    error: str | None = None

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Every alert of every group."""
        return tuple(a for g in self.groups for a in g.alerts)

    def group(self, deployment: str | None) -> DeploymentAlerts | None:
        """The group of ``deployment``, if it has alerts."""
        return next((g for g in self.groups if g.deployment == deployment), None)

    def find(self, fingerprint: str) -> Alert | None:
        """The alert with this fingerprint (or a unique prefix of it, as printed)."""
        found = [a for a in self.alerts if a.fingerprint.startswith(fingerprint)]
        return found[0] if len(found) == 1 else None


def group_by_deployment(
    alerts: Iterable[Alert], deployment_labels: Sequence[str]
) -> tuple[DeploymentAlerts, ...]:
    """Alerts per deployment (through the labels, first found wins), deployments by name;
    within a group the most severe and then the longest-firing first."""
    groups: dict[str | None, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(alert.deployment(deployment_labels), []).append(alert)
    ordered = sorted(groups, key=lambda d: (d is None, d or ""))
    return tuple(
        DeploymentAlerts(
            d, tuple(sorted(groups[d], key=lambda a: (-severity_rank(a.severity), a.starts_at)))
        )
        for d in ordered
    )


@dataclass(frozen=True)
class Ack:
    """A silence the console made for one alert, remembered to expire it on resolve."""

    silence_id: str
    alert: Alert
    actor: str
    created_at: float


@dataclass(frozen=True)
class AutoExpired:
    """The console expired an ack's silence because its alert resolved (or failed to)."""

    ack: Ack
    at: float
    error: str | None = None

    def __str__(self) -> str:
        name = self.ack.alert.name or self.ack.alert.fingerprint
        if self.error:
            return f"could not expire silence {self.ack.silence_id} of {name}: {self.error}"
        return f"alert {name} resolved: expired its silence {self.ack.silence_id}"


class AlertsService:
    """A profile's alerts, rules and silences; the actions are guarded and audited."""

    def __init__(
        self,
        profile: Profile,
        *,
        alertmanager: AlertingBackend | None,
        prometheus: PrometheusAlerts | None = None,
        audit: AuditTrail | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile = profile
        self.alertmanager = alertmanager
        self.prometheus = prometheus
        self._audit = audit
        self._clock = clock
        self._acks: dict[str, Ack] = {}

    @property
    def source(self) -> str:
        """Where alerts come from, for status lines."""
        if self.alertmanager is not None:
            return f"Alertmanager {self.alertmanager.base_url}"
        if self.prometheus is not None:
            return "Prometheus /api/v1/alerts (no Alertmanager configured)"
        return "none"

    @property
    def can_silence(self) -> bool:
        """Whether silences are possible (an Alertmanager is configured)."""
        return self.alertmanager is not None

    async def overview(self, filters: Sequence[str] = ()) -> AlertsOverview:
        """Every alert now, grouped by deployment; a failure is kept in ``error``."""
        now = self._clock()
        try:
            alerts = await self.alerts(filters)
        except BackendError as exc:
            return AlertsOverview(self.profile.name, now, self.source, error=str(exc))
        groups = group_by_deployment(alerts, self.profile.alert_deployment_labels)
        return AlertsOverview(self.profile.name, now, self.source, groups)

    async def alerts(self, filters: Sequence[str] = ()) -> list[Alert]:
        """Current alerts (active, silenced and inhibited); raises BackendError."""
        if self.alertmanager is not None:
            return await self.alertmanager.alerts(filters=filters)
        if self.prometheus is not None:
            alerts = await self.prometheus.alerts()
            try:
                matchers = [parse_matcher(f) for f in filters]
            except MatcherError as exc:
                raise BadQuery(f"bad matcher format: {exc}") from None
            return [a for a in alerts if all(m.matches(a.labels) for m in matchers)]
        return []

    async def check(self) -> AlertmanagerStatus:
        """The Alertmanager's version and cluster state; raises BackendError, NotSupported."""
        return await self._silencer().status()

    async def rules(self) -> list[AlertRule]:
        """Prometheus's alerting rules ([] without a Prometheus)."""
        return await self.prometheus.rules() if self.prometheus is not None else []

    async def silences(self) -> list[Silence]:
        """Every silence the Alertmanager knows."""
        return await self._silencer().silences()

    async def ack(
        self, alert: Alert, *, actor: str, reason: str, duration_s: float = DEFAULT_ACK_S
    ) -> Ack:
        """Silence exactly this alert's labels for ``duration_s``; remembered for expiry."""
        now = self._clock()
        draft = SilenceDraft(exact_matchers(alert.labels), now, now + duration_s, actor, reason)
        silence_id = await self._guarded_create(draft, "silence.ack", alert, actor, reason)
        ack = Ack(silence_id, alert, actor, now)
        self._acks[silence_id] = ack
        return ack

    async def create_silence(
        self,
        matchers: Sequence[Matcher],
        *,
        actor: str,
        reason: str,
        duration_s: float,
        starts_at: float | None = None,
    ) -> str:
        """A new silence of ``matchers``; its id."""
        start = self._clock() if starts_at is None else starts_at
        draft = SilenceDraft(tuple(matchers), start, start + duration_s, actor, reason)
        return await self._guarded_create(draft, "silence.create", None, actor, reason)

    async def edit_silence(self, silence: Silence, draft: SilenceDraft) -> str:
        """Replace ``silence`` by ``draft`` (Alertmanager may give it a new id)."""
        draft = replace(draft, id=silence.id)
        new_id = await self._guarded_create(
            draft, "silence.edit", None, draft.created_by, draft.comment, before=silence.id
        )
        ack = self._acks.pop(silence.id, None)
        if ack is not None:
            self._acks[new_id] = replace(ack, silence_id=new_id)
        return new_id

    async def expire_silence(self, silence_id: str, *, actor: str, reason: str) -> None:
        """End a silence now."""
        backend = self._silencer()
        draft = self._draft("silence.expire", silence_id, actor, reason)
        await guarded(self.profile, self._audit, draft, lambda: backend.expire_silence(silence_id))
        self._acks.pop(silence_id, None)

    @property
    def acks(self) -> tuple[Ack, ...]:
        """The acks this console made and still watches."""
        return tuple(self._acks.values())

    async def expire_resolved(self) -> list[AutoExpired]:
        """Expire the silence of every ack whose alert no longer fires; says what it did.

        Run it on each refresh while the console runs. A failed expiry is reported and
        tried again next time.
        """
        if not self._acks or self.alertmanager is None:
            return []
        backend = self.alertmanager
        current = {a.fingerprint for a in await backend.alerts()}
        done: list[AutoExpired] = []
        for silence_id, ack in list(self._acks.items()):
            if ack.alert.fingerprint in current:
                continue
            draft = self._draft(
                "silence.auto_expire",
                self._target(ack.alert) or silence_id,
                CONSOLE_ACTOR,
                f"alert {ack.alert.name} resolved; ack by {ack.actor}",
                before=silence_id,
            )
            now = self._clock()
            try:
                await guarded(
                    self.profile,
                    self._audit,
                    draft,
                    _expiry(backend, silence_id),
                    check_permission=False,
                )
            except BackendError as exc:
                done.append(AutoExpired(ack, now, str(exc)))
                continue
            del self._acks[silence_id]
            done.append(AutoExpired(ack, now))
        return done

    async def aclose(self) -> None:
        """Close the Alertmanager client (Prometheus's belongs to the metrics backend)."""
        if self.alertmanager is not None:
            await self.alertmanager.aclose()

    async def _guarded_create(
        self,
        draft: SilenceDraft,
        action: str,
        alert: Alert | None,
        actor: str,
        reason: str,
        *,
        before: str | None = None,
    ) -> str:
        backend = self._silencer()
        target = (self._target(alert) if alert else None) or _matchers_text(draft.matchers)
        audit = self._draft(action, target, actor, reason, before=before)
        return await guarded(
            self.profile,
            self._audit,
            audit,
            lambda: backend.create_silence(draft),
            describe=lambda silence_id: f"silence {silence_id}: {_matchers_text(draft.matchers)}",
        )

    def _silencer(self) -> AlertingBackend:
        if self.alertmanager is None:
            raise NotSupported(
                f"profile {self.profile.name!r} has no Alertmanager (alertmanager_url): "
                "silences need one"
            )
        return self.alertmanager

    def _target(self, alert: Alert) -> str | None:
        return alert.deployment(self.profile.alert_deployment_labels)

    def _draft(
        self, action: str, target: str, actor: str, reason: str, *, before: str | None = None
    ) -> AuditDraft:
        return AuditDraft(
            actor=actor,
            profile=self.profile.name,
            action=action,
            target=target,
            outcome=AuditOutcome.STARTED,
            reason=reason,
            before=before,
        )


def _matchers_text(matchers: Iterable[Matcher]) -> str:
    return "{" + ", ".join(str(m) for m in matchers) + "}"


def _expiry(backend: AlertingBackend, silence_id: str) -> Callable[[], Awaitable[None]]:
    return lambda: backend.expire_silence(silence_id)
