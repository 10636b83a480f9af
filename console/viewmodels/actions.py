"""Rollback and failover of the open profile, for the buttons and the plan dialog.

The profile's :class:`~console.services.guarded_action.ActionService` is built on the I/O
loop (it reads the keyring and opens SQLite files) once the first fleet is shown; its
module and the suite machinery take most of a second to import, so neither is imported
here at module level. Each dialog drives one :class:`ActionFlow`: plan, execute once or
cancel, with progress and results back on the GUI thread through queued signals.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner
from console.services.permissions import denial_reason, may_override_precheck

if TYPE_CHECKING:
    from console.backends.protocol import MetricsBackend
    from console.domain.model_registry import AliasChange
    from console.services.alias_history import AliasHistory
    from console.services.annotations import AnnotationStore
    from console.services.audit_log import AuditLog
    from console.services.guarded_action import (
        ActionPlan,
        ActionProgress,
        ActionResult,
        ActionService,
    )
    from console.services.run_history import RunHistory
    from console.services.suite_targets import SuiteTargets

ROLLBACK = "rollback"
FAILOVER = "failover"
ACTION_LABELS = {ROLLBACK: "Roll back", FAILOVER: "Fail over"}
"""Button texts of the two guarded actions (the values of ActionKind)."""
_log = logging.getLogger(__name__)


@dataclass
class OpenedActions:
    """The action service of one profile and the files and clients it holds."""

    service: ActionService
    aliases: AliasHistory
    runs: RunHistory
    targets: SuiteTargets

    async def aclose(self) -> None:
        """Close the registry client, the suite targets and the history files."""
        await self.service.aclose()
        await asyncio.to_thread(self._close_files)

    def _close_files(self) -> None:
        self.targets.close()
        self.runs.close()
        self.aliases.close()


async def open_actions(
    profile: Profile,
    secrets: SecretStore,
    backend: MetricsBackend,
    annotations: AnnotationStore,
    audit: concurrent.futures.Future[AuditLog],
    *,
    suite_time_scale: float = 1.0,
) -> OpenedActions:
    """Build ``profile``'s action service (on the I/O loop; blocking parts in a worker)."""
    log = await asyncio.wrap_future(audit)
    return await asyncio.to_thread(
        _build, profile, secrets, backend, annotations, log, suite_time_scale
    )


def _build(
    profile: Profile,
    secrets: SecretStore,
    backend: MetricsBackend,
    annotations: AnnotationStore,
    audit: AuditLog,
    suite_time_scale: float,
) -> OpenedActions:
    # Imported here, off the GUI thread: they pull in the suite machinery.
    from console.services.alias_history import AliasHistory
    from console.services.open_actions import open_action_service
    from console.services.run_history import RunHistory
    from console.services.suite_targets import SuiteTargets

    aliases = AliasHistory()
    runs = RunHistory()
    targets = SuiteTargets(profile, backend, secrets, time_scale=suite_time_scale)
    try:
        service = open_action_service(
            profile,
            secrets,
            backend,
            annotations,
            audit,
            alias_history=aliases,
            run_history=runs,
            suite_targets=targets,
        )
    except BaseException:
        targets.close()
        runs.close()
        aliases.close()
        raise
    return OpenedActions(service, aliases, runs, targets)


ActionsOpener = Callable[[], Coroutine[Any, Any, OpenedActions]]


