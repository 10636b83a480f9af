"""Guarded actions in the fleet window: buttons and roles, the DEMO rollback end to end, the
Audit tab (filters, search, export, live updates) and the broken-chain banner."""

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from console.backends.demo import DemoBackend
from console.config import paths
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.config.store import ConfigStore
from console.domain.audit import AuditDraft, AuditOutcome
from console.qtbridge.runner import AsyncRunner
from console.services.audit_log import AuditLog
from console.services.fleet import FleetService
from console.services.guarded_action import Step
from console.ui.audit_view import BAD_ENTRY_COLOR
from console.ui.main_window import FleetWindow
from console.ui.plan_dialog import PlanDialog
from console.ui.theme import ThemeController
from console.viewmodels.profiles import FleetOpener, ProfilesViewModel
from tests.gui.fakes import opener
from tests.support.fake_backend import FakeBackend, fake_service

TIME_SCALE = 0.02


class Clock:
    """Wall-clock time plus what the test adds."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def open_window(
    qtbot, qapp, runner: AsyncRunner, secrets: SecretStore
) -> Callable[..., FleetWindow]:
    made: list[ProfilesViewModel] = []

    def open_(profile: str, open_service: FleetOpener) -> FleetWindow:
        profiles = ProfilesViewModel(
            runner,
            ConfigStore(paths.config_file()),
            secrets,
            open_service=open_service,
            suite_time_scale=TIME_SCALE,
        )
        made.append(profiles)
        window = FleetWindow(profiles, ThemeController(qapp))
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        profiles.activate(profile)
        return window

    yield open_
    for profiles in made:
        closing = profiles.close()
        if closing is not None:
            closing.result(timeout=10)


def demo_opener(clock: Clock) -> FleetOpener:
    """The DEMO over a simulation whose clock the test can move on."""
    demo = DemoBackend(clock=clock)

    def open_service(profile: Profile, _secrets: SecretStore) -> FleetService:
        return FleetService(
            profile.name, demo, slo=profile.slo, rate_window_s=profile.rate_window_s, clock=clock
        )

    return open_service


def seed_audit(count: int) -> None:
    """Entries in the data dir's audit log, written before the window opens."""
    log = AuditLog(paths.data_dir() / "audit.sqlite3")
    for index in range(count):
        log.append(
            AuditDraft(
                actor="alice@host (prod/admin)" if index % 2 else "bob@host (lab/operator)",
                profile="prod" if index % 2 else "lab",
                action="rollback" if index % 3 else "failover",
                target=f"model-{index}",
                outcome=AuditOutcome.SUCCEEDED if index % 2 else AuditOutcome.FAILED,
                reason=f"reason {index}",
                before="v1",
                after="v2",
            )
        )
    log.close()


def test_a_viewer_sees_disabled_buttons_saying_why(qtbot, open_window, secrets) -> None:
    config = ConfigStore(paths.config_file())
    config.save(config.load().with_profile(Profile("lab", "https://lab:9090")))
    window = open_window("lab", opener({"lab": fake_service(FakeBackend(), "lab")}))
    qtbot.waitUntil(lambda: len(window.grid.cards()) == 2, timeout=10_000)
    for card in window.grid.cards():
        for kind in ("rollback", "failover"):
            button = card.action_buttons[kind]
            assert not button.isEnabled()
            assert "viewer role, which cannot act" in button.toolTip()
    window.open_detail("alpha")
    assert window.detail_view is not None
    assert not any(b.isEnabled() for b in window.detail_view.action_buttons.values())
    assert "viewer role" in window.detail_view.action_buttons["rollback"].toolTip()


def test_demo_rollback_from_the_card_end_to_end(qtbot, open_window) -> None:
    clock = Clock()
    window = open_window("demo", demo_opener(clock))
    qtbot.waitUntil(lambda: window.grid.card("support-chat") is not None, timeout=10_000)
    card = window.grid.card("support-chat")
    assert card is not None
    assert card.status_word.text() == "ALERT"
    button = card.action_buttons["rollback"]
    assert button.isEnabled(), button.toolTip()

    button.click()
    dialog = window.findChild(PlanDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10_000)
    assert dialog.headline.text() == "support-chat: v42 → v41"
    dialog.reason.setText("v42 refuses too often")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # a double-click
    qtbot.waitUntil(lambda: dialog.action_result is not None, timeout=60_000)
    result = dialog.action_result
    assert result is not None
    assert result.outcome is AuditOutcome.SUCCEEDED, result.message
    assert "10/10 passed" in dialog.step_labels[Step.PRE_CHECK].text()
    assert "support-chat@v41" in (result.pre_check or "")

    # The annotation is on support-chat's charts.
    detail = window.open_detail("support-chat")
    assert detail is not None
    qtbot.waitUntil(
        lambda: any("rollback v42 → v41: succeeded" in a.text for a in detail.annotations()),
        timeout=10_000,
    )
    # The simulated metrics recover once the rate window has passed.
    clock.offset = 15 * 60.0
    window.profiles.refresh_now()
    qtbot.waitUntil(lambda: card.status_word.text() == "OK", timeout=15_000)
    assert "v41" in card.versions.full_text()

    # The result links to its audit entry in the Audit tab.
    dialog.audit_link.click()
    view = window.audit_view
    assert view is not None
    assert window.tabs.currentWidget() is window.audit_page
    qtbot.waitUntil(
        lambda: (entry := view.selected_entry()) is not None and entry.id == result.audit_id,
        timeout=5000,
    )
    entry = view.selected_entry()
    assert entry is not None
    assert (entry.action, entry.target, entry.outcome) == (
        "rollback",
        "support-chat",
        AuditOutcome.SUCCEEDED,
    )
    details = view.details.toPlainText().splitlines()
    assert any(line.split() == ["hash", entry.hash] for line in details)
    assert any(line.split() == ["prev_hash", entry.prev_hash] for line in details)
    rollbacks = window.profiles.audit.entries()
    assert [e.outcome for e in rollbacks if e.action == "rollback"] == [
        AuditOutcome.SUCCEEDED,
        AuditOutcome.STARTED,
    ], "the double-click made one change"


