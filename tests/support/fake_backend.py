"""A table-driven MetricsBackend for unit and GUI tests: no network, every outcome chosen."""

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from console.backends.errors import BackendError, BadQuery
from console.backends.presets import ADDITIVE_SIGNALS
from console.backends.protocol import BuildInfo, EngineChoice
from console.domain.fleet import DeploymentInfo
from console.domain.histograms import HistogramSeries
from console.domain.series import FloatArray, Series, SeriesKey
from console.domain.signals import Signal
from console.domain.slo import SloThresholds
from console.domain.timerange import MAX_POINTS_PER_SERIES, RangePlan
from console.services.fleet import FleetService

FIGURES = {
    Signal.REQUEST_RATE: 12.0,
    Signal.ERROR_RATIO: 0.002,
    Signal.P50_LATENCY: 0.6,
    Signal.P95_LATENCY: 1.5,
    Signal.P99_LATENCY: 2.4,
    Signal.P95_TTFT: 0.3,
    Signal.P95_ITL: 0.04,
    Signal.RUNNING_REQUESTS: 9.0,
    Signal.WAITING_REQUESTS: 1.0,
    Signal.KV_CACHE_USAGE: 0.5,
    Signal.INPUT_TOKENS_PER_S: 4000.0,
    Signal.OUTPUT_TOKENS_PER_S: 900.0,
}
"""What every deployment of the default fleet reports: healthy under the default SLOs."""
RANGE_WAVE = 0.1
"""Range answers swing by this share around the figure (one period every 600·2π s)."""


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

    Tests change ``deployments``, ``values``, ``shares``, ``histograms`` and ``histories``;
    ``error`` makes every call raise it, ``failing[signal]`` only that signal's queries,
    ``range_error`` only ranges. It records the threads it ran on, the range plans asked for
    (``histogram_calls`` for histograms, ``history_calls`` for version histories) and
    whether it was closed.

    ``range`` answers each figure of ``values`` times a slow wave. Per version, a figure
    keyed by (deployment, version) in ``values`` wins; otherwise the deployment's figure,
    split by ``shares`` for additive signals (rates, tokens, request counts).
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
        self.histories: dict[str, list[tuple[float, tuple[str, ...]]]] = {}
        """Per deployment, (time, versions serving from then on), oldest first. Before the
        first entry nothing served; a deployment without entries serves its
        ``deployments`` versions throughout."""
        self.history_calls: list[tuple[str, RangePlan]] = []
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
        wave = 1.0 + RANGE_WAVE * np.sin(ts / 600.0)
        answer: dict[SeriesKey, Series] = {}
        for info in self.deployments:
            if deployment is not None and info.deployment != deployment:
                continue
            keys = [SeriesKey(info.deployment, v) for v in info.versions] if by_version else []
            for key in keys or [SeriesKey(info.deployment)]:
                figure = self._figure(signal, key)
                if figure is not None:
                    answer[key] = Series(key, ts, figure * wave)
        return answer

    def _figure(self, signal: Signal, key: SeriesKey) -> float | None:
        figures = self.values.get(signal, {})
        if key in figures:
            return figures[key]
        figure = figures.get(SeriesKey(key.deployment))
        if figure is None or key.version is None or signal not in ADDITIVE_SIGNALS:
            return figure
        share = self.shares.get(key)
        return None if share is None else figure * share

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

    async def version_history(self, plan: RangePlan, *, deployment: str) -> dict[str, Series]:
        self._call()
        if self.range_error is not None:
            raise self.range_error
        if plan.points > MAX_POINTS_PER_SERIES:
            raise BadQuery(f"{plan.points} points per series exceed {MAX_POINTS_PER_SERIES}")
        self.history_calls.append((deployment, plan))
        ts = plan.timestamps()
        timeline = self.histories.get(deployment)
        if timeline is None:
            current = next((d.versions for d in self.deployments if d.deployment == deployment), ())
            timeline = [(-math.inf, current)]
        history: dict[str, Series] = {}
        for version in sorted({v for _, versions in timeline for v in versions}):
            serving = np.zeros(ts.size, dtype=bool)
            for i, (at, versions) in enumerate(timeline):
                until = timeline[i + 1][0] if i + 1 < len(timeline) else math.inf
                if version in versions:
                    serving |= (ts >= at) & (ts < until)
            if serving.any():
                key = SeriesKey(deployment, version)
                history[version] = Series(key, ts, np.where(serving, 1.0, np.nan))
        return history

    async def aclose(self) -> None:
        self.closed = True


def fake_service(
    backend: FakeBackend, name: str = "fake", *, clock: Callable[[], float] = time.time
) -> FleetService:
    """A real FleetService over ``backend`` (default SLOs and a 5-minute rate window)."""
    return FleetService(name, backend, slo=SloThresholds(), rate_window_s=300.0, clock=clock)
