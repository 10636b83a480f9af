"""The alert badge of a fleet card: how many alerts fire on the deployment, in the colour of
the worst severity."""

from PySide6.QtWidgets import QWidget

from console.domain.alerts import severity_rank
from console.domain.drift import DriftStatus
from console.services.alerts import DeploymentAlerts
from console.ui.status_badge import StatusBadge

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


class AlertBadge(StatusBadge):
    """A warning sign and how many alerts fire ("⚠ 2") on the worst severity's colour; hidden
    without firing alerts. The tooltip lists the alerts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("alertBadge", parent)
        self._group: DeploymentAlerts | None = None

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

    def _badge_status(self) -> DriftStatus | None:
        return None if self._group is None else severity_status(self._group.worst_severity)

    def _sheet(self, colour: str) -> str:
        return (
            f"QLabel#alertBadge {{ color: white; background: {colour};"
            " border-radius: 3px; padding: 0px 4px; font-weight: bold; }"
        )
