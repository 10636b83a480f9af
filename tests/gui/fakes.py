"""Fake backends and runners for GUI tests of failure, hang and race paths."""

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any

import numpy as np

from console.backends.errors import BackendError
from console.backends.protocol import BuildInfo, EngineChoice
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.fleet import DeploymentInfo, FleetSnapshot
from console.domain.series import Series, SeriesKey
from console.domain.signals import Signal
from console.domain.slo import SloThresholds
from console.domain.timerange import RangePlan
from console.services.connect import open_fleet
from console.services.fleet import FleetService
from console.viewmodels.profiles import FleetOpener

FIGURES = {
    Signal.REQUEST_RATE: 12.0,
    Signal.ERROR_RATIO: 0.002,
    Signal.P95_LATENCY: 1.5,
    Signal.P95_TTFT: 0.3,
    Signal.OUTPUT_TOKENS_PER_S: 900.0,
}


class FakeBackend:
    """Two healthy deployments; ``error`` makes every call raise it; counts calls."""

    name = "fake"
    scrape_interval_s = 15.0

    def __init__(self, build: BuildInfo | None = None) -> None:
        self.error: BackendError | None = None
        self.build = build or BuildInfo("Prometheus", "2.45.3")
        self.snapshots = 0
        self.ranges: list[float] = []
        self.threads: set[str] = set()
        self.closed = False

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
        return [DeploymentInfo("alpha", "vllm", ("v1",)), DeploymentInfo("beta", "vllm", ("v3",))]

    async def instant(
        self, signal: Signal, window_s: float, *, by_version: bool = False
    ) -> dict[SeriesKey, float | None]:
        self._call()
        if by_version:
            return {SeriesKey("alpha", "v1"): 1.0, SeriesKey("beta", "v3"): 1.0}
        return {SeriesKey(d): FIGURES[signal] for d in ("alpha", "beta")}

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
        self.ranges.append(plan.end - plan.start)
        ts = np.arange(plan.start, plan.end + plan.step / 2, plan.step)
        return {
            SeriesKey(d): Series(SeriesKey(d), ts, np.sin(ts / 600.0)) for d in ("alpha", "beta")
        }

    async def aclose(self) -> None:
        self.closed = True


def fake_service(backend: FakeBackend, name: str = "fake") -> FleetService:
    """A real FleetService over ``backend``."""
    return FleetService(name, backend, slo=SloThresholds(), rate_window_s=300.0)


class ManualRunner:
    """Stands in for AsyncRunner: hands out futures that the test completes by hand."""

    def __init__(self) -> None:
        self.futures: list[concurrent.futures.Future[Any]] = []

    def submit(self, coro: Coroutine[Any, Any, Any]) -> "concurrent.futures.Future[Any]":
        coro.close()  # never run: the test decides the outcome
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()  # like a coroutine already running on the loop
        self.futures.append(future)
        return future


class RecordingService:
    """A FleetService stand-in that records the range of every snapshot asked for."""

    profile_name = "manual"

    def __init__(self) -> None:
        self.ranges: list[float] = []

    def snapshot(self, range_s: float = 3600.0) -> Coroutine[Any, Any, FleetSnapshot]:
        self.ranges.append(range_s)
        return asyncio.sleep(0, FleetSnapshot(profile="manual", taken_at=0.0))


def opener(fakes: dict[str, FleetService]) -> FleetOpener:
    """Opens the demo for real and the named profiles over the given fake services."""

    def open_service(profile: Profile, store: SecretStore) -> FleetService:
        return open_fleet(profile, store) if profile.is_demo else fakes[profile.name]

    return open_service
