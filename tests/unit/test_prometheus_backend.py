"""PrometheusClient (envelopes, parsing, endpoints) and PrometheusBackend (signals to series).

A MockTransport plays Prometheus: queries are answered by the first registered fragment
they contain, so each test states exactly which rows the server returns.
"""

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import numpy as np
import pytest

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.errors import BackendError, BadQuery, MalformedResponse, ServerError
from console.backends.prometheus import PrometheusBackend, PrometheusClient
from console.domain.fleet import DeploymentInfo
from console.domain.series import Series, SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import RangePlan, TimeRange, plan_range
from tests.support.prometheus_backend import labelled_backend

BASE = "http://prom.test"
INFO = "max by (deployment, version) (model_info)"
VLLM_RATE = "vllm:e2e_request_latency_seconds_count"
TGI_RATE = "tgi_request_count"
PROMETHEUS_BUILDINFO = {
    "version": "2.42.0+ds",
    "revision": "2.42.0+ds-5+deb12u1",
    "branch": "debian/sid",
    "buildUser": "team+pkg-go@tracker.debian.org",
    "buildDate": "20260604-00:58:54",
    "goVersion": "go1.19.8",
}


def reply(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode())


def ok(data: Any) -> dict[str, Any]:
    return {"status": "success", "data": data}


def vector(*rows: tuple[dict[str, str], str]) -> dict[str, Any]:
    return ok(
        {"resultType": "vector", "result": [{"metric": m, "value": [1.0, v]} for m, v in rows]}
    )


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> dict[str, Any]:
    result = [{"metric": m, "values": [[t, v] for t, v in values]} for m, values in series]
    return ok({"resultType": "matrix", "result": result})


