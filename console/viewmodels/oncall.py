"""The on-call services of one open profile: alerts, timelines and incident reports."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from console.backends.protocol import MetricsBackend
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.services.alerts import AlertsService
from console.services.alerts_connect import alert_history, open_alerts
from console.services.audit_log import AuditLog
from console.services.incident_report import IncidentReportService
from console.services.run_history import HistoryError, RunHistory
from console.services.timeline import TimelineService, audit_source


@dataclass
class OnCallServices:
    """What the Alerts tab, the timeline and the report use; closed with ``aclose``."""

    alerts: AlertsService
    timelines: TimelineService
    reports: IncidentReportService
    runs: RunHistory | None = None

    async def aclose(self) -> None:
        """Close the Alertmanager client and the run history."""
        await self.alerts.aclose()
        if self.runs is not None:
            self.runs.close()


OnCallOpener = Callable[[], Awaitable[OnCallServices]]
"""Builds the services on the I/O loop (it may block on the keyring and SQLite)."""
AuditProvider = Callable[[], Awaitable[AuditLog | None]]
"""Gives the process's audit log (ProfilesViewModel.audit opens it once)."""


def oncall_opener(
    profile: Profile,
    secrets: SecretStore,
    metrics: MetricsBackend,
    *,
    audit: AuditProvider,
) -> OnCallOpener:
    """The opener of ``profile``'s services over the fleet's metrics backend; every silence
    action is audited in ``audit()``'s log."""

    async def open_() -> OnCallServices:
        log = await audit()
        alerts = open_alerts(profile, secrets, metrics, audit=log)
        try:
            runs: RunHistory | None = RunHistory()
        except HistoryError:
            runs = None  # the timeline says nothing of runs rather than failing
        entries = audit_source(log) if log is not None else None
        timelines = TimelineService(
            profile,
            metrics,
            alerts=alerts,
            alert_history=alert_history(alerts),
            runs=runs,
            audit=entries,
        )
        reports = IncidentReportService(
            profile, metrics, timelines, alerts=alerts, runs=runs, audit=entries
        )
        return OnCallServices(alerts, timelines, reports, runs)

    return open_
