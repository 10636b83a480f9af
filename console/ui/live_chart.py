"""Show a RefreshEngine panel's state on a chart: its lines, note and status overlay."""

from typing import TYPE_CHECKING

from console.services.detail import ChartData
from console.viewmodels.refresh import PanelState, PanelStatus

if TYPE_CHECKING:
    from console.ui.charts.chart_tile import ChartTile
    from console.ui.charts.time_chart import TimeChart

NO_DATA_TEXT = "No data in this range"


def show_chart_state(chart: "TimeChart | ChartTile", title: str, state: PanelState) -> None:
    """Draw the last good lines; overlay loading, paused, the error, or why it is empty."""
    data = state.data if isinstance(state.data, ChartData) else None
    lines = data.lines if data is not None else {}
    chart.set_lines(lines)
    note = data.note if data is not None else None
    chart.title_label.setText(f"{title} · {note}" if note and lines else title)
    chart.title_label.setToolTip(note or "")
    chart.set_status(status_text(state, bool(lines), note))


def status_text(state: PanelState, has_lines: bool, note: str | None) -> str | None:
    """The overlay of a chart: loading, paused, the error, or why it is empty."""
    if state.status is not PanelStatus.LIVE:
        return state.message
    if has_lines:
        return None
    return note or NO_DATA_TEXT
