"""The Prometheus HTTP API (also Thanos, Mimir, VictoriaMetrics) and the fleet backend on top.

PrometheusClient is a thin typed wrapper over the endpoints; PrometheusBackend answers the
MetricsBackend protocol by rendering engine presets (or per-profile overrides) to PromQL
and mapping the result rows to deployments and model versions.
"""

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import Any
from urllib.parse import quote

import numpy as np

from console.backends._http import HttpJsonClient, QueryParams
from console.backends.errors import BackendError, BadQuery, MalformedResponse, ServerError
from console.backends.presets import (
    ADDITIVE_SIGNALS,
    EnginePreset,
    HistogramMetric,
    detect,
    get_preset,
    parse_overrides,
    render,
)
from console.backends.protocol import BuildInfo, EngineChoice
from console.backends.range_tails import RangeTails
from console.backends.shared_ranges import SharedRanges
from console.domain.fleet import DeploymentInfo
from console.domain.histograms import PRESET_HISTOGRAMS, HistogramSeries, from_cumulative
from console.domain.series import FloatArray, Series, SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import MAX_POINTS_PER_SERIES, RangePlan

Labels = dict[str, str]

ENGINE_CACHE_S = 600.0
"""How long a detected engine choice is reused before the metric names are read again."""
INVENTORY_WINDOW_S = 300.0
UNKNOWN_ENGINE = "unknown"
_NO_VERSION = "(version not reported)"
_QUERY_ERROR_TYPES = frozenset({"bad_data", "execution", "not_found", "not_acceptable"})
_METRIC_NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")


@dataclass(frozen=True, eq=False)
class InstantVector:
    """Rows of an instant query: one label set, timestamp and value (NaN kept) per row."""

    labels: tuple[Labels, ...]
    timestamps: FloatArray
    values: FloatArray

    def rows(self) -> Iterable[tuple[Labels, float]]:
        """Each row's labels and value."""
        return zip(self.labels, self.values.tolist(), strict=True)


@dataclass(frozen=True, eq=False)
class RangeSeries:
    """One series of a range query: its labels, timestamps (s) and values (NaN kept)."""

    labels: Labels
    timestamps: FloatArray
    values: FloatArray


@dataclass(frozen=True)
class MetricMetadata:
    """What /api/v1/metadata says about one metric."""

    type: str
    help: str
    unit: str