def test_the_audit_tab_filters_searches_exports_and_updates_live(
    qtbot, open_window, tmp_path: Path
) -> None:
    seed_audit(6)
    window = open_window("demo", demo_opener(Clock()))
    view = window.show_audit()
    qtbot.waitUntil(lambda: view.table_model.rowCount() == 6, timeout=5000)
    ids = [view.table_model.entry(row).id for row in range(6)]
    assert ids == sorted(ids, reverse=True), "newest first"

    view.profile_filter.setCurrentIndex(view.profile_filter.findData("prod"))
    qtbot.waitUntil(lambda: view.table_model.rowCount() == 3, timeout=5000)
    view.outcome_filter.setCurrentIndex(view.outcome_filter.findData("succeeded"))
    view.action_filter.setCurrentIndex(view.action_filter.findData("failover"))
    qtbot.waitUntil(lambda: view.table_model.rowCount() == 1, timeout=5000)
    assert view.table_model.entry(0).target == "model-3"

    view.show_entry(ids[-1])  # clears the filters
    qtbot.waitUntil(lambda: view.table_model.rowCount() == 6, timeout=5000)
    view.search.setText("REASON 4")
    qtbot.waitUntil(lambda: view.table_model.rowCount() == 1, timeout=5000)
    assert view.table_model.entry(0).reason == "reason 4"
    view.search.clear()
    qtbot.waitUntil(lambda: view.table_model.rowCount() == 6, timeout=5000)

    out = tmp_path / "export" / "audit.jsonl"
    with qtbot.waitSignal(window.profiles.audit.exported, timeout=5000):
        view.export_to(out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == sorted(ids)
    assert {"hash", "prev_hash"} <= set(json.loads(lines[0]))
    assert not list(out.parent.glob(".*.tmp")), "written atomically, no temp file left"

    log = window.profiles.audit.log
    assert log is not None
    log.append(
        AuditDraft(
            actor="me",
            profile="demo",
            action="reveal_log",
            target="x",
            outcome=AuditOutcome.SUCCEEDED,
        )
    )
    qtbot.waitUntil(lambda: view.table_model.rowCount() == 7, timeout=5000)
    assert view.table_model.entry(0).action == "reveal_log"
    assert view.action_filter.findData("reveal_log") >= 0


def test_a_tampered_audit_log_shows_a_red_banner_naming_the_entry(qtbot, open_window) -> None:
    seed_audit(4)
    with sqlite3.connect(paths.data_dir() / "audit.sqlite3") as db:
        db.execute("DROP TRIGGER entries_no_update")
        db.execute("UPDATE entries SET body = replace(body, 'reason 2', 'reason X') WHERE id = 3")
    window = open_window("demo", demo_opener(Clock()))
    banner = window.audit_banner
    qtbot.waitUntil(banner.isVisible, timeout=15_000)
    text = banner.label.text()
    assert "audit log broken at entry 3" in text
    assert "edited" in text
    assert banner.objectName() == "errorBar"
    view = window.show_audit()
    assert "entry 3" in view.chain_label.text()
    assert view.chain_label.property("status") == "alert"
    qtbot.waitUntil(lambda: view.table_model.rowCount() == 4, timeout=5000)
    model = view.table_model
    colors = {
        model.entry(row).id: model.data(model.index(row, 0), Qt.ItemDataRole.ForegroundRole)
        for row in range(4)
    }
    assert colors == {4: None, 3: BAD_ENTRY_COLOR, 2: None, 1: None}


def test_an_intact_audit_log_shows_no_banner(qtbot, open_window) -> None:
    seed_audit(3)
    window = open_window("demo", demo_opener(Clock()))
    audit = window.profiles.audit
    qtbot.waitUntil(lambda: audit.report is not None, timeout=15_000)
    assert audit.report is not None and audit.report.intact
    assert not window.audit_banner.isVisible()


def test_leaving_the_profile_closes_its_plan_dialog_and_audits_the_cancel(
    qtbot, open_window
) -> None:
    window = open_window("demo", demo_opener(Clock()))
    qtbot.waitUntil(lambda: window.grid.card("support-chat") is not None, timeout=10_000)
    dialog = window.open_action("failover", "support-chat")
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10_000)
    audit = window.profiles.audit
    with qtbot.waitSignal(audit.entryAppended, timeout=5000) as appended:
        window.profiles.activate("demo")
    entry = appended.args[0]
    assert (entry.action, entry.outcome) == ("failover", AuditOutcome.CANCELLED)
    qtbot.waitUntil(lambda: window.findChild(PlanDialog) is None, timeout=5000)
