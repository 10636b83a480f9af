"""Explore: raw PromQL against a Prometheus-compatible profile, and completion data for it.

Range queries are planned with ``plan_range`` (so no range or width can ask for more than
Prometheus's 11,000 points per series). Prometheus's own error text reaches the caller
unchanged inside the BackendError message. Completion data (metric names with their
metadata, label names, label values) is loaded lazily per selector and kept for a TTL.
"""

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from console.backends.errors import BackendError, BadQuery, NotSupported
from console.backends.prometheus import (
    InstantVector,
    Labels,
    PrometheusBackend,
    PrometheusClient,
    on_grid,
)
from console.backends.protocol import MetricsBackend
from console.domain.promql_completion import (
    Candidate,
    CompletionContext,
    CompletionIndex,
    ContextKind,
    MetricInfo,
    complete,
    context_at,
)
from console.domain.series import FloatArray
from console.domain.timerange import RangePlan, TimeRange, plan_range

UNSUPPORTED = (
    "Explore runs PromQL against a Prometheus-compatible profile; the DEMO simulation has none"
)
COMPLETION_TTL_S = 300.0
_FAMILY_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")
"""Series names that /api/v1/metadata lists under their metric family's name."""
T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class ExploreSeries:
    """One series of a range result on the plan's grid (NaN where it has no sample)."""

    name: str
    labels: Labels
    timestamps: FloatArray
    values: FloatArray


@dataclass(frozen=True)
class RangeResult:
    """A range query's series, the plan (and so the step) it ran with, and how long it took."""

    expr: str
    plan: RangePlan
    series: tuple[ExploreSeries, ...]
    duration_s: float


@dataclass(frozen=True)
class InstantRow:
    """One row of an instant result."""

    name: str
    labels: Labels
    value: float


@dataclass(frozen=True)
class InstantResult:
    """An instant query's rows, evaluated at ``at`` (None: the server's now)."""

    expr: str
    rows: tuple[InstantRow, ...]
    at: float | None
    duration_s: float


@dataclass(frozen=True)
class ExploreResult:
    """What one Run shows: the graph's range result and the table's instant result."""

    range: RangeResult
    instant: InstantResult


@dataclass(frozen=True)
class Completion:
    """The candidates at a cursor and the context (with the span they replace)."""

    context: CompletionContext
    candidates: tuple[Candidate, ...]


def series_name(labels: Labels) -> str:
    """A series named as Prometheus prints it: ``metric{a="x", b="y"}``."""
    metric = labels.get("__name__", "")
    rest = ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False)}"
        for k, v in sorted(labels.items())
        if k != "__name__"
    )
    if not rest:
        return metric or "{}"
    return f"{metric}{{{rest}}}"


