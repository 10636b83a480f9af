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


def from_cumulative(
    bounds: FloatArray, timestamps: FloatArray, cumulative: FloatArray
) -> HistogramSeries:
    """A HistogramSeries from cumulative ``le`` counts (t x n, any bound order).

    A step where any bucket is missing becomes a NaN row. Rate extrapolation can make a
    bucket's increase a little smaller than the one below it: such negatives become 0.
    """
    order = np.argsort(bounds)
    ordered = cumulative[:, order]
    counts = np.diff(ordered, axis=1, prepend=0.0)
    counts = np.maximum(counts, 0.0)
    counts[np.isnan(ordered).any(axis=1)] = np.nan
    return HistogramSeries(bounds[order].astype(np.float64), timestamps, counts)
