"""The plan dialog over the real pipeline on the DEMO registry: fields, validation, cancel."""

import dataclasses
from collections.abc import Callable, Iterator

import pytest

from console.backends.demo import DemoBackend
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, Profile, Role
from console.domain.audit import AuditOutcome
from console.qtbridge.runner import AsyncRunner
from console.services.annotations import AnnotationStore
from console.services.guarded_action import VERIFY_BY_HAND, ActionResult
from console.ui.plan_dialog import PLANNING_TEXT, PlanDialog
from console.viewmodels.actions import ActionsViewModel, open_actions
from console.viewmodels.audit import AuditViewModel

TIME_SCALE = 0.02


@pytest.fixture
def audit(qtbot, runner: AsyncRunner) -> Iterator[AuditViewModel]:
    model = AuditViewModel(runner)
    qtbot.waitUntil(lambda: model.log is not None, timeout=5000)
    yield model
    model.close().result(timeout=5)


@pytest.fixture
def make_dialog(
    qtbot, runner: AsyncRunner, audit: AuditViewModel
) -> Iterator[Callable[..., PlanDialog]]:
    """A plan dialog of a DEMO variant (role, protected) over its own DEMO backend."""
    made: list[ActionsViewModel] = []

    def make(kind: str = "rollback", **changes: object) -> PlanDialog:
        profile: Profile = dataclasses.replace(DEMO_PROFILE, **changes)  # type: ignore[arg-type]
        backend = DemoBackend()
        actions = ActionsViewModel(
            runner,
            profile,
            lambda: open_actions(
                profile,
                SecretStore.session_only(),
                backend,
                AnnotationStore(),
                audit.log_future,
                suite_time_scale=TIME_SCALE,
            ),
            parent=None,
        )
        made.append(actions)
        flow = actions.flow(kind, "support-chat")
        dialog = PlanDialog(flow, may_override=actions.may_override_precheck)
        qtbot.addWidget(dialog)
        dialog.show()
        flow.request_plan()
        return dialog

    yield make
    for actions in made:
        closing = actions.close()
        if closing is not None:
            closing.result(timeout=10)


def planned(qtbot, dialog: PlanDialog) -> PlanDialog:
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10_000)
    return dialog


def test_the_dialog_shows_planning_at_once_then_the_plan(qtbot, make_dialog) -> None:
    dialog = make_dialog()
    assert dialog.status.text() == PLANNING_TEXT
    assert not dialog.ok_button.isEnabled()
    planned(qtbot, dialog)
    assert dialog.headline.text() == "support-chat: v42 → v41"
    assert dialog.ok_button.text() == "Roll back"
    facts = [
        [dialog.facts.item(row, column).text() for column in range(3)]
        for row in range(dialog.facts.rowCount())
    ]
    assert facts[0] == ["Version", "v42", "v41"]
    assert facts[2] == ["Status", "READY", "READY"]
    requests = next(row for row in facts if row[0] == "Requests")
    assert requests[1].endswith("req/s"), "the current version serves traffic"
    assert "alias 'production'" in dialog.route.text()
    assert "Stable support assistant." in dialog.notes.text()
    versions = {dialog.versions.item(row, 0).text() for row in range(dialog.versions.rowCount())}
    assert versions == {"v41", "v42"}
    aliases = {
        dialog.versions.item(row, 0).text(): dialog.versions.item(row, 3).text()
        for row in range(dialog.versions.rowCount())
    }
    assert aliases == {"v41": "fallback", "v42": "production"}
    assert dialog.target_picker.currentData() == "v41"
    assert dialog.history.rowCount() >= 1, "the current alias is recorded as seen"
    assert "Runs first" in dialog.precheck_note.text()
    assert dialog.override.isVisible() and dialog.override.isEnabled()  # the DEMO is admin
    assert not dialog.typed_name.isVisible()


def test_ok_needs_a_reason(qtbot, make_dialog) -> None:
    dialog = planned(qtbot, make_dialog())
    assert not dialog.ok_button.isEnabled()
    dialog.reason.setText("   ")
    assert not dialog.ok_button.isEnabled()
    dialog.reason.setText("v42 refuses too often")
    assert dialog.ok_button.isEnabled()


