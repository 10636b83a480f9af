"""Headless commands over the same services as the GUI. Imports no Qt."""

import argparse
import asyncio
import json
import math
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

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
from console.domain.drift import DEFAULT_MIN_COUNT, DEFAULT_THRESHOLDS, DriftMetric
from console.domain.fleet import DeploymentReading, FleetSnapshot
from console.domain.histograms import PRESET_HISTOGRAMS
from console.domain.suite import Suite, SuiteError
from console.domain.suite_results import CaseStatus
from console.services.connect import open_fleet
from console.services.drift import (
    Baseline,
    DriftRequestError,
    DriftSeries,
    DriftService,
    PreviousWindow,
    ReferenceRange,
    VersionBaseline,
)
from console.services.fleet import FleetService

if TYPE_CHECKING:
    from console.services.suite_runner import RunProgress, RunTarget

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_SUITE_CONCURRENCY = 8
_RUN_SUITE_EPILOG = """\
targets (one of):
  --target URL --model M          any OpenAI-compatible endpoint (vLLM, TGI, llama.cpp,
                                  Ollama, LiteLLM, hosted APIs); URL is the API root, e.g.
                                  http://127.0.0.1:8000/v1
  --profile demo --deployment D   a DEMO deployment, served by an in-process loopback server
  (neither)                       the suite's own providers; a provider's api_key_ref names
                                  the keyring entry REF:token of service sre-console

output: a progress line on stderr while running; on stdout one line per failed or errored
case, then the summary line: passed=N failed=N errors=N total=N pass_rate=R fail_under=R.
Every run is kept in the run history (suite_runs.sqlite3 in the data dir).
"""

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw]?)$")
_DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_DRIFT_EPILOG = f"""\
durations: a number with s, m, h, d or w (seconds, minutes, hours, days, weeks): 90s, 24h, 7d.

baselines:
  previous          the window just before each step's window (default)
  range:START/END   one distribution over a fixed range; START and END are Unix seconds
                    (1700000000) or ISO-8601 times (2026-01-05T09:00, UTC unless an offset
                    is given)
  version:V         version V over each window, against the deployment's other serving
                    version (the deployment must serve exactly two versions, V among them)

status: inconclusive when the score is unknown or either window holds fewer than
{DEFAULT_MIN_COUNT:g} samples; otherwise ok, warn or alert against the metric's thresholds
({", ".join(f"{m} warn {t.warn:g} alert {t.alert:g}" for m, t in DEFAULT_THRESHOLDS.items())}).
wasserstein is in the signal's own unit and has no thresholds: its status is ok whenever the
windows hold enough samples (read the value).
"""


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
    _add_drift_parser(commands)
    _add_run_suite_parser(commands)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse argv; argparse exits with status 2 on usage errors."""
    return build_parser().parse_args(list(argv))


def _add_drift_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    drift = commands.add_parser(
        "drift",
        help="print the drift of a deployment's histogram over time",
        description="At each step, compare the distribution over the window ending there "
        "(increase of the histogram's buckets) with a baseline.",
        epilog=_DRIFT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    drift.add_argument("--profile", help="profile name (default: the only one, or demo)")
    drift.add_argument("--deployment", required=True, metavar="D")
    drift.add_argument(
        "--signal",
        required=True,
        metavar="NAME",
        help=f"{', '.join(PRESET_HISTOGRAMS)}, or a histogram metric name (with or without "
        "_bucket)",
    )
    drift.add_argument("--range", dest="range_s", type=duration, required=True, metavar="DURATION")
    drift.add_argument("--step", dest="step_s", type=duration, required=True, metavar="DURATION")
    drift.add_argument(
        "--window",
        dest="window_s",
        type=duration,
        metavar="DURATION",
        help="distribution window (default: the step)",
    )
    drift.add_argument(
        "--baseline",
        type=baseline,
        default=PreviousWindow(),
        metavar="previous|range:START/END|version:V",
        help="what each window is compared with (default: previous)",
    )
    drift.add_argument(
        "--metric",
        type=DriftMetric,
        choices=list(DriftMetric),
        default=DriftMetric.PSI,
        help="drift score (default: psi)",
    )
    drift.add_argument("--json", action="store_true", help="print a JSON array, one per step")
    drift.add_argument(
        "--token-stdin",
        action="store_true",
        help="read the secret from stdin for this run only (session-only, not stored)",
    )


def _add_run_suite_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    run_suite = commands.add_parser(
        "run-suite",
        help="run a synthetic prompt suite against an OpenAI-compatible endpoint",
        description="Send every case of a suite (promptfoo's YAML subset) and check the\n"
        "answers. Exit status: 0 when the pass rate is at least --fail-under, 1 below it,\n"
        "2 on usage or config errors (a suite error names file:line:column), 130 when\n"
        "interrupted (Ctrl-C: requests in flight are cancelled, the run is kept as cancelled).",
        epilog=_RUN_SUITE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run_suite.add_argument("suite", type=Path, metavar="SUITE.yaml")
    run_suite.add_argument(
        "--target", metavar="URL", help="base URL of the endpoint, e.g. http://host:8000/v1"
    )
    run_suite.add_argument("--model", metavar="M", help="model name to ask for (with --target)")
    run_suite.add_argument("--profile", metavar="P", help="profile of the deployment ('demo')")
    run_suite.add_argument("--deployment", metavar="D", help="deployment to run against")
    run_suite.add_argument(
        "--repeat", type=_positive_int, metavar="N", help="sends per case (default: the suite's)"
    )
    run_suite.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_SUITE_CONCURRENCY,
        metavar="C",
        help=f"requests in flight (default {DEFAULT_SUITE_CONCURRENCY})",
    )
    run_suite.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    run_suite.add_argument(
        "--json", dest="json_file", type=Path, metavar="FILE", help="write the results as JSON"
    )
    run_suite.add_argument(
        "--fail-under",
        type=_rate,
        default=1.0,
        metavar="RATE",
        help="least pass rate (0..1) for exit status 0 (default 1.0)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _rate(text: str) -> float:
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


def baseline(text: str) -> Baseline:
    """``previous``, ``range:START/END`` (Unix seconds or ISO-8601) or ``version:V``."""
    kind, sep, rest = text.partition(":")
    if text == "previous":
        return PreviousWindow()
    if sep and kind == "version" and rest:
        return VersionBaseline(rest)
    if sep and kind == "range":
        start, slash, end = rest.partition("/")
        if slash:
            first, last = _instant(start), _instant(end)
            if first is not None and last is not None and first < last:
                return ReferenceRange(first, last)
    raise argparse.ArgumentTypeError(
        f"{text!r} is not previous, range:START/END (START before END, Unix seconds or "
        "ISO-8601) or version:V"
    )


def _instant(text: str) -> float | None:
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
        if args.command == "drift":
            return _drift(args, context)
        if args.command == "run-suite":
            return _run_suite(args, context)
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


def _drift(args: argparse.Namespace, ctx: _Context) -> int:
    profile = _select_profile(ctx.store.load(), args.profile)
    window_s = args.window_s if args.window_s is not None else args.step_s

    async def work(fleet: FleetService) -> DriftSeries:
        return await DriftService(fleet.backend).series(
            args.deployment,
            args.signal,
            range_s=args.range_s,
            step_s=args.step_s,
            window_s=window_s,
            baseline=args.baseline,
            metric=args.metric,
            thresholds=profile.drift_thresholds(args.signal, args.metric),
            min_count=profile.drift_min_count,
        )

    try:
        series = _with_service(args, profile, ctx, work)
    except DriftRequestError as exc:
        raise UsageError(f"profile {profile.name!r}: {exc}") from None
    except BackendError as exc:
        print(f"{profile.name}: {exc}", file=ctx.err)
        return EXIT_FAILED
    if args.json:
        rows = [
            {
                "timestamp": p.timestamp,
                "value": p.value if math.isfinite(p.value) else None,
                "baseline_count": p.baseline_count,
                "current_count": p.current_count,
                "status": p.status.value,
            }
            for p in series.points
        ]
        print(json.dumps(rows, indent=2), file=ctx.out)
    else:
        _print_drift(series, ctx.out)
    if not series.bounds.size:
        print(
            f"{profile.name}: no histogram {args.signal!r} for {args.deployment!r} in this range",
            file=ctx.err,
        )
    return EXIT_OK


def _run_suite(args: argparse.Namespace, ctx: _Context) -> int:
    # Imported here: the suite machinery (YAML, JSON schema) is not needed by other commands.
    from console.services.suite_loader import load_suite

    _check_suite_args(args)
    try:
        suite = load_suite(args.suite)
    except SuiteError as exc:
        raise UsageError(str(exc)) from None
    with ExitStack() as stack:
        targets = _suite_targets(args, suite, ctx, stack)
        return _execute_suite(args, suite, targets, ctx)


def _check_suite_args(args: argparse.Namespace) -> None:
    if args.target is not None or args.model is not None:
        if args.target is None or args.model is None:
            raise UsageError("--target and --model go together")
        if args.profile is not None or args.deployment is not None:
            raise UsageError("use either --target URL --model M or --profile P --deployment D")
        if not re.match(r"^https?://[^/\s]+", args.target):
            raise UsageError(f"--target {args.target!r}: expected an http:// or https:// URL")
    elif args.profile is not None and args.deployment is None:
        raise UsageError("--profile needs --deployment D (the deployment to run against)")
    for option, path in (("--junit", args.junit), ("--json", args.json_file)):
        if path is not None and not path.parent.resolve().is_dir():
            raise UsageError(f"{option} {path}: the directory {path.parent} does not exist")


def _suite_targets(
    args: argparse.Namespace, suite: Suite, ctx: _Context, stack: ExitStack
) -> "list[RunTarget]":
    """Where the suite goes: --target, a profile's deployment, or the suite's providers."""
    from console.services.suite_runner import MissingApiKey, endpoint_target, suite_targets

    if args.target is not None:
        return [endpoint_target(args.target, args.model)]
    if args.deployment is None:
        if not suite.providers:
            raise UsageError(
                f"{args.suite}: the suite names no provider; give --target URL --model M "
                "or --profile P --deployment D"
            )
        try:
            return suite_targets(suite, ctx.secrets)
        except MissingApiKey as exc:
            raise UsageError(str(exc)) from None
    profile = _select_profile(ctx.store.load(), args.profile)
    if profile.is_demo:
        return [_demo_target(args.deployment, profile, stack)]
    return [_endpoint_target(args.deployment, profile, ctx)]


def _endpoint_target(deployment: str, profile: Profile, ctx: _Context) -> "RunTarget":
    """The deployment's model endpoint from the profile, its key from the keyring."""
    from console.services.suite_runner import MissingApiKey
    from console.services.suite_targets import profile_endpoint_target

    endpoint = profile.endpoint(deployment)
    if endpoint is None:
        raise UsageError(
            f"profile {profile.name!r} names no model endpoint for {deployment!r}: add one "
            f"under [[profiles.{profile.name}.endpoints]] or use --target URL --model M"
        )
    try:
        return profile_endpoint_target(profile, endpoint, ctx.secrets)
    except MissingApiKey as exc:
        raise UsageError(str(exc)) from None