class FakePrometheus:
    """Answers by path, and queries by the first registered fragment the query contains."""

    def __init__(self) -> None:
        self.metric_names: list[str] = ["vllm:e2e_request_latency_seconds_count", "up"]
        self.routes: dict[str, Any] = {}
        self.answers: list[tuple[str, int, Any]] = []
        self.requests: list[httpx.Request] = []

    def on(self, fragment: str, body: Any, status: int = 200) -> None:
        self.answers.append((fragment, status, body))

    def queries(self) -> list[str]:
        return [form["query"] for form in self.forms()]

    def forms(self) -> list[dict[str, str]]:
        return [
            {k: v[0] for k, v in parse_qs(r.content.decode()).items()}
            for r in self.requests
            if r.url.path in ("/api/v1/query", "/api/v1/query_range")
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/v1/label/__name__/values":
            return reply(200, ok(self.metric_names))
        if path in self.routes:
            return reply(200, self.routes[path])
        if path in ("/api/v1/query", "/api/v1/query_range"):
            query = parse_qs(request.content.decode())["query"][0]
            for fragment, status, body in self.answers:
                if fragment in query:
                    return reply(status, body)
            empty = "vector" if path.endswith("query") else "matrix"
            return reply(200, ok({"resultType": empty, "result": []}))
        return httpx.Response(404, text="404 page not found")


def http_client(server: FakePrometheus) -> HttpJsonClient:
    async def no_sleep(seconds: float) -> None:
        return None

    return HttpJsonClient(HttpTarget(BASE), transport=httpx.MockTransport(server), sleep=no_sleep)


def client(server: FakePrometheus) -> PrometheusClient:
    return PrometheusClient(http_client(server))


def backend(
    server: FakePrometheus,
    *,
    preset: str | None = "vllm",
    overrides: dict[str, str] | None = None,
    clock: Callable[[], float] | None = None,
) -> PrometheusBackend:
    extra = {"clock": clock} if clock else {}
    return labelled_backend(
        http_client(server),
        name="prod",
        preset=preset,
        overrides=overrides,
        scrape_interval_s=15.0,
        **extra,
    )


def run(awaitable: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await awaitable

    return asyncio.run(main())


def fails(awaitable: Awaitable[Any]) -> BackendError:
    with pytest.raises(BackendError) as info:
        run(awaitable)
    return info.value


# ---- PrometheusClient: queries ---------------------------------------------------


def test_query_posts_a_form_and_parses_special_values() -> None:
    server = FakePrometheus()
    server.on(
        "up",
        vector(({"job": "a"}, "1.5"), ({"job": "b"}, "NaN"), ({"job": "c"}, "+Inf"), ({}, "-Inf")),
    )
    result = run(client(server).query("up", at=1700000000.25))
    assert server.requests[0].method == "POST"
    assert server.forms() == [{"query": "up", "time": "1700000000.25"}]
    rows = list(result.rows())
    assert [labels for labels, _ in rows] == [{"job": "a"}, {"job": "b"}, {"job": "c"}, {}]
    assert result.values.dtype == np.float64
    assert rows[0][1] == 1.5
    assert math.isnan(rows[1][1])
    assert rows[2][1] == math.inf and rows[3][1] == -math.inf


def test_scalar_result_becomes_one_unlabelled_row() -> None:
    server = FakePrometheus()
    server.on("1+1", ok({"resultType": "scalar", "result": [1.0, "2"]}))
    assert list(run(client(server).query("1+1")).rows()) == [({}, 2.0)]


def test_matrix_from_an_instant_query_is_a_bad_query() -> None:
    server = FakePrometheus()
    server.on("up[5m]", matrix(({}, [(1.0, "1")])))
    error = fails(client(server).query("up[5m]"))
    assert isinstance(error, BadQuery)
    assert "matrix" in str(error)


def test_query_range_sends_the_aligned_plan() -> None:
    server = FakePrometheus()
    server.on("up", matrix(({"job": "a"}, [(1200.0, "1"), (1230.0, "NaN")])))
    plan = plan_range(TimeRange(1207.0, 4803.0), width_px=120, scrape_interval_s=15.0)
    series = run(client(server).query_range("up", plan))
    assert plan.step == 30 and plan.start == 1200 and plan.end == 4830
    assert server.forms() == [{"query": "up", "start": "1200", "end": "4830", "step": "30"}]
    assert series[0].labels == {"job": "a"}
    assert series[0].timestamps.tolist() == [1200.0, 1230.0]
    assert series[0].values[0] == 1.0 and math.isnan(series[0].values[1])


def test_sub_second_steps_are_sent_to_the_millisecond() -> None:
    server = FakePrometheus()
    run(client(server).query_range("up", RangePlan(10.5, 12.0, 0.25)))
    assert server.forms()[0] | {"query": ""} == {
        "query": "",
        "start": "10.5",
        "end": "12",
        "step": "0.25",
    }


# ---- PrometheusClient: metadata endpoints ----------------------------------------


def test_series_labels_and_values_use_get_with_matchers() -> None:
    server = FakePrometheus()
    server.routes = {
        "/api/v1/series": ok([{"__name__": "up", "job": "a"}]),
        "/api/v1/labels": ok(["__name__", "job"]),
        "/api/v1/label/job/values": ok(["a", "b"]),
    }
    prom = client(server)
    assert run(prom.series(['up{job="a"}', "model_info"], start=10, end=20)) == [
        {"__name__": "up", "job": "a"}
    ]
    assert run(prom.labels(["up"])) == ["__name__", "job"]
    assert run(prom.label_values("job")) == ["a", "b"]
    first = server.requests[0]
    assert first.method == "GET"
    assert first.url.params.get_list("match[]") == ['up{job="a"}', "model_info"]
    assert first.url.params["start"] == "10" and first.url.params["end"] == "20"
    assert all(r.method == "GET" for r in server.requests)


def test_label_name_is_escaped_in_the_path() -> None:
    server = FakePrometheus()
    server.routes = {"/api/v1/label/a/b/values": ok([])}
    run(client(server).label_values("a/b"))
    assert server.requests[0].url.raw_path == b"/api/v1/label/a%2Fb/values"


def test_metadata() -> None:
    server = FakePrometheus()
    entry = {"type": "counter", "help": "Requests.", "unit": ""}
    server.routes = {"/api/v1/metadata": ok({"tgi_request_count": [entry]})}
    metadata = run(client(server).metadata("tgi_request_count"))
    assert metadata["tgi_request_count"][0].type == "counter"
    assert metadata["tgi_request_count"][0].help == "Requests."
    assert server.requests[0].url.params["metric"] == "tgi_request_count"


# ---- PrometheusClient: build info ------------------------------------------------


def test_build_info_of_prometheus() -> None:
    server = FakePrometheus()
    server.routes = {"/api/v1/status/buildinfo": ok(PROMETHEUS_BUILDINFO)}
    info = run(client(server).build_info())
    assert (info.product, info.version, info.revision) == (
        "Prometheus",
        "2.42.0+ds",
        "2.42.0+ds-5+deb12u1",
    )


@pytest.mark.parametrize(
    ("buildinfo", "version"),
    [
        ({}, "(version not reported)"),
        ({"version": "2.24.0"}, "(speaks the Prometheus API 2.24.0)"),
    ],
)
def test_build_info_of_victoria_metrics(buildinfo: dict[str, str], version: str) -> None:
    """VictoriaMetrics 1.79 (Debian) answers {}; newer releases a fixed "2.24.0"."""
    server = FakePrometheus()
    top_queries = {"topN": "20", "topByCount": [], "topByAvgDuration": []}
    server.routes = {
        "/api/v1/status/buildinfo": ok(buildinfo),
        "/api/v1/status/top_queries": top_queries,
    }
    info = run(client(server).build_info())
    assert (info.product, info.version) == ("VictoriaMetrics", version)


def test_build_info_of_mimir_and_of_an_unknown_compatible_api() -> None:
    server = FakePrometheus()
    server.routes = {
        "/api/v1/status/buildinfo": ok({"application": "Grafana Mimir", "version": "2.14.0"})
    }
    assert str(run(client(server).build_info())) == "Grafana Mimir 2.14.0"
    server.routes = {"/api/v1/status/buildinfo": ok({"version": "1.0"})}
    info = run(client(server).build_info())
    assert (info.product, info.version) == ("Prometheus-compatible API", "1.0")


# ---- PrometheusClient: envelopes and malformed shapes -----------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "expected a JSON object, got list"),
        (None, "expected a JSON object, got null"),
        ({"data": {}}, "'status' is None"),
        ({"status": "success"}, "no 'data'"),
        (ok([]), "'data' is not an object"),
        (ok({"resultType": "histogram", "result": []}), "unknown resultType 'histogram'"),
        (ok({"resultType": "vector"}), "no 'result'"),
        (ok({"resultType": "vector", "result": {}}), "'result' is not a list"),
        (ok({"resultType": "vector", "result": [1]}), "result[0] is not an object"),
        (ok({"resultType": "vector", "result": [{"metric": {}}]}), "with a 'value'"),
        (
            ok({"resultType": "vector", "result": [{"metric": {"a": 1}, "value": [1, "1"]}]}),
            "result[0].metric is not an object of label names to strings",
        ),
        (ok({"resultType": "vector", "result": [{"value": [1, "x"]}]}), "not [timestamp"),
        (ok({"resultType": "vector", "result": [{"value": [1]}]}), "not [timestamp"),
        (ok({"resultType": "vector", "result": [{"value": [1, "2", 3]}]}), "not [timestamp"),
        (ok({"resultType": "vector", "result": [{"value": [1, None]}]}), "not [timestamp"),
        (ok({"resultType": "vector", "result": [{"value": ["NaN", "1"]}]}), "not a finite"),
        (ok({"resultType": "vector", "result": [{"value": 5}]}), "not [timestamp"),
    ],
)
def test_malformed_query_answers_are_named(body: Any, message: str) -> None:
    server = FakePrometheus()
    server.on("up", body)
    error = fails(client(server).query("up"))
    assert isinstance(error, MalformedResponse)
    assert message in str(error)
    assert f"{BASE}/api/v1/query" in str(error)


