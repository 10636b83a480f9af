"""Regenerate the README screenshots of the DEMO fleet (dark and light theme).

Run from the repository root, under Xvfb or offscreen:

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshots.py
    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py

Writes docs/screenshots/fleet-demo.png (dark) and docs/screenshots/fleet-demo-light.png.
The user's own config and keyring are not read: a throwaway config dir is used.
"""

import os
import sys
import tempfile
from pathlib import Path

from keyring.backends import fail

OUT_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SHOTS = (("dark", "fleet-demo.png"), ("light", "fleet-demo-light.png"))
WINDOW_SIZE = (1440, 900)
SETTLE_MS = 400


def main() -> int:
    """Open the demo, wait for live cards, save one PNG per theme, quit."""
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
    from console.ui.main_window import FleetWindow
    from console.ui.theme import ThemeController
    from console.viewmodels.profiles import ProfilesViewModel

    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    runner = AsyncRunner()
    profiles = ProfilesViewModel(
        runner, ConfigStore(paths.config_file()), SecretStore(fail.Keyring())
    )
    window = FleetWindow(profiles, ThemeController(app, parent=app))
    window.resize(*WINDOW_SIZE)
    window.show()
    pending = list(SHOTS)

    def shoot() -> None:
        theme, name = pending.pop(0)
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        target = OUT_DIR / name
        if not window.grab().save(str(target)):
            print(f"could not write {target}", file=sys.stderr)
            app.exit(1)
            return
        print(f"wrote {target} ({theme} theme)", flush=True)
        if pending:
            window.theme_picker.setCurrentIndex(window.theme_picker.findData(Theme(pending[0][0])))
            QTimer.singleShot(SETTLE_MS, shoot)
        else:
            app.exit(0)

    def on_changed() -> None:
        fleet = profiles.fleet
        if fleet is not None and fleet.cards() and fleet.fleet_error() is None:
            fleet.changed.disconnect(on_changed)
            QTimer.singleShot(SETTLE_MS, shoot)

    window.theme_picker.setCurrentIndex(window.theme_picker.findData(Theme(SHOTS[0][0])))

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
