"""Time ranges and query_range step planning."""

import math
from dataclasses import dataclass

import numpy as np

from console.domain.series import FloatArray

MAX_POINTS_PER_SERIES = 11_000
"""Prometheus refuses a query_range that would return more points than this per series."""


@dataclass(frozen=True)
class TimeRange:
    """A closed interval of Unix timestamps in seconds."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.end <= self.start:
            raise ValueError(f"invalid time range: start={self.start} end={self.end}")

    @property
    def duration(self) -> float:
        """Length of the range in seconds."""
        return self.end - self.start

    @classmethod
    def last(cls, seconds: float, now: float) -> "TimeRange":
        """The range of the last ``seconds`` ending at ``now``."""
        return cls(now - seconds, now)


@dataclass(frozen=True)
class RangePlan:
    """A query_range request: start and end aligned to the step."""

    start: float
    end: float
    step: float

    @property
    def points(self) -> int:
        """Number of samples per series the plan asks for."""
        return round((self.end - self.start) / self.step) + 1

    def timestamps(self) -> FloatArray:
        """The plan's time grid: start, start + step, …, end."""
        return self.start + np.arange(self.points, dtype=np.float64) * self.step


def plan_range(rng: TimeRange, width_px: int, scrape_interval_s: float) -> RangePlan:
    """Step = max(range / width, scrape interval, range / 11000), start and end aligned to it.

    The step is rounded up to a whole second (or millisecond below one second). Aligning
    start and end outwards adds at most two steps, hence the margin of three points that
    keeps every plan within Prometheus's limit of 11,000 points per series.
    """
    if width_px <= 0:
        raise ValueError(f"width_px must be positive, got {width_px}")
    raw = max(
        rng.duration / width_px, scrape_interval_s, rng.duration / (MAX_POINTS_PER_SERIES - 3)
    )
    step = math.ceil(raw) if raw >= 1 else math.ceil(raw * 1000) / 1000
    start = math.floor(rng.start / step) * step
    end = math.ceil(rng.end / step) * step
    return RangePlan(start=start, end=end, step=step)
