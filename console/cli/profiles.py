"""``sre-console profile add|list|remove``: the profiles, their secrets in the keyring."""

import argparse
import json

from console.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Commands,
    Context,
    UsageError,
    print_table,
    read_secret,
)
from console.config.registry import parse_registry_spec
from console.config.settings import (
    DEMO_PROFILE_NAME,
    PRESETS,
    AuthKind,
    Profile,
    Role,
    SettingsError,
)


def add_parsers(commands: Commands) -> None:
    """Register ``profile`` and its actions."""
    profile = commands.add_parser("profile", help="add, list or remove profiles")
    actions = profile.add_subparsers(dest="profile_command", metavar="ACTION")
    actions.required = True
    add = actions.add_parser("add", help="add a profile (secret read from stdin)")
    add.set_defaults(handler=profile_add)
    add.add_argument("name")
    add.add_argument("--prometheus", required=True, metavar="URL")
    add.add_argument("--alertmanager", metavar="URL", help="Alertmanager for alerts and silences")
    add.add_argument(
        "--alertmanager-auth",
        choices=[a.value for a in AuthKind],
        default=AuthKind.NONE.value,
        help="with --token-stdin, its secret is the next line on stdin (after the Prometheus one)",
    )
    add.add_argument("--alertmanager-user", metavar="U", help="username for its basic auth")
    add.add_argument("--loki", metavar="URL", help="Loki with the prompt/output logs")
    add.add_argument("--loki-org-id", metavar="TENANT", help="X-Scope-OrgID of a multi-tenant Loki")
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
    add.add_argument(
        "--operators-may-act",
        action="store_true",
        help="on a protected profile, let operators roll back too (default: admins only)",
    )
    add.add_argument(
        "--registry", metavar="mlflow:URL", help="model registry for rollback and failover"
    )
    add.add_argument("--preset", choices=PRESETS, help="engine preset (default: auto-detect)")
    add.add_argument("--refresh", type=float, metavar="SECONDS", help="refresh interval")
    listing = actions.add_parser("list", help="list profiles")
    listing.set_defaults(handler=profile_list)
    listing.add_argument("--json", action="store_true", help="print JSON")
    remove = actions.add_parser("remove", help="remove a profile and its secrets")
    remove.set_defaults(handler=profile_remove)
    remove.add_argument("name")


def profile_add(args: argparse.Namespace, ctx: Context) -> int:
    """Add a profile; its secret (from stdin) goes to the keyring."""
    settings = ctx.store.load()
    if args.name == DEMO_PROFILE_NAME:
        raise UsageError("the profile name 'demo' is reserved for the built-in DEMO")
    if settings.profile(args.name) is not None:
        raise UsageError(f"profile {args.name!r} exists; remove it first")
    auth = AuthKind(args.auth)
    am_auth = AuthKind(args.alertmanager_auth)
    if auth is AuthKind.NONE and am_auth is AuthKind.NONE and args.token_stdin:
        raise UsageError("--token-stdin needs --auth or --alertmanager-auth bearer or basic")
    for flag, kind in (("--auth", auth), ("--alertmanager-auth", am_auth)):
        if kind is not AuthKind.NONE and not args.token_stdin:
            raise UsageError(f"{flag} {kind.value} needs the secret on stdin: add --token-stdin")
    try:
        profile = Profile(
            name=args.name,
            prometheus_url=args.prometheus,
            alertmanager_url=args.alertmanager,
            alertmanager_auth=am_auth,
            alertmanager_username=args.alertmanager_user,
            loki_url=args.loki,
            loki_org_id=args.loki_org_id,
            auth=auth,
            username=args.user,
            ca_file=args.ca_file,
            insecure=args.insecure,
            headers=tuple(_header(h) for h in args.header),
            role=Role(args.role),
            protected=args.protected,
            protected_operators_may_act=args.operators_may_act,
            registry=parse_registry_spec(args.registry) if args.registry else None,
            preset=args.preset,
            **({"refresh_interval_s": args.refresh} if args.refresh is not None else {}),
        )
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    status = EXIT_OK
    fields = [f for f in (profile.secret_field, profile.alertmanager_secret_field) if f]
    given = read_secret(ctx.stdin).splitlines() if fields else []
    if len(given) != len(fields):
        raise UsageError(f"expected {len(fields)} line(s) on stdin: {', '.join(fields)}")
    if fields and not ctx.secrets.available:
        print(
            f"sre-console: {ctx.secrets.unavailable_reason()}\n"
            f"The profile is saved WITHOUT its {' and '.join(fields)}. Pass the Prometheus "
            f"secret for one command with `sre-console check --profile {profile.name} "
            "--token-stdin`, or use the desktop console's session-only option.",
            file=ctx.err,
        )
        status = EXIT_FAILED
    elif fields:
        for field, secret in zip(fields, given, strict=True):
            ctx.secrets.set(profile.name, field, secret)
    ctx.store.save(settings.with_profile(profile))
    where = " (secret in the OS keyring)" if status == EXIT_OK and fields else ""
    print(f"added profile {profile.name}{where}", file=ctx.out)
    if profile.insecure:
        print("warning: TLS verification is OFF for this profile", file=ctx.err)
    return status


def profile_list(args: argparse.Namespace, ctx: Context) -> int:
    """Print the profiles (never their secrets)."""
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
    print_table(table, ctx.out)
    return EXIT_OK


def profile_remove(args: argparse.Namespace, ctx: Context) -> int:
    """Remove a profile and its keyring entries."""
    settings = ctx.store.load()
    if settings.profile(args.name) is None:
        raise UsageError(f"no profile named {args.name!r}")
    ctx.store.save(settings.without_profile(args.name))
    ctx.secrets.delete_profile(args.name)
    print(f"removed profile {args.name}", file=ctx.out)
    return EXIT_OK


def _header(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--header {text!r}: expected K=V")
    return key.strip(), value.strip()
