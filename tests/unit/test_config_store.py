"""The TOML config: round trip, errors naming file/line/key, atomic and never lossy."""

import os
from pathlib import Path

import pytest

from console.config import paths
from console.config.atomic import atomic_write_text
from console.config.settings import AuthKind, Profile, Role, Settings, Theme, UiSettings
from console.config.store import ConfigError, ConfigStore, dump_settings
from console.domain.slo import SloThresholds, Threshold

PROFILE = Profile(
    name="prod-eu",
    prometheus_url="https://prom.example:9090",
    auth=AuthKind.BASIC,
    username="sre",
    ca_file="/etc/ssl/ca.pem",
    headers=(("X-Scope-OrgID", "tenant-a"),),
    role=Role.OPERATOR,
    protected=True,
    preset="vllm",
    queries=(("request_rate", "sum by ($by) (rate(x[$window]))"),),
    slo=SloThresholds(error_ratio=Threshold(warn=0.02, alert=0.1)),
)


def test_round_trip(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    settings = Settings(profiles=(PROFILE,), ui=UiSettings(theme=Theme.DARK, range_s=900))
    store.save(settings)
    assert store.load() == settings
    assert "schema_version = 1" in (tmp_path / "config.toml").read_text()


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert ConfigStore(tmp_path / "none.toml").load() == Settings()


def write_config(tmp_path: Path, replace: tuple[str, str]) -> Path:
    path = tmp_path / "config.toml"
    text = dump_settings(Settings(profiles=(PROFILE,)))
    assert replace[0] in text
    path.write_text(text.replace(*replace))
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("replace", "key", "needle", "message"),
    [
        (('role = "operator"', 'role = "boss"'), "profiles.prod-eu.role", "boss", "not one of"),
        (
            ("refresh_interval_s = 15.0", "refresh_interval_s = -1"),
            "profiles.prod-eu.refresh_interval_s",
            "refresh_interval_s",
            "positive",
        ),
        (("protected = true", 'protected = "yes"'), "profiles.prod-eu.protected", "protected", ""),
        (
            ('preset = "vllm"', 'preset = "sglang"'),
            "profiles.prod-eu.preset",
            "sglang",
            "not one of",
        ),
        (("insecure = false", "colour = 1"), "profiles.prod-eu.colour", "colour", "unknown key"),
        (
            (
                "[profiles.prod-eu.slo.error_ratio]\nwarn = 0.02",
                "[profiles.prod-eu.slo.error_ratio]\nwarn = 0.5",
            ),
            "profiles.prod-eu.slo.error_ratio",
            "slo.error_ratio]",
            "below warn",
        ),
        (
            ("request_rate = ", "p42_latency = "),
            "profiles.prod-eu.queries.p42_latency",
            "p42_latency",
            "not one of",
        ),
        (("schema_version = 1", "schema_version = 7"), "schema_version", "schema_version", "7"),
    ],
)
def test_errors_name_file_line_and_key(
    tmp_path: Path, replace: tuple[str, str], key: str, needle: str, message: str
) -> None:
    path = write_config(tmp_path, replace)
    with pytest.raises(ConfigError) as caught:
        ConfigStore(path).load()
    error = caught.value
    assert error.key == key
    assert error.line == line_of(path, needle)
    assert str(error).startswith(f"{path}:{error.line}: {key}: ")
    assert message in str(error)


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('schema_version = 1\n[profiles.a]\nprometheus_url = "http://x\nrole = 1\n')
    with pytest.raises(ConfigError, match=rf"^{path}:3: not valid TOML"):
        ConfigStore(path).load()


def test_malformed_file_is_never_overwritten(tmp_path: Path) -> None:
    path = write_config(tmp_path, ('role = "operator"', 'role = "boss"'))
    before = path.read_bytes()
    store = ConfigStore(path)
    with pytest.raises(ConfigError):
        store.load()
    with pytest.raises(ConfigError, match="not saved"):
        store.save(Settings())
    assert path.read_bytes() == before


def test_atomic_write_keeps_the_old_file_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    atomic_write_text(path, "old")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_env_overrides_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.CONFIG_DIR_ENV, str(tmp_path / "c"))
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "d"))
    assert paths.config_file() == tmp_path / "c" / "config.toml"
    assert paths.data_dir() == tmp_path / "d"


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"name": "bad name"}, "name"),
        ({"prometheus_url": "prom:9090"}, "prometheus_url"),
        ({"prometheus_url": "https://u:p@prom"}, "prometheus_url"),
        ({"auth": AuthKind.BASIC}, "username"),
        ({"headers": (("Bad Header", "x"),)}, "headers"),
        ({"headers": (("X-A", "a\nb"),)}, "headers"),
        ({"timeout_s": 0.0}, "timeout_s"),
    ],
)
def test_profile_validation_names_the_field(kwargs: dict[str, object], key: str) -> None:
    values: dict[str, object] = {"name": "p", "prometheus_url": "http://127.0.0.1:9090"}
    values.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{key}: "):
        Profile(**values)  # type: ignore[arg-type]
