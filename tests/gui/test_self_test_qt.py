"""The self-test's Qt checks (a spawned process) and `sre-console --self-test` end to end."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console import self_test
from console.self_test import Status


def test_qt_loads_renders_svg_and_every_console_module_imports() -> None:
    results = {r.name: r for r in self_test.check_qt()}
    assert [r.status for r in results.values()] == [Status.OK] * 3, results
    assert results["qt"].detail.endswith("platform offscreen")
    assert results["qt image plugins"].detail.startswith("app.svg renders")
    assert results["modules"].detail.startswith("all ")


def test_a_qt_process_that_aborts_is_a_failed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "no-such-platform")
    results = self_test.check_qt()
    assert [r.line() for r in results] == [
        "FAIL  qt: the Qt check process ended with SIGABRT on no-such-platform; its error is "
        "above (a platform plugin, or a library it needs, may be missing)"
    ]


def test_sre_console_self_test_prints_a_line_per_check(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "SRE_CONSOLE_CONFIG_DIR": str(tmp_path / "config"),
        "SRE_CONSOLE_DATA_DIR": str(tmp_path / "data"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    result = subprocess.run(
        [sys.executable, "-m", "console", "--self-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split(":")[0] for line in lines[1:]] == [
        "ok    config dir",
        "ok    data dir",
        "warn  keyring",
        "ok    resources",
        "ok    demo backend",
        "ok    qt",
        "ok    qt image plugins",
        "ok    modules",
        "self-test",
    ]
    assert lines[-1] == "self-test: 7 ok, 1 warnings, 0 failed"
    assert (tmp_path / "config").is_dir() and (tmp_path / "data").is_dir()
