"""Drift between two distributions: histograms (Prometheus buckets) and category counts.

A histogram follows Prometheus: each bucket has an upper bound (``le``) and the last bound may
be +inf. Scores work on many pairs at once: counts carry any leading shape, buckets on the last
axis, and a pair where either side is empty (or not finite) scores NaN, "inconclusive", never 0.
"""

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from console.domain.histograms import per_bucket
from console.domain.series import FloatArray
from console.domain.slo import Threshold

BoolArray = npt.NDArray[np.bool_]

DEFAULT_EPSILON = 1e-4
_TINY = 1e-300
_NEAR_ONE = 1 - 2**-50
_CHUNK_ROWS = 1024  # pairs scored at a time, so that the temporary arrays stay in cache


def _check_bounds(bounds: FloatArray, where: str) -> None:
    if bounds.ndim != 1 or bounds.size == 0:
        raise ValueError(f"{where}: bucket bounds must be a non-empty 1-D array, got {bounds!r}")
    if not np.all(np.isfinite(bounds[:-1])) or np.isnan(bounds[-1]) or bounds[-1] == -np.inf:
        raise ValueError(f"{where}: bucket bounds must be finite (the last may be +inf): {bounds}")
    if not np.all(np.diff(bounds) > 0):
        raise ValueError(f"{where}: bucket bounds must be strictly increasing: {bounds}")


@dataclass(frozen=True, eq=False)
class Histogram:
    """Bucket upper bounds (strictly increasing, the last may be +inf) and each bucket's count.

    ``counts`` are per bucket (not cumulative), finite and >= 0.
    """

    bounds: FloatArray
    counts: FloatArray

    def __post_init__(self) -> None:
        _check_bounds(self.bounds, "histogram")
        if self.counts.shape != self.bounds.shape:
            raise ValueError(
                f"histogram: counts of shape {self.counts.shape} "
                f"for bounds of shape {self.bounds.shape}"
            )
        if not np.all(np.isfinite(self.counts)) or np.any(self.counts < 0):
            raise ValueError(f"histogram: counts must be finite and >= 0: {self.counts}")

    @classmethod
    def from_cumulative(cls, le: Sequence[float], cumulative: Sequence[float]) -> "Histogram":
        """From Prometheus bucket series (``le`` in any order, cumulative counts).

        A count that drops from one bucket to the next gives that bucket 0 (see per_bucket).
        """
        bounds = np.asarray(le, dtype=np.float64)
        running = np.asarray(cumulative, dtype=np.float64)
        if bounds.shape != running.shape:
            raise ValueError(
                f"histogram: {bounds.size} le bounds but {running.size} cumulative counts"
            )
        return cls(*per_bucket(bounds, running))

    @property
    def total(self) -> float:
        """The number of observations over all buckets."""
        return float(self.counts.sum())


def _first_lower_edge(bounds: FloatArray) -> float:
    """Where the first bucket starts; Prometheus only gives upper bounds.

    0 when the first upper bound is positive (sizes, durations and token counts are >= 0);
    otherwise one width of the next bucket below it (1 when there is no finite next bucket).
    """
    first = float(bounds[0])
    if first > 0:
        return 0.0
    width = float(bounds[1] - first) if bounds.size > 1 and np.isfinite(bounds[1]) else 1.0
    return first - width


def bucket_midpoints(bounds: FloatArray) -> FloatArray:
    """Each bucket's midpoint; the +inf bucket sits at the last finite bound (0 if none)."""
    bounds = np.asarray(bounds, dtype=np.float64)
    _check_bounds(bounds, "midpoints")
    lower = np.concatenate(([_first_lower_edge(bounds)], bounds[:-1]))
    midpoints = (lower + bounds) / 2
    if np.isinf(bounds[-1]):
        midpoints[-1] = bounds[-2] if bounds.size > 1 else 0.0
    return midpoints


