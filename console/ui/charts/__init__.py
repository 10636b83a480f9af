"""Time-series charts: TimeChart, ChartGroup (synced charts) and PanelFrame (detachable)."""

from console.ui.charts.chart_group import ChartGroup
from console.ui.charts.panel_frame import PanelFrame
from console.ui.charts.time_chart import TimeChart

__all__ = ["ChartGroup", "PanelFrame", "TimeChart"]
