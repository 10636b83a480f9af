"""The fleet's latest drift (card badges), its threshold crossings, and the drift panel's data."""

import asyncio
import math

import numpy as np
import pytest

from console.backends.errors import ServerError
from console.domain.drift import DriftMetric, DriftStatus, DriftThresholds, score
from console.domain.fleet import DeploymentInfo
from console.domain.series import SeriesKey
from console.services.drift import DriftService, PreviousWindow, VersionBaseline
from console.services.drift_panel import DriftPanelData, DriftQuery, drift_panel
from console.services.drift_watch import (
    RETRY_MISSING_EVERY,
    CrossingTracker,
    DriftCrossing,
    DriftReading,
    DriftWatch,
    worst,
)
from tests.support.fake_backend import FakeBackend, FakeHistogram

HOUR = 3600.0
NOW = 1_764_000_000.0
BOUNDS = (10.0, 100.0, 1000.0, math.inf)
BEFORE = (4.0, 3.0, 2.0, 1.0)
AFTER = (1.0, 2.0, 3.0, 4.0)


@pytest.fixture
def backend() -> FakeBackend:
    fake = FakeBackend()
    fake.deployments = [
        DeploymentInfo("steady", "vllm", ("v1",)),
        DeploymentInfo("moved", "vllm", ("v2",)),
        DeploymentInfo("timing-only", "tgi", ("v3",)),
        DeploymentInfo("scorer", "triton", ("v4",)),
    ]
    fake.histograms["output_tokens"] = {
        SeriesKey("steady"): FakeHistogram(BOUNDS, BEFORE),
        SeriesKey("moved"): FakeHistogram(BOUNDS, BEFORE, AFTER, change_at=NOW - HOUR),
    }
    fake.histograms["latency"] = {SeriesKey("timing-only"): FakeHistogram(BOUNDS, BEFORE)}
    return fake


def read(watch: DriftWatch) -> dict[str, DriftReading]:
    return asyncio.run(watch.readings())


def psi(p: tuple[float, ...], q: tuple[float, ...]) -> float:
    return float(score(DriftMetric.PSI, np.array(BOUNDS), np.array(p), np.array(q)))


def test_each_deployment_gets_its_latest_window_against_the_one_before(backend) -> None:
    readings = read(DriftWatch(backend, clock=lambda: NOW))

    assert readings["steady"].status is DriftStatus.OK
    assert readings["steady"].value == pytest.approx(0.0, abs=1e-12)
    moved = readings["moved"]
    assert moved.status is DriftStatus.ALERT
    assert moved.value == pytest.approx(psi(BEFORE, AFTER))
    assert moved.current_count == pytest.approx(sum(AFTER) * HOUR)
    assert moved.baseline_count == pytest.approx(sum(BEFORE) * HOUR)
    assert moved.histogram == "output_tokens"


def test_the_first_preset_histogram_exported_is_watched_and_then_asked_for_alone(
    backend,
) -> None:
    watch = DriftWatch(backend, clock=lambda: NOW)
    first = read(watch)
    assert first["timing-only"].histogram == "latency"
    assert first["scorer"].histogram is None
    assert first["scorer"].status is DriftStatus.INCONCLUSIVE

    backend.histogram_calls.clear()
    read(watch)

    asked = sorted(name for name, *_ in backend.histogram_calls)
    # one bounded query per watched deployment; the one without histograms is left alone
    assert asked == ["latency", "output_tokens", "output_tokens"]
    plans = {plan for _, plan, _, _ in backend.histogram_calls}
    assert {(p.points, p.step, p.end) for p in plans} == {(2, HOUR, NOW)}


def test_a_deployment_without_histograms_is_asked_again_now_and_then(backend) -> None:
    watch = DriftWatch(backend, clock=lambda: NOW)
    read(watch)
    backend.histograms["ttft"] = {SeriesKey("scorer"): FakeHistogram(BOUNDS, BEFORE)}
    for _ in range(RETRY_MISSING_EVERY - 1):
        assert read(watch)["scorer"].histogram is None
    assert read(watch)["scorer"].histogram == "ttft"


def test_profile_thresholds_and_minimum_count_decide_the_status(backend) -> None:
    strict = DriftWatch(
        backend,
        clock=lambda: NOW,
        thresholds_for=lambda h, m: DriftThresholds(0.0, 100.0) if h == "latency" else None,
    )
    assert read(strict)["timing-only"].status is DriftStatus.WARN
    assert read(strict)["moved"].status is DriftStatus.ALERT  # default levels elsewhere

    picky = DriftWatch(backend, clock=lambda: NOW, min_count=sum(AFTER) * HOUR + 1)
    assert read(picky)["moved"].status is DriftStatus.INCONCLUSIVE


