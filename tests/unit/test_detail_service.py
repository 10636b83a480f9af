"""DetailService over the FakeBackend: lines per version, cost, annotations, canary table."""

import asyncio

import numpy as np
import pytest

from console.backends.errors import BadQuery, CircuitOpen, ServerError
from console.domain.annotations import Annotation, AnnotationKind
from console.domain.canary import Verdict
from console.domain.cost import VersionPrice
from console.domain.fleet import DeploymentInfo
from console.domain.series import SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import MAX_POINTS_PER_SERIES
from console.services.annotations import AnnotationStore
from console.services.detail import COST_CHART_ID, DETAIL_CHARTS, DetailService
from tests.support.fake_backend import RANGE_WAVE, FakeBackend

NOW = 1_700_000_000.0


class PerVersionBackend(FakeBackend):
    """Instant queries by version answer the per-version figures in ``values``."""

    async def instant(
        self, signal: Signal, window_s: float, *, by_version: bool = False
    ) -> dict[SeriesKey, float | None]:
        if not by_version:
            return await super().instant(signal, window_s)
        self._call()
        if signal in self.failing:
            raise self.failing[signal]
        return {k: v for k, v in self.values.get(signal, {}).items() if k.version is not None}


@pytest.fixture
def backend() -> PerVersionBackend:
    """``alpha`` serves v1 (90 %) and v2 (10 %); ``beta`` serves v3."""
    fake = PerVersionBackend()
    fake.deployments = [
        DeploymentInfo("alpha", "vllm", ("v1", "v2")),
        DeploymentInfo("beta", "vllm", ("v3",)),
    ]
    fake.shares = {
        SeriesKey("alpha", "v1"): 0.9,
        SeriesKey("alpha", "v2"): 0.1,
        SeriesKey("beta", "v3"): 1.0,
    }
    return fake


def service(backend: FakeBackend, store: AnnotationStore | None = None, **kwargs) -> DetailService:
    return DetailService(
        backend, store or AnnotationStore(), rate_window_s=300.0, clock=lambda: NOW, **kwargs
    )


def test_every_chart_has_one_line_per_version_of_the_deployment(backend) -> None:
    detail = service(backend, prices=(VersionPrice("v1"), VersionPrice("v2")))
    for spec in DETAIL_CHARTS:
        data = asyncio.run(detail.chart("alpha", spec.chart_id, 3600.0, 800))
        assert data.error is None, spec.chart_id
        assert set(data.lines) == {"v1", "v2"}, spec.chart_id
    assert len(DETAIL_CHARTS) == 13


def test_lines_carry_each_versions_values_on_the_plan_grid(backend) -> None:
    detail = service(backend)
    data = asyncio.run(detail.chart("alpha", Signal.REQUEST_RATE.value, 3600.0, 800))
    ts, v1 = data.lines["v1"]
    plan = backend.plans[-1]
    assert np.array_equal(ts, plan.timestamps())
    assert plan.end >= NOW and plan.start <= NOW - 3600.0
    wave = 1.0 + RANGE_WAVE * np.sin(ts / 600.0)
    assert np.allclose(v1, 12.0 * 0.9 * wave)
    assert np.allclose(data.lines["v2"][1], 12.0 * 0.1 * wave)
    latency = asyncio.run(detail.chart("alpha", Signal.P95_LATENCY.value, 3600.0, 800))
    assert np.allclose(latency.lines["v2"][1], 1.5 * wave)


@pytest.mark.parametrize("range_s", [300.0, 3600.0, 86400.0, 90 * 86400.0])
@pytest.mark.parametrize("width_px", [1, 800, 100_000])
def test_no_plan_exceeds_the_prometheus_point_limit(backend, range_s, width_px) -> None:
    detail = service(backend)
    data = asyncio.run(detail.chart("alpha", Signal.ERROR_RATIO.value, range_s, width_px))
    assert data.error is None
    marks = asyncio.run(detail.annotations("alpha", range_s, width_px))
    assert marks == []
    assert all(plan.points <= MAX_POINTS_PER_SERIES for plan in backend.plans)
    assert backend.history_calls[-1][1].points <= MAX_POINTS_PER_SERIES


@pytest.mark.parametrize(
    "error", [ServerError("503 from http://prom:9090"), CircuitOpen("paused: 5 failures")]
)
def test_a_backend_error_becomes_the_charts_error(backend, error) -> None:
    backend.range_error = error
    for chart_id in (Signal.P99_LATENCY.value, COST_CHART_ID):
        data = asyncio.run(service(backend).chart("alpha", chart_id, 3600.0, 800))
        assert data.lines == {}
        assert data.failure is error
        assert data.error == str(error)


def test_cost_follows_token_and_gpu_prices_and_names_unpriced_versions(backend) -> None:
    prices = (
        VersionPrice("v1", per_1k_input_tokens=0.001, per_1k_output_tokens=0.002),
        VersionPrice("v2", deployment="beta", per_gpu_hour=9.0),  # not alpha's v2
    )
    data = asyncio.run(service(backend, prices=prices).chart("alpha", COST_CHART_ID, 3600.0, 800))
    assert set(data.lines) == {"v1"}
    ts, cost = data.lines["v1"]
    wave = 1.0 + RANGE_WAVE * np.sin(ts / 600.0)
    tokens_in, tokens_out = 4000.0 * 0.9 * wave, 900.0 * 0.9 * wave
    assert np.allclose(cost, (tokens_in * 0.001 + tokens_out * 0.002) * 3.6)
    assert data.note == "v2 has no price, so no cost line."


