"""The Runs tab: one-click smoke suite on a DEMO deployment, live progress, the failure filter,
cancel, case detail, comparing two runs, export and the run's mark on the detail charts."""

import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QDialogButtonBox

from console.backends.demo import DemoBackend
from console.config import paths
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.config.store import ConfigStore
from console.domain.annotations import AnnotationKind
from console.domain.suite_results import CaseStatus, RunStatus
from console.services.connect import open_fleet
from console.services.fleet import FleetService
from console.services.suite_runner import RunSummary
from console.ui.case_detail import REDACTED_NOTE
from console.ui.main_window import RUNS_TAB, FleetWindow
from console.ui.runs_view import RunsView
from console.ui.theme import ThemeController
from console.viewmodels.profiles import ProfilesViewModel
from console.viewmodels.suite_runs import ExportFormat, SuiteRunsViewModel

WAIT_MS = 10_000
RUN_MS = 40_000
TIME_SCALE = 0.5
"""The DEMO model server at half its delays: v42 still fails (one slow case passes)."""


@dataclass
class Demo:
    window: FleetWindow
    backend: DemoBackend

    @property
    def runs(self) -> SuiteRunsViewModel:
        runs = self.window.profiles.suite_runs
        assert runs is not None
        return runs

    @property
    def view(self) -> RunsView:
        view = self.window.runs_view
        assert view is not None
        return view


@pytest.fixture
def open_demo(qtbot, qapp, runner, secrets: SecretStore) -> Callable[..., Demo]:
    made: list[ProfilesViewModel] = []

    def open_(profile: str = "demo") -> Demo:
        services: list[FleetService] = []

        def opening(chosen: Profile, store: SecretStore) -> FleetService:
            services.append(open_fleet(chosen, store))
            return services[-1]

        profiles = ProfilesViewModel(
            runner,
            ConfigStore(paths.config_file()),
            secrets,
            open_service=opening,
            suite_time_scale=TIME_SCALE,
        )
        made.append(profiles)
        window = FleetWindow(profiles, ThemeController(qapp))
        qtbot.addWidget(window)
        window.resize(1280, 900)
        window.show()
        profiles.activate(profile)
        qtbot.waitUntil(lambda: len(window.grid.cards()) > 0, timeout=WAIT_MS)
        backend = services[0].backend
        assert isinstance(backend, DemoBackend)
        return Demo(window, backend)

    yield open_
    for profiles in made:
        closing = profiles.close()
        if closing is not None:
            closing.result(timeout=10)


def run_from_card(qtbot, demo: Demo, deployment: str = "support-chat") -> RunSummary:
    card = demo.window.grid.card(deployment)
    assert card is not None
    with qtbot.waitSignal(demo.runs.finished, timeout=RUN_MS) as finished:
        qtbot.mouseClick(card.run_suite_button, Qt.MouseButton.LeftButton)
        assert demo.window.tabs.currentIndex() == RUNS_TAB
        assert demo.window.tabs.currentWidget() is demo.view
    summary = finished.args[0]
    assert isinstance(summary, RunSummary)
    return summary


def failing_titles(summary: RunSummary) -> set[str]:
    return {r.title for r in summary.records if r.status is not CaseStatus.PASSED}


def test_one_click_runs_the_smoke_suite_and_the_filter_shows_only_failures(
    qtbot, open_demo
) -> None:
    demo = open_demo()
    summary = run_from_card(qtbot, demo)
    assert summary.info.model_version == "v42"
    assert summary.info.status is RunStatus.COMPLETED
    failures = failing_titles(summary)
    assert 3 <= len(failures) < len(summary.records)
    view = demo.view
    assert view.progress.maximum() == summary.info.planned == 10
    assert view.progress.value() == view.progress.maximum()
    assert "v42" in view.title.text() and "failed" in view.status.text()
    table = view.table.model()
    assert table.rowCount() == 10
    view.failures_only.setChecked(True)
    assert table.rowCount() == len(failures)
    shown = {table.index(row, 1).data() for row in range(table.rowCount())}
    assert shown == failures
    assert {table.index(row, 0).data() for row in range(table.rowCount())} <= {"FAILED", "ERROR"}
    view.failures_only.setChecked(False)
    assert table.rowCount() == 10
    assert view.table.verticalHeader().defaultSectionSize() == view.table.rowHeight(0)


