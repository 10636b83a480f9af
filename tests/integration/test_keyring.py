"""Secrets live in a real OS keyring and nowhere else.

The CLI runs under gnome-keyring's Secret Service in a private D-Bus session. The
session's Prometheus sits behind a proxy that answers 401 unless the request carries the
bearer token, so a working `check` proves the token went from the keyring onto the wire.
Afterwards the token must appear in no file under the config and data dirs and in no
output of the console.
"""

import json
import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ConsoleDirs
from tests.integration.conftest import FLEET, ROOT, Cli, console_argv, or_fail
from tests.support.fault_proxy import FaultProxy
from tests.support.keyring_session import keyring_session_argv, keyring_session_env
from tests.support.servers import MetricsServer

pytestmark = pytest.mark.integration

SESSION_TIMEOUT_S = 120.0
READ_BACK = (
    "import keyring, sys; "
    "sys.stdout.write(keyring.get_password('sre-console', 'secure:token') or '<none>')"
)


@pytest.fixture
def token() -> str:
    return f"tok-{secrets.token_hex(16)}"


@pytest.fixture
def guarded_prometheus(prometheus_server: MetricsServer, token: str) -> Iterator[FaultProxy]:
    """The session's Prometheus, answering 401 unless sent ``Authorization: Bearer <token>``."""
    with FaultProxy(
        prometheus_server.url, required_headers={"Authorization": f"Bearer {token}"}
    ) as proxy:
        yield proxy


def files_containing(text: str, *roots: Path) -> list[Path]:
    """Every file under ``roots`` whose bytes contain ``text``."""
    needle = text.encode()
    return [
        path
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    ]


def command(captured: Path, name: str, *args: str) -> str:
    """A sh line running the CLI with its output and exit status captured as files."""
    argv = " ".join(shlex.quote(a) for a in console_argv(*args))
    out = shlex.quote(str(captured / name))
    return f"{argv} >{out}.out 2>{out}.err; echo $? >{out}.rc"


def test_token_is_kept_in_gnome_keyring_and_nowhere_else(
    tmp_path: Path, console_dirs: ConsoleDirs, guarded_prometheus: FaultProxy, token: str
) -> None:
    captured = tmp_path / "captured"
    captured.mkdir()
    url = guarded_prometheus.url
    stored = shlex.quote(str(captured / "keyring.value"))
    script = "; ".join(
        [
            command(
                captured,
                "add",
                "profile",
                "add",
                "secure",
                "--prometheus",
                url,
                "--auth",
                "bearer",
                "--token-stdin",
            ),
            # Verification only, outside the console: what the keyring holds.
            f"{shlex.quote(sys.executable)} -c {shlex.quote(READ_BACK)} >{stored}",
            command(captured, "check", "check", "--profile", "secure"),
            command(captured, "fleet", "fleet", "--profile", "secure", "--json"),
        ]
    )
    session = subprocess.run(
        or_fail(lambda: keyring_session_argv(script)),
        cwd=ROOT,
        input=token + "\n",
        env=keyring_session_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=SESSION_TIMEOUT_S,
        check=False,
    )

    def output(name: str) -> str:
        return (captured / name).read_text()

    assert session.returncode == 0, session.stderr
    assert output("add.rc").strip() == "0", output("add.err")
    assert "secret in the OS keyring" in output("add.out")
    assert output("keyring.value") == token
    assert output("check.rc").strip() == "0", output("check.out") + output("check.err")
    assert "Prometheus" in output("check.out")
    assert output("fleet.rc").strip() == "0", output("fleet.err")
    assert {row["deployment"] for row in json.loads(output("fleet.out"))} == {
        spec.name for spec in FLEET
    }
    assert guarded_prometheus.rejected == 0

    assert (console_dirs.config / "config.toml").is_file()
    assert files_containing(token, console_dirs.config, console_dirs.data) == []
    console_output = [
        output(f"{name}.{stream}")
        for name in ("add", "check", "fleet")
        for stream in ("out", "err")
    ]
    assert all(token not in text for text in [*console_output, session.stdout, session.stderr])


def test_without_the_token_the_guarded_prometheus_refuses(
    cli: Cli, guarded_prometheus: FaultProxy
) -> None:
    assert cli("profile", "add", "open", "--prometheus", guarded_prometheus.url).returncode == 0

    check = cli("check", "--profile", "open")

    assert check.returncode == 1
    assert "401" in check.stdout
    assert guarded_prometheus.rejected >= 1


def test_without_a_keyring_it_says_so_and_keeps_the_token_out_of_files(
    cli: Cli, console_dirs: ConsoleDirs, guarded_prometheus: FaultProxy, token: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    url = guarded_prometheus.url
    add_args = ("profile", "add", "p", "--prometheus", url, "--auth", "bearer", "--token-stdin")

    added = cli(*add_args, input=token, env=env)
    stored_check = cli("check", "--profile", "p", env=env)
    session_check = cli("check", "--profile", "p", "--token-stdin", input=token, env=env)

    assert added.returncode == 1
    assert "No OS keyring is available" in added.stderr
    assert "session-only" in added.stderr
    assert stored_check.returncode == 1
    assert "no token is stored" in stored_check.stderr
    assert session_check.returncode == 0, session_check.stdout + session_check.stderr
    assert "Prometheus" in session_check.stdout
    assert (console_dirs.config / "config.toml").is_file()
    assert files_containing(token, console_dirs.config, console_dirs.data) == []
    for run in (added, stored_check, session_check):
        assert token not in run.stdout + run.stderr