def test_cost_per_gpu_hour_while_the_version_serves(backend) -> None:
    prices = (VersionPrice("v1", per_gpu_hour=2.5, gpus=4), VersionPrice("v2", per_gpu_hour=1.0))
    detail = service(backend, prices=prices)
    data = asyncio.run(detail.chart("alpha", COST_CHART_ID, 3600.0, 800))
    assert np.allclose(data.lines["v1"][1], 10.0)
    assert np.allclose(data.lines["v2"][1], 1.0)
    assert data.note is None
    assert detail.unit(COST_CHART_ID) == "USD/h"


def test_without_prices_the_cost_chart_says_so(backend) -> None:
    data = asyncio.run(service(backend).chart("alpha", COST_CHART_ID, 3600.0, 800))
    assert data.lines == {}
    assert data.note == "No prices are set in the profile: no cost line for v1, v2."


def test_annotations_merge_version_changes_and_the_stores_marks(backend) -> None:
    backend.histories["alpha"] = [(NOW - 7200.0, ("v1",)), (NOW - 1800.0, ("v1", "v2"))]
    store = AnnotationStore()
    rollback = Annotation(NOW - 600.0, AnnotationKind.ROLLBACK, "rollback", deployment="alpha")
    everywhere = Annotation(NOW - 2400.0, AnnotationKind.ALERT, "fleet alert")
    store.add(rollback)
    store.add(everywhere)
    store.add(Annotation(NOW - 900.0, AnnotationKind.NOTE, "beta only", deployment="beta"))
    store.add(Annotation(NOW - 9000.0, AnnotationKind.NOTE, "too old", deployment="alpha"))
    marks = asyncio.run(service(backend, store).annotations("alpha", 3600.0, 800))
    assert [m.text for m in marks] == ["fleet alert", "v2 started (with v1)", "rollback"]
    change = marks[1]
    assert change.kind is AnnotationKind.VERSION_CHANGE and change.version == "v2"
    step = backend.history_calls[-1][1].step
    assert NOW - 1800.0 <= change.at < NOW - 1800.0 + step


def test_annotations_raise_when_the_history_cannot_be_read(backend) -> None:
    backend.range_error = BadQuery("parse error")
    with pytest.raises(BadQuery, match="parse error"):
        asyncio.run(service(backend).annotations("alpha", 3600.0, 800))


def set_canary_figures(backend: FakeBackend) -> None:
    per_version = {
        Signal.REQUEST_RATE: (9.0, 1.0),
        Signal.ERROR_RATIO: (0.004, 0.05),
        Signal.P50_LATENCY: (0.6, 0.6),
        Signal.P95_LATENCY: (1.4, 1.2),
        Signal.P99_LATENCY: (2.5, 2.5),
        Signal.P95_TTFT: (0.3, 0.3),
        Signal.P95_ITL: (0.04, 0.04),
    }
    for signal, (stable, canary) in per_version.items():
        backend.values[signal][SeriesKey("alpha", "v1")] = stable
        backend.values[signal][SeriesKey("alpha", "v2")] = canary
        backend.values[signal][SeriesKey("beta", "v3")] = stable


def test_canary_table_for_two_versions_and_none_for_one(backend) -> None:
    set_canary_figures(backend)
    detail = service(backend)
    table = asyncio.run(detail.canary("alpha"))
    assert table is not None
    assert (table.stable_version, table.canary_versions) == ("v1", ("v2",))
    verdicts = {row.signal: row.verdict for row in table.rows}
    assert verdicts[Signal.ERROR_RATIO] is Verdict.WORSE
    assert verdicts[Signal.P95_LATENCY] is Verdict.BETTER
    assert verdicts[Signal.P99_LATENCY] is Verdict.SAME
    assert asyncio.run(detail.canary("beta")) is None


def test_canary_respects_the_profiles_minimum_traffic(backend) -> None:
    set_canary_figures(backend)
    table = asyncio.run(service(backend, canary_min_requests=301.0).canary("alpha"))
    assert table is not None
    assert {row.verdict for row in table.rows} == {Verdict.INCONCLUSIVE}
    assert "canary v2 served 300 requests" in table.rows[0].reason


def test_a_failed_sli_makes_only_its_rows_inconclusive(backend) -> None:
    set_canary_figures(backend)
    backend.failing[Signal.P95_ITL] = BadQuery("unknown metric vllm:itl")
    table = asyncio.run(service(backend).canary("alpha"))
    assert table is not None
    itl = next(row for row in table.rows if row.signal is Signal.P95_ITL)
    assert itl.verdict is Verdict.INCONCLUSIVE and "unknown metric vllm:itl" in itl.reason
    assert sum(row.verdict is Verdict.INCONCLUSIVE for row in table.rows) == 1


def test_canary_raises_when_the_request_rate_fails(backend) -> None:
    set_canary_figures(backend)
    backend.failing[Signal.REQUEST_RATE] = ServerError("502 Bad Gateway")
    with pytest.raises(ServerError):
        asyncio.run(service(backend).canary("alpha"))
