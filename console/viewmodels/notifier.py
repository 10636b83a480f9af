"""Desktop notifications: events from alerts, fleet statuses and drift, through the policy.

The policy (console/domain/notifications.py) applies each profile's rules and storm control;
this object feeds it, flushes what it held back on a timer, and keeps the worst status of
every profile it heard of (the tray icon's colour).
"""

import time
from collections.abc import Callable, Iterable, Mapping

from PySide6.QtCore import QObject, QTimer, Signal

from console.domain.alerts import Alert
from console.domain.notifications import (
    Event,
    NotificationPolicy,
    NotificationRules,
    alert_started,
    drift_crossed,
    status_changes,
)
from console.domain.slo import Status

FLUSH_INTERVAL_MS = 10_000
_STATUS_RANK = {Status.NO_DATA: 0, Status.OK: 1, Status.WARN: 2, Status.ALERT: 3}


def worst_status(statuses: Iterable[Status]) -> Status:
    """ALERT over WARN over OK over NO_DATA; NO_DATA when there is none."""
    return max(statuses, key=_STATUS_RANK.__getitem__, default=Status.NO_DATA)


class NotificationCenter(QObject):
    """Turns what the console reads into ``notified(Notification)`` per the profiles' rules.

    ``worstChanged(status)`` follows the worst status across profiles.
    """

    notified = Signal(object)  # Notification
    worstChanged = Signal(str)

    def __init__(
        self,
        rules_for: Callable[[str], NotificationRules],
        *,
        clock: Callable[[], float] = time.time,
        flush_interval_ms: int = FLUSH_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.policy = NotificationPolicy(rules_for)
        self._clock = clock
        self._statuses: dict[str, dict[str, Status]] = {}
        self._worst: dict[str, Status] = {}
        self._shown: Status | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(flush_interval_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    def worst(self) -> Status:
        """The worst status across every profile heard of."""
        return worst_status(self._worst.values())

    def alerts_started(
        self, profile: str, alerts: Iterable[Alert], deployment_labels: Iterable[str]
    ) -> None:
        """Alerts that started firing in ``profile``."""
        labels = tuple(deployment_labels)
        self._submit(
            alert_started(
                profile,
                a.fingerprint,
                a.name,
                a.deployment(labels),
                a.severity,
                a.starts_at,
                a.summary,
            )
            for a in alerts
        )

    def statuses_read(self, profile: str, statuses: Mapping[str, Status]) -> None:
        """The fleet's statuses of ``profile`` now (the first read is the baseline)."""
        before = self._statuses.get(profile)
        self._statuses[profile] = dict(statuses)
        if before is not None:
            self._submit(status_changes(profile, before, statuses, self._clock()))
        self._worst[profile] = worst_status(statuses.values())
        self._show_worst()

    def drift_crossed(
        self, profile: str, deployment: str, histogram: str, old: str, new: str, value: float
    ) -> None:
        """A drift threshold crossing (DriftWatchModel.crossed)."""
        self._submit(
            [drift_crossed(profile, deployment, histogram, old, new, value, self._clock())]
        )

    def forget(self, profile: str) -> None:
        """``profile`` closed: its statuses no longer count (its next read is a baseline)."""
        self._statuses.pop(profile, None)
        self._worst.pop(profile, None)
        self._show_worst()

    def flush(self) -> None:
        """Show the summaries of the events storm control held back."""
        for notification in self.policy.flush(self._clock()):
            self.notified.emit(notification)

    def _show_worst(self) -> None:
        worst = self.worst()
        if worst is not self._shown:
            self._shown = worst
            self.worstChanged.emit(worst.value)

    def _submit(self, events: Iterable[Event]) -> None:
        for notification in self.policy.submit(list(events)):
            self.notified.emit(notification)
