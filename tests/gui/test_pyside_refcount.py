"""PySide6 6.12.0 on Python 3.11 loses a reference to None on every void call and aborts.

The pin in pyproject.toml keeps that release out; this test catches it (or a relapse).
"""

import sys

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