def _cumulative_at(histogram: Histogram, points: FloatArray) -> FloatArray:
    """Observations <= each point, interpolating linearly inside buckets.

    Exact at the histogram's own bounds, so that an empty bucket stays exactly empty. Not
    np.interp, whose slope overflows on sub-normal bucket widths.
    """
    finite = np.isfinite(histogram.bounds)
    edges = np.concatenate(([_first_lower_edge(histogram.bounds)], histogram.bounds[finite]))
    running = np.cumsum(histogram.counts)
    below = np.concatenate(([0.0], running[finite]))
    cumulative = np.zeros_like(points)
    if edges.size > 1:
        bucket = np.clip(np.searchsorted(edges, points, side="right") - 1, 0, edges.size - 2)
        low, high = edges[bucket], edges[bucket + 1]
        fraction = (np.clip(points, low, high) - low) / (high - low)
        start, end = below[bucket], below[bucket + 1]
        cumulative = np.where(fraction >= 1.0, end, start + fraction * (end - start))
    # Beyond the last finite bound the +inf bucket's count stays in the +inf bucket.
    cumulative[np.isposinf(points)] = running[-1]
    return cumulative


def rebin(a: Histogram, b: Histogram) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Both histograms on the union of their bounds: (bounds, counts of a, counts of b).

    A bucket's count is split across the new buckets inside it by linear interpolation, the
    assumption Prometheus' histogram_quantile makes. The first bucket starts at 0 when its
    upper bound is positive, else one width of the next bucket below it. Totals are kept.
    """
    bounds = np.union1d(a.bounds, b.bounds)
    counts_a = np.maximum(np.diff(_cumulative_at(a, bounds), prepend=0.0), 0.0)
    counts_b = np.maximum(np.diff(_cumulative_at(b, bounds), prepend=0.0), 0.0)
    return bounds, counts_a, counts_b


class DriftMetric(StrEnum):
    """How two distributions are compared."""

    PSI = "psi"
    JS = "js"
    KS = "ks"
    WASSERSTEIN = "wasserstein"
    HELLINGER = "hellinger"


def _smoothed(p: FloatArray, epsilon: float) -> FloatArray:
    """Epsilon added to every probability, then renormalised, so that no bucket is empty."""
    smoothed: FloatArray = (p + epsilon) / (1.0 + p.shape[-1] * epsilon)
    return smoothed


def _psi_terms(p: FloatArray, q: FloatArray, bounds: FloatArray, epsilon: float) -> FloatArray:
    ps, qs = _smoothed(p, epsilon), _smoothed(q, epsilon)
    # ln q - ln p rather than ln(q / p): exactly antisymmetric, so PSI is exactly symmetric.
    terms: FloatArray = (qs - ps) * (np.log(qs) - np.log(ps))
    return terms


def _js_terms(p: FloatArray, q: FloatArray, bounds: FloatArray, epsilon: float) -> FloatArray:
    # With s = p + q and g = (p - q) / s, a bucket's term 0.5 * (p log2(p/m) + q log2(q/m))
    # is s/4 * f(g) / ln 2, f(g) = (1+g) ln(1+g) + (1-g) ln(1-g). Computed as u ln u + v ln v
    # for u, v = 1 +- g rounded, plus the first-order correction for that rounding: as exact
    # as log1p (near-identical pairs stay at ~1e-16, where log2 of a rounded ratio leaves a
    # floor of ~1e-8 on the distance) at the speed of log. g is kept off +-1 (log 0), which
    # costs ~1e-14 of the term where one side is empty; _TINY makes 0/0 (both empty) a 0.
    s = p + q
    g = np.subtract(p, q)
    g /= s + _TINY
    np.clip(g, -_NEAR_ONE, _NEAR_ONE, out=g)
    u, v = 1 + g, 1 - g
    terms: FloatArray = u * np.log(u)
    terms += v * np.log(v)
    terms += (g - (u - 1)) + ((1 - v) - g)
    terms *= s
    np.maximum(terms, 0.0, out=terms)
    terms /= 4 * math.log(2)
    return terms


def _cdf_gaps(p: FloatArray, q: FloatArray) -> FloatArray:
    gaps: FloatArray = np.abs(np.cumsum(p, axis=-1) - np.cumsum(q, axis=-1))
    return gaps


def _ks_terms(p: FloatArray, q: FloatArray, bounds: FloatArray, epsilon: float) -> FloatArray:
    return _cdf_gaps(p, q)


def _wasserstein_terms(
    p: FloatArray, q: FloatArray, bounds: FloatArray, epsilon: float
) -> FloatArray:
    widths = np.append(np.diff(bucket_midpoints(bounds)), 0.0)
    terms: FloatArray = _cdf_gaps(p, q) * widths
    return terms


def _hellinger_terms(
    p: FloatArray, q: FloatArray, bounds: FloatArray, epsilon: float
) -> FloatArray:
    terms: FloatArray = 0.5 * (np.sqrt(p) - np.sqrt(q)) ** 2
    return terms


_Terms = Callable[[FloatArray, FloatArray, FloatArray, float], FloatArray]
_TERMS: Mapping[DriftMetric, _Terms] = MappingProxyType(
    {
        DriftMetric.PSI: _psi_terms,
        DriftMetric.JS: _js_terms,
        DriftMetric.KS: _ks_terms,
        DriftMetric.WASSERSTEIN: _wasserstein_terms,
        DriftMetric.HELLINGER: _hellinger_terms,
    }
)
# Distances that are the square root of their summed terms (a divergence in [0, 1]).
_ROOTED = frozenset({DriftMetric.JS, DriftMetric.HELLINGER})


def _normalised(counts: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Probabilities along the last axis, and which rows have a finite, positive total."""
    total = counts.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        probabilities: FloatArray = counts / total[..., np.newaxis]
    return probabilities, np.isfinite(total) & (total > 0)


