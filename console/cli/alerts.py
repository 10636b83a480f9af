"""``sre-console alerts``, ``ack`` and ``report``: on-call from a terminal."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console.backends.errors import BackendError
from console.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Commands,
    Context,
    UsageError,
    add_profile_option,
    add_token_stdin_option,
    duration,
    print_table,
    select_profile,
    utc,
    with_service,
)
from console.config.settings import Profile
from console.domain.alerts import DEFAULT_ACK_S, Alert, MatcherError

if TYPE_CHECKING:
    from console.services.alerts import Ack, AlertsOverview, AlertsService
    from console.services.audit_log import AuditLog
    from console.services.fleet import FleetService


def add_parsers(commands: Commands) -> None:
    """Register ``alerts``, ``ack`` and ``report``."""
    alerts = commands.add_parser(
        "alerts",
        help="print the firing alerts, grouped by deployment",
        description="Alerts from the profile's Alertmanager (alertmanager_url), else from "
        "Prometheus's own /api/v1/alerts.",
    )
    alerts.set_defaults(handler=print_alerts)
    alerts.add_argument("--json", action="store_true", help="print a JSON array")
    alerts.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="MATCHER",
        help='Alertmanager matcher such as severity="critical" (repeatable)',
    )
    ack = commands.add_parser(
        "ack",
        help="acknowledge an alert: silence exactly its labels",
        description="Creates a silence whose matchers are every label of the alert; the "
        "comment is the reason and createdBy the actor. Needs the operator role; audited.",
    )
    ack.set_defaults(handler=ack_alert)
    ack.add_argument("--alert", required=True, metavar="FINGERPRINT", help="as `alerts` prints")
    ack.add_argument("--reason", required=True, metavar="TEXT")
    ack.add_argument(
        "--for",
        dest="for_s",
        type=duration,
        default=DEFAULT_ACK_S,
        metavar="DURATION",
        help="how long the silence lasts (default 1h)",
    )
    ack.add_argument("--actor", default=None, help="createdBy (default: user@host and the profile)")
    report = commands.add_parser(
        "report",
        help="write an incident report of a deployment (HTML, or Markdown for .md)",
    )
    report.set_defaults(handler=write_incident_report)
    report.add_argument("--deployment", required=True, metavar="D")
    report.add_argument("--since", type=duration, required=True, metavar="DURATION")
    report.add_argument("--out", type=Path, required=True, metavar="FILE")
    for command in (alerts, ack, report):
        add_profile_option(command)
        add_token_stdin_option(command)


def print_alerts(args: argparse.Namespace, ctx: Context) -> int:
    """One row (or JSON object) per alert; exit 1 with the backend's error text."""
    from console.services.alerts_connect import open_alerts

    profile = select_profile(ctx.store.load(), args.profile)

    async def work(fleet: FleetService) -> AlertsOverview:
        service = open_alerts(profile, ctx.secrets, fleet.backend)
        try:
            return await service.overview(args.filter)
        finally:
            await service.aclose()

    overview = with_service(args, profile, ctx, work)
    now = time.time()
    if args.json:
        rows = [_alert_json(a, profile, now) for a in overview.alerts]
        print(json.dumps(rows, indent=2), file=ctx.out)
    else:
        _print_overview(overview, now, ctx.out)
    if overview.error:
        print(f"{profile.name}: {overview.error}", file=ctx.err)
        return EXIT_FAILED
    return EXIT_OK


