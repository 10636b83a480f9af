"""Time-series charts: TimeChart, ChartGroup (synced charts) and PanelFrame (detachable).

The three are loaded on first use: importing pyqtgraph takes a few hundred milliseconds,
which the fleet window (whose cards only need the palette) must not pay at start-up.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.ui.charts.chart_group import ChartGroup
    from console.ui.charts.panel_frame import PanelFrame
    from console.ui.charts.time_chart import TimeChart

__all__ = ["ChartGroup", "PanelFrame", "TimeChart"]
_MODULES = {
    "ChartGroup": "console.ui.charts.chart_group",
    "PanelFrame": "console.ui.charts.panel_frame",
    "TimeChart": "console.ui.charts.time_chart",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
