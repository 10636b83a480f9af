"""The deployment detail use case: every SLI per model version, annotations, canary table."""

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from console.backends.errors import BackendError
from console.backends.protocol import MetricsBackend
from console.domain.annotations import Annotation, version_changes
from console.domain.canary import CANARY_SIGNALS, CanaryComparison, compare
from console.domain.cost import VersionPrice, price_for
from console.domain.series import FloatArray, Series, SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import RangePlan, TimeRange, plan_range
from console.services.annotations import AnnotationStore

Line = tuple[FloatArray, FloatArray]
"""Unix timestamps and values (NaN = gap) of one chart line."""

COST_CHART_ID = "cost_per_hour"


@dataclass(frozen=True)
class ChartSpec:
    """One detail chart: a signal per model version, or the cost derived from token rates."""

    chart_id: str
    title: str
    unit: str
    signal: Signal | None


def _signal_chart(signal: Signal) -> ChartSpec:
    return ChartSpec(signal.value, signal.label, signal.unit, signal)


DETAIL_CHARTS: tuple[ChartSpec, ...] = (
    *(
        _signal_chart(s)
        for s in (
            Signal.REQUEST_RATE,
            Signal.ERROR_RATIO,
            # One chart per quantile rather than one with "v41 p95" lines: every chart then
            # has one line per version in the same colour, so a canary and its stable
            # version read side by side and the crosshair gives two figures, not six.
            Signal.P50_LATENCY,
            Signal.P95_LATENCY,
            Signal.P99_LATENCY,
            Signal.P95_TTFT,
            Signal.P95_ITL,
            Signal.RUNNING_REQUESTS,
            Signal.WAITING_REQUESTS,
            Signal.KV_CACHE_USAGE,
            Signal.INPUT_TOKENS_PER_S,
            Signal.OUTPUT_TOKENS_PER_S,
        )
    ),
    ChartSpec(COST_CHART_ID, "Cost per hour", "per hour", None),
)
"""The charts of the detail view, in display order."""

CHARTS_BY_ID: Mapping[str, ChartSpec] = {spec.chart_id: spec for spec in DETAIL_CHARTS}


@dataclass(frozen=True, eq=False)
class ChartData:
    """The lines of one chart, keyed by model version, or why there are none.

    ``failure`` is the backend's error (its text is ``error``); ``note`` says something
    the user should know about lines that are missing, such as versions without a price.
    """

    chart_id: str
    lines: Mapping[str, Line] = field(default_factory=dict)
    failure: BackendError | None = None
    note: str | None = None

    @property
    def error(self) -> str | None:
        """The backend's error text, if the chart could not be read."""
        return None if self.failure is None else str(self.failure)


