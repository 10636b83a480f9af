"""The alert badge of a fleet card: how many alerts fire on the deployment, in the colour of
the worst severity."""

from PySide6.QtCore import QEvent
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QWidget

from console.domain.alerts import severity_rank
from console.domain.drift import DriftStatus
from console.services.alerts import DeploymentAlerts
from console.ui.charts.palette import is_dark
from console.ui.drift_style import status_colour

CRITICAL_RANK = 4
WARNING_RANK = 2


def severity_status(severity: str | None) -> DriftStatus:
    """The status colour of a severity: critical and page red, warning amber, else grey."""
    rank = severity_rank(severity)
    if rank >= CRITICAL_RANK:
        return DriftStatus.ALERT
    if rank >= WARNING_RANK:
        return DriftStatus.WARN
    return DriftStatus.INCONCLUSIVE


class AlertBadge(QLabel):
    """A warning sign and how many alerts fire ("⚠ 2") on the worst severity's colour; hidden
    without firing alerts. The tooltip lists the alerts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertBadge")
        self._group: DeploymentAlerts | None = None
        self._styling = False
        self.hide()

    def set_alerts(self, group: DeploymentAlerts | None) -> None:
        """Show the firing alerts of ``group`` (None or none firing hides the badge)."""
        self._group = group if group is not None and group.firing else None
        group = self._group
        if group is None:
            self.hide()
            return
        self.setText(f"\u26a0 {group.firing}")  # a warning sign: the card's header is narrow
        names = [
            f"{a.name} ({a.severity or 'no severity'})" for a in group.alerts if not a.silenced
        ]
        self.setToolTip("Firing: " + ", ".join(names) + ". See the Alerts tab (Alt+6).")
        self.setAccessibleName(f"{group.firing} alerts firing, worst {group.worst_severity}")
        self._restyle()
        self.show()

    def count(self) -> int:
        """How many alerts the badge counts (0 while hidden)."""
        return self._group.firing if self._group is not None else 0

    def worst_severity(self) -> str | None:
        """The worst severity shown."""
        return self._group.worst_severity if self._group is not None else None

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and not self._styling:
            self._restyle()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._restyle()

    def _restyle(self) -> None:
        if self._group is None:
            return
        surroundings = self.parentWidget() or self
        status = severity_status(self._group.worst_severity)
        colour = status_colour(status, is_dark(surroundings.palette())).name()
        sheet = (
            f"QLabel#alertBadge {{ color: white; background: {colour};"
            " border-radius: 3px; padding: 0px 4px; font-weight: bold; }"
        )
        # Never an empty stylesheet: clearing one crashes Qt 6.11.3.
        if sheet != self.styleSheet():
            self._styling = True
            self.setStyleSheet(sheet)
            self._styling = False
