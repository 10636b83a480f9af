"""The guarded pipeline on the DEMO registry: roles, confirmation, checks, exactly-once."""

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.backends.demo import DemoBackend
from console.backends.demo_registry import DemoRegistry
from console.backends.errors import BackendError, BadQuery, RequestTimeout
from console.config.registry import (
    DeploymentActions,
    FailoverSettings,
    RegistrySettings,
    WebhookTemplate,
)
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, Profile, Role
from console.domain.annotations import AnnotationKind
from console.domain.audit import AuditOutcome
from console.domain.signals import Signal
from console.services.action_routes import AliasRoute, Change, Route
from console.services.alias_history import AliasHistory
from console.services.annotations import AnnotationStore
from console.services.audit_log import AuditFilter, AuditLog
from console.services.guarded_action import (
    ActionKind,
    ActionProgress,
    ActionService,
    Confirmation,
    InvalidConfirmation,
    PlanError,
    Step,
)
from console.services.open_actions import (
    DEMO_REGISTRY_SETTINGS,
    open_action_service,
    registry_settings,
    route_factory,
)
from console.services.run_history import RunHistory
from console.services.smoke_check import SmokeChecks
from console.services.suite_targets import SuiteTargets

T0 = 1_800_000_000.0
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The pipeline runs on asyncio (the AsyncRunner's loop)."""
    return "asyncio"


class Clock:
    """A clock the test moves; ``sleep`` moves it instead of waiting."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class CountingRoute:
    """A route around another that counts executions and can fail on purpose."""

    def __init__(self, inner: Route) -> None:
        self.inner = inner
        self.description = inner.description
        self.executed: list[str] = []
        self.error: BackendError | None = None
        self.confirm_answer: tuple[bool | None, str] | None = None
        self.gate: asyncio.Event | None = None

    async def execute(self, change: Change) -> str:
        self.executed.append(change.to_version)
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return await self.inner.execute(change)

    async def confirm(self, change: Change) -> tuple[bool | None, str]:
        if self.confirm_answer is not None:
            return self.confirm_answer
        return await self.inner.confirm(change)


class Rig:
    """A DEMO backend and registry, and an action service over them."""

    def __init__(self, tmp_path: Path, profile: Profile, checks: bool = False) -> None:
        self.clock = Clock()
        self.demo = DemoBackend(clock=self.clock, started_at=T0)
        self.registry = DemoRegistry(self.demo, clock=self.clock)
        self.audit = AuditLog(tmp_path / "audit.sqlite3", clock=self.clock)
        self.annotations = AnnotationStore()
        self.history = AliasHistory(tmp_path / "aliases.sqlite3")
        self.route = CountingRoute(AliasRoute(self.registry, "support-chat", "production"))
        self.targets = SuiteTargets(profile, self.demo, SecretStore.session_only(), time_scale=0.02)
        self.service = ActionService(
            profile,
            registry=self.registry,
            settings=DEMO_REGISTRY_SETTINGS,
            routes=lambda kind, deployment: self.route,
            metrics=self.demo,
            audit=self.audit,
            annotations=self.annotations,
            alias_history=self.history,
            checks=SmokeChecks(profile, self.targets) if checks else None,
            actor="tester@host (demo/admin)",
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def outcomes(self) -> list[tuple[int, str]]:
        return [(e.id, e.outcome.value) for e in reversed(self.audit.entries())]

    def close(self) -> None:
        self.targets.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path, DEMO_PROFILE)
    yield made
    made.close()


def make_rig(tmp_path: Path, checks: bool = False, **changes: object) -> Rig:
    profile = dataclasses.replace(DEMO_PROFILE, **changes)  # type: ignore[arg-type]
    return Rig(tmp_path, profile, checks=checks)


async def test_rolling_back_the_demo_moves_it_to_the_good_version_and_it_recovers(
    rig: Rig,
) -> None:
    before = await rig.demo.instant(Signal.ERROR_RATIO, 300.0)
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    assert (plan.current and plan.current.label, plan.target.label) == ("v42", "v41")
    assert plan.current is not None and plan.current.metrics[Signal.ERROR_RATIO] is not None
    assert plan.denial is None and not plan.requires_typed_name
    assert [v.version for v in plan.versions] == ["v41", "v42"]
    steps: list[ActionProgress] = []
    result = await rig.service.execute(
        plan, Confirmation("v42 refuses benign questions"), steps.append
    )
    assert result.outcome is AuditOutcome.SUCCEEDED, result.message
    assert rig.demo.serving("support-chat") == {"v41": 1.0}
    assert rig.outcomes() == [(1, "started"), (2, "succeeded")]
    closing = rig.audit.get(result.audit_id)
    assert closing is not None
    assert (closing.before, closing.after, closing.reason) == (
        "v42",
        "v41",
        "v42 refuses benign questions",
    )
    assert [(s.step, s.state) for s in steps if s.state != "running"] == [
        (Step.PERMISSION, "done"),
        (Step.PRE_CHECK, "skipped"),
        (Step.EXECUTE, "done"),
        (Step.VERIFY, "done"),
        (Step.POST_CHECK, "skipped"),
    ]
    marks = rig.annotations.between("support-chat", T0 - 1, T0 + 1)
    assert [(m.kind, m.version) for m in marks] == [(AnnotationKind.ROLLBACK, "v41")]
    assert f"audit #{result.audit_id}" in marks[0].text
    latest = rig.history.latest("demo", "support-chat")
    assert latest is not None and (latest.from_version, latest.to_version) == ("v42", "v41")
    rig.clock.now += 600.0  # past the rate window: the simulated figures follow
    after = await rig.demo.instant(Signal.ERROR_RATIO, 300.0)
    key = next(k for k in after if k.deployment == "support-chat")
    assert (before[key] or 0) > 0.05 and (after[key] or 1) < 0.01


async def test_a_double_click_makes_one_change(rig: Rig) -> None:
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    confirmation = Confirmation("bad release")
    first, second = await asyncio.gather(
        rig.service.execute(plan, confirmation), rig.service.execute(plan, confirmation)
    )
    assert rig.route.executed == ["v41"]
    assert first.outcome is second.outcome is AuditOutcome.SUCCEEDED
    assert [first.duplicate, second.duplicate] == [False, True]
    assert rig.outcomes() == [(1, "started"), (2, "succeeded")]


async def test_a_repeated_request_after_success_makes_no_second_change(rig: Rig) -> None:
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    await rig.service.execute(plan, Confirmation("bad release"))
    rig.demo.set_serving("support-chat", {"v42": 1.0})  # someone else moves it back
    again = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    repeated = await rig.service.execute(again, Confirmation("bad release"))
    assert repeated.duplicate and repeated.outcome is AuditOutcome.SUCCEEDED
    assert "already ran as audit entry 1" in repeated.message
    assert rig.route.executed == ["v41"]
    other = await rig.service.execute(again, Confirmation("moved back by mistake"))
    assert other.outcome is AuditOutcome.SUCCEEDED and rig.route.executed == ["v41", "v41"]


@pytest.mark.parametrize(
    ("changes", "denied"),
    [
        ({"role": Role.VIEWER}, "viewer role, which cannot act"),
        ({"role": Role.VIEWER, "protected": True}, "viewer role"),
        ({"role": Role.OPERATOR, "protected": True}, "only an admin may act"),
        ({"role": Role.OPERATOR}, None),
        ({"role": Role.OPERATOR, "protected": True, "protected_operators_may_act": True}, None),
        ({"role": Role.ADMIN, "protected": True}, None),
    ],
)
async def test_each_role_is_enforced_in_the_service(
    tmp_path: Path, changes: dict[str, object], denied: str | None
) -> None:
    rig = make_rig(tmp_path, **changes)
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    assert (plan.denial is None) == (denied is None)
    result = await rig.service.execute(plan, Confirmation("why", typed_name="support-chat"))
    if denied is None:
        assert result.outcome is AuditOutcome.SUCCEEDED
        assert rig.route.executed == ["v41"]
        return
    assert result.outcome is AuditOutcome.DENIED and denied in result.message
    assert rig.route.executed == []
    assert rig.demo.serving("support-chat") == {"v42": 1.0}
    (entry,) = rig.audit.entries()
    assert entry.outcome is AuditOutcome.DENIED and denied in (entry.error or "")
    assert entry.reason == "why" and entry.actor == rig.service.actor
    assert len(rig.annotations.between("support-chat", T0 - 1, T0 + 1)) == 1


async def test_a_reason_and_on_protected_profiles_the_typed_name_are_required(
    tmp_path: Path,
) -> None:
    rig = make_rig(tmp_path, protected=True)
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    assert plan.requires_typed_name
    with pytest.raises(InvalidConfirmation, match="reason"):
        await rig.service.execute(plan, Confirmation("   ", typed_name="support-chat"))
    with pytest.raises(InvalidConfirmation, match="type the deployment name"):
        await rig.service.execute(plan, Confirmation("why", typed_name="support"))
    assert rig.audit.entries() == [] and rig.route.executed == []


async def test_cancelling_is_audited_and_marked(rig: Rig) -> None:
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    result = await rig.service.cancel(plan)
    assert result.outcome is AuditOutcome.CANCELLED
    assert rig.outcomes() == [(1, "cancelled")]
    assert rig.route.executed == []
    assert "cancelled" in rig.annotations.between("support-chat", T0 - 1, T0 + 1)[0].text


async def test_a_refused_request_fails_and_a_lost_answer_is_unknown(rig: Rig) -> None:
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    rig.route.error = BadQuery("the registry rejected the alias (HTTP 400)")
    refused = await rig.service.execute(plan, Confirmation("first"))
    assert refused.outcome is AuditOutcome.FAILED and "refused" in refused.message
    rig.route.error = RequestTimeout("no answer within 10 s")
    lost = await rig.service.execute(plan, Confirmation("second"))
    assert lost.outcome is AuditOutcome.UNKNOWN
    assert "may or may not" in lost.message and "Verify by hand" in lost.message
    assert rig.outcomes() == [(1, "started"), (2, "failed"), (3, "started"), (4, "unknown")]


async def test_a_change_that_never_shows_ends_unknown_after_the_timeout(rig: Rig) -> None:
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    rig.route.confirm_answer = (False, "alias 'production' points at version v42")
    result = await rig.service.execute(plan, Confirmation("why"))
    assert result.outcome is AuditOutcome.UNKNOWN
    assert "after 30 s" in result.message and "points at version v42" in result.message
    assert rig.clock.now >= T0 + DEMO_REGISTRY_SETTINGS.verify_timeout_s


async def test_cancelling_during_execute_leaves_an_unknown_entry(rig: Rig) -> None:
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    rig.route.gate = asyncio.Event()
    task = asyncio.ensure_future(rig.service.execute(plan, Confirmation("why")))
    while not rig.route.executed:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rig.outcomes() == [(1, "started"), (2, "unknown")]
    assert rig.audit.verify().intact


async def test_failover_points_the_alias_at_the_fallback_version(rig: Rig) -> None:
    plan = await rig.service.plan(ActionKind.FAILOVER, "support-chat")
    assert plan.target.label == "v41"
    result = await rig.service.execute(plan, Confirmation("v42 is down"))
    assert result.outcome is AuditOutcome.SUCCEEDED
    assert rig.audit.entries(AuditFilter(action="failover"))[0].outcome is AuditOutcome.SUCCEEDED
    assert (
        rig.annotations.between("support-chat", T0 - 1, T0 + 1)[0].kind is AnnotationKind.FAILOVER
    )
    with pytest.raises(PlanError, match="already serves the fallback"):
        await rig.service.plan(ActionKind.FAILOVER, "support-chat")
    with pytest.raises(PlanError, match="no failover is set"):
        await rig.service.plan(ActionKind.FAILOVER, "doc-qa")


async def test_plan_errors_say_what_is_wrong(rig: Rig) -> None:
    with pytest.raises(PlanError, match="no version 'v9'"):
        await rig.service.plan(ActionKind.ROLLBACK, "support-chat", "v9")
    with pytest.raises(PlanError, match="already serves version v42"):
        await rig.service.plan(ActionKind.ROLLBACK, "support-chat", "v42")
    with pytest.raises(PlanError, match="no earlier READY version"):
        await rig.service.plan(ActionKind.ROLLBACK, "code-assist")
    with pytest.raises(PlanError, match="no model"):
        await rig.service.plan(ActionKind.ROLLBACK, "nope")


async def test_a_profile_without_a_registry_cannot_plan(tmp_path: Path) -> None:
    profile = Profile(name="prod", prometheus_url="http://127.0.0.1:9", role=Role.ADMIN)
    service = open_action_service(
        profile,
        SecretStore.session_only(),
        DemoBackend(),
        AnnotationStore(),
        AuditLog(tmp_path / "a.sqlite3"),
        alias_history=AliasHistory(tmp_path / "h.sqlite3"),
    )
    assert profile.registry is None and RegistrySettings().default_alias == "production"
    with pytest.raises(PlanError, match="--registry mlflow:URL"):
        await service.plan(ActionKind.ROLLBACK, "support-chat")


async def test_the_default_target_is_the_version_that_served_before(rig: Rig) -> None:
    plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    await rig.service.execute(plan, Confirmation("bad"))
    back = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
    assert (back.current and back.current.label, back.target.label) == ("v41", "v42")


async def test_a_failing_pre_check_blocks_unless_an_admin_overrides(tmp_path: Path) -> None:
    operator = make_rig(tmp_path / "op", checks=True, role=Role.OPERATOR)
    try:
        operator.demo.set_serving("support-chat", {"v41": 1.0})
        plan = await operator.service.plan(ActionKind.ROLLBACK, "support-chat", "v42")
        assert plan.precheck
        blocked = await operator.service.execute(
            plan, Confirmation("try the new one", override_precheck=True)
        )
        assert blocked.outcome is AuditOutcome.FAILED
        assert "only an admin may override" in blocked.message
        assert operator.route.executed == []
        (entry,) = operator.audit.entries()
        assert (entry.pre_check or "").startswith("FAILED: suite")
    finally:
        operator.close()
    admin = make_rig(tmp_path / "admin", checks=True, role=Role.ADMIN)
    try:
        admin.demo.set_serving("support-chat", {"v41": 1.0})
        plan = await admin.service.plan(ActionKind.ROLLBACK, "support-chat", "v42")
        forced = await admin.service.execute(
            plan, Confirmation("try the new one", override_precheck=True)
        )
        assert admin.route.executed == ["v42"]
        started = admin.audit.get(1)
        assert started is not None and "overridden by admin" in (started.pre_check or "")
        # the post-check runs the suite against what now serves: the bad v42 fails it
        assert forced.outcome is AuditOutcome.FAILED and "post-check FAILED" in forced.message
    finally:
        admin.close()


async def test_a_passing_pre_check_and_post_check_are_recorded(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, checks=True)
    try:
        plan = await rig.service.plan(ActionKind.ROLLBACK, "support-chat")
        result = await rig.service.execute(plan, Confirmation("bad release"))
        assert result.outcome is AuditOutcome.SUCCEEDED, result.message
        assert "support-chat@v41" in (result.pre_check or "")
        assert "0 failed" in (result.post_check or "")
        closing = rig.audit.get(result.audit_id)
        assert closing is not None and closing.post_check == result.post_check
    finally:
        rig.close()


async def test_the_demo_service_plans_with_the_last_run_of_each_version(tmp_path: Path) -> None:
    backend = DemoBackend()
    targets = SuiteTargets(DEMO_PROFILE, backend, SecretStore.session_only(), time_scale=0.02)
    history = RunHistory(tmp_path / "runs.sqlite3")
    service = open_action_service(
        DEMO_PROFILE,
        SecretStore.session_only(),
        backend,
        AnnotationStore(),
        AuditLog(tmp_path / "a.sqlite3"),
        alias_history=AliasHistory(tmp_path / "h.sqlite3"),
        run_history=history,
        suite_targets=targets,
    )
    try:
        first = await service.plan(ActionKind.ROLLBACK, "support-chat")
        assert first.current is not None and first.current.last_run is None
        await service.execute(first, Confirmation("bad"))
        backend.set_serving("support-chat", {"v42": 1.0})
        second = await service.plan(ActionKind.ROLLBACK, "support-chat")
        assert second.target.last_run is not None
        assert second.target.last_run.model_version == "v41"
    finally:
        targets.close()
        await service.aclose()


async def test_failover_to_another_model_goes_through_a_webhook(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []

    def deployer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(204)

    def profile(webhook: WebhookTemplate | None) -> Profile:
        failover = FailoverSettings(model="doc-qa", webhook=webhook)
        return Profile(
            "prod",
            "http://127.0.0.1:9",
            role=Role.ADMIN,
            registry=RegistrySettings(
                deployments=(DeploymentActions("support-chat", failover=failover),),
                verify_timeout_s=5.0,
            ),
        )

    def service(chosen: Profile) -> ActionService:
        demo = DemoBackend()
        registry = DemoRegistry(demo)
        secrets = SecretStore.session_only()
        return ActionService(
            chosen,
            registry=registry,
            settings=registry_settings(chosen),
            routes=route_factory(
                chosen, registry, secrets, transport=httpx.MockTransport(deployer)
            ),
            metrics=demo,
            audit=AuditLog(tmp_path / f"{id(chosen)}.sqlite3"),
            annotations=AnnotationStore(),
            alias_history=AliasHistory(tmp_path / f"{id(chosen)}-aliases.sqlite3"),
        )

    with pytest.raises(PlanError, match="needs a webhook"):
        await service(profile(None)).plan(ActionKind.FAILOVER, "support-chat")
    hooked = service(profile(WebhookTemplate(url="https://deployer.example/failover")))
    plan = await hooked.plan(ActionKind.FAILOVER, "support-chat")
    assert plan.other_model and plan.target_label == "doc-qa@v7"
    assert not plan.precheck and plan.route == "webhook POST https://deployer.example/failover"
    result = await hooked.execute(plan, Confirmation("v42 is down, use doc-qa"))
    assert result.outcome is AuditOutcome.SUCCEEDED, result.message
    (sent,) = calls
    closing = AuditLog(tmp_path / f"{id(hooked.profile)}.sqlite3").get(result.audit_id)
    assert closing is not None and (closing.before, closing.after) == ("v42", "doc-qa@v7")
    assert sent.headers["Idempotency-Key"] == hooked.idempotency_key(
        plan, "v42 is down, use doc-qa"
    )
