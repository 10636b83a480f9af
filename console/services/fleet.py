"""The fleet overview use case: one refresh of one profile becomes a FleetSnapshot."""

import asyncio
import time
from collections.abc import Callable

from console.backends.errors import BackendError
from console.backends.protocol import BuildInfo, MetricsBackend
from console.domain.fleet import (
    DeploymentInfo,
    DeploymentReading,
    FleetSnapshot,
    traffic_shares,
)
from console.domain.series import Series, SeriesKey, known
from console.domain.signals import Signal
from console.domain.slo import SloThresholds, Status
from console.domain.timerange import TimeRange, plan_range

CARD_SIGNALS = (
    Signal.REQUEST_RATE,
    Signal.ERROR_RATIO,
    Signal.P95_LATENCY,
    Signal.P95_TTFT,
    Signal.OUTPUT_TOKENS_PER_S,
)
SPARKLINE_SIGNAL = Signal.P95_LATENCY
SPARKLINE_WIDTH_PX = 120
_SEVERITY = {Status.ALERT: 0, Status.WARN: 1, Status.NO_DATA: 2, Status.OK: 3}


class FleetService:
    """Reads the fleet of one profile through its own backend (profiles never share one)."""

    def __init__(
        self,
        profile_name: str,
        backend: MetricsBackend,
        *,
        slo: SloThresholds,
        rate_window_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile_name = profile_name
        self.backend = backend
        self._slo = slo
        self._window = rate_window_s
        self._clock = clock

    async def check(self) -> BuildInfo:
        """The backend's build info; raises BackendError with a readable message."""
        return await self.backend.build_info()

    async def snapshot(self, range_s: float = 3600.0) -> FleetSnapshot:
        """Every deployment's latest figures and a sparkline over the last ``range_s``.

        A failed signal query leaves its figure unknown and puts its error on the cards;
        when the fleet itself cannot be listed the snapshot carries the error instead.
        """
        now = self._clock()
        try:
            choice = await self.backend.engines()
            inventory = await self.backend.inventory()
        except BackendError as exc:
            return FleetSnapshot(profile=self.profile_name, taken_at=now, error=str(exc))

        plan = plan_range(
            TimeRange.last(range_s, now), SPARKLINE_WIDTH_PX, self.backend.scrape_interval_s
        )
        figures_by_signal = await asyncio.gather(
            *(self.backend.instant(s, self._window) for s in CARD_SIGNALS),
            return_exceptions=True,
        )
        by_version, sparklines = await asyncio.gather(
            self.backend.instant(Signal.REQUEST_RATE, self._window, by_version=True),
            self.backend.range(SPARKLINE_SIGNAL, plan, self._window),
            return_exceptions=True,
        )
        errors = [
            f"{signal.label}: {result}"
            for signal, result in zip(CARD_SIGNALS, figures_by_signal, strict=True)
            if isinstance(result, BaseException)
        ]
        if isinstance(by_version, BaseException):
            errors.append(f"traffic split: {by_version}")
            by_version = {}
        if isinstance(sparklines, BaseException):
            errors.append(f"sparkline: {sparklines}")
            sparklines = {}
        outcomes = (*figures_by_signal, by_version, sparklines)
        for result in outcomes:
            if isinstance(result, BaseException) and not isinstance(result, BackendError):
                raise result
        if len(errors) == len(outcomes):
            first = next(r for r in outcomes if isinstance(r, BaseException))
            return FleetSnapshot(profile=self.profile_name, taken_at=now, error=str(first))
        figures: dict[Signal, dict[SeriesKey, float | None]] = {
            signal: result
            for signal, result in zip(CARD_SIGNALS, figures_by_signal, strict=True)
            if not isinstance(result, BaseException)
        }
        error = "; ".join(errors) or None
        # Cards come from the inventory only: a figure whose rows name no listed deployment
        # (e.g. a metric without the deployment and model labels) cannot be placed.
        readings = [
            self._reading(info, figures, by_version, sparklines, error) for info in inventory
        ]
        readings.sort(key=lambda r: (_SEVERITY[r.status], r.deployment))
        return FleetSnapshot(
            profile=self.profile_name,
            taken_at=now,
            deployments=tuple(readings),
            notes=(choice.reason,),
        )

    def _reading(
        self,
        info: DeploymentInfo,
        figures: dict[Signal, dict[SeriesKey, float | None]],
        by_version: dict[SeriesKey, float | None],
        sparklines: dict[SeriesKey, Series],
        error: str | None,
    ) -> DeploymentReading:
        key = SeriesKey(info.deployment)

        def figure(signal: Signal) -> float | None:
            return known(figures.get(signal, {}).get(key))

        rates = {
            k.version: known(v)
            for k, v in by_version.items()
            if k.deployment == info.deployment and k.version is not None
        }
        values = {signal: figure(signal) for signal in CARD_SIGNALS}
        status = self._slo.evaluate(
            request_rate=values[Signal.REQUEST_RATE],
            error_ratio=values[Signal.ERROR_RATIO],
            p95_latency_s=values[Signal.P95_LATENCY],
            p95_ttft_s=values[Signal.P95_TTFT],
        )
        return DeploymentReading(
            deployment=info.deployment,
            engine=info.engine,
            versions=traffic_shares(info.versions, rates),
            request_rate=values[Signal.REQUEST_RATE],
            error_ratio=values[Signal.ERROR_RATIO],
            p95_latency_s=values[Signal.P95_LATENCY],
            p95_ttft_s=values[Signal.P95_TTFT],
            output_tokens_per_s=values[Signal.OUTPUT_TOKENS_PER_S],
            status=status,
            sparkline=sparklines.get(key),
            error=error,
        )
