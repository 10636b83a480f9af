"""The fleet window on the real DEMO backend and on fake profiles."""

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from console.backends.demo import DemoBackend
from console.backends.errors import ConnectionFailed
from console.config import paths
from console.config.secrets import SecretStore
from console.config.settings import Profile, Theme
from console.config.store import ConfigStore
from console.domain.fleet import FleetSnapshot
from console.ui.banners import DEMO_TEXT
from console.ui.main_window import DASHBOARD_TAB, EXPLORE_TAB, FLEET_TAB, FleetWindow
from console.ui.theme import ThemeController, stylesheet
from console.viewmodels.profiles import ProfilesViewModel
from tests.gui.fakes import opener
from tests.support.fake_backend import FakeBackend, fake_service
from tests.support.memory_keyring import MemoryKeyring

DEMO_DEPLOYMENTS = {info.deployment for info in asyncio.run(DemoBackend().inventory())}


@pytest.fixture
def open_window(qtbot, qapp, make_profiles) -> Callable[..., FleetWindow]:
    def open_(profile: str = "demo", **kwargs: object) -> FleetWindow:
        profiles: ProfilesViewModel = make_profiles(**kwargs)
        window = FleetWindow(profiles, ThemeController(qapp))
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        profiles.activate(profile)
        return window

    return open_


def wait_for_cards(qtbot, window: FleetWindow, count: int = 1) -> None:
    qtbot.waitUntil(lambda: len(window.grid.cards()) >= count, timeout=10_000)


def test_demo_shows_the_banner_and_a_card_per_deployment(qtbot, open_window) -> None:
    window = open_window()
    wait_for_cards(qtbot, window, len(DEMO_DEPLOYMENTS))
    assert window.demo_banner.isVisible()
    assert window.demo_banner.label.text() == DEMO_TEXT
    assert {card.deployment for card in window.grid.cards()} == DEMO_DEPLOYMENTS
    assert window.stack.currentWidget() is window.card_scroll
    assert window.grid.columns >= 2

    chat = window.grid.card("support-chat")
    assert chat is not None
    assert chat.status_word.text().lower() == "alert"
    assert "v42" in chat.versions.full_text()
    assert chat.sparkline.has_data()

    doc_qa = window.grid.card("doc-qa")
    assert doc_qa is not None
    assert doc_qa.versions.full_text() == "serving v7 90% · v8 10%"

    figures = [label for card in window.grid.cards() for label in card.figures.values()]
    no_data = [label for label in figures if label.text() == "no data"]
    assert no_data, "the demo has figures its engines do not export"
    assert all(label.property("missing") == "true" for label in no_data)
    assert not any(label.text().startswith("0 ") for label in no_data)


def test_sidebar_lists_deployments_and_a_click_highlights_the_card(qtbot, open_window) -> None:
    window = open_window()
    wait_for_cards(qtbot, window, len(DEMO_DEPLOYMENTS))
    demo_item = window.sidebar.profile_item("demo")
    assert demo_item is not None
    qtbot.waitUntil(lambda: demo_item.childCount() == len(DEMO_DEPLOYMENTS))
    child = next(
        demo_item.child(i)
        for i in range(demo_item.childCount())
        if demo_item.child(i).text(0).startswith("doc-qa")
    )
    rect = window.sidebar.visualItemRect(child)
    qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    card = window.grid.card("doc-qa")
    assert card is not None and card.property("highlighted") == "true"
    others = [c for c in window.grid.cards() if c is not card]
    assert all(c.property("highlighted") != "true" for c in others)


def test_range_change_refreshes_with_the_new_range_and_is_remembered(qtbot, open_window) -> None:
    window = open_window()
    wait_for_cards(qtbot, window)
    card = window.grid.card("support-chat")
    assert card is not None and card.sparkline_caption.text().endswith("last 1h")
    window.range_picker.setCurrentIndex(window.range_picker.findText("6h"))

    def spans_six_hours() -> bool:
        series = card.sparkline.series()
        assert series is not None
        return float(np.ptp(series.timestamps)) >= 6 * 3600 - 600

    qtbot.waitUntil(spans_six_hours, timeout=10_000)
    assert card.sparkline_caption.text().endswith("last 6h")
    assert ConfigStore(paths.config_file()).load().ui.range_s == 6 * 3600


