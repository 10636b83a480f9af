"""The on-call GUI of issue 8 on the DEMO: the Alerts tab, acks, notifications, the timeline.

The DEMO's in-process Alertmanager fires ModelLatencyP95High (critical) on support-chat's
bad version v42; rolling back to v41 resolves it.
"""

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QDialogButtonBox, QSystemTrayIcon

from console.backends.demo import DemoBackend
from console.backends.demo_alerts import DemoAlertmanager
from console.config.settings import Profile, Role, SettingsError
from console.domain.alerts import Alert, AlertSource, AlertState, exact_matchers, fingerprint
from console.domain.audit import AuditOutcome
from console.domain.notifications import NotificationRules
from console.domain.slo import Status
from console.domain.timeline import AlertRef, AuditRef, TimelineKind, VersionRef
from console.services.alerts import AlertsService
from console.services.audit_log import AuditFilter, AuditLog
from console.services.incident_report import IncidentReportService
from console.services.timeline import TimelineService
from console.ui.alerts_view import AlertsView
from console.ui.connection_dialog import ConnectionDialog
from console.ui.main_window import ALERTS_TAB, DETAIL_TAB, EXPLORE_TAB, FleetWindow
from console.ui.notifications import NotificationStack
from console.ui.theme import ThemeController
from console.ui.tray import DesktopNotifier
from console.viewmodels.alerts import AlertsViewModel
from console.viewmodels.notifier import NotificationCenter
from console.viewmodels.oncall import OnCallOpener, OnCallServices
from console.viewmodels.profiles import ProfilesViewModel

WAIT_MS = 15_000
ALERT = "ModelLatencyP95High"


@pytest.fixture
def window(qtbot, qapp, make_profiles) -> FleetWindow:
    profiles: ProfilesViewModel = make_profiles()
    shown = FleetWindow(profiles, ThemeController(qapp))
    qtbot.addWidget(shown)
    shown.resize(1320, 860)
    shown.show()
    profiles.activate("demo")
    qtbot.waitUntil(lambda: len(shown.grid.cards()) >= 3, timeout=WAIT_MS)
    return shown


def wait_for_alert(qtbot, window: FleetWindow) -> AlertsView:
    def read() -> bool:
        model = window.oncall.alerts
        return model is not None and model.overview is not None and bool(model.overview.alerts)

    qtbot.waitUntil(read, timeout=WAIT_MS)
    view = window.oncall.alerts_view
    assert view is not None
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() > 0, timeout=WAIT_MS)
    return view


def test_alerts_tab_groups_by_deployment_filters_badges_and_opens_explore(qtbot, window) -> None:
    view = wait_for_alert(qtbot, window)
    assert window.tabs.widget(ALERTS_TAB) is view
    assert window.tabs.tabText(ALERTS_TAB) == "Alerts (1)"
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_6, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentIndex() == ALERTS_TAB

    [group] = view.group_items()
    assert group.text(0) == "support-chat — 1 firing"
    assert group.child(0).text(0) == ALERT
    assert group.child(0).text(1) == "critical"
    assert group.child(0).text(3) == "FIRING"
    # The fleet card and the sidebar count it too.
    card = window.grid.card("support-chat")
    assert card is not None and card.alert_badge.count() == 1
    assert not card.alert_badge.isHidden() and card.alert_badge.text() == "\u26a0 1"
    assert window.grid.card("doc-qa").alert_badge.isHidden()
    assert window.sidebar.alert_count() == 1

    view.search.setText("no-such-alert")
    assert view.tree.topLevelItemCount() == 0
    view.search.setText("p95")  # matches the summary/labels case-insensitively
    assert view.tree.topLevelItemCount() == 1
    view.severity_filter.setCurrentIndex(2)  # critical only: still shown
    assert view.tree.topLevelItemCount() == 1

    view.tree.setCurrentItem(view.group_items()[0].child(0))
    alert = view.selected_alert()
    assert alert is not None and alert.name == ALERT
    assert "firing for" in view.details.text()
    assert view.explore_button.isEnabled()
    view.explore_button.click()
    qtbot.waitUntil(lambda: window.tabs.currentIndex() == EXPLORE_TAB, timeout=WAIT_MS)
    explore = window.explore_view
    assert explore is not None
    assert "support-chat" in explore.editor.toPlainText()