def _pairs(
    metric: DriftMetric,
    bounds: FloatArray,
    baseline: FloatArray,
    current: FloatArray,
    epsilon: float,
) -> tuple[FloatArray, FloatArray, FloatArray, tuple[int, ...]]:
    """Checked bounds, both sides' counts as (pairs, buckets) arrays, and the pairs' shape."""
    bounds = np.asarray(bounds, dtype=np.float64)
    _check_bounds(bounds, f"{metric} score")
    base, cur = np.broadcast_arrays(
        np.asarray(baseline, dtype=np.float64), np.asarray(current, dtype=np.float64)
    )
    if base.shape[-1:] != bounds.shape:
        raise ValueError(
            f"{metric} score: counts of shape {base.shape} for {bounds.size} bucket bounds"
        )
    if np.any(base < 0) or np.any(cur < 0):
        raise ValueError(f"{metric} score: bucket counts must be >= 0")
    if not 0 < epsilon < 1:
        raise ValueError(f"{metric} score: epsilon must be in (0, 1), got {epsilon}")
    flat = (-1, bounds.size)
    return bounds, base.reshape(flat), cur.reshape(flat), base.shape[:-1]


def _chunked_terms(
    metric: DriftMetric,
    bounds: FloatArray,
    baseline: FloatArray,
    current: FloatArray,
    epsilon: float,
) -> Iterator[tuple[slice, FloatArray, BoolArray]]:
    """Per-bucket terms of a few rows at a time, which rows, and which rows are scorable."""
    for start in range(0, baseline.shape[0], _CHUNK_ROWS):
        rows = slice(start, start + _CHUNK_ROWS)
        p, p_valid = _normalised(baseline[rows])
        q, q_valid = _normalised(current[rows])
        yield rows, _TERMS[metric](p, q, bounds, epsilon), p_valid & q_valid


