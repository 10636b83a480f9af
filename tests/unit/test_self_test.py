"""The checks of `sre-console --self-test` (Qt-free ones; the Qt probe is in tests/gui)."""

import io
import re
from pathlib import Path

import pytest
from keyring.backends import fail

from console import cli, self_test
from console.backends.errors import BackendError
from console.config.secrets import SecretStore
from console.self_test import CheckResult, Status
from tests.support.memory_keyring import MemoryKeyring


def test_a_writable_dir_is_ok_and_left_without_the_probe_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "config"
    result = self_test.check_writable("config dir", target)
    assert result == CheckResult("config dir", Status.OK, f"{target} is writable")
    assert list(target.iterdir()) == []


def test_a_dir_that_cannot_be_made_fails_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a dir")
    result = self_test.check_writable("data dir", blocker / "data")
    assert result.status is Status.FAIL
    assert result.line() == f"FAIL  data dir: {blocker / 'data'} is not writable: Not a directory"


def test_keyring_names_the_active_backend() -> None:
    backend = MemoryKeyring()
    result = self_test.check_keyring(SecretStore(backend))
    assert result.status is Status.OK
    assert result.detail == f"backend {backend.name}"


def test_no_keyring_is_a_plain_warning_not_a_failure() -> None:
    result = self_test.check_keyring(SecretStore(fail.Keyring()))
    assert result.status is Status.WARN
    assert result.line().startswith("warn  keyring: no OS keyring (backend fail Keyring)")


def test_a_keyring_that_raises_is_a_failure() -> None:
    class Broken(SecretStore):
        @property
        def available(self) -> bool:
            raise RuntimeError("D-Bus went away")

    result = self_test.check_keyring(Broken())
    assert result.line() == "FAIL  keyring: RuntimeError: D-Bus went away"


def test_the_demo_backend_answers_with_its_deployments() -> None:
    result = self_test.check_demo_backend()
    assert result.status is Status.OK, result.line()
    assert re.fullmatch(r"[1-9]\d* deployments answered", result.detail)


def test_a_demo_backend_error_fails_with_its_text(monkeypatch: pytest.MonkeyPatch) -> None:
    class FailingBackend:
        async def aclose(self) -> None:
            pass

    class FailingFleet:
        backend = FailingBackend()

        async def snapshot(self) -> object:
            raise BackendError("simulation exploded")

    monkeypatch.setattr("console.services.connect.open_fleet", lambda *_: FailingFleet())
    result = self_test.check_demo_backend()
    assert result.line() == "FAIL  demo backend: BackendError: simulation exploded"


def test_a_demo_backend_that_hangs_fails_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    class HangingFleet:
        class backend:  # stands in for the fleet service's backend attribute
            @staticmethod
            async def aclose() -> None:
                pass

        async def snapshot(self) -> object:
            await asyncio.sleep(30)
            raise AssertionError("not reached")

    monkeypatch.setattr("console.services.connect.open_fleet", lambda *_: HangingFleet())
    result = self_test.check_demo_backend(timeout_s=0.05)
    assert result.line() == "FAIL  demo backend: no answer within 0.05 s"


def test_the_shipped_resources_load() -> None:
    result = self_test.check_resources()
    assert result.status is Status.OK, result.line()
    assert re.fullmatch(
        r"2 stylesheets, \d+ icons, built-in suite of [1-9]\d* cases from .+", result.detail
    )


def _resources_package(root: Path, dark_qss: str) -> str:
    package = root / f"resources_{root.name}"  # a fresh name: imported packages are cached
    for folder in ("styles", "icons"):
        (package / folder).mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "styles" / "dark.qss").write_text(dark_qss)
    (package / "styles" / "light.qss").write_text("")
    (package / "icons" / "app.svg").write_text("<svg/>")
    return package.name


def test_an_icon_a_stylesheet_names_but_the_bundle_lacks_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    package = _resources_package(
        tmp_path, "QCheckBox::indicator { image: url(sreicons:tick.svg); }"
    )
    result = self_test.check_resources(package)
    assert result.status is Status.FAIL
    assert result.detail.startswith("FileNotFoundError: ")
    assert "tick.svg" in result.detail


def test_a_missing_stylesheet_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    package = _resources_package(tmp_path, "")
    (tmp_path / package / "styles" / "light.qss").unlink()
    result = self_test.check_resources(package)
    assert result.status is Status.FAIL
    assert "light.qss" in result.detail


def test_output_is_one_line_per_check_and_a_failure_sets_the_exit_status() -> None:
    out = io.StringIO()
    status = self_test.run_self_test(
        [
            lambda: [CheckResult("alpha", Status.OK, "fine")],
            lambda: [
                CheckResult("beta", Status.WARN, "so-so"),
                CheckResult("gamma", Status.FAIL, "broken"),
            ],
        ],
        out,
    )
    lines = out.getvalue().splitlines()
    assert status == 1
    assert lines[0].startswith("sre-console ") and " self-test (" in lines[0]
    assert lines[1:] == [
        "ok    alpha: fine",
        "warn  beta: so-so",
        "FAIL  gamma: broken",
        "self-test: 1 ok, 1 warnings, 1 failed",
    ]


def test_warnings_alone_exit_zero() -> None:
    out = io.StringIO()
    status = self_test.run_self_test([lambda: [CheckResult("k", Status.WARN, "w")]], out)
    assert status == 0
    assert out.getvalue().splitlines()[-1] == "self-test: 0 ok, 1 warnings, 0 failed"


def test_the_cli_routes_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    from console.__main__ import main

    monkeypatch.setattr(self_test, "main", lambda: 7)
    assert cli.parse_args(["--self-test"]).self_test
    assert main(["--self-test"]) == 7
    assert "--self-test" in cli.build_parser().format_help()
