"""Composition root: config, secrets, the I/O runner, viewmodels and the window."""

import concurrent.futures
import gc
import os
import sys
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from console.config import paths
from console.config.secrets import SecretStore
from console.config.store import ConfigStore
from console.qtbridge.runner import AsyncRunner
from console.viewmodels.profiles import ProfilesViewModel

if TYPE_CHECKING:
    from console.ui.main_window import FleetWindow

_CLOSE_TIMEOUT_S = 2.0
SCREENSHOT_ENV = "SRE_CONSOLE_SCREENSHOT"
"""With --measure-startup: save the window, as first painted, to this PNG path."""


def run_app(profile_name: str | None = None, *, measure_startup: bool = False) -> int:
    """Open the fleet window; returns the process exit status.

    ``profile_name`` picks the profile ("demo" is the demo); without it the last one
    shown, else the first configured one, else the demo. With ``measure_startup`` the
    app prints ``first-paint <unix time>`` once live cards are painted, and quits.
    """
    runner = AsyncRunner()
    profiles = ProfilesViewModel(runner, ConfigStore(paths.config_file()), SecretStore())
    profile = profiles.initial_profile(profile_name)
    if profile is None:
        if profiles.config_error:
            print(f"sre-console: {profiles.config_error}", file=sys.stderr)
        print(f"sre-console: no profile called {profile_name!r}", file=sys.stderr)
        runner.stop()
        return 2
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("SRE Console")
    app.setDesktopFileName("io.github.sre_console.SreConsole")
    app.setStyle("Fusion")
    # The first refresh starts now, on the I/O thread, so that it overlaps loading the
    # widget modules and building the window (the window picks up the active fleet).
    profiles.activate(profile.name)
    from console.ui.main_window import FleetWindow
    from console.ui.resources import icon
    from console.ui.theme import ThemeController

    app.setWindowIcon(icon("app.svg"))
    window = FleetWindow(profiles, ThemeController(app, parent=app))
    if measure_startup:
        _quit_after_first_live_paint(app, window, profiles)
    window.show()
    # What exists now (modules, Qt wrappers, the window) lives as long as the app: moved out
    # of the collector's reach, later collections are shorter GUI stalls (a 1,000-case suite
    # run streaming into its table showed 75-145 ms collections without this). No collect
    # first: it would cost the first paint a tenth of a second.
    gc.freeze()
    try:
        return app.exec()
    finally:
        closing = profiles.close()
        if closing is not None:
            concurrent.futures.wait([closing], timeout=_CLOSE_TIMEOUT_S)
        runner.stop()


def _quit_after_first_live_paint(
    app: QApplication, window: "FleetWindow", profiles: ProfilesViewModel
) -> None:
    """Print ``first-paint <time>`` after the first paint of cards from a good snapshot."""

    def live() -> bool:
        fleet = profiles.fleet
        return (
            fleet is not None
            and fleet.last_refresh() is not None
            and fleet.fleet_error() is None
            and bool(fleet.cards())
        )

    def report() -> None:
        print(f"first-paint {time.time():.6f}", flush=True)
        screenshot = os.environ.get(SCREENSHOT_ENV)
        if screenshot:
            window.grab().save(screenshot)
        app.exit(0)

    def on_paint() -> None:
        if live():
            window.grid.painted.disconnect(on_paint)
            # The cards are painted in the same pass, right after their parent grid.
            QTimer.singleShot(0, report)

    window.grid.painted.connect(on_paint)
