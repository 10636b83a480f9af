"""The Grafana Explore URL: Grafana's current ``panes`` format, decoded back and compared."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from console.domain.grafana_link import GrafanaUrlError, explore_url
from console.domain.timerange import TimeRange

RANGE = TimeRange(1_700_000_000.0, 1_700_003_600.25)
EXPR = 'sum by (version) (rate(vllm:e2e_request_latency_seconds_count{deployment="chat"}[5m]))'


def decoded(url: str) -> tuple[str, dict[str, list[str]], dict[str, object]]:
    parts = urlsplit(url)
    query = parse_qs(parts.query, strict_parsing=True)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", query, json.loads(query["panes"][0])


def test_pane_holds_the_query_datasource_and_range_in_milliseconds() -> None:
    base, query, panes = decoded(
        explore_url("https://grafana.example.com", EXPR, RANGE, datasource_uid="prom-uid")
    )
    assert base == "https://grafana.example.com/explore"
    assert query["schemaVersion"] == ["1"]
    assert query["orgId"] == ["1"]
    assert panes == {
        "a": {
            "datasource": "prom-uid",
            "queries": [
                {
                    "refId": "A",
                    "expr": EXPR,
                    "datasource": {"type": "prometheus", "uid": "prom-uid"},
                }
            ],
            "range": {"from": "1700000000000", "to": "1700003600250"},
        }
    }


def test_without_a_datasource_grafana_uses_its_default() -> None:
    _, _, panes = decoded(explore_url("http://grafana:3000", "up", RANGE))
    pane = panes["a"]
    assert isinstance(pane, dict)
    assert "datasource" not in pane
    assert pane["queries"] == [{"refId": "A", "expr": "up"}]


def test_the_url_is_fully_encoded() -> None:
    url = explore_url("https://g.example.com", 'up{job="a b"} + 1', RANGE)
    query = urlsplit(url).query
    assert " " not in url and '"' not in url and "{" not in url and "+" not in query
    assert decoded(url)[2]["a"]["queries"][0]["expr"] == 'up{job="a b"} + 1'  # type: ignore[index]


def test_a_path_prefix_and_trailing_slash_are_kept_and_joined() -> None:
    base, _, _ = decoded(explore_url("https://example.com/grafana/", "up", RANGE))
    assert base == "https://example.com/grafana/explore"


def test_org_id() -> None:
    _, query, _ = decoded(explore_url("https://g.example.com", "up", RANGE, org_id=7))
    assert query["orgId"] == ["7"]


@pytest.mark.parametrize("bad", ["", "grafana.example.com", "ftp://g.example.com", "https://"])
def test_an_unusable_grafana_url_is_refused_by_name(bad: str) -> None:
    with pytest.raises(GrafanaUrlError, match="grafana_url="):
        explore_url(bad, "up", RANGE)
