"""Shared helpers for the benchmarks: percentiles, progress lines and the closing JSON line."""

import json
import sys
from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of ``values``, rounded to 0.01."""
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), 2)


def progress(message: str) -> None:
    """A progress line on stderr, so that stdout's last line stays the JSON result."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def report(figures: dict[str, object]) -> None:
    """Print the figures as one JSON object on the last line of stdout."""
    print(json.dumps(figures, sort_keys=True), flush=True)