class PrometheusClient:
    """Typed wrappers over the Prometheus HTTP API; every failure is a BackendError."""

    def __init__(self, http: HttpJsonClient) -> None:
        self._http = http

    async def query(self, promql: str, at: float | None = None) -> InstantVector:
        """/api/v1/query: an instant vector (a scalar becomes one row without labels)."""
        form = {"query": promql}
        if at is not None:
            form["time"] = _number(at)
        path = "/api/v1/query"
        where = self._http.url_of(path)
        data = await self._data(path, self._http.post_form_json(path, form, idempotent=True))
        result_type, result = _result(data, where)
        if result_type == "vector":
            return _parse_vector(result, where)
        if result_type == "scalar":
            timestamps, values = _samples([result], f"{where}: scalar result")
            return InstantVector(({},), timestamps, values)
        raise BadQuery(f"{where}: the query returned a {result_type}, not an instant vector")

    async def query_range(self, promql: str, plan: RangePlan) -> list[RangeSeries]:
        """/api/v1/query_range over the plan's aligned start, end and step."""
        form = {
            "query": promql,
            "start": _number(plan.start),
            "end": _number(plan.end),
            "step": _number(plan.step),
        }
        path = "/api/v1/query_range"
        parse = partial(parse_matrix_answer, where=self._http.url_of(path))
        series: list[RangeSeries] = await self._http.post_form_json(
            path, form, idempotent=True, parse=parse
        )
        return series

    async def series(
        self, matchers: Sequence[str], start: float | None = None, end: float | None = None
    ) -> list[Labels]:
        """/api/v1/series: the label sets of the series that match any of ``matchers``."""
        path = "/api/v1/series"
        where = self._http.url_of(path)
        data = await self._get(path, _selection(matchers, start, end))
        if not isinstance(data, list):
            raise MalformedResponse(f"{where}: 'data' is not a list")
        return [_labels(item, f"{where}: data[{i}]") for i, item in enumerate(data)]

    async def labels(self, matchers: Sequence[str] = ()) -> list[str]:
        """/api/v1/labels: label names (of the matching series, if matchers are given)."""
        path = "/api/v1/labels"
        return _strings(await self._get(path, _selection(matchers)), self._http.url_of(path))

    async def label_values(self, name: str, matchers: Sequence[str] = ()) -> list[str]:
        """/api/v1/label/NAME/values: the values a label takes."""
        path = f"/api/v1/label/{quote(name, safe='')}/values"
        return _strings(await self._get(path, _selection(matchers)), self._http.url_of(path))

    async def metadata(self, metric: str | None = None) -> dict[str, tuple[MetricMetadata, ...]]:
        """/api/v1/metadata: type, help and unit per metric name."""
        path = "/api/v1/metadata"
        where = self._http.url_of(path)
        data = await self._get(path, {"metric": metric} if metric else None)
        if not isinstance(data, dict):
            raise MalformedResponse(f"{where}: 'data' is not an object")
        return {
            str(name): _metadata(entries, f"{where}: data[{name!r}]")
            for name, entries in data.items()
        }

    async def build_info(self) -> BuildInfo:
        """/api/v1/status/buildinfo, telling VictoriaMetrics and Mimir from Prometheus."""
        path = "/api/v1/status/buildinfo"
        data = await self._get(path)
        if not isinstance(data, dict):
            raise MalformedResponse(f"{self._http.url_of(path)}: 'data' is not an object")
        version = str(data.get("version") or "")
        shown = version or _NO_VERSION
        revision = str(data.get("revision") or "") or None
        if data.get("application"):
            return BuildInfo(str(data["application"]), shown, revision)
        if revision or data.get("goVersion"):
            return BuildInfo("Prometheus", shown, revision)
        # VictoriaMetrics answers {} (1.79) or a fixed Prometheus API version ("2.24.0") here.
        if await self._is_victoria_metrics():
            api = f"(speaks the Prometheus API {version})" if version else _NO_VERSION
            return BuildInfo("VictoriaMetrics", api)
        return BuildInfo("Prometheus-compatible API", shown)

    async def api_data(self, path: str, params: QueryParams | None = None) -> Any:
        """GET any API endpoint (``/api/v1/alerts``…) and return its unwrapped ``data``."""
        return await self._get(path, params)

    async def _is_victoria_metrics(self) -> bool:
        """Whether the VictoriaMetrics-only top-queries endpoint answers."""
        try:
            answer = await self._http.get_json("/api/v1/status/top_queries")
        except BackendError:
            return False
        return isinstance(answer, dict) and "topByCount" in answer

    async def _get(self, path: str, params: QueryParams | None = None) -> Any:
        return await self._data(path, self._http.get_json(path, params))

    async def _data(self, path: str, request: Awaitable[Any]) -> Any:
        """Await the request and unwrap the {"status": "success", "data": ...} envelope."""
        return _unwrap(await request, self._http.url_of(path))