def _demo_target(deployment: str, profile: Profile, stack: ExitStack) -> "RunTarget":
    """The DEMO deployment, answering through the in-process loopback model server."""
    from console.backends.demo import DemoBackend
    from console.backends.demo_llm import DemoLLMServer
    from console.services.suite_runner import deployment_target

    backend = DemoBackend()
    try:
        shares = backend.serving(deployment)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    server = stack.enter_context(DemoLLMServer(backend.serving))
    return deployment_target(
        server.base_url, deployment, shares, profile=profile.name, prices=profile.prices
    )


def _execute_suite(
    args: argparse.Namespace, suite: Suite, targets: "list[RunTarget]", ctx: _Context
) -> int:
    from console.services.run_history import HistoryError, RunHistory
    from console.services.suite_export import failure_message, write_json, write_junit
    from console.services.suite_runner import RunOptions, SuiteRun

    try:
        history: RunHistory | None = RunHistory()
    except HistoryError as exc:
        print(f"sre-console: warning: {exc}; this run is not kept", file=ctx.err)
        history = None
    run = SuiteRun(
        suite,
        targets,
        RunOptions(concurrency=args.concurrency, repeat=args.repeat),
        history=history,
    )
    names = ", ".join(t.name for t in targets)
    print(
        f"run-suite: {run.planned} sends of {args.suite} against {names} "
        f"(concurrency {args.concurrency})",
        file=ctx.err,
    )
    progress = _SuiteProgress(run.planned, ctx.err)
    try:
        summary = asyncio.run(run.run(progress.update))
    except KeyboardInterrupt:
        progress.end()
        print("run-suite: cancelled", file=ctx.err)
        return EXIT_INTERRUPTED
    finally:
        if history is not None:
            history.close()
    progress.end()
    try:
        if args.junit is not None:
            write_junit(args.junit, summary.info, summary.records)
        if args.json_file is not None:
            write_json(args.json_file, summary.info, summary.records)
    except OSError as exc:
        raise UsageError(f"cannot write the report: {exc}") from None
    for record in summary.records:
        if record.status is CaseStatus.FAILED:
            print(f"FAIL {record.title}: {failure_message(record)}", file=ctx.out)
        elif record.status is CaseStatus.ERROR:
            print(f"ERROR {record.title}: {record.reason}", file=ctx.out)
    tally = summary.tally
    print(
        f"passed={tally.passed} failed={tally.failed} errors={tally.errors} "
        f"total={tally.total} pass_rate={tally.pass_rate:.4f} fail_under={args.fail_under:g}",
        file=ctx.out,
    )
    return EXIT_OK if tally.pass_rate >= args.fail_under else EXIT_FAILED


