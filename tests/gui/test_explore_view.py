"""The Explore view: completion popup, run, errors, history, Grafana, pinning, DEMO.

The backend is the real PrometheusBackend/PrometheusClient over an httpx MockTransport
(the FakePrometheus of the service's unit tests); requests run on the real I/O loop.
"""

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PySide6.QtCore import Qt, QUrl
from pytestqt.qtbot import QtBot

from console.backends.demo import DemoBackend
from console.config.query_history import QueryHistory, history_file
from console.qtbridge.runner import AsyncRunner
from console.services.explore import UNSUPPORTED, ExploreService
from console.ui.explore_view import ExploreView
from console.viewmodels.explore import GRAFANA_UNSET, ExploreViewModel
from tests.unit.test_explore_service import FakePrometheus, service_over

# The offscreen platform cannot raise the completion popup or let it grab the keyboard.
popup_messages = pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support grabbing the keyboard"
)
GRAFANA = "https://grafana.example.com"
SLOW_S = 1.0
PROMETHEUS_ERROR = '1:4: parse error: unexpected "}" in label matching, expected string'


class SlowFake(FakePrometheus):
    """Holds queries containing "slow" for a while, on the I/O loop (not blocking it)."""

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        if b"slow" in request.content:
            await asyncio.sleep(SLOW_S)
        return self(request)


@pytest.fixture
def fake() -> FakePrometheus:
    return SlowFake()


@pytest.fixture
def make_view(
    qtbot: QtBot, runner: AsyncRunner, fake: SlowFake
) -> Iterator[Callable[..., ExploreView]]:
    made: list[ExploreViewModel] = []

    def make(
        *,
        service: ExploreService | None = None,
        grafana_url: str | None = GRAFANA,
        opened: list[QUrl] | None = None,
    ) -> ExploreView:
        if service is None:
            service = service_over(fake)
        vm = ExploreViewModel(
            runner,
            service,
            QueryHistory.for_profile("prod"),
            grafana_url=grafana_url,
            grafana_datasource="prom-uid",
        )
        made.append(vm)
        view = ExploreView(vm, open_url=(opened.append if opened is not None else _no_url))
        qtbot.addWidget(view)
        view.resize(900, 600)
        view.show()
        qtbot.waitExposed(view)
        return view

    yield make
    for vm in made:
        vm.close()


def _no_url(url: QUrl) -> None:
    raise AssertionError(f"unexpected openUrl({url.toString()})")


def popup_texts(view: ExploreView) -> list[str]:
    model = view.editor.completer.model()
    return [str(model.index(i, 0).data()) for i in range(model.rowCount())]


@popup_messages
def test_typing_shows_metric_names_and_tab_inserts_the_choice(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    view = make_view()
    view.editor.setFocus()
    qtbot.keyClicks(view.editor, "vllm:g")
    qtbot.waitUntil(view.editor.popup_visible)
    assert popup_texts(view)[0].startswith("vllm:generation_tokens_total")
    assert "counter" in popup_texts(view)[0]
    qtbot.keyClick(view.editor.completer.popup(), Qt.Key.Key_Tab)
    assert view.editor.toPlainText() == "vllm:generation_tokens_total"
    assert not view.editor.popup_visible()


@popup_messages
def test_label_names_then_values_complete_inside_the_selector(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    view = make_view()
    view.editor.set_text("up")
    view.editor.setFocus()
    qtbot.keyClicks(view.editor, "{jo")
    qtbot.waitUntil(
        lambda: view.editor.popup_visible() and popup_texts(view)[:1] == ["job    label"]
    )
    qtbot.keyClick(view.editor.completer.popup(), Qt.Key.Key_Return)
    assert view.editor.toPlainText() == "up{job"
    qtbot.keyClicks(view.editor, '="')
    qtbot.waitUntil(view.editor.popup_visible)
    assert popup_texts(view) == ["job-up    value"]
    qtbot.keyClick(view.editor.completer.popup(), Qt.Key.Key_Tab)
    assert view.editor.toPlainText() == 'up{job="job-up"'


@popup_messages
def test_ctrl_space_offers_functions_in_the_middle_of_an_expression(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    view = make_view()
    view.editor.set_text("sum(ra(up[5m]))")
    cursor = view.editor.textCursor()
    cursor.setPosition(6)
    view.editor.setTextCursor(cursor)
    view.editor.setFocus()
    qtbot.keyClick(view.editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(view.editor.popup_visible)
    rows = popup_texts(view)
    choice = next(i for i, text in enumerate(rows) if text.startswith("rate "))
    view.editor.completer.popup().setCurrentIndex(view.editor.completer.model().index(choice, 0))
    qtbot.keyClick(view.editor.completer.popup(), Qt.Key.Key_Return)
    assert view.editor.toPlainText() == "sum(rate((up[5m]))"


def test_run_shows_step_series_count_graph_and_table(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    view = make_view()
    view.range_box.setCurrentIndex(view.range_box.findData(3600.0))
    view.editor.set_text("up")
    with qtbot.waitSignal(view.viewmodel.resultChanged, timeout=5000):
        qtbot.keyClick(view.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert view.status.text().startswith("step 15s · 2 series · query ")
    assert set(view.chart.lines()) == {'up{job="a"}', '{job="b"}'}
    model = view.table.model()
    assert model.rowCount() == 2
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["__name__", "job", "Value"]
    values = {model.index(r, 1).data(): model.index(r, 2).data() for r in range(2)}
    assert values == {"a": "1", "b": "NaN"}
    assert (
        view.table.verticalHeader().sectionSize(0)
        == view.table.verticalHeader().defaultSectionSize()
    )
    assert not view.error.isVisible()


def test_prometheus_error_is_shown_verbatim_and_selectable(
    qtbot: QtBot, make_view: Callable[..., ExploreView], fake: SlowFake
) -> None:
    fake.query_error = httpx.Response(
        400, json={"status": "error", "errorType": "bad_data", "error": PROMETHEUS_ERROR}
    )
    view = make_view()
    view.editor.set_text("up{a}")
    with qtbot.waitSignal(view.viewmodel.errorChanged, timeout=5000):
        view.run_button.click()
    assert view.error.isVisible()
    assert PROMETHEUS_ERROR in view.error.text()
    assert view.error.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    fake.query_error = None
    with qtbot.waitSignal(view.viewmodel.errorChanged, timeout=5000):
        view.editor.set_text("up")
        view.run_button.click()
    assert not view.error.isVisible()


def test_a_superseded_run_is_dropped(
    qtbot: QtBot, make_view: Callable[..., ExploreView], fake: SlowFake
) -> None:
    view = make_view(service=service_over(fake, transport=httpx.MockTransport(fake.handle_async)))
    results: list[str] = []
    view.viewmodel.resultChanged.connect(
        lambda: results.append(view.viewmodel.result().range.expr)  # type: ignore[union-attr]
    )
    view.editor.set_text("slow_metric")
    view.run_button.click()
    view.editor.set_text("up")
    with qtbot.waitSignal(view.viewmodel.resultChanged, timeout=5000):
        view.run_button.click()
    # Long enough for the slow answer to have arrived, had its run not been dropped.
    with qtbot.waitSignal(view.viewmodel.busyChanged, timeout=1500, raising=False) as late:
        pass
    assert not late.signal_triggered
    assert results == ["up"]


def test_history_is_persisted_and_reloaded(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    view = make_view()
    for expr in ("up", "rate(http_requests_total[5m])", "up"):
        view.editor.set_text(expr)
        with qtbot.waitSignal(view.viewmodel.resultChanged, timeout=5000):
            view.run_button.click()
    path = history_file("prod")
    qtbot.waitUntil(lambda: path.exists() and '"up"' in path.read_text())
    assert json.loads(path.read_text())["queries"] == ["up", "rate(http_requests_total[5m])"]

    again = make_view()
    qtbot.waitUntil(lambda: again.history_box.count() == 3)
    assert again.history_box.itemText(0) == "History (2)"
    again.history_box.activated.emit(2)
    assert again.editor.toPlainText() == "rate(http_requests_total[5m])"


def test_a_corrupt_history_is_reported_and_kept(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    path = history_file("prod")
    path.parent.mkdir(parents=True)
    path.write_text("{oops")
    view = make_view()
    qtbot.waitUntil(view.error.isVisible)
    assert str(path) in view.error.text()
    assert Path(str(path) + ".bad").read_text() == "{oops"


def test_open_in_grafana_opens_the_explore_url(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    opened: list[QUrl] = []
    view = make_view(opened=opened)
    view.editor.set_text('up{job="a b"}')
    assert view.grafana_button.isEnabled()
    view.grafana_button.click()
    assert len(opened) == 1
    url = opened[0].toString(QUrl.ComponentFormattingOption.FullyEncoded)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{GRAFANA}/explore"
    pane = json.loads(parse_qs(parts.query)["panes"][0])["a"]
    assert pane["queries"][0]["expr"] == 'up{job="a b"}'
    assert pane["datasource"] == "prom-uid"
    assert int(pane["range"]["to"]) - int(pane["range"]["from"]) == 3_600_000


def test_without_grafana_url_the_button_says_what_to_set(
    make_view: Callable[..., ExploreView],
) -> None:
    view = make_view(grafana_url=None)
    assert not view.grafana_button.isEnabled()
    assert view.grafana_button.toolTip() == GRAFANA_UNSET
    assert "grafana_url" in GRAFANA_UNSET


def test_pin_to_dashboard_emits_the_query(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    view = make_view()
    view.editor.set_text("  sum(rate(http_requests_total[5m]))\n")
    with qtbot.waitSignal(view.pinRequested) as pinned:
        view.pin_button.click()
    assert pinned.args == ["sum(rate(http_requests_total[5m]))"] * 2


def test_demo_profile_says_explore_is_unavailable(make_view: Callable[..., ExploreView]) -> None:
    view = make_view(service=ExploreService(DemoBackend()))
    assert view.unavailable.isVisible()
    assert view.unavailable.text() == UNSUPPORTED
    assert not view.editor.isEnabled()
    assert not view.run_button.isEnabled()
    assert not view.grafana_button.isEnabled()


def test_table_sorts_by_value_with_nan_last_and_keeps_the_order(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    view = make_view()
    view.editor.set_text("up")
    with qtbot.waitSignal(view.viewmodel.resultChanged, timeout=5000):
        view.run_button.click()
    model = view.table.model()
    view.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert [model.index(r, 2).data() for r in range(2)] == ["1", "NaN"]
    view.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert [model.index(r, 1).data() for r in range(2)] == ["b", "a"]
    with qtbot.waitSignal(view.viewmodel.resultChanged, timeout=5000):
        view.run_button.click()
    assert [model.index(r, 1).data() for r in range(2)] == ["b", "a"]


def test_up_and_down_in_an_empty_editor_step_through_the_history(
    qtbot: QtBot, make_view: Callable[..., ExploreView]
) -> None:
    view = make_view()
    for expr in ("up", "rate(http_requests_total[5m])"):
        view.editor.set_text(expr)
        with qtbot.waitSignal(view.viewmodel.resultChanged, timeout=5000):
            view.run_button.click()
    view.editor.set_text("")
    shown = []
    for key in (Qt.Key.Key_Up, Qt.Key.Key_Up, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Down):
        qtbot.keyClick(view.editor, key)
        shown.append(view.editor.toPlainText())
    assert shown == [
        "rate(http_requests_total[5m])",
        "up",
        "up",
        "rate(http_requests_total[5m])",
        "",
    ]
    view.editor.set_text("sum(x)")
    qtbot.keyClick(view.editor, Qt.Key.Key_Up)
    assert view.editor.toPlainText() == "sum(x)"
