"""Values in a chart's unit: the y-axis label and the crosshair readout."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from console.ui import format as fmt

if TYPE_CHECKING:  # pyqtgraph is not imported for a readout (ChartTile draws without it)
    import pyqtgraph as pg

_READOUTS: dict[str, Callable[[float | None], str]] = {
    "s": fmt.duration,
    "ratio": fmt.error_ratio,
    "req/s": fmt.request_rate,
    "tok/s": fmt.tokens_rate,
}


def readout(unit: str, value: float | None) -> str:
    """One value as the crosshair shows it, e.g. "850 ms", "4.12 %", "no data"."""
    if value is None:
        return fmt.NO_DATA
    if unit in _READOUTS:
        return _READOUTS[unit](value)
    return f"{value:.4g} {unit}".rstrip()


def label_axis(axis: "pg.AxisItem", unit: str) -> None:
    """Show ``unit`` on a value axis: ratios as percent, seconds with SI prefixes (ms, µs)."""
    # The automatic prefix re-renders the axis label on every range change; "kreq/s" is not
    # worth that, "ms" is.
    axis.enableAutoSIPrefix(unit == "s")
    if unit == "ratio":
        axis.setScale(100.0)
        axis.setLabel(units="%")
    else:
        axis.setLabel(units=unit)
