"""Profile settings of the log explorer: Loki, tenant, field map, redaction patterns, review."""

from pathlib import Path

import pytest

from console.config.settings import Profile, SettingsError
from console.config.store import ConfigError, dump_settings, parse_settings

BASE = """schema_version = 1
[profiles.prod]
prometheus_url = "http://prom:9090"
loki_url = "http://loki:3100"
loki_org_id = "team-a"
review_threshold = 0.35
[profiles.prod.log_fields]
prompt = "request.input.text"
[profiles.prod.redaction_patterns]
employee_id = 'EMP-\\d{6}'
"""


def test_log_settings_round_trip() -> None:
    settings = parse_settings(BASE, Path("config.toml"))
    profile = settings.profiles[0]
    assert (profile.loki_url, profile.loki_org_id, profile.review_threshold) == (
        "http://loki:3100",
        "team-a",
        0.35,
    )
    assert profile.log_fields == (("prompt", "request.input.text"),)
    assert profile.redaction_patterns == (("employee_id", r"EMP-\d{6}"),)
    assert parse_settings(dump_settings(settings), Path("config.toml")) == settings


@pytest.mark.parametrize(
    ("old", "new", "key", "line"),
    [
        ("'EMP-\\d{6}'", "'EMP-(\\d'", "profiles.prod.redaction_patterns.employee_id", 10),
        ("employee_id =", "email =", "profiles.prod.redaction_patterns.email", 10),
        ('prompt = "request', 'promtp = "request', "profiles.prod.log_fields.promtp", 8),
        ("0.35", "1.5", "profiles.prod.review_threshold", 6),
        ("0.35", '"low"', "profiles.prod.review_threshold", 6),
        ('"http://loki:3100"', '"loki:3100"', "profiles.prod.loki_url", 4),
        ('"team-a"', '"a|b"', "profiles.prod.loki_org_id", 5),
    ],
)
def test_bad_log_settings_name_the_key_and_line(old: str, new: str, key: str, line: int) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(BASE.replace(old, new), Path("config.toml"))
    assert caught.value.key == key
    assert caught.value.line == line


def test_profile_validation_names_the_pattern() -> None:
    with pytest.raises(SettingsError) as caught:
        Profile(name="p", prometheus_url="http://p:9090", redaction_patterns=(("ticket", "["),))
    assert caught.value.key == "redaction_patterns.ticket"
