"""Drift math: scores match scipy references, re-binning keeps counts, properties hold."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from console.domain.drift import (
    DEFAULT_THRESHOLDS,
    DriftMetric,
    DriftStatus,
    DriftThresholds,
    Histogram,
    bucket_midpoints,
    categorical_psi,
    chi_square,
    chi_square_sf,
    contributions,
    judge,
    rebin,
    score,
    score_pair,
)
from console.domain.series import FloatArray

BOUNDS = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, np.inf])
EPS = 1e-4


def random_counts(rng: np.random.Generator, shape: tuple[int, ...]) -> FloatArray:
    """Counts with some empty buckets, as real histograms have."""
    counts = rng.gamma(0.7, 50.0, size=shape)
    counts[rng.random(shape) < 0.2] = 0.0
    counts[..., 0] += 1.0  # no empty side
    return counts


def probabilities(counts: FloatArray) -> FloatArray:
    normalised: FloatArray = counts / counts.sum()
    return normalised


def psi_reference(p: list[float], q: list[float], epsilon: float) -> float:
    """PSI one bucket at a time, in plain Python."""
    ps = [(x + epsilon) / (1 + len(p) * epsilon) for x in p]
    qs = [(x + epsilon) / (1 + len(q) * epsilon) for x in q]
    return math.fsum((b - a) * math.log(b / a) for a, b in zip(ps, qs, strict=True))


# --- against scipy and direct references ----------------------------------------------------


def test_js_matches_scipy_jensenshannon_base_2() -> None:
    rng = np.random.default_rng(1)
    base, cur = random_counts(rng, (50, BOUNDS.size)), random_counts(rng, (50, BOUNDS.size))
    ours = score(DriftMetric.JS, BOUNDS, base, cur)
    expected = [distance.jensenshannon(b, c, base=2) for b, c in zip(base, cur, strict=True)]
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)


def test_wasserstein_matches_scipy_on_bucket_midpoints() -> None:
    rng = np.random.default_rng(2)
    base, cur = random_counts(rng, (50, BOUNDS.size)), random_counts(rng, (50, BOUNDS.size))
    mid = bucket_midpoints(BOUNDS)
    ours = score(DriftMetric.WASSERSTEIN, BOUNDS, base, cur)
    expected = [stats.wasserstein_distance(mid, mid, b, c) for b, c in zip(base, cur, strict=True)]
    np.testing.assert_allclose(ours, expected, rtol=1e-9)


def test_midpoints_start_at_zero_and_put_the_inf_bucket_at_the_last_finite_bound() -> None:
    np.testing.assert_allclose(
        bucket_midpoints(np.array([10.0, 20.0, 40.0, np.inf])), [5.0, 15.0, 30.0, 40.0]
    )
    # A first bound <= 0 starts one width of the next bucket below it.
    np.testing.assert_allclose(bucket_midpoints(np.array([-1.0, 1.0, 3.0])), [-2.0, 0.0, 2.0])


def test_ks_equals_scipy_when_every_value_has_its_own_bucket() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.poisson(8.0, size=300)
        y = rng.poisson(rng.uniform(6.0, 10.0), size=200)
        bounds = np.append(np.arange(0.0, 30.0), np.inf)  # le = 0, 1, ..., 29, +inf
        base = np.bincount(np.minimum(x, 30), minlength=31).astype(float)
        cur = np.bincount(np.minimum(y, 30), minlength=31).astype(float)
        expected = stats.ks_2samp(x, y).statistic
        assert float(score(DriftMetric.KS, bounds, base, cur)) == pytest.approx(expected)


def test_hellinger_matches_the_bhattacharyya_form() -> None:
    rng = np.random.default_rng(4)
    base, cur = random_counts(rng, (50, BOUNDS.size)), random_counts(rng, (50, BOUNDS.size))
    ours = score(DriftMetric.HELLINGER, BOUNDS, base, cur)
    expected = [
        math.sqrt(1 - float(np.sum(np.sqrt(probabilities(b) * probabilities(c)))))
        for b, c in zip(base, cur, strict=True)
    ]
    np.testing.assert_allclose(ours, expected, rtol=1e-7)


def test_psi_matches_the_smoothed_formula() -> None:
    rng = np.random.default_rng(5)
    base, cur = random_counts(rng, (50, BOUNDS.size)), random_counts(rng, (50, BOUNDS.size))
    ours = score(DriftMetric.PSI, BOUNDS, base, cur, epsilon=EPS)
    expected = [
        psi_reference(probabilities(b).tolist(), probabilities(c).tolist(), EPS)
        for b, c in zip(base, cur, strict=True)
    ]
    np.testing.assert_allclose(ours, expected, rtol=1e-9)


def test_psi_of_an_emptied_bucket_is_finite_and_grows_as_epsilon_shrinks() -> None:
    base, cur = np.array([50.0, 50.0, 0.0]), np.array([50.0, 0.0, 50.0])
    bounds = np.array([1.0, 2.0, 3.0])
    coarse = float(score(DriftMetric.PSI, bounds, base, cur, epsilon=1e-2))
    fine = float(score(DriftMetric.PSI, bounds, base, cur, epsilon=1e-6))
    assert math.isfinite(fine) and fine > coarse > 1.0


@pytest.mark.parametrize(
    ("baseline", "current"),
    [
        ({"stop": 900, "length": 80, "tool": 20}, {"stop": 700, "length": 280, "abort": 3}),
        ({"ok": 50, "bad": 50}, {"ok": 48, "bad": 52}),
        ({"a": 1e6, "b": 1e6, "c": 5}, {"a": 1e6, "b": 1.1e6, "c": 400}),
    ],
)
def test_chi_square_matches_scipy_contingency(
    baseline: dict[str, float], current: dict[str, float]
) -> None:
    categories = sorted(set(baseline) | set(current))
    table = [[side.get(c, 0) for c in categories] for side in (baseline, current)]
    expected = stats.chi2_contingency(table, correction=False)
    statistic, p_value = chi_square(baseline, current)
    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_chi_square_drops_categories_absent_on_both_sides() -> None:
    with_empty = chi_square({"a": 10, "b": 30, "z": 0}, {"a": 20, "b": 15})
    assert with_empty == pytest.approx(chi_square({"a": 10, "b": 30}, {"a": 20, "b": 15}))
    assert chi_square({"a": 10}, {"a": 99}) == (0.0, 1.0)


@pytest.mark.parametrize("dof", [1, 2, 3, 7, 30, 199, 2000])
@pytest.mark.parametrize("scale", [0.0, 0.05, 0.5, 0.9, 1.0, 1.3, 2.0, 5.0, 20.0])
def test_chi_square_sf_matches_scipy(dof: int, scale: float) -> None:
    x = scale * dof + (3.0 if scale >= 5 else 0.0)
    assert chi_square_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-9, abs=1e-300)


def test_chi_square_sf_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="degrees of freedom"):
        chi_square_sf(1.0, 0)
    with pytest.raises(ValueError, match="statistic"):
        chi_square_sf(-1.0, 2)
    assert chi_square_sf(math.inf, 3) == 0.0


def test_categorical_psi_matches_the_formula_over_the_union_of_categories() -> None:
    baseline, current = {"a": 60, "b": 40}, {"a": 30, "c": 70}
    expected = psi_reference([0.6, 0.4, 0.0], [0.3, 0.0, 0.7], EPS)
    assert categorical_psi(baseline, current) == pytest.approx(expected, rel=1e-9)
    assert categorical_psi(baseline, baseline) == 0.0


def test_categorical_scores_are_nan_when_a_side_is_empty() -> None:
    assert math.isnan(categorical_psi({"a": 5}, {}))
    assert math.isnan(categorical_psi({}, {}))
    assert all(math.isnan(v) for v in chi_square({"a": 5, "b": 1}, {"a": 0}))
    with pytest.raises(ValueError, match="'b'"):
        chi_square({"a": 5, "b": -1}, {"a": 3})


# --- re-binning and histograms ---------------------------------------------------------------


def test_rebin_splits_buckets_linearly_and_keeps_the_inf_bucket() -> None:
    a = Histogram(np.array([10.0, 20.0, np.inf]), np.array([10.0, 20.0, 5.0]))
    b = Histogram(np.array([5.0, 15.0, np.inf]), np.array([4.0, 6.0, 3.0]))
    bounds, counts_a, counts_b = rebin(a, b)
    np.testing.assert_array_equal(bounds, [5.0, 10.0, 15.0, 20.0, np.inf])
    np.testing.assert_allclose(counts_a, [5.0, 5.0, 10.0, 10.0, 5.0])
    np.testing.assert_allclose(counts_b, [4.0, 3.0, 3.0, 0.0, 3.0])


def test_rebin_with_a_first_bound_at_or_below_zero() -> None:
    a = Histogram(np.array([0.0, 2.0, 4.0]), np.array([4.0, 2.0, 2.0]))  # first bucket (-2, 0]
    b = Histogram(np.array([-1.0, 4.0]), np.array([1.0, 1.0]))
    bounds, counts_a, counts_b = rebin(a, b)
    np.testing.assert_array_equal(bounds, [-1.0, 0.0, 2.0, 4.0])
    np.testing.assert_allclose(counts_a, [2.0, 2.0, 2.0, 2.0])
    np.testing.assert_allclose(counts_b, [1.0, 0.2, 0.4, 0.4])  # b's (-1, 4] split by width


def test_rebin_conserves_totals_on_random_bounds() -> None:
    rng = np.random.default_rng(6)
    for _ in range(50):
        bounds_a = np.sort(rng.choice(np.arange(1.0, 200.0), size=12, replace=False))
        bounds_b = np.append(
            np.sort(rng.choice(np.arange(1.0, 300.0), size=7, replace=False)), np.inf
        )
        a = Histogram(bounds_a, random_counts(rng, (12,)))
        b = Histogram(bounds_b, random_counts(rng, (8,)))
        _, counts_a, counts_b = rebin(a, b)
        assert counts_a.sum() == pytest.approx(a.total)
        assert counts_b.sum() == pytest.approx(b.total)
        assert np.all(counts_a >= 0) and np.all(counts_b >= 0)
        # Re-binning a histogram onto bounds it already has changes nothing.
        np.testing.assert_allclose(rebin(a, a)[1], a.counts)


def test_from_cumulative_sorts_le_and_clips_negative_steps() -> None:
    h = Histogram.from_cumulative([np.inf, 1.0, 0.5], [10.0, 7.0, 7.5])
    np.testing.assert_array_equal(h.bounds, [0.5, 1.0, np.inf])
    np.testing.assert_array_equal(h.counts, [7.5, 0.0, 3.0])
    assert h.total == 10.5


@pytest.mark.parametrize(
    ("bounds", "counts", "message"),
    [
        ([1.0, 1.0], [1.0, 1.0], "strictly increasing"),
        ([1.0, np.inf, 3.0], [1.0, 1.0, 1.0], "finite"),
        ([np.nan], [1.0], "finite"),
        ([], [], "non-empty"),
        ([1.0, 2.0], [1.0], "shape"),
        ([1.0, 2.0], [1.0, -1.0], ">= 0"),
        ([1.0, 2.0], [1.0, np.nan], "finite"),
    ],
)
def test_histogram_refuses_bad_buckets(
    bounds: list[float], counts: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Histogram(np.array(bounds), np.array(counts))


def test_from_cumulative_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 le bounds but 3"):
        Histogram.from_cumulative([1.0, 2.0], [1.0, 2.0, 3.0])


# --- vectorised scoring, empty sides, contributions ------------------------------------------


@pytest.mark.parametrize("metric", list(DriftMetric))
def test_vectorised_score_equals_per_pair_score(metric: DriftMetric) -> None:
    rng = np.random.default_rng(7)
    base, cur = random_counts(rng, (3, 4, BOUNDS.size)), random_counts(rng, (3, 4, BOUNDS.size))
    batch = score(metric, BOUNDS, base, cur)
    assert batch.shape == (3, 4)
    for index in np.ndindex(3, 4):
        pair = score_pair(metric, Histogram(BOUNDS, base[index]), Histogram(BOUNDS, cur[index]))
        assert batch[index] == pytest.approx(pair, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("metric", list(DriftMetric))
def test_many_pairs_score_as_each_pair_alone(metric: DriftMetric) -> None:
    rng = np.random.default_rng(10)
    base, cur = random_counts(rng, (2500, BOUNDS.size)), random_counts(rng, (2500, BOUNDS.size))
    base[[3, 1500, 2499]] = 0.0  # empty sides in several chunks of rows
    batch = score(metric, BOUNDS, base, cur)
    alone = [float(score(metric, BOUNDS, b, c)) for b, c in zip(base, cur, strict=True)]
    np.testing.assert_array_equal(batch, alone)
    assert (
        np.isnan(batch[[3, 1500, 2499]]).all()
        and np.isfinite(np.delete(batch, [3, 1500, 2499])).all()
    )
    parts = contributions(metric, BOUNDS, base, cur)
    np.testing.assert_array_equal(parts[7], contributions(metric, BOUNDS, base[7], cur[7]))


def test_js_at_its_extremes() -> None:
    bounds = np.array([1.0, 2.0])

    def js(baseline: list[float], current: list[float]) -> float:
        return float(score(DriftMetric.JS, bounds, np.array(baseline), np.array(current)))

    assert js([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    # A side that is vanishingly small next to the other is ~0 drift, not a log(0) error.
    assert 0.0 <= js([1.0, 1e-300], [1.0, 0.0]) < 1e-100
    # Near-identical sides give a near-zero distance, not a rounding floor of ~1e-8.
    near = js([1.0, 1.0], [1.0, 1.0 + 1e-12])
    assert near == pytest.approx(distance.jensenshannon([1, 1], [1, 1 + 1e-12], base=2), rel=1e-6)
    assert near < 1e-12


@pytest.mark.parametrize("metric", list(DriftMetric))
def test_an_empty_side_is_nan_never_zero(metric: DriftMetric) -> None:
    base = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    cur = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, np.nan, 3.0], [3.0, 2.0, 1.0]])
    bounds = np.array([1.0, 2.0, np.inf])
    values = score(metric, bounds, base, cur)
    assert np.isnan(values[:3]).all() and np.isfinite(values[3])
    assert np.isnan(contributions(metric, bounds, base, cur)[:3]).all()
    empty = Histogram(bounds, np.zeros(3))
    assert math.isnan(score_pair(metric, empty, Histogram(bounds, np.ones(3))))


@pytest.mark.parametrize("metric", list(DriftMetric))
def test_contributions_add_up_to_the_score(metric: DriftMetric) -> None:
    rng = np.random.default_rng(8)
    base, cur = random_counts(rng, (20, BOUNDS.size)), random_counts(rng, (20, BOUNDS.size))
    parts = contributions(metric, BOUNDS, base, cur)
    assert parts.shape == base.shape and np.all(parts >= 0)
    combined = parts.max(axis=-1) if metric is DriftMetric.KS else parts.sum(axis=-1)
    np.testing.assert_allclose(combined, score(metric, BOUNDS, base, cur), rtol=1e-9)


def test_contributions_point_at_the_bucket_that_moved() -> None:
    base = np.array([100.0, 100.0, 100.0, 100.0])
    cur = np.array([100.0, 100.0, 100.0, 400.0])
    bounds = np.array([1.0, 2.0, 3.0, 4.0])
    for metric in (DriftMetric.PSI, DriftMetric.JS, DriftMetric.HELLINGER):
        assert np.argmax(contributions(metric, bounds, base, cur)) == 3


def test_score_broadcasts_one_baseline_against_many_and_refuses_bad_shapes() -> None:
    rng = np.random.default_rng(9)
    base, cur = random_counts(rng, (BOUNDS.size,)), random_counts(rng, (5, BOUNDS.size))
    np.testing.assert_allclose(
        score(DriftMetric.JS, BOUNDS, base, cur),
        [float(score(DriftMetric.JS, BOUNDS, base, row)) for row in cur],
    )
    with pytest.raises(ValueError, match="9 bucket bounds"):
        score(DriftMetric.JS, BOUNDS, base[:4], base[:4])
    with pytest.raises(ValueError, match=">= 0"):
        score(DriftMetric.JS, BOUNDS, -base, base)
    with pytest.raises(ValueError, match="epsilon"):
        score(DriftMetric.PSI, BOUNDS, base, base, epsilon=0.0)


# --- judging ------------------------------------------------------------------------------


def test_judge_levels_and_inconclusive() -> None:
    psi = DEFAULT_THRESHOLDS[DriftMetric.PSI]
    counts = {"baseline_count": 500.0, "current_count": 500.0}
    assert judge(0.05, psi, **counts) is DriftStatus.OK
    assert judge(0.1, psi, **counts) is DriftStatus.WARN
    assert judge(0.3, psi, **counts) is DriftStatus.ALERT
    assert judge(math.nan, psi, **counts) is DriftStatus.INCONCLUSIVE
    assert judge(0.3, psi, baseline_count=99, current_count=500) is DriftStatus.INCONCLUSIVE
    assert judge(0.3, psi, baseline_count=500, current_count=math.nan) is DriftStatus.INCONCLUSIVE
    assert judge(0.3, psi, baseline_count=20, current_count=20, min_count=10) is DriftStatus.ALERT


def test_default_thresholds() -> None:
    assert DEFAULT_THRESHOLDS[DriftMetric.PSI] == DriftThresholds(warn=0.1, alert=0.25)
    assert DEFAULT_THRESHOLDS[DriftMetric.JS] == DriftThresholds(warn=0.1, alert=0.2)
    assert DriftMetric.WASSERSTEIN not in DEFAULT_THRESHOLDS  # in the signal's unit
    with pytest.raises(ValueError, match="below warn"):
        DriftThresholds(warn=0.3, alert=0.2)


# --- properties -----------------------------------------------------------------------------


@st.composite
def histogram_pairs(draw: st.DrawFn) -> tuple[FloatArray, FloatArray, FloatArray]:
    size = draw(st.integers(min_value=1, max_value=12))
    finite = draw(
        st.lists(
            st.floats(min_value=-1e4, max_value=1e6, allow_nan=False),
            min_size=size,
            max_size=size,
            unique=True,
        )
    )
    bounds = np.sort(np.array(finite))
    if size > 1 and draw(st.booleans()):
        bounds[-1] = np.inf
    counts = st.lists(
        st.integers(min_value=0, max_value=10_000), min_size=size, max_size=size
    ).filter(lambda c: sum(c) > 0)
    return bounds, np.array(draw(counts), dtype=float), np.array(draw(counts), dtype=float)


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(histogram_pairs())
def test_identical_distributions_score_zero(
    pair: tuple[FloatArray, FloatArray, FloatArray],
) -> None:
    bounds, base, _ = pair
    scale = max(1.0, float(np.abs(bounds[np.isfinite(bounds)]).max()))
    for metric in DriftMetric:
        assert float(score(metric, bounds, base, base)) == 0.0
        tolerance = 1e-12 * (scale if metric is DriftMetric.WASSERSTEIN else 1.0)
        assert float(score(metric, bounds, base, base * 3)) == pytest.approx(0.0, abs=tolerance)


@PROPERTY
@given(histogram_pairs())
def test_every_metric_is_symmetric(pair: tuple[FloatArray, FloatArray, FloatArray]) -> None:
    bounds, base, cur = pair
    for metric in DriftMetric:
        forward = float(score(metric, bounds, base, cur))
        assert float(score(metric, bounds, cur, base)) == pytest.approx(forward, rel=1e-12)


@PROPERTY
@given(histogram_pairs())
def test_scores_stay_within_their_bounds(pair: tuple[FloatArray, FloatArray, FloatArray]) -> None:
    bounds, base, cur = pair
    for metric in DriftMetric:
        value = float(score(metric, bounds, base, cur))
        assert value >= 0
        if metric in (DriftMetric.JS, DriftMetric.KS, DriftMetric.HELLINGER):
            assert value <= 1


@PROPERTY
@given(histogram_pairs(), histogram_pairs())
def test_rebinned_pairs_are_symmetric_and_conserve_counts(
    first: tuple[FloatArray, FloatArray, FloatArray],
    second: tuple[FloatArray, FloatArray, FloatArray],
) -> None:
    a, b = Histogram(first[0], first[1]), Histogram(second[0], second[1])
    _, counts_a, counts_b = rebin(a, b)
    assert counts_a.sum() == pytest.approx(a.total) and counts_b.sum() == pytest.approx(b.total)
    for metric in DriftMetric:
        forward = score_pair(metric, a, b)
        assert score_pair(metric, b, a) == pytest.approx(forward, rel=1e-12)
