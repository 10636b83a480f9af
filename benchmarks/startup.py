"""Cold start to the first painted fleet with live data from a local Prometheus (20 deployments).

Starts a real Prometheus (Debian `prometheus`) scraping a loopback exporter of 20 vLLM-style
deployments, adds a profile with the CLI, then launches `python -m console --profile bench
--measure-startup` several times; the app prints `first-paint <unix time>` once the card grid
with live data has been painted. The baseline in the same run is the Qt floor: a process that
imports PySide6, creates a QApplication and paints one empty window. Target: median <= 1.5 s.
Run: `python -m benchmarks.startup`.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._measure import progress, report
from tests.support.exporter import Exporter, synthetic_fleet
from tests.support.servers import prometheus

RUNS = 7
DEPLOYMENTS = 20
_QT_FLOOR = (
    "import time\n"
    "from PySide6.QtCore import QTimer\n"
    "from PySide6.QtWidgets import QApplication, QLabel\n"
    "app = QApplication([])\n"
    "label = QLabel('floor')\n"
    "label.show()\n"
    "QTimer.singleShot(0, lambda: (label.repaint(), print(f'first-paint {time.time():.6f}'), "
    "app.quit()))\n"
    "app.exec()\n"
)


def first_paint_s(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from process launch to the `first-paint` line it prints."""
    started = time.time()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    lines = [line for line in result.stdout.splitlines() if line.startswith("first-paint ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(
            f"{' '.join(argv)} exited {result.returncode} without a first paint:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return float(lines[0].split()[1]) - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sre-bench-") as scratch:
        root = Path(scratch)
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            "SRE_CONSOLE_CONFIG_DIR": str(root / "config"),
            "SRE_CONSOLE_DATA_DIR": str(root / "data"),
        }
        # An installed console starts from compiled bytecode (pip compiles it on install):
        # the CLI call below writes what is missing, instead of every run compiling again.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        progress(f"starting an exporter of {DEPLOYMENTS} deployments and a real Prometheus")
        with (
            Exporter(synthetic_fleet(DEPLOYMENTS), history_s=420) as exporter,
            prometheus(root / "prometheus", exporter) as server,
        ):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "console",
                    "profile",
                    "add",
                    "bench",
                    "--prometheus",
                    server.url,
                    "--preset",
                    "vllm",
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            floor = []
            console = []
            for run in range(1, RUNS + 1):
                floor.append(first_paint_s([sys.executable, "-c", _QT_FLOOR], env))
                console.append(
                    first_paint_s(
                        [
                            sys.executable,
                            "-m",
                            "console",
                            "--profile",
                            "bench",
                            "--measure-startup",
                        ],
                        env,
                    )
                )
                progress(
                    f"run {run}/{RUNS}: console {console[-1]:.3f} s, Qt floor {floor[-1]:.3f} s"
                )
    median_ms = statistics.median(console) * 1000
    floor_ms = statistics.median(floor) * 1000
    report(
        {
            "deployments": DEPLOYMENTS,
            "runs": RUNS,
            "startup_ms_median": round(median_ms, 1),
            "startup_ms_min": round(min(console) * 1000, 1),
            "startup_ms_max": round(max(console) * 1000, 1),
            "qt_floor_ms_median": round(floor_ms, 1),
            "ratio_to_qt_floor": round(median_ms / floor_ms, 2),
            "target_ms": 1500,
        }
    )


if __name__ == "__main__":
    main()
