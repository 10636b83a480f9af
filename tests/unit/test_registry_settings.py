"""Registry and action settings in the profile file: parsing, errors, round trip."""

from pathlib import Path

import pytest

from console.config.registry import (
    FailoverSettings,
    RegistrySettings,
    parse_registry_spec,
)
from console.config.settings import SettingsError
from console.config.store import ConfigError, dump_settings, parse_settings

PROFILE = """schema_version = 1
[profiles.prod]
prometheus_url = "http://prometheus:9090"
role = "operator"
protected = true
protected_operators_may_act = true

[profiles.prod.registry]
mlflow_url = "https://mlflow.internal"
token_ref = "mlflow-prod"
verify_timeout_s = 60

[profiles.prod.registry.deployments.support-chat]
model = "support-chat-llm"
alias = "prod"
precheck_model = "support-chat@{version}"
failover = { alias = "fallback" }

[profiles.prod.registry.deployments.support-chat.webhook]
url = "https://deployer.internal/apps/{deployment}/sync"
secret_headers = { Authorization = "deployer" }
body = { revision = "{to_version}", note = "{reason} by {actor}" }
status_url = "https://deployer.internal/apps/{deployment}/status"
"""


def test_the_registry_table_parses_and_round_trips() -> None:
    settings = parse_settings(PROFILE, Path("config.toml"))
    profile = settings.profile("prod")
    assert profile is not None and profile.protected_operators_may_act
    registry = profile.registry
    assert registry is not None
    assert (registry.mlflow_url, registry.token_ref, registry.verify_timeout_s) == (
        "https://mlflow.internal",
        "mlflow-prod",
        60.0,
    )
    assert registry.model_of("support-chat") == "support-chat-llm"
    assert registry.alias_of("support-chat") == "prod"
    assert (registry.model_of("doc-qa"), registry.alias_of("doc-qa")) == ("doc-qa", "production")
    actions = registry.deployment("support-chat")
    assert actions.failover == FailoverSettings(alias="fallback")
    assert actions.webhook is not None and actions.webhook.body_template == {
        "note": "{reason} by {actor}",
        "revision": "{to_version}",
    }
    assert parse_settings(dump_settings(settings), Path("again.toml")) == settings


@pytest.mark.parametrize(
    ("old", "new", "line", "key"),
    [
        ('alias = "prod"', "alias = 5", 15, "registry.deployments.support-chat.alias"),
        ('alias = "prod"', 'alias = "not an alias"', 15, "registry.deployments.support-chat.alias"),
        ("verify_timeout_s = 60", "verify_timeout_s = 0", 11, "registry.verify_timeout_s"),
        ("verify_timeout_s = 60", "verify_timeout = 60", 11, "registry.verify_timeout"),
        (
            "{reason} by {actor}",
            "{reason} by {user}",
            22,
            "registry.deployments.support-chat.webhook.body",
        ),
        (
            'failover = { alias = "fallback" }',
            'failover = { alias = "fallback", model = "m" }',
            17,
            "registry.deployments.support-chat.failover",
        ),
        (
            'precheck_model = "support-chat@{version}"',
            'precheck_model = "support-chat"',
            16,
            "registry.deployments.support-chat.precheck_model",
        ),
    ],
)
def test_errors_name_file_line_and_key(old: str, new: str, line: int, key: str) -> None:
    assert old in PROFILE
    with pytest.raises(ConfigError) as caught:
        parse_settings(PROFILE.replace(old, new), Path("config.toml"))
    assert caught.value.key == f"profiles.prod.{key}"
    assert str(caught.value).startswith(f"config.toml:{line}: profiles.prod.{key}")


def test_the_registry_option_takes_mlflow_urls_only() -> None:
    assert parse_registry_spec("mlflow:http://127.0.0.1:5000") == RegistrySettings(
        mlflow_url="http://127.0.0.1:5000"
    )
    with pytest.raises(SettingsError, match="is not mlflow:URL"):
        parse_registry_spec("http://127.0.0.1:5000")
    with pytest.raises(SettingsError, match="not an http"):
        parse_registry_spec("mlflow:ftp://x")
