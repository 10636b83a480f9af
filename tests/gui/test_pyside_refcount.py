"""PySide6 6.12.0 on Python 3.11 loses a reference to None on every void call and aborts.

The pin in pyproject.toml keeps that release out; this test catches it (or a relapse).
"""

import sys

import pytest
from PySide6.QtWidgets import QLabel

from console.domain.fleet import DeploymentReading, VersionShare
from console.domain.slo import Status
from console.ui.card import DeploymentCard
from console.viewmodels.fleet import CardState

CALLS = 2000
TOLERANCE = 50


def test_none_refcount_stays_steady_over_void_qt_calls(qtbot) -> None:
    label = QLabel()
    card = DeploymentCard("chat")
    qtbot.addWidget(label)
    qtbot.addWidget(card)
    state = CardState(
        reading=DeploymentReading(
            "chat", "vllm", (VersionShare("v1", 1.0),), 3.0, 0.01, 1.2, None, 80.0, Status.WARN
        ),
        stale=False,
        error=None,
        last_ok=None,
    )
    card.set_state(state, 3600.0)
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        label.setObjectName("figure")
        label.update()
        card.set_state(state, 3600.0)
        card.set_highlighted(False)
    drift = sys.getrefcount(None) - before
    assert abs(drift) < TOLERANCE, f"None's refcount drifted by {drift} over {CALLS} calls"


@pytest.mark.parametrize("kind", ["TimeChart", "ChartTile"])
def test_none_refcount_stays_steady_over_live_chart_redraws(qtbot, kind: str) -> None:
    """PySide6 6.11 leaks a None reference per QPainter on a QPicture; the charts' axes
    must not paint through one (pyqtgraph's do, on every range change). The tile fills
    its polylines through shiboken memory, which must not leak either."""
    import numpy as np

    from console.ui.charts import TimeChart
    from console.ui.charts.chart_tile import ChartTile

    chart = (TimeChart if kind == "TimeChart" else ChartTile)("Requests", "req/s")
    qtbot.addWidget(chart)
    chart.resize(400, 240)
    chart.show()
    qtbot.waitExposed(chart)
    times = 1.795e9 + np.arange(240) * 15.0

    def redraw(step: int) -> None:
        shifted = times + step * 15.0
        chart.set_lines({"v1": (shifted, np.sin(shifted / 300)), "v2": (shifted, np.cos(shifted))})
        chart.grab()  # paints the chart and its axes now

    redraw(0)
    before = sys.getrefcount(None)
    for step in range(1, 201):
        redraw(step)
    drift = sys.getrefcount(None) - before
    assert abs(drift) < TOLERANCE, f"None's refcount drifted by {drift} over 200 redraws"