@pytest.mark.parametrize(
    "body",
    [
        ok({"resultType": "vector", "result": []}),
        ok({"resultType": "matrix", "result": [{"metric": {}, "values": "x"}]}),
        ok({"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"], [2]]}]}),
        ok({"resultType": "matrix", "result": [{"metric": [], "values": []}]}),
    ],
)
def test_malformed_range_answers(body: Any) -> None:
    server = FakePrometheus()
    server.on("up", body)
    assert isinstance(
        fails(client(server).query_range("up", RangePlan(0, 60, 15))), MalformedResponse
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/labels", ok([1, 2])),
        ("/api/v1/labels", ok("job")),
        ("/api/v1/series", ok({})),
        ("/api/v1/series", ok([{"job": 1}])),
        ("/api/v1/metadata", ok([])),
        ("/api/v1/metadata", ok({"up": "counter"})),
        ("/api/v1/status/buildinfo", ok("2.42")),
    ],
)
def test_malformed_metadata_answers(path: str, body: Any) -> None:
    server = FakePrometheus()
    server.routes = {path: body}
    prom = client(server)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "/api/v1/labels": prom.labels,
        "/api/v1/series": lambda: prom.series(["up"]),
        "/api/v1/metadata": prom.metadata,
        "/api/v1/status/buildinfo": prom.build_info,
    }
    assert isinstance(fails(calls[path]()), MalformedResponse)


def test_error_envelope_on_200_keeps_prometheus_text() -> None:
    server = FakePrometheus()
    text = 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis'
    server.on("sum(", {"status": "error", "errorType": "bad_data", "error": text})
    server.on("slow", {"status": "error", "errorType": "timeout", "error": "query timed out"})
    error = fails(client(server).query("sum("))
    assert isinstance(error, BadQuery)
    assert str(error).endswith(text)
    slow = fails(client(server).query("slow"))
    assert isinstance(slow, ServerError)
    assert "(timeout): query timed out" in str(slow)