class DetailService:
    """Reads one profile's deployments in detail through the profile's backend."""

    def __init__(
        self,
        backend: MetricsBackend,
        annotations: AnnotationStore,
        *,
        rate_window_s: float,
        prices: Sequence[VersionPrice] = (),
        canary_min_requests: float = 100.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.annotation_store = annotations
        self._window = rate_window_s
        self._prices = tuple(prices)
        self._min_requests = canary_min_requests
        self._clock = clock

    def unit(self, chart_id: str) -> str:
        """The unit of a chart's values; cost is in the prices' currency when they share one."""
        spec = CHARTS_BY_ID[chart_id]
        currencies = {price.currency for price in self._prices}
        if spec.signal is None and len(currencies) == 1:
            return f"{currencies.pop()}/h"
        return spec.unit

    def plan(self, range_s: float, width_px: int) -> RangePlan:
        """The query_range plan of the last ``range_s`` seconds drawn ``width_px`` wide."""
        return plan_range(
            TimeRange.last(range_s, self._clock()), width_px, self.backend.scrape_interval_s
        )

    async def chart(
        self, deployment: str, chart_id: str, range_s: float, width_px: int
    ) -> ChartData:
        """One line per model version of ``deployment``; a BackendError becomes ``failure``."""
        spec = CHARTS_BY_ID[chart_id]
        plan = self.plan(range_s, width_px)
        # A window shorter than the step would skip samples between steps on long ranges.
        window = max(self._window, plan.step)
        try:
            if spec.signal is None:
                return await self._cost(deployment, plan, window)
            found = await self.backend.range(
                spec.signal, plan, window, by_version=True, deployment=deployment
            )
        except BackendError as exc:
            return ChartData(chart_id, failure=exc)
        return ChartData(chart_id, _lines(deployment, found))

    async def annotations(self, deployment: str, range_s: float, width_px: int) -> list[Annotation]:
        """Version changes over the range plus the store's marks, oldest first.

        Raises BackendError when the version history cannot be read.
        """
        plan = self.plan(range_s, width_px)
        history = await self.backend.version_history(plan, deployment=deployment)
        marks = version_changes(deployment, history)
        marks += self.annotation_store.between(deployment, plan.start, plan.end)
        return sorted(marks, key=lambda mark: mark.at)

    async def canary(self, deployment: str) -> CanaryComparison | None:
        """The canary table when two or more versions serve ``deployment``, else None.

        Raises BackendError when the serving versions or their request rates cannot be
        read; another SLI's failure makes only its rows inconclusive.
        """
        inventory, answers = await asyncio.gather(
            self.backend.inventory(),
            asyncio.gather(
                *(self.backend.instant(s, self._window, by_version=True) for s in CANARY_SIGNALS),
                return_exceptions=True,
            ),
        )
        for signal, outcome in zip(CANARY_SIGNALS, answers, strict=True):
            if isinstance(outcome, BaseException) and (
                signal is Signal.REQUEST_RATE or not isinstance(outcome, BackendError)
            ):
                raise outcome
        serving = next((i.versions for i in inventory if i.deployment == deployment), ())
        figures: dict[str, dict[Signal, float | None]] = {}
        failures: dict[Signal, str] = {}
        for signal, answer in zip(CANARY_SIGNALS, answers, strict=True):
            if isinstance(answer, BaseException):
                failures[signal] = str(answer)
                continue
            for key, value in answer.items():
                if key.deployment == deployment and key.version is not None:
                    figures.setdefault(key.version, {})[signal] = value
        return compare(
            deployment,
            serving,
            figures,
            window_s=self._window,
            min_requests=self._min_requests,
            failures=failures,
        )

    async def _cost(self, deployment: str, plan: RangePlan, window: float) -> ChartData:
        tokens_in, tokens_out = await asyncio.gather(
            *(
                self.backend.range(s, plan, window, by_version=True, deployment=deployment)
                for s in (Signal.INPUT_TOKENS_PER_S, Signal.OUTPUT_TOKENS_PER_S)
            )
        )
        rates_in, rates_out = _lines(deployment, tokens_in), _lines(deployment, tokens_out)
        grid = plan.timestamps()
        gap = np.full(grid.shape, np.nan)
        lines: dict[str, Line] = {}
        unpriced: list[str] = []
        for version in sorted({*rates_in, *rates_out}):
            price = price_for(self._prices, deployment, version)
            if price is None:
                unpriced.append(version)
                continue
            rate_in = rates_in.get(version, (grid, gap))[1]
            rate_out = rates_out.get(version, (grid, gap))[1]
            lines[version] = (grid, price.per_hour(rate_in, rate_out))
        return ChartData(COST_CHART_ID, lines, note=_price_note(unpriced, self._prices))


def _lines(deployment: str, found: Mapping[SeriesKey, Series]) -> dict[str, Line]:
    return {
        key.version or key.deployment: (series.timestamps, series.values)
        for key, series in found.items()
        if key.deployment == deployment
    }


def _price_note(unpriced: Sequence[str], prices: Sequence[VersionPrice]) -> str | None:
    if not unpriced:
        return None
    names = ", ".join(unpriced)
    if not prices:
        return f"No prices are set in the profile: no cost line for {names}."
    if len(unpriced) == 1:
        return f"{names} has no price, so no cost line."
    return f"{names} have no price, so no cost lines."
