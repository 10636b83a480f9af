"""Alerts, acks and silences against a real Alertmanager fed by a real Prometheus.

The alerting rule fires while the exporter's ``chat-bad`` deployment serves version
``v9``; switching it to ``v8`` makes the rule stop firing. Tests run in file order: the
last one changes the exporter. Waits poll with a deadline, never a bare sleep.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.alertmanager import AlertmanagerClient
from console.backends.prometheus import PrometheusClient
from console.backends.prometheus_alerts import PrometheusAlerts
from console.config.secrets import SecretStore
from console.config.settings import Profile, Role
from console.domain.alerts import AlertState, Matcher, SilenceState, fingerprint
from console.domain.audit import AuditOutcome
from console.services.alerts import AlertsService
from console.services.alerts_connect import open_alerts
from console.services.audit_log import AuditFilter, AuditLog
from tests.integration.conftest import Cli, or_fail
from tests.support.alerting import alerting_prometheus, alertmanager
from tests.support.exporter import DeploymentSpec, Exporter
from tests.support.prometheus_backend import labelled_backend
from tests.support.servers import MetricsServer, ServerProcess

pytestmark = pytest.mark.integration
T = TypeVar("T")
DEADLINE_S = 30.0
RULE = {
    "alert": "BadVersionServing",
    "expr": 'model_info{deployment="chat-bad", version="v9"} == 1',
    "labels": {"severity": "critical"},
    "annotations": {"summary": "chat-bad serves the bad v9", "runbook_url": "https://rb/x"},
}


@dataclass
class Stack:
    exporter: Exporter
    alertmanager: ServerProcess
    prometheus: MetricsServer


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    spec = DeploymentSpec(
        name="chat-bad",
        versions={"v9": 1.0},
        request_rate=5.0,
        error_ratio=0.01,
        p95_latency_s=1.0,
        p95_ttft_s=0.2,
        output_tokens_per_s=100.0,
    )
    workdir = tmp_path_factory.mktemp("alerting")
    with Exporter([spec]) as exporter:
        am = or_fail(lambda: alertmanager(workdir / "am"))
        or_fail(am.start)
        try:
            prom = or_fail(lambda: alerting_prometheus(workdir / "prom", exporter, am.port, [RULE]))
            or_fail(prom.start)
            try:
                yield Stack(exporter, am, prom)
            finally:
                prom.stop()
        finally:
            am.stop()


def profile_of(stack: Stack, role: Role = Role.OPERATOR) -> Profile:
    return Profile(
        name="live",
        prometheus_url=stack.prometheus.url,
        alertmanager_url=stack.alertmanager.url,
        role=role,
    )


class LiveService(AlertsService):
    """The service over the stack; ``aclose`` also closes its Prometheus client."""

    def __init__(self, stack: Stack, audit: AuditLog | None) -> None:
        self._prom_http = HttpJsonClient(HttpTarget(stack.prometheus.url))
        super().__init__(
            profile_of(stack),
            alertmanager=AlertmanagerClient(HttpJsonClient(HttpTarget(stack.alertmanager.url))),
            prometheus=PrometheusAlerts(PrometheusClient(self._prom_http)),
            audit=audit,
        )

    async def aclose(self) -> None:
        await super().aclose()
        await self._prom_http.aclose()


def service_of(stack: Stack, audit: AuditLog | None = None) -> LiveService:
    return LiveService(stack, audit)


async def poll(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    """``check()`` until it returns something, within DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        result = await check()
        if result is not None:
            return result
        await asyncio.sleep(0.25)
    pytest.fail(f"not within {DEADLINE_S} s: {what}")


def test_the_alert_appears_grouped_by_deployment_with_alertmanagers_fingerprint(
    stack: Stack,
) -> None:
    async def scenario() -> None:
        service = service_of(stack)

        async def firing():  # type: ignore[no-untyped-def]
            overview = await service.overview()
            assert overview.error is None
            return overview if overview.group("chat-bad") else None

        overview = await poll(firing, "the alert reached Alertmanager")
        group = overview.group("chat-bad")
        assert group is not None and group.worst_severity == "critical"
        (alert,) = group.alerts
        assert alert.name == "BadVersionServing"
        assert alert.state is AlertState.ACTIVE
        assert alert.summary == "chat-bad serves the bad v9"
        assert alert.runbook_url == "https://rb/x"
        assert alert.generator_url and "g0.expr" in alert.generator_url
        assert alert.fingerprint == fingerprint(alert.labels)
        assert 0 <= alert.firing_for(time.time()) < 120
        prom_alerts = await service.prometheus.alerts()  # type: ignore[union-attr]
        assert [a.fingerprint for a in prom_alerts] == [alert.fingerprint]
        (am_group,) = await service.alertmanager.alert_groups()  # type: ignore[union-attr]
        assert dict(am_group.labels) == {"alertname": "BadVersionServing", "deployment": "chat-bad"}
        assert am_group.receiver == "nowhere"
        assert [a.fingerprint for a in am_group.alerts] == [alert.fingerprint]
        rules = await service.rules()
        assert [(r.name, r.state) for r in rules] == [("BadVersionServing", "firing")]
        await service.aclose()

    asyncio.run(scenario())


