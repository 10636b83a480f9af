"""``sre-console check`` and ``sre-console fleet``: is the backend there, how is the fleet."""

import argparse
import json
from typing import TextIO

from console.backends.errors import BackendError
from console.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Commands,
    Context,
    add_profile_option,
    add_token_stdin_option,
    fmt,
    print_table,
    select_profile,
    with_service,
)
from console.domain.fleet import DeploymentReading, FleetSnapshot
from console.services.fleet import FleetService


def add_parsers(commands: Commands) -> None:
    """Register ``check`` and ``fleet``."""
    check = commands.add_parser(
        "check", help="check that the profile's Prometheus answers; prints its version"
    )
    check.set_defaults(handler=check_profile)
    fleet = commands.add_parser(
        "fleet", help="print every deployment with its versions, figures and status"
    )
    fleet.set_defaults(handler=print_fleet)
    for command in (check, fleet):
        add_profile_option(command)
        add_token_stdin_option(command)
    fleet.add_argument("--json", action="store_true", help="print a JSON array")
    fleet.add_argument(
        "--range", type=float, default=3600.0, metavar="SECONDS", help="sparkline range"
    )


def check_profile(args: argparse.Namespace, ctx: Context) -> int:
    """Print the backend's version, or its error (exit 1)."""
    profile = select_profile(ctx.store.load(), args.profile)
    try:
        info = with_service(args, profile, ctx, FleetService.check)
    except BackendError as exc:
        print(f"{profile.name}: {exc}", file=ctx.out)
        return EXIT_FAILED
    url = "simulated" if profile.is_demo else profile.prometheus_url
    print(f"{profile.name}: {info} at {url}", file=ctx.out)
    return EXIT_OK


def print_fleet(args: argparse.Namespace, ctx: Context) -> int:
    """Print one row (or JSON object) per deployment."""
    profile = select_profile(ctx.store.load(), args.profile)
    try:
        snapshot = with_service(args, profile, ctx, lambda service: service.snapshot(args.range))
    except BackendError as exc:
        snapshot = FleetSnapshot(profile=profile.name, taken_at=0.0, error=str(exc))
    if args.json:
        print(json.dumps([d.to_json() for d in snapshot.deployments], indent=2), file=ctx.out)
    else:
        _print_table(snapshot, ctx.out)
    if snapshot.error:
        print(f"{profile.name}: {snapshot.error}", file=ctx.err)
        return EXIT_FAILED
    for note in snapshot.notes:
        print(f"{profile.name}: {note}", file=ctx.err)
    return EXIT_OK


def _print_table(snapshot: FleetSnapshot, out: TextIO) -> None:
    header = (
        "DEPLOYMENT",
        "ENGINE",
        "VERSIONS",
        "REQ/S",
        "ERR",
        "P95",
        "TTFT95",
        "TOK/S",
        "STATUS",
    )
    rows = [header] + [_fleet_row(d) for d in snapshot.deployments]
    print_table(rows, out)


def _fleet_row(d: DeploymentReading) -> tuple[str, ...]:
    versions = " ".join(
        f"{v.version}({v.traffic_share:.0%})" if v.traffic_share is not None else v.version
        for v in d.versions
    )
    return (
        d.deployment,
        d.engine,
        versions or "-",
        fmt(d.request_rate, "{:.2f}"),
        fmt(d.error_ratio, "{:.2%}"),
        fmt(d.p95_latency_s, "{:.2f}s"),
        fmt(d.p95_ttft_s, "{:.2f}s"),
        fmt(d.output_tokens_per_s, "{:.0f}"),
        d.status.value,
    )
