"""What every command shares: the context, exit codes, argument types, profile selection."""

import argparse
import asyncio
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO, TypeAlias, TypeVar

from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, DEMO_PROFILE_NAME, Profile, Settings
from console.config.store import ConfigStore
from console.services.connect import open_fleet
from console.services.fleet import FleetService

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The ``sre-console`` sub-command registry that each command module adds its parsers to."""

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw]?)$")
_DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}


class UsageError(Exception):
    """A command-line or config mistake: exit status 2."""


@dataclass(frozen=True)
class Context:
    """What a command handler reads and writes: config, secrets and the three streams."""

    store: ConfigStore
    secrets: SecretStore
    stdin: TextIO
    out: TextIO
    err: TextIO


Handler = Callable[[argparse.Namespace, Context], int]
"""A command: parsed arguments and the context in, exit status out."""


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    """``--profile`` (default: the only profile, else the last used, else the DEMO)."""
    parser.add_argument("--profile", help="profile name (default: the only one, or demo)")


def add_token_stdin_option(parser: argparse.ArgumentParser) -> None:
    """``--token-stdin``: a session-only secret for this run."""
    parser.add_argument(
        "--token-stdin",
        action="store_true",
        help="read the secret from stdin for this run only (session-only, not stored)",
    )


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def rate(text: str) -> float:
    """An argparse type: a rate between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate between 0 and 1")
    return value


def duration(text: str) -> float:
    """Seconds from ``90s``, ``10m``, ``24h``, ``7d`` or ``2w`` (a bare number is seconds)."""
    match = _DURATION_RE.match(text.strip())
    seconds = float(match[1]) * _DURATION_UNITS[match[2]] if match else 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive duration such as 90s, 10m, 24h, 7d or 2w"
        )
    return seconds


def instant(text: str) -> float | None:
    """Unix seconds from a number or an ISO-8601 time (UTC unless it has an offset)."""
    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        value = moment.timestamp()
    return value if math.isfinite(value) else None


def select_profile(settings: Settings, name: str | None) -> Profile:
    """The named profile; without a name the only one, the last used, or the DEMO."""
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


def session_secret(args: argparse.Namespace, profile: Profile, ctx: Context) -> None:
    """Keep the secret given with ``--token-stdin`` for this process only."""
    if not args.token_stdin:
        return
    if not profile.secret_field:
        raise UsageError(f"profile {profile.name!r} uses no auth; --token-stdin is not needed")
    ctx.secrets.set_session_only(profile.name, profile.secret_field, read_secret(ctx.stdin))


def read_secret(stdin: TextIO) -> str:
    """The secret on stdin, without its line end."""
    secret = stdin.read().rstrip("\r\n")
    if not secret:
        raise UsageError("expected the secret on stdin, got nothing")
    return secret


def with_service(
    args: argparse.Namespace,
    profile: Profile,
    ctx: Context,
    work: Callable[[FleetService], Awaitable[T]],
) -> T:
    """Run ``work`` on the profile's own service, then close its backend."""
    session_secret(args, profile, ctx)
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


def utc(timestamp: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt(value: float | None, pattern: str) -> str:
    """``pattern`` applied to value, or "no data"."""
    return "no data" if value is None else pattern.format(value)


def print_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Left-aligned columns, two spaces apart; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )
