"""The TOML config: round trip, errors naming file/line/key, atomic and never lossy."""

import dataclasses
import os
from pathlib import Path

import pytest

from console.config import paths
from console.config.atomic import atomic_write_text
from console.config.settings import (
    AuthKind,
    DriftSetting,
    ModelEndpoint,
    PanelKind,
    PinnedPanel,
    Profile,
    Role,
    Settings,
    Theme,
    UiSettings,
)
from console.config.store import ConfigError, ConfigStore, dump_settings
from console.domain.cost import VersionPrice
from console.domain.drift import DriftMetric, DriftThresholds
from console.domain.signals import Signal
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


PRICED = dataclasses.replace(
    PROFILE,
    grafana_url="https://grafana.example:3000/",
    grafana_datasource="P1809F7CD0C75ACF3",
    canary_min_requests=250.0,
    prices=(
        VersionPrice("v1", per_gpu_hour=2.5, gpus=4.0),
        VersionPrice("v2", deployment="chat", per_1k_input_tokens=0.01, currency="EUR"),
    ),
)
DASHBOARDS = {
    "prod-eu": (
        PinnedPanel(PanelKind.SIGNAL, "chat p95", "chat", Signal.P95_LATENCY.value, column_span=6),
        PinnedPanel(PanelKind.PROMQL, "GPU", expr='sum(rate(x{a="b"}[5m]))', column=6, row_span=2),
    ),
    "demo": (PinnedPanel(PanelKind.CHART, "cost", "chat-llama", "cost_per_hour", row=3),),
}


def test_round_trip_of_grafana_canary_prices_and_dashboards(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    settings = Settings(profiles=(PRICED,), dashboards=DASHBOARDS)
    store.save(settings)
    assert store.load() == settings
    assert store.load().dashboard("demo") == DASHBOARDS["demo"]
    text = (tmp_path / "config.toml").read_text()
    assert "schema_version = 1" in text
    assert text.count("[[profiles.prod-eu.prices]]") == 2
    assert text.count("[[dashboards.prod-eu]]") == 2 and "[[dashboards.demo]]" in text


def test_a_config_without_the_new_keys_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'schema_version = 1\n[ui]\ntheme = "dark"\n'
        '[profiles.old]\nprometheus_url = "http://127.0.0.1:9090"\n'
    )
    profile = ConfigStore(path).load().profile("old")
    assert profile is not None
    assert (profile.grafana_url, profile.grafana_datasource) == (None, None)
    assert profile.canary_min_requests == 100.0 and profile.prices == ()
    assert ConfigStore(path).load().dashboards == {}


def test_hand_written_inline_prices_load(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'schema_version = 1\n[profiles.a]\nprometheus_url = "http://x:9090"\n'
        'prices = [{ version = "v1", per_gpu_hour = 3 }]\n'
    )
    profile = ConfigStore(path).load().profile("a")
    assert profile is not None and profile.prices == (VersionPrice("v1", per_gpu_hour=3.0),)


def write_full_config(tmp_path: Path, replace: tuple[str, str]) -> Path:
    path = tmp_path / "config.toml"
    text = dump_settings(Settings(profiles=(PRICED,), dashboards=DASHBOARDS))
    assert replace[0] in text, replace[0]
    path.write_text(text.replace(*replace, 1))
    return path


def nth_line_of(path: Path, needle: str, nth: int) -> int:
    lines = enumerate(path.read_text().splitlines(), 1)
    return [i for i, line in lines if needle in line][nth]


@pytest.mark.parametrize(
    ("replace", "key", "needle", "nth", "message"),
    [
        (
            ('grafana_url = "https://grafana', 'grafana_url = "https://admin:pw@grafana'),
            "profiles.prod-eu.grafana_url",
            "grafana_url",
            0,
            "credentials",
        ),
        (
            ('grafana_url = "https://grafana.example:3000/"', 'grafana_url = "grafana:3000"'),
            "profiles.prod-eu.grafana_url",
            "grafana_url",
            0,
            "not an http(s) URL",
        ),
        (
            ('grafana_datasource = "P1809F7CD0C75ACF3"', 'grafana_datasource = "a b"'),
            "profiles.prod-eu.grafana_datasource",
            "grafana_datasource",
            0,
            "not a datasource UID",
        ),
        (
            ("canary_min_requests = 250.0", "canary_min_requests = 0"),
            "profiles.prod-eu.canary_min_requests",
            "canary_min_requests",
            0,
            "positive",
        ),
        (
            ("canary_min_requests = 250.0", 'canary_min_requests = "lots"'),
            "profiles.prod-eu.canary_min_requests",
            "canary_min_requests",
            0,
            "number of requests",
        ),
        (
            (
                "per_1k_output_tokens = 0.0\nper_gpu_hour = 0.0",
                'per_1k_output_tokens = "four"\nper_gpu_hour = 0.0',
            ),
            "profiles.prod-eu.prices[1].per_1k_output_tokens",
            "four",
            0,
            "must be a number",
        ),
        (
            ("per_gpu_hour = 2.5", "per_gpu_hour = -2.5"),
            "profiles.prod-eu.prices[0]",
            "[[profiles.prod-eu.prices]]",
            0,
            "per_gpu_hour must be >= 0",
        ),
        (
            ('currency = "EUR"', 'currency = "EUR"\ndiscount = 0.5'),
            "profiles.prod-eu.prices[1].discount",
            "discount",
            0,
            "unknown key",
        ),
        (
            ('version = "v2"\ndeployment = "chat"\n', 'version = "v1"\n'),
            "profiles.prod-eu.prices",
            "[[profiles.prod-eu.prices]]",
            0,
            "version 'v1' has two prices",
        ),
        (
            ('kind = "promql"', 'kind = "table"'),
            "dashboards.prod-eu[1].kind",
            "table",
            0,
            "not one of",
        ),
        (
            ('expr = "sum', 'query = "sum'),
            "dashboards.prod-eu[1].query",
            "query",
            0,
            "unknown key",
        ),
        (
            ("row_span = 2", "row_span = 0"),
            "dashboards.prod-eu[1].row_span",
            "row_span = 0",
            0,
            "1 or more",
        ),
        (
            (
                "column = 6\nrow_span = 2\ncolumn_span = 1",
                "column = 10\nrow_span = 2\ncolumn_span = 3",
            ),
            "dashboards.prod-eu[1].column_span",
            "column_span = 3",
            0,
            "columns 10-12 do not fit the 12 columns",
        ),
        (
            ("column = 6", "column = 12"),
            "dashboards.prod-eu[1].column",
            "column = 12",
            0,
            "must be below 12",
        ),
        (
            ("column = 6", "column = 5"),
            "dashboards.prod-eu[1]",
            "[[dashboards.prod-eu]]",
            1,
            "'GPU' overlaps 'chat p95' at row 0, column 5",
        ),
        (
            ('chart = "p95_latency_s"', 'chart = "p96_latency_s"'),
            "dashboards.prod-eu[0].chart",
            "p96_latency_s",
            0,
            "not one of",
        ),
        (
            ('chart = "cost_per_hour"\n', ""),
            "dashboards.demo[0].chart",
            "[[dashboards.demo]]",
            0,
            "needs the chart",
        ),
        (
            ("row = 3", "row = true"),
            "dashboards.demo[0].row",
            "row = true",
            0,
            "whole number",
        ),
        (
            ("[[dashboards.demo]]", "[[dashboards.staging]]"),
            "dashboards.staging",
            "[[dashboards.staging]]",
            0,
            "no profile called 'staging'",
        ),
    ],
)
def test_new_keys_errors_name_file_line_and_key(
    tmp_path: Path, replace: tuple[str, str], key: str, needle: str, nth: int, message: str
) -> None:
    path = write_full_config(tmp_path, replace)
    with pytest.raises(ConfigError) as caught:
        ConfigStore(path).load()
    error = caught.value
    assert error.key == key
    assert error.line == nth_line_of(path, needle, nth)
    assert str(error).startswith(f"{path}:{error.line}: {key}: ")
    assert message in str(error)


DRIFTING = dataclasses.replace(
    PROFILE,
    drift=(
        DriftSetting("*", DriftMetric.PSI, DriftThresholds(warn=0.2, alert=0.4)),
        DriftSetting("output_tokens", DriftMetric.PSI, DriftThresholds(warn=0.05, alert=0.1)),
        DriftSetting(
            "vllm:e2e_request_latency_seconds",
            DriftMetric.WASSERSTEIN,
            DriftThresholds(warn=0.5, alert=2.0),
        ),
    ),
    drift_min_count=40.0,
)


def test_round_trip_of_drift_thresholds_and_min_count(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    settings = Settings(profiles=(DRIFTING,))
    store.save(settings)
    loaded = store.load().profile("prod-eu")
    assert loaded == DRIFTING
    assert loaded is not None and loaded.drift_min_count == 40.0
    text = (tmp_path / "config.toml").read_text()
    assert '[profiles.prod-eu.drift."vllm:e2e_request_latency_seconds".wasserstein]' in text


def test_drift_thresholds_per_signal_then_every_signal_then_defaults() -> None:
    assert DRIFTING.drift_thresholds("output_tokens", DriftMetric.PSI) == DriftThresholds(0.05, 0.1)
    assert DRIFTING.drift_thresholds("latency", DriftMetric.PSI) == DriftThresholds(0.2, 0.4)
    assert DRIFTING.drift_thresholds("output_tokens", DriftMetric.JS) is None
    assert DRIFTING.drift_thresholds(
        "vllm:e2e_request_latency_seconds", DriftMetric.WASSERSTEIN
    ) == DriftThresholds(0.5, 2.0)


def test_a_config_without_drift_keys_uses_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('schema_version = 1\n[profiles.a]\nprometheus_url = "http://x:9090"\n')
    profile = ConfigStore(path).load().profile("a")
    assert profile is not None
    assert profile.drift == () and profile.drift_min_count == 100.0
    assert profile.drift_thresholds("output_tokens", DriftMetric.PSI) is None


@pytest.mark.parametrize(
    ("replace", "key", "needle", "message"),
    [
        (
            (
                "[profiles.prod-eu.drift.output_tokens.psi]\nwarn = 0.05",
                "[profiles.prod-eu.drift.output_tokens.psi]\nwarn = 0.5",
            ),
            "profiles.prod-eu.drift.output_tokens.psi",
            "drift.output_tokens.psi]",
            "below warn",
        ),
        (
            (
                "[profiles.prod-eu.drift.output_tokens.psi]",
                "[profiles.prod-eu.drift.output_tokens.psy]",
            ),
            "profiles.prod-eu.drift.output_tokens.psy",
            "drift.output_tokens.psy]",
            "not one of",
        ),
        (
            (
                "[profiles.prod-eu.drift.output_tokens.psi]\nwarn = 0.05",
                '[profiles.prod-eu.drift.output_tokens.psi]\nwarn = "low"',
            ),
            "profiles.prod-eu.drift.output_tokens.psi.warn",
            'warn = "low"',
            "must be a number",
        ),
        (
            (
                "[profiles.prod-eu.drift.output_tokens.psi]",
                '[profiles.prod-eu.drift."output tokens".psi]',
            ),
            "profiles.prod-eu.drift.output tokens.psi",
            'drift."output tokens".psi]',
            "not a histogram name",
        ),
        (
            ("drift_min_count = 40.0", "drift_min_count = 0"),
            "profiles.prod-eu.drift_min_count",
            "drift_min_count",
            "positive number of samples",
        ),
        (
            ("drift_min_count = 40.0", 'drift_min_count = "many"'),
            "profiles.prod-eu.drift_min_count",
            "drift_min_count",
            "number of samples",
        ),
    ],
)
def test_drift_errors_name_file_line_and_key(
    tmp_path: Path, replace: tuple[str, str], key: str, needle: str, message: str
) -> None:
    path = tmp_path / "config.toml"
    text = dump_settings(Settings(profiles=(DRIFTING,)))
    assert replace[0] in text, replace[0]
    path.write_text(text.replace(*replace, 1))
    with pytest.raises(ConfigError) as caught:
        ConfigStore(path).load()
    error = caught.value
    assert error.key == key
    assert error.line == line_of(path, needle)
    assert str(error).startswith(f"{path}:{error.line}: {key}: ")
    assert message in str(error)


def test_drift_setting_set_twice_is_refused() -> None:
    twice = (
        DriftSetting("latency", DriftMetric.JS, DriftThresholds(0.1, 0.2)),
        DriftSetting("latency", DriftMetric.JS, DriftThresholds(0.2, 0.3)),
    )
    with pytest.raises(ValueError, match=r"^drift\.latency\.js: is set twice"):
        dataclasses.replace(PROFILE, drift=twice)


ENDPOINTS = dataclasses.replace(
    PROFILE,
    endpoints=(
        ModelEndpoint("chat", "https://llm.example/v1", "llama-3-8b", api_key_ref="prod-llm"),
        ModelEndpoint("doc-qa", "http://127.0.0.1:8000/v1", "qwen", suite="/suites/doc.yaml"),
    ),
)


def test_round_trip_of_model_endpoints(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.save(Settings(profiles=(ENDPOINTS,)))
    loaded = store.load().profile("prod-eu")
    assert loaded is not None and loaded.endpoints == ENDPOINTS.endpoints
    assert loaded.endpoint("doc-qa") == ENDPOINTS.endpoints[1]
    assert loaded.endpoint("nope") is None
    text = (tmp_path / "config.toml").read_text()
    assert text.count("[[profiles.prod-eu.endpoints]]") == 2
    assert 'api_key_ref = "prod-llm"' in text


@pytest.mark.parametrize(
    ("replace", "key", "needle", "nth", "message"),
    [
        (
            ('base_url = "https://llm.example/v1"', 'base_url = "https://me:pw@llm.example/v1"'),
            "profiles.prod-eu.endpoints[0].base_url",
            "me:pw",
            0,
            "must not contain credentials",
        ),
        (
            ('base_url = "http://127.0.0.1:8000/v1"', 'base_url = "ftp://x/v1"'),
            "profiles.prod-eu.endpoints[1].base_url",
            "ftp://",
            0,
            "not an http(s) URL",
        ),
        (
            ('model = "qwen"\n', ""),
            "profiles.prod-eu.endpoints[1]",
            "[[profiles.prod-eu.endpoints]]",
            1,
            "needs 'model'",
        ),
        (
            ('deployment = "doc-qa"', 'deployment = "chat"'),
            "profiles.prod-eu.endpoints[1].deployment",
            'deployment = "chat"',
            1,
            "'chat' has two endpoints",
        ),
        (
            ('api_key_ref = "prod-llm"', 'api_key_ref = "sk-1234 secret"'),
            "profiles.prod-eu.endpoints[0].api_key_ref",
            "api_key_ref",
            0,
            "letters, digits",
        ),
        (
            ('suite = "/suites/doc.yaml"', "suite = 3"),
            "profiles.prod-eu.endpoints[1].suite",
            "suite = 3",
            0,
            "must be a string",
        ),
        (
            ('model = "qwen"', 'model = "qwen"\napi_key = "sk-1"'),
            "profiles.prod-eu.endpoints[1].api_key",
            "api_key =",
            0,
            "unknown key",
        ),
    ],
)
def test_a_bad_endpoint_names_file_line_and_key(
    tmp_path: Path, replace: tuple[str, str], key: str, needle: str, nth: int, message: str
) -> None:
    path = tmp_path / "config.toml"
    text = dump_settings(Settings(profiles=(ENDPOINTS,)))
    assert replace[0] in text, replace[0]
    path.write_text(text.replace(*replace, 1))
    with pytest.raises(ConfigError) as caught:
        ConfigStore(path).load()
    assert caught.value.key == key
    assert caught.value.line == nth_line_of(path, needle, nth)
    assert message in str(caught.value)
    assert "me:pw" not in str(caught.value)
