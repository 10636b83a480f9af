"""Settings: the new profile fields and the dashboards' grid rules, without any file."""

import math

import pytest

from console.config.settings import (
    DEMO_PROFILE_NAME,
    PanelKind,
    PinnedPanel,
    Profile,
    Settings,
    SettingsError,
)
from console.domain.cost import VersionPrice

PROD = Profile("prod", "https://prom:9090")
QUERY = PinnedPanel(PanelKind.PROMQL, "up", expr="up", column_span=4)


@pytest.mark.parametrize(
    ("kwargs", "key", "message"),
    [
        ({"grafana_url": "grafana.example"}, "grafana_url", "not an http(s) URL"),
        ({"grafana_url": "https://u:p@grafana"}, "grafana_url", "credentials"),
        ({"grafana_datasource": "uid with spaces"}, "grafana_datasource", "UID"),
        ({"grafana_datasource": "x" * 41}, "grafana_datasource", "UID"),
        ({"canary_min_requests": 0.0}, "canary_min_requests", "positive"),
        ({"canary_min_requests": math.nan}, "canary_min_requests", "positive"),
        (
            {"prices": (VersionPrice("v1", "chat"), VersionPrice("v1", "chat", gpus=2.0))},
            "prices",
            "version 'v1' in deployment 'chat' has two prices",
        ),
    ],
)
def test_new_profile_fields_are_validated(
    kwargs: dict[str, object], key: str, message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        Profile("p", "http://127.0.0.1:9090", **kwargs)  # type: ignore[arg-type]
    assert caught.value.key == key
    assert message in caught.value.message


def test_same_version_priced_per_deployment_and_globally_is_allowed() -> None:
    prices = (VersionPrice("v1"), VersionPrice("v1", "chat"), VersionPrice("v1", "embed"))
    assert Profile("p", "http://x:9090", prices=prices).prices == prices


@pytest.mark.parametrize(
    ("kwargs", "key", "message"),
    [
        ({"kind": "table"}, "kind", "not one of signal, promql, chart"),
        ({"title": " "}, "title", "empty"),
        ({"kind": PanelKind.PROMQL, "expr": None}, "expr", "needs the query"),
        ({"kind": PanelKind.SIGNAL, "deployment": None}, "deployment", "needs its deployment"),
        ({"kind": PanelKind.CHART, "chart": None}, "chart", "needs the chart"),
        ({"kind": PanelKind.SIGNAL, "chart": "cost_per_hour"}, "chart", "not one of"),
        ({"row": -1}, "row", "0 or more"),
        ({"row_span": 0}, "row_span", "1 or more"),
        ({"column_span": 0}, "column_span", "1 or more"),
        ({"column": 12}, "column", "below 12"),
        ({"row": 199, "row_span": 10**9}, "row_span", "do not fit the 200 rows"),
        ({"row": 200}, "row", "do not fit the 200 rows"),
        ({"column": 9, "column_span": 4}, "column_span", "columns 9-12 do not fit"),
    ],
)
def test_pinned_panel_validation_names_the_field(
    kwargs: dict[str, object], key: str, message: str
) -> None:
    values: dict[str, object] = {
        "kind": PanelKind.SIGNAL,
        "title": "p95",
        "deployment": "chat",
        "chart": "p95_latency_s",
        "expr": "up",
    }
    values.update(kwargs)
    with pytest.raises(SettingsError) as caught:
        PinnedPanel(**values)  # type: ignore[arg-type]
    assert caught.value.key == key
    assert message in caught.value.message


def test_a_kind_given_as_text_becomes_a_panel_kind() -> None:
    panel = PinnedPanel("promql", "up", expr="up")  # type: ignore[arg-type]
    assert panel.kind is PanelKind.PROMQL
    assert panel.cells() == {(0, 0)}


def test_dashboards_per_profile_and_for_the_demo() -> None:
    settings = Settings(profiles=(PROD,)).with_dashboard("prod", (QUERY,))
    settings = settings.with_dashboard(DEMO_PROFILE_NAME, (QUERY,))
    assert settings.dashboard("prod") == (QUERY,) == settings.dashboard(DEMO_PROFILE_NAME)
    assert settings.dashboard("other") == ()
    edited = settings.with_profile(Profile("prod", "https://prom2:9090"))
    assert edited.dashboard("prod") == (QUERY,), "editing a profile keeps its dashboard"
    assert settings.without_profile("prod").dashboards == {DEMO_PROFILE_NAME: (QUERY,)}
    assert settings.with_dashboard("prod", ()).dashboards == {DEMO_PROFILE_NAME: (QUERY,)}


def test_overlapping_panels_are_rejected_with_both_titles() -> None:
    wide = PinnedPanel(PanelKind.PROMQL, "wide", expr="x", column=2, column_span=3)
    with pytest.raises(SettingsError) as caught:
        Settings().with_dashboard(DEMO_PROFILE_NAME, (QUERY, wide))
    assert caught.value.key == "dashboards.demo[1]"
    assert caught.value.message == "'wide' overlaps 'up' at row 0, column 2"


def test_a_dashboard_needs_its_profile() -> None:
    with pytest.raises(SettingsError, match=r"^dashboards\.gone: there is no profile called"):
        Settings().with_dashboard("gone", (QUERY,))