def test_http_400_error_reaches_the_caller_verbatim() -> None:
    server = FakePrometheus()
    text = "1:5: parse error: unclosed left parenthesis"
    server.on("sum(", {"status": "error", "errorType": "bad_data", "error": text}, status=400)
    error = fails(client(server).query("sum("))
    assert isinstance(error, BadQuery)
    assert text in str(error)


# ---- PrometheusBackend: engines --------------------------------------------------


def test_configured_preset_needs_no_request() -> None:
    server = FakePrometheus()
    choice = run(backend(server, preset="triton").engines())
    assert choice.presets == ("triton",)
    assert choice.reason == "preset triton, set in the profile"
    assert server.requests == []


def test_detection_is_cached_for_ten_minutes() -> None:
    server = FakePrometheus()
    server.metric_names = ["tgi_request_count", "tgi_request_failure", "vllm:x"]
    now = [0.0]
    prom = backend(server, preset=None, clock=lambda: now[0])

    async def scenario() -> list[tuple[str, ...]]:
        seen = [(await prom.engines()).presets]
        now[0] = 599.0
        server.metric_names = ["vllm:x"]
        seen.append((await prom.engines()).presets)
        now[0] = 600.0
        seen.append((await prom.engines()).presets)
        return seen

    assert run(scenario()) == [("tgi", "vllm"), ("tgi", "vllm"), ("vllm",)]
    paths = [r.url.path for r in server.requests]
    assert paths == ["/api/v1/label/__name__/values"] * 2


def test_detection_failure_is_not_cached() -> None:
    server = FakePrometheus()
    server.routes = {}
    prom = backend(server, preset=None)
    original = server.metric_names
    server.metric_names = [1, 2]  # type: ignore[list-item]
    assert isinstance(fails(prom.engines()), MalformedResponse)
    server.metric_names = original
    assert run(prom.engines()).presets == ("vllm",)


def test_unknown_preset_and_bad_override_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown engine preset 'sglang'"):
        backend(FakePrometheus(), preset="sglang")
    with pytest.raises(ValueError, match="'p99' is not a signal"):
        backend(FakePrometheus(), overrides={"p99": "x"})


# ---- PrometheusBackend: inventory ------------------------------------------------


def test_inventory_joins_info_metric_and_request_rates() -> None:
    server = FakePrometheus()
    server.on(
        INFO,
        vector(
            ({"deployment": "chat", "version": "v2"}, "1"),
            ({"deployment": "chat", "version": "v1"}, "1"),
            ({"deployment": "chat", "version": "v0"}, "0"),
            ({"deployment": "idle", "version": "v7"}, "1"),
        ),
    )
    server.on(
        VLLM_RATE,
        vector(
            ({"deployment": "chat", "model_name": "llama-3-8b"}, "5"),
            ({"deployment": "search", "model_name": "mistral-7b"}, "1"),
            ({"model_name": "bare-model"}, "2"),
        ),
    )
    inventory = run(backend(server).inventory())
    assert inventory == [
        DeploymentInfo("bare-model", "vllm", ("bare-model",)),
        DeploymentInfo("chat", "vllm", ("v1", "v2")),
        DeploymentInfo("idle", "vllm", ("v7",)),
        DeploymentInfo("search", "vllm", ("mistral-7b",)),
    ]
    rate_query = next(q for q in server.queries() if VLLM_RATE in q)
    assert rate_query == f"sum by (deployment, model_name, version) (rate({VLLM_RATE}[300s]))"


def test_inventory_names_each_engine_and_unknown_for_info_only_deployments() -> None:
    server = FakePrometheus()
    server.metric_names = ["vllm:a", "vllm:b", "tgi_request_count"]
    server.on(INFO, vector(({"deployment": "lonely", "version": "v1"}, "1")))
    server.on(VLLM_RATE, vector(({"deployment": "chat", "model_name": "m"}, "1")))
    server.on(TGI_RATE, vector(({"deployment": "qa", "model_id": "bigcode"}, "1")))
    inventory = run(backend(server, preset=None).inventory())
    assert [(i.deployment, i.engine) for i in inventory] == [
        ("chat", "vllm"),
        ("lonely", "unknown"),
        ("qa", "tgi"),
    ]


def test_inventory_uses_tritons_own_version_label() -> None:
    server = FakePrometheus()
    server.on(
        "nv_inference_request_success",
        vector(
            ({"model": "resnet", "version": "3"}, "1"),
            ({"model": "resnet", "version": "4"}, "1"),
        ),
    )
    inventory = run(backend(server, preset="triton").inventory())
    assert inventory == [DeploymentInfo("resnet", "triton", ("3", "4"))]


# ---- PrometheusBackend: instant --------------------------------------------------


