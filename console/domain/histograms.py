"""Histograms over time: bucket counts per step, as drift compares them."""

from dataclasses import dataclass

import numpy as np

from console.domain.series import FloatArray

PRESET_HISTOGRAMS = ("output_tokens", "prompt_tokens", "latency", "ttft")
"""Histogram names every engine preset maps to its own metric (where the engine has one)."""


@dataclass(frozen=True, eq=False)
class HistogramSeries:
    """Bucket counts at each timestamp: the increase over the window ending there.

    ``bounds`` are the n upper bounds, ascending (the last may be +inf); ``counts`` is
    t x n and non-cumulative; a row of NaN is a step without data.
    """

    bounds: FloatArray
    timestamps: FloatArray
    counts: FloatArray

    def __post_init__(self) -> None:
        expected = (self.timestamps.size, self.bounds.size)
        if self.counts.shape != expected:
            raise ValueError(f"histogram counts have shape {self.counts.shape}, not {expected}")


def per_bucket(bounds: FloatArray, cumulative: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Prometheus ``le`` buckets (any order; cumulative along the last axis) as ascending
    bounds and non-cumulative counts of the same shape.

    A count that drops from one bucket to the next (rate extrapolation, a counter reset or
    rounding between series) gives that bucket 0, not a negative count.
    """
    order = np.argsort(bounds, kind="stable")
    counts = np.diff(cumulative[..., order], axis=-1, prepend=0.0)
    return bounds[order].astype(np.float64), np.maximum(counts, 0.0)


def from_cumulative(
    bounds: FloatArray, timestamps: FloatArray, cumulative: FloatArray
) -> HistogramSeries:
    """A HistogramSeries from cumulative ``le`` counts (t x n, any bound order).

    A step where any bucket is missing becomes a NaN row.
    """
    ordered, counts = per_bucket(bounds, cumulative)
    counts[np.isnan(cumulative).any(axis=1)] = np.nan
    return HistogramSeries(ordered, timestamps, counts)