def score(
    metric: DriftMetric,
    bounds: FloatArray,
    baseline: FloatArray,
    current: FloatArray,
    *,
    epsilon: float = DEFAULT_EPSILON,
) -> FloatArray:
    """The drift score of each pair: counts of shape (..., buckets) on ``bounds`` -> (...).

    Counts are normalised here; the two sides broadcast. A row whose total is 0 or not finite
    scores NaN.
    - PSI: sum((q - p) * ln(q / p)) after adding ``epsilon`` to every probability and
      renormalising, so that an empty bucket costs a finite amount.
    - JS: Jensen-Shannon distance, base 2: sqrt of the divergence, in [0, 1].
    - KS: the largest gap between the two CDFs at the bucket bounds, in [0, 1].
    - WASSERSTEIN: earth mover's distance, in the bounds' unit, with each bucket's mass at its
      midpoint and the +inf bucket's at the last finite bound.
    - HELLINGER: sqrt(0.5 * sum((sqrt p - sqrt q) ** 2)), in [0, 1].
    """
    bounds, base, cur, shape = _pairs(metric, bounds, baseline, current, epsilon)
    result = np.empty(base.shape[0])
    for rows, terms, valid in _chunked_terms(metric, bounds, base, cur, epsilon):
        value = terms.max(axis=-1) if metric is DriftMetric.KS else terms.sum(axis=-1)
        if metric in _ROOTED:
            value = np.sqrt(np.clip(value, 0.0, 1.0))
        result[rows] = np.where(valid, value, np.nan)
    return result.reshape(shape)


def contributions(
    metric: DriftMetric,
    bounds: FloatArray,
    baseline: FloatArray,
    current: FloatArray,
    *,
    epsilon: float = DEFAULT_EPSILON,
) -> FloatArray:
    """Each bucket's part of the score, shaped as the counts (NaN rows where the score is NaN).

    - PSI and WASSERSTEIN: additive terms that sum to the score (Wasserstein: the CDF gap
      after a bucket times the distance to the next bucket's midpoint; 0 for the last bucket).
    - JS and HELLINGER: the distance split across buckets in proportion to each bucket's share
      of the divergence (squared distance), so they sum to the score.
    - KS: the CDF gap at each bucket's upper bound; their maximum is the score.
    """
    bounds, base, cur, shape = _pairs(metric, bounds, baseline, current, epsilon)
    result = np.empty(base.shape)
    for rows, terms, valid in _chunked_terms(metric, bounds, base, cur, epsilon):
        if metric in _ROOTED:
            divergence = terms.sum(axis=-1, keepdims=True)
            distance = np.sqrt(np.clip(divergence, 0.0, 1.0))
            zeros = np.zeros_like(divergence)
            terms = terms * np.divide(distance, divergence, out=zeros, where=divergence > 0)
        result[rows] = np.where(valid[..., np.newaxis], terms, np.nan)
    return result.reshape((*shape, bounds.size))


def score_pair(metric: DriftMetric, a: Histogram, b: Histogram) -> float:
    """The drift score of two histograms, re-binned onto the union of their bounds."""
    bounds, counts_a, counts_b = rebin(a, b)
    return float(score(metric, bounds, counts_a, counts_b))


def _category_table(
    baseline_counts: Mapping[str, float], current_counts: Mapping[str, float]
) -> FloatArray:
    """A 2 x k table of counts over the categories seen on either side (not 0 on both)."""
    categories = sorted(set(baseline_counts) | set(current_counts))
    table = np.array(
        [
            [float(side.get(category, 0.0)) for category in categories]
            for side in (baseline_counts, current_counts)
        ],
        dtype=np.float64,
    ).reshape(2, len(categories))
    bad = [c for c, column in zip(categories, table.T, strict=True) if not np.all(column >= 0)]
    if bad or not np.all(np.isfinite(table)):
        raise ValueError(f"category counts must be finite and >= 0; bad categories: {bad}")
    kept: FloatArray = table[:, table.sum(axis=0) > 0]
    return kept


def chi_square(
    baseline_counts: Mapping[str, float], current_counts: Mapping[str, float]
) -> tuple[float, float]:
    """Pearson's chi-square test of the 2 x k table: (statistic, p-value).

    No continuity correction. NaN for both when either side is empty; (0, 1) when only one
    category is seen.
    """
    table = _category_table(baseline_counts, current_counts)
    rows = table.sum(axis=1)
    if not np.all(rows > 0):
        return math.nan, math.nan
    if table.shape[1] < 2:
        return 0.0, 1.0
    expected = np.outer(rows, table.sum(axis=0)) / rows.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return statistic, chi_square_sf(statistic, table.shape[1] - 1)