def test_the_detail_header_button_runs_the_suite_too(qtbot, open_demo) -> None:
    demo = open_demo()
    demo.backend.set_serving("support-chat", {"v41": 1.0})
    demo.window.open_detail("support-chat")
    detail_view = demo.window.detail_view
    assert detail_view is not None
    with qtbot.waitSignal(demo.runs.finished, timeout=RUN_MS) as finished:
        qtbot.mouseClick(detail_view.run_suite_button, Qt.MouseButton.LeftButton)
    assert demo.window.tabs.currentIndex() == RUNS_TAB
    summary = finished.args[0]
    assert summary.info.model_version == "v41"
    assert summary.tally.passed == summary.info.planned == 10


def test_cancel_stops_the_run_and_keeps_what_finished(qtbot, open_demo) -> None:
    demo = open_demo()
    card = demo.window.grid.card("support-chat")
    assert card is not None
    with qtbot.waitSignal(demo.runs.finished, timeout=RUN_MS) as finished:
        qtbot.mouseClick(card.run_suite_button, Qt.MouseButton.LeftButton)
        assert demo.view.cancel_button.isEnabled()
        qtbot.waitUntil(lambda: demo.runs.planned > 0, timeout=WAIT_MS)
        qtbot.mouseClick(demo.view.cancel_button, Qt.MouseButton.LeftButton)
    summary = finished.args[0]
    assert summary.info.status is RunStatus.CANCELLED
    assert len(summary.records) < summary.info.planned
    assert not demo.view.cancel_button.isEnabled()
    assert demo.view.status.text().startswith("cancelled")
    assert not demo.runs.running


