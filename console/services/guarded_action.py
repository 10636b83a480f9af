"""The guarded pipeline every rollback and failover goes through. No Qt.

plan -> permission -> confirmation -> pre-check -> execute (once) -> verify -> post-check,
and whatever happens an audit entry and a chart annotation:

- :meth:`ActionService.plan` is cheap (the registry's versions, instant metrics per
  version and the run history; no suite run), so a plan dialog opens at once.
- :meth:`ActionService.execute` takes the plan and a :class:`Confirmation` (a reason,
  always; the typed deployment name on a protected profile). A denial, a failing
  pre-check, a failed or unknown change each end with one audit entry; a change that ran
  has a STARTED entry before it acts and a closing entry after. The idempotency key is a
  hash of profile, action, deployment, requested version, reason and actor: a double-click,
  a repeated CLI call or a retry within the audit log's window is refused without acting.
- :meth:`ActionService.cancel` records that the engineer backed out.

Progress goes to ``on_progress`` (on the caller's loop) as :class:`ActionProgress` steps.
"""

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from console.backends.errors import (
    AuthFailed,
    BackendError,
    BadQuery,
    CircuitOpen,
    NotSupported,
    TlsFailure,
)
from console.backends.protocol import MetricsBackend
from console.backends.registry_protocol import ModelRegistry
from console.backends.webhook import WebhookFailed
from console.config.registry import RegistrySettings
from console.config.settings import Profile
from console.domain.annotations import Annotation, AnnotationKind
from console.domain.audit import AuditDraft, AuditEntry, AuditOutcome
from console.domain.model_registry import AliasChange, ModelVersion, previous_ready
from console.domain.signals import Signal
from console.domain.suite_results import RunInfo
from console.services.action_routes import Change, Route
from console.services.alias_history import AliasHistory
from console.services.annotations import AnnotationStore
from console.services.audit_log import AuditLog, DuplicateAction
from console.services.permissions import actor_of, denial_reason, may_override_precheck
from console.services.run_history import RunHistory
from console.services.smoke_check import CheckResult, SmokeChecks

PLAN_SIGNALS = (Signal.REQUEST_RATE, Signal.ERROR_RATIO, Signal.P95_LATENCY)
"""The figures a plan shows for each version."""
VERIFY_BY_HAND = "Verify by hand before acting again."
_REJECTED = (AuthFailed, BadQuery, CircuitOpen, NotSupported, TlsFailure, WebhookFailed)
"""Errors after which the change certainly did not happen (the request was refused)."""


class ActionKind(StrEnum):
    """What a guarded action does."""

    ROLLBACK = "rollback"
    FAILOVER = "failover"


class Step(StrEnum):
    """The pipeline's steps after the plan, in order."""

    PERMISSION = "permission"
    PRE_CHECK = "pre-check"
    EXECUTE = "execute"
    VERIFY = "verify"
    POST_CHECK = "post-check"


class PlanError(Exception):
    """No plan can be made (no registry, nothing to roll back to, unknown version…)."""


class InvalidConfirmation(ValueError):
    """The confirmation lacks a reason, or the typed deployment name does not match."""


@dataclass(frozen=True)
class ActionProgress:
    """A step changed state: "running", "done", "failed" or "skipped"."""

    step: Step
    state: str
    message: str = ""


@dataclass(frozen=True)
class VersionFacts:
    """A version in a plan, its latest figures and its last synthetic run (if any)."""

    version: ModelVersion
    metrics: Mapping[Signal, float | None]
    last_run: RunInfo | None = None

    @property
    def label(self) -> str:
        """``version``, or ``model@version`` for another model's version."""
        return self.version.version


