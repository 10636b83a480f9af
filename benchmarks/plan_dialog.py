"""The plan dialog on the DEMO: from the click on "Roll back" to the dialog painted with its plan.

Opens the fleet window on the DEMO (offscreen by default), waits for the cards and the
action service, then clicks support-chat's "Roll back" button RUNS times. For each click
it records when the dialog first painted ("Planning…") and when it first painted with the
plan filled in, then cancels the dialog (a cancellation is audited, in a scratch data dir).
Target: the dialog with its plan painted in at most 300 ms.
Run: `python -m benchmarks.plan_dialog [--runs N]`.
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication

from benchmarks._measure import percentile, progress, report

RUNS = 30
TARGET_MS = 300.0
TIMEOUT_S = 30.0


class PaintClock(QObject):
    """Records the first paint of a dialog, and the first one after its plan showed."""

    def __init__(self, dialog: QObject) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        self.first_paint: float | None = None
        self.plan_paint: float | None = None
        dialog.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            now = time.perf_counter()
            if self.first_paint is None:
                self.first_paint = now
            if self.plan_paint is None and getattr(self.dialog, "planned_at", None) is not None:
                self.plan_paint = now
        return False


def wait_until(condition: object, timeout_s: float = TIMEOUT_S) -> None:
    """Run the event loop until ``condition()`` holds; SystemExit on timeout."""
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the DEMO window")
        loop = QEventLoop()
        QTimer.singleShot(2, loop.quit)
        loop.exec()


def measure(runs: int) -> dict[str, object]:
    from console.config import paths
    from console.config.secrets import SecretStore
    from console.config.store import ConfigStore
    from console.qtbridge.runner import AsyncRunner
    from console.ui.main_window import FleetWindow
    from console.ui.plan_dialog import PlanDialog
    from console.ui.theme import ThemeController
    from console.viewmodels.profiles import ProfilesViewModel

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    runner = AsyncRunner()
    profiles = ProfilesViewModel(
        runner, ConfigStore(paths.config_file()), SecretStore.session_only()
    )
    window = FleetWindow(profiles, ThemeController(app))
    window.resize(1320, 860)
    window.show()
    profiles.activate("demo")
    progress("waiting for the DEMO cards and the action service…")
    wait_until(lambda: window.grid.card("support-chat") is not None)
    wait_until(lambda: profiles.actions is not None and profiles.actions.is_ready)
    card = window.grid.card("support-chat")
    assert card is not None
    opened, planned = [], []
    try:
        for run in range(runs):
            began = time.perf_counter()
            card.action_buttons["rollback"].click()
            dialog = window.findChildren(PlanDialog)[-1]
            clock = PaintClock(dialog)
            wait_until(lambda: clock.plan_paint is not None)  # noqa: B023
            assert clock.first_paint is not None and clock.plan_paint is not None
            opened.append((clock.first_paint - began) * 1000)
            planned.append((clock.plan_paint - began) * 1000)
            dialog.reject()
            wait_until(lambda: not window.findChildren(PlanDialog))
            if run % 5 == 0:
                progress(
                    f"click {run + 1}/{runs}: painted {opened[-1]:.0f} ms, "
                    f"with the plan {planned[-1]:.0f} ms"
                )
    finally:
        closing = profiles.close()
        if closing is not None:
            closing.result(timeout=10)
        runner.stop()
    return {
        "dialog_painted_ms_median": percentile(opened, 50),
        "plan_painted_ms_median": percentile(planned, 50),
        "plan_painted_ms_p95": percentile(planned, 95),
        "plan_painted_ms_max": round(max(planned), 2),
        "target_ms": TARGET_MS,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plan-dialog-bench-") as scratch:
        os.environ["SRE_CONSOLE_DATA_DIR"] = os.path.join(scratch, "data")
        os.environ["SRE_CONSOLE_CONFIG_DIR"] = os.path.join(scratch, "config")
        report(measure(args.runs))


if __name__ == "__main__":
    main()