class ActionsViewModel(QObject):
    """The guarded actions of one open profile: who may act, and a flow per dialog."""

    ready = Signal()
    """The action service was built (or ``open_error`` says why not)."""

    def __init__(
        self, runner: AsyncRunner, profile: Profile, opener: ActionsOpener, parent: QObject | None
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self._runner = runner
        self._opener = opener
        self._relay = FutureRelay(self)
        self._opening: concurrent.futures.Future[OpenedActions] | None = None
        self._open_error: str | None = None

    @property
    def denial(self) -> str | None:
        """Why the engineer may not act through this profile (None: they may)."""
        return denial_reason(self.profile)

    @property
    def may_override_precheck(self) -> bool:
        """Only an admin may act despite a failing pre-check."""
        return may_override_precheck(self.profile)

    @property
    def is_ready(self) -> bool:
        """True once the service is built (or failed to build)."""
        return self._opening is not None and self._opening.done()

    @property
    def open_error(self) -> str | None:
        """Why the action service could not be built (e.g. a secret is missing)."""
        return self._open_error

    def prepare(self) -> None:
        """Start building the service on the I/O loop (once)."""
        if self._opening is None:
            self._opening = self._runner.submit(self._opener())
            self._relay.deliver(self._opening, self._on_opened)

    def flow(self, kind: str, deployment: str) -> ActionFlow:
        """A new flow of ``kind`` ("rollback" or "failover") on ``deployment``."""
        self.prepare()
        assert self._opening is not None
        return ActionFlow(self._runner, self._opening, kind, deployment, parent=self)

    def close(self) -> concurrent.futures.Future[None] | None:
        """Close the service and what it holds; the closing future (None: never built)."""
        if self._opening is None:
            return None
        return self._runner.submit(_close_when_open(self._opening))

    def _on_opened(self, future: concurrent.futures.Future[OpenedActions]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            self._open_error = _describe(error)
        self.ready.emit()


class ActionFlow(QObject):
    """One plan dialog's action: plan (again for another version), then execute or cancel.

    ``execute`` runs at most once per flow, whatever the clicks; the service refuses a
    repeat with the same key anyway.
    """

    planned = Signal(object, object)
    """(ActionPlan, list of AliasChange newest first)."""
    planFailed = Signal(str)
    progressed = Signal(object)
    """ActionProgress, on the GUI thread."""
    finished = Signal(object)
    """ActionResult."""
    failed = Signal(str)
    """The action could not run (bad confirmation, service unavailable, unexpected error)."""
    cancelled = Signal(object)
    """ActionResult of the recorded cancellation."""
    _progress = Signal(object)

    def __init__(
        self,
        runner: AsyncRunner,
        opening: concurrent.futures.Future[OpenedActions],
        kind: str,
        deployment: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.kind = kind
        self.deployment = deployment
        self._runner = runner
        self._opening = opening
        self._relay = FutureRelay(self)
        self._planning: concurrent.futures.Future[Any] | None = None
        self._plan: ActionPlan | None = None
        self._executing: concurrent.futures.Future[ActionResult] | None = None
        self._closed = False
        self._progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)

    @property
    def plan(self) -> ActionPlan | None:
        """The latest plan; None while planning or when no plan could be made."""
        return self._plan

    @property
    def started(self) -> bool:
        """True once execute ran (whatever came of it)."""
        return self._executing is not None

    def request_plan(self, to_version: str | None = None) -> None:
        """Plan the action (towards ``to_version``, else the default target)."""
        if self.started:
            return
        self._plan = None
        planning = self._runner.submit(self._make_plan(to_version))
        self._planning = planning
        self._relay.deliver(planning, self._on_planned)

    def execute(self, reason: str, typed_name: str | None, override_precheck: bool) -> bool:
        """Run the plan once; False when there is no plan or it already ran."""
        if self._plan is None or self._executing is not None:
            return False
        from console.services.guarded_action import Confirmation

        confirmation = Confirmation(reason, typed_name, override_precheck)
        self._executing = self._runner.submit(self._execute(self._plan, confirmation))
        self._relay.deliver(self._executing, self._on_executed)
        return True

    def cancel(self, reason: str = "") -> concurrent.futures.Future[Any] | None:
        """Record that the engineer backed out of the plan (audited); None when there was
        no plan or it already ran."""
        if self._closed or self._plan is None or self._executing is not None:
            return None
        self._closed = True
        cancelling = self._runner.submit(self._cancel(self._plan, reason))
        self._relay.deliver(cancelling, self._on_cancelled)
        return cancelling

    async def _service(self) -> OpenedActions:
        return await asyncio.wrap_future(self._opening)

    async def _make_plan(self, to_version: str | None) -> tuple[ActionPlan, list[AliasChange]]:
        from console.services.guarded_action import ActionKind

        opened = await self._service()
        plan = await opened.service.plan(ActionKind(self.kind), self.deployment, to_version)
        changes = await asyncio.to_thread(
            opened.aliases.changes, plan.profile, self.deployment, limit=50
        )
        return plan, changes

    async def _execute(self, plan: ActionPlan, confirmation: Any) -> ActionResult:
        opened = await self._service()
        return await opened.service.execute(plan, confirmation, self._emit_progress)

    async def _cancel(self, plan: ActionPlan, reason: str) -> ActionResult:
        opened = await self._service()
        return await opened.service.cancel(plan, reason)

    def _emit_progress(self, progress: ActionProgress) -> None:
        with contextlib.suppress(RuntimeError):  # the flow is gone; the action goes on
            self._progress.emit(progress)

    @Slot(object)
    def _on_progress(self, progress: ActionProgress) -> None:
        self.progressed.emit(progress)

    def _on_planned(self, future: concurrent.futures.Future[Any]) -> None:
        if future is not self._planning or future.cancelled():
            return
        self._planning = None
        error = future.exception()
        if error is not None:
            self.planFailed.emit(_describe(error))
            return
        plan, changes = future.result()
        self._plan = plan
        self.planned.emit(plan, changes)

    def _on_executed(self, future: concurrent.futures.Future[ActionResult]) -> None:
        if future.cancelled():
            self.failed.emit("The action was interrupted: verify by hand in the audit log.")
            return
        error = future.exception()
        if error is not None:
            self.failed.emit(_describe(error))
            return
        self.finished.emit(future.result())

    def _on_cancelled(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            self.failed.emit(f"The cancellation was not recorded: {_describe(error)}")
            return
        self.cancelled.emit(future.result())


def _describe(error: BaseException) -> str:
    """A user-facing sentence: the service's errors speak for themselves."""
    from console.services.audit_log import AuditError
    from console.services.guarded_action import InvalidConfirmation, PlanError

    if isinstance(error, PlanError | InvalidConfirmation | AuditError | OSError | ValueError):
        return str(error)
    _log.error("guarded action failed", exc_info=error)
    return f"unexpected {type(error).__name__}: {error}"


async def _close_when_open(opening: concurrent.futures.Future[OpenedActions]) -> None:
    try:
        opened = await asyncio.wrap_future(opening)
    except Exception:
        return  # it never opened, so there is nothing to close
    await opened.aclose()
