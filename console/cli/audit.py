"""``sre-console audit verify|export``: check and export the tamper-evident audit log."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from console.cli._common import EXIT_FAILED, EXIT_OK, Commands, Context, duration, instant

if TYPE_CHECKING:
    pass


def add_parsers(commands: Commands) -> None:
    """Register ``audit`` and its actions."""
    audit = commands.add_parser("audit", help="verify or export the audit log")
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    actions.required = True
    verify = actions.add_parser(
        "verify",
        help="check the hash chain (exit 0 intact, 1 broken: prints the first bad entry)",
    )
    verify.set_defaults(handler=audit_verify)
    export = actions.add_parser("export", help="print entries as JSON lines, oldest first")
    export.set_defaults(handler=audit_export)
    export.add_argument(
        "--since",
        type=_since,
        metavar="T",
        help="entries from T on: an ISO time, Unix seconds, or a duration ago (24h, 7d)",
    )
    export.add_argument("--format", choices=["jsonl"], default="jsonl")


def audit_verify(args: argparse.Namespace, ctx: Context) -> int:
    """Verify the whole chain; the first bad entry's id and why when it is broken."""
    from console.services.audit_log import AuditError, AuditLog

    try:
        log = AuditLog()
    except AuditError as exc:
        print(f"sre-console: {exc}", file=ctx.err)
        return EXIT_FAILED
    try:
        report = log.verify()
    finally:
        log.close()
    print(str(report), file=ctx.out)
    return EXIT_OK if report.intact else EXIT_FAILED


def audit_export(args: argparse.Namespace, ctx: Context) -> int:
    """Write the entries (since ``--since``) to stdout, one JSON object a line."""
    from console.services.audit_log import AuditError, AuditLog

    try:
        log = AuditLog()
    except AuditError as exc:
        print(f"sre-console: {exc}", file=ctx.err)
        return EXIT_FAILED
    try:
        count = log.export_jsonl(ctx.out, since=args.since)
    finally:
        log.close()
    print(f"exported {count} entries", file=ctx.err)
    return EXIT_OK


def _since(text: str) -> float:
    moment = instant(text)
    if moment is not None:
        return moment
    try:
        return time.time() - duration(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a time (ISO-8601 or Unix seconds) nor a duration like 24h"
        ) from None
