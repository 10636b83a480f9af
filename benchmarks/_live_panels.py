"""Shared by benchmarks.panels and benchmarks.soak: 50 live chart panels over a real Prometheus.

The exporter and Prometheus run in a child process (it prints the Prometheus URL on its
first line and stops both servers when its stdin closes), so that the CPU time the
benchmarks read with time.process_time() is the console's own: the engine, the backend,
the I/O loop and the charts.
"""

import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QGridLayout, QWidget

from console.backends.protocol import MetricsBackend
from console.config.settings import Profile
from console.domain.series import FloatArray
from console.domain.signals import Signal
from console.domain.timerange import TimeRange, plan_range
from console.ui.charts import PanelFrame
from console.ui.charts.chart_tile import ChartTile
from console.ui.panel_visibility import watch_visibility
from console.viewmodels.refresh import PanelStatus, RefreshEngine
from tests.support.exporter import synthetic_fleet

DEPLOYMENTS = 10
SIGNALS = (
    Signal.REQUEST_RATE,
    Signal.ERROR_RATIO,
    Signal.P95_LATENCY,
    Signal.P95_TTFT,
    Signal.OUTPUT_TOKENS_PER_S,
)
"""10 deployments x 5 signals: 50 panels, each a different query."""
RANGE_S = 3600.0
SCRAPE_S = 15.0
"""Prometheus's usual scrape interval: a panel's data changes once per scrape."""
COLUMNS = 10
PANEL_WIDTH, PANEL_HEIGHT = 250, 190
PLOT_WIDTH_PX = PANEL_WIDTH - 70
"""Roughly the plot area of a panel: its width minus the fixed left axis."""

Lines = dict[str, tuple[FloatArray, FloatArray]]
_SERVE = (
    "import sys\n"
    "from pathlib import Path\n"
    "from tests.support.exporter import Exporter, synthetic_fleet\n"
    "from tests.support.servers import prometheus\n"
    "workdir, deployments, history_s, scrape_s = Path(sys.argv[1]), *map(float, sys.argv[2:])\n"
    "with (\n"
    "    Exporter(synthetic_fleet(int(deployments)), history_s=history_s) as exporter,\n"
    "    prometheus(workdir, exporter, scrape_interval_s=scrape_s) as server,\n"
    "):\n"
    "    print(server.url, flush=True)\n"
    "    sys.stdin.read()\n"
)


@dataclass(frozen=True)
class PanelSpec:
    """One live panel: a deployment's signal, one line per model version."""

    deployment: str
    signal: Signal

    @property
    def panel_id(self) -> str:
        return f"{self.deployment}/{self.signal.value}"


def panel_specs() -> list[PanelSpec]:
    """The 50 (deployment, signal) pairs of the benchmarks."""
    return [
        PanelSpec(spec.name, signal) for spec in synthetic_fleet(DEPLOYMENTS) for signal in SIGNALS
    ]


def bench_profile(url: str) -> Profile:
    """A profile pointing at the benchmark's Prometheus (no auth, so no keyring needed)."""
    return Profile(name="bench", prometheus_url=url, preset="vllm", scrape_interval_s=SCRAPE_S)


@contextmanager
def live_prometheus(workdir: Path) -> Iterator[str]:
    """Start the exporter and a backfilled Prometheus in a child process; yield its URL."""
    child = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(workdir / "prometheus")]
        + [str(x) for x in (DEPLOYMENTS, RANGE_S, SCRAPE_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        url = child.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the Prometheus child process did not start (said {url!r})")
        yield url
    finally:
        child.stdin.close()
        child.wait(30)


def rss_mb() -> float:
    """This process's resident set size (VmRSS) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def version_lines(
    backend: MetricsBackend, spec: PanelSpec, width_px: int, window_s: float
) -> Lines:
    """The last hour of one deployment's signal, one line per version, ending now."""
    plan = plan_range(TimeRange.last(RANGE_S, time.time()), width_px, backend.scrape_interval_s)
    series = await backend.range(
        spec.signal, plan, window_s, by_version=True, deployment=spec.deployment
    )
    return {key.version or key.deployment: (s.timestamps, s.values) for key, s in series.items()}


class LiveDashboard:
    """A window of 50 PanelFrame(ChartTile) panels, refreshed by one RefreshEngine.

    ``width_px`` gives the plot width each fetch plans its step for (read on the I/O loop).
    """

    def __init__(
        self,
        engine: RefreshEngine,
        backend: MetricsBackend,
        *,
        window_s: float,
        width_px: Callable[[], int] = lambda: PLOT_WIDTH_PX,
    ) -> None:
        self._engine = engine
        self._backend = backend
        self._window_s = window_s
        self._width_px = width_px
        self.specs = panel_specs()
        self.window = QWidget()
        self.window.setWindowTitle("benchmark: 50 live panels")
        grid = QGridLayout(self.window)
        self.charts: dict[str, ChartTile] = {}
        for i, spec in enumerate(self.specs):
            title = f"{spec.deployment} · {spec.signal.label}"
            chart = ChartTile(title, spec.signal.unit)
            frame = PanelFrame(title, chart)
            frame.setFixedSize(PANEL_WIDTH, PANEL_HEIGHT)
            grid.addWidget(frame, i // COLUMNS, i % COLUMNS)
            self.charts[spec.panel_id] = chart
        engine.panelChanged.connect(self._show)

    def start(self) -> None:
        """Show the window and register every panel; each reports its own visibility.

        A signal's panels are one phase group, as a dashboard's pinned charts are.
        """
        self.window.show()
        for spec in self.specs:
            chart = self.charts[spec.panel_id]
            self._engine.add_panel(
                spec.panel_id,
                (spec.deployment, spec.signal, RANGE_S),
                partial(self._fetch, spec),
                (spec.signal, RANGE_S),
                visible=False,
            )
            watch_visibility(chart, self._engine, spec.panel_id)

    def close(self) -> None:
        """Stop refreshing and close the window."""
        self._engine.stop()
        self.window.close()

    def _fetch(self, spec: PanelSpec) -> Coroutine[Any, Any, Lines]:
        return version_lines(self._backend, spec, self._width_px(), self._window_s)

    def _show(self, panel_id: str) -> None:
        state = self._engine.state(panel_id)
        chart = self.charts[panel_id]
        if isinstance(state.data, dict):
            chart.set_lines(state.data)
        chart.set_status(None if state.status is PanelStatus.LIVE else state.message)


def wait_until_loaded(engine: RefreshEngine, panels: Iterable[str], timeout_s: float = 120) -> int:
    """Run the event loop until no panel is loading; returns how many are live.

    RuntimeError naming the panels still loading after ``timeout_s``.
    """
    panels = list(panels)
    loop = QEventLoop()

    def loading() -> list[str]:
        return [p for p in panels if engine.state(p).status is PanelStatus.LOADING]

    def check() -> None:
        if not loading():
            loop.quit()

    engine.panelChanged.connect(check)
    QTimer.singleShot(round(timeout_s * 1000), loop.quit)
    if loading():
        loop.exec()
    engine.panelChanged.disconnect(check)
    if loading():
        raise RuntimeError(f"panels still loading after {timeout_s} s: {loading()}")
    return sum(engine.state(p).status is PanelStatus.LIVE for p in panels)
