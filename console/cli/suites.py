"""``sre-console run-suite``: a synthetic prompt suite against an OpenAI-compatible endpoint."""

import argparse
import asyncio
import re
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console.cli._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    Context,
    UsageError,
    positive_int,
    rate,
    select_profile,
)
from console.config.settings import Profile
from console.domain.redaction import Redactor
from console.domain.suite import Suite, SuiteError
from console.domain.suite_results import CaseStatus, redacted_record

if TYPE_CHECKING:
    from console.services.suite_runner import RunProgress, RunTarget

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


def add_parsers(commands: Commands) -> None:
    """Register ``run-suite``."""
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
    run_suite.set_defaults(handler=run_suite_command)
    run_suite.add_argument("suite", type=Path, metavar="SUITE.yaml")
    run_suite.add_argument(
        "--target", metavar="URL", help="base URL of the endpoint, e.g. http://host:8000/v1"
    )
    run_suite.add_argument("--model", metavar="M", help="model name to ask for (with --target)")
    run_suite.add_argument("--profile", metavar="P", help="profile of the deployment ('demo')")
    run_suite.add_argument("--deployment", metavar="D", help="deployment to run against")
    run_suite.add_argument(
        "--repeat", type=positive_int, metavar="N", help="sends per case (default: the suite's)"
    )
    run_suite.add_argument(
        "--concurrency",
        type=positive_int,
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
        type=rate,
        default=1.0,
        metavar="RATE",
        help="least pass rate (0..1) for exit status 0 (default 1.0)",
    )


def run_suite_command(args: argparse.Namespace, ctx: Context) -> int:
    """Run a suite; exit 0 when the pass rate reaches --fail-under."""
    # Imported here: the suite machinery (YAML, JSON schema) is not needed by other commands.
    from console.services.suite_loader import load_suite

    _check_suite_args(args)
    try:
        suite = load_suite(args.suite)
    except SuiteError as exc:
        raise UsageError(str(exc)) from None
    # The deployment's profile, read once: its endpoint and its redaction patterns.
    profile = (
        select_profile(ctx.store.load(), args.profile) if args.deployment is not None else None
    )
    with ExitStack() as stack:
        targets = _suite_targets(args, suite, profile, ctx, stack)
        redactor = Redactor(profile.redaction_patterns if profile is not None else ())
        return _execute_suite(args, suite, targets, redactor, ctx)


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
    args: argparse.Namespace,
    suite: Suite,
    profile: Profile | None,
    ctx: Context,
    stack: ExitStack,
) -> "list[RunTarget]":
    """Where the suite goes: --target, a profile's deployment, or the suite's providers."""
    from console.services.suite_runner import MissingApiKey, endpoint_target, suite_targets

    if args.target is not None:
        return [endpoint_target(args.target, args.model)]
    if profile is None:
        if not suite.providers:
            raise UsageError(
                f"{args.suite}: the suite names no provider; give --target URL --model M "
                "or --profile P --deployment D"
            )
        try:
            return suite_targets(suite, ctx.secrets)
        except MissingApiKey as exc:
            raise UsageError(str(exc)) from None
    if profile.is_demo:
        return [_demo_target(args.deployment, profile, stack)]
    return [_endpoint_target(args.deployment, profile, ctx)]


def _endpoint_target(deployment: str, profile: Profile, ctx: Context) -> "RunTarget":
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
    args: argparse.Namespace,
    suite: Suite,
    targets: "list[RunTarget]",
    redactor: Redactor,
    ctx: Context,
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
    # What leaves the process (reports, the terminal) is redacted like the logs are.
    records = [redacted_record(r, redactor) for r in summary.records]
    try:
        if args.junit is not None:
            write_junit(args.junit, summary.info, records)
        if args.json_file is not None:
            write_json(args.json_file, summary.info, records)
    except OSError as exc:
        raise UsageError(f"cannot write the report: {exc}") from None
    for record in records:
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
