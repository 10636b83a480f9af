"""``sre-console rollback`` and ``failover``: the guarded pipeline from a terminal.

Exit status: 0 succeeded, 1 failed, denied or cancelled (or nothing to do), 2 usage errors
(no reason, a wrong typed name), 3 when the outcome is unknown (verify by hand).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from console.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Commands,
    Context,
    UsageError,
    add_profile_option,
    add_token_stdin_option,
    select_profile,
    session_secret,
    utc,
)
from console.config.settings import Profile
from console.domain.audit import AuditOutcome
from console.domain.signals import Signal

if TYPE_CHECKING:
    from console.services.audit_log import AuditLog
    from console.services.guarded_action import (
        ActionPlan,
        ActionProgress,
        ActionResult,
        ActionService,
        VersionFacts,
    )


EXIT_UNKNOWN = 3
_EXIT = {
    AuditOutcome.SUCCEEDED: EXIT_OK,
    AuditOutcome.UNKNOWN: EXIT_UNKNOWN,
}
_EPILOG = """\
exit status: 0 succeeded; 1 failed, denied, cancelled or nothing to do; 2 usage errors
(no reason, wrong typed name); 3 outcome unknown (verify by hand before acting again).
A repeated identical command (same profile, deployment, version, reason and user) within
15 minutes reports the first one's outcome and changes nothing.
"""


def add_parsers(commands: Commands) -> None:
    """Register ``rollback`` and ``failover`` (the guarded pipeline loads when one runs)."""
    for kind, text in (
        ("rollback", "point a deployment back at an earlier version (guarded, audited)"),
        ("failover", "switch a deployment to its configured fallback (guarded, audited)"),
    ):
        parser = commands.add_parser(
            kind,
            help=text,
            description=text,
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.set_defaults(handler=action_command, action_kind=kind)
        add_profile_option(parser)
        parser.add_argument("--deployment", required=True, metavar="D")
        if kind == "rollback":
            parser.add_argument(
                "--to",
                metavar="VERSION",
                help="target version (default: the version that served before the current one)",
            )
        parser.add_argument("--reason", required=True, metavar="TEXT", help="why (audited)")
        parser.add_argument("--yes", action="store_true", help="do not ask on the terminal")
        parser.add_argument("--dry-run", action="store_true", help="print the plan only")
        parser.add_argument(
            "--confirm-name",
            metavar="D",
            help="the deployment name, typed, for a protected profile with --yes",
        )
        parser.add_argument(
            "--override-precheck",
            action="store_true",
            help="act even if the pre-check fails (admins only; recorded)",
        )
        add_token_stdin_option(parser)


def action_command(args: argparse.Namespace, ctx: Context) -> int:
    """Plan, confirm and run one guarded action."""
    from console.services.audit_log import AuditError, AuditLog

    profile = select_profile(ctx.store.load(), args.profile)
    if not args.reason.strip():
        raise UsageError("--reason must say why (it goes into the audit log)")
    session_secret(args, profile, ctx)
    try:
        audit = AuditLog()
    except AuditError as exc:
        print(f"sre-console: {exc}", file=ctx.err)
        return EXIT_FAILED
    try:
        return asyncio.run(_run(args, ctx, profile, audit))
    finally:
        audit.close()


async def _run(args: argparse.Namespace, ctx: Context, profile: Profile, audit: AuditLog) -> int:
    from console.services.annotations import AnnotationStore
    from console.services.audit_forward import AuditForwarder, audit_sinks
    from console.services.connect import open_backend
    from console.services.guarded_action import PlanError
    from console.services.open_actions import open_action_service
    from console.services.run_history import RunHistory
    from console.services.suite_targets import SuiteTargets

    try:
        sinks = audit_sinks([profile], ctx.secrets)
    except PlanError as exc:
        print(f"sre-console: warning: audit entries are not forwarded: {exc}", file=ctx.err)
        sinks = {}
    forwarder = AuditForwarder(asyncio.get_running_loop(), sinks)
    detach = forwarder.attach(audit)
    backend = open_backend(profile, ctx.secrets)
    history = RunHistory()
    targets = SuiteTargets(profile, backend, ctx.secrets)
    try:
        try:
            service = open_action_service(
                profile,
                ctx.secrets,
                backend,
                AnnotationStore(),
                audit,
                run_history=history,
                suite_targets=targets,
            )
        except PlanError as exc:
            print(f"sre-console: {exc}", file=ctx.err)
            return EXIT_FAILED
        try:
            return await _plan_and_act(args, ctx, service)
        finally:
            await service.aclose()
    finally:
        await asyncio.to_thread(targets.close)
        history.close()
        await backend.aclose()
        await forwarder.drain()
        detach()
        for failure in forwarder.failures:
            print(f"sre-console: warning: audit sink: {failure}", file=ctx.err)


async def _plan_and_act(args: argparse.Namespace, ctx: Context, service: ActionService) -> int:
    from console.services.guarded_action import (
        ActionKind,
        Confirmation,
        InvalidConfirmation,
        PlanError,
    )

    kind = ActionKind(args.action_kind)
    try:
        plan = await service.plan(kind, args.deployment, getattr(args, "to", None))
    except PlanError as exc:
        print(f"sre-console: {kind.value} not possible: {exc}", file=ctx.err)
        return EXIT_FAILED
    _print_plan(plan, ctx.out)
    if args.dry_run:
        print("dry run: nothing was changed", file=ctx.out)
        return EXIT_OK
    typed = args.confirm_name
    if not args.yes:
        answer = _ask(plan, ctx)
        if answer is None:
            result = await service.cancel(plan, args.reason)
            print(f"{result.message} (audit entry {result.audit_id})", file=ctx.out)
            return EXIT_FAILED
        typed = answer
    elif plan.requires_typed_name and typed is None:
        raise UsageError(
            f"profile {plan.profile!r} is protected: add --confirm-name {plan.deployment}"
        )
    confirmation = Confirmation(args.reason, typed, args.override_precheck)
    try:
        result = await service.execute(plan, confirmation, _progress(ctx.err))
    except InvalidConfirmation as exc:
        print(f"sre-console: error: {exc}", file=ctx.err)
        return EXIT_USAGE
    _print_result(result, ctx.out)
    return _EXIT.get(result.outcome, EXIT_FAILED)


def _ask(plan: ActionPlan, ctx: Context) -> str | None:
    """The typed name (protected) or the deployment name after a "y"; None: declined."""
    if plan.requires_typed_name:
        print(
            f"Profile {plan.profile} is protected. Type the deployment name to confirm: ",
            end="",
            file=ctx.err,
            flush=True,
        )
        typed = ctx.stdin.readline().strip()
        return typed if typed == plan.deployment else None
    print("Proceed? [y/N] ", end="", file=ctx.err, flush=True)
    return plan.deployment if ctx.stdin.readline().strip().lower() in ("y", "yes") else None


def _print_plan(plan: ActionPlan, out: TextIO) -> None:
    print(
        f"{plan.kind.value} {plan.deployment} (profile {plan.profile}): "
        f"{plan.current.label if plan.current else 'unknown'} -> {plan.target_label}",
        file=out,
    )
    print(f"  via: {plan.route}", file=out)
    for title, facts in (("current", plan.current), ("target", plan.target)):
        if facts is not None:
            print(f"  {title}: {_facts(facts)}", file=out)
    print(f"  pre-check: {plan.precheck_note}", file=out)
    if plan.denial:
        print(f"  NOT ALLOWED: {plan.denial}", file=out)


def _facts(facts: VersionFacts) -> str:
    version = facts.version
    created = utc(version.created_at) if version.created_at is not None else "unknown"
    figures = ", ".join(
        f"{signal.label} {value:.3g} {signal.unit}"
        for signal in (Signal.REQUEST_RATE, Signal.ERROR_RATIO, Signal.P95_LATENCY)
        if (value := facts.metrics.get(signal)) is not None
    )
    run = facts.last_run
    last_run = f"last run {run.tally.passed}/{run.tally.total} passed" if run else "no runs"
    parts = [
        f"{facts.label} {version.status}",
        f"created {created} UTC",
        figures or "no metrics",
        last_run,
    ]
    if version.aliases:
        parts.append(f"aliases {', '.join(version.aliases)}")
    if version.description:
        parts.append(repr(version.description))
    return "; ".join(parts)


def _progress(err: TextIO) -> Callable[[ActionProgress], None]:

    def show(progress: ActionProgress) -> None:
        detail = f": {progress.message}" if progress.message else ""
        print(f"[{progress.step.value}] {progress.state}{detail}", file=err, flush=True)

    return show


def _print_result(result: ActionResult, out: TextIO) -> None:
    prefix = "(repeat of an earlier command) " if result.duplicate else ""
    print(f"{prefix}{result.message} (audit entry {result.audit_id})", file=out)
