"""The Logs tab on the DEMO: explorer (redacted columns, detail, version filter, fetch-more),
live tail (new rows arrive; pauses when scrolled), review queue, and reveal permissions."""

import concurrent.futures
import dataclasses
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from console.backends.demo import DemoBackend
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, Profile, Role
from console.domain.audit import AuditOutcome
from console.qtbridge.runner import AsyncRunner
from console.services.audit_log import AuditFilter, AuditLog
from console.services.suite_loader import load_suite
from console.ui.logs_view import LogsView
from console.ui.main_window import FleetWindow
from console.ui.theme import ThemeController
from console.viewmodels.log_rows import OUTPUT_COLUMN, PROMPT_COLUMN, VERSION_COLUMN
from console.viewmodels.logs import PAGE_LIMIT, LogsViewModel, logs_opener
from console.viewmodels.profiles import ProfilesViewModel
from console.viewmodels.review import ReviewViewModel

WAIT_MS = 20_000
SMOKE_SUITE = Path(__file__).parents[2] / "resources" / "suites" / "smoke.yaml"
PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(tmp_path / "audit.sqlite3")
    yield log


ViewMaker = Callable[..., LogsView]


@pytest.fixture
def make_view(qtbot: QtBot, runner: AsyncRunner, audit: AuditLog) -> Iterator[ViewMaker]:
    made: list[LogsView] = []

    def make(
        profile: Profile = DEMO_PROFILE, *, clock: Callable[[], float] | None = None
    ) -> LogsView:
        done: concurrent.futures.Future[AuditLog] = concurrent.futures.Future()
        done.set_result(audit)
        demo = DemoBackend()
        opener = logs_opener(
            profile, SecretStore.session_only(), demo_serving=demo.serving, audit=done
        )
        kwargs = {"clock": clock} if clock is not None else {}
        logs = LogsViewModel(runner, profile, opener, **kwargs)
        review = ReviewViewModel(runner, profile, logs.services_future)
        view = LogsView(logs, review)
        logs.setParent(view)
        review.setParent(view)
        qtbot.addWidget(view)
        view.resize(1300, 850)
        view.show()
        made.append(view)
        qtbot.waitUntil(lambda: logs.table.loaded > 0, timeout=WAIT_MS)
        return view

    yield make
    closing = [view.logs.close() for view in made]
    concurrent.futures.wait(closing, timeout=5)


def _first_redacted_row(view: LogsView) -> int:
    table = view.logs.table
    return next(r for r in range(table.rowCount()) if table.record(r).redacted)


def test_explorer_shows_redacted_rows_and_the_detail(make_view: ViewMaker) -> None:
    view = make_view()
    table = view.logs.table
    assert table.loaded == PAGE_LIMIT
    row = _first_redacted_row(view)
    record = table.record(row)
    texts = [table.index(row, c).data() for c in (PROMPT_COLUMN, OUTPUT_COLUMN)]
    assert any(PLACEHOLDER.search(text) for text in texts)
    assert view.explorer.histogram.total() >= table.loaded
    view.explorer.select_row(row)
    detail = view.explorer.detail
    assert detail.record is record
    shown = detail.prompt.toPlainText() + detail.output.toPlainText()
    assert PLACEHOLDER.search(shown)
    assert (record.prompt or record.raw) in shown


def test_no_cell_shows_a_secret_or_an_email(make_view: ViewMaker) -> None:
    view = make_view()
    table = view.logs.table
    redacted = 0
    for row in range(table.rowCount()):
        cells = " ".join(str(table.index(row, c).data()) for c in range(table.columnCount()))
        assert not re.search(r"sk-[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|\w@\w+\.\w", cells)
        redacted += table.record(row).redacted
    assert redacted > 0


def test_rows_have_a_fixed_height(make_view: ViewMaker) -> None:
    view = make_view()
    table = view.explorer.table
    heights = {table.rowHeight(r) for r in range(0, 50)}
    assert heights == {table.verticalHeader().defaultSectionSize()}


def test_version_filter_shows_one_version(make_view: ViewMaker, qtbot: QtBot) -> None:
    view = make_view()
    explorer = view.explorer
    versions = view.logs.table.rows.versions()
    assert "v42" in versions
    explorer.version_box.setCurrentIndex(explorer.version_box.findData("v42"))
    table = view.logs.table
    assert 0 < table.rowCount() < table.loaded
    assert {table.index(r, VERSION_COLUMN).data() for r in range(table.rowCount())} == {"v42"}
    explorer.search.setText("canada")
    assert table.rowCount() > 0
    for r in range(table.rowCount()):
        record = table.record(r)
        assert "canada" in ((record.prompt or "") + (record.output or "")).lower()
    explorer.version_box.setCurrentIndex(0)
    explorer.search.clear()
    assert table.rowCount() == table.loaded


def test_scrolling_to_the_bottom_fetches_older_rows(make_view: ViewMaker, qtbot: QtBot) -> None:
    view = make_view()
    table = view.logs.table
    oldest = table.rows.timestamps_ns[-1]
    assert table.canFetchMore(table.index(-1, -1))
    with qtbot.waitSignal(view.logs.moreLoaded, timeout=WAIT_MS):
        view.explorer.table.scrollToBottom()
    assert PAGE_LIMIT < table.loaded <= 2 * PAGE_LIMIT
    assert view.logs.exhausted == (table.loaded < 2 * PAGE_LIMIT)
    assert table.canFetchMore(table.index(-1, -1)) != view.logs.exhausted
    assert table.rows.timestamps_ns[PAGE_LIMIT] <= oldest
    keys = [r.key for r in table.rows.records]
    assert len(set(keys)) == len(keys)


def test_live_tail_adds_rows_at_the_top_and_pauses_when_scrolled(
    make_view: ViewMaker, qtbot: QtBot
) -> None:
    now = [time.time() - 600]  # the query ends 10 minutes ago: the tail has lines to bring
    # The query ends 10 minutes ago, so the tail has lines to bring at once.
    view = make_view(clock=lambda: now[0])
    logs, table = view.logs, view.logs.table
    newest = table.rows.timestamps_ns[0]
    loaded = table.loaded
    now[0] = time.time()
    with qtbot.waitSignal(logs.tailArrived, timeout=WAIT_MS):
        view.explorer.tail_button.click()
    assert logs.tail_on and table.loaded > loaded
    assert table.rows.timestamps_ns[0] > newest
    assert list(table.rows.timestamps_ns) == sorted(table.rows.timestamps_ns, reverse=True)
    # Reading older rows pauses the tail; back at the top it resumes.
    view.explorer.table.verticalScrollBar().setValue(200)
    assert logs.tail_paused
    assert "paused" in view.explorer.tail_button.text()
    view.explorer.table.verticalScrollBar().setValue(0)
    assert not logs.tail_paused
    view.explorer.tail_button.click()
    assert not logs.tail_on


def test_paused_tail_does_not_poll(make_view: ViewMaker, qtbot: QtBot) -> None:
    view = make_view()
    logs = view.logs
    view.explorer.tail_button.click()
    qtbot.waitUntil(lambda: logs._tail_poll is None, timeout=WAIT_MS)
    view.explorer.table.verticalScrollBar().setValue(100)
    assert logs.tail_paused
    logs._poll_tail()
    assert logs._tail_poll is None


def test_review_queue_mark_export_and_add_case(
    make_view: ViewMaker, qtbot: QtBot, tmp_path: Path
) -> None:
    view = make_view()
    review, section = view.review, view.review_view
    view.setCurrentIndex(1)
    qtbot.waitUntil(lambda: review.table.rowCount() > 0, timeout=WAIT_MS)
    assert view.tabText(1) == f"Review ({review.pending})"
    item = review.table.item(0)
    assert item.confidence < DEMO_PROFILE.review_threshold
    section.table.selectRow(0)
    assert section.prompt.toPlainText() == (item.prompt or "")
    section.note.setText("refuses a plain shipping question")
    pending = review.pending
    with qtbot.waitSignal(review.decided, timeout=WAIT_MS) as decided:
        section.unacceptable_button.click()
    assert decided.args[0].verdict.value == "unacceptable"
    qtbot.waitUntil(lambda: review.pending == pending - 1, timeout=WAIT_MS)
    assert review.table.row_of(item.record_key) is None  # pending only

    out = tmp_path / "reviews.jsonl"
    section.save_path = lambda *_args: out
    with qtbot.waitSignal(review.exported, timeout=WAIT_MS):
        section.export_button.click()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["record_key"], x["verdict"], x["note"]) for x in lines] == [
        (item.record_key, "unacceptable", "refuses a plain shipping question")
    ]

    suite = tmp_path / "suite.yaml"
    shutil.copy(SMOKE_SUITE, suite)
    before = len(load_suite(suite).cases)
    section.pending_only.setChecked(False)
    qtbot.waitUntil(lambda: review.table.row_of(item.record_key) is not None, timeout=WAIT_MS)
    section.table.selectRow(review.table.row_of(item.record_key))
    section.suite_path = lambda *_args: suite
    with qtbot.waitSignal(review.caseAdded, timeout=WAIT_MS):
        section.add_case_button.click()
    after = load_suite(suite)
    assert len(after.cases) == before + 1
    added = yaml.safe_load(suite.read_text())["tests"][-1]
    assert added["metadata"]["record"] == item.record_key
    assert item.record_key in section.message.text() or "Added case" in section.message.text()


def test_a_bad_suite_file_is_reported(make_view: ViewMaker, qtbot: QtBot, tmp_path: Path) -> None:
    view = make_view()
    review, section = view.review, view.review_view
    view.setCurrentIndex(1)
    qtbot.waitUntil(lambda: review.table.rowCount() > 0, timeout=WAIT_MS)
    section.table.selectRow(0)
    bad = tmp_path / "bad.yaml"
    bad.write_text("tests: [unclosed\n")
    section.suite_path = lambda *_args: bad
    with qtbot.waitSignal(review.errorRaised, timeout=WAIT_MS):
        section.add_case_button.click()
    assert str(bad) in section.message.text()
    assert bad.read_text() == "tests: [unclosed\n"


def test_reveal_is_denied_to_a_viewer(make_view: ViewMaker, audit: AuditLog) -> None:
    view = make_view(dataclasses.replace(DEMO_PROFILE, role=Role.VIEWER))
    view.explorer.select_row(_first_redacted_row(view))
    detail = view.explorer.detail
    assert not detail.reveal_button.isEnabled()
    assert not detail.reason.isEnabled()
    assert "viewer" in detail.denial.text()
    assert detail.denial.isVisibleTo(view)
    assert audit.entries(AuditFilter(action="reveal_log")) == []


def test_reveal_is_audited_for_an_operator(
    make_view: ViewMaker, audit: AuditLog, qtbot: QtBot
) -> None:
    view = make_view(dataclasses.replace(DEMO_PROFILE, role=Role.OPERATOR))
    row = _first_redacted_row(view)
    view.explorer.select_row(row)
    detail = view.explorer.detail
    record = detail.record
    assert record is not None
    detail.reason.setText("INC-42: customer asked about their order")
    assert detail.reveal_button.isEnabled()
    with qtbot.waitSignal(view.logs.revealed, timeout=WAIT_MS) as revealed:
        detail.reveal_button.click()
    key, field, index, original = revealed.args
    assert key == record.key
    span = record.redactions[field][index]
    assert original and span.placeholder not in original
    assert original in detail.revealed.text()
    (entry,) = audit.entries(AuditFilter(action="reveal_log"))
    assert entry.outcome is AuditOutcome.SUCCEEDED
    assert entry.reason == "INC-42: customer asked about their order"
    assert original not in json.dumps(entry.to_json())
    # The original is shown, not copyable, and the table's copy text stays redacted.
    assert not detail.revealed.textInteractionFlags()
    cells = [view.logs.table.index(row, c).data() for c in range(view.logs.table.columnCount())]
    assert all(original not in str(cell) for cell in cells)
    assert original not in detail.prompt.toPlainText() + detail.output.toPlainText()
    view.explorer.select_row(row + 1 if row + 1 < view.logs.table.rowCount() else 0)
    assert not detail.revealed.text()


def test_label_completion_offers_labels_and_values(make_view: ViewMaker, qtbot: QtBot) -> None:
    view = make_view()
    logs = view.logs
    with qtbot.waitSignal(logs.completionReady, timeout=WAIT_MS) as names:
        logs.request_completion("{", 1)
    assert {c.text for c in names.args[0].candidates} >= {"deployment", "version", "app"}
    text = '{deployment="'
    with qtbot.waitSignal(logs.completionReady, timeout=WAIT_MS) as values:
        logs.request_completion(text, len(text))
    assert "support-chat" in {c.text for c in values.args[0].candidates}


def test_a_bad_query_shows_the_backend_error(make_view: ViewMaker, qtbot: QtBot) -> None:
    view = make_view()
    view.explorer.editor.set_text('sum(rate({app="x"}[5m]))')
    loaded = view.logs.table.loaded
    with qtbot.waitSignal(view.logs.errorChanged, timeout=WAIT_MS):
        view.explorer.run()
    assert view.explorer.error.isVisibleTo(view)
    assert view.explorer.error.text()
    assert view.logs.table.loaded == loaded


def test_a_profile_without_loki_says_how_to_add_one(qtbot: QtBot, runner: AsyncRunner) -> None:
    profile = Profile("prod-eu", "http://127.0.0.1:9")
    logs = LogsViewModel(runner, profile, logs_opener(profile, SecretStore.session_only()))
    review = ReviewViewModel(runner, profile, logs.services_future)
    view = LogsView(logs, review)
    qtbot.addWidget(view)
    with qtbot.waitSignal(logs.opened, timeout=WAIT_MS):
        pass
    assert "--loki URL" in view.explorer.unavailable.text()
    assert not view.explorer.body.isEnabled()
    concurrent.futures.wait([logs.close()], timeout=5)


def test_alt_7_opens_the_logs_tab_of_the_demo(
    qtbot: QtBot, make_profiles: Callable[..., ProfilesViewModel]
) -> None:
    profiles = make_profiles()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window = FleetWindow(profiles, ThemeController(app, parent=app))
    qtbot.addWidget(window)
    profiles.activate("demo")
    window.show()
    qtbot.waitUntil(lambda: profiles.metrics_backend is not None, timeout=WAIT_MS)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is window.logs_tab
    qtbot.waitUntil(
        lambda: window.logs_tab.view is not None and window.logs_tab.view.logs.table.loaded > 0,
        timeout=WAIT_MS,
    )
    view = window.logs_tab.view
    assert view is not None
    assert view.logs.reveal_denial() is None or "audit" in (view.logs.reveal_denial() or "")
    window.logs_tab.close_logs()
