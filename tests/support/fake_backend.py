"""A table-driven MetricsBackend for unit and GUI tests: no network, every outcome chosen."""

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from console.backends.errors import BackendError
from console.backends.protocol import BuildInfo, EngineChoice
from console.domain.fleet import DeploymentInfo
from console.domain.histograms import HistogramSeries
from console.domain.series import FloatArray, Series, SeriesKey
from console.domain.signals import Signal
from console.domain.slo import SloThresholds
from console.domain.timerange import RangePlan
from console.services.fleet import FleetService

FIGURES = {
    Signal.REQUEST_RATE: 12.0,
    Signal.ERROR_RATIO: 0.002,
    Signal.P95_LATENCY: 1.5,
    Signal.P95_TTFT: 0.3,
    Signal.OUTPUT_TOKENS_PER_S: 900.0,
}
"""What every deployment of the default fleet reports: healthy under the default SLOs."""


@dataclass(frozen=True, eq=False)
class FakeHistogram:
    """Observations per second in each bucket: ``before`` until ``change_at``, then ``after``.

    The counts over a window are exact: each rate times the part of the window it covers.
    """

    bounds: Sequence[float]
    before: Sequence[float]
    after: Sequence[float] | None = None
    change_at: float = math.inf

    def counts(self, timestamps: FloatArray, window_s: float) -> FloatArray:
        """The t x n counts of the windows ending at ``timestamps``."""
        start = timestamps - window_s
        seconds_after = np.clip(timestamps - np.maximum(start, self.change_at), 0.0, window_s)
        before = np.asarray(self.before, dtype=np.float64)
        after = before if self.after is None else np.asarray(self.after, dtype=np.float64)
        counts: FloatArray = np.outer(window_s - seconds_after, before) + np.outer(
            seconds_after, after
        )
        return counts


class FakeBackend:
    """By default two healthy deployments, ``alpha`` (v1) and ``beta`` (v3).

    Tests change ``deployments``, ``values``, ``shares`` and ``histograms``; ``error`` makes
    every call raise it, ``failing[signal]`` only that signal's queries, ``range_error`` only
    ranges. It records the threads it ran on, the range plans asked for (``histogram_calls``
    for histograms) and whether it was closed.
    """

    name = "fake"
    scrape_interval_s = 15.0

    def __init__(self, build: BuildInfo | None = None) -> None:
        self.build = build or BuildInfo("Prometheus", "2.45.3")
        self.deployments = [
            DeploymentInfo("alpha", "vllm", ("v1",)),
            DeploymentInfo("beta", "vllm", ("v3",)),
        ]
        self.values: dict[Signal, dict[SeriesKey, float | None]] = {
            signal: {SeriesKey(d): figure for d in ("alpha", "beta")}
            for signal, figure in FIGURES.items()
        }
        self.shares: dict[SeriesKey, float | None] = {
            SeriesKey("alpha", "v1"): 1.0,
            SeriesKey("beta", "v3"): 1.0,
        }
        self.error: BackendError | None = None
        self.failing: dict[Signal, Exception] = {}
        self.range_error: BackendError | None = None
        self.histograms: dict[str, dict[SeriesKey, FakeHistogram]] = {}
        """Per histogram name, keyed by deployment (and version, for by_version queries)."""
        self.histogram_calls: list[tuple[str, RangePlan, float, bool]] = []
        self.snapshots = 0
        self.plans: list[RangePlan] = []
        self.threads: set[str] = set()
        self.closed = False

    @property
    def ranges(self) -> list[float]:
        """The length in seconds of every range asked for."""
        return [plan.end - plan.start for plan in self.plans]

    def _call(self) -> None:
        self.threads.add(threading.current_thread().name)
        if self.error is not None:
            raise self.error

    async def build_info(self) -> BuildInfo:
        self._call()
        return self.build

    async def engines(self) -> EngineChoice:
        self.snapshots += 1
        self._call()
        return EngineChoice(("vllm",), "preset vllm, set in the profile")

    async def inventory(self) -> list[DeploymentInfo]:
        self._call()
        return list(self.deployments)

    async def instant(
        self, signal: Signal, window_s: float, *, by_version: bool = False
    ) -> dict[SeriesKey, float | None]:
        self._call()
        if signal in self.failing:
            raise self.failing[signal]
        return dict(self.shares) if by_version else dict(self.values[signal])

    async def range(
        self,
        signal: Signal,
        plan: RangePlan,
        window_s: float,
        *,
        by_version: bool = False,
        deployment: str | None = None,
    ) -> dict[SeriesKey, Series]:
        self._call()
        if self.range_error is not None:
            raise self.range_error
        self.plans.append(plan)
        ts = plan.timestamps()
        keys = [SeriesKey(d.deployment) for d in self.deployments]
        return {key: Series(key, ts, np.sin(ts / 600.0)) for key in keys}

    async def histogram_range(
        self,
        histogram: str,
        plan: RangePlan,
        window_s: float,
        *,
        deployment: str,
        by_version: bool = False,
    ) -> dict[SeriesKey, HistogramSeries]:
        self._call()
        self.histogram_calls.append((histogram, plan, window_s, by_version))
        ts = plan.timestamps()
        return {
            key: HistogramSeries(
                np.asarray(table.bounds, dtype=np.float64), ts, table.counts(ts, window_s)
            )
            for key, table in self.histograms.get(histogram, {}).items()
            if key.deployment == deployment and (key.version is not None) == by_version
        }

    async def aclose(self) -> None:
        self.closed = True


def fake_service(
    backend: FakeBackend, name: str = "fake", *, clock: Callable[[], float] = time.time
) -> FleetService:
    """A real FleetService over ``backend`` (default SLOs and a 5-minute rate window)."""
    return FleetService(name, backend, slo=SloThresholds(), rate_window_s=300.0, clock=clock)
