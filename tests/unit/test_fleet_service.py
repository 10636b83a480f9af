"""FleetService: figures per deployment, per-signal errors, whole-fleet failures."""

import asyncio

import pytest

from console.backends.errors import BadQuery, ConnectionFailed
from console.domain.fleet import DeploymentInfo, FleetSnapshot
from console.domain.series import SeriesKey
from console.domain.signals import Signal
from console.domain.slo import Status
from tests.support.fake_backend import FakeBackend, fake_service

NOW = 1_764_000_000.0


@pytest.fixture
def backend() -> FakeBackend:
    """``chat`` breaches the error SLO, ``qa`` has only a NaN, ``orphan`` is not listed."""
    fake = FakeBackend()
    fake.deployments = [
        DeploymentInfo("chat", "vllm", ("v1", "v2")),
        DeploymentInfo("qa", "vllm", ("v9",)),
    ]
    fake.values = {
        Signal.REQUEST_RATE: {SeriesKey("chat"): 10.0, SeriesKey("orphan"): 1.0},
        Signal.ERROR_RATIO: {SeriesKey("chat"): 0.2, SeriesKey("orphan"): 0.0},
        Signal.P95_LATENCY: {SeriesKey("chat"): 1.0, SeriesKey("qa"): float("nan")},
        Signal.P95_TTFT: {},
        Signal.OUTPUT_TOKENS_PER_S: {SeriesKey("chat"): 300.0},
    }
    fake.shares = {SeriesKey("chat", "v1"): 7.5, SeriesKey("chat", "v2"): 2.5}
    return fake


def snapshot(backend: FakeBackend, range_s: float = 3600.0) -> FleetSnapshot:
    return asyncio.run(fake_service(backend, "p", clock=lambda: NOW).snapshot(range_s))


def test_snapshot_combines_inventory_figures_and_shares(backend: FakeBackend) -> None:
    snap = snapshot(backend)
    by_name = {d.deployment: d for d in snap.deployments}
    assert [d.deployment for d in snap.deployments] == ["chat", "qa"]
    chat = by_name["chat"]
    assert chat.status is Status.ALERT
    assert [(v.version, v.traffic_share) for v in chat.versions] == [("v1", 0.75), ("v2", 0.25)]
    assert chat.p95_ttft_s is None
    assert chat.sparkline is not None and chat.sparkline.values.size == backend.plans[0].points
    assert by_name["qa"].p95_latency_s is None
    assert by_name["qa"].status is Status.NO_DATA
    assert snap.notes == ("preset vllm, set in the profile",)
    assert snap.error is None


def test_sparkline_plan_covers_the_range_within_the_width(backend: FakeBackend) -> None:
    snapshot(backend, range_s=6 * 3600)
    plan = backend.plans[0]
    assert plan.start <= NOW - 6 * 3600 and plan.end >= NOW
    assert plan.step == 180


def test_one_failing_signal_leaves_its_figure_unknown_and_names_the_error(
    backend: FakeBackend,
) -> None:
    backend.failing[Signal.P95_LATENCY] = BadQuery('parse error: unexpected "}"')
    snap = snapshot(backend)
    chat = next(d for d in snap.deployments if d.deployment == "chat")
    assert chat.p95_latency_s is None
    assert chat.request_rate == 10.0
    assert chat.error == 'p95 latency: parse error: unexpected "}"'
    assert snap.error is None


def test_unreachable_backend_gives_a_snapshot_error(backend: FakeBackend) -> None:
    backend.error = ConnectionFailed("connection refused by http://127.0.0.1:9")
    snap = snapshot(backend)
    assert snap.deployments == ()
    assert snap.error == "connection refused by http://127.0.0.1:9"


def test_every_query_failing_is_a_fleet_error(backend: FakeBackend) -> None:
    for signal in Signal:
        backend.failing[signal] = ConnectionFailed("reset by peer")
    backend.range_error = ConnectionFailed("reset by peer")
    snap = snapshot(backend)
    assert snap.error == "reset by peer"
    assert snap.deployments == ()


def test_programming_errors_are_not_swallowed(backend: FakeBackend) -> None:
    backend.failing[Signal.ERROR_RATIO] = KeyError("bug")
    with pytest.raises(KeyError):
        snapshot(backend)