def test_instant_renders_the_preset_and_keys_by_deployment() -> None:
    server = FakePrometheus()
    server.on(VLLM_RATE, vector(({"deployment": "chat", "model_name": "m"}, "4.5")))
    values = run(backend(server).instant(Signal.REQUEST_RATE, 120.0))
    assert values == {SeriesKey("chat"): 4.5}
    assert server.queries() == [f"sum by (deployment, model_name) (rate({VLLM_RATE}[120s]))"]


def test_signal_the_engine_does_not_export_is_empty_without_a_query() -> None:
    server = FakePrometheus()
    assert run(backend(server, preset="tgi").instant(Signal.P95_TTFT, 300)) == {}
    assert run(backend(server, preset="llamacpp").instant(Signal.ERROR_RATIO, 300)) == {}
    assert server.requests == []


def test_rows_of_one_key_add_up_for_additive_signals() -> None:
    server = FakePrometheus()
    server.on(
        VLLM_RATE,
        vector(
            ({"deployment": "chat", "model_name": "a"}, "3"),
            ({"deployment": "chat", "model_name": "b"}, "2"),
            ({"deployment": "chat", "model_name": "c"}, "NaN"),
        ),
    )
    assert run(backend(server).instant(Signal.REQUEST_RATE, 300)) == {SeriesKey("chat"): 5.0}


def test_rows_of_one_key_take_the_worst_for_other_signals() -> None:
    server = FakePrometheus()
    server.on(
        "vllm:e2e_request_latency_seconds_bucket",
        vector(
            ({"deployment": "chat", "model_name": "a"}, "0.8"),
            ({"deployment": "chat", "model_name": "b"}, "2.5"),
            ({"deployment": "chat", "model_name": "c"}, "NaN"),
            ({"deployment": "idle", "model_name": "z"}, "NaN"),
        ),
    )
    values = run(backend(server).instant(Signal.P95_LATENCY, 300))
    assert values[SeriesKey("chat")] == 2.5
    idle = values[SeriesKey("idle")]
    assert idle is not None and math.isnan(idle)


def test_two_engines_are_queried_and_merged() -> None:
    server = FakePrometheus()
    server.metric_names = ["vllm:a", "tgi_request_count"]
    server.on(VLLM_RATE, vector(({"deployment": "chat", "model_name": "m"}, "1")))
    server.on(TGI_RATE, vector(({"deployment": "chat", "model_id": "x"}, "2")))
    values = run(backend(server, preset=None).instant(Signal.REQUEST_RATE, 300))
    assert values == {SeriesKey("chat"): 3.0}
    queries = server.queries()
    assert f"sum by (deployment, model_id) (rate({TGI_RATE}[300s]))" in queries


def test_a_failing_query_fails_only_its_own_call() -> None:
    server = FakePrometheus()
    server.metric_names = ["vllm:a", "tgi_request_count"]
    server.on(VLLM_RATE, vector(({"deployment": "chat", "model_name": "m"}, "1")))
    server.on(TGI_RATE, {"status": "error", "errorType": "bad_data", "error": "boom"}, 400)
    server.on("tgi_request_generated_tokens_sum", vector(({"deployment": "qa"}, "7")))
    prom = backend(server, preset=None)

    async def scenario() -> tuple[BaseException | dict[SeriesKey, float | None], ...]:
        results = await asyncio.gather(
            prom.instant(Signal.REQUEST_RATE, 300),
            prom.instant(Signal.OUTPUT_TOKENS_PER_S, 300),
            return_exceptions=True,
        )
        return tuple(results)

    failed, tokens = run(scenario())
    assert isinstance(failed, BadQuery) and "boom" in str(failed)
    assert tokens == {SeriesKey("qa"): 7.0}


def test_override_replaces_the_preset_template() -> None:
    server = FakePrometheus()
    override = "sum by ($by) (rate(my_requests_total[$window]))"
    server.on("my_requests_total", vector(({"deployment": "chat"}, "9")))
    prom = backend(server, overrides={"request_rate": override})
    assert run(prom.instant(Signal.REQUEST_RATE, 60)) == {SeriesKey("chat"): 9.0}
    assert server.queries() == ["sum by (deployment, model_name) (rate(my_requests_total[60s]))"]


def test_override_works_without_any_detected_engine() -> None:
    server = FakePrometheus()
    server.metric_names = ["up"]
    server.on("my_latency", vector(({"deployment": "chat"}, "0.3")))
    prom = backend(server, preset=None, overrides={"p95_latency_s": "max by ($by) (my_latency)"})
    assert run(prom.instant(Signal.P95_LATENCY, 300)) == {SeriesKey("chat"): 0.3}
    assert "max by (deployment) (my_latency)" in server.queries()
    assert run(prom.instant(Signal.REQUEST_RATE, 300)) == {}