class PrometheusBackend:
    """The fleet through a Prometheus-compatible API, mapped by engine presets."""

    def __init__(
        self,
        client: HttpJsonClient,
        *,
        name: str,
        preset: str | None,
        overrides: dict[str, str],
        info_metric: str,
        deployment_label: str,
        version_label: str,
        scrape_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.scrape_interval_s = scrape_interval_s
        self._http = client
        self._prom = PrometheusClient(client)
        self._preset = get_preset(preset).name if preset is not None else None
        self._overrides = parse_overrides(overrides)
        self._info_metric = info_metric
        self._deployment_label = deployment_label
        self._version_label = version_label
        self._clock = clock
        self._engine_lock = asyncio.Lock()
        self._detected: tuple[float, EngineChoice] | None = None
        self._serving_answer: tuple[float, asyncio.Task[dict[str, tuple[str, ...]]]] | None = None
        # A third of a scrape: a shared answer is never much older than a direct one.
        self._shared_ranges: SharedRanges[dict[SeriesKey, Series]] = SharedRanges(
            clock, scrape_interval_s / 3
        )
        self._shared_histories: SharedRanges[dict[str, list[RangeSeries]]] = SharedRanges(
            clock, scrape_interval_s / 3
        )
        self._tails = RangeTails(wall_clock, settle_s=4 * scrape_interval_s)

    @property
    def client(self) -> PrometheusClient:
        """The API client, for raw PromQL sharing this backend's HTTP client and breaker."""
        return self._prom

    async def build_info(self) -> BuildInfo:
        """The backend's product and version."""
        return await self._prom.build_info()

    async def engines(self) -> EngineChoice:
        """The profile's preset, or the presets detected from metric names (cached 10 min)."""
        if self._preset is not None:
            return EngineChoice((self._preset,), f"preset {self._preset}, set in the profile")
        async with self._engine_lock:
            now = self._clock()
            if self._detected is None or now - self._detected[0] >= ENGINE_CACHE_S:
                names = await self._prom.label_values("__name__")
                self._detected = (now, detect(names))
            return self._detected[1]

    async def inventory(self) -> list[DeploymentInfo]:
        """Deployments from the info metric and from each engine's request-rate query.

        Versions are the serving ones of the info metric or, for a deployment without
        one, the version (or model) label values its request metrics carry.
        """
        queries = self._queries(Signal.REQUEST_RATE, await self._engine_presets())
        window_s = max(INVENTORY_WINDOW_S, 4 * self.scrape_interval_s)
        serving, *vectors = await _gather(
            self._serving(),
            *(self._prom.query(q.promql(self._labels(q, True), window_s)) for q in queries),
        )
        engines: dict[str, str] = {}
        seen: dict[str, list[str]] = {}
        for query, vector in zip(queries, vectors, strict=True):
            for labels, _ in vector.rows():
                engine, deployment = self._deployment(query, labels)
                engines.setdefault(deployment, engine)
                version = self._own_version(query, labels) or _model(query.engines, labels)
                seen.setdefault(deployment, [])
                if version:
                    seen[deployment].append(version)
        default_engine = queries[0].engine_name if len(queries) == 1 else UNKNOWN_ENGINE
        for deployment in serving:
            engines.setdefault(deployment, default_engine)
        return [
            DeploymentInfo(
                deployment=deployment,
                engine=engines[deployment],
                versions=serving.get(deployment) or tuple(dict.fromkeys(seen.get(deployment, []))),
            )
            for deployment in sorted(engines)
        ]

    async def instant(
        self, signal: Signal, window_s: float, *, by_version: bool = False
    ) -> dict[SeriesKey, float | None]:
        """The signal now per deployment (and version); NaN stays NaN."""
        queries = self._queries(signal, await self._engine_presets())
        if not queries:
            return {}
        serving, *vectors = await _gather(
            self._serving() if by_version else _no_versions(),
            *(self._prom.query(q.promql(self._labels(q, by_version), window_s)) for q in queries),
        )
        merged: dict[SeriesKey, FloatArray] = {}
        for query, vector in zip(queries, vectors, strict=True):
            for labels, value in vector.rows():
                key = self._key(query, labels, by_version, serving)
                _merge_into(merged, key, np.array([value]), query.additive)
        return {key: float(values[0]) for key, values in merged.items()}

    async def range(
        self,
        signal: Signal,
        plan: RangePlan,
        window_s: float,
        *,
        by_version: bool = False,
        deployment: str | None = None,
    ) -> dict[SeriesKey, Series]:
        """The signal over the planned range per deployment (and version), on the plan's grid.

        Calls for one deployment share a query with the other deployments whose panels
        ask for the same signal and grid (shared_ranges.py).
        """
        if deployment is None:
            return await self._range(signal, plan, window_s, by_version, None)
        found = await self._shared_ranges.get(
            (signal, plan, window_s, by_version),
            (signal, window_s, by_version, plan.end - plan.start, plan.step),
            deployment,
            lambda deployments: self._range(signal, plan, window_s, by_version, deployments),
        )
        return {key: series for key, series in found.items() if key.deployment == deployment}

    async def _range(
        self,
        signal: Signal,
        plan: RangePlan,
        window_s: float,
        by_version: bool,
        deployments: frozenset[str] | None,
    ) -> dict[SeriesKey, Series]:
        """The answer for ``plan``: only its tail is fetched when a slid plan was (range_tails)."""
        query = (signal, window_s, by_version, deployments, plan.step, plan.end - plan.start)
        asked_at = self._tails.now()
        tail = self._tails.tail(query, plan, asked_at)
        fetched = plan if tail is None else tail.plan
        answer = await self._fetch_range(signal, fetched, window_s, by_version, deployments)
        return self._tails.keep(query, plan, answer, asked_at=asked_at, tail=tail)

    async def _fetch_range(
        self,
        signal: Signal,
        plan: RangePlan,
        window_s: float,
        by_version: bool,
        deployments: frozenset[str] | None,
    ) -> dict[SeriesKey, Series]:
        queries = self._queries(signal, await self._engine_presets())
        if not queries:
            return {}
        serving, *results = await _gather(
            self._serving() if by_version else _no_versions(),
            *(
                self._prom.query_range(
                    self._only(q, deployments, q.promql(self._labels(q, by_version), window_s)),
                    plan,
                )
                for q in queries
            ),
        )
        grid = plan.timestamps()
        merged: dict[SeriesKey, FloatArray] = {}
        for query, series_list in zip(queries, results, strict=True):
            for series in series_list:
                key = self._key(query, series.labels, by_version, serving)
                if deployments is None or key.deployment in deployments:
                    values = on_grid(series, plan, grid.size)
                    _merge_into(merged, key, values, query.additive)
        return {key: Series(key, grid.copy(), values) for key, values in merged.items()}

    async def histogram_range(
        self,
        histogram: str,
        plan: RangePlan,
        window_s: float,
        *,
        deployment: str,
        by_version: bool = False,
    ) -> dict[SeriesKey, HistogramSeries]:
        """``sum by (le) (increase(METRIC_bucket{deployment="D"}[W]))`` over the plan.

        With several engines exporting the histogram, the first one with data wins.
        """
        _check_points(plan)
        sources = await self._histogram_sources(histogram)
        results = await _gather(
            *(
                self._prom.query_range(
                    self._histogram_promql(
                        metric, deployment, window_s, versions if by_version else []
                    ),
                    plan,
                )
                for metric, versions in sources
            )
        )
        grid = plan.timestamps()
        buckets: dict[SeriesKey, dict[float, FloatArray]] = {}
        for (metric, versions), series_list in zip(sources, results, strict=True):
            found: dict[SeriesKey, dict[float, FloatArray]] = {}
            for series in series_list:
                version = next((series.labels[v] for v in versions if series.labels.get(v)), None)
                key = SeriesKey(deployment, version if by_version else None)
                le = _bound(series.labels.get("le"), metric.name)
                found.setdefault(key, {})[le] = on_grid(series, plan, grid.size)
            for key, columns in found.items():
                buckets.setdefault(key, columns)
        return {
            key: from_cumulative(
                np.array(list(columns), dtype=np.float64),
                grid.copy(),
                np.stack(list(columns.values()), axis=1),
            )
            for key, columns in buckets.items()
        }

    async def version_history(self, plan: RangePlan, *, deployment: str) -> dict[str, Series]:
        """Per version, 1 at each step where the info metric says it served, NaN otherwise.

        A deployment without info-metric rows falls back to its request rate per version:
        a version serves where its rate is above 0. Versions that never served in the
        range are left out.
        """
        _check_points(plan)
        shared = await self._shared_histories.get(
            plan,
            (plan.end - plan.start, plan.step),
            deployment,
            lambda deployments: self._info_rows(plan, deployments),
        )
        grid = plan.timestamps()
        served: dict[str, FloatArray] = {}
        for series in shared.get(deployment, ()):
            version = series.labels.get(self._version_label)
            if version:
                served[version] = _flag(on_grid(series, plan, grid.size) == 1)
        if not served:
            window_s = max(plan.step + self.scrape_interval_s, 4 * self.scrape_interval_s)
            rates = await self.range(
                Signal.REQUEST_RATE, plan, window_s, by_version=True, deployment=deployment
            )
            served = {
                key.version: _flag(series.values > 0)
                for key, series in rates.items()
                if key.version
            }
        return {
            version: Series(SeriesKey(deployment, version), grid.copy(), flags)
            for version, flags in sorted(served.items())
            if np.isfinite(flags).any()
        }

    async def _info_rows(
        self, plan: RangePlan, deployments: frozenset[str]
    ) -> dict[str, list[RangeSeries]]:
        """The info metric's rows over the plan, by deployment, for ``deployments``."""
        selectors = " or ".join(
            f"{self._info_metric}{{{self._deployment_label}={_promql_string(name)}}}"
            for name in sorted(deployments)
        )
        labels = f"{self._deployment_label}, {self._version_label}"
        rows = await self._prom.query_range(f"max by ({labels}) ({selectors})", plan)
        found: dict[str, list[RangeSeries]] = {}
        for series in rows:
            found.setdefault(series.labels.get(self._deployment_label, ""), []).append(series)
        return found

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def _histogram_sources(self, histogram: str) -> list[tuple[HistogramMetric, list[str]]]:
        """The metrics answering ``histogram``, each with the version labels of its rows."""
        presets = await self._engine_presets()
        if histogram in PRESET_HISTOGRAMS:
            return [
                (p.histograms[histogram], self._version_labels((p,)))
                for p in presets
                if histogram in p.histograms
            ]
        name = histogram.removesuffix("_bucket")
        if not _METRIC_NAME.match(name):
            raise BadQuery(
                f"{histogram!r} is neither a histogram metric name nor one of "
                f"{', '.join(PRESET_HISTOGRAMS)}"
            )
        return [(HistogramMetric(name), self._version_labels(presets))]

    def _histogram_promql(
        self, metric: HistogramMetric, deployment: str, window_s: float, versions: list[str]
    ) -> str:
        matchers = ", ".join(
            f"{label}={_promql_string(value)}"
            for label, value in (*metric.matchers, (self._deployment_label, deployment))
        )
        by = ", ".join(dict.fromkeys(["le", *versions]))
        window = f"{max(1, int(window_s))}s"
        return f"sum by ({by}) (increase({metric.name}_bucket{{{matchers}}}[{window}]))"

    async def _engine_presets(self) -> list[EnginePreset]:
        return [get_preset(name) for name in (await self.engines()).presets]

    def _queries(self, signal: Signal, presets: Sequence[EnginePreset]) -> list["_Query"]:
        """One query per preset exporting the signal; an override runs once for all of them."""
        override = self._overrides.get(signal)
        if override is not None:
            additive = signal in ADDITIVE_SIGNALS
            return [_Query(tuple(presets), override, additive)]
        return [
            _Query((p,), p.templates[signal], signal in p.additive)
            for p in presets
            if signal in p.templates
        ]

    def _labels(self, query: "_Query", by_version: bool) -> list[str]:
        """The grouping labels: deployment, model label(s) and, if asked, version label(s)."""
        labels = [self._deployment_label, *(p.model_label for p in query.engines)]
        if by_version:
            labels += self._version_labels(query.engines)
        return labels

    def _version_labels(self, engines: Sequence[EnginePreset]) -> list[str]:
        own = (p.version_label for p in engines if p.version_label)
        return [self._version_label, *own]

    def _deployment(self, query: "_Query", labels: Labels) -> tuple[str, str]:
        """The row's engine and deployment: its deployment label, else its model label.

        A row with neither is put under the engine's name, so that it still shows.
        """
        matched = next((p for p in query.engines if labels.get(p.model_label)), None)
        engine = matched.name if matched else query.engine_name
        deployment = labels.get(self._deployment_label) or _model(query.engines, labels) or engine
        return engine, deployment

    def _own_version(self, query: "_Query", labels: Labels) -> str | None:
        return next((labels[v] for v in self._version_labels(query.engines) if labels.get(v)), None)

    def _key(
        self,
        query: "_Query",
        labels: Labels,
        by_version: bool,
        serving: Mapping[str, tuple[str, ...]],
    ) -> SeriesKey:
        """Version: the row's version label, else the only serving version, else its model."""
        _, deployment = self._deployment(query, labels)
        if not by_version:
            return SeriesKey(deployment)
        versions = serving.get(deployment, ())
        version = (
            self._own_version(query, labels)
            or (versions[0] if len(versions) == 1 else None)
            or _model(query.engines, labels)
        )
        return SeriesKey(deployment, version)

    def _only(self, query: "_Query", deployments: frozenset[str] | None, promql: str) -> str:
        """``promql`` keeping only the rows of ``deployments`` (by their label or model label).

        Prometheus filters, so the panels of a few deployments download and parse their own
        rows only; the rows are still checked after parsing, as the filter may keep a few more.
        """
        if deployments is None:
            return promql
        labels = dict.fromkeys([self._deployment_label, *(p.model_label for p in query.engines)])
        return " or ".join(
            f"({promql}) and on ({label}) ("
            + " or ".join(
                f"label_replace(vector(1), {_promql_string(label)}, "
                f'{_promql_string(name.replace("$", "$$"))}, "", "")'
                for name in sorted(deployments)
            )
            + ")"
            for label in labels
        )

    async def _serving(self) -> dict[str, tuple[str, ...]]:
        """Serving versions per deployment, shared by the calls of one scrape interval."""
        now = self._clock()
        cached = self._serving_answer
        if (
            cached is None
            or now - cached[0] >= self.scrape_interval_s
            or (cached[1].done() and (cached[1].cancelled() or cached[1].exception() is not None))
        ):
            task = asyncio.ensure_future(self._read_serving())
            # Every caller may have gone (cancelled) before it fails: its error is read here
            # so that asyncio does not log it as never retrieved; callers still get it.
            task.add_done_callback(_retrieved)
            cached = (now, task)
            self._serving_answer = cached
        return await asyncio.shield(cached[1])

    async def _read_serving(self) -> dict[str, tuple[str, ...]]:
        """Serving versions per deployment: the info metric's rows with value 1."""
        promql = f"max by ({self._deployment_label}, {self._version_label}) ({self._info_metric})"
        vector = await self._prom.query(promql)
        serving: dict[str, set[str]] = {}
        for labels, value in vector.rows():
            deployment = labels.get(self._deployment_label)
            version = labels.get(self._version_label)
            if deployment and version and value == 1:
                serving.setdefault(deployment, set()).add(version)
        return {d: tuple(sorted(v)) for d, v in serving.items()}


@dataclass(frozen=True)
class _Query:
    """One PromQL template and the engine presets whose labels its rows carry."""

    engines: tuple[EnginePreset, ...]
    template: str
    additive: bool

    @property
    def engine_name(self) -> str:
        return self.engines[0].name if len(self.engines) == 1 else UNKNOWN_ENGINE

    def promql(self, by: Sequence[str], window_s: float) -> str:
        return render(self.template, by, window_s)


def _retrieved(task: "asyncio.Future[Any]") -> None:
    if not task.cancelled():
        task.exception()


async def _no_versions() -> dict[str, tuple[str, ...]]:
    return {}


async def _gather(*requests: Any) -> list[Any]:
    """Run all requests to completion, then raise the first failure if any failed."""
    results = await asyncio.gather(*requests, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)


def _model(engines: Sequence[EnginePreset], labels: Labels) -> str | None:
    return next((labels[p.model_label] for p in engines if labels.get(p.model_label)), None)


def _merge_into(
    merged: dict[SeriesKey, FloatArray], key: SeriesKey, values: FloatArray, additive: bool
) -> None:
    """Rows of one key are summed (additive signals) or the larger taken; NaN only if all are."""
    previous = merged.get(key)
    if previous is None:
        merged[key] = values
    elif additive:
        total = np.nansum(np.stack([previous, values]), axis=0)
        merged[key] = np.where(np.isnan(previous) & np.isnan(values), np.nan, total)
    else:
        merged[key] = np.fmax(previous, values)


def _flag(condition: Any) -> FloatArray:
    """1 where the condition holds, NaN elsewhere (the shape of a version history)."""
    return np.where(condition, 1.0, np.nan)


def _check_points(plan: RangePlan) -> None:
    """BadQuery for a plan Prometheus would refuse (over 11,000 points per series)."""
    if plan.points > MAX_POINTS_PER_SERIES:
        raise BadQuery(
            f"{plan.points} points per series exceed Prometheus's maximum of "
            f"{MAX_POINTS_PER_SERIES}; use a longer step"
        )


def _bound(le: str | None, metric: str) -> float:
    """A bucket's upper bound from its ``le`` label ("+Inf" included)."""
    try:
        return float(le or "")
    except ValueError:
        raise MalformedResponse(f"{metric}_bucket: le={le!r} is not a bucket bound") from None


def _promql_string(value: str) -> str:
    """A PromQL string literal: JSON escaping is a subset of what PromQL accepts."""
    return json.dumps(value)


def on_grid(series: RangeSeries, plan: RangePlan, size: int) -> FloatArray:
    """The series' values at the plan's steps; steps without a sample are NaN."""
    values = np.full(size, np.nan)
    position = (series.timestamps - plan.start) / plan.step
    inside = (position > -0.5) & (position < size - 0.5)
    values[np.rint(position[inside]).astype(np.int64)] = series.values[inside]
    return values


def _number(value: float) -> str:
    """A timestamp or step as Prometheus reads it, to the millisecond."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _selection(
    matchers: Sequence[str], start: float | None = None, end: float | None = None
) -> dict[str, str | Sequence[str]]:
    params: dict[str, str | Sequence[str]] = {}
    if matchers:
        params["match[]"] = list(matchers)
    if start is not None:
        params["start"] = _number(start)
    if end is not None:
        params["end"] = _number(end)
    return params


def parse_matrix_answer(body: bytes, where: str) -> list[RangeSeries]:
    """A query_range answer body as series of numpy arrays (runs in a worker when large)."""
    data = _unwrap(json.loads(body), where)
    result_type, result = _result(data, where)
    if result_type != "matrix":
        raise MalformedResponse(f"{where}: expected a matrix result, got {result_type!r}")
    if not isinstance(result, list):
        raise MalformedResponse(f"{where}: 'result' is not a list")
    return [_parse_range_series(item, f"{where}: result[{i}]") for i, item in enumerate(result)]


def _unwrap(payload: Any, where: str) -> Any:
    """The data of a {"status": "success", "data": ...} envelope; errors as BackendError."""
    if not isinstance(payload, dict):
        raise MalformedResponse(f"{where}: expected a JSON object, got {_kind(payload)}")
    status = payload.get("status")
    if status == "success":
        if "data" not in payload:
            raise MalformedResponse(f"{where}: 'status' is success but there is no 'data'")
        return payload["data"]
    if status == "error":
        error_type = str(payload.get("errorType") or "")
        error = str(payload.get("error") or "no details")
        kind = f" ({error_type})" if error_type else ""
        if error_type in _QUERY_ERROR_TYPES or error_type.startswith("4"):
            raise BadQuery(f"{where} rejected the query{kind}: {error}")
        raise ServerError(f"{where} answered an error{kind}: {error}")
    raise MalformedResponse(f"{where}: 'status' is {status!r}, not 'success' or 'error'")


def _result(data: Any, where: str) -> tuple[str, Any]:
    if not isinstance(data, dict):
        raise MalformedResponse(f"{where}: 'data' is not an object")
    result_type = data.get("resultType")
    if result_type not in ("vector", "matrix", "scalar", "string"):
        raise MalformedResponse(f"{where}: unknown resultType {result_type!r}")
    if "result" not in data:
        raise MalformedResponse(f"{where}: 'data' has no 'result'")
    return result_type, data["result"]


def _parse_vector(result: Any, where: str) -> InstantVector:
    if not isinstance(result, list):
        raise MalformedResponse(f"{where}: 'result' is not a list")
    labels: list[Labels] = []
    samples: list[Any] = []
    for i, item in enumerate(result):
        if not isinstance(item, dict) or "value" not in item:
            raise MalformedResponse(f"{where}: result[{i}] is not an object with a 'value'")
        labels.append(_labels(item.get("metric", {}), f"{where}: result[{i}].metric"))
        samples.append(item["value"])
    timestamps, values = _samples(samples, f"{where}: result values")
    return InstantVector(tuple(labels), timestamps, values)


def _parse_range_series(item: Any, where: str) -> RangeSeries:
    if not isinstance(item, dict) or not isinstance(item.get("values"), list):
        raise MalformedResponse(f"{where} is not an object with a list of 'values'")
    timestamps, values = _samples(item["values"], f"{where}.values")
    return RangeSeries(_labels(item.get("metric", {}), f"{where}.metric"), timestamps, values)


def _samples(pairs: list[Any], where: str) -> tuple[FloatArray, FloatArray]:
    """[[timestamp, "value"], ...] as two float64 arrays ("NaN", "+Inf" and "-Inf" kept)."""
    try:
        # One flat list, sliced: several times faster than a generator per sample, and the
        # answers of 50 live panels are mostly samples.
        flat = list(chain.from_iterable(pairs))
        if len(flat) != 2 * len(pairs):
            raise ValueError("a pair does not hold two items")
        samples = flat[1::2]
        if None in samples:  # numpy would read null as NaN ("no data") without a word
            raise ValueError("a value is null")
        timestamps = np.array(flat[0::2], dtype=np.float64)
        values = np.array(samples, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MalformedResponse(f'{where}: not [timestamp, "value"] pairs ({exc})') from None
    if timestamps.ndim != 1 or values.ndim != 1:
        raise MalformedResponse(f'{where}: not [timestamp, "value"] pairs')
    if not np.isfinite(timestamps).all():
        raise MalformedResponse(f"{where}: a timestamp is not a finite number")
    return timestamps, values


def _labels(metric: Any, where: str) -> Labels:
    if not isinstance(metric, dict) or not all(isinstance(v, str) for v in metric.values()):
        raise MalformedResponse(f"{where} is not an object of label names to strings")
    return {str(k): v for k, v in metric.items()}


def _strings(data: Any, where: str) -> list[str]:
    if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
        raise MalformedResponse(f"{where}: 'data' is not a list of strings")
    return data


def _metadata(entries: Any, where: str) -> tuple[MetricMetadata, ...]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise MalformedResponse(f"{where} is not a list of objects")
    return tuple(
        MetricMetadata(str(e.get("type", "")), str(e.get("help", "")), str(e.get("unit", "")))
        for e in entries
    )


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
