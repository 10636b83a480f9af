"""Wires the on-call features into the main window: the Alerts tab, card badges and the
sidebar count, notifications (tray or toasts), and the detail's incident timeline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, QTimer

from console.domain.alerts import expression_of
from console.domain.notifications import EventKind, Notification, NotificationRules
from console.domain.timeline import (
    AlertRef,
    AuditRef,
    DriftRef,
    RunRef,
    SilenceRef,
    TimelineItem,
    VersionRef,
)
from console.services.audit_log import AuditLog
from console.ui.file_dialogs import ask_save_path
from console.ui.notifications import Level, Notice
from console.ui.tray import DesktopNotifier
from console.viewmodels.alerts import AlertsViewModel
from console.viewmodels.notifier import NotificationCenter
from console.viewmodels.oncall import AuditProvider, oncall_opener
from console.viewmodels.timeline import TimelineViewModel

if TYPE_CHECKING:
    from console.ui.alerts_view import AlertsView
    from console.ui.detail_view import DetailView
    from console.ui.main_window import FleetWindow
    from console.ui.timeline_view import TimelineView

REPORT_FILTER = "HTML report (*.html);;Markdown report (*.md)"


_ALERTS_AFTER_MS = 300
"""How long after the fleet's first read the alerts start (its cards paint first)."""


class OnCallController(QObject):
    """One per window: follows the active profile (one AlertsViewModel per open fleet)."""

    def __init__(
        self,
        window: FleetWindow,
        *,
        audit: AuditProvider | None = None,
        tray_available: bool | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._audit = audit or _process_audit_log(window)
        self.alerts: AlertsViewModel | None = None
        self.alerts_view: AlertsView | None = None
        self.timeline: TimelineViewModel | None = None
        self.timeline_view: TimelineView | None = None
        profiles = window.profiles
        self.center = NotificationCenter(lambda name: _rules_of(window, name), parent=self)
        self.notifier = DesktopNotifier(
            window.notifications, tray_available=tray_available, parent=self
        )
        self.center.notified.connect(self._show_notification)
        self.center.worstChanged.connect(self.notifier.set_status)
        self.notifier.deploymentRequested.connect(window.open_detail)
        profiles.fleetChanged.connect(self._on_fleet_changed)
        window.refresh_action.triggered.connect(self._refresh_now)
        window.interval_picker.currentIndexChanged.connect(self._on_interval_picked)
        self._on_fleet_changed()

    # --- profile lifecycle ---------------------------------------------------------------

    def _on_fleet_changed(self) -> None:
        window, profiles = self._window, self._window.profiles
        self._dispose_alerts()
        active, fleet, detail, engine = (
            profiles.active,
            profiles.fleet,
            profiles.detail,
            profiles.engine,
        )
        if active is None or fleet is None or detail is None or engine is None:
            window.set_alerts_view(None, profiles.open_error or "Opening the profile…")
            return
        model = AlertsViewModel(
            profiles.runner,
            oncall_opener(active, profiles.secrets, detail.backend, audit=self._audit),
            active,
            interval_s=active.refresh_interval_s,
            parent=engine,  # it goes with the profile, also when the window outlives it
        )
        self.alerts = model
        fleet.pausedChanged.connect(model.set_paused)
        fleet.changed.connect(self._on_fleet_read)
        model.changed.connect(self._show_counts)
        model.startedFiring.connect(
            lambda alerts: self.center.alerts_started(
                active.name, alerts, active.alert_deployment_labels
            )
        )
        model.autoExpired.connect(self._show_auto_expired)
        watch = profiles.drift_watch
        if watch is not None:
            watch.crossed.connect(lambda *args: self.center.drift_crossed(active.name, *args))
        # The alerts start with the fleet's first read: their requests and the view's
        # modules must not delay the first painted cards.
        window.set_alerts_view(None, "The alerts load once the fleet is in…")
        if fleet.last_refresh() is not None:
            QTimer.singleShot(_ALERTS_AFTER_MS, self._start_alerts)

    def _start_alerts(self) -> None:
        model, window = self.alerts, self._window
        if model is None or self.alerts_view is not None:
            return
        from console.ui.alerts_view import AlertsView

        self.alerts_view = AlertsView(model)
        self.alerts_view.exploreRequested.connect(self.open_explore)
        self.alerts_view.detailRequested.connect(window.open_detail)
        window.set_alerts_view(self.alerts_view, None)
        model.start()

    def close(self) -> None:
        """The window closes: stop reading alerts and close the Alertmanager client."""
        self._dispose_alerts()

    def _refresh_now(self) -> None:
        if self.alerts is not None:
            self.alerts.refresh_now()

    def _on_interval_picked(self, index: int) -> None:
        if self.alerts is not None and index >= 0:
            self.alerts.set_interval(float(self._window.interval_picker.itemData(index)))

    def _dispose_alerts(self) -> None:
        self.detach_detail()
        model, self.alerts = self.alerts, None
        self.alerts_view = None
        if model is not None and shiboken6.isValid(model):
            self.center.forget(model.profile.name)
            model.dispose()
            model.deleteLater()
        self._show_counts()

    def _on_fleet_read(self) -> None:
        fleet, model = self._window.profiles.fleet, self.alerts
        if fleet is None or model is None or fleet.last_refresh() is None:
            return
        if self.alerts_view is None:
            # After the cards' first paint, not before it: the view's modules and widgets
            # cost the first painted fleet a tenth of a second.
            QTimer.singleShot(_ALERTS_AFTER_MS, self._start_alerts)
        statuses = {c.reading.deployment: c.reading.status for c in fleet.cards()}
        self.center.statuses_read(model.profile.name, statuses)
        self._show_counts()

    # --- badges, counts, notifications ---------------------------------------------------

    def _show_counts(self) -> None:
        window = self._window
        overview = self.alerts.overview if self.alerts is not None else None
        per_deployment: dict[str, int] = {}
        for card in window.grid.cards():
            group = overview.group(card.deployment) if overview is not None else None
            card.alert_badge.set_alerts(group)
            if group is not None and group.firing:
                per_deployment[card.deployment] = group.firing
        total = sum(g.firing for g in overview.groups) if overview is not None else 0
        window.sidebar.set_alert_counts(total, per_deployment)
        window.set_alert_count(total)

    def _show_notification(self, notification: Notification) -> None:
        already_toasted = all(e.kind is EventKind.DRIFT_CROSSED for e in notification.events)
        if not self.notifier.uses_tray and already_toasted:
            return  # without a tray, the window already toasts every drift crossing
        self.notifier.show(notification)

    def _show_auto_expired(self, text: str) -> None:
        self._window.notifications.notify(
            Notice(title="Silence expired by the console", text=text, level=Level.INFO)
        )
        self._window.statusBar().showMessage(text, 10_000)

    # --- links ---------------------------------------------------------------------------

    def open_explore(self, expr: str) -> bool:
        """Open the Explore tab on ``expr`` and run it."""
        window = self._window
        if not window.show_in_explore(expr):
            window.statusBar().showMessage("Explore opens with the profile", 5000)
            return False
        return True

    def open_source(self, item: TimelineItem) -> None:
        """Open what a timeline item came from."""
        window, ref = self._window, item.source
        if isinstance(ref, AlertRef):
            view = self.alerts_view
            if view is not None and view.select_alert(ref.fingerprint):
                window.show_alerts()
                return
            expr = expression_of(ref.generator_url) if ref.generator_url else None
            if expr and self.open_explore(expr):
                window.statusBar().showMessage(f"{item.title}: it no longer fires", 8000)
            return
        if isinstance(ref, SilenceRef):
            if self.alerts_view is not None:
                self.alerts_view.select_silence(ref.silence_id)
                window.show_alerts()
            return
        if isinstance(ref, RunRef):
            window.show_run(ref.run_id)
            return
        if isinstance(ref, AuditRef):
            window.show_audit_entry(ref.entry_id)
            return
        at = ref.at if isinstance(ref, DriftRef) else item.at
        if isinstance(ref, VersionRef | DriftRef) and window.detail_view is not None:
            window.detail_view.show_time(at)

    # --- the detail's timeline -----------------------------------------------------------

    def attach_detail(self, view: DetailView) -> None:
        """Put the timeline of the detail's deployment under its charts."""
        if self.alerts is None:
            return
        from console.ui.timeline_view import TimelineView

        self.detach_detail()
        model = self.alerts
        self.timeline = TimelineViewModel(
            self._window.profiles.runner,
            model,
            view.model.deployment,
            view.model.range_s,
            parent=self,
        )
        self.timeline_view = TimelineView(self.timeline)
        self.timeline_view.itemActivated.connect(self.open_source)
        self.timeline_view.exportRequested.connect(self.export_report)
        self.timeline.exported.connect(
            lambda path: self._window.statusBar().showMessage(f"Report written to {path}", 10_000)
        )
        self.timeline.exportFailed.connect(self._show_export_failure)
        view.add_below_charts(self.timeline_view)
        self.timeline_view.link_x(view.leading_view_box())
        self.timeline.reload()

    def set_detail_deployment(self, deployment: str) -> None:
        """The detail shows another deployment."""
        if self.timeline is not None:
            self.timeline.set_deployment(deployment)

    def set_range(self, range_s: float) -> None:
        """The window's time range changed."""
        if self.timeline is not None:
            self.timeline.set_range(range_s)

    def detach_detail(self) -> None:
        """The detail closes: drop its timeline."""
        if self.timeline is not None:
            self.timeline.dispose()
            self.timeline.deleteLater()
        self.timeline = None
        self.timeline_view = None  # it goes with the detail view

    def export_report(self, path: Path | None = None) -> None:
        """Ask where (unless ``path`` is given), then write the incident report on the I/O
        loop (.md: Markdown, else HTML)."""
        timeline = self.timeline
        if timeline is None:
            return
        if path is None:
            path = ask_save_path(
                self._window,
                "Export incident report",
                f"incident-{timeline.deployment}.html",
                REPORT_FILTER,
            )
            if path is None:
                return
        timeline.export_report(path)

    def _show_export_failure(self, text: str) -> None:
        self._window.notifications.notify(
            Notice(title="Incident report not written", text=text, level=Level.ALERT)
        )


def _process_audit_log(window: FleetWindow) -> AuditProvider:
    """The audit log the window's profiles opened (one per process), awaited on the I/O loop."""
    future = window.profiles.audit.log_future

    async def log() -> AuditLog:
        return await asyncio.wrap_future(future)

    return log


def _rules_of(window: FleetWindow, name: str) -> NotificationRules:
    profile = window.profiles.profile(name)
    return profile.notifications if profile is not None else NotificationRules()