# ---- PrometheusBackend: versions -------------------------------------------------


def test_by_version_adds_the_version_labels_to_the_grouping() -> None:
    server = FakePrometheus()
    run(backend(server, preset="triton").instant(Signal.P95_LATENCY, 300, by_version=True))
    expected = (
        'max by (deployment, model, version) (nv_inference_request_summary_us{quantile="0.95"})'
    )
    assert f"{expected} / 1e6" in server.queries()


def test_version_resolution_rules() -> None:
    server = FakePrometheus()
    server.on(
        INFO,
        vector(
            ({"deployment": "single", "version": "v5"}, "1"),
            ({"deployment": "canary", "version": "v1"}, "1"),
            ({"deployment": "canary", "version": "v2"}, "1"),
        ),
    )
    server.on(
        VLLM_RATE,
        vector(
            ({"deployment": "labelled", "model_name": "m", "version": "v9"}, "1"),
            ({"deployment": "single", "model_name": "llama"}, "2"),
            ({"deployment": "canary", "model_name": "llama-v1"}, "3"),
            ({"deployment": "canary", "model_name": "llama-v2"}, "4"),
            ({"deployment": "no-info", "model_name": "qwen"}, "5"),
        ),
    )
    values = run(backend(server).instant(Signal.REQUEST_RATE, 300, by_version=True))
    assert values == {
        SeriesKey("labelled", "v9"): 1.0,
        SeriesKey("single", "v5"): 2.0,
        SeriesKey("canary", "llama-v1"): 3.0,
        SeriesKey("canary", "llama-v2"): 4.0,
        SeriesKey("no-info", "qwen"): 5.0,
    }
    assert INFO in server.queries()


def test_without_by_version_the_info_metric_is_not_read() -> None:
    server = FakePrometheus()
    run(backend(server).instant(Signal.REQUEST_RATE, 300))
    assert INFO not in server.queries()


# ---- PrometheusBackend: range ----------------------------------------------------


def test_range_puts_series_on_the_plan_grid_and_filters_the_deployment() -> None:
    server = FakePrometheus()
    server.on(
        "vllm:e2e_request_latency_seconds_bucket",
        matrix(
            ({"deployment": "chat", "model_name": "a"}, [(1000.0, "1"), (1030.0, "NaN")]),
            ({"deployment": "chat", "model_name": "b"}, [(1000.0, "3"), (1045.0, "2")]),
            ({"deployment": "other", "model_name": "c"}, [(1000.0, "9")]),
        ),
    )
    plan = RangePlan(1000.0, 1060.0, 15.0)
    result = run(backend(server).range(Signal.P95_LATENCY, plan, 300, deployment="chat"))
    assert list(result) == [SeriesKey("chat")]
    series = result[SeriesKey("chat")]
    assert series.timestamps.tolist() == [1000.0, 1015.0, 1030.0, 1045.0, 1060.0]
    assert np.array_equal(series.values, [3.0, np.nan, np.nan, 2.0, np.nan], equal_nan=True)
    form = server.forms()[0]
    assert (form["start"], form["end"], form["step"]) == ("1000", "1060", "15")


def test_range_sums_additive_series_point_by_point() -> None:
    server = FakePrometheus()
    server.on(
        VLLM_RATE,
        matrix(
            ({"deployment": "chat", "model_name": "a"}, [(0.0, "1"), (10.0, "NaN")]),
            ({"deployment": "chat", "model_name": "b"}, [(0.0, "2"), (20.0, "5")]),
        ),
    )
    result = run(backend(server).range(Signal.REQUEST_RATE, RangePlan(0.0, 20.0, 10.0), 60))
    values = result[SeriesKey("chat")].values
    assert np.array_equal(values, [3.0, np.nan, 5.0], equal_nan=True)


def test_range_by_version_uses_the_serving_version() -> None:
    server = FakePrometheus()
    server.on(INFO, vector(({"deployment": "chat", "version": "v3"}, "1")))
    server.on(VLLM_RATE, matrix(({"deployment": "chat", "model_name": "m"}, [(0.0, "1")])))
    result = run(
        backend(server).range(Signal.REQUEST_RATE, RangePlan(0.0, 10.0, 10.0), 60, by_version=True)
    )
    assert list(result) == [SeriesKey("chat", "v3")]


# ---- PrometheusBackend: version history ------------------------------------------


def history_query(*deployments: str) -> str:
    selectors = " or ".join(
        f"model_info{{deployment={json.dumps(d)}}}" for d in sorted(deployments or ("chat",))
    )
    return f"max by (deployment, version) ({selectors})"