def test_a_backend_error_fails_the_check(backend) -> None:
    backend.error = ServerError("HTTP 503")
    with pytest.raises(ServerError):
        read(DriftWatch(backend, clock=lambda: NOW))


def reading(name: str, status: DriftStatus, value: float = 0.5) -> DriftReading:
    return DriftReading(name, "output_tokens", value, status)


def test_crossings_are_reported_once_on_change_only() -> None:
    tracker = CrossingTracker()
    ok, warn, alert = DriftStatus.OK, DriftStatus.WARN, DriftStatus.ALERT

    assert tracker.update({"a": reading("a", ok), "b": reading("b", alert)}) == []
    assert tracker.update({"a": reading("a", ok), "b": reading("b", alert)}) == []
    crossings = tracker.update({"a": reading("a", warn, 0.12), "b": reading("b", ok, 0.01)})
    assert crossings == [
        DriftCrossing("a", "output_tokens", ok, warn, 0.12),
        DriftCrossing("b", "output_tokens", alert, ok, 0.01),
    ]
    assert [c.worse for c in crossings] == [True, False]
    # an inconclusive reading neither crosses nor forgets where the drift was
    assert tracker.update({"a": reading("a", DriftStatus.INCONCLUSIVE, math.nan)}) == []
    assert tracker.update({"a": reading("a", alert, 0.4)}) == [
        DriftCrossing("a", "output_tokens", warn, alert, 0.4)
    ]


def test_worst_status_orders_alert_warn_inconclusive_ok() -> None:
    assert worst({}) is None
    assert worst({"a": DriftStatus.OK, "b": DriftStatus.INCONCLUSIVE}) is DriftStatus.INCONCLUSIVE
    assert worst({"a": DriftStatus.WARN, "b": DriftStatus.ALERT}) is DriftStatus.ALERT


def panel(backend: FakeBackend, query: DriftQuery) -> DriftPanelData:
    return asyncio.run(
        drift_panel(DriftService(backend, clock=lambda: NOW), query, clock=lambda: NOW)
    )


@pytest.mark.parametrize("metric", [DriftMetric.PSI, DriftMetric.JS, DriftMetric.HELLINGER])
def test_panel_contributions_sum_to_each_steps_score(backend, metric) -> None:
    data = panel(
        backend, DriftQuery("moved", "output_tokens", 6 * HOUR, HOUR, PreviousWindow(), metric)
    )

    series = data.series
    assert series is not None and np.isfinite(series.values).all()
    assert np.nansum(data.contributions, axis=1) == pytest.approx(series.values, abs=1e-12)
    assert np.nansum(data.current_shares, axis=1) == pytest.approx(np.ones(series.values.size))
    assert data.current_shares[-1] == pytest.approx(np.array(AFTER) / sum(AFTER))
    assert data.problem is None and data.serving == ("v2",)


def test_panel_ks_contributions_peak_at_the_score(backend) -> None:
    query = DriftQuery("moved", "output_tokens", 6 * HOUR, HOUR, PreviousWindow(), DriftMetric.KS)
    data = panel(backend, query)
    assert data.series is not None
    assert data.contributions.max(axis=1) == pytest.approx(data.series.values)


def test_panel_marks_version_changes_and_says_why_a_baseline_is_impossible(backend) -> None:
    backend.histories["moved"] = [(-math.inf, ("v1",)), (NOW - 2 * HOUR, ("v2",))]
    query = DriftQuery(
        "moved", "output_tokens", 6 * HOUR, HOUR, VersionBaseline("v1"), DriftMetric.PSI
    )

    data = panel(backend, query)

    assert data.series is None
    assert data.problem is not None and "exactly one other version" in data.problem
    assert [mark.text for mark in data.marks] == ["v1 → v2"]
    assert data.marks[0].at == pytest.approx(NOW - 2 * HOUR, abs=6 * HOUR / 600)


def test_panel_without_version_history_still_has_its_series(backend) -> None:
    backend.range_error = ServerError("HTTP 502 from the history")
    query = DriftQuery("steady", "output_tokens", 6 * HOUR, HOUR, PreviousWindow(), DriftMetric.PSI)
    data = panel(backend, query)
    assert data.series is not None and data.marks == ()
    assert data.note == "version changes unavailable: HTTP 502 from the history"