@dataclass(frozen=True)
class ActionPlan:
    """What an action would do. ``denial`` says why this engineer may not (None: may)."""

    kind: ActionKind
    profile: str
    deployment: str
    model: str
    alias: str
    current: VersionFacts | None
    target: VersionFacts
    versions: tuple[ModelVersion, ...]
    route: str
    """How the change is made, e.g. "MLflow at …: alias 'production' of model 'x'"."""
    denial: str | None
    requires_typed_name: bool
    precheck: bool
    precheck_note: str
    requested: str | None = None
    """The version asked for (None: the default target)."""
    other_model: bool = False
    """The target is a version of another registered model (failover to a model)."""
    _route: Route | None = field(default=None, repr=False, compare=False)

    @property
    def target_label(self) -> str:
        """The target as audit entries name it."""
        version = self.target.version
        return f"{version.model}@{version.version}" if self.other_model else version.version


@dataclass(frozen=True)
class Confirmation:
    """What the engineer confirmed: a reason (always), the typed name, a pre-check override."""

    reason: str
    typed_name: str | None = None
    override_precheck: bool = False


@dataclass(frozen=True)
class ActionResult:
    """How an action ended and the audit entry that says so."""

    outcome: AuditOutcome
    message: str
    audit_id: int
    plan: ActionPlan
    pre_check: str | None = None
    post_check: str | None = None
    duplicate: bool = False


ProgressCallback = Callable[[ActionProgress], None]
RouteFactory = Callable[[ActionKind, str], Route]
"""(kind, deployment) -> the route that makes the change."""