def test_version_history_reads_the_info_metric_over_the_plan() -> None:
    server = FakePrometheus()
    server.on(
        history_query(),
        matrix(
            (
                {"deployment": "chat", "version": "v1"},
                [(0.0, "1"), (10.0, "1"), (20.0, "1"), (30.0, "0")],
            ),
            ({"deployment": "chat", "version": "v2"}, [(0.0, "0"), (20.0, "1"), (30.0, "1")]),
            ({"deployment": "chat", "version": "v0"}, [(0.0, "0"), (10.0, "0")]),
            ({"deployment": "chat"}, [(0.0, "1")]),
        ),
    )
    plan = RangePlan(0.0, 30.0, 10.0)
    history = run(backend(server).version_history(plan, deployment="chat"))

    assert list(history) == ["v1", "v2"]  # v0 never served in the range; no unlabelled row
    assert history["v1"].key == SeriesKey("chat", "v1")
    assert history["v1"].timestamps.tolist() == [0.0, 10.0, 20.0, 30.0]
    assert np.array_equal(history["v1"].values, [1, 1, 1, np.nan], equal_nan=True)
    assert np.array_equal(history["v2"].values, [np.nan, np.nan, 1, 1], equal_nan=True)
    form = server.forms()[0]
    assert form["query"] == history_query()
    assert (form["start"], form["end"], form["step"]) == ("0", "30", "10")
    assert len(server.requests) == 1


def test_version_history_quotes_the_deployment_name() -> None:
    server = FakePrometheus()
    run(backend(server).version_history(RangePlan(0.0, 10.0, 10.0), deployment='a"b\\c'))
    assert server.queries()[0] == (
        'max by (deployment, version) (model_info{deployment="a\\"b\\\\c"})'
    )


def test_version_history_falls_back_to_the_request_rate_per_version() -> None:
    server = FakePrometheus()
    server.on(
        VLLM_RATE,
        matrix(
            ({"deployment": "chat", "model_name": "m", "version": "v1"}, [(0.0, "2"), (10.0, "0")]),
            ({"deployment": "chat", "model_name": "m", "version": "v2"}, [(10.0, "1.5")]),
            ({"deployment": "other", "model_name": "o", "version": "x"}, [(0.0, "9")]),
        ),
    )
    history = run(backend(server).version_history(RangePlan(0.0, 10.0, 10.0), deployment="chat"))

    assert list(history) == ["v1", "v2"]
    assert np.array_equal(history["v1"].values, [1, np.nan], equal_nan=True)
    assert np.array_equal(history["v2"].values, [np.nan, 1], equal_nan=True)
    rate_query = next(q for q in server.queries() if VLLM_RATE in q)
    # A 60 s window: four scrape intervals, so that every step has two samples.
    rate = f"sum by (deployment, model_name, version) (rate({VLLM_RATE}[60s]))"
    assert rate_query == (
        f'({rate}) and on (deployment) (label_replace(vector(1), "deployment", "chat", "", ""))'
        f' or ({rate}) and on (model_name) (label_replace(vector(1), "model_name", "chat", "", ""))'
    )


def test_version_history_of_an_unknown_deployment_is_empty() -> None:
    server = FakePrometheus()
    assert run(backend(server).version_history(RangePlan(0, 60, 15), deployment="nope")) == {}


def test_version_history_refuses_more_than_11000_points_without_a_request() -> None:
    server = FakePrometheus()
    with pytest.raises(BadQuery, match="11001 points per series exceed"):
        run(backend(server).version_history(RangePlan(0.0, 11_000.0, 1.0), deployment="chat"))
    assert server.requests == []


def test_client_is_the_backends_own_api_client() -> None:
    server = FakePrometheus()
    server.on("up", vector(({"job": "prometheus"}, "1")))
    prom = backend(server)
    assert prom.client is prom.client
    rows = list(run(prom.client.query("up")).rows())
    assert rows == [({"job": "prometheus"}, 1.0)]
    assert server.queries() == ["up"]


# ---- lifecycle ------------------------------------------------------------------