def categorical_psi(
    baseline_counts: Mapping[str, float],
    current_counts: Mapping[str, float],
    epsilon: float = DEFAULT_EPSILON,
) -> float:
    """PSI over categories (smoothed as in ``score``); NaN when either side is empty."""
    table = _category_table(baseline_counts, current_counts)
    if table.shape[1] == 0:
        return math.nan
    bounds = np.arange(1.0, table.shape[1] + 1.0)
    return float(score(DriftMetric.PSI, bounds, table[0], table[1], epsilon=epsilon))


_GAMMA_EPS = 1e-15


def chi_square_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X chi-square distributed with ``dof`` degrees of freedom."""
    if dof < 1:
        raise ValueError(f"chi-square: degrees of freedom must be >= 1, got {dof}")
    if math.isnan(statistic):
        return math.nan
    if statistic < 0:
        raise ValueError(f"chi-square: statistic must be >= 0, got {statistic}")
    return _regularised_upper_gamma(dof / 2, statistic / 2)


def _regularised_upper_gamma(a: float, x: float) -> float:
    """Q(a, x), as in Numerical Recipes' gammq: a series below a + 1, a continued fraction above."""
    if x == 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    log_prefactor = a * math.log(x) - x - math.lgamma(a)
    iterations = 1000 + 100 * math.ceil(math.sqrt(a + x))
    if x < a + 1:
        return 1.0 - math.exp(log_prefactor) * _lower_gamma_series(a, x, iterations)
    return math.exp(log_prefactor) * _upper_gamma_fraction(a, x, iterations)


def _lower_gamma_series(a: float, x: float, iterations: int) -> float:
    term = total = 1.0 / a
    denominator = a
    for _ in range(iterations):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _GAMMA_EPS:
            return total
    raise ArithmeticError(f"incomplete gamma series did not converge for a={a}, x={x}")


def _upper_gamma_fraction(a: float, x: float, iterations: int) -> float:
    """The continued fraction for Q(a, x), by the modified Lentz method."""
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    fraction = d
    for i in range(1, iterations + 1):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = d if abs(d) >= _TINY else _TINY
        c = b + an / c
        c = c if abs(c) >= _TINY else _TINY
        d = 1 / d
        step = d * c
        fraction *= step
        if abs(step - 1) < _GAMMA_EPS:
            return fraction
    raise ArithmeticError(f"incomplete gamma fraction did not converge for a={a}, x={x}")


class DriftStatus(StrEnum):
    """A drift score judged against thresholds. INCONCLUSIVE is never shown as OK."""

    OK = "ok"
    WARN = "warn"
    ALERT = "alert"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class DriftThresholds(Threshold):
    """Warn and alert levels for one drift score (higher is more drift)."""


DEFAULT_MIN_COUNT = 100.0

# Wasserstein is in the signal's own unit (tokens, seconds), so it has no default: it needs
# thresholds set per signal.
DEFAULT_THRESHOLDS: Mapping[DriftMetric, DriftThresholds] = MappingProxyType(
    {
        DriftMetric.PSI: DriftThresholds(warn=0.1, alert=0.25),
        DriftMetric.JS: DriftThresholds(warn=0.1, alert=0.2),
        DriftMetric.KS: DriftThresholds(warn=0.1, alert=0.2),
        DriftMetric.HELLINGER: DriftThresholds(warn=0.1, alert=0.2),
    }
)


def judge(
    value: float,
    thresholds: DriftThresholds,
    *,
    baseline_count: float,
    current_count: float,
    min_count: float = DEFAULT_MIN_COUNT,
) -> DriftStatus:
    """The status of one score; inconclusive when it is NaN or either side has too few samples."""
    enough = baseline_count >= min_count and current_count >= min_count
    if math.isnan(value) or not enough:
        return DriftStatus.INCONCLUSIVE
    return DriftStatus(thresholds.judge(value))