class ActionService:
    """Plans and runs the guarded actions of one profile."""

    def __init__(
        self,
        profile: Profile,
        *,
        registry: ModelRegistry | None,
        settings: RegistrySettings,
        routes: RouteFactory,
        metrics: MetricsBackend,
        audit: AuditLog,
        annotations: AnnotationStore,
        alias_history: AliasHistory,
        run_history: RunHistory | None = None,
        checks: SmokeChecks | None = None,
        actor: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.profile = profile
        self._registry = registry
        self._settings = settings
        self._routes = routes
        self._metrics = metrics
        self._audit = audit
        self._annotations = annotations
        self._aliases = alias_history
        self._runs = run_history
        self._checks = checks
        self.actor = actor or actor_of(profile)
        self._clock = clock
        self._sleep = sleep
        self._in_flight: dict[str, asyncio.Future[ActionResult]] = {}

    async def aclose(self) -> None:
        """Release the registry's HTTP client."""
        if self._registry is not None:
            await self._registry.aclose()

    # Plan

    async def plan(
        self, kind: ActionKind, deployment: str, to_version: str | None = None
    ) -> ActionPlan:
        """What ``kind`` would do to ``deployment``; PlanError when nothing sensible."""
        registry = self._registry
        if registry is None:
            raise PlanError(
                f"profile {self.profile.name!r} has no model registry: "
                "add one with `sre-console profile add … --registry mlflow:URL`"
            )
        model = self._settings.model_of(deployment)
        alias = self._settings.alias_of(deployment)
        metrics_task = asyncio.ensure_future(self._version_metrics(deployment))
        try:
            versions = await _registry_call(registry.versions(model), f"model {model!r}")
            current = next((v for v in versions if alias in v.aliases), None)
            self._observe(deployment, model, alias, current)
            target, target_versions, other_model = await self._target(
                kind, deployment, model, versions, current, to_version
            )
            metrics = await metrics_task
        finally:
            metrics_task.cancel()
        route = self._routes(kind, deployment)
        last_runs = self._last_runs(deployment)
        unavailable = (
            "no suite check is set up"
            if self._checks is None
            else self._checks.unavailable(deployment, target.version)
        )
        if other_model and unavailable is None:
            unavailable = "the target is another model's version"
        return ActionPlan(
            kind=kind,
            profile=self.profile.name,
            deployment=deployment,
            model=model,
            alias=alias,
            current=None
            if current is None
            else VersionFacts(
                current, metrics.get(current.version, {}), last_runs.get(current.version)
            ),
            target=VersionFacts(
                target,
                {} if other_model else metrics.get(target.version, {}),
                None if other_model else last_runs.get(target.version),
            ),
            versions=tuple(target_versions),
            route=route.description,
            denial=denial_reason(self.profile),
            requires_typed_name=self.profile.protected,
            precheck=unavailable is None,
            precheck_note=unavailable or "the bound suite runs against the target first",
            requested=to_version,
            other_model=other_model,
            _route=route,
        )

    async def _target(
        self,
        kind: ActionKind,
        deployment: str,
        model: str,
        versions: list[ModelVersion],
        current: ModelVersion | None,
        requested: str | None,
    ) -> tuple[ModelVersion, list[ModelVersion], bool]:
        current_name = current.version if current else None
        if kind is ActionKind.ROLLBACK:
            return (
                self._rollback_target(deployment, versions, current_name, requested),
                versions,
                False,
            )
        failover = self._settings.deployment(deployment).failover
        if failover is None:
            raise PlanError(
                f'no failover is set for {deployment!r}: add failover = {{ alias = "…" }} under '
                f"[profiles.{self.profile.name}.registry.deployments.{deployment}]"
            )
        assert self._registry is not None
        if failover.alias is not None:
            chosen = next((v for v in versions if failover.alias in v.aliases), None)
            if chosen is None:
                raise PlanError(f"the failover alias {failover.alias!r} of {model!r} is not set")
            if chosen.version == current_name:
                raise PlanError(
                    f"{deployment!r} already serves the fallback version {chosen.version}"
                )
            return chosen, versions, False
        assert failover.model is not None
        others = await _registry_call(
            self._registry.versions(failover.model), f"model {failover.model!r}"
        )
        chosen = next((v for v in others if failover.model_alias in v.aliases), None)
        if chosen is None:
            raise PlanError(
                f"alias {failover.model_alias!r} of the fallback model {failover.model!r} "
                "is not set"
            )
        return replace(chosen, model=failover.model), others, True

    def _rollback_target(
        self,
        deployment: str,
        versions: list[ModelVersion],
        current: str | None,
        requested: str | None,
    ) -> ModelVersion:
        by_name = {v.version: v for v in versions}
        if requested is not None:
            chosen = by_name.get(requested)
            if chosen is None:
                known = ", ".join(sorted(by_name)) or "none"
                raise PlanError(f"{deployment!r} has no version {requested!r} (versions: {known})")
        else:
            before = self._aliases.served_before(self.profile.name, deployment, current or "")
            chosen = by_name.get(before or "") or previous_ready(versions, current)
            if chosen is None:
                raise PlanError(f"{deployment!r} has no earlier READY version to roll back to")
        if not chosen.ready:
            raise PlanError(f"version {chosen.version} is {chosen.status}, not READY")
        if chosen.version == current:
            raise PlanError(f"{deployment!r} already serves version {chosen.version}")
        return chosen

    def _observe(
        self, deployment: str, model: str, alias: str, current: ModelVersion | None
    ) -> None:
        """Record a change made elsewhere, so the history's "served before" stays right."""
        if current is None:
            return
        latest = self._aliases.latest(self.profile.name, deployment)
        if latest is not None and latest.to_version == current.version:
            return
        self._aliases.record(
            AliasChange(
                at=self._clock(),
                profile=self.profile.name,
                deployment=deployment,
                model=model,
                alias=alias,
                from_version=latest.to_version if latest else None,
                to_version=current.version,
                observed=True,
            )
        )

    async def _version_metrics(self, deployment: str) -> dict[str, dict[Signal, float | None]]:
        async def one(signal: Signal) -> dict[str, float | None]:
            try:
                values = await self._metrics.instant(
                    signal, self.profile.rate_window_s, by_version=True
                )
            except BackendError:
                return {}
            return {
                key.version: value
                for key, value in values.items()
                if key.deployment == deployment and key.version is not None
            }

        found = await asyncio.gather(*(one(signal) for signal in PLAN_SIGNALS))
        table: dict[str, dict[Signal, float | None]] = {}
        for signal, values in zip(PLAN_SIGNALS, found, strict=True):
            for version, value in values.items():
                table.setdefault(version, {})[signal] = value
        return table

    def _last_runs(self, deployment: str) -> dict[str, RunInfo]:
        if self._runs is None:
            return {}
        latest: dict[str, RunInfo] = {}
        for run in self._runs.runs(deployment=deployment, limit=200):
            if run.model_version is not None:
                latest.setdefault(run.model_version, run)
        return latest

    # Execute

    async def execute(
        self,
        plan: ActionPlan,
        confirmation: Confirmation,
        on_progress: ProgressCallback | None = None,
    ) -> ActionResult:
        """Run the plan once; InvalidConfirmation before anything else happens.

        A second call with the same plan and reason while the first runs gets the first's
        result (a double-click); after it, the audit log's idempotency window refuses it.
        """
        reason = confirmation.reason.strip()
        if not reason:
            raise InvalidConfirmation("a reason is required")
        if plan.requires_typed_name and (confirmation.typed_name or "").strip() != plan.deployment:
            raise InvalidConfirmation(
                f"profile {plan.profile!r} is protected: type the deployment name "
                f"{plan.deployment!r} to confirm"
            )
        key = self.idempotency_key(plan, reason)
        running = self._in_flight.get(key)
        if running is not None:
            result = await asyncio.shield(running)
            return replace(result, duplicate=True)
        future: asyncio.Future[ActionResult] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result = await self._run(plan, replace(confirmation, reason=reason), key, on_progress)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a duplicate waiter re-raises it, nobody else must
            raise
        finally:
            del self._in_flight[key]
        future.set_result(result)
        return result

    def idempotency_key(self, plan: ActionPlan, reason: str) -> str:
        """The same request (profile, action, deployment, asked version, reason, actor) has
        the same key."""
        parts = (
            plan.profile,
            plan.kind.value,
            plan.deployment,
            plan.requested or "(default target)",
            reason.strip(),
            self.actor,
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    async def cancel(self, plan: ActionPlan, reason: str = "") -> ActionResult:
        """The engineer backed out of the plan: audited and marked, nothing changed."""
        entry = self._audit.append(
            replace(self._draft(plan, reason), outcome=AuditOutcome.CANCELLED)
        )
        return self._result(plan, entry, "cancelled: nothing was changed")

    async def _run(
        self,
        plan: ActionPlan,
        confirmation: Confirmation,
        key: str,
        on_progress: ProgressCallback | None,
    ) -> ActionResult:
        def report(step: Step, state: str, message: str = "") -> None:
            if on_progress is not None:
                on_progress(ActionProgress(step, state, message))

        draft = replace(self._draft(plan, confirmation.reason), idempotency_key=key)
        report(Step.PERMISSION, "running")
        denial = denial_reason(self.profile)
        if denial is not None:
            report(Step.PERMISSION, "failed", denial)
            entry = self._audit.append(replace(draft, outcome=AuditOutcome.DENIED, error=denial))
            return self._result(plan, entry, f"denied: {denial}")
        report(Step.PERMISSION, "done")
        pre_check, blocked = await self._pre_check(plan, confirmation, report)
        if blocked is not None:
            entry = self._audit.append(
                replace(draft, outcome=AuditOutcome.FAILED, pre_check=pre_check, error=blocked)
            )
            return self._result(plan, entry, f"failed: {blocked}", pre_check=pre_check)
        try:
            started = self._audit.start(replace(draft, pre_check=pre_check))
        except DuplicateAction as duplicate:
            report(Step.EXECUTE, "skipped", str(duplicate))
            closing = duplicate.closing
            return ActionResult(
                outcome=closing.outcome if closing else AuditOutcome.UNKNOWN,
                message=str(duplicate),
                audit_id=duplicate.started.id,
                plan=plan,
                duplicate=True,
            )
        change = Change(
            action=plan.kind.value,
            profile=plan.profile,
            deployment=plan.deployment,
            from_version=plan.current.label if plan.current else None,
            to_version=plan.target.version.version,
            reason=confirmation.reason,
            actor=self.actor,
            idempotency_key=key,
        )
        route = plan._route or self._routes(plan.kind, plan.deployment)
        try:
            return await self._change(plan, route, change, started, pre_check, report)
        except asyncio.CancelledError:
            entry = self._audit.finish(
                started,
                AuditOutcome.UNKNOWN,
                error=f"cancelled while the change was under way. {VERIFY_BY_HAND}",
            )
            self._annotate(plan, entry)
            raise

    async def _pre_check(
        self,
        plan: ActionPlan,
        confirmation: Confirmation,
        report: Callable[[Step, str, str], None],
    ) -> tuple[str, str | None]:
        """(summary, why the action is blocked or None)."""
        if not plan.precheck or self._checks is None:
            report(Step.PRE_CHECK, "skipped", plan.precheck_note)
            return f"skipped: {plan.precheck_note}", None
        report(Step.PRE_CHECK, "running", f"suite against {plan.target.label}")
        try:
            check = await self._checks.run(plan.deployment, plan.target.version.version)
        except (ValueError, BackendError, OSError) as exc:
            check = CheckResult(False, f"the pre-check could not run: {exc}")
        if check.passed:
            report(Step.PRE_CHECK, "done", check.summary)
            return check.summary, None
        if confirmation.override_precheck and may_override_precheck(self.profile):
            report(Step.PRE_CHECK, "failed", f"{check.summary}; overridden by an admin")
            return f"FAILED, overridden by admin {self.actor}: {check.summary}", None
        report(Step.PRE_CHECK, "failed", check.summary)
        why = "the pre-check failed"
        if confirmation.override_precheck:
            why += " and only an admin may override it"
        return f"FAILED: {check.summary}", why

    async def _change(
        self,
        plan: ActionPlan,
        route: Route,
        change: Change,
        started: AuditEntry,
        pre_check: str,
        report: Callable[[Step, str, str], None],
    ) -> ActionResult:
        report(Step.EXECUTE, "running", route.description)
        try:
            done = await route.execute(change)
        except BackendError as exc:
            shows, seen = await _read_back(route, change)
            if not shows:
                certain = isinstance(exc, _REJECTED) or type(exc) is BackendError
                outcome = AuditOutcome.FAILED if certain else AuditOutcome.UNKNOWN
                message = (
                    f"the change was refused: {exc.message}"
                    if certain
                    else f"the request may or may not have taken effect: {exc.message}; "
                    f"{seen}. {VERIFY_BY_HAND}"
                )
                report(Step.EXECUTE, "failed", message)
                return self._close(plan, started, outcome, message, pre_check=pre_check)
            done = f"{exc.message}, yet the change shows ({seen})"
        report(Step.EXECUTE, "done", done)
        self._aliases.record(
            AliasChange(
                at=self._clock(),
                profile=plan.profile,
                deployment=plan.deployment,
                model=plan.target.version.model or plan.model,
                alias=plan.alias,
                from_version=change.from_version,
                to_version=plan.target_label,
                action_id=started.action_id,
            )
        )
        outcome, message = await self._verify(plan, route, change, report)
        post_check = None
        if outcome is AuditOutcome.SUCCEEDED:
            post_check, post_ok = await self._post_check(plan, report)
            if not post_ok:
                outcome, message = AuditOutcome.FAILED, f"{message}; but {post_check}"
        return self._close(
            plan, started, outcome, message, pre_check=pre_check, post_check=post_check
        )

    async def _verify(
        self,
        plan: ActionPlan,
        route: Route,
        change: Change,
        report: Callable[[Step, str, str], None],
    ) -> tuple[AuditOutcome, str]:
        target = change.to_version
        report(Step.VERIFY, "running", f"waiting until {target} serves")
        deadline = self._clock() + self._settings.verify_timeout_s
        while True:
            try:
                shows, seen = await route.confirm(change)
            except WebhookFailed as exc:
                report(Step.VERIFY, "failed", exc.message)
                return AuditOutcome.FAILED, exc.message
            except BackendError as exc:
                shows, seen = None, exc.message
            serving = None if plan.other_model else await self._serving(plan.deployment)
            metric = (
                "serving metric: no data for the deployment"
                if serving is None
                else f"serving metric shows {', '.join(serving) or 'no version'}"
            )
            if shows and (serving is None or target in serving):
                message = f"{plan.target_label} serves: {seen}; {metric}"
                report(Step.VERIFY, "done", message)
                return AuditOutcome.SUCCEEDED, message
            if self._clock() >= deadline:
                message = (
                    f"the change was made, but after {self._settings.verify_timeout_s:g} s "
                    f"{plan.target_label} is not confirmed to serve: {seen}; {metric}. "
                    f"{VERIFY_BY_HAND}"
                )
                report(Step.VERIFY, "failed", message)
                return AuditOutcome.UNKNOWN, message
            await self._sleep(self._settings.poll_interval_s)

    async def _post_check(
        self, plan: ActionPlan, report: Callable[[Step, str, str], None]
    ) -> tuple[str, bool]:
        unavailable = (
            "no suite check is set up"
            if self._checks is None
            else self._checks.unavailable(plan.deployment, None)
        )
        if unavailable is not None or self._checks is None:
            report(Step.POST_CHECK, "skipped", unavailable or "")
            return f"skipped: {unavailable}", True
        report(Step.POST_CHECK, "running", f"suite against {plan.deployment}")
        try:
            check = await self._checks.run(plan.deployment, None)
        except (ValueError, BackendError, OSError) as exc:
            check = CheckResult(False, f"the post-check could not run: {exc}")
        report(Step.POST_CHECK, "done" if check.passed else "failed", check.summary)
        return (check.summary if check.passed else f"post-check FAILED: {check.summary}"), (
            check.passed
        )

    async def _serving(self, deployment: str) -> tuple[str, ...] | None:
        """The versions the serving-version metric shows (None: the deployment has none)."""
        try:
            inventory = await self._metrics.inventory()
        except BackendError:
            return None
        found = next((d for d in inventory if d.deployment == deployment), None)
        return found.versions if found is not None and found.versions else None

    # Audit and annotations

    def _draft(self, plan: ActionPlan, reason: str) -> AuditDraft:
        return AuditDraft(
            actor=self.actor,
            profile=plan.profile,
            action=plan.kind.value,
            target=plan.deployment,
            outcome=AuditOutcome.STARTED,
            reason=reason,
            before=plan.current.label if plan.current else None,
            after=plan.target_label,
        )

    def _close(
        self,
        plan: ActionPlan,
        started: AuditEntry,
        outcome: AuditOutcome,
        message: str,
        *,
        pre_check: str | None,
        post_check: str | None = None,
    ) -> ActionResult:
        error = None if outcome is AuditOutcome.SUCCEEDED else message
        entry = self._audit.finish(started, outcome, post_check=post_check, error=error)
        return self._result(
            plan, entry, f"{outcome.value}: {message}", pre_check=pre_check, post_check=post_check
        )

    def _result(
        self,
        plan: ActionPlan,
        entry: AuditEntry,
        message: str,
        *,
        pre_check: str | None = None,
        post_check: str | None = None,
    ) -> ActionResult:
        self._annotate(plan, entry)
        return ActionResult(entry.outcome, message, entry.id, plan, pre_check, post_check)

    def _annotate(self, plan: ActionPlan, entry: AuditEntry) -> None:
        kind = (
            AnnotationKind.ROLLBACK if plan.kind is ActionKind.ROLLBACK else AnnotationKind.FAILOVER
        )
        before = plan.current.label if plan.current else "?"
        self._annotations.add(
            Annotation(
                at=self._clock(),
                kind=kind,
                text=f"{plan.kind.value} {before} → {plan.target_label}: {entry.outcome.value} "
                f"(audit #{entry.id})",
                deployment=plan.deployment,
                version=plan.target.version.version,
            )
        )


async def _registry_call(call: Awaitable[list[ModelVersion]], what: str) -> list[ModelVersion]:
    try:
        return await call
    except BackendError as exc:
        raise PlanError(f"cannot read {what} from the registry: {exc.message}") from None


async def _read_back(route: Route, change: Change) -> tuple[bool, str]:
    """After a failed request: does the change show anyway? Never raises."""
    try:
        shows, seen = await route.confirm(change)
    except BackendError as exc:
        return False, f"reading it back failed too ({exc.message})"
    return bool(shows), seen