def test_a_protected_profile_needs_the_typed_deployment_name(qtbot, make_dialog) -> None:
    dialog = planned(qtbot, make_dialog(protected=True))
    assert dialog.typed_name.isVisible()
    dialog.reason.setText("bad release")
    assert not dialog.ok_button.isEnabled()
    dialog.typed_name.setText("support-cha")
    assert not dialog.ok_button.isEnabled()
    dialog.typed_name.setText("support-chat")
    assert dialog.ok_button.isEnabled()


def test_an_operator_cannot_override_the_pre_check(qtbot, make_dialog) -> None:
    dialog = planned(qtbot, make_dialog(role=Role.OPERATOR))
    assert not dialog.override.isVisible()
    dialog.reason.setText("bad release")
    assert dialog.ok_button.isEnabled()


def test_a_viewer_sees_the_denial_and_ok_stays_disabled(qtbot, make_dialog) -> None:
    dialog = planned(qtbot, make_dialog(role=Role.VIEWER))
    assert dialog.denial.isVisible()
    assert "viewer" in dialog.denial.text()
    dialog.reason.setText("bad release")
    assert not dialog.ok_button.isEnabled()
    assert not dialog.confirm()


def test_closing_without_confirming_is_audited(qtbot, make_dialog, audit) -> None:
    dialog = planned(qtbot, make_dialog())
    dialog.reason.setText("changed my mind")
    with qtbot.waitSignal(dialog.flow.cancelled, timeout=5000) as cancelled:
        dialog.reject()
    result = cancelled.args[0]
    assert result.outcome is AuditOutcome.CANCELLED
    entry = audit.log.get(result.audit_id)
    assert entry is not None
    assert (entry.action, entry.target, entry.outcome) == (
        "rollback",
        "support-chat",
        AuditOutcome.CANCELLED,
    )
    assert entry.reason == "changed my mind"
    assert (entry.before, entry.after) == ("v42", "v41")


def test_failover_goes_to_the_configured_fallback(qtbot, make_dialog) -> None:
    dialog = planned(qtbot, make_dialog(kind="failover"))
    assert dialog.ok_button.text() == "Fail over"
    assert dialog.headline.text() == "support-chat: v42 → v41"
    assert not dialog.target_picker.isEnabled(), "failover goes to its configured fallback"


def test_a_double_click_on_ok_runs_the_action_once(qtbot, make_dialog, audit) -> None:
    dialog = planned(qtbot, make_dialog())
    dialog.reason.setText("v42 refuses too often")
    assert dialog.confirm()
    assert not dialog.ok_button.isEnabled()
    assert not dialog.confirm(), "a second click does nothing"
    qtbot.waitUntil(lambda: dialog.action_result is not None, timeout=30_000)
    assert dialog.action_result is not None
    assert dialog.action_result.outcome is AuditOutcome.SUCCEEDED, dialog.action_result.message
    assert dialog.outcome.text() == "SUCCEEDED"
    assert dialog.audit_link.text() == f"Open audit entry #{dialog.action_result.audit_id}"
    steps = {step: label.text() for step, label in dialog.step_labels.items()}
    assert all("✓" in text for text in steps.values()), steps
    rollbacks = [e for e in audit.log.entries() if e.action == "rollback"]
    assert [e.outcome for e in rollbacks] == [AuditOutcome.SUCCEEDED, AuditOutcome.STARTED]
    with qtbot.waitSignal(dialog.auditEntryRequested) as requested:
        dialog.audit_link.click()
    assert requested.args == [dialog.action_result.audit_id]


def test_an_unknown_outcome_tells_to_verify_by_hand(qtbot, make_dialog) -> None:
    dialog = planned(qtbot, make_dialog())
    assert dialog.plan is not None
    message = "unknown: the change was made, but v41 is not confirmed to serve. " + VERIFY_BY_HAND
    dialog.flow.finished.emit(ActionResult(AuditOutcome.UNKNOWN, message, 7, dialog.plan))
    assert dialog.pages.currentIndex() == 1
    assert dialog.outcome.text() == "UNKNOWN"
    assert dialog.outcome.property("status") == "warn"
    assert dialog.result_message.text() == message
    assert dialog.verify_hint.isVisible()
    assert "by hand" in dialog.verify_hint.text()
    assert dialog.audit_link.text() == "Open audit entry #7"
