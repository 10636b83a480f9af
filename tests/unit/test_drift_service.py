"""DriftService: step planning, the three baselines, alignment, statuses, low counts."""

import asyncio
import math

import numpy as np
import pytest

from console.domain.drift import DriftMetric, DriftStatus, DriftThresholds, score
from console.domain.fleet import DeploymentInfo
from console.domain.series import SeriesKey
from console.domain.timerange import MAX_POINTS_PER_SERIES
from console.services.drift import (
    Baseline,
    DriftRequestError,
    DriftSeries,
    DriftService,
    PreviousWindow,
    ReferenceRange,
    VersionBaseline,
)
from tests.support.fake_backend import FakeBackend, FakeHistogram

HOUR = 3600.0
NOW = 1_764_000_000.0 + 600.0  # 10 minutes past a whole hour
LAST_STEP = NOW - 600.0
BOUNDS = (10.0, 100.0, 1000.0, math.inf)
BEFORE = (4.0, 3.0, 2.0, 1.0)
AFTER = (1.0, 2.0, 3.0, 4.0)
CHANGE_AT = LAST_STEP - 2.5 * HOUR
"""Half-way through the window that ends two steps before the last one."""


@pytest.fixture
def backend() -> FakeBackend:
    fake = FakeBackend()
    fake.deployments = [
        DeploymentInfo("chat", "vllm", ("v1", "v2")),
        DeploymentInfo("solo", "vllm", ("v9",)),
    ]
    fake.histograms["output_tokens"] = {
        SeriesKey("chat"): FakeHistogram(BOUNDS, BEFORE, AFTER, CHANGE_AT),
        SeriesKey("chat", "v1"): FakeHistogram(BOUNDS, BEFORE),
        SeriesKey("chat", "v2"): FakeHistogram(BOUNDS, AFTER),
    }
    return fake


def drift(
    backend: FakeBackend,
    baseline: Baseline,
    *,
    deployment: str = "chat",
    range_s: float = 6 * HOUR,
    step_s: float = HOUR,
    window_s: float = HOUR,
    metric: DriftMetric = DriftMetric.PSI,
    thresholds: DriftThresholds | None = None,
    min_count: float = 100.0,
) -> DriftSeries:
    service = DriftService(backend, clock=lambda: NOW)
    return asyncio.run(
        service.series(
            deployment,
            "output_tokens",
            range_s=range_s,
            step_s=step_s,
            window_s=window_s,
            baseline=baseline,
            metric=metric,
            thresholds=thresholds,
            min_count=min_count,
        )
    )


def psi(p: tuple[float, ...], q: tuple[float, ...]) -> float:
    """PSI of two count vectors, straight from its definition (epsilon-smoothed)."""
    a, b = np.array(p) / sum(p), np.array(q) / sum(q)
    a, b = (a + 1e-4) / (1 + 4e-4), (b + 1e-4) / (1 + 4e-4)
    return float(np.sum((b - a) * np.log(b / a)))


def mix(share_after: float) -> tuple[float, ...]:
    return tuple(
        (1 - share_after) * x + share_after * y for x, y in zip(BEFORE, AFTER, strict=True)
    )


def test_steps_are_whole_hours_up_to_now_and_never_in_the_future(backend: FakeBackend) -> None:
    series = drift(backend, PreviousWindow())

    assert series.timestamps[-1] == LAST_STEP
    assert np.all(np.diff(series.timestamps) == HOUR)
    assert series.timestamps[0] <= NOW - 6 * HOUR + HOUR
    assert len(series.points) == series.timestamps.size


def test_previous_window_compares_each_window_with_the_one_before(backend: FakeBackend) -> None:
    series = drift(backend, PreviousWindow())
    by_time = {p.timestamp: p for p in series.points}

    straddling = by_time[LAST_STEP - 2 * HOUR]  # half before, half after the change
    after = by_time[LAST_STEP - HOUR]
    assert straddling.value == pytest.approx(psi(BEFORE, mix(0.5)))
    assert after.value == pytest.approx(psi(mix(0.5), AFTER))
    assert by_time[LAST_STEP].value == pytest.approx(0.0, abs=1e-12)
    assert by_time[LAST_STEP - 3 * HOUR].value == pytest.approx(0.0, abs=1e-12)
    assert straddling.baseline_count == pytest.approx(sum(BEFORE) * HOUR)
    # One query over the range extended by the window, shifted for the baseline.
    [(name, plan, window_s, by_version)] = backend.histogram_calls
    assert (name, window_s, by_version) == ("output_tokens", HOUR, False)
    assert plan.start == series.timestamps[0] - HOUR and plan.end == LAST_STEP


def test_a_window_that_is_not_whole_steps_queries_a_shifted_range(backend: FakeBackend) -> None:
    series = drift(backend, PreviousWindow(), window_s=1.5 * HOUR)

    plans = sorted(plan.start for _, plan, _, _ in backend.histogram_calls)
    assert plans == [series.timestamps[0] - 1.5 * HOUR, series.timestamps[0]]
    # The window ending at the last step is all "after"; the one before it is 2/3 after.
    assert series.values[-1] == pytest.approx(psi(mix(2 / 3), AFTER))


def test_reference_range_is_one_distribution_for_every_step(backend: FakeBackend) -> None:
    reference = ReferenceRange(CHANGE_AT - 24 * HOUR, CHANGE_AT - 23 * HOUR)

    series = drift(backend, reference)

    assert np.all(series.baseline_counts == np.array(BEFORE) * HOUR)
    assert series.values[-1] == pytest.approx(psi(BEFORE, AFTER))
    assert series.values[0] == pytest.approx(0.0, abs=1e-12)
    reference_call = next(c for c in backend.histogram_calls if c[1].start == reference.end)
    assert reference_call[1].points == 1 and reference_call[2] == HOUR


def test_version_baseline_compares_the_other_serving_version(backend: FakeBackend) -> None:
    series = drift(backend, VersionBaseline("v1"))

    assert series.current_version == "v2"
    assert np.allclose(series.values, psi(BEFORE, AFTER))
    assert all(call[3] for call in backend.histogram_calls)


@pytest.mark.parametrize(
    ("deployment", "version", "message"),
    [
        ("solo", "v9", "serves v9 now"),
        ("chat", "v5", "needs 'v5'"),
        ("ghost", "v1", "unknown deployment 'ghost'"),
    ],
)
def test_impossible_requests_are_refused(
    backend: FakeBackend, deployment: str, version: str, message: str
) -> None:
    with pytest.raises(DriftRequestError, match=message):
        drift(backend, VersionBaseline(version), deployment=deployment)


def test_versions_with_different_bounds_are_rebinned(backend: FakeBackend) -> None:
    backend.histograms["output_tokens"][SeriesKey("chat", "v2")] = FakeHistogram(
        (10.0, 100.0, 550.0, 1000.0, math.inf), (4.0, 3.0, 1.0, 1.0, 1.0)
    )

    series = drift(backend, VersionBaseline("v1"))

    assert series.bounds.tolist() == [10.0, 100.0, 550.0, 1000.0, math.inf]
    assert np.allclose(series.values, 0.0, atol=1e-12)


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        (None, DriftStatus.WARN),  # PSI 0.228: between the default 0.1 and 0.25
        (DriftThresholds(warn=0.05, alert=0.1), DriftStatus.ALERT),
        (DriftThresholds(warn=0.3, alert=5.0), DriftStatus.OK),
    ],
)
def test_status_follows_the_thresholds(
    backend: FakeBackend, thresholds: DriftThresholds | None, expected: DriftStatus
) -> None:
    series = drift(backend, PreviousWindow(), thresholds=thresholds)

    assert psi(BEFORE, mix(0.5)) == pytest.approx(0.228, abs=1e-3)
    statuses = [p.status for p in series.points]
    assert statuses[-3:] == [expected, expected, DriftStatus.OK]
    assert set(statuses[:-3]) == {DriftStatus.OK}


def test_few_samples_are_inconclusive_never_ok(backend: FakeBackend) -> None:
    tiny = tuple(x / 1e4 for x in BEFORE)
    backend.histograms["output_tokens"][SeriesKey("chat")] = FakeHistogram(BOUNDS, tiny)

    series = drift(backend, PreviousWindow())
    assert {p.status for p in series.points} == {DriftStatus.INCONCLUSIVE}
    assert all(p.value == pytest.approx(0.0, abs=1e-12) for p in series.points)

    relaxed = drift(backend, PreviousWindow(), min_count=1.0)
    assert {p.status for p in relaxed.points} == {DriftStatus.OK}


def test_no_histogram_gives_inconclusive_steps_without_values(backend: FakeBackend) -> None:
    series = drift(backend, PreviousWindow(), deployment="solo")

    assert series.bounds.size == 0
    assert all(math.isnan(p.value) for p in series.points)
    assert {p.status for p in series.points} == {DriftStatus.INCONCLUSIVE}


def test_wasserstein_without_thresholds_is_ok_or_inconclusive(backend: FakeBackend) -> None:
    series = drift(backend, PreviousWindow(), metric=DriftMetric.WASSERSTEIN)

    assert series.values[-3] > 0
    assert {p.status for p in series.points} == {DriftStatus.OK}


def test_values_come_from_the_vectorised_score(backend: FakeBackend) -> None:
    series = drift(backend, PreviousWindow(), metric=DriftMetric.JS)

    expected = score(DriftMetric.JS, series.bounds, series.baseline_counts, series.current_counts)
    assert np.array_equal(series.values, expected)


@pytest.mark.parametrize(
    ("range_s", "step_s"), [(7 * 86_400.0, HOUR), (30 * 86_400.0, 60.0), (100.0, 30.0)]
)
def test_steps_are_never_finer_than_asked_nor_more_than_the_limit(
    backend: FakeBackend, range_s: float, step_s: float
) -> None:
    series = drift(backend, PreviousWindow(), range_s=range_s, step_s=step_s, window_s=step_s)

    plan = backend.histogram_calls[-1][1]
    assert plan.step >= step_s
    assert all(call[1].points <= MAX_POINTS_PER_SERIES for call in backend.histogram_calls)
    assert series.timestamps.size <= MAX_POINTS_PER_SERIES