def test_pause_button_stops_refreshes(qtbot, open_window) -> None:
    window = open_window()
    wait_for_cards(qtbot, window)
    fleet = window.profiles.fleet
    assert fleet is not None
    fleet.set_refresh_interval(0.05)
    qtbot.waitUntil(lambda: not fleet.is_refreshing)
    window.pause_action.trigger()
    assert fleet.paused and window.pause_action.text() == "Resume refreshing"
    assert window.refresh_label.text().startswith("Paused")
    qtbot.waitUntil(lambda: not fleet.is_refreshing)
    with qtbot.assertNotEmitted(fleet.refreshing, wait=300):
        pass
    window.pause_action.trigger()
    assert not fleet.paused


def test_failing_profile_keeps_cards_shows_the_error_goes_stale_and_recovers(
    qtbot, open_window
) -> None:
    backend = FakeBackend()
    config = ConfigStore(paths.config_file())
    config.save(
        config.load().with_profile(Profile("staging", "http://127.0.0.1:9", refresh_interval_s=0.2))
    )
    window = open_window(
        "staging", open_service=opener({"staging": fake_service(backend, "staging")})
    )
    wait_for_cards(qtbot, window, 2)
    card = window.grid.card("alpha")
    assert card is not None
    assert not window.demo_banner.isVisible()
    assert card.figures["request_rate"].text() == "12 req/s"

    backend.error = ConnectionFailed("connection refused by http://127.0.0.1:9/api/v1/query")
    qtbot.waitUntil(lambda: card.stale_badge.isVisible(), timeout=5000)
    assert card.error.isVisible()
    assert card.error.full_text() == "connection refused by http://127.0.0.1:9/api/v1/query"
    assert card.error.toolTip() == card.error.full_text()
    assert card.figures["request_rate"].text() == "12 req/s"
    assert window.refresh_label.text().startswith("Refresh failed")

    backend.error = None
    qtbot.waitUntil(lambda: not card.stale_badge.isVisible(), timeout=5000)
    assert not card.error.isVisible()


def test_switching_profile_closes_the_previous_backend(qtbot, open_window) -> None:
    backend = FakeBackend()
    config = ConfigStore(paths.config_file())
    config.save(config.load().with_profile(Profile("lab", "https://lab:9090", insecure=True)))
    window = open_window("lab", open_service=opener({"lab": fake_service(backend, "lab")}))
    wait_for_cards(qtbot, window, 2)
    item = window.sidebar.profile_item("lab")
    assert item is not None
    assert "TLS verification OFF" in item.text(0)
    assert item.foreground(0).color() == QColor("#e5534b")

    demo_item = window.sidebar.profile_item("demo")
    assert demo_item is not None
    rect = window.sidebar.visualItemRect(demo_item)
    qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: backend.closed, timeout=5000)
    wait_for_cards(qtbot, window, len(DEMO_DEPLOYMENTS))
    assert window.grid.card("alpha") is None
    assert window.demo_banner.isVisible()
    assert ConfigStore(paths.config_file()).load().ui.last_profile == "demo"


def test_a_profile_whose_secret_is_missing_says_so(qtbot, open_window) -> None:
    config = ConfigStore(paths.config_file())
    config.save(
        config.load().with_profile(Profile("prod", "https://prom:9090", auth="bearer"))  # type: ignore[arg-type]
    )
    window = open_window("prod")
    assert window.message.text() == "Opening prod…"
    qtbot.waitUntil(lambda: "no token is stored" in window.message.text())
    assert window.profiles.fleet is None
    assert window.stack.currentWidget() is window.message


def test_theme_switch_applies_the_stylesheet_and_is_remembered(qtbot, qapp, open_window) -> None:
    window = open_window()
    wait_for_cards(qtbot, window)
    colours = {}
    for theme in (Theme.DARK, Theme.LIGHT):
        window.theme_picker.setCurrentIndex(window.theme_picker.findData(theme))
        assert qapp.styleSheet() == stylesheet(theme)
        image = window.grid.grab().toImage()
        colours[theme] = image.pixelColor(image.width() - 3, image.height() - 3).name()
    assert colours == {Theme.DARK: "#16181d", Theme.LIGHT: "#f5f6f8"}
    assert ConfigStore(paths.config_file()).load().ui.theme is Theme.LIGHT
    window.theme_action.trigger()  # Light -> System
    assert window.theme_picker.currentData() == Theme.SYSTEM
    assert qapp.styleSheet() == stylesheet(window.theme.effective)


def test_no_keyring_is_said_plainly_in_the_status_bar(
    qtbot, open_window, no_keyring: SecretStore
) -> None:
    window = open_window(secret_store=no_keyring)
    qtbot.waitUntil(lambda: window.keyring_label.text() != "Keyring: checking…", timeout=5000)
    assert window.keyring_label.text() == "No OS keyring: secrets are kept for this session only"
    assert window.keyring_label.toolTip() == no_keyring.unavailable_reason()


def test_an_available_keyring_is_named_in_the_status_bar(qtbot, open_window) -> None:
    window = open_window()
    qtbot.waitUntil(lambda: window.keyring_label.text() != "Keyring: checking…", timeout=5000)
    assert window.keyring_label.text() == f"Keyring: {MemoryKeyring().name}"


def test_keyboard_shortcuts_are_listed_in_help(qtbot, open_window) -> None:
    window = open_window()
    dialog = window.show_shortcuts()
    rows = dict(dialog.rows())
    for keys in (
        "F5 or Ctrl+R",
        "Ctrl+P or Space",
        "Ctrl+N",
        "Ctrl+E",
        "Ctrl+Shift+T",
        "Ctrl+1",
        "Ctrl+6",
        "Ctrl+Q",
        "Alt+1",
        "Alt+4",
        "Esc",
    ):
        assert keys in rows, keys
    assert rows["Ctrl+6"] == "Time range 7d"
    assert rows["Alt+3"] == "Show Explore"
    assert rows["Esc"] == "Back to the fleet"
    dialog.close()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.range_picker.currentText() == "6h"


def test_the_first_refresh_starts_as_the_profile_opens_without_waiting_for_the_gui(
    qtbot, make_profiles
) -> None:
    service = fake_service(FakeBackend(), "lab")
    snapshot = service.snapshot
    asked_on: list[threading.Thread] = []

    def recorded(range_s: float = 3600.0) -> Coroutine[Any, Any, FleetSnapshot]:
        asked_on.append(threading.current_thread())
        return snapshot(range_s)

    service.snapshot = recorded  # type: ignore[method-assign]
    config = ConfigStore(paths.config_file())
    config.save(config.load().with_profile(Profile("lab", "https://lab:9090")))
    profiles: ProfilesViewModel = make_profiles(open_service=opener({"lab": service}))

    profiles.activate("lab")
    qtbot.waitUntil(lambda: profiles.fleet is not None, timeout=5000)
    fleet = profiles.fleet
    assert fleet is not None
    qtbot.waitUntil(lambda: fleet.last_refresh() is not None, timeout=5000)

    # One snapshot for the first refresh, asked on the I/O thread as the service opened:
    # not after a round trip through the GUI thread's event loop.
    assert len(asked_on) == 1 and asked_on[0] is not threading.main_thread()
    assert fleet.cards() and fleet.fleet_error() is None


def test_a_profile_left_while_it_was_opening_is_closed(qtbot, make_profiles) -> None:
    backend = FakeBackend()
    config = ConfigStore(paths.config_file())
    config.save(config.load().with_profile(Profile("lab", "https://lab:9090")))
    profiles: ProfilesViewModel = make_profiles(
        open_service=opener({"lab": fake_service(backend, "lab")})
    )
    profiles.activate("lab")
    profiles.activate("demo")
    qtbot.waitUntil(lambda: backend.closed, timeout=5000)
    qtbot.waitUntil(lambda: profiles.fleet is not None, timeout=5000)
    assert profiles.fleet is not None and profiles.fleet.profile_name == "demo"
    # The first snapshot started as it opened; it went with the backend, and no other ran.
    assert backend.snapshots <= 1


def test_tabs_switch_with_shortcuts_and_hold_the_profiles_explore_and_dashboard(
    qtbot, open_window
) -> None:
    window = open_window()
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Fleet",
        "Detail",
        "Explore",
        "Dashboard",
        "Runs",
        "Alerts",
        "Logs",
        "Audit",
    ]
    qtbot.waitUntil(lambda: window.profiles.engine is not None, timeout=10_000)
    assert window.explore_view is None  # built the first time one of its tabs shows
    assert window.tabs.currentIndex() == FLEET_TAB
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.explore_view, timeout=10_000)
    assert window.tabs.widget(DASHBOARD_TAB) is window.dashboard_view
    assert window.tabs.tabText(EXPLORE_TAB) == "Explore"
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is window.dashboard_view
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is window.detail_page
    assert window.detail_page.currentWidget() is window.detail_message
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.tabs.currentIndex() == FLEET_TAB


def test_the_interval_picker_drives_the_refresh_engine(qtbot, open_window) -> None:
    window = open_window()
    qtbot.waitUntil(lambda: window.profiles.engine is not None, timeout=10_000)
    engine = window.profiles.engine
    assert engine is not None and engine.interval_s == 5.0  # the demo's interval
    window.interval_picker.setCurrentIndex(window.interval_picker.findText("30s"))
    assert engine.interval_s == 30.0
    window.pause_action.trigger()
    assert engine.paused
    window.pause_action.trigger()
    assert not engine.paused
