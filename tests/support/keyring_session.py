"""A real Secret Service for keyring tests: gnome-keyring inside a private D-Bus session.

``dbus-run-session`` starts a session bus that lives as long as the command; an unlocked
gnome-keyring-daemon serves the Secret Service on it. Its keyring files go under a
throw-away HOME, so nothing touches the user's own keyring.
"""

import os
from collections.abc import Mapping
from pathlib import Path

from tests.support.servers import require_binary

KEYRING_PASSWORD = "pw"
"""Unlocks the throw-away login keyring; it protects nothing."""


def keyring_session_argv(script: str) -> list[str]:
    """The argv that runs the sh ``script`` with an unlocked Secret Service available.

    Raises MissingBinary naming the package when dbus or gnome-keyring is not installed.
    """
    dbus_run_session = require_binary("dbus-run-session", "dbus")
    daemon = require_binary("gnome-keyring-daemon", "gnome-keyring")
    unlock = f"printf %s {KEYRING_PASSWORD} | {daemon} --unlock --components=secrets >/dev/null"
    return [dbus_run_session, "--", "sh", "-c", f"{unlock}; {script}"]


def keyring_session_env(home: Path, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``base`` without any outer session bus or keyring choice, with HOME under ``home``."""
    runtime = home / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    env = {
        k: v
        for k, v in base.items()
        if k not in ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND")
    }
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "share"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_RUNTIME_DIR=str(runtime),
    )
    return env
