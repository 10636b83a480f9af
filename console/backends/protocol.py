"""The protocol every metrics backend implements (Prometheus-compatible engines, the demo)."""

from dataclasses import dataclass
from typing import Protocol

from console.domain.fleet import DeploymentInfo
from console.domain.histograms import HistogramSeries
from console.domain.series import Series, SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import RangePlan


@dataclass(frozen=True)
class BuildInfo:
    """What the backend says it is, from /api/v1/status/buildinfo or the demo."""

    product: str
    version: str
    revision: str | None = None

    def __str__(self) -> str:
        rev = f" (revision {self.revision[:12]})" if self.revision else ""
        return f"{self.product} {self.version}{rev}"


@dataclass(frozen=True)
class EngineChoice:
    """Which engine presets the backend uses, and a sentence saying how they were chosen."""

    presets: tuple[str, ...]
    reason: str


class MetricsBackend(Protocol):
    """Answers signal questions about a fleet. Implementations own their HTTP client."""

    name: str
    scrape_interval_s: float

    async def build_info(self) -> BuildInfo:
        """The backend's product and version; raises BackendError when unreachable."""
        ...

    async def engines(self) -> EngineChoice:
        """The engine presets in use (configured, or detected from metric names)."""
        ...

    async def inventory(self) -> list[DeploymentInfo]:
        """Deployments with their engine and serving versions (from the info metric)."""
        ...

    async def instant(
        self, signal: Signal, window_s: float, *, by_version: bool = False
    ) -> dict[SeriesKey, float | None]:
        """The signal now, over a rate window, per deployment (and version if asked)."""
        ...

    async def range(
        self,
        signal: Signal,
        plan: RangePlan,
        window_s: float,
        *,
        by_version: bool = False,
        deployment: str | None = None,
    ) -> dict[SeriesKey, Series]:
        """The signal over a planned range, per deployment (and version if asked)."""
        ...

    async def histogram_range(
        self,
        histogram: str,
        plan: RangePlan,
        window_s: float,
        *,
        deployment: str,
        by_version: bool = False,
    ) -> dict[SeriesKey, HistogramSeries]:
        """Bucket counts of one deployment's histogram over ``window_s`` at each plan step.

        ``histogram`` is a preset histogram name (``output_tokens``, ``prompt_tokens``,
        ``latency``, ``ttft``) or a raw histogram metric name, with or without ``_bucket``.
        Raises BadQuery when the plan asks for more than 11,000 points.
        """
        ...

    async def version_history(self, plan: RangePlan, *, deployment: str) -> dict[str, Series]:
        """Which versions of ``deployment`` served at each plan step, keyed by version.

        Each series is on the plan's grid: 1 while the version served, NaN otherwise. It
        comes from the version info metric, or from the request rate per version for a
        deployment without one. Raises BadQuery when the plan asks for over 11,000 points.
        """
        ...

    async def aclose(self) -> None:
        """Release the HTTP client and anything else the backend holds."""
        ...
