"""Chart data as CSV: one row per timestamp of any line, one column per line."""

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np

from console.domain.series import FloatArray


def chart_csv(lines: Mapping[str, tuple[FloatArray, FloatArray]]) -> str:
    """``time_utc,unix_s,<line names...>``; an empty cell where a line has no finite sample."""
    names = list(lines)
    times = (
        np.unique(np.concatenate([np.asarray(lines[n][0], dtype=float) for n in names]))
        if names
        else np.empty(0)
    )
    columns = [_on_grid(times, *lines[name]) for name in names]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["time_utc", "unix_s", *names])
    for row, t in enumerate(times):
        writer.writerow([_iso_utc(t), _number(t), *(_cell(column[row]) for column in columns)])
    return out.getvalue()


def _on_grid(grid: FloatArray, times: FloatArray, values: FloatArray) -> FloatArray:
    column = np.full(grid.shape, np.nan)
    column[np.searchsorted(grid, np.asarray(times, dtype=float))] = values
    return column


def _iso_utc(t: float) -> str:
    spec = "seconds" if float(t).is_integer() else "milliseconds"
    return datetime.fromtimestamp(float(t), UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _cell(value: float) -> str:
    return _number(value) if np.isfinite(value) else ""
