"""The lines of a chart, without the drawing: data by name, colours, values at a time.

Shared by TimeChart (pyqtgraph, zoomable) and ChartTile (QPainter, for dashboards).
"""

import html
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
from PySide6.QtGui import QColor

from console.config.atomic import atomic_write_text
from console.domain.annotations import Annotation
from console.domain.series import FloatArray
from console.ui import format as fmt
from console.ui.charts.csv_export import chart_csv
from console.ui.charts.palette import assign_slot, line_colour
from console.ui.charts.units import readout

Line = tuple[FloatArray, FloatArray]
Lines = Mapping[str, Line]

_DAY_S = 86400.0
_MARK_LABEL_CHARS = 24


@dataclass(frozen=True)
class LineChanges:
    """What ``LineSet.update`` changed, by line name."""

    removed: tuple[str, ...]
    added: tuple[str, ...]
    changed: tuple[str, ...]
    """Lines with new data (added ones included)."""

    def __bool__(self) -> bool:
        return bool(self.removed or self.changed)


class LineSet:
    """Named lines (unix timestamps, values; NaN = gap), each with a stable palette slot.

    A name keeps its slot while it is shown and gets it back when it returns, if free.
    Arrays are kept, not copied.
    """

    def __init__(self) -> None:
        self._data: dict[str, Line] = {}
        self._steps: dict[str, float] = {}
        self._slots: dict[str, int] = {}

    def update(self, lines: Lines) -> LineChanges:
        """Take ``lines``; lines no longer named are dropped, equal data is left alone.

        ValueError naming the line when its timestamps and values differ in shape.
        """
        checked = {name: _checked(name, *pair) for name, pair in lines.items()}
        removed = tuple(n for n in self._data if n not in checked)
        for name in removed:
            del self._data[name]
            self._steps.pop(name, None)
        added = tuple(sorted(n for n in checked if n not in self._data))
        for name in added:
            taken = {self._slots[n] for n in self._data if n in self._slots}
            remembered = self._slots.get(name)
            if remembered is None or remembered in taken:
                self._slots[name] = assign_slot(name, taken)
            self._data[name] = checked[name]
        changed = list(added)
        for name, pair in checked.items():
            if name in added or _same(self._data[name], pair):
                continue
            self._data[name] = pair
            self._steps.pop(name, None)
            changed.append(name)
        return LineChanges(removed, added, tuple(changed))

    def data(self) -> dict[str, Line]:
        """The lines, by name (a new dict of the kept arrays)."""
        return dict(self._data)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def colour(self, name: str, dark_theme: bool) -> QColor:
        """The colour of line ``name`` in the theme."""
        return line_colour(self._slots[name], dark_theme)

    def values_at(self, x: float) -> dict[str, float | None]:
        """Each line's sample at or before time ``x`` within one step; None for NaN or outside."""
        return {name: self._value_at(name, x) for name in self._data}

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(first time, last time, least value, greatest value) over every finite sample."""
        finite = [(t, v) for t, v in self._data.values() if t.size]
        if not finite:
            return None
        t_low = min(float(t[0]) for t, _ in finite)
        t_high = max(float(t[-1]) for t, _ in finite)
        values = [v[np.isfinite(v)] for _, v in finite]
        values = [v for v in values if v.size]
        if not values:
            return t_low, t_high, np.nan, np.nan
        return (
            t_low,
            t_high,
            min(float(v.min()) for v in values),
            max(float(v.max()) for v in values),
        )

    def export_csv(self, path: str | PathLike[str]) -> None:
        """Save the lines as CSV (time in ISO-8601 UTC and Unix seconds, a column per line)."""
        try:
            atomic_write_text(Path(path), chart_csv(self._data))
        except OSError as error:
            reason = error.strerror or str(error)
            raise OSError(f"could not write the CSV file {path}: {reason}") from error

    def readout_html(self, unit: str, x: float | None, span_s: float, dark_theme: bool) -> str:
        """The legend (a coloured square and name per line), with each value at ``x`` if given."""
        parts = []
        values = self.values_at(x) if x is not None else {}
        if x is not None:
            parts.append(html.escape(time_text(x, span_s)))
        for name in self._data:
            colour = self.colour(name, dark_theme).name()
            part = f'<span style="color:{colour}">■</span> {html.escape(name)}'
            if x is not None:
                part += f" {html.escape(readout(unit, values[name]))}"
            parts.append(part)
        return "&nbsp;&nbsp;".join(parts)

    def _value_at(self, name: str, x: float) -> float | None:
        times, values = self._data[name]
        index = int(np.searchsorted(times, x, side="right")) - 1
        if index < 0 or not np.isfinite(x):
            return None
        gap = x - float(times[index])
        step = self._step(name)
        if gap != 0 and gap >= step:
            return None
        value = float(values[index])
        return value if np.isfinite(value) else None

    def _step(self, name: str) -> float:
        if name not in self._steps:
            times = self._data[name][0]
            self._steps[name] = float(np.median(np.diff(times))) if times.size > 1 else 0.0
        return self._steps[name]


def time_text(x: float, span_s: float) -> str:
    """Local time at ``x``; with the date when the view spans more than a day."""
    if span_s > _DAY_S:
        return time.strftime("%a %d %b %H:%M", time.localtime(x))
    return fmt.clock_time(x)


def mark_label(mark: Annotation) -> str:
    """An annotation's text, shortened to fit beside its line."""
    text = mark.text
    return text if len(text) <= _MARK_LABEL_CHARS else text[: _MARK_LABEL_CHARS - 1] + "…"


def mark_tooltip(mark: Annotation) -> str:
    """An annotation's full text, kind, time and version."""
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(mark.at))
    tooltip = f"{mark.text}\n{mark.kind.value.replace('_', ' ')} at {at}"
    if mark.version:
        tooltip += f" · version {mark.version}"
    return tooltip


def _checked(name: str, times: FloatArray, values: FloatArray) -> Line:
    times, values = (np.ascontiguousarray(a, dtype=np.float64) for a in (times, values))
    if times.ndim != 1 or times.shape != values.shape:
        raise ValueError(f"line {name!r}: {times.shape} timestamps but {values.shape} values")
    return times, values


def _same(a: Line, b: Line) -> bool:
    return all(_same_array(old, new) for old, new in zip(a, b, strict=True))


def _same_array(old: FloatArray, new: FloatArray) -> bool:
    """Equal, NaN included, compared bit for bit (several times faster than array_equal with
    equal_nan); -0.0 against 0.0 or another NaN payload only costs a redraw."""
    if old is new:
        return True
    if old.shape != new.shape:
        return False
    old_bits, new_bits = old.view(np.int64), new.view(np.int64)
    if old.size and (old_bits[0] != new_bits[0] or old_bits[-1] != new_bits[-1]):
        return False  # a moved range or a new last sample: no need to scan the middle
    return bool(np.array_equal(old_bits, new_bits))
