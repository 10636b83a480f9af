"""FleetService: figures per deployment, per-signal errors, whole-fleet failures."""

import asyncio

import numpy as np
import pytest

from console.backends.errors import BadQuery, ConnectionFailed
from console.backends.protocol import BuildInfo, EngineChoice
from console.domain.fleet import DeploymentInfo
from console.domain.series import Series, SeriesKey
from console.domain.signals import Signal
from console.domain.slo import SloThresholds, Status
from console.domain.timerange import RangePlan
from console.services.fleet import FleetService

NOW = 1_764_000_000.0


class FakeBackend:
    """Answers from tables; ``failing`` maps a signal to the error its queries raise."""

    name = "fake"
    scrape_interval_s = 15.0

    def __init__(self) -> None:
        self.failing: dict[Signal, Exception] = {}
        self.inventory_error: Exception | None = None
        self.values: dict[Signal, dict[SeriesKey, float | None]] = {
            Signal.REQUEST_RATE: {SeriesKey("chat"): 10.0, SeriesKey("orphan"): 1.0},
            Signal.ERROR_RATIO: {SeriesKey("chat"): 0.2, SeriesKey("orphan"): 0.0},
            Signal.P95_LATENCY: {SeriesKey("chat"): 1.0, SeriesKey("qa"): float("nan")},
            Signal.P95_TTFT: {},
            Signal.OUTPUT_TOKENS_PER_S: {SeriesKey("chat"): 300.0},
        }
        self.plans: list[RangePlan] = []

    async def build_info(self) -> BuildInfo:
        return BuildInfo("Fake", "1.0")

    async def engines(self) -> EngineChoice:
        return EngineChoice(("vllm",), "preset vllm, set in the profile")

    async def inventory(self) -> list[DeploymentInfo]:
        if self.inventory_error:
            raise self.inventory_error
        return [
            DeploymentInfo("chat", "vllm", ("v1", "v2")),
            DeploymentInfo("qa", "vllm", ("v9",)),
        ]

    async def instant(
        self, signal: Signal, window_s: float, *, by_version: bool = False
    ) -> dict[SeriesKey, float | None]:
        if signal in self.failing:
            raise self.failing[signal]
        if by_version:
            return {SeriesKey("chat", "v1"): 7.5, SeriesKey("chat", "v2"): 2.5}
        return self.values[signal]

    async def range(
        self,
        signal: Signal,
        plan: RangePlan,
        window_s: float,
        *,
        by_version: bool = False,
        deployment: str | None = None,
    ) -> dict[SeriesKey, Series]:
        self.plans.append(plan)
        ts = np.arange(plan.start, plan.end + plan.step / 2, plan.step)
        return {SeriesKey("chat"): Series(SeriesKey("chat"), ts, np.ones_like(ts))}

    async def aclose(self) -> None:
        return None


def snapshot(backend: FakeBackend, range_s: float = 3600.0):  # type: ignore[no-untyped-def]
    service = FleetService("p", backend, slo=SloThresholds(), rate_window_s=300, clock=lambda: NOW)
    return asyncio.run(service.snapshot(range_s))


def test_snapshot_combines_inventory_figures_and_shares() -> None:
    backend = FakeBackend()
    snap = snapshot(backend)
    by_name = {d.deployment: d for d in snap.deployments}
    assert [d.deployment for d in snap.deployments] == ["chat", "qa", "orphan"]
    chat = by_name["chat"]
    assert chat.status is Status.ALERT
    assert [(v.version, v.traffic_share) for v in chat.versions] == [("v1", 0.75), ("v2", 0.25)]
    assert chat.p95_ttft_s is None
    assert chat.sparkline is not None and chat.sparkline.values.size == backend.plans[0].points
    assert by_name["qa"].p95_latency_s is None
    assert by_name["qa"].status is Status.NO_DATA
    assert by_name["orphan"].engine == "unknown"
    assert snap.notes == ("preset vllm, set in the profile",)
    assert snap.error is None


def test_sparkline_plan_covers_the_range_within_the_width() -> None:
    backend = FakeBackend()
    snapshot(backend, range_s=6 * 3600)
    plan = backend.plans[0]
    assert plan.start <= NOW - 6 * 3600 and plan.end >= NOW
    assert plan.step == 180


def test_one_failing_signal_leaves_its_figure_unknown_and_names_the_error() -> None:
    backend = FakeBackend()
    backend.failing[Signal.P95_LATENCY] = BadQuery('parse error: unexpected "}"')
    snap = snapshot(backend)
    chat = next(d for d in snap.deployments if d.deployment == "chat")
    assert chat.p95_latency_s is None
    assert chat.request_rate == 10.0
    assert chat.error == 'p95 latency: parse error: unexpected "}"'
    assert snap.error is None


def test_unreachable_backend_gives_a_snapshot_error() -> None:
    backend = FakeBackend()
    backend.inventory_error = ConnectionFailed("connection refused by http://127.0.0.1:9")
    snap = snapshot(backend)
    assert snap.deployments == ()
    assert snap.error == "connection refused by http://127.0.0.1:9"


def test_every_query_failing_is_a_fleet_error() -> None:
    backend = FakeBackend()
    for signal in Signal:
        backend.failing[signal] = ConnectionFailed("reset by peer")

    async def broken_range(*args: object, **kwargs: object) -> dict[SeriesKey, Series]:
        raise ConnectionFailed("reset by peer")

    backend.range = broken_range  # type: ignore[method-assign]
    snap = snapshot(backend)
    assert snap.error == "reset by peer"
    assert snap.deployments == ()


def test_programming_errors_are_not_swallowed() -> None:
    backend = FakeBackend()
    backend.failing[Signal.ERROR_RATIO] = KeyError("bug")
    with pytest.raises(KeyError):
        snapshot(backend)