def test_ack_creates_the_exact_silence_and_the_console_expires_it_on_resolve(qtbot, window) -> None:
    view = wait_for_alert(qtbot, window)
    model = window.oncall.alerts
    assert model is not None
    view.tree.setCurrentItem(view.group_items()[0].child(0))
    alert = view.selected_alert()
    assert alert is not None
    dialog = view.ack_selected()
    assert dialog is not None
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.duration.currentText() == "1h"
    assert not ok.isEnabled() and "reason is required" in dialog.error.text()
    dialog.reason.setText("investigating the v42 latency")
    assert ok.isEnabled()
    with qtbot.waitSignal(model.actionDone, timeout=WAIT_MS) as done:
        ok.click()
    assert done.args[0].startswith(f"acknowledged {ALERT}: silence ")

    qtbot.waitUntil(lambda: len(model.silences) == 1, timeout=WAIT_MS)
    [silence] = model.silences
    assert set(silence.matchers) == set(exact_matchers(alert.labels))
    assert silence.comment == "investigating the v42 latency"
    assert silence.created_by == model.actor
    assert silence.ends_at - silence.starts_at == pytest.approx(3600, abs=1)
    assert view.silences.rowCount() == 1
    # A silenced alert no longer counts on the card.
    card = window.grid.card("support-chat")
    qtbot.waitUntil(lambda: card.alert_badge.count() == 0, timeout=WAIT_MS)

    # Roll back: the alert resolves and the console expires its ack by itself, and says so.
    backend = window.profiles.detail.backend
    assert isinstance(backend, DemoBackend)
    backend.set_serving("support-chat", {"v41": 1.0})
    with qtbot.waitSignal(model.autoExpired, timeout=WAIT_MS) as expired:
        model.refresh_now()
    assert f"alert {ALERT} resolved: expired its silence {silence.id}" == expired.args[0]
    assert any("resolved" in t.notice.text for t in window.notifications.toasts())


VIEWER = Profile("oncall-viewer", "http://127.0.0.1:9", role=Role.VIEWER)


def viewer_services() -> tuple[OnCallOpener, AuditLog]:
    profile = VIEWER
    backend = DemoBackend()
    audit = AuditLog()

    async def open_() -> OnCallServices:
        alerts = AlertsService(profile, alertmanager=DemoAlertmanager(backend), audit=audit)
        timelines = TimelineService(profile, backend, alerts=alerts)
        return OnCallServices(alerts, timelines, IncidentReportService(profile, backend, timelines))

    return open_, audit


def test_a_viewer_cannot_ack_the_dialog_says_why_and_the_denial_is_audited(qtbot, runner) -> None:
    opener, audit = viewer_services()
    model = AlertsViewModel(runner, opener, VIEWER)
    opened: list[QUrl] = []
    view = AlertsView(model, open_url=opened.append)
    qtbot.addWidget(view)
    with qtbot.waitSignal(model.changed, timeout=WAIT_MS):
        model.start()
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() == 1, timeout=WAIT_MS)
    view.tree.setCurrentItem(view.group_items()[0].child(0))
    alert = view.selected_alert()
    assert alert is not None and alert.runbook_url
    # The runbook is a link in the details; activating it opens it in the browser.
    assert f'<a href="{alert.runbook_url}">' in view.details.text()
    view.details.linkActivated.emit(alert.runbook_url)
    assert opened == [QUrl(alert.runbook_url)]
    dialog = view.ack_selected()
    assert dialog is not None
    dialog.reason.setText("trying anyway")
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    assert "viewer role, which cannot act" in dialog.error.text()
    dialog.reject()
    # The service refuses too (e.g. a CLI-like direct call), and the view shows its text.
    with qtbot.waitSignal(model.actionFailed, timeout=WAIT_MS) as failed:
        model.ack(alert, "trying anyway")
    assert "viewer role, which cannot act" in failed.args[0]
    assert "viewer role" in view.action_message.text()
    [entry] = audit.entries(AuditFilter(profile="oncall-viewer"))
    assert entry.outcome is AuditOutcome.DENIED and entry.action == "silence.ack"
    closing = model.dispose()
    if closing is not None:
        closing.result(timeout=5)


