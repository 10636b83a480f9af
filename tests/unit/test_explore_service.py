"""ExploreService over the real PrometheusClient, with a MockTransport playing Prometheus."""

import asyncio
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import numpy as np
import pytest

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.demo import DemoBackend
from console.backends.errors import BadQuery, NotSupported, ServerError
from console.domain.promql_completion import CandidateKind, ContextKind, MetricInfo, context_at
from console.domain.timerange import MAX_POINTS_PER_SERIES, TimeRange
from console.services.explore import UNSUPPORTED, ExploreService, series_name
from tests.support.prometheus_backend import labelled_backend

NOW = 1_700_000_000.0
SCRAPE_S = 15.0


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data})


class FakePrometheus:
    """Answers the endpoints Explore uses and records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.names = ["up", "vllm:generation_tokens_total", "http_requests_total"]
        self.metadata: httpx.Response = ok(
            {
                "vllm:generation_tokens_total": [
                    {"type": "counter", "help": "Generated tokens.", "unit": ""}
                ],
                "up": [{"type": "gauge", "help": "Target is up.", "unit": ""}],
                "http_requests": [{"type": "counter", "help": "HTTP requests.", "unit": ""}],
            }
        )
        self.query_error: httpx.Response | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/v1/label/__name__/values":
            return ok(self.names)
        if path == "/api/v1/metadata":
            return self.metadata
        if path == "/api/v1/labels":
            match = request.url.params.get_list("match[]")
            return ok(["__name__", "job"] + (["version"] if match else ["instance"]))
        if path.startswith("/api/v1/label/"):
            label = path.split("/")[4]
            match = request.url.params.get_list("match[]")
            return ok([f"{label}-{m}" for m in match] or [f"{label}-a", f"{label}-b"])
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if self.query_error is not None:
            return self.query_error
        if path == "/api/v1/query_range":
            start, step = float(form["start"]), float(form["step"])
            # The second series misses the second step: a gap on the plan's grid.
            return ok(
                {
                    "resultType": "matrix",
                    "result": [
                        {
                            "metric": {"__name__": "up", "job": "a"},
                            "values": [[start, "1"], [start + step, "1"]],
                        },
                        {"metric": {"job": "b"}, "values": [[start, "0"], [start + 2 * step, "1"]]},
                    ],
                }
            )
        if path == "/api/v1/query":
            return ok(
                {
                    "resultType": "vector",
                    "result": [
                        {"metric": {"__name__": "up", "job": "a"}, "value": [NOW, "1"]},
                        {"metric": {"job": "b"}, "value": [NOW, "NaN"]},
                    ],
                }
            )
        return httpx.Response(404)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def service_over(
    fake: FakePrometheus,
    clock: Callable[[], float] = lambda: 0.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ExploreService:
    """The service over a PrometheusBackend whose requests ``fake`` answers."""
    http = HttpJsonClient(
        HttpTarget(base_url="http://prom.test", retries=0),
        transport=transport or httpx.MockTransport(fake),
    )
    backend = labelled_backend(http, name="prod", preset=None, scrape_interval_s=SCRAPE_S)
    return ExploreService(backend, clock=clock)


@pytest.fixture
def fake() -> FakePrometheus:
    return FakePrometheus()


class TestRun:
    def test_range_result_is_on_the_plans_grid_with_gaps(self, fake: FakePrometheus) -> None:
        service = service_over(fake)
        result = asyncio.run(service.run_range("up", TimeRange.last(3600, NOW), 400))
        assert result.plan.step == 15.0  # max(3600 s / 400 px, the 15 s scrape interval)
        assert [s.name for s in result.series] == ['up{job="a"}', '{job="b"}']
        gap = result.series[1].values
        assert gap[0] == 0.0 and math.isnan(gap[1]) and gap[2] == 1.0
        np.testing.assert_array_equal(result.series[0].timestamps, result.plan.timestamps())
        assert result.duration_s >= 0

    @pytest.mark.parametrize("seconds", [300.0, 86400.0, 90 * 86400.0])
    @pytest.mark.parametrize("width_px", [1, 400, 100_000])
    def test_no_range_asks_for_more_points_than_prometheus_allows(
        self, fake: FakePrometheus, seconds: float, width_px: int
    ) -> None:
        result = asyncio.run(
            service_over(fake).run_range("up", TimeRange.last(seconds, NOW), width_px)
        )
        form = parse_qs(fake.requests[-1].content.decode())
        start, end, step = (float(form[k][0]) for k in ("start", "end", "step"))
        assert (end - start) / step + 1 <= MAX_POINTS_PER_SERIES
        assert step == result.plan.step

    def test_instant_rows_keep_nan(self, fake: FakePrometheus) -> None:
        result = asyncio.run(service_over(fake).run_instant("up", NOW))
        assert [(r.name, r.labels.get("job")) for r in result.rows] == [
            ('up{job="a"}', "a"),
            ('{job="b"}', "b"),
        ]
        assert math.isnan(result.rows[1].value)
        assert parse_qs(fake.requests[-1].content.decode())["time"] == [str(int(NOW))]

    def test_run_queries_the_range_and_the_instant_at_its_end(self, fake: FakePrometheus) -> None:
        rng = TimeRange.last(600, NOW)
        result = asyncio.run(service_over(fake).run("  up \n", rng, 600))
        assert result.range.expr == result.instant.expr == "up"
        assert result.instant.at == rng.end
        assert sorted(fake.paths()) == ["/api/v1/query", "/api/v1/query_range"]

    def test_prometheus_error_text_reaches_the_caller_verbatim(self, fake: FakePrometheus) -> None:
        text = '1:6: parse error: unexpected "}" in label matching, expected string'
        fake.query_error = httpx.Response(
            400, json={"status": "error", "errorType": "bad_data", "error": text}
        )
        with pytest.raises(BadQuery) as raised:
            asyncio.run(service_over(fake).run_range("up{a}", TimeRange.last(300, NOW), 300))
        assert text in raised.value.message

    def test_server_errors_keep_their_type(self, fake: FakePrometheus) -> None:
        fake.query_error = httpx.Response(503, text="overloaded")
        with pytest.raises(ServerError, match="overloaded"):
            asyncio.run(service_over(fake).run_instant("up"))

    def test_an_empty_expression_is_refused_without_a_request(self, fake: FakePrometheus) -> None:
        with pytest.raises(BadQuery, match="enter a PromQL expression"):
            asyncio.run(service_over(fake).run_instant("  "))
        assert fake.requests == []


def test_demo_backend_is_not_supported() -> None:
    service = ExploreService(DemoBackend())
    assert service.unavailable_reason == UNSUPPORTED
    with pytest.raises(NotSupported, match="DEMO simulation has none"):
        asyncio.run(service.run_instant("up"))
    with pytest.raises(NotSupported):
        asyncio.run(service.complete("u", 1))


class TestCompletion:
    def test_metric_names_with_metadata(self, fake: FakePrometheus) -> None:
        completion = asyncio.run(service_over(fake).complete("vllm:g", 6))
        first = completion.candidates[0]
        assert (first.text, first.kind, first.detail) == (
            "vllm:generation_tokens_total",
            CandidateKind.METRIC,
            "counter — Generated tokens.",
        )

    def test_series_of_a_family_get_the_familys_metadata(self, fake: FakePrometheus) -> None:
        completion = asyncio.run(service_over(fake).complete("http_req", 8))
        assert completion.candidates[0].detail == "counter — HTTP requests."

    def test_metadata_is_optional(self, fake: FakePrometheus) -> None:
        fake.metadata = httpx.Response(404)
        index = asyncio.run(service_over(fake).completion_index(context_at("ht", 2)))
        assert index.metrics == {name: MetricInfo() for name in fake.names}

    def test_label_names_are_narrowed_by_the_selector(self, fake: FakePrometheus) -> None:
        completion = asyncio.run(service_over(fake).complete("up{", 3))
        assert [c.text for c in completion.candidates] == ["__name__", "job", "version"]
        assert fake.requests[-1].url.params.get_list("match[]") == ["up"]

    def test_grouping_label_names_are_every_label(self, fake: FakePrometheus) -> None:
        completion = asyncio.run(service_over(fake).complete("sum by (", 8))
        assert "instance" in [c.text for c in completion.candidates]
        assert fake.requests[-1].url.params.get_list("match[]") == []

    def test_values_of_the_label_for_the_selector(self, fake: FakePrometheus) -> None:
        text = 'up{job="x", version="'
        completion = asyncio.run(service_over(fake).complete(text, len(text)))
        assert completion.context.kind is ContextKind.LABEL_VALUE
        assert fake.requests[-1].url.path == "/api/v1/label/version/values"
        assert fake.requests[-1].url.params.get_list("match[]") == ['up{job="x"}']
        assert [c.text for c in completion.candidates] == ['version-up{job="x"}']

    def test_cached_for_the_ttl_then_loaded_again(self, fake: FakePrometheus) -> None:
        now = [0.0]
        service = service_over(fake, clock=lambda: now[0])

        async def twice_then_later() -> None:
            await service.complete("u", 1)
            await service.complete("ht", 2)
            now[0] = 301.0
            await service.complete("u", 1)

        asyncio.run(twice_then_later())
        assert fake.paths().count("/api/v1/label/__name__/values") == 2
        assert fake.paths().count("/api/v1/metadata") == 2

    def test_concurrent_lookups_share_one_request(self, fake: FakePrometheus) -> None:
        service = service_over(fake)

        async def together() -> None:
            await asyncio.gather(*(service.complete("up{", 3) for _ in range(5)))

        asyncio.run(together())
        assert fake.paths().count("/api/v1/labels") == 1

    def test_a_cancelled_lookup_does_not_cancel_the_shared_load(self, fake: FakePrometheus) -> None:
        service = service_over(fake)

        async def cancel_one() -> list[str]:
            first = asyncio.create_task(service.complete("up{", 3))
            second = asyncio.create_task(service.complete("up{", 3))
            await asyncio.sleep(0)
            first.cancel()
            return [c.text for c in (await second).candidates]

        assert asyncio.run(cancel_one()) == ["__name__", "job", "version"]

    def test_failed_loads_are_not_cached(self, fake: FakePrometheus) -> None:
        service = service_over(fake)
        names = fake.names

        async def fail_then_succeed() -> int:
            fake.names = None  # type: ignore[assignment]  # answers "data": null
            with pytest.raises(Exception, match="not a list of strings"):
                await service.complete("u", 1)
            fake.names = names
            return len((await service.complete("u", 1)).candidates)

        assert asyncio.run(fail_then_succeed()) > 0


def test_series_name_is_prometheus_style() -> None:
    assert series_name({"job": "a", "__name__": "up", "b": 'x"y'}) == 'up{b="x\\"y", job="a"}'
    assert series_name({}) == "{}"
    assert series_name({"__name__": "up"}) == "up"
    assert series_name({"a": "é"}) == '{a="é"}'
