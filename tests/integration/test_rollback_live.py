"""Rollback and failover against a REAL MLflow registry and a loopback webhook deployer.

One MLflow server (SQLite store) serves the module; each test registers its own model with
three READY versions and the ``production`` alias on version 3. The CLI runs in a
subprocess, as on-call engineers run it; the kill -9 test kills it during execute.
"""

import asyncio
import dataclasses
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.mlflow import MlflowRegistry
from console.config.paths import config_file
from console.config.registry import (
    DeploymentActions,
    FailoverSettings,
    RegistrySettings,
    WebhookTemplate,
)
from console.config.secrets import SecretStore
from console.config.settings import Profile, Role, Settings
from console.config.store import ConfigStore
from console.domain.audit import AuditOutcome
from console.domain.fleet import DeploymentInfo
from console.services.alias_history import AliasHistory
from console.services.annotations import AnnotationStore
from console.services.audit_log import AuditFilter, AuditLog
from console.services.guarded_action import ActionKind, ActionService, Confirmation
from console.services.open_actions import open_action_service
from tests.integration.conftest import Cli, console_argv, or_fail
from tests.support.fake_backend import FakeBackend
from tests.support.mlflow_server import MlflowServer
from tests.support.servers import free_port
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
DEPLOYMENT = "support-chat"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One real MLflow server for the module (it takes long to start); always stopped."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    or_fail(server.start)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def model(mlflow: MlflowServer) -> str:
    """A fresh registered model: versions 1-3, ``production`` on 3, ``fallback`` on 1."""
    name = f"chat-{uuid.uuid4().hex[:8]}"
    mlflow.register(name, 3, alias="production", on=3)
    mlflow.set_alias(name, "fallback", "1")
    return name


def profile_for(
    mlflow: MlflowServer, model: str, *, webhook: WebhookTemplate | None = None
) -> Profile:
    return Profile(
        name="prod",
        prometheus_url=f"http://127.0.0.1:{free_port()}",  # nothing listens: no metrics
        role=Role.ADMIN,
        registry=RegistrySettings(
            mlflow_url=mlflow.url,
            deployments=(
                DeploymentActions(
                    DEPLOYMENT,
                    model=model,
                    webhook=webhook,
                    failover=FailoverSettings(alias="fallback"),
                ),
            ),
            verify_timeout_s=20.0,
            poll_interval_s=0.2,
        ),
    )


class ServingMetric(FakeBackend):
    """The serving-version metric of DEPLOYMENT follows the MLflow alias (as a real
    serving stack reloading ``models:/model@production`` would)."""

    def __init__(self, mlflow: MlflowServer, model: str) -> None:
        super().__init__()
        self._mlflow = mlflow
        self._model = model

    async def inventory(self) -> list[DeploymentInfo]:
        version = await asyncio.to_thread(self._mlflow.alias_version, self._model, "production")
        return [DeploymentInfo(DEPLOYMENT, "vllm", (str(version),))]


def service_for(profile: Profile, metrics: FakeBackend, secrets: SecretStore) -> ActionService:
    return open_action_service(
        profile, secrets, metrics, AnnotationStore(), AuditLog(), alias_history=AliasHistory()
    )


def test_the_registry_lists_versions_and_moves_aliases(mlflow: MlflowServer, model: str) -> None:
    async def scenario() -> None:
        registry = MlflowRegistry(HttpJsonClient(HttpTarget(base_url=mlflow.url)))
        try:
            versions = {v.version: v for v in await registry.versions(model)}
            assert sorted(versions) == ["1", "2", "3"]
            third = versions["3"]
            assert third.ready and third.status == "READY"
            assert third.description == "build 3" and third.tags == (("build", "3"),)
            assert third.aliases == ("production",) and versions["1"].aliases == ("fallback",)
            assert third.created_at is not None and third.model == model
            assert await registry.alias_version(model, "production") == "3"
            await registry.set_alias(model, "production", "2")
            await registry.set_alias(model, "production", "2")  # idempotent
            assert (await registry.read_alias(model, "production")).version == "2"
            await registry.delete_alias(model, "fallback")
            assert await registry.alias_version(model, "fallback") is None
        finally:
            await registry.aclose()

    asyncio.run(scenario())


def test_a_rollback_moves_the_alias_and_waits_for_the_serving_metric(
    mlflow: MlflowServer, model: str, secrets: SecretStore
) -> None:
    service = service_for(profile_for(mlflow, model), ServingMetric(mlflow, model), secrets)

    async def scenario() -> None:
        plan = await service.plan(ActionKind.ROLLBACK, DEPLOYMENT)
        assert (plan.current and plan.current.label, plan.target.label) == ("3", "2")
        assert "alias 'production'" in plan.route
        result = await service.execute(plan, Confirmation("build 3 fails the smoke suite"))
        assert result.outcome is AuditOutcome.SUCCEEDED, result.message
        assert "serving metric shows 2" in result.message
        failover = await service.plan(ActionKind.FAILOVER, DEPLOYMENT)
        assert failover.target.label == "1"
        assert (await service.execute(failover, Confirmation("2 is down too"))).outcome is (
            AuditOutcome.SUCCEEDED
        )
        await service.aclose()

    asyncio.run(scenario())
    assert mlflow.alias_version(model, "production") == "1"
    changes = AliasHistory().changes("prod", DEPLOYMENT)
    assert [(c.from_version, c.to_version, c.observed) for c in changes] == [
        ("2", "1", False),
        ("3", "2", False),
        (None, "3", True),
    ]