def test_notification_rules_apply_and_offscreen_falls_back_to_toasts(qtbot, window) -> None:
    # Offscreen there is no system tray: notifications become toasts in the window. The
    # tray path (QSystemTrayIcon.showMessage) cannot be exercised here.
    assert not QSystemTrayIcon.isSystemTrayAvailable()
    assert not window.oncall.notifier.uses_tray
    rules = NotificationRules(min_severity="critical", muted=("doc-qa",))
    center = NotificationCenter(lambda _name: rules)
    stack = NotificationStack(window.centralWidget())
    notifier = DesktopNotifier(stack)
    center.notified.connect(notifier.show)
    notifier.deploymentRequested.connect(window.open_detail)
    stack.activated.connect(window._on_notice_activated)

    center.statuses_read("demo", {"support-chat": Status.OK, "doc-qa": Status.OK})
    assert stack.toasts() == []  # the first read is the baseline
    center.statuses_read("demo", {"support-chat": Status.WARN, "doc-qa": Status.ALERT})
    assert stack.toasts() == []  # doc-qa is muted, WARN is no event
    assert center.policy.dropped[-1][1] == "doc-qa is muted"
    center.drift_crossed("demo", "support-chat", "output_tokens", "ok", "warn", 0.2)
    assert stack.toasts() == []  # warning is below critical
    center.statuses_read("demo", {"support-chat": Status.ALERT, "doc-qa": Status.ALERT})
    [toast] = stack.toasts()
    assert toast.notice.title == "[demo] support-chat turned ALERT"
    center.statuses_read("demo", {"support-chat": Status.OK, "doc-qa": Status.ALERT})
    center.statuses_read("demo", {"support-chat": Status.ALERT, "doc-qa": Status.ALERT})
    assert len(stack.toasts()) == 1  # the same event again is collapsed: no storm
    assert center.worst() is Status.ALERT

    qtbot.mouseClick(toast, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.tabs.currentIndex() == DETAIL_TAB, timeout=WAIT_MS)
    assert window.detail is not None and window.detail.deployment == "support-chat"


def test_timeline_lanes_and_list_link_to_their_sources(qtbot, window, tmp_path: Path) -> None:
    wait_for_alert(qtbot, window)
    window.open_detail("support-chat")
    timeline_view = window.oncall.timeline_view
    assert timeline_view is not None
    qtbot.waitUntil(lambda: window.oncall.timeline.timeline is not None, timeout=WAIT_MS)
    items = timeline_view.items()
    kinds = {item.kind for item in items}
    assert {TimelineKind.VERSION, TimelineKind.ALERT} <= kinds
    assert timeline_view.list.topLevelItemCount() == len(items)
    assert len(timeline_view.markers.data) == len(items)
    detail_view = window.detail_view
    assert detail_view is not None
    # The lanes show the charts' time range.
    lanes, charts = (
        timeline_view.view_box.viewRange()[0],
        detail_view.leading_view_box().viewRange()[0],
    )
    assert lanes == pytest.approx(charts)

    alert_index = next(i for i, it in enumerate(items) if isinstance(it.source, AlertRef))
    timeline_view.activate(alert_index)
    assert window.tabs.currentIndex() == ALERTS_TAB
    selected = window.oncall.alerts_view.selected_alert()
    assert selected is not None and selected.fingerprint == items[alert_index].source.fingerprint

    window.open_detail("support-chat")
    version_index = next(i for i, it in enumerate(items) if isinstance(it.source, VersionRef))
    row = next(
        timeline_view.list.topLevelItem(r)
        for r in range(timeline_view.list.topLevelItemCount())
        if timeline_view.list.topLevelItem(r).data(0, Qt.ItemDataRole.UserRole) == version_index
    )
    timeline_view.list.itemActivated.emit(row, 0)
    at = items[version_index].at
    assert all(chart.crosshair_x() == at for chart in detail_view.group.charts())

    # An ack is audited; its entries join the audit lane and link to the Audit tab.
    model = window.oncall.alerts
    with qtbot.waitSignal(model.actionDone, timeout=WAIT_MS):
        model.ack(selected, "investigating")
    qtbot.waitUntil(
        lambda: any(isinstance(i.source, AuditRef) for i in timeline_view.items()),
        timeout=WAIT_MS,
    )
    assert any(i.kind is TimelineKind.SILENCE for i in timeline_view.items())
    audit_index, audit_item = next(
        (i, it) for i, it in enumerate(timeline_view.items()) if isinstance(it.source, AuditRef)
    )
    timeline_view.activate(audit_index)
    assert window.tabs.currentWidget() is window.audit_page
    audit_view = window.audit_view
    assert audit_view is not None
    qtbot.waitUntil(
        lambda: (
            audit_view.selected_entry() is not None
            and audit_view.selected_entry().id == audit_item.source.entry_id
        ),
        timeout=WAIT_MS,
    )

    out = tmp_path / "incident.html"
    with qtbot.waitSignal(window.oncall.timeline.exported, timeout=WAIT_MS):
        window.oncall.export_report(out)
    text = out.read_text()
    assert text.lstrip().lower().startswith("<!doctype html") and ALERT in text


