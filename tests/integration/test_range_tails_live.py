"""A slid range answered from its tail alone equals the whole range fetched anew (real Prometheus).

The session's Prometheus holds minutes of backfilled, exactly known samples. A backend that
fetched a range "at" its end (its wall clock is pinned there) is asked for the same range
slid by a minute; it must ask Prometheus for the recent steps only and answer exactly what
a fresh backend answers with the whole range. Both ranges end half a minute ago or more,
so no scrape lands between the two answers.
"""

import asyncio
import math
import time

import numpy as np
import pytest

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.prometheus import PrometheusBackend, RangeSeries
from console.backends.range_tails import SETTLE_MIN_S
from console.domain.series import Series, SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import RangePlan
from tests.support.prometheus_backend import labelled_backend
from tests.support.servers import MetricsServer

pytestmark = pytest.mark.integration

STEP_S = 5.0
SPAN_S = 240.0
SLIDE_S = 60.0
WINDOW_S = 60.0


def backend_for(server: MetricsServer, wall_clock: list[float]) -> PrometheusBackend:
    http = HttpJsonClient(HttpTarget(server.url, retries=0))
    return labelled_backend(http, name=server.name, wall_clock=lambda: wall_clock[0])


def test_a_slid_range_fetches_its_tail_and_equals_a_whole_fetch(
    prometheus_server: MetricsServer,
) -> None:
    start = math.floor((time.time() - 30 - SLIDE_S - SPAN_S) / STEP_S) * STEP_S
    first = RangePlan(start, start + SPAN_S, STEP_S)
    slid = RangePlan(start + SLIDE_S, start + SLIDE_S + SPAN_S, STEP_S)
    asked: list[RangePlan] = []

    async def main() -> tuple[dict[SeriesKey, Series], dict[SeriesKey, Series]]:
        clock = [first.end]
        backend = backend_for(prometheus_server, clock)
        whole = backend_for(prometheus_server, [time.time()])
        query_range = backend.client.query_range

        async def recorded(promql: str, plan: RangePlan) -> list[RangeSeries]:
            asked.append(plan)
            return await query_range(promql, plan)

        backend.client.query_range = recorded  # type: ignore[method-assign]
        try:
            await backend.range(Signal.REQUEST_RATE, first, WINDOW_S, by_version=True)
            clock[0] = slid.end
            spliced = await backend.range(Signal.REQUEST_RATE, slid, WINDOW_S, by_version=True)
            fetched = await whole.range(Signal.REQUEST_RATE, slid, WINDOW_S, by_version=True)
            return spliced, fetched
        finally:
            await backend.aclose()
            await whole.aclose()

    spliced, fetched = asyncio.run(main())

    assert asked[0] == first
    tail = asked[-1]
    assert tail.end == slid.end and tail.step == STEP_S
    assert tail.start == math.floor((first.end - SETTLE_MIN_S) / STEP_S) * STEP_S
    assert tail.start > slid.start
    assert list(spliced) == list(fetched) and len(fetched) >= 2
    for key, series in fetched.items():
        np.testing.assert_array_equal(spliced[key].timestamps, series.timestamps)
        np.testing.assert_allclose(spliced[key].values, series.values, rtol=1e-12, err_msg=str(key))
        assert np.isfinite(series.values).any(), key
