"""Drift math over 10,000 histogram pairs of 64 buckets, for each metric.

Scores one batch of pairs (a baseline and a current histogram per pair, on shared bounds with
a +inf bucket and some empty buckets) with ``console.domain.drift.score``, several times per
metric, and reports the median. The baseline in the same run is a plain numpy pass over the
same arrays: normalising both sides to probabilities. Target: each metric <= 50 ms.
Run: `python -m benchmarks.drift_math`.
"""

import time
from collections.abc import Callable
from functools import partial

import numpy as np

from benchmarks._measure import percentile, progress, report
from console.domain.drift import DriftMetric, score
from console.domain.series import FloatArray

PAIRS = 10_000
BUCKETS = 64
RUNS = 9
TARGET_MS = 50.0


def histograms(rng: np.random.Generator) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Exponential bounds ending in +inf, and baseline/current counts with empty buckets."""
    bounds = np.append(np.geomspace(1.0, 8192.0, BUCKETS - 1), np.inf)
    baseline = rng.poisson(rng.gamma(1.0, 20.0, size=(PAIRS, BUCKETS))).astype(np.float64)
    current = rng.poisson(rng.gamma(1.0, 20.0, size=(PAIRS, BUCKETS))).astype(np.float64)
    return bounds, baseline, current


def median_ms(run: Callable[[], object]) -> float:
    """The median wall time of RUNS calls, in milliseconds."""
    run()  # warm-up: first-touch page faults and lazy imports are not the math
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50)


def main() -> None:
    progress(f"building {PAIRS} histogram pairs of {BUCKETS} buckets")
    bounds, baseline, current = histograms(np.random.default_rng(0))

    def normalise() -> None:
        baseline / baseline.sum(axis=-1, keepdims=True)
        current / current.sum(axis=-1, keepdims=True)

    normalise_ms = median_ms(normalise)
    progress(f"numpy baseline (normalise both sides): {normalise_ms} ms")
    timings: dict[str, float] = {}
    for metric in DriftMetric:
        elapsed = median_ms(partial(score, metric, bounds, baseline, current))
        timings[f"{metric}_ms"] = elapsed
        timings[f"{metric}_vs_normalise"] = round(elapsed / normalise_ms, 2)
        progress(f"{metric}: {elapsed} ms ({elapsed / normalise_ms:.1f}x the numpy baseline)")
    slowest = max(timings[f"{metric}_ms"] for metric in DriftMetric)
    report(
        {
            "pairs": PAIRS,
            "buckets": BUCKETS,
            "runs": RUNS,
            "target_ms": TARGET_MS,
            "normalise_ms": normalise_ms,
            "slowest_metric_ms": slowest,
            "within_target": slowest <= TARGET_MS,
            **timings,
        }
    )


if __name__ == "__main__":
    main()