def test_silence_editor_takes_regex_and_negation_rejects_bad_matchers_and_expires(
    qtbot, window
) -> None:
    view = wait_for_alert(qtbot, window)
    model = window.oncall.alerts
    assert model is not None
    view.sections.setCurrentIndex(1)
    dialog = view.edit_silence(None)
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    dialog.comment.setText("maintenance window")
    dialog.matchers.setPlainText('deployment=~"(support"')
    assert not save.isEnabled() and "invalid regular expression" in dialog.error.text()
    dialog.matchers.setPlainText('deployment=~"support-.*"\nseverity!="info"')
    dialog.duration.setCurrentText("2h")
    assert save.isEnabled(), dialog.error.text()
    with qtbot.waitSignal(model.actionDone, timeout=WAIT_MS):
        save.click()
    qtbot.waitUntil(lambda: view.silences.rowCount() == 1, timeout=WAIT_MS)
    [silence] = model.silences
    assert [m.operator for m in silence.matchers] == ["=~", "!="]
    assert silence.ends_at - silence.starts_at == pytest.approx(7200, abs=1)
    assert view.silences.item(0, 1).text() == 'deployment=~"support-.*", severity!="info"'

    view.silences.selectRow(0)
    assert view.expire_silence_button.isEnabled()
    ask = view.expire_selected_silence()
    assert ask is not None
    with qtbot.waitSignal(model.actionDone, timeout=WAIT_MS) as done:
        ask.setTextValue("window over")
        ask.accept()
    assert done.args[0] == f"expired silence {silence.id}"
    qtbot.waitUntil(
        lambda: (
            view.silences.item(0, 0) is not None and view.silences.item(0, 0).text() == "EXPIRED"
        ),
        timeout=WAIT_MS,
    )


def test_an_alert_that_starts_firing_notifies_and_its_toast_opens_the_detail(qtbot, window) -> None:
    wait_for_alert(qtbot, window)
    model = window.oncall.alerts
    assert model is not None and model.overview is not None
    [alert] = model.overview.alerts
    model.startedFiring.emit((alert,))  # as a read that finds a new alert does
    toast = next(t for t in window.notifications.toasts() if ALERT in t.notice.title)
    assert toast.notice.title == f"[demo] {ALERT} firing on support-chat"
    qtbot.mouseClick(toast, Qt.MouseButton.LeftButton)
    assert window.tabs.currentIndex() == DETAIL_TAB
    assert window.detail_view is not None
    assert window.detail_view.sections.currentWidget() is window.detail_view.scroll_area


class ScriptedAlertmanager:
    """Answers alerts() from a list the test changes between reads."""

    base_url = "http://127.0.0.1:9"

    def __init__(self) -> None:
        self.firing: list[Alert] = []

    async def alerts(self, **_: object) -> list[Alert]:
        return list(self.firing)

    async def silences(self, filters: object = ()) -> list[object]:
        return []

    async def aclose(self) -> None:
        return None


