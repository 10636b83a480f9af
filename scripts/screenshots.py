"""Regenerate the README screenshots from the DEMO (dark and light theme).

Run from the repository root, under Xvfb or offscreen:

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshots.py
    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py

Writes into docs/screenshots/: the fleet (dark and light), support-chat's detail (the bad
v42 rollout), its drift tab, doc-qa's canary, and a dashboard of pinned charts. The user's
own config and keyring are not read: a throwaway config dir is used.
"""

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from keyring.backends import fail

OUT_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
WINDOW_SIZE = (1440, 900)
SETTLE_MS = 400
LOAD_MS = 2500
"""Time for the live panels of a newly shown view to load (the DEMO answers at once)."""


def main() -> int:
    """Open the demo, wait for live cards, then show and save each view in turn, quit."""
    scratch = tempfile.mkdtemp(prefix="sre-console-shots-")
    os.environ["SRE_CONSOLE_CONFIG_DIR"] = str(Path(scratch, "config"))
    os.environ["SRE_CONSOLE_DATA_DIR"] = str(Path(scratch, "data"))
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.config import paths
    from console.config.secrets import SecretStore
    from console.config.settings import Theme
    from console.config.store import ConfigStore
    from console.qtbridge.runner import AsyncRunner
    from console.ui.main_window import DASHBOARD_TAB, FLEET_TAB, FleetWindow
    from console.ui.theme import ThemeController
    from console.viewmodels.profiles import ProfilesViewModel
    from console.viewmodels.suite_runs import Candidate

    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    runner = AsyncRunner()
    profiles = ProfilesViewModel(
        runner, ConfigStore(paths.config_file()), SecretStore(fail.Keyring())
    )
    window = FleetWindow(profiles, ThemeController(app, parent=app))
    window.resize(*WINDOW_SIZE)
    window.show()

    def theme(choice: Theme) -> Callable[[], None]:
        return lambda: window.theme_picker.setCurrentIndex(window.theme_picker.findData(choice))

    def fleet() -> None:
        window.tabs.setCurrentIndex(FLEET_TAB)

    def drift() -> None:
        window.open_drift("support-chat")

    def canary() -> None:
        window.open_detail("doc-qa")
        if window.detail_view is not None:
            window.detail_view.sections.setCurrentIndex(0)

    def dashboard() -> None:
        for deployment, chart in (
            ("support-chat", "p95_latency_s"),
            ("support-chat", "error_ratio"),
            ("doc-qa", "request_rate"),
            ("doc-qa", "cost_per_hour"),
            ("support-chat", "kv_cache_usage"),
            ("code-assist", "output_tokens_per_s"),
        ):
            window.pin_chart(deployment, chart)
        window.tabs.setCurrentIndex(DASHBOARD_TAB)

    def shadow_run() -> None:
        """The smoke suite on support-chat, then a shadow run against v41 once it ends."""
        window.run_suite("support-chat")
        runs = profiles.suite_runs
        assert runs is not None

        def then_shadow() -> None:
            runs.finished.disconnect(then_shadow)
            runs.comparisonReady.connect(
                lambda _comparison: QTimer.singleShot(
                    SETTLE_MS, lambda: save("runs-shadow-support-chat.png")
                )
            )
            runs.start("support-chat", candidate=Candidate("", "support-chat@v41"))

        runs.finished.connect(then_shadow)

    # (what to do, then how long to wait, then the file to write or None); no wait: the
    # action saves when its work is done
    steps: list[tuple[Callable[[], None], int | None, str | None]] = [
        (theme(Theme.DARK), SETTLE_MS, "fleet-demo.png"),
        (lambda: window.open_detail("support-chat"), LOAD_MS, "detail-support-chat.png"),
        (drift, LOAD_MS, "drift-support-chat.png"),
        (canary, LOAD_MS, "detail-doc-qa-canary.png"),
        (dashboard, LOAD_MS, "dashboard-demo.png"),
        (shadow_run, None, None),
        (fleet, 0, None),
        (theme(Theme.LIGHT), SETTLE_MS, "fleet-demo-light.png"),
    ]

    def run_next() -> None:
        if not steps:
            app.exit(0)
            return
        action, wait_ms, name = steps.pop(0)
        action()
        if wait_ms is not None:
            QTimer.singleShot(wait_ms, lambda: save(name))

    def save(name: str | None) -> None:
        if name is not None:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            target = OUT_DIR / name
            if not window.grab().save(str(target)):
                print(f"could not write {target}", file=sys.stderr)
                app.exit(1)
                return
            print(f"wrote {target}", flush=True)
        run_next()

    def on_changed() -> None:
        fleet_model = profiles.fleet
        if fleet_model is not None and fleet_model.cards() and fleet_model.fleet_error() is None:
            fleet_model.changed.disconnect(on_changed)
            QTimer.singleShot(SETTLE_MS, run_next)

    def on_fleet_opened() -> None:
        if profiles.fleet is not None:
            profiles.fleet.changed.connect(on_changed)

    profiles.fleetChanged.connect(on_fleet_opened)
    profiles.activate("demo")
    try:
        return app.exec()
    finally:
        profiles.close()
        runner.stop()


if __name__ == "__main__":
    sys.exit(main())
