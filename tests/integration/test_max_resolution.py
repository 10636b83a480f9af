"""No range from 5 minutes to 90 days, at any window width, exceeds the maximum resolution.

Prometheus refuses a query_range of more than 11,000 points per series ("exceeded maximum
resolution of 11,000 points per timeseries"), VictoriaMetrics more than 30,000. Every
range and width planned by plan_range must pass through PrometheusBackend and the raw
client against both real servers (the session's, scraping the vLLM-style exporter); the
naive plan of a one-second step over 90 days must be refused, so that the sweep could fail.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import numpy as np
import pytest

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.errors import BadQuery
from console.backends.prometheus import PrometheusBackend, RangeSeries
from console.domain.series import Series, SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import MAX_POINTS_PER_SERIES, RangePlan, TimeRange, plan_range
from tests.support.prometheus_backend import labelled_backend
from tests.support.servers import MetricsServer

pytestmark = pytest.mark.integration

T = TypeVar("T")
DAY_S = 86_400.0
RANGES_S = {
    "5m": 300.0,
    "1h": 3_600.0,
    "1d": DAY_S,
    "7d": 7 * DAY_S,
    "30d": 30 * DAY_S,
    "90d": 90 * DAY_S,
}
WIDTHS_PX = (1, 37, 800, 1920, 3840, 10_000, 50_000)
SCRAPE_INTERVAL_S = 1.0
"""The fixtures scrape every second: the shortest step a plan may take."""
SERVERS = ["prometheus_server", "victoria_metrics_server"]
REFUSALS = {
    "prometheus_server": "exceeded maximum resolution of 11,000 points per timeseries",
    "victoria_metrics_server": "cannot exceed -search.maxPointsPerTimeseries",
}
DEPLOYMENT = "chat-assistant"
"""A deployment of the session's exporter, serving v7 and v8."""


def run_on(server: MetricsServer, use: Callable[[PrometheusBackend], Awaitable[T]]) -> T:
    """``use(backend)`` on a fresh backend for ``server``, closed afterwards."""

    async def main() -> T:
        http = HttpJsonClient(HttpTarget(server.url, retries=0))
        backend = labelled_backend(http, name=server.name, scrape_interval_s=SCRAPE_INTERVAL_S)
        try:
            return await use(backend)
        finally:
            await backend.aclose()

    return asyncio.run(main())


@pytest.mark.parametrize("server_fixture", SERVERS)
@pytest.mark.parametrize("range_name", list(RANGES_S))
def test_every_width_of_a_range_is_answered(
    request: pytest.FixtureRequest, server_fixture: str, range_name: str
) -> None:
    server: MetricsServer = request.getfixturevalue(server_fixture)
    now = time.time()
    plans = [
        plan_range(TimeRange.last(RANGES_S[range_name], now), width, SCRAPE_INTERVAL_S)
        for width in WIDTHS_PX
    ]

    async def sweep(
        backend: PrometheusBackend,
    ) -> list[tuple[RangePlan, dict[SeriesKey, Series], dict[str, Series]]]:
        answers = []
        for plan in plans:
            window_s = max(300.0, 2 * plan.step)
            rates = await backend.range(Signal.REQUEST_RATE, plan, window_s, by_version=True)
            history = await backend.version_history(plan, deployment=DEPLOYMENT)
            answers.append((plan, rates, history))
        return answers

    for plan, rates, history in run_on(server, sweep):
        where = f"{range_name} at step {plan.step} s"
        assert plan.points <= MAX_POINTS_PER_SERIES, where
        assert plan.end >= now and plan.start <= now - RANGES_S[range_name], where
        for series in (*rates.values(), *history.values()):
            np.testing.assert_array_equal(series.timestamps, plan.timestamps())
        assert set(history) <= {"v7", "v8"}, where
        # VictoriaMetrics is not backfilled: its few seconds of samples may lie between
        # grid points. Prometheus holds minutes of history, so short steps must see it.
        if server_fixture == "prometheus_server" and plan.step <= 60:
            assert set(history) == {"v7", "v8"}, where
            for version in ("v7", "v8"):
                values = rates[SeriesKey(DEPLOYMENT, version)].values
                assert np.isfinite(values).any(), (where, version)


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_raw_query_range_of_the_finest_plan_passes_and_a_naive_one_is_refused(
    request: pytest.FixtureRequest, server_fixture: str
) -> None:
    server: MetricsServer = request.getfixturevalue(server_fixture)
    now = time.time()
    finest = plan_range(TimeRange.last(RANGES_S["90d"], now), WIDTHS_PX[-1], SCRAPE_INTERVAL_S)
    naive = RangePlan(start=now - RANGES_S["90d"], end=now, step=1.0)

    async def both(backend: PrometheusBackend) -> tuple[list[RangeSeries], str]:
        # vector(1) has a value at every step, so the whole grid is evaluated.
        series = await backend.client.query_range("vector(1)", finest)
        with pytest.raises(BadQuery) as refused:
            await backend.client.query_range("vector(1)", naive)
        return series, str(refused.value)

    series, refusal = run_on(server, both)
    assert finest.points > MAX_POINTS_PER_SERIES - 20
    assert naive.points > 7_000_000
    [only] = series
    np.testing.assert_array_equal(only.timestamps, finest.timestamps())
    assert np.all(only.values == 1)
    assert REFUSALS[server_fixture] in refusal