def ack_alert(args: argparse.Namespace, ctx: Context) -> int:
    """Silence the alert; prints the silence id and when it ends."""
    from console.services.alerts_connect import open_alerts
    from console.services.permissions import PermissionDenied, actor_of

    profile = select_profile(ctx.store.load(), args.profile)
    actor = args.actor or actor_of(profile)
    if not args.reason.strip():
        raise UsageError("--reason must not be empty: it is the silence's comment")

    async def work(fleet: FleetService) -> tuple[Alert, Ack] | None:
        audit = _audit_log()
        service = open_alerts(profile, ctx.secrets, fleet.backend, audit=audit)
        try:
            alert = (await _overview_or_raise(service)).find(args.alert)
            if alert is None:
                return None
            return alert, await service.ack(
                alert, actor=actor, reason=args.reason, duration_s=args.for_s
            )
        finally:
            await service.aclose()
            audit.close()

    try:
        done = with_service(args, profile, ctx, work)
    except (PermissionDenied, BackendError, MatcherError) as exc:
        print(f"{profile.name}: {exc}", file=ctx.err)
        return EXIT_FAILED
    if done is None:
        print(f"{profile.name}: no alert with fingerprint {args.alert!r}", file=ctx.err)
        return EXIT_FAILED
    alert, ack = done
    until = utc(ack.created_at + args.for_s)
    print(
        f"silenced {alert.name} ({alert.fingerprint}) until {until} UTC: {ack.silence_id}",
        file=ctx.out,
    )
    return EXIT_OK


def write_incident_report(args: argparse.Namespace, ctx: Context) -> int:
    """Write the report file; exit 1 when it cannot be written."""
    from console.services.alerts_connect import alert_history, open_alerts
    from console.services.audit_log import AuditError
    from console.services.incident_report import IncidentReportService, write_report
    from console.services.run_history import HistoryError, RunHistory
    from console.services.timeline import TimelineService, audit_source

    profile = select_profile(ctx.store.load(), args.profile)
    end = time.time()
    start = end - args.since

    async def work(fleet: FleetService) -> tuple[int, tuple[str, ...]]:
        runs = RunHistory()
        audit = _audit_log()
        alerts = open_alerts(profile, ctx.secrets, fleet.backend)
        try:
            timelines = TimelineService(
                profile,
                fleet.backend,
                alerts=alerts,
                alert_history=alert_history(alerts),
                runs=runs,
                audit=audit_source(audit),
            )
            service = IncidentReportService(
                profile,
                fleet.backend,
                timelines,
                alerts=alerts,
                runs=runs,
                audit=audit_source(audit),
            )
            report = await service.build(args.deployment, start, end)
            write_report(report, args.out)
            return len(report.timeline.items), report.errors
        finally:
            await alerts.aclose()
            runs.close()
            audit.close()

    try:
        items, errors = with_service(args, profile, ctx, work)
    except (OSError, HistoryError, AuditError) as exc:
        print(f"{profile.name}: cannot write the report {args.out}: {exc}", file=ctx.err)
        return EXIT_FAILED
    print(f"wrote {args.out} ({items} timeline items)", file=ctx.out)
    for error in errors:
        print(f"{profile.name}: not in the report: {error}", file=ctx.err)
    return EXIT_OK


async def _overview_or_raise(service: AlertsService) -> AlertsOverview:
    overview = await service.overview()
    if overview.error:
        raise BackendError(overview.error)
    return overview


def _audit_log() -> AuditLog:
    from console.services.audit_log import AuditError, AuditLog

    try:
        return AuditLog()
    except AuditError as exc:
        raise UsageError(str(exc)) from None


def _alert_json(alert: Alert, profile: Profile, now: float) -> dict[str, object]:
    return {
        "fingerprint": alert.fingerprint,
        "alertname": alert.name,
        "deployment": alert.deployment(profile.alert_deployment_labels),
        "severity": alert.severity,
        "state": alert.state.value,
        "starts_at": alert.starts_at,
        "firing_for_s": round(alert.firing_for(now), 1),
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url,
        "silenced_by": list(alert.silenced_by),
        "source": alert.source.value,
    }


def _print_overview(overview: AlertsOverview, now: float, out: TextIO) -> None:
    if not overview.alerts:
        print(f"no alerts ({overview.source})", file=out)
        return
    rows = [("DEPLOYMENT", "SEVERITY", "ALERT", "STATE", "FIRING", "FINGERPRINT", "SUMMARY")]
    for group in overview.groups:
        for alert in group.alerts:
            rows.append(
                (
                    group.deployment or "-",
                    alert.severity or "-",
                    alert.name,
                    alert.state.value,
                    _age(alert.firing_for(now)),
                    alert.fingerprint,
                    alert.summary or "",
                )
            )
    print_table(rows, out)


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h{minutes % 60:02d}m"