def test_a_bad_matcher_shows_alertmanagers_own_error(stack: Stack) -> None:
    async def scenario() -> str | None:
        service = service_of(stack)
        try:
            return (await service.overview(["foo~bar"])).error
        finally:
            await service.aclose()

    error = asyncio.run(scenario())
    assert error is not None
    assert "bad matcher format: foo~bar" in error
    assert "HTTP 400" in error


def test_the_cli_lists_the_alert(stack: Stack, cli: Cli, tmp_path: Path) -> None:
    added = cli(
        "profile", "add", "live", "--prometheus", stack.prometheus.url,
        "--alertmanager", stack.alertmanager.url,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = cli("alerts", "--profile", "live")
    assert listed.returncode == 0, listed.stderr
    assert "chat-bad" in listed.stdout and "BadVersionServing" in listed.stdout
    bad = cli("alerts", "--profile", "live", "--filter", "foo~bar")
    assert bad.returncode == 1
    assert "bad matcher format: foo~bar" in bad.stderr


def test_ack_silences_exactly_the_alert_and_expires_when_the_rule_stops(
    stack: Stack, tmp_path: Path
) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")

    async def scenario() -> None:
        service = service_of(stack, audit)
        overview = await service.overview()
        alert = overview.alerts[0]
        ack = await service.ack(alert, actor="alice", reason="rolling back chat-bad")
        (silence,) = [s for s in await service.silences() if s.id == ack.silence_id]
        assert set(silence.matchers) == {Matcher(k, v) for k, v in alert.labels.items()}
        assert silence.created_by == "alice"
        assert silence.comment == "rolling back chat-bad"
        assert 3590 <= silence.ends_at - silence.starts_at <= 3610
        assert silence.state is SilenceState.ACTIVE

        async def suppressed():  # type: ignore[no-untyped-def]
            alerts = await service.alerts()
            return alerts if alerts and alerts[0].silenced_by == (ack.silence_id,) else None

        await poll(suppressed, "Alertmanager marked the alert silenced")
        assert await service.expire_resolved() == []

        stack.exporter.set_versions("chat-bad", {"v8": 1.0})

        async def expired():  # type: ignore[no-untyped-def]
            return await service.expire_resolved() or None

        (done,) = await poll(expired, "the console expired the ack once the alert resolved")
        assert done.error is None
        assert "resolved" in str(done) and ack.silence_id in str(done)
        (after,) = [s for s in await service.silences() if s.id == ack.silence_id]
        assert after.state is SilenceState.EXPIRED
        assert service.acks == ()
        await service.aclose()

    asyncio.run(scenario())
    entries = audit.entries(AuditFilter(profile="live"))
    actions = [(e.action, e.outcome) for e in reversed(entries)]
    assert actions == [
        ("silence.ack", AuditOutcome.STARTED),
        ("silence.ack", AuditOutcome.SUCCEEDED),
        ("silence.auto_expire", AuditOutcome.STARTED),
        ("silence.auto_expire", AuditOutcome.SUCCEEDED),
    ]
    assert all(e.target == "chat-bad" for e in entries)
    assert audit.verify().intact
    audit.close()


def test_open_alerts_reads_the_profiles_alertmanager(stack: Stack) -> None:
    async def scenario() -> str:
        profile = profile_of(stack)
        metrics = labelled_backend(HttpJsonClient(HttpTarget(stack.prometheus.url)), name="live")
        service = open_alerts(profile, SecretStore.session_only(), metrics)
        try:
            status = await service.check()
            assert status.version[0].isdigit() and status.cluster_status == "disabled"
            return (await service.overview()).source
        finally:
            await service.aclose()
            await metrics.aclose()

    assert asyncio.run(scenario()) == f"Alertmanager {stack.alertmanager.url}"
