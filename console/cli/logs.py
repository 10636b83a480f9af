"""``sre-console logs`` (prompt/output records, redacted) and ``sre-console redact [FILE]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

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
    positive_int,
    print_table,
    select_profile,
    session_secret,
    utc,
)
from console.config.settings import Profile, SettingsError
from console.domain.log_records import LogRecord
from console.domain.redaction import PatternError, Redactor

if TYPE_CHECKING:
    from console.services.logs import LogPage
    from console.services.review_queue import ReviewQueue


REDACT_CHUNK_CHARS = 1 << 20
"""``redact`` works through its input in chunks of about this many characters."""
SNIPPET_CHARS = 48


def add_parsers(commands: Commands) -> None:
    """Register ``logs`` and ``redact``."""
    logs = commands.add_parser(
        "logs", help="print prompt/output log records (redacted) from Loki or the DEMO"
    )
    logs.set_defaults(handler=logs_command)
    add_profile_option(logs)
    add_token_stdin_option(logs)
    logs.add_argument(
        "--query", required=True, metavar="LOGQL", help="e.g. '{deployment=\"support-chat\"}'"
    )
    logs.add_argument(
        "--since", type=duration, default=3600.0, metavar="DURATION", help="default 1h"
    )
    logs.add_argument(
        "--limit", type=positive_int, default=100, metavar="N", help="newest N (default 100)"
    )
    logs.add_argument("--json", action="store_true", help="one JSON object a line")
    redact = commands.add_parser(
        "redact", help="replace personal data and secrets in FILE (or stdin) with placeholders"
    )
    redact.set_defaults(handler=redact_command)
    redact.add_argument("file", nargs="?", metavar="FILE", help="default: stdin")
    redact.add_argument(
        "--profile", help="also apply this profile's redaction_patterns (default: built-ins)"
    )


def logs_command(args: argparse.Namespace, ctx: Context) -> int:
    """Print the newest records of the query over the last ``--since``, redacted."""
    from console.services.log_connect import NoLogBackend, open_log_service

    profile = select_profile(ctx.store.load(), args.profile)
    session_secret(args, profile, ctx)
    queue = _review_queue(ctx)
    try:
        service = open_log_service(profile, ctx.secrets, review_queue=queue)
    except NoLogBackend as exc:
        raise UsageError(str(exc)) from None

    async def fetch() -> LogPage:
        try:
            now = time.time()
            return await service.query(args.query, now - args.since, now, limit=args.limit)
        finally:
            await service.backend.aclose()

    try:
        page = asyncio.run(fetch())
    except BackendError as exc:
        print(f"sre-console: {exc}", file=ctx.err)
        return EXIT_FAILED
    finally:
        if queue is not None:
            queue.close()
    if args.json:
        for record in page.records:
            print(json.dumps(record_json(record), ensure_ascii=False), file=ctx.out)
    elif page.records:
        print_table([_HEADER, *(_row(r) for r in page.records)], ctx.out)
    if profile.is_demo:
        print("DEMO: simulated logs, not real data", file=ctx.err)
    print(f"{len(page.records)} records", file=ctx.err)
    if service.queued:
        print(
            f"{service.queued} new outputs below confidence {profile.review_threshold:g} "
            "queued for review",
            file=ctx.err,
        )
    return EXIT_OK


def _review_queue(ctx: Context) -> ReviewQueue | None:
    """The review queue; without one (an unwritable data dir) the records still print."""
    from console.services.review_queue import ReviewError, ReviewQueue

    try:
        return ReviewQueue()
    except ReviewError as exc:
        print(f"sre-console: warning: {exc}; nothing is queued for review", file=ctx.err)
        return None


def record_json(record: LogRecord) -> dict[str, Any]:
    """A redacted record as plain JSON data (times in Unix seconds and ISO UTC)."""
    return {
        "key": record.key,
        "time": utc(record.timestamp),
        "timestamp_ns": record.timestamp_ns,
        "labels": dict(record.labels),
        "format": record.format.value,
        "deployment": record.deployment,
        "version": record.version,
        "model": record.model,
        "prompt": record.prompt,
        "output": record.output,
        "latency_ms": record.latency_ms,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "confidence": record.confidence,
        "finish_reason": record.finish_reason,
        "raw": None if record.format.value == "json" else record.raw,
        "redacted": sorted({s.kind for spans in record.redactions.values() for s in spans}),
    }


_HEADER = ("TIME (UTC)", "DEPLOYMENT", "VERSION", "LATENCY", "TOKENS", "CONF", "PROMPT -> OUTPUT")


def _row(record: LogRecord) -> tuple[str, ...]:
    if record.prompt is None and record.output is None:
        text = _snippet(record.raw, 2 * SNIPPET_CHARS)
    else:
        text = f"{_snippet(record.prompt or '', SNIPPET_CHARS)} -> "
        text += _snippet(record.output or "", SNIPPET_CHARS)
    return (
        utc(record.timestamp),
        record.deployment or "-",
        record.version or "-",
        "-" if record.latency_ms is None else f"{record.latency_ms:.0f} ms",
        "-" if record.tokens is None else str(record.tokens),
        "-" if record.confidence is None else f"{record.confidence:.2f}",
        text,
    )


def _snippet(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def redact_command(args: argparse.Namespace, ctx: Context) -> int:
    """Write FILE (or stdin) to stdout with every match replaced; counts to stderr."""
    redactor = _redactor(args, ctx)
    counts: Counter[str] = Counter()
    if args.file is None:
        _redact_stream(ctx.stdin, ctx.out, redactor, counts)
    else:
        path = Path(args.file)
        try:
            with path.open(encoding="utf-8", errors="surrogateescape", newline="") as source:
                _redact_stream(source, ctx.out, redactor, counts)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "nothing"
    print(f"redacted: {summary}", file=ctx.err)
    return EXIT_OK


def _redactor(args: argparse.Namespace, ctx: Context) -> Redactor:
    from console.services.log_connect import redactor_of

    if args.profile is None:
        return Redactor()
    try:
        profile: Profile = select_profile(ctx.store.load(), args.profile)
        return redactor_of(profile)
    except (SettingsError, PatternError) as exc:
        raise UsageError(str(exc)) from None


def _redact_stream(source: TextIO, out: TextIO, redactor: Redactor, counts: Counter[str]) -> None:
    for chunk in _chunks(source):
        result = redactor.redact(chunk)
        counts.update(span.kind for span in result.spans)
        out.write(result.text)


def _chunks(lines: Iterable[str]) -> Iterator[str]:
    """Whole lines, about REDACT_CHUNK_CHARS at a time, never splitting a private-key block."""
    buffer: list[str] = []
    size = 0
    open_blocks = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        open_blocks += line.count("-----BEGIN") - line.count("-----END")
        if size >= REDACT_CHUNK_CHARS and open_blocks <= 0:
            yield "".join(buffer)
            buffer, size, open_blocks = [], 0, 0
    if buffer:
        yield "".join(buffer)
