"""The Alertmanager v2 and Prometheus alerts clients over httpx.MockTransport, and the
alert domain (matchers, fingerprints, silence drafts)."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.alertmanager import AlertmanagerClient
from console.backends.errors import BadQuery, MalformedResponse
from console.backends.prometheus import PrometheusClient
from console.backends.prometheus_alerts import PrometheusAlerts
from console.domain.alerts import (
    AlertSource,
    AlertState,
    Matcher,
    MatcherError,
    SilenceDraft,
    SilenceState,
    exact_matchers,
    expression_of,
    fingerprint,
    parse_matcher,
    severity_rank,
)

AM = "http://am.test:9093"
ALERT = {
    "labels": {"alertname": "HighLatency", "deployment": "chat", "severity": "critical"},
    "annotations": {"summary": "slow", "runbook_url": "https://rb/1"},
    "startsAt": "2026-11-27T12:00:00.123456789Z",
    "endsAt": "2026-11-27T13:04:00Z",
    "updatedAt": "2026-11-27T13:00:00Z",
    "generatorURL": "http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
    "fingerprint": "abc123",
    "receivers": [{"name": "pager"}],
    "status": {"state": "suppressed", "silencedBy": ["s-1"], "inhibitedBy": []},
}
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> AlertmanagerClient:
    http = HttpJsonClient(HttpTarget(AM, retries=0), transport=httpx.MockTransport(handler))
    return AlertmanagerClient(http)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_alerts_sends_the_filters_and_parses_every_field() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[ALERT])

    (alert,) = run(client(handler).alerts(silenced=False, filters=['severity="critical"', "a=b"]))
    params = seen[0].url.params
    assert seen[0].url.path == "/api/v2/alerts"
    assert params["active"] == "true" and params["silenced"] == "false"
    assert params.get_list("filter") == ['severity="critical"', "a=b"]
    assert alert.name == "HighLatency" and alert.severity == "critical"
    assert alert.state is AlertState.SUPPRESSED and alert.silenced_by == ("s-1",)
    assert alert.summary == "slow" and alert.runbook_url == "https://rb/1"
    assert alert.receivers == ("pager",) and alert.source is AlertSource.ALERTMANAGER
    assert alert.starts_at == pytest.approx(1795780800.123457)
    assert alert.firing_for(alert.starts_at + 90) == pytest.approx(90)
    assert alert.deployment() == "chat"
    assert expression_of(alert.generator_url) == "up == 0"


def test_a_bad_matcher_is_refused_with_alertmanagers_own_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json="bad matcher format: foo~bar")

    with pytest.raises(BadQuery) as caught:
        run(client(handler).alerts(filters=["foo~bar"]))
    assert caught.value.message.endswith("(HTTP 400): bad matcher format: foo~bar")


def test_a_malformed_alert_is_an_error_not_a_crash() -> None:
    broken = {**ALERT, "startsAt": "yesterday"}
    with pytest.raises(MalformedResponse, match="startsAt"):
        run(client(lambda r: httpx.Response(200, json=[broken])).alerts())
    with pytest.raises(MalformedResponse, match="JSON array"):
        run(client(lambda r: httpx.Response(200, json={"alerts": []})).alerts())


def test_create_expire_and_list_silences() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(200, json={"silenceID": "s-9"})
        if request.method == "DELETE":
            return httpx.Response(200)
        return httpx.Response(
            200,
            json=[
                {
                    "id": "s-9",
                    "status": {"state": "expired"},
                    "matchers": [{"name": "a", "value": "b.*", "isRegex": True, "isEqual": False}],
                    "startsAt": "2026-11-27T12:00:00Z",
                    "endsAt": "2026-11-27T13:00:00Z",
                    "createdBy": "alice",
                    "comment": "why",
                }
            ],
        )

    am = client(handler)
    draft = SilenceDraft((Matcher("deployment", "chat"),), 1795780800.0, 1795784400.0, "al", "x")
    assert run(am.create_silence(draft)) == "s-9"
    body = json.loads(seen[0].content)
    assert body == {
        "matchers": [{"name": "deployment", "value": "chat", "isRegex": False, "isEqual": True}],
        "startsAt": "2026-11-27T12:00:00.000Z",
        "endsAt": "2026-11-27T13:00:00.000Z",
        "createdBy": "al",
        "comment": "x",
    }
    run(am.expire_silence("s-9"))
    assert (seen[1].method, seen[1].url.path) == ("DELETE", "/api/v2/silence/s-9")
    (silence,) = run(am.silences())
    assert silence.state is SilenceState.EXPIRED
    assert str(silence.matchers[0]) == 'a!~"b.*"'


def test_an_invalid_silence_shows_alertmanagers_text() -> None:
    text = 'silence invalid: invalid label matcher 0: invalid regular expression "(b"'
    am = client(lambda r: httpx.Response(400, json=text))
    draft = SilenceDraft((Matcher("a", "b"),), 1.0, 2.0, "al", "x")
    with pytest.raises(BadQuery, match="invalid regular expression"):
        run(am.create_silence(draft))


def test_status() -> None:
    answer = {
        "cluster": {"status": "ready", "peers": [{}, {}]},
        "versionInfo": {"version": "0.25.0"},
        "uptime": "2026-11-27T10:00:00Z",
    }
    status = run(client(lambda r: httpx.Response(200, json=answer)).status())
    assert (status.version, status.cluster_status, status.peers) == ("0.25.0", "ready", 2)


def prometheus(handler: Handler) -> PrometheusAlerts:
    http = HttpJsonClient(
        HttpTarget("http://prom.test", retries=0), transport=httpx.MockTransport(handler)
    )
    return PrometheusAlerts(PrometheusClient(http))


def test_prometheus_alerts_get_alertmanagers_fingerprint() -> None:
    labels = {"alertname": "X", "deployment": "chat"}
    answer = {
        "status": "success",
        "data": {
            "alerts": [
                {
                    "labels": labels,
                    "annotations": {},
                    "state": "pending",
                    "activeAt": "2026-11-27T12:00:00Z",
                    "value": "1e+00",
                }
            ]
        },
    }
    (alert,) = run(prometheus(lambda r: httpx.Response(200, json=answer)).alerts())
    assert alert.state is AlertState.PENDING and alert.source is AlertSource.PROMETHEUS
    assert alert.fingerprint == fingerprint(labels)


def test_prometheus_rules_keep_alerting_rules_only() -> None:
    answer = {
        "status": "success",
        "data": {
            "groups": [
                {
                    "name": "g",
                    "rules": [
                        {"type": "recording", "name": "r", "query": "x"},
                        {
                            "type": "alerting",
                            "name": "A",
                            "query": "up == 0",
                            "duration": 60,
                            "state": "inactive",
                            "health": "err",
                            "lastError": "boom",
                            "alerts": [],
                        },
                    ],
                }
            ]
        },
    }
    (rule,) = run(prometheus(lambda r: httpx.Response(200, json=answer)).rules())
    assert (rule.group, rule.name, rule.duration_s, rule.last_error) == ("g", "A", 60.0, "boom")


def test_alert_history_splits_alerts_series_into_spans() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        step = float(form["step"])
        start, end = float(form["start"]), float(form["end"])
        grid = [start + i * step for i in range(int((end - start) / step) + 1)]
        first = [[t, "1"] for t in grid[2:5]]
        second = [[t, "1"] for t in grid[8:]]
        metric = {"__name__": "ALERTS", "alertname": "A", "alertstate": "firing"}
        data = {"resultType": "matrix", "result": [{"metric": metric, "values": first + second}]}
        return httpx.Response(200, json={"status": "success", "data": data})

    spans = run(prometheus(handler).alert_spans(1_000_000.0, 1_020_000.0))
    assert [s.labels for s in spans] == [{"alertname": "A"}] * 2
    assert spans[0].ended_at is not None and spans[0].ended_at > spans[0].started_at
    assert spans[1].ended_at is None, "a run reaching the end is still firing"


def test_matchers_parse_match_and_print() -> None:
    assert parse_matcher('severity="critical"') == Matcher("severity", "critical")
    assert parse_matcher("a!=b") == Matcher("a", "b", is_equal=False)
    regex = parse_matcher('alertname=~"High.*"')
    assert regex.matches({"alertname": "HighLatency"})
    assert not regex.matches({"alertname": "XHigh"}), "regexes are anchored"
    assert parse_matcher("team!~ml|ops").matches({"team": "web"})
    assert str(Matcher("a", 'say "hi"')) == 'a="say \\"hi\\""'
    with pytest.raises(MatcherError):
        parse_matcher("foo~bar")
    with pytest.raises(MatcherError, match="regular expression"):
        Matcher("a", "(b", is_regex=True)


def test_fingerprint_is_alertmanagers_fnv1a() -> None:
    assert fingerprint({}) == "cbf29ce484222325"  # the FNV-1a 64 offset basis
    assert fingerprint({"a": "b", "c": "d"}) == fingerprint({"c": "d", "a": "b"})
    assert fingerprint({"a": "bc"}) != fingerprint({"ab": "c"})


def test_silence_drafts_refuse_what_alertmanager_refuses() -> None:
    assert exact_matchers({"b": "2", "a": "1", "empty": ""}) == (
        Matcher("a", "1"),
        Matcher("b", "2"),
    )
    with pytest.raises(MatcherError, match="empty label set"):
        SilenceDraft((Matcher("a", ".*", is_regex=True),), 1.0, 2.0, "al", "x")
    with pytest.raises(ValueError, match="end after"):
        SilenceDraft((Matcher("a", "b"),), 2.0, 1.0, "al", "x")
    with pytest.raises(ValueError, match="comment"):
        SilenceDraft((Matcher("a", "b"),), 1.0, 2.0, "al", " ")


def test_severity_ranks() -> None:
    assert severity_rank("critical") > severity_rank("warning") > severity_rank("info")
    assert severity_rank(None) == severity_rank("warning") == severity_rank("whatever")