class _SuiteProgress:
    """The progress line: rewritten in place on a terminal, every 10 % otherwise."""

    def __init__(self, planned: int, err: TextIO) -> None:
        self._planned = planned
        self._err = err
        self._tty = err.isatty()
        self._shown_tenth = 0
        self._open = False

    def update(self, progress: "RunProgress") -> None:
        tally = progress.tally
        line = (
            f"run-suite: {progress.done}/{progress.planned} done, {tally.passed} passed, "
            f"{tally.failed} failed, {tally.errors} errors"
        )
        if self._tty:
            print(f"\r{line}", end="", file=self._err, flush=True)
            self._open = True
            return
        tenth = progress.done * 10 // max(progress.planned, 1)
        if tenth > self._shown_tenth:
            self._shown_tenth = tenth
            print(line, file=self._err, flush=True)

    def end(self) -> None:
        if self._open:
            print(file=self._err, flush=True)
            self._open = False


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


def _print_drift(series: DriftSeries, out: TextIO) -> None:
    match series.baseline:
        case VersionBaseline(version=version):
            against = f"version {version} (current: {series.current_version})"
        case ReferenceRange(start=start, end=end):
            against = f"{_utc(start)} to {_utc(end)}"
        case _:
            against = "the previous window"
    limits = series.thresholds
    levels = (
        f"warn {limits.warn:g}, alert {limits.alert:g}"
        if math.isfinite(limits.alert)
        else "no thresholds"
    )
    print(
        f"{series.deployment} {series.histogram}: {series.metric} against {against} ({levels})",
        file=out,
    )
    header = ("TIME (UTC)", series.metric.value.upper(), "BASELINE N", "CURRENT N", "STATUS")
    rows = [header] + [
        (
            _utc(p.timestamp),
            f"{p.value:.4f}" if math.isfinite(p.value) else "no data",
            f"{p.baseline_count:.0f}",
            f"{p.current_count:.0f}",
            p.status.value,
        )
        for p in series.points
    ]
    _print_table(rows, out)


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _fmt(value: float | None, pattern: str) -> str:
    return "no data" if value is None else pattern.format(value)


def _print_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )
