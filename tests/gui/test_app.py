"""Start-up: profile choice, a malformed config file, and the first-paint measurement."""

import os
import re
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import Qt

from console.app import run_app
from console.config import paths
from console.config.settings import Profile, Settings, UiSettings
from console.config.store import ConfigStore
from console.ui.main_window import FleetWindow
from console.ui.theme import ThemeController
from console.viewmodels.profiles import ProfilesViewModel

MALFORMED = b"""schema_version = 1

[profiles.prod]
prometheus_url = "https://prometheus.prod:9090"
refresh_interval_s = "fast"
"""


def write_settings(settings: Settings) -> None:
    ConfigStore(paths.config_file()).save(settings)


@pytest.mark.parametrize(
    ("ui", "requested", "expected"),
    [
        (UiSettings(last_profile="b"), None, "b"),
        (UiSettings(last_profile="gone"), None, "a"),
        (UiSettings(last_profile="demo"), None, "demo"),
        (UiSettings(), "demo", "demo"),
        (UiSettings(), "b", "b"),
        (UiSettings(), "nope", None),
    ],
)
def test_profile_choice_at_start(make_profiles, ui, requested, expected) -> None:
    profiles = (Profile("a", "http://a:9090"), Profile("b", "http://b:9090"))
    write_settings(Settings(profiles=profiles, ui=ui))
    chosen = make_profiles().initial_profile(requested)
    assert (chosen.name if chosen else None) == expected


def test_without_profiles_the_demo_opens(make_profiles) -> None:
    chosen = make_profiles().initial_profile(None)
    assert chosen is not None and chosen.is_demo


def test_unknown_profile_exits_2_with_an_error(capsys) -> None:
    assert run_app("no-such-profile") == 2
    assert "no profile called 'no-such-profile'" in capsys.readouterr().err


def test_malformed_config_is_shown_the_demo_opens_and_the_file_is_kept(
    qtbot, qapp, make_profiles
) -> None:
    path = paths.config_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(MALFORMED)
    profiles: ProfilesViewModel = make_profiles()
    chosen = profiles.initial_profile(None)
    assert chosen is not None and chosen.is_demo
    window = FleetWindow(profiles, ThemeController(qapp))
    qtbot.addWidget(window)
    window.show()
    profiles.activate(chosen.name)
    assert window.error_bar.isVisible()
    assert (
        f"{path}:5: profiles.prod.refresh_interval_s: must be a number of seconds, got 'fast'"
        in window.error_bar.label.text()
    )
    qtbot.waitUntil(lambda: len(window.grid.cards()) > 0, timeout=10_000)
    assert window.demo_banner.isVisible()

    window.range_picker.setCurrentIndex(window.range_picker.findText("15m"))
    window.theme_picker.setCurrentIndex(window.theme_picker.findText("Dark"))
    dialog = window.open_profile_dialog(None)
    dialog.name.setText("staging")
    dialog.url.setText("http://127.0.0.1:9090")
    qtbot.mouseClick(
        dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    assert "not saved: fix or move the malformed file first" in dialog.form_error.text()
    assert dialog.isVisible()
    assert path.read_bytes() == MALFORMED


def test_measure_startup_prints_first_paint_and_exits_0() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    started = time.time()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from console.app import run_app; "
            "sys.exit(run_app('demo', measure_startup=True))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(r"first-paint (\d+\.\d{6})\n", result.stdout)
    assert match, result.stdout
    assert started < float(match.group(1)) < time.time()
