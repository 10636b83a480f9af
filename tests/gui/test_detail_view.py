"""The deployment detail: opened from a card or the sidebar, charts per version, annotations,
crosshair, canary table, status overlays and pinning."""

import math
import time
from collections.abc import Callable

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView

from console.backends.errors import CircuitOpen, ServerError
from console.config import paths
from console.config.settings import Profile
from console.config.store import ConfigStore
from console.domain.annotations import Annotation, AnnotationKind
from console.domain.canary import Verdict, compare
from console.domain.fleet import DeploymentInfo
from console.domain.series import SeriesKey
from console.domain.signals import Signal
from console.services.annotations import AnnotationStore
from console.services.detail import COST_CHART_ID, DETAIL_CHARTS, DetailService
from console.ui.canary_table import VERDICT_COLOURS, CanaryTable
from console.ui.main_window import DETAIL_TAB, FLEET_TAB, FleetWindow
from console.ui.theme import ThemeController
from console.viewmodels.detail import DetailViewModel
from console.viewmodels.profiles import ProfilesViewModel
from console.viewmodels.refresh import RefreshEngine
from tests.gui.fakes import opener
from tests.support.fake_backend import RANGE_WAVE, FakeBackend, fake_service

RATE = Signal.REQUEST_RATE.value
WAIT_MS = 10_000


@pytest.fixture
def open_window(qtbot, qapp, make_profiles) -> Callable[..., FleetWindow]:
    def open_(profile: str = "demo", **kwargs: object) -> FleetWindow:
        profiles: ProfilesViewModel = make_profiles(**kwargs)
        window = FleetWindow(profiles, ThemeController(qapp))
        qtbot.addWidget(window)
        window.resize(1280, 900)
        window.show()
        profiles.activate(profile)
        qtbot.waitUntil(lambda: len(window.grid.cards()) > 0, timeout=WAIT_MS)
        return window

    return open_


@pytest.fixture
def canary_backend() -> FakeBackend:
    """``alpha`` serves v1 (90 %) and v2 (10 %) since an hour ago; v1 alone before."""
    backend = FakeBackend()
    backend.deployments = [DeploymentInfo("alpha", "vllm", ("v1", "v2"))]
    backend.shares = {SeriesKey("alpha", "v1"): 0.9, SeriesKey("alpha", "v2"): 0.1}
    backend.histories["alpha"] = [(-math.inf, ("v1",)), (time.time() - 1800.0, ("v1", "v2"))]
    return backend


@pytest.fixture
def lab_window(open_window, canary_backend) -> FleetWindow:
    config = ConfigStore(paths.config_file())
    config.save(config.load().with_profile(Profile("lab", "http://127.0.0.1:9")))
    return open_window("lab", open_service=opener({"lab": fake_service(canary_backend, "lab")}))


def wait_for_lines(qtbot, window: FleetWindow, chart_id: str, names: set[str]) -> None:
    def shown() -> bool:
        view = window.detail_view
        return view is not None and set(view.charts[chart_id].lines()) == names

    qtbot.waitUntil(shown, timeout=WAIT_MS)


def test_double_click_on_a_card_opens_its_detail_with_a_line_per_version(
    qtbot, open_window
) -> None:
    window = open_window()
    card = window.grid.card("doc-qa")
    assert card is not None
    qtbot.mouseDClick(card, Qt.MouseButton.LeftButton)
    assert window.tabs.currentIndex() == DETAIL_TAB
    view = window.detail_view
    assert view is not None and view.title.text() == "doc-qa"
    assert view.versions.full_text() == "serving v7 90% · v8 10%"
    assert view.engine.text() == "engine: vllm"
    assert view.status_word.text() in {"OK", "WARN", "ALERT"}
    wait_for_lines(qtbot, window, RATE, {"v7", "v8"})
    kv_cache = Signal.KV_CACHE_USAGE.value
    assert view.charts[kv_cache].lines() == {}  # scrolled out of view: not fetched
    view.scroll_area.ensureWidgetVisible(view.frames[kv_cache])
    wait_for_lines(qtbot, window, kv_cache, {"v7", "v8"})
    assert len(view.charts) == len(DETAIL_CHARTS)


def test_enter_on_a_focused_card_opens_it_and_escape_goes_back(qtbot, open_window) -> None:
    window = open_window()
    card = window.grid.card("support-chat")
    assert card is not None
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    card.setFocus()
    assert card.property("highlighted") == "true"
    qtbot.keyClick(card, Qt.Key.Key_Return)
    assert window.tabs.currentIndex() == DETAIL_TAB
    assert window.detail is not None and window.detail.deployment == "support-chat"
    assert window.back_action.isEnabled()
    qtbot.keyClick(window.detail_view, Qt.Key.Key_Escape)
    assert window.tabs.currentIndex() == FLEET_TAB
    assert not window.back_action.isEnabled()


def test_activating_a_deployment_in_the_sidebar_opens_its_detail(qtbot, open_window) -> None:
    window = open_window()
    demo = window.sidebar.profile_item("demo")
    assert demo is not None
    qtbot.waitUntil(lambda: demo.childCount() > 1, timeout=WAIT_MS)
    item = next(
        demo.child(i) for i in range(demo.childCount()) if demo.child(i).text(0).startswith("doc")
    )
    window.sidebar.itemActivated.emit(item, 0)
    assert window.tabs.currentIndex() == DETAIL_TAB
    assert window.detail_view is not None and window.detail_view.title.text() == "doc-qa"
    other = next(
        demo.child(i)
        for i in range(demo.childCount())
        if demo.child(i).text(0).startswith("support-chat")
    )
    rect = window.sidebar.visualItemRect(other)
    qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.detail_view.title.text() == "support-chat"  # a click follows in the detail
    window.detail_view.back_button.click()
    assert window.tabs.currentIndex() == FLEET_TAB


def test_lines_carry_each_versions_values_and_the_crosshair_reads_them(qtbot, lab_window) -> None:
    detail = lab_window.open_detail("alpha")
    assert detail is not None
    view = lab_window.detail_view
    assert view is not None
    wait_for_lines(qtbot, lab_window, RATE, {"v1", "v2"})
    wait_for_lines(qtbot, lab_window, Signal.P95_LATENCY.value, {"v1", "v2"})
    rate_chart = view.charts[RATE]
    latency_chart = view.charts[Signal.P95_LATENCY.value]
    times = rate_chart.lines()["v1"][0]
    x = float(times[len(times) // 2])
    wave = 1.0 + RANGE_WAVE * math.sin(x / 600.0)
    rate_chart.crosshairMoved.emit(x)
    assert latency_chart.crosshair_x() == x  # one crosshair for the whole group
    assert rate_chart.values_at(x) == pytest.approx({"v1": 12.0 * 0.9 * wave, "v2": 1.2 * wave})
    assert latency_chart.values_at(x) == pytest.approx({"v1": 1.5 * wave, "v2": 1.5 * wave})
    assert "v1" in latency_chart.readout_text() and "v2" in latency_chart.readout_text()
    assert rate_chart.colour_of("v2") == latency_chart.colour_of("v2")


def test_the_version_change_and_the_stores_marks_show_on_every_chart(qtbot, lab_window) -> None:
    lab_window.open_detail("alpha")
    view = lab_window.detail_view
    assert view is not None
    store = lab_window.profiles.annotations
    assert store is not None
    store.add(Annotation(time.time() - 600.0, AnnotationKind.ROLLBACK, "rollback to v1", "alpha"))

    def marked() -> bool:
        return all(len(chart.annotation_lines()) == 2 for chart in view.charts.values())

    qtbot.waitUntil(marked, timeout=WAIT_MS)
    texts = [m.text for m in lab_window.detail.annotations()]  # type: ignore[union-attr]
    assert texts == ["v2 started (with v1)", "rollback to v1"]


def test_a_failing_backend_shows_its_error_and_an_open_circuit_pauses(
    qtbot, lab_window, canary_backend
) -> None:
    lab_window.open_detail("alpha")
    view = lab_window.detail_view
    assert view is not None
    wait_for_lines(qtbot, lab_window, RATE, {"v1", "v2"})
    chart = view.charts[RATE]
    assert chart.status() is None
    canary_backend.range_error = ServerError("503 Service Unavailable from http://127.0.0.1:9")
    lab_window.profiles.refresh_now()
    qtbot.waitUntil(lambda: chart.status() == str(canary_backend.range_error), timeout=WAIT_MS)
    assert set(chart.lines()) == {"v1", "v2"}  # the last good lines stay
    canary_backend.range_error = CircuitOpen("circuit open")
    lab_window.profiles.refresh_now()
    qtbot.waitUntil(lambda: chart.status() == "paused: backend unavailable", timeout=WAIT_MS)


def test_the_cost_chart_names_the_versions_without_a_price(qtbot, lab_window) -> None:
    lab_window.open_detail("alpha")
    view = lab_window.detail_view
    assert view is not None
    chart = view.charts[COST_CHART_ID]
    view.scroll_area.ensureWidgetVisible(view.frames[COST_CHART_ID])
    qtbot.waitUntil(lambda: chart.status() is not None and "v1" in chart.status(), timeout=WAIT_MS)
    assert chart.status() == "No prices are set in the profile: no cost line for v1, v2."
    assert chart.lines() == {}


def test_the_range_picker_requeries_the_charts(qtbot, lab_window, canary_backend) -> None:
    detail = lab_window.open_detail("alpha")
    assert detail is not None
    wait_for_lines(qtbot, lab_window, RATE, {"v1", "v2"})
    lab_window.range_picker.setCurrentIndex(lab_window.range_picker.findText("6h"))
    assert detail.range_s == 6 * 3600

    def six_hours() -> bool:
        view = lab_window.detail_view
        line = view.charts[RATE].lines().get("v1") if view else None
        return line is not None and float(np.ptp(line[0])) >= 6 * 3600 - 600

    qtbot.waitUntil(six_hours, timeout=WAIT_MS)


def test_pinning_a_chart_names_the_deployment_and_chart(qtbot, lab_window) -> None:
    lab_window.open_detail("alpha")
    view = lab_window.detail_view
    assert view is not None
    with qtbot.waitSignal(lab_window.pinRequested) as pinned:
        view.frames[Signal.P99_LATENCY.value].pinRequested.emit()
    assert pinned.args == ["alpha", Signal.P99_LATENCY.value]


def test_the_canary_table_of_the_demo_compares_v8_with_v7(qtbot, open_window) -> None:
    window = open_window()
    window.open_detail("doc-qa")
    view = window.detail_view
    assert view is not None
    table = view.canary_table
    qtbot.waitUntil(lambda: table.table_model.rowCount() == 7, timeout=WAIT_MS)
    assert table.isVisibleTo(view)
    model = table.table_model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(5)]
    assert headers == ["SLI", "Stable v7", "Canary v8", "Change", "Verdict"]
    assert model.data(model.index(0, 0)) == "Requests"
    assert "Stable v7 (90%) against canary v8 (10%)" in view.canary_caption.text()
    window.open_detail("support-chat")
    one_version = "One version serves: there is no canary to compare."
    qtbot.waitUntil(lambda: view.canary_caption.text() == one_version, timeout=WAIT_MS)
    assert table.table_model.rowCount() == 0
    assert not table.isVisibleTo(view)


def test_canary_table_colours_verdicts_and_explains_inconclusive(qtbot) -> None:
    table = CanaryTable()
    qtbot.addWidget(table)
    figures = {
        "v1": {Signal.REQUEST_RATE: 10.0, Signal.ERROR_RATIO: 0.001, Signal.P95_LATENCY: 1.0},
        "v2": {Signal.REQUEST_RATE: 0.2, Signal.ERROR_RATIO: 0.2, Signal.P95_LATENCY: 3.0},
    }
    low = compare("qa", ["v1", "v2"], figures, window_s=300.0, min_requests=100)
    table.set_comparison(low)
    model = table.table_model
    verdict = model.index(1, 4)
    assert model.data(verdict) == "inconclusive"
    assert "the canary v2 served 60 requests" in model.data(verdict, Qt.ItemDataRole.ToolTipRole)
    colour = model.data(verdict, Qt.ItemDataRole.ForegroundRole).color()
    assert colour == VERDICT_COLOURS[Verdict.INCONCLUSIVE]
    assert table.verticalHeader().sectionSize(0) == table.verticalHeader().defaultSectionSize()

    enough = compare("qa", ["v1", "v2"], figures, window_s=3000.0, min_requests=100)
    table.set_comparison(enough)
    assert model.data(model.index(1, 4)) == "worse"
    assert model.data(model.index(1, 3)) == "+19900%"
    colour = model.data(model.index(1, 4), Qt.ItemDataRole.ForegroundRole).color()
    assert colour == VERDICT_COLOURS[Verdict.WORSE]
    assert table.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers


def test_switching_profile_closes_the_detail_and_removes_its_panels(
    qtbot, lab_window, canary_backend
) -> None:
    detail = lab_window.open_detail("alpha")
    assert detail is not None
    engine = lab_window.profiles.engine
    assert engine is not None
    panel = detail.panel_id(RATE)
    assert engine.state(panel) is not None
    lab_window.profiles.activate("demo")
    assert lab_window.detail_view is None and lab_window.detail is None
    assert lab_window.detail_page.currentWidget() is lab_window.detail_message
    with pytest.raises(KeyError):
        engine.state(panel)
    qtbot.waitUntil(lambda: canary_backend.closed, timeout=WAIT_MS)


def test_a_hidden_detail_does_not_refresh_until_shown_again(
    qtbot, lab_window, canary_backend
) -> None:
    lab_window.open_detail("alpha")
    wait_for_lines(qtbot, lab_window, RATE, {"v1", "v2"})
    # One query at the view's width, and one for the version lane of the incident timeline.
    qtbot.waitUntil(lambda: len(canary_backend.history_calls) == 2, timeout=WAIT_MS)
    lab_window.show_fleet()
    fleet = lab_window.profiles.fleet
    assert fleet is not None
    with qtbot.waitSignal(fleet.changed, timeout=WAIT_MS):  # the watchers report meanwhile
        lab_window.refresh_action.trigger()
    qtbot.waitUntil(lambda: not fleet.is_refreshing, timeout=WAIT_MS)
    calls = len(canary_backend.history_calls)
    with qtbot.waitSignal(fleet.changed, timeout=WAIT_MS):
        lab_window.refresh_action.trigger()
    assert len(canary_backend.history_calls) == calls
    lab_window.tabs.setCurrentIndex(DETAIL_TAB)
    for _ in range(2):  # the first lets the watchers report that the charts are visible
        with qtbot.waitSignal(fleet.changed, timeout=WAIT_MS):
            lab_window.refresh_action.trigger()
    qtbot.waitUntil(lambda: len(canary_backend.history_calls) > calls, timeout=WAIT_MS)


def test_identical_detail_queries_share_one_request_and_dispose_removes_panels(
    qtbot, runner, canary_backend
) -> None:
    engine = RefreshEngine(runner, interval_s=60.0)
    service = DetailService(canary_backend, AnnotationStore(), rate_window_s=300.0)
    models = [
        DetailViewModel(engine, service, profile="lab", deployment="alpha", range_s=3600.0)
        for _ in range(2)
    ]
    assert models[0].panel_id(RATE) != models[1].panel_id(RATE)
    qtbot.waitUntil(
        lambda: all(m.chart_data(chart.chart_id) for m in models for chart in DETAIL_CHARTS),
        timeout=WAIT_MS,
    )
    assert models[0].chart_data(RATE) is models[1].chart_data(RATE)
    # One range query per signal chart, two (token rates) for the cost chart: none twice.
    assert len(canary_backend.plans) == len(DETAIL_CHARTS) + 1
    assert len(canary_backend.history_calls) == 1
    models[1].set_range(900.0)
    qtbot.waitUntil(lambda: models[1].chart_data(RATE) is not None, timeout=WAIT_MS)
    assert models[0].chart_data(RATE) is not models[1].chart_data(RATE)
    for model in models:
        model.dispose()
        with pytest.raises(KeyError):
            engine.state(model.panel_id(RATE))
    engine.stop()
