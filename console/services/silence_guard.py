"""The one gate every silence action passes: permission (services/permissions.py), then
audit entries.

A refused action (a viewer, or an operator on a protected profile) is audited as DENIED;
an allowed one gets a STARTED entry before it runs and a closing entry with its outcome,
whatever happens.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from console.config.settings import Profile
from console.domain.audit import AuditDraft, AuditEntry, AuditOutcome
from console.services.permissions import PermissionDenied, denial_reason

T = TypeVar("T")


class AuditTrail(Protocol):
    """The part of the audit log (console/services/audit_log.py) a guarded action uses."""

    def append(self, draft: AuditDraft) -> AuditEntry:
        """Append one entry."""
        ...

    def start(self, draft: AuditDraft) -> AuditEntry:
        """Append an action's STARTED entry."""
        ...

    def finish(self, started: AuditEntry, outcome: AuditOutcome, **changes: Any) -> AuditEntry:
        """Append the closing entry of the action ``started`` began."""
        ...


async def guarded(
    profile: Profile,
    audit: AuditTrail | None,
    draft: AuditDraft,
    run: Callable[[], Awaitable[T]],
    *,
    describe: Callable[[T], str | None] = lambda result: None,
    check_permission: bool = True,
) -> T:
    """``run()`` if the profile allows acting, audited from start to end.

    ``draft`` names actor, action, target and reason; ``describe`` turns the result into
    the closing entry's ``after``. ``check_permission`` False is for the console's own actions
    (expiring a silence it made once the alert resolved). Raises PermissionDenied.
    """
    denial = denial_reason(profile) if check_permission else None
    if denial is not None:
        if audit is not None:
            audit.append(replace(draft, outcome=AuditOutcome.DENIED, error=denial))
        raise PermissionDenied(denial)
    started = audit.start(draft) if audit is not None else None
    try:
        result = await run()
    except asyncio.CancelledError:
        if started is not None and audit is not None:
            audit.finish(started, AuditOutcome.CANCELLED)
        raise
    except Exception as exc:
        if started is not None and audit is not None:
            audit.finish(started, AuditOutcome.FAILED, error=str(exc) or type(exc).__name__)
        raise
    if started is not None and audit is not None:
        audit.finish(started, AuditOutcome.SUCCEEDED, after=describe(result))
    return result
