"""Simple time-series line charts as standalone SVG text, in pure Python (no Qt).

For reports that must work headless: one polyline per series, NaN samples break the
line, a zero-based y axis with rounded ticks, UTC time labels, and a legend.
"""

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
_MARGIN_LEFT = 56
_MARGIN_RIGHT = 12
_MARGIN_TOP = 28
_MARGIN_BOTTOM = 40
_Y_TICKS = 4
_X_TICKS = 6

Points = tuple[Sequence[float], Sequence[float]]
"""Timestamps (Unix seconds) and values of one series."""


def line_chart_svg(
    title: str,
    unit: str,
    series: Mapping[str, Points],
    start: float,
    end: float,
    *,
    width: int = 720,
    height: int = 220,
    marks: Sequence[tuple[float, str]] = (),
) -> str:
    """An SVG document: ``series`` by name over [start, end]; ``marks`` are labelled
    vertical lines (version changes)."""
    if not end > start:
        raise ValueError(f"chart {title!r}: end {end} is not after start {start}")
    plot_w = width - _MARGIN_LEFT - _MARGIN_RIGHT
    plot_h = height - _MARGIN_TOP - _MARGIN_BOTTOM
    finite = [v for _, values in series.values() for v in values if math.isfinite(v)]
    top = _nice_ceiling(max(finite, default=0.0))

    def x_of(t: float) -> float:
        return _MARGIN_LEFT + (t - start) / (end - start) * plot_w

    def y_of(v: float) -> float:
        return _MARGIN_TOP + plot_h - (v / top) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{_MARGIN_LEFT}" y="16" font-size="13" font-weight="bold">'
        f"{escape(title)} ({escape(unit)})</text>",
    ]
    for i in range(_Y_TICKS + 1):
        value = top * i / _Y_TICKS
        y = y_of(value)
        parts.append(
            f'<line x1="{_MARGIN_LEFT}" y1="{y:.1f}" x2="{width - _MARGIN_RIGHT}" '
            f'y2="{y:.1f}" stroke="#e0e0e0"/>'
        )
        parts.append(
            f'<text x="{_MARGIN_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_format(value)}</text>"
        )
    for i in range(_X_TICKS + 1):
        t = start + (end - start) * i / _X_TICKS
        label = datetime.fromtimestamp(t, UTC).strftime("%H:%M")
        anchor = "end" if i == _X_TICKS else "middle"
        parts.append(
            f'<text x="{x_of(t):.1f}" y="{height - _MARGIN_BOTTOM + 14}" '
            f'text-anchor="{anchor}">{label}</text>'
        )
    for at, text in marks:
        if start <= at <= end:
            x = x_of(at)
            parts.append(
                f'<line x1="{x:.1f}" y1="{_MARGIN_TOP}" x2="{x:.1f}" '
                f'y2="{_MARGIN_TOP + plot_h}" stroke="#888" stroke-dasharray="4 3"/>'
            )
            parts.append(
                f'<text x="{x + 3:.1f}" y="{_MARGIN_TOP + 10}" fill="#555">{escape(text)}</text>'
            )
    for index, (name, (timestamps, values)) in enumerate(sorted(series.items())):
        colour = PALETTE[index % len(PALETTE)]
        for run in _runs(timestamps, values):
            points = " ".join(f"{x_of(t):.1f},{y_of(v):.1f}" for t, v in run)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
            )
        legend_x = _MARGIN_LEFT + index * 110
        legend_y = height - 10
        parts.append(
            f'<rect x="{legend_x}" y="{legend_y - 8}" width="10" height="10" fill="{colour}"/>'
        )
        parts.append(f'<text x="{legend_x + 14}" y="{legend_y + 1}">{escape(name)}</text>')
    if not finite:
        parts.append(
            f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
            'fill="#888">no data</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _runs(timestamps: Sequence[float], values: Sequence[float]) -> list[list[tuple[float, float]]]:
    """Consecutive finite samples; a NaN ends a run. Single points become short runs."""
    runs: list[list[tuple[float, float]]] = [[]]
    for t, v in zip(timestamps, values, strict=True):
        if math.isfinite(v):
            runs[-1].append((t, v))
        elif runs[-1]:
            runs.append([])
    return [run if len(run) > 1 else run * 2 for run in runs if run]


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (1 for 0)."""
    if not value > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= value:
            return factor * power
    return 10.0 * power


def _format(value: float) -> str:
    return f"{value:.3g}"