class ExploreService:
    """Raw PromQL and completion data over one profile's backend (which it does not own)."""

    def __init__(
        self,
        backend: MetricsBackend,
        *,
        ttl_s: float = COMPLETION_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._backend = backend
        self._timer = timer
        self._metrics: _TtlCache[dict[str, MetricInfo]] = _TtlCache(ttl_s, clock)
        self._names: _TtlCache[list[str]] = _TtlCache(ttl_s, clock)

    @property
    def unavailable_reason(self) -> str | None:
        """Why Explore cannot run on this backend, or None when it can."""
        return None if isinstance(self._backend, PrometheusBackend) else UNSUPPORTED

    async def run_range(self, expr: str, rng: TimeRange, width_px: int) -> RangeResult:
        """``expr`` over ``rng`` at about one point per pixel, within Prometheus's limit."""
        client = self._client()
        expr = _checked(expr)
        plan = plan_range(rng, width_px, self._backend.scrape_interval_s)
        started = self._timer()
        found = await client.query_range(expr, plan)
        duration = self._timer() - started
        grid = plan.timestamps()
        series = tuple(
            ExploreSeries(series_name(s.labels), s.labels, grid.copy(), on_grid(s, plan, grid.size))
            for s in found
        )
        return RangeResult(expr, plan, series, duration)

    async def run_instant(self, expr: str, at: float | None = None) -> InstantResult:
        """``expr`` evaluated at ``at`` (default: now), one row per series."""
        client = self._client()
        expr = _checked(expr)
        started = self._timer()
        vector: InstantVector = await client.query(expr, at)
        duration = self._timer() - started
        rows = tuple(
            InstantRow(series_name(labels), labels, value) for labels, value in vector.rows()
        )
        return InstantResult(expr, rows, at, duration)

    async def run(self, expr: str, rng: TimeRange, width_px: int) -> ExploreResult:
        """The range result and the instant result at the range's end, queried together."""
        range_result, instant_result = await asyncio.gather(
            self.run_range(expr, rng, width_px), self.run_instant(expr, rng.end)
        )
        return ExploreResult(range_result, instant_result)

    async def complete(self, text: str, cursor: int) -> Completion:
        """The ranked candidates at ``cursor`` in ``text``, loading what they need."""
        context = context_at(text, cursor)
        index = await self.completion_index(context)
        return Completion(context, tuple(complete(context, index)))

    async def completion_index(self, context: CompletionContext) -> CompletionIndex:
        """What ``context`` completes from: metrics, or one selector's label names or values."""
        client = self._client()
        if context.kind is ContextKind.EXPRESSION:
            metrics = await self._metrics.get(("metrics",), lambda: _metrics(client))
            return CompletionIndex(metrics=metrics)
        match = (context.selector,) if context.selector else ()
        if context.kind is ContextKind.LABEL_NAME:
            names = await self._names.get(("labels", *match), lambda: client.labels(match))
            return CompletionIndex(label_names=names)
        if context.kind is ContextKind.LABEL_VALUE and context.label:
            label = context.label
            values = await self._names.get(
                ("values", label, *match), lambda: client.label_values(label, match)
            )
            return CompletionIndex(label_values=values)
        return CompletionIndex()

    def forget_completions(self) -> None:
        """Drop the cached completion data (the next completion loads it again)."""
        self._metrics.clear()
        self._names.clear()

    def _client(self) -> PrometheusClient:
        if not isinstance(self._backend, PrometheusBackend):
            raise NotSupported(UNSUPPORTED)
        return self._backend.client


class _TtlCache(Generic[T]):
    """Values by key, reused while younger than the TTL; one load at a time per key."""

    def __init__(self, ttl_s: float, clock: Callable[[], float]) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, T]] = {}
        self._loading: dict[tuple[str, ...], asyncio.Task[T]] = {}

    async def get(self, key: tuple[str, ...], load: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """The cached value, or the result of ``load()`` (shared by concurrent callers)."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self._ttl_s:
            return entry[1]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.create_task(load())
            self._loading[key] = task
            task.add_done_callback(lambda _: self._loading.pop(key, None))
        # Shielded: a caller that is cancelled (a superseded completion) does not cancel the
        # load that other callers, or the next keystroke, are waiting for.
        value = await asyncio.shield(task)
        self._entries[key] = (self._clock(), value)
        return value

    def clear(self) -> None:
        """Forget every value."""
        self._entries.clear()


async def _metrics(client: PrometheusClient) -> dict[str, MetricInfo]:
    """Every metric name, with type and help where /api/v1/metadata knows them."""
    names, metadata = await asyncio.gather(
        client.label_values("__name__"), _optional_metadata(client)
    )
    return {name: _family_info(name, metadata) for name in names}


def _family_info(name: str, metadata: dict[str, MetricInfo]) -> MetricInfo:
    """The metadata of ``name``, or of its family (``x_bucket``, ``x_sum``… belong to ``x``)."""
    if name in metadata:
        return metadata[name]
    for suffix in _FAMILY_SUFFIXES:
        family = name.removesuffix(suffix)
        if family != name and family in metadata:
            return metadata[family]
    return MetricInfo()


async def _optional_metadata(client: PrometheusClient) -> dict[str, MetricInfo]:
    """The first metadata entry per metric; {} when the engine does not serve metadata."""
    try:
        metadata = await client.metadata()
    except BackendError:
        return {}
    return {name: MetricInfo(e[0].type, e[0].help) for name, e in metadata.items() if e}


def _checked(expr: str) -> str:
    stripped = expr.strip()
    if not stripped:
        raise BadQuery("enter a PromQL expression to run")
    return stripped
