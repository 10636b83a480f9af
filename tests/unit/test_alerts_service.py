"""The alerts service on the DEMO's in-process Alertmanager: grouping, ack, permission,
audit and the auto-expirer; and the alerting settings."""

import asyncio
import dataclasses
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from console import cli
from console.backends._http import HttpJsonClient
from console.backends.alertmanager import AlertmanagerClient
from console.backends.demo import BAD_ROLLOUT_AGO_S, DemoBackend
from console.backends.demo_alerts import DemoAlertmanager
from console.backends.errors import AuthFailed, BadQuery, NotSupported
from console.config.paths import config_file
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, AuthKind, Profile, Role, Settings, SettingsError
from console.config.store import ConfigError, ConfigStore, dump_settings, parse_settings
from console.domain.alerts import Matcher, SilenceDraft, SilenceState
from console.domain.audit import AuditOutcome
from console.domain.notifications import NotificationRules, QuietHours
from console.services.alerts import AlertsService
from console.services.alerts_connect import alertmanager_target
from console.services.audit_log import AuditFilter, AuditLog
from console.services.connect import MissingSecret
from console.services.permissions import PermissionDenied

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet(clock: Clock) -> DemoBackend:
    return DemoBackend(clock=clock)


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "audit.sqlite3")
    yield log  # type: ignore[misc]
    log.close()


def service(fleet: DemoBackend, clock: Clock, audit: AuditLog | None, role: Role = Role.OPERATOR
            ) -> AlertsService:  # fmt: skip
    profile = dataclasses.replace(DEMO_PROFILE, role=role)
    return AlertsService(profile, alertmanager=DemoAlertmanager(fleet, clock=clock), audit=audit,
                         clock=clock)  # fmt: skip


def test_the_bad_demo_version_fires_one_alert_grouped_under_its_deployment(
    fleet: DemoBackend, clock: Clock
) -> None:
    overview = run(service(fleet, clock, None).overview())
    assert overview.error is None
    assert [g.deployment for g in overview.groups] == ["support-chat"]
    (alert,) = overview.groups[0].alerts
    assert alert.severity == "critical" and alert.labels["version"] == "v42"
    assert alert.firing_for(NOW) == pytest.approx(BAD_ROLLOUT_AGO_S - 120)
    assert overview.find(alert.fingerprint[:8]) == alert


def test_ack_silences_exactly_the_alerts_labels_for_an_hour(
    fleet: DemoBackend, clock: Clock, audit: AuditLog
) -> None:
    alerts = service(fleet, clock, audit)

    async def scenario() -> None:
        alert = (await alerts.overview()).alerts[0]
        ack = await alerts.ack(alert, actor="alice", reason="rolling back")
        (silence,) = await alerts.silences()
        assert silence.id == ack.silence_id
        assert set(silence.matchers) == {Matcher(k, v) for k, v in alert.labels.items()}
        assert silence.is_exactly(alert.labels)
        assert (silence.starts_at, silence.ends_at) == (NOW, NOW + 3600)
        assert (silence.created_by, silence.comment) == ("alice", "rolling back")
        silenced = (await alerts.overview()).alerts[0]
        assert silenced.silenced_by == (ack.silence_id,)
        assert (await alerts.overview()).groups[0].firing == 0

    run(scenario())
    entries = audit.entries(AuditFilter(action="silence.ack"))
    assert [e.outcome for e in entries] == [AuditOutcome.SUCCEEDED, AuditOutcome.STARTED]
    assert entries[0].target == "support-chat" and entries[0].actor == "alice"
    assert entries[0].after is not None and entries[0].after.startswith("silence ")


def test_a_viewer_may_not_silence_and_the_refusal_is_audited(
    fleet: DemoBackend, clock: Clock, audit: AuditLog
) -> None:
    alerts = service(fleet, clock, audit, role=Role.VIEWER)

    async def scenario() -> None:
        alert = (await alerts.overview()).alerts[0]
        with pytest.raises(PermissionDenied, match="viewer"):
            await alerts.ack(alert, actor="bob", reason="x")
        assert await alerts.silences() == []

    run(scenario())
    (entry,) = audit.entries()
    assert (entry.action, entry.outcome) == ("silence.ack", AuditOutcome.DENIED)


def test_the_silence_is_expired_once_the_alert_resolves_and_it_says_so(
    fleet: DemoBackend, clock: Clock, audit: AuditLog
) -> None:
    alerts = service(fleet, clock, audit)

    async def scenario() -> None:
        alert = (await alerts.overview()).alerts[0]
        ack = await alerts.ack(alert, actor="alice", reason="rolling back")
        clock.now += 30
        assert await alerts.expire_resolved() == [], "still firing: nothing to expire"
        fleet.set_serving("support-chat", {"v41": 1.0})
        clock.now += 30
        (done,) = await alerts.expire_resolved()
        assert done.error is None and done.ack == ack
        assert str(done) == (
            f"alert ModelLatencyP95High resolved: expired its silence {ack.silence_id}"
        )
        (silence,) = await alerts.silences()
        assert silence.state is SilenceState.EXPIRED
        assert await alerts.expire_resolved() == []

    run(scenario())
    actions = [(e.action, e.outcome, e.actor) for e in reversed(audit.entries())]
    assert actions[-1] == ("silence.auto_expire", AuditOutcome.SUCCEEDED, "sre-console")


