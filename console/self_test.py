"""``sre-console --self-test``: does this install (a bundle or a wheel) work on this machine?

One line per check, ``ok``, ``warn`` or ``FAIL``, then a summary; the exit status is 1 when
any check failed. A missing OS keyring is a warning (the console still runs, with
session-only secrets). The checks here import no Qt; the Qt checks run in a spawned process
(console/ui/qt_probe.py), so that a platform plugin that aborts the process is reported as a
failed check instead of ending the self-test.
"""

import asyncio
import multiprocessing
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import TextIO

from console import __version__
from console.config import paths
from console.config.atomic import atomic_write_text
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, Theme

RESOURCES_PACKAGE = "sre_console_resources"
WINDOW_ICON = "app.svg"
DEMO_TIMEOUT_S = 20.0
QT_TIMEOUT_S = 60.0
_EXIT_GRACE_S = 10.0
_STYLESHEET_ICON = re.compile(r"url\(sreicons:([^)]+)\)")


class Status(StrEnum):
    """The outcome of one check."""

    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class CheckResult:
    """One line of the self-test: what was checked, how it went, and the evidence."""

    name: str
    status: Status
    detail: str

    def line(self) -> str:
        """``ok    name: detail``."""
        return f"{self.status.value:<5} {self.name}: {self.detail}"


Check = Callable[[], Iterable[CheckResult]]


def check_keyring(secrets: SecretStore) -> CheckResult:
    """The active keyring backend, or a plain warning that there is none."""
    try:
        available = secrets.available
        name = secrets.backend_name
    except Exception as exc:  # a broken backend must not end the self-test
        return CheckResult("keyring", Status.FAIL, f"{type(exc).__name__}: {exc}")
    if available:
        return CheckResult("keyring", Status.OK, f"backend {name}")
    return CheckResult(
        "keyring",
        Status.WARN,
        f"no OS keyring (backend {name}): secrets cannot be stored, only kept for a session",
    )


def check_writable(name: str, directory: Path) -> CheckResult:
    """``directory`` exists or can be made, and a file can be written there atomically."""
    probe = directory / ".sre-console-self-test"
    try:
        atomic_write_text(probe, "self-test\n")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return CheckResult(name, Status.FAIL, f"{directory} is not writable: {reason}")
    return CheckResult(name, Status.OK, f"{directory} is writable")


def check_demo_backend(timeout_s: float = DEMO_TIMEOUT_S) -> CheckResult:
    """The DEMO fleet answers a snapshot with deployments, as the window would ask for it."""
    from console.services.connect import open_fleet

    async def snapshot() -> CheckResult:
        service = open_fleet(DEMO_PROFILE, SecretStore.session_only())
        try:
            fleet = await asyncio.wait_for(service.snapshot(), timeout_s)
        finally:
            await service.backend.aclose()
        if fleet.error:
            return CheckResult("demo backend", Status.FAIL, fleet.error)
        if not fleet.deployments:
            return CheckResult("demo backend", Status.FAIL, "the DEMO fleet has no deployments")
        return CheckResult(
            "demo backend", Status.OK, f"{len(fleet.deployments)} deployments answered"
        )

    try:
        return asyncio.run(snapshot())
    except TimeoutError:
        return CheckResult("demo backend", Status.FAIL, f"no answer within {timeout_s:g} s")
    except Exception as exc:
        return CheckResult("demo backend", Status.FAIL, f"{type(exc).__name__}: {exc}")


def check_resources(package: str = RESOURCES_PACKAGE) -> CheckResult:
    """The stylesheets, every icon they name, the window icon and the built-in suite load."""
    from console.services.suite_loader import load_default_suite

    root = files(package)
    try:
        icons = {WINDOW_ICON}
        for theme in (Theme.DARK, Theme.LIGHT):
            text = root.joinpath("styles", f"{theme.value}.qss").read_text(encoding="utf-8")
            icons.update(_STYLESHEET_ICON.findall(text))
        for icon in sorted(icons):
            if not root.joinpath("icons", icon).read_bytes():
                return CheckResult("resources", Status.FAIL, f"icons/{icon} is empty")
        suite = load_default_suite()
    except (OSError, ValueError) as exc:
        return CheckResult("resources", Status.FAIL, f"{type(exc).__name__}: {exc}")
    return CheckResult(
        "resources",
        Status.OK,
        f"2 stylesheets, {len(icons)} icons, built-in suite of {len(suite.cases)} cases "
        f"from {root}",
    )


def check_qt(timeout_s: float = QT_TIMEOUT_S) -> list[CheckResult]:
    """Qt's checks (console/ui/qt_probe.py), run in a spawned process."""
    from console.ui import qt_probe

    platform = os.environ.get("QT_QPA_PLATFORM", "the default platform")
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=qt_probe.probe, args=(sender,), name="qt-self-test")
    process.start()
    sender.close()
    results: list[CheckResult] = []
    try:
        while receiver.poll(timeout_s):
            name, status, detail = receiver.recv()
            results.append(CheckResult(name, Status(status), detail))
    except EOFError:
        pass
    process.join(_EXIT_GRACE_S)
    if process.is_alive():
        process.kill()
        process.join()
        results.append(
            CheckResult("qt", Status.FAIL, f"no answer within {timeout_s:g} s on {platform}")
        )
    elif process.exitcode != 0:
        results.append(
            CheckResult(
                "qt",
                Status.FAIL,
                f"the Qt check process ended with {_exit_reason(process.exitcode)} on {platform}; "
                "its error is above (a platform plugin, or a library it needs, may be missing)",
            )
        )
    return results


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return signal.Signals(-exitcode).name
    return f"status {exitcode}"


def default_checks() -> list[Check]:
    """Every check, in the order they are printed."""
    return [
        lambda: [check_writable("config dir", paths.config_dir())],
        lambda: [check_writable("data dir", paths.data_dir())],
        lambda: [check_keyring(SecretStore())],
        lambda: [check_resources()],
        lambda: [check_demo_backend()],
        check_qt,
    ]


def run_self_test(checks: Sequence[Check], out: TextIO) -> int:
    """Print each check's line as it completes and a summary; 1 if any check failed."""
    print(f"sre-console {__version__} self-test ({_where()})", file=out, flush=True)
    counts = dict.fromkeys(Status, 0)
    for check in checks:
        for result in check():
            counts[result.status] += 1
            print(result.line(), file=out, flush=True)
    print(
        f"self-test: {counts[Status.OK]} ok, {counts[Status.WARN]} warnings, "
        f"{counts[Status.FAIL]} failed",
        file=out,
        flush=True,
    )
    return 1 if counts[Status.FAIL] else 0


def main() -> int:
    """``sre-console --self-test``."""
    return run_self_test(default_checks(), sys.stdout)


def _where() -> str:
    if getattr(sys, "frozen", False):
        return f"bundle at {Path(sys.executable).parent}"
    return f"Python {sys.version.split()[0]} at {sys.executable}"