def test_a_double_click_makes_one_change(
    mlflow: MlflowServer, model: str, secrets: SecretStore
) -> None:
    service = service_for(profile_for(mlflow, model), FakeBackend(), secrets)

    async def scenario() -> list[AuditOutcome]:
        plan = await service.plan(ActionKind.ROLLBACK, DEPLOYMENT)
        clicks = [service.execute(plan, Confirmation("bad build")) for _ in range(2)]
        results = await asyncio.gather(*clicks)
        await service.aclose()
        return [r.outcome for r in results]

    assert asyncio.run(scenario()) == [AuditOutcome.SUCCEEDED] * 2
    assert mlflow.alias_version(model, "production") == "2"
    started = AuditLog().entries(AuditFilter(outcome=AuditOutcome.STARTED))
    assert len(started) == 1


def save_profile(profile: Profile) -> None:
    ConfigStore(config_file()).save(Settings(profiles=(profile,)))


def test_a_repeated_cli_call_makes_one_change(mlflow: MlflowServer, model: str, cli: Cli) -> None:
    save_profile(profile_for(mlflow, model))
    command = ("rollback", "--profile", "prod", "--deployment", DEPLOYMENT)
    first = cli(*command, "--reason", "build 3 is bad", "--yes")
    assert first.returncode == 0, first.stderr
    assert "succeeded" in first.stdout and "3 -> 2" in first.stdout
    assert mlflow.alias_version(model, "production") == "2"
    again = cli(*command, "--reason", "build 3 is bad", "--yes")
    assert again.returncode == 0, again.stderr
    assert "repeat of an earlier command" in again.stdout
    assert mlflow.alias_version(model, "production") == "2"  # not rolled "back" to 3
    started = AuditLog().entries(AuditFilter(outcome=AuditOutcome.STARTED))
    assert len(started) == 1
    no_reason = cli(*command, "--yes")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    dry = cli(*command, "--to", "1", "--reason", "look", "--dry-run")
    assert dry.returncode == 0 and "2 -> 1" in dry.stdout
    assert mlflow.alias_version(model, "production") == "2"
    verify = cli("audit", "verify")
    assert verify.returncode == 0 and "intact (2 entries)" in verify.stdout
    export = cli("audit", "export", "--since", "1h")
    assert export.returncode == 0 and len(export.stdout.splitlines()) == 2


def test_denied_cli_actions_exit_1_and_are_audited(
    mlflow: MlflowServer, model: str, cli: Cli
) -> None:
    profile = profile_for(mlflow, model)
    save_profile(dataclasses.replace(profile, role=Role.VIEWER))
    denied = cli(
        "rollback", "--profile", "prod", "--deployment", DEPLOYMENT, "--reason", "x", "--yes"
    )
    assert denied.returncode == 1 and "denied" in denied.stdout
    assert mlflow.alias_version(model, "production") == "3"
    (entry,) = AuditLog().entries()
    assert entry.outcome is AuditOutcome.DENIED


def test_a_webhook_deploys_once_and_its_status_is_polled(
    mlflow: MlflowServer, model: str, secrets: SecretStore
) -> None:
    secrets.set("deployer", "token", "Bearer deploy-secret")
    with WebhookReceiver() as deployer:
        webhook = WebhookTemplate(
            url=f"{deployer.url}/apps/{{deployment}}/sync",
            secret_headers=(("Authorization", "deployer"),),
            body='{"revision": "{to_version}", "from": "{from_version}", "note": "{reason}"}',
            status_url=f"{deployer.url}/status",
        )
        service = service_for(profile_for(mlflow, model, webhook=webhook), FakeBackend(), secrets)

        async def scenario() -> AuditOutcome:
            plan = await service.plan(ActionKind.ROLLBACK, DEPLOYMENT)
            assert plan.route.startswith("webhook POST")
            result = await service.execute(plan, Confirmation('bad "build" 3'))
            await service.aclose()
            return result.outcome

        assert asyncio.run(scenario()) is AuditOutcome.SUCCEEDED
    (sent,) = deployer.deployments()
    assert sent.path == f"/apps/{DEPLOYMENT}/sync"
    assert sent.body == {"revision": "2", "from": "3", "note": 'bad "build" 3'}
    assert sent.headers["Authorization"] == "Bearer deploy-secret"
    assert len(sent.headers["Idempotency-Key"]) == 64
    assert [r.path for r in deployer.requests if r.method == "GET"] == ["/status", "/status"]
    assert mlflow.alias_version(model, "production") == "3"  # the deployer acts, not us


def test_kill_9_during_execute_leaves_the_audit_log_consistent_with_unknown(
    mlflow: MlflowServer, model: str
) -> None:
    with WebhookReceiver(hold=True) as deployer:
        webhook = WebhookTemplate(url=f"{deployer.url}/deploy", timeout_s=60.0)
        save_profile(profile_for(mlflow, model, webhook=webhook))
        process = subprocess.Popen(
            console_argv(
                "rollback",
                "--profile",
                "prod",
                "--deployment",
                DEPLOYMENT,
                "--reason",
                "killed mid-flight",
                "--yes",
            ),
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            reached = deployer.received.wait(60.0)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
            _, stderr = process.communicate(timeout=10.0)
        assert reached, stderr.decode(errors="replace")
    assert process.returncode == -signal.SIGKILL
    log = AuditLog()
    assert [e.outcome for e in log.recovered] == [AuditOutcome.UNKNOWN]
    closing = log.recovered[0]
    assert "verify by hand" in (closing.error or "")
    assert [e.outcome for e in reversed(log.entries())] == [
        AuditOutcome.STARTED,
        AuditOutcome.UNKNOWN,
    ]
    assert log.verify().intact