def test_create_edit_and_expire_a_silence(
    fleet: DemoBackend, clock: Clock, audit: AuditLog
) -> None:
    alerts = service(fleet, clock, audit)

    async def scenario() -> None:
        matchers = [Matcher("deployment", "doc-qa"), Matcher("severity", "warn.*", is_regex=True)]
        first = await alerts.create_silence(
            matchers, actor="al", reason="maintenance", duration_s=600
        )
        (silence,) = await alerts.silences()
        draft = SilenceDraft(tuple(matchers), NOW, NOW + 7200, "al", "longer maintenance")
        second = await alerts.edit_silence(silence, draft)
        assert second != first
        states = {s.id: s.state for s in await alerts.silences()}
        assert states == {first: SilenceState.EXPIRED, second: SilenceState.ACTIVE}
        await alerts.expire_silence(second, actor="al", reason="done")
        assert {s.state for s in await alerts.silences()} == {SilenceState.EXPIRED}

    run(scenario())
    actions = {e.action for e in audit.entries()}
    assert actions == {"silence.create", "silence.edit", "silence.expire"}


def test_a_bad_filter_is_shown_not_raised(fleet: DemoBackend, clock: Clock) -> None:
    overview = run(service(fleet, clock, None).overview(["foo~bar"]))
    assert overview.groups == () and "bad matcher format" in (overview.error or "")
    with pytest.raises(BadQuery):
        run(service(fleet, clock, None).alerts(["foo~bar"]))


def test_without_an_alertmanager_there_are_no_silences(clock: Clock) -> None:
    profile = Profile(name="p", prometheus_url="http://prom:9090", role=Role.OPERATOR)
    alerts = AlertsService(profile, alertmanager=None, clock=clock)
    assert not alerts.can_silence
    with pytest.raises(NotSupported, match="alertmanager_url"):
        run(alerts.silences())


def test_alerting_settings_round_trip_and_name_their_key() -> None:
    profile = Profile(
        name="prod",
        prometheus_url="http://prom:9090",
        alertmanager_url="https://am:9093",
        alert_deployment_labels=("service",),
        notifications=NotificationRules("critical", QuietHours("22:00", "07:00"), ("doc-qa",)),
    )
    settings = Settings(profiles=(profile,))
    assert parse_settings(dump_settings(settings), Path("c.toml")) == settings
    with pytest.raises(SettingsError) as caught:
        Profile(name="p", prometheus_url="http://p", alertmanager_url="am:9093")
    assert caught.value.key == "alertmanager_url"
    with pytest.raises(SettingsError) as caught:
        Profile(name="p", prometheus_url="http://p", alert_deployment_labels=("bad-label",))
    assert caught.value.key == "alert_deployment_labels"
    text = (
        'schema_version = 1\n[profiles.p]\nprometheus_url = "http://p"\n'
        '[profiles.p.notifications]\nquiet_hours = { start = "22:00", end = "7" }\n'
    )
    with pytest.raises(ConfigError, match=r"c.toml:5: profiles.p.notifications.quiet_hours: "):
        parse_settings(text, Path("c.toml"))


def test_a_failed_silence_action_is_audited_as_failed(
    fleet: DemoBackend, clock: Clock, audit: AuditLog
) -> None:
    alerts = service(fleet, clock, audit)
    with pytest.raises(BadQuery, match="end time is in the past"):
        run(
            alerts.create_silence(
                [Matcher("a", "b")], actor="al", reason="x", duration_s=60, starts_at=NOW - 7200
            )
        )
    closing, started = audit.entries()
    assert (started.outcome, closing.outcome) == (AuditOutcome.STARTED, AuditOutcome.FAILED)
    assert closing.error is not None and "end time is in the past" in closing.error


def test_profile_add_takes_the_alertmanager_url(secrets: SecretStore) -> None:
    def add(*extra: str) -> tuple[int, str]:
        err = io.StringIO()
        args = cli.parse_args(["profile", "add", "p", "--prometheus", "http://prom:9090", *extra])
        status = cli.run(args, secrets=secrets, stdout=io.StringIO(), stderr=err)
        return status, err.getvalue()

    assert add("--alertmanager", "ftp://am") == (
        2,
        "sre-console: error: alertmanager_url: 'ftp://am' is not an http(s) URL\n",
    )
    assert add("--alertmanager", "http://am:9093")[0] == 0
    profile = ConfigStore(config_file()).load().profile("p")
    assert profile is not None and profile.alertmanager_url == "http://am:9093"


def test_the_alertmanager_secret_comes_from_the_keyring_and_never_shows(
    secrets: SecretStore,
) -> None:
    profile = Profile(
        name="prod",
        prometheus_url="http://prom:9090",
        alertmanager_url="https://am:9093",
        alertmanager_auth=AuthKind.BEARER,
    )
    with pytest.raises(MissingSecret, match="alertmanager_token"):
        alertmanager_target(profile, secrets)
    secrets.set("prod", "alertmanager_token", "s3cret-token")
    target = alertmanager_target(profile, secrets)
    assert target.bearer_token == "s3cret-token" and "s3cret" not in repr(target)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(401, text="token s3cret-token is expired")

    am = AlertmanagerClient(HttpJsonClient(target, transport=httpx.MockTransport(handler)))
    with pytest.raises(AuthFailed) as caught:
        run(am.alerts())
    assert seen == ["Bearer s3cret-token"]
    assert "s3cret" not in str(caught.value)
    secrets.delete_profile("prod")
    assert secrets.get("prod", "alertmanager_token") is None
