"""Headless commands over the same services as the GUI. Imports no Qt.

Each command group is a module of this package with ``add_parsers(commands)``, which sets
``handler`` on its parsers; adding a command is adding its module to ``_COMMAND_MODULES``.
"""

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from console import __version__
from console.cli import actions, alerts, audit, drift, fleet, logs, profiles, suites
from console.cli._common import EXIT_FAILED, EXIT_USAGE, Context, Handler, UsageError
from console.config.paths import config_file
from console.config.secrets import SecretStore, SecretsUnavailable
from console.config.store import ConfigError, ConfigStore

_COMMAND_MODULES = (profiles, fleet, drift, suites, alerts, actions, audit, logs)


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
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that this install works here (Qt, keyring, dirs, DEMO, resources) and exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMAND_MODULES:
        module.add_parsers(commands)
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
    err = stderr or sys.stderr
    context = Context(
        store=ConfigStore(config_file()),
        secrets=secrets if secrets is not None else SecretStore(),
        stdin=stdin or sys.stdin,
        out=stdout or sys.stdout,
        err=err,
    )
    handler: Handler = args.handler
    try:
        return handler(args, context)
    except (UsageError, ConfigError) as exc:
        print(f"sre-console: error: {exc}", file=err)
        return EXIT_USAGE
    except SecretsUnavailable as exc:
        print(f"sre-console: {exc}", file=err)
        return EXIT_FAILED
