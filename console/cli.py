"""Headless commands over the same services as the GUI. Imports no Qt."""

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TextIO, TypeVar

from console import __version__
from console.backends.errors import BackendError
from console.config.paths import config_file
from console.config.secrets import SecretStore, SecretsUnavailable
from console.config.settings import (
    DEMO_PROFILE,
    DEMO_PROFILE_NAME,
    PRESETS,
    AuthKind,
    Profile,
    Role,
    Settings,
    SettingsError,
)
from console.config.store import ConfigError, ConfigStore
from console.domain.fleet import DeploymentReading, FleetSnapshot
from console.services.connect import open_fleet
from console.services.fleet import FleetService

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A command-line or config mistake: exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `sre-console`."""
    parser = argparse.ArgumentParser(
        prog="sre-console",
        description="SRE console for LLM and ML model deployments. "
        "Without a command it opens the desktop console (the DEMO when nothing is configured).",
    )
    parser.add_argument("--version", action="version", version=f"sre-console {__version__}")
    parser.add_argument("--profile", help="profile to open in the window ('demo' for the DEMO)")
    parser.add_argument("--measure-startup", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    profile = commands.add_parser("profile", help="add, list or remove profiles")
    profile_commands = profile.add_subparsers(dest="profile_command", metavar="ACTION")
    profile_commands.required = True
    add = profile_commands.add_parser("add", help="add a profile (secret read from stdin)")
    add.add_argument("name")
    add.add_argument("--prometheus", required=True, metavar="URL")
    add.add_argument("--auth", choices=[a.value for a in AuthKind], default=AuthKind.NONE.value)
    add.add_argument("--user", metavar="U", help="username for basic auth")
    add.add_argument(
        "--token-stdin", action="store_true", help="read the token or password from stdin"
    )
    add.add_argument("--ca-file", metavar="F", help="CA bundle to verify the server with")
    add.add_argument("--insecure", action="store_true", help="do NOT verify TLS certificates")
    add.add_argument(
        "--header", action="append", default=[], metavar="K=V", help="extra header (repeatable)"
    )
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    add.add_argument("--protected", action="store_true", help="mark as production")
    add.add_argument("--preset", choices=PRESETS, help="engine preset (default: auto-detect)")
    add.add_argument("--refresh", type=float, metavar="SECONDS", help="refresh interval")
    listing = profile_commands.add_parser("list", help="list profiles")
    listing.add_argument("--json", action="store_true", help="print JSON")
    remove = profile_commands.add_parser("remove", help="remove a profile and its secrets")
    remove.add_argument("name")

    for name, text in (
        ("check", "check that the profile's Prometheus answers; prints its version"),
        ("fleet", "print every deployment with its versions, figures and status"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--profile", help="profile name (default: the only one, or demo)")
        command.add_argument(
            "--token-stdin",
            action="store_true",
            help="read the secret from stdin for this run only (session-only, not stored)",
        )
        if name == "fleet":
            command.add_argument("--json", action="store_true", help="print a JSON array")
            command.add_argument(
                "--range", type=float, default=3600.0, metavar="SECONDS", help="sparkline range"
            )
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse argv; argparse exits with status 2 on usage errors."""
    return build_parser().parse_args(list(argv))


def run(
    args: argparse.Namespace,
    *,
    secrets: SecretStore | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run a parsed command; returns the exit status."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    context = _Context(
        store=ConfigStore(config_file()),
        secrets=secrets if secrets is not None else SecretStore(),
        stdin=stdin or sys.stdin,
        out=out,
        err=err,
    )
    try:
        if args.command == "profile":
            handler = {
                "add": _profile_add,
                "list": _profile_list,
                "remove": _profile_remove,
            }[args.profile_command]
            return handler(args, context)
        if args.command == "check":
            return _check(args, context)
        return _fleet(args, context)
    except (UsageError, ConfigError) as exc:
        print(f"sre-console: error: {exc}", file=err)
        return EXIT_USAGE
    except SecretsUnavailable as exc:
        print(f"sre-console: {exc}", file=err)
        return EXIT_FAILED