def scripted_alert(name: str) -> Alert:
    labels = {"alertname": name, "deployment": "doc-qa", "severity": "warning"}
    return Alert(fingerprint(labels), labels, {}, 1_700_000_000.0, AlertState.ACTIVE)


def test_started_firing_names_only_alerts_new_since_the_previous_read(qtbot, runner) -> None:
    backend = ScriptedAlertmanager()
    backend.firing = [scripted_alert("Old")]
    metrics = DemoBackend()

    async def open_() -> OnCallServices:
        alerts = AlertsService(VIEWER, alertmanager=backend)  # type: ignore[arg-type]
        timelines = TimelineService(VIEWER, metrics, alerts=alerts)
        return OnCallServices(alerts, timelines, IncidentReportService(VIEWER, metrics, timelines))

    model = AlertsViewModel(runner, open_, VIEWER)
    started: list[tuple[Alert, ...]] = []
    model.startedFiring.connect(started.append)
    with qtbot.waitSignal(model.changed, timeout=WAIT_MS):
        model.start()
    assert started == []  # the first read is the baseline
    backend.firing = [scripted_alert("Old"), scripted_alert("New")]
    with qtbot.waitSignal(model.changed, timeout=WAIT_MS):
        model.refresh_now()
    assert [[a.name for a in batch] for batch in started] == [["New"]]
    with qtbot.waitSignal(model.changed, timeout=WAIT_MS):
        model.refresh_now()
    assert len(started) == 1
    closing = model.dispose()
    if closing is not None:
        closing.result(timeout=5)


class PrometheusOnly:
    """Stands in PrometheusAlerts: Prometheus's own /api/v1/alerts."""

    async def alerts(self) -> list[Alert]:
        labels = {"alertname": "HighErrors", "model_name": "doc-qa", "severity": "critical"}
        return [
            Alert(
                fingerprint(labels),
                labels,
                {"summary": "errors above 5 %"},
                1_700_000_000.0,
                AlertState.ACTIVE,
                AlertSource.PROMETHEUS,
            )
        ]


def test_without_alertmanager_prometheus_alerts_show_and_acks_say_why_not(qtbot, runner) -> None:
    operator = Profile("prom-only", "http://127.0.0.1:9", role=Role.OPERATOR)
    metrics = DemoBackend()

    async def open_() -> OnCallServices:
        alerts = AlertsService(operator, alertmanager=None, prometheus=PrometheusOnly())  # type: ignore[arg-type]
        timelines = TimelineService(operator, metrics, alerts=alerts)
        return OnCallServices(
            alerts, timelines, IncidentReportService(operator, metrics, timelines)
        )

    model = AlertsViewModel(runner, open_, operator)
    view = AlertsView(model)
    qtbot.addWidget(view)
    with qtbot.waitSignal(model.changed, timeout=WAIT_MS):
        model.start()
    [group] = view.group_items()
    assert group.text(0) == "doc-qa — 1 firing"  # through model_name
    assert "Prometheus /api/v1/alerts (no Alertmanager configured)" in view.status.text()
    assert "no silences without an Alertmanager" in view.silences_status.text()
    view.tree.setCurrentItem(group.child(0))
    dialog = view.ack_selected()
    assert dialog is not None
    dialog.reason.setText("looking")
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    assert "silences need an Alertmanager" in dialog.error.text()
    dialog.reject()
    closing = model.dispose()
    if closing is not None:
        closing.result(timeout=5)


def test_the_connection_dialog_edits_the_alertmanager_url(qtbot, make_profiles) -> None:
    dialog = ConnectionDialog(make_profiles())
    qtbot.addWidget(dialog)
    dialog.name.setText("lab")
    dialog.url.setText("http://127.0.0.1:9090")
    dialog.alertmanager_url.setText("http://127.0.0.1:9093")
    assert dialog.profile_from_form().alertmanager_url == "http://127.0.0.1:9093"
    dialog.alertmanager_url.setText("")
    assert dialog.profile_from_form().alertmanager_url is None
    dialog.alertmanager_url.setText("ftp://alerts")
    with pytest.raises(SettingsError) as raised:
        dialog.profile_from_form()
    assert raised.value.key == "alertmanager_url"
