"""Samples mapped into a rectangle as polylines, one per run of finite values (NaN = gap)."""

import numpy as np
import shiboken6
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPolygonF

from console.domain.series import FloatArray


def polylines(
    times: FloatArray,
    values: FloatArray,
    area: QRectF,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> list[QPolygonF]:
    """The finite samples in ``area``: x_range spans its width, y_range its height (upwards).

    An empty y range (all values equal) puts the line across the middle.
    """
    finite = np.isfinite(values)
    if not finite.any():
        return []
    (t0, t1), (low, high) = x_range, y_range
    xs = area.left() + (times - t0) / ((t1 - t0) or 1.0) * area.width()
    if high > low:
        ys = area.bottom() - (values - low) / (high - low) * area.height()
    else:
        ys = np.full_like(values, area.center().y())
    indices = np.flatnonzero(finite)
    runs = np.split(indices, np.flatnonzero(np.diff(indices) > 1) + 1)
    return [_polygon(xs[run], ys[run]) for run in runs]


def _polygon(xs: FloatArray, ys: FloatArray) -> QPolygonF:
    """A QPolygonF filled through its own memory: a QPointF per sample costs 2 µs each."""
    polygon = QPolygonF()
    polygon.resize(xs.size)
    points = np.frombuffer(
        shiboken6.VoidPtr(polygon.data(), 16 * xs.size, True), dtype=np.float64
    ).reshape(-1, 2)
    points[:, 0] = xs
    points[:, 1] = ys
    return polygon