def test_the_case_detail_shows_prompt_output_and_each_assertions_reason(qtbot, open_demo) -> None:
    demo = open_demo()
    summary = run_from_card(qtbot, demo)
    view = demo.view
    view.failures_only.setChecked(True)
    view.table.selectionModel().select(
        view.table.model().index(0, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    record = next(r for r in summary.records if r.title == view.table.model().index(0, 1).data())
    detail = view.case_detail
    assert record.title in detail.title.text()
    assert detail.note.text() == REDACTED_NOTE and detail.note.isVisible()
    assert detail.output.isReadOnly()
    assert detail.output.toPlainText() == (record.response_text or detail.output.toPlainText())
    assert "[user]" in detail.prompt.toPlainText()
    for outcome in record.assertions:
        assert f"{outcome.name}: {outcome.reason}" in detail.assertions.toPlainText()
    assert "FAIL" in detail.assertions.toPlainText()


def test_comparing_v42_with_a_run_after_the_rollback_shows_fail_to_pass(qtbot, open_demo) -> None:
    demo = open_demo()
    bad = run_from_card(qtbot, demo)
    demo.backend.set_serving("support-chat", {"v41": 1.0})
    good = run_from_card(qtbot, demo)
    assert good.info.model_version == "v41" and good.tally.pass_rate == 1.0
    view = demo.view
    qtbot.waitUntil(lambda: view.history.count() == 2, timeout=WAIT_MS)
    assert not view.compare_button.isEnabled()
    view.history.selectAll()
    assert view.compare_button.isEnabled()
    with qtbot.waitSignal(demo.runs.comparisonReady, timeout=WAIT_MS):
        qtbot.mouseClick(view.compare_button, Qt.MouseButton.LeftButton)
    changes = view.compare_table.changes()
    assert changes and {change for change, _ in changes} == {"fail → pass"}
    assert {title for _, title in changes} == failing_titles(bad)
    assert "0 pass → fail" in view.compare_caption.text()
    lines = view.pass_rate_chart.lines()
    (times, rates) = lines["support-chat"]
    assert list(times) == [bad.info.started_at, good.info.started_at]
    assert list(rates) == pytest.approx([bad.tally.pass_rate * 100, 100.0])


def test_export_writes_junit_json_and_csv(qtbot, open_demo, tmp_path: Path) -> None:
    demo = open_demo()
    summary = run_from_card(qtbot, demo)
    asked: list[str] = []

    def save_path(_parent: object, _title: str, suggested: str, _filter: str) -> Path:
        asked.append(suggested)
        return tmp_path / suggested

    view = demo.view
    view.save_path = save_path
    for kind in ExportFormat:
        with qtbot.waitSignal(demo.runs.exported, timeout=WAIT_MS):
            qtbot.mouseClick(view.export_buttons[kind], Qt.MouseButton.LeftButton)
    assert asked == ["junit.xml", "run.json", "run.csv"]
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and len(suite.findall("testcase")) == 10
    assert len(suite.findall("testcase/failure")) == len(failing_titles(summary))
    report = json.loads((tmp_path / "run.json").read_text())
    assert len(report["results"]) == 10 and report["run"]["model_version"] == "v42"
    with (tmp_path / "run.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 10


def test_a_finished_run_marks_the_deployments_detail_charts(qtbot, open_demo) -> None:
    demo = open_demo()
    summary = run_from_card(qtbot, demo)
    demo.window.open_detail("support-chat")
    detail = demo.window.detail
    view = demo.window.detail_view
    assert detail is not None and view is not None

    def marked() -> bool:
        kinds = [mark.kind for mark in detail.annotations()]
        chart = next(iter(view.charts.values()))
        return AnnotationKind.SYNTHETIC_RUN in kinds and len(chart.annotation_lines()) == len(kinds)

    qtbot.waitUntil(marked, timeout=WAIT_MS)
    (mark,) = [m for m in detail.annotations() if m.kind is AnnotationKind.SYNTHETIC_RUN]
    tally = summary.tally
    assert mark.text == f"suite {tally.passed}/{tally.total} passed"
    assert (mark.deployment, mark.version) == ("support-chat", "v42")


def test_alt_5_shows_the_runs_tab_of_the_profile(qtbot, open_demo) -> None:
    demo = open_demo()
    window = demo.window
    assert window.tabs.tabText(RUNS_TAB) == "Runs"
    assert window.runs_view is None  # built the first time the tab shows
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.runs_view is not None, timeout=WAIT_MS)
    assert window.tabs.currentWidget() is demo.view
    assert demo.view.model is window.profiles.suite_runs


def test_a_shadow_run_compares_production_with_a_candidate_case_by_case(qtbot, open_demo) -> None:
    demo = open_demo()
    run_from_card(qtbot, demo)  # v42 serves support-chat: the bad release
    view = demo.view
    assert view.shadow_button.isEnabled()
    dialog = view.ask_shadow_run()
    assert dialog is not None
    qtbot.addWidget(dialog)
    assert dialog.model.text() == "support-chat@v41"
    dialog.model.setText("")
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    dialog.base_url.setText("ftp://nowhere")
    dialog.model.setText("support-chat@v41")
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    dialog.base_url.setText("")
    with qtbot.waitSignal(demo.runs.comparisonReady, timeout=RUN_MS) as compared:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    comparison = compared.args[0]
    # production (v42) fails cases the candidate (v41) passes: seen from production as
    # "before", the candidate fixes them
    assert len(comparison.fixes) >= 3 and not comparison.regressions
    assert view.sections.currentIndex() == 1
    assert view.compare_caption.text().startswith(
        "Shadow comparison: support-chat@v41 against support-chat"
    )
    assert view.compare_table.rowCount() >= 3
    summary = demo.runs.shown
    assert summary is not None and summary.info is not None
    assert summary.info.planned == 20  # ten cases, two targets