class _Context:
    def __init__(
        self, *, store: ConfigStore, secrets: SecretStore, stdin: TextIO, out: TextIO, err: TextIO
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.stdin = stdin
        self.out = out
        self.err = err


def _profile_add(args: argparse.Namespace, ctx: _Context) -> int:
    settings = ctx.store.load()
    if args.name == DEMO_PROFILE_NAME:
        raise UsageError("the profile name 'demo' is reserved for the built-in DEMO")
    if settings.profile(args.name) is not None:
        raise UsageError(f"profile {args.name!r} exists; remove it first")
    auth = AuthKind(args.auth)
    if auth is AuthKind.NONE and args.token_stdin:
        raise UsageError("--token-stdin needs --auth bearer or --auth basic")
    if auth is not AuthKind.NONE and not args.token_stdin:
        raise UsageError(f"--auth {auth.value} needs the secret on stdin: add --token-stdin")
    try:
        profile = Profile(
            name=args.name,
            prometheus_url=args.prometheus,
            auth=auth,
            username=args.user,
            ca_file=args.ca_file,
            insecure=args.insecure,
            headers=tuple(_header(h) for h in args.header),
            role=Role(args.role),
            protected=args.protected,
            preset=args.preset,
            **({"refresh_interval_s": args.refresh} if args.refresh is not None else {}),
        )
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    status = EXIT_OK
    if profile.secret_field:
        secret = _read_secret(ctx.stdin)
        if not ctx.secrets.available:
            print(
                f"sre-console: {ctx.secrets.unavailable_reason()}\n"
                f"The profile is saved WITHOUT its {profile.secret_field}. Pass it for one "
                f"command with `sre-console check --profile {profile.name} --token-stdin`, "
                "or use the desktop console's session-only option.",
                file=ctx.err,
            )
            status = EXIT_FAILED
        else:
            ctx.secrets.set(profile.name, profile.secret_field, secret)
    ctx.store.save(settings.with_profile(profile))
    where = " (secret in the OS keyring)" if status == EXIT_OK and profile.secret_field else ""
    print(f"added profile {profile.name}{where}", file=ctx.out)
    if profile.insecure:
        print("warning: TLS verification is OFF for this profile", file=ctx.err)
    return status


def _profile_list(args: argparse.Namespace, ctx: _Context) -> int:
    settings = ctx.store.load()
    rows = [
        {
            "name": p.name,
            "prometheus_url": p.prometheus_url,
            "auth": p.auth.value,
            "role": p.role.value,
            "protected": p.protected,
            "insecure": p.insecure,
            "preset": p.preset or "auto",
        }
        for p in settings.profiles
    ]
    if args.json:
        print(json.dumps(rows, indent=2), file=ctx.out)
        return EXIT_OK
    if not rows:
        print("no profiles configured; the console opens the DEMO (`--profile demo`)", file=ctx.out)
        return EXIT_OK
    header = ("NAME", "PROMETHEUS", "AUTH", "ROLE", "PRESET", "FLAGS")
    table = [header] + [
        (
            str(r["name"]),
            str(r["prometheus_url"]),
            str(r["auth"]),
            str(r["role"]),
            str(r["preset"]),
            ",".join(f for f in ("protected", "insecure") if r[f]) or "-",
        )
        for r in rows
    ]
    _print_table(table, ctx.out)
    return EXIT_OK


def _profile_remove(args: argparse.Namespace, ctx: _Context) -> int:
    settings = ctx.store.load()
    if settings.profile(args.name) is None:
        raise UsageError(f"no profile named {args.name!r}")
    ctx.store.save(settings.without_profile(args.name))
    ctx.secrets.delete_profile(args.name)
    print(f"removed profile {args.name}", file=ctx.out)
    return EXIT_OK


def _check(args: argparse.Namespace, ctx: _Context) -> int:
    profile = _select_profile(ctx.store.load(), args.profile)
    try:
        info = _with_service(args, profile, ctx, FleetService.check)
    except BackendError as exc:
        print(f"{profile.name}: {exc}", file=ctx.out)
        return EXIT_FAILED
    url = "simulated" if profile.is_demo else profile.prometheus_url
    print(f"{profile.name}: {info} at {url}", file=ctx.out)
    return EXIT_OK


def _fleet(args: argparse.Namespace, ctx: _Context) -> int:
    profile = _select_profile(ctx.store.load(), args.profile)
    try:
        snapshot = _with_service(args, profile, ctx, lambda service: service.snapshot(args.range))
    except BackendError as exc:
        snapshot = FleetSnapshot(profile=profile.name, taken_at=0.0, error=str(exc))
    if args.json:
        print(json.dumps([d.to_json() for d in snapshot.deployments], indent=2), file=ctx.out)
    else:
        _print_fleet(snapshot, ctx.out)
    if snapshot.error:
        print(f"{profile.name}: {snapshot.error}", file=ctx.err)
        return EXIT_FAILED
    for note in snapshot.notes:
        print(f"{profile.name}: {note}", file=ctx.err)
    return EXIT_OK


def _with_service(
    args: argparse.Namespace,
    profile: Profile,
    ctx: _Context,
    work: Callable[[FleetService], Awaitable[T]],
) -> T:
    """Run ``work`` on the profile's own service, then close its backend."""
    _session_secret(args, profile, ctx)
    try:
        service = open_fleet(profile, ctx.secrets)
    except ValueError as exc:  # an override or preset the backend cannot use
        raise UsageError(f"profile {profile.name!r}: {exc}") from None

    async def run() -> T:
        try:
            return await work(service)
        finally:
            await service.backend.aclose()

    return asyncio.run(run())


def _select_profile(settings: Settings, name: str | None) -> Profile:
    if name == DEMO_PROFILE_NAME or (name is None and not settings.profiles):
        return DEMO_PROFILE
    if name is None:
        if len(settings.profiles) == 1:
            return settings.profiles[0]
        last = settings.ui.last_profile
        if last and settings.profile(last):
            return settings.profile(last) or DEMO_PROFILE
        names = ", ".join(p.name for p in settings.profiles)
        raise UsageError(f"several profiles ({names}); choose one with --profile")
    profile = settings.profile(name)
    if profile is None:
        known = ", ".join([DEMO_PROFILE_NAME, *(p.name for p in settings.profiles)])
        raise UsageError(f"no profile named {name!r} (known: {known})")
    return profile


def _session_secret(args: argparse.Namespace, profile: Profile, ctx: _Context) -> None:
    if not args.token_stdin:
        return
    if not profile.secret_field:
        raise UsageError(f"profile {profile.name!r} uses no auth; --token-stdin is not needed")
    ctx.secrets.set_session_only(profile.name, profile.secret_field, _read_secret(ctx.stdin))


def _read_secret(stdin: TextIO) -> str:
    secret = stdin.read().rstrip("\r\n")
    if not secret:
        raise UsageError("expected the secret on stdin, got nothing")
    return secret


def _header(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--header {text!r}: expected K=V")
    return key.strip(), value.strip()


def _print_fleet(snapshot: FleetSnapshot, out: TextIO) -> None:
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
    _print_table(rows, out)


def _fleet_row(d: DeploymentReading) -> tuple[str, ...]:
    versions = " ".join(
        f"{v.version}({v.traffic_share:.0%})" if v.traffic_share is not None else v.version
        for v in d.versions
    )
    return (
        d.deployment,
        d.engine,
        versions or "-",
        _fmt(d.request_rate, "{:.2f}"),
        _fmt(d.error_ratio, "{:.2%}"),
        _fmt(d.p95_latency_s, "{:.2f}s"),
        _fmt(d.p95_ttft_s, "{:.2f}s"),
        _fmt(d.output_tokens_per_s, "{:.0f}"),
        d.status.value,
    )


def _fmt(value: float | None, pattern: str) -> str:
    return "no data" if value is None else pattern.format(value)


def _print_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )
