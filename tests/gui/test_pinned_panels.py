"""Pinning detail charts and Explore queries to the dashboard: live charts, saved grid."""

from collections.abc import Callable

import pytest

from console.config import paths
from console.config.settings import PanelKind
from console.config.store import ConfigStore
from console.ui.charts.chart_tile import ChartTile
from console.ui.main_window import DASHBOARD_TAB, FleetWindow
from console.ui.theme import ThemeController
from console.viewmodels.profiles import ProfilesViewModel

WAIT_MS = 10_000


@pytest.fixture
def demo_window(qtbot, qapp, make_profiles) -> Callable[[], FleetWindow]:
    def open_() -> FleetWindow:
        profiles: ProfilesViewModel = make_profiles()
        window = FleetWindow(profiles, ThemeController(qapp))
        qtbot.addWidget(window)
        window.resize(1280, 900)
        window.show()
        profiles.activate("demo")
        qtbot.waitUntil(lambda: profiles.engine is not None, timeout=WAIT_MS)
        window.tabs.setCurrentIndex(DASHBOARD_TAB)  # the dashboard is built when first shown
        qtbot.waitUntil(lambda: window.dashboard_view is not None, timeout=WAIT_MS)
        return window

    return open_


def charts_of(window: FleetWindow) -> list[ChartTile]:
    view = window.dashboard_view
    assert view is not None
    return [view.frame(i).content for i in range(len(view.model.panels))]


def test_a_pinned_detail_chart_is_live_on_the_dashboard_and_saved(qtbot, demo_window) -> None:
    window = demo_window()
    window.pin_chart("support-chat", "p95_latency_s")
    window.tabs.setCurrentIndex(DASHBOARD_TAB)
    (chart,) = charts_of(window)
    assert chart.title_label.text() == "support-chat · p95 latency"
    qtbot.waitUntil(lambda: set(chart.lines()) == {"v41", "v42"}, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(chart.annotations()) == 1, timeout=WAIT_MS)
    saved = ConfigStore(paths.config_file()).load().dashboard("demo")
    assert [(p.kind, p.deployment, p.chart) for p in saved] == [
        (PanelKind.SIGNAL, "support-chat", "p95_latency_s")
    ]


def test_the_dashboard_comes_back_with_the_profile(qtbot, demo_window) -> None:
    first = demo_window()
    first.pin_chart("doc-qa", "cost_per_hour")
    first.close()
    window = demo_window()
    (chart,) = charts_of(window)
    assert window.dashboard_view is not None
    assert window.dashboard_view.model.panels[0].kind is PanelKind.CHART
    window.tabs.setCurrentIndex(DASHBOARD_TAB)
    qtbot.waitUntil(lambda: set(chart.lines()) == {"v7", "v8"}, timeout=WAIT_MS)


def test_a_pinned_query_on_the_demo_says_why_it_has_no_data(qtbot, demo_window) -> None:
    window = demo_window()
    window.pin_query("sum(rate(x[5m]))", "x rate")
    window.tabs.setCurrentIndex(DASHBOARD_TAB)
    (chart,) = charts_of(window)
    qtbot.waitUntil(lambda: "DEMO simulation has none" in (chart.status() or ""), timeout=WAIT_MS)


def test_removing_a_panel_and_switching_range_requery_only_what_is_pinned(
    qtbot, demo_window
) -> None:
    window = demo_window()
    window.pin_chart("support-chat", "request_rate")
    window.pin_chart("support-chat", "error_ratio")
    window.tabs.setCurrentIndex(DASHBOARD_TAB)
    first, second = charts_of(window)
    qtbot.waitUntil(lambda: bool(first.lines()) and bool(second.lines()), timeout=WAIT_MS)
    span = first.lines()["v42"][0][-1] - first.lines()["v42"][0][0]
    window.range_picker.setCurrentIndex(window.range_picker.findText("6h"))
    qtbot.waitUntil(
        lambda: (
            bool(first.lines())
            and first.lines()["v42"][0][-1] - min(t[0] for t, _ in first.lines().values()) > span
        ),
        timeout=WAIT_MS,
    )
    engine = window.profiles.engine
    assert engine is not None
    view = window.dashboard_view
    assert view is not None
    view.model.remove(1)
    assert len(charts_of(window)) == 1