def test_attributes_and_aclose() -> None:
    closed: list[bool] = []

    class Transport(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    http = HttpJsonClient(HttpTarget(BASE), transport=Transport(FakePrometheus()))
    prom = labelled_backend(http, name="prod-eu", scrape_interval_s=30.0)
    assert (prom.name, prom.scrape_interval_s) == ("prod-eu", 30.0)
    run(prom.aclose())
    assert closed == [True]


def test_one_deployments_range_is_filtered_by_prometheus_and_the_versions_are_reused() -> None:
    server = FakePrometheus()
    server.on(INFO, vector(({"deployment": "a$1", "version": "v5"}, "1")))
    clock = [100.0]
    prom = backend(server, clock=lambda: clock[0])
    plan = RangePlan(0, 60, 15)
    run(prom.range(Signal.REQUEST_RATE, plan, 60, by_version=True, deployment="a$1"))
    run(prom.range(Signal.P95_LATENCY, plan, 60, by_version=True, deployment="a$1"))
    ranges = [q for q in server.queries() if INFO not in q]
    # "$" is a capture reference in label_replace's replacement: it is doubled.
    assert all('label_replace(vector(1), "deployment", "a$$1", "", "")' in q for q in ranges)
    assert sum(INFO in q for q in server.queries()) == 1  # one scrape interval: asked once
    clock[0] += prom.scrape_interval_s
    run(prom.range(Signal.REQUEST_RATE, plan, 60, by_version=True, deployment="a$1"))
    assert sum(INFO in q for q in server.queries()) == 2


def test_panels_of_several_deployments_share_one_query_per_signal_while_it_is_fresh() -> None:
    server = FakePrometheus()
    server.on(
        VLLM_RATE,
        matrix(
            ({"deployment": "a", "model_name": "m", "version": "v1"}, [(0.0, "1")]),
            ({"deployment": "b", "model_name": "m", "version": "v2"}, [(0.0, "2")]),
        ),
    )
    clock = [100.0]
    prom = backend(server, clock=lambda: clock[0])
    plan = RangePlan(0, 60, 15)

    def rate_queries() -> list[str]:
        return [q for q in server.queries() if VLLM_RATE in q]

    def ask(deployment: str) -> dict[SeriesKey, Series]:
        return run(prom.range(Signal.REQUEST_RATE, plan, 60, deployment=deployment))

    assert [k.deployment for k in ask("a")] == ["a"]
    assert [k.deployment for k in ask("b")] == ["b"]  # b was not in a's query: asks for both
    assert len(rate_queries()) == 2
    assert '"b"' in rate_queries()[1] and '"a"' in rate_queries()[1]
    ask("a")
    ask("b")
    assert len(rate_queries()) == 2  # both answered from the shared query
    clock[0] += prom.scrape_interval_s / 3  # stale: the next caller asks for both again
    assert ask("a")[SeriesKey("a", None)].values[0] == 1.0
    assert ask("b")[SeriesKey("b", None)].values[0] == 2.0
    assert len(rate_queries()) == 3
    other_plan = RangePlan(15, 75, 15)
    run(prom.range(Signal.REQUEST_RATE, other_plan, 60, deployment="a"))
    assert len(rate_queries()) == 4  # another grid is another query


def test_the_version_histories_of_several_deployments_share_one_query() -> None:
    server = FakePrometheus()
    a_rows = ({"deployment": "a", "version": "v1"}, [(0.0, "1"), (10.0, "1")])
    server.on(history_query("a"), matrix(a_rows))
    server.on(
        history_query("a", "b"),
        matrix(a_rows, ({"deployment": "b", "version": "v7"}, [(0.0, "1"), (10.0, "0")])),
    )
    prom = backend(server, clock=lambda: 100.0)
    plan = RangePlan(0.0, 10.0, 10.0)
    run(prom.version_history(plan, deployment="a"))
    b = run(prom.version_history(plan, deployment="b"))
    a = run(prom.version_history(plan, deployment="a"))
    assert list(a) == ["v1"] and list(b) == ["v7"]
    assert np.array_equal(b["v7"].values, [1, np.nan], equal_nan=True)
    assert server.queries()[-1] == history_query("a", "b")
    assert len(server.requests) == 2  # a alone, then a and b together; a again is shared


def test_deployments_asking_together_go_out_as_one_query() -> None:
    server = FakePrometheus()
    server.on(
        VLLM_RATE,
        matrix(
            ({"deployment": "a", "model_name": "m", "version": "v1"}, [(0.0, "1")]),
            ({"deployment": "b", "model_name": "m", "version": "v2"}, [(0.0, "2")]),
            ({"deployment": "c", "model_name": "m", "version": "v3"}, [(0.0, "3")]),
        ),
    )
    prom = backend(server, clock=lambda: 100.0)
    plan = RangePlan(0, 60, 15)

    async def together() -> list[dict[SeriesKey, Series]]:
        return list(
            await asyncio.gather(
                *(prom.range(Signal.REQUEST_RATE, plan, 60, deployment=d) for d in "abc")
            )
        )

    answers = run(together())
    assert [next(iter(a)).deployment for a in answers] == ["a", "b", "c"]
    rate_queries = [q for q in server.queries() if VLLM_RATE in q]
    assert len(rate_queries) == 1  # not {a}, then {a, b}, then {a, b, c}
    assert all(f'"{d}"' in rate_queries[0] for d in "abc")
