"""The embedded DEMO environment: a seeded, deterministic simulation of a small model fleet.

It answers the MetricsBackend protocol from a model of each deployment instead of PromQL,
so every screen works with nothing installed. A figure is a pure function of the seed, the
deployment, the version, the signal, the timestamp's 15-second bucket and the serving
timeline, so an instant value and a range sample at the same time agree.

The story: ``support-chat`` moved to the bad version ``v42`` 40 minutes before the demo
started (slower, more errors, and answer lengths spread far wider: short refusals and long
rambles, which the output-length drift shows); ``set_serving`` records a later change (a
rollback) and the figures follow once the rate window has passed.

Latency quantiles come from one log-normal spread per version; running requests follow
Little's law (request rate times mean latency); requests queue as the KV cache fills, so
the overloaded ``v42`` has far more of them waiting.
"""

import bisect
import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from console import __version__
from console.backends.errors import BadQuery
from console.backends.presets import ADDITIVE_SIGNALS, get_preset
from console.backends.protocol import BuildInfo, EngineChoice
from console.domain.fleet import DeploymentInfo
from console.domain.histograms import HistogramSeries
from console.domain.series import FloatArray, Series, SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import MAX_POINTS_PER_SERIES, RangePlan

NOISE_BUCKET_S = 15.0
"""Noise changes once per scrape interval, like a real scraped series."""
BAD_ROLLOUT_AGO_S = 40 * 60.0
"""How long before the demo started ``support-chat`` moved to its bad version."""
CANARY_AGO_S = 2 * 3600.0
"""How long before the demo started ``doc-qa`` began its canary."""

_DAY_S = 86_400.0
_SWELL_S = 2_820.0  # a 47-minute swell, so that one-hour charts are not flat
_DAILY_AMPLITUDE = 0.25
_SWELL_AMPLITUDE = 0.05
_LATENCY_PER_LOAD = 0.4  # relative latency increase per unit of relative load increase
_NOISE_AMPLITUDE = {
    Signal.REQUEST_RATE: 0.03,
    Signal.ERROR_RATIO: 0.10,
    Signal.P95_LATENCY: 0.05,
    Signal.P95_TTFT: 0.05,
    Signal.P95_ITL: 0.05,
    Signal.RUNNING_REQUESTS: 0.05,
    Signal.KV_CACHE_USAGE: 0.02,
    Signal.INPUT_TOKENS_PER_S: 0.04,
    Signal.OUTPUT_TOKENS_PER_S: 0.04,
}

_TOKEN_BOUNDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, math.inf)
_HISTOGRAM_BOUNDS: Mapping[str, tuple[float, ...]] = {
    "output_tokens": _TOKEN_BOUNDS,
    "prompt_tokens": _TOKEN_BOUNDS,
    "latency": (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, math.inf),
    "ttft": (0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, math.inf),
}
"""Bucket bounds of the simulated histograms (vLLM's, abridged)."""
_LATENCY_SPREAD = 0.5
"""Log-normal sigma of latency and TTFT: the p95 is exp(1.645 sigma) times the median."""
_PROMPT_TOKENS_MEDIAN = 600.0
_PROMPT_TOKENS_SPREAD = 0.7
_HISTOGRAM_NOISE = 0.02
"""Relative per-bucket noise, like the sampling noise of a real window's counts."""
_Z95 = 1.6448536269514722
_Z = {
    Signal.P50_LATENCY: 0.0,
    Signal.P95_LATENCY: _Z95,
    Signal.P99_LATENCY: 2.3263478740408408,
}
"""Standard normal quantiles: a log-normal's quantile q is its median times exp(z_q sigma)."""
_MAX_KV_CACHE_USAGE = 0.97
_WAITING_PER_RUNNING = 0.1
"""Waiting requests per running one, times the M/M/1 queue length u²/(1-u) at KV-cache
usage u: next to nothing at half usage, a long queue as the cache fills."""

_U64 = npt.NDArray[np.uint64]
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True)
class ServingChange:
    """From ``at`` (Unix seconds) on, a deployment's traffic goes to these version shares."""

    at: float
    shares: Mapping[str, float]


@dataclass(frozen=True)
class _VersionModel:
    """Typical figures of one model version at average load (NaN: not meaningful)."""

    p95_latency_s: float
    error_ratio: float
    p95_ttft_s: float = math.nan
    p95_itl_s: float = math.nan
    kv_cache_usage: float = 0.4
    """The KV cache's (or batch slots') busy share at average load."""
    output_tokens_per_request: float = math.nan
    output_tokens_spread: float = 0.5
    """Log-normal sigma of the output length (its mean is ``output_tokens_per_request``)."""


@dataclass(frozen=True)
class _DeploymentModel:
    """One simulated deployment; ``baseline`` serves before its first timeline entry."""

    name: str
    engine: str
    requests_per_s: float
    versions: Mapping[str, _VersionModel]
    baseline: Mapping[str, float]


_FLEET = (
    _DeploymentModel(
        "support-chat",
        "vllm",
        22.0,
        {
            "v41": _VersionModel(
                1.2,
                0.003,
                p95_ttft_s=0.25,
                p95_itl_s=0.035,
                kv_cache_usage=0.45,
                output_tokens_per_request=180.0,
            ),
            "v42": _VersionModel(
                6.5,
                0.07,
                p95_ttft_s=1.4,
                p95_itl_s=0.11,
                kv_cache_usage=0.86,
                output_tokens_per_request=140.0,
                output_tokens_spread=1.2,
            ),
        },
        {"v41": 1.0},
    ),
    _DeploymentModel(
        "doc-qa",
        "vllm",
        9.0,
        {
            "v7": _VersionModel(
                1.4,
                0.004,
                p95_ttft_s=0.30,
                p95_itl_s=0.030,
                kv_cache_usage=0.5,
                output_tokens_per_request=320.0,
            ),
            "v8": _VersionModel(
                1.3,
                0.003,
                p95_ttft_s=0.28,
                p95_itl_s=0.028,
                kv_cache_usage=0.48,
                output_tokens_per_request=330.0,
            ),
        },
        {"v7": 1.0},
    ),
    _DeploymentModel(
        "code-assist",
        "tgi",
        14.0,
        {
            "v3": _VersionModel(
                1.5, 0.002, p95_itl_s=0.04, kv_cache_usage=0.55, output_tokens_per_request=220.0
            )
        },
        {"v3": 1.0},
    ),
    _DeploymentModel(
        "fraud-scorer",
        "triton",
        40.0,
        {"2": _VersionModel(0.045, 0.0005, kv_cache_usage=0.3)},
        {"2": 1.0},
    ),
    _DeploymentModel(
        "search-rerank",
        "otel",
        6.0,
        {
            "v2": _VersionModel(
                3.2, 0.004, p95_ttft_s=0.2, p95_itl_s=0.05, output_tokens_per_request=60.0
            )
        },
        {"v2": 1.0},
    ),
)
_NOT_SIMULATED: Mapping[str, frozenset[Signal]] = {
    # The fraud scorer does not stream, so Triton has no first-response histogram for it.
    "triton": frozenset({Signal.P95_TTFT}),
}
_ENGINE_SIGNALS: Mapping[str, frozenset[Signal]] = {
    engine: frozenset(get_preset(engine).templates) - _NOT_SIMULATED.get(engine, frozenset())
    for engine in dict.fromkeys(model.engine for model in _FLEET)
}
"""What each engine exports (its preset's signals); a signal it lacks gives no entry."""


class DemoBackend:
    """The simulated fleet behind the DEMO profile; implements MetricsBackend."""

    name = "demo"
    scrape_interval_s = 15.0

    def __init__(
        self,
        *,
        seed: int = 7,
        clock: Callable[[], float] = time.time,
        started_at: float | None = None,
    ) -> None:
        self._seed = seed
        self._clock = clock
        start = clock() if started_at is None else started_at
        self._models = {model.name: model for model in _FLEET}
        self._timelines: dict[str, tuple[ServingChange, ...]] = {model.name: () for model in _FLEET}
        self.set_serving("support-chat", {"v42": 1.0}, at=start - BAD_ROLLOUT_AGO_S)
        self.set_serving("doc-qa", {"v7": 0.9, "v8": 0.1}, at=start - CANARY_AGO_S)

    # The seam for guarded actions (rollback, traffic shift).

    def set_serving(
        self, deployment: str, shares: Mapping[str, float], at: float | None = None
    ) -> ServingChange:
        """Record that from ``at`` (default now) the deployment serves ``shares`` of traffic.

        Shares must name known versions and add up to 1. Raises ValueError otherwise.
        """
        model = self._model(deployment)
        when = self._clock() if at is None else float(at)
        if not math.isfinite(when):
            raise ValueError(f"serving change of {deployment!r}: time {when} is not finite")
        unknown = sorted(set(shares) - set(model.versions))
        if unknown:
            raise ValueError(
                f"{deployment!r} has no version {unknown[0]!r} (known: {', '.join(model.versions)})"
            )
        if any(not (math.isfinite(s) and s >= 0) for s in shares.values()):
            raise ValueError(
                f"serving change of {deployment!r}: shares {dict(shares)} must be >= 0"
            )
        if not math.isclose(sum(shares.values()), 1.0, abs_tol=1e-6):
            raise ValueError(
                f"serving change of {deployment!r}: shares {dict(shares)} do not add up to 1"
            )
        change = ServingChange(
            at=when, shares=MappingProxyType({v: s for v, s in shares.items() if s > 0})
        )
        timeline = list(self._timelines[deployment])
        bisect.insort_right(timeline, change, key=lambda c: c.at)
        self._timelines[deployment] = tuple(timeline)
        return change

    def known_versions(self, deployment: str) -> tuple[str, ...]:
        """Every version the simulation has for ``deployment``, oldest first; ValueError."""
        return tuple(self._model(deployment).versions)

    def timeline(self, deployment: str) -> tuple[ServingChange, ...]:
        """The recorded serving changes of a deployment, oldest first."""
        return self._timelines[self._model(deployment).name]

    def serving(self, deployment: str, at: float | None = None) -> dict[str, float]:
        """The version shares in force at ``at`` (default now)."""
        model = self._model(deployment)
        when = self._clock() if at is None else at
        current = model.baseline
        for change in self._timelines[deployment]:
            if change.at > when:
                break
            current = change.shares
        return dict(current)

    # MetricsBackend

    async def build_info(self) -> BuildInfo:
        """The demo names itself, so no view can mistake it for a real backend."""
        return BuildInfo(product="DEMO simulation", version=__version__)

    async def engines(self) -> EngineChoice:
        """Every engine the simulated fleet runs on."""
        return EngineChoice(
            presets=tuple(dict.fromkeys(model.engine for model in _FLEET)),
            reason=f"DEMO: simulated fleet, seed {self._seed} — not real data",
        )

    async def inventory(self) -> list[DeploymentInfo]:
        """Deployments with the versions serving now."""
        now = self._clock()
        return [
            DeploymentInfo(
                deployment=model.name,
                engine=model.engine,
                versions=tuple(self.serving(model.name, now)),
            )
            for model in _FLEET
        ]

    async def instant(
        self, signal: Signal, window_s: float, *, by_version: bool = False
    ) -> dict[SeriesKey, float | None]:
        """The signal now over the rate window, per deployment (and version if asked)."""
        _check_window(window_s)
        ts = np.array([self._clock()], dtype=np.float64)
        return {
            key: float(values[0])
            for model in self._exporting(signal, None)
            for key, values in self._evaluate(model, signal, ts, window_s, by_version).items()
        }

    async def range(
        self,
        signal: Signal,
        plan: RangePlan,
        window_s: float,
        *,
        by_version: bool = False,
        deployment: str | None = None,
    ) -> dict[SeriesKey, Series]:
        """The signal over the plan; NaN where a version did not serve and after now."""
        _check_window(window_s)
        _check_plan(plan)
        now = self._clock()
        ts = plan.timestamps()
        past = ts <= now
        result: dict[SeriesKey, Series] = {}
        for model in self._exporting(signal, deployment):
            for key, values in self._evaluate(model, signal, ts, window_s, by_version).items():
                values = np.where(past, values, np.nan)
                if np.isfinite(values).any():
                    result[key] = Series(key, ts, values)
        return result

    async def histogram_range(
        self,
        histogram: str,
        plan: RangePlan,
        window_s: float,
        *,
        deployment: str,
        by_version: bool = False,
    ) -> dict[SeriesKey, HistogramSeries]:
        """Bucket counts over the window at each step; NaN rows where nothing served."""
        _check_window(window_s)
        _check_plan(plan)
        model = self._models.get(deployment)
        name = _histogram_name(model.engine, histogram) if model else None
        if model is None or name is None:
            return {}
        ts = plan.timestamps()
        bounds = np.array(_HISTOGRAM_BOUNDS[name], dtype=np.float64)
        per_version = self._histogram_counts(model, name, bounds, ts, window_s)
        per_version = {
            v: np.where((ts <= self._clock())[:, None], c, np.nan) for v, c in per_version.items()
        }
        if not by_version:
            if not per_version:
                return {}
            stacked = np.stack(list(per_version.values()))
            total = np.where(np.isnan(stacked).all(axis=0), np.nan, np.nansum(stacked, axis=0))
            per_version = {"": total}
        return {
            SeriesKey(deployment, version or None): HistogramSeries(bounds, ts.copy(), counts)
            for version, counts in per_version.items()
            if np.isfinite(counts).any()
        }

    async def version_history(self, plan: RangePlan, *, deployment: str) -> dict[str, Series]:
        """Per version, 1 where the timeline gives it a share of the traffic, NaN otherwise.

        Steps after now are NaN; an unknown deployment has no versions.
        """
        _check_plan(plan)
        model = self._models.get(deployment)
        if model is None:
            return {}
        ts = plan.timestamps()
        past = ts <= self._clock()
        history: dict[str, Series] = {}
        for version, share in sorted(self._shares_at(model, ts).items()):
            flags = np.where((share > 0) & past, 1.0, np.nan)
            if np.isfinite(flags).any():
                history[version] = Series(SeriesKey(deployment, version), ts.copy(), flags)
        return history

    async def aclose(self) -> None:
        """Nothing to release: the simulation holds no connection."""

    # The simulation

    def _model(self, deployment: str) -> _DeploymentModel:
        try:
            return self._models[deployment]
        except KeyError:
            raise ValueError(
                f"unknown DEMO deployment {deployment!r} (known: {', '.join(self._models)})"
            ) from None

    def _exporting(self, signal: Signal, deployment: str | None) -> list[_DeploymentModel]:
        return [
            model
            for model in _FLEET
            if signal in _ENGINE_SIGNALS[model.engine]
            and (deployment is None or model.name == deployment)
        ]

    def _evaluate(
        self,
        model: _DeploymentModel,
        signal: Signal,
        ts: FloatArray,
        window_s: float,
        by_version: bool,
    ) -> dict[SeriesKey, FloatArray]:
        """Values at ``ts``: per version that served during the window, or aggregated."""
        # The router splits traffic by exact weights: every version shares the deployment's
        # request-rate jitter, so a 90/10 canary shows as 90/10.
        load = self._load(model, ts) * self._jitter(model, "", Signal.REQUEST_RATE, ts)
        rates: dict[str, FloatArray] = {}
        values: dict[str, FloatArray] = {}
        for version, share in self._window_shares(model, ts, window_s).items():
            if not np.any(share > 0):
                continue
            rate = model.requests_per_s * load * share
            rates[version] = rate
            values[version] = self._figure(model, version, signal, ts, load, rate)
        if by_version:
            return {
                SeriesKey(model.name, version): np.where(rates[version] > 0, value, np.nan)
                for version, value in values.items()
            }
        if signal in ADDITIVE_SIGNALS:
            total = np.sum(list(values.values()), axis=0)
        elif signal is Signal.KV_CACHE_USAGE:
            # Versions run on their own replicas: the fullest cache is the deployment's.
            serving = [np.where(rates[v] > 0, values[v], np.nan) for v in values]
            total = np.fmax.reduce(serving)
        else:
            weighted = np.sum([rates[v] * values[v] for v in values], axis=0)
            total = weighted / np.sum(list(rates.values()), axis=0)
        return {SeriesKey(model.name): np.asarray(total, dtype=np.float64)}

    def _figure(
        self,
        model: _DeploymentModel,
        version: str,
        signal: Signal,
        ts: FloatArray,
        load: FloatArray,
        rate: FloatArray,
    ) -> FloatArray:
        """One version's value of ``signal``; ``rate`` is its request rate."""
        if signal is Signal.REQUEST_RATE:
            return rate
        profile = model.versions[version]
        slowdown = 1.0 + _LATENCY_PER_LOAD * (load - 1.0)

        def noisy(figure: FloatArray | float, noise_of: Signal = signal) -> FloatArray:
            return figure * self._jitter(model, version, noise_of, ts)

        match signal:
            case Signal.ERROR_RATIO:
                return noisy(profile.error_ratio)
            case Signal.P50_LATENCY | Signal.P95_LATENCY | Signal.P99_LATENCY:
                # One distribution: its quantiles share the p95's noise and never cross.
                quantile = _median(profile.p95_latency_s) * math.exp(_Z[signal] * _LATENCY_SPREAD)
                return noisy(quantile * slowdown, Signal.P95_LATENCY)
            case Signal.P95_TTFT:
                return noisy(profile.p95_ttft_s * slowdown)
            case Signal.P95_ITL:
                return noisy(profile.p95_itl_s * slowdown)
            case Signal.RUNNING_REQUESTS | Signal.WAITING_REQUESTS:
                mean_latency = _median(profile.p95_latency_s) * math.exp(_LATENCY_SPREAD**2 / 2)
                running = noisy(rate * mean_latency * slowdown, Signal.RUNNING_REQUESTS)
                if signal is Signal.RUNNING_REQUESTS:
                    return running
                usage = self._kv_cache_usage(model, version, ts, load)
                return _WAITING_PER_RUNNING * running * usage**2 / (1.0 - usage)
            case Signal.KV_CACHE_USAGE:
                return self._kv_cache_usage(model, version, ts, load)
            case Signal.INPUT_TOKENS_PER_S:
                median, spread = _histogram_shape(profile, "prompt_tokens")
                return noisy(rate * median * math.exp(spread**2 / 2))
            case Signal.OUTPUT_TOKENS_PER_S:
                return noisy(rate * profile.output_tokens_per_request)

    def _kv_cache_usage(
        self, model: _DeploymentModel, version: str, ts: FloatArray, load: FloatArray
    ) -> FloatArray:
        """The version's KV-cache usage: its usage at average load, scaled by the load."""
        usage = model.versions[version].kv_cache_usage * load
        jitter = self._jitter(model, version, Signal.KV_CACHE_USAGE, ts)
        return np.minimum(usage * jitter, _MAX_KV_CACHE_USAGE)

    def _histogram_counts(
        self,
        model: _DeploymentModel,
        name: str,
        bounds: FloatArray,
        ts: FloatArray,
        window_s: float,
    ) -> dict[str, FloatArray]:
        """Per version, the requests of each window ending at ``ts`` spread over the buckets."""
        load = self._load(model, ts) * self._jitter(model, "", Signal.REQUEST_RATE, ts)
        slowdown = 1.0 + _LATENCY_PER_LOAD * (load - 1.0)
        counts: dict[str, FloatArray] = {}
        for version, share in self._window_shares(model, ts, window_s).items():
            median, spread = _histogram_shape(model.versions[version], name)
            if not (np.any(share > 0) and math.isfinite(median)):
                continue
            scale = slowdown if name in ("latency", "ttft") else np.ones_like(ts)
            shares = _lognormal_shares(bounds, median * scale, spread)
            noise = 1.0 + _HISTOGRAM_NOISE * np.stack(
                [
                    _bucket_noise(_hash64(self._seed, model.name, version, name, str(i)), ts)
                    for i in range(bounds.size)
                ],
                axis=1,
            )
            requests = model.requests_per_s * load * share * window_s
            window = requests[:, None] * shares * noise
            counts[version] = np.where((share > 0)[:, None], window, np.nan)
        return counts

    def _segments(self, model: _DeploymentModel) -> list[tuple[float, float, Mapping[str, float]]]:
        """The serving timeline as (start, end, shares) spans from -inf to +inf."""
        changes = self._timelines[model.name]
        starts = [-math.inf, *(c.at for c in changes)]
        ends = [*(c.at for c in changes), math.inf]
        segments = [model.baseline, *(c.shares for c in changes)]
        return list(zip(starts, ends, segments, strict=True))

    def _shares_at(self, model: _DeploymentModel, ts: FloatArray) -> dict[str, FloatArray]:
        """Each version's traffic share in force at each of ``ts``."""
        shares: dict[str, FloatArray] = {}
        for start, end, segment in self._segments(model):
            inside = (ts >= start) & (ts < end)
            for version, share in segment.items():
                shares[version] = shares.get(version, np.zeros_like(ts)) + share * inside
        return shares

    def _window_shares(
        self, model: _DeploymentModel, ts: FloatArray, window_s: float
    ) -> dict[str, FloatArray]:
        """Each version's traffic share averaged over the rate window ending at each of ``ts``."""
        window_start = ts - window_s
        shares: dict[str, FloatArray] = {}
        for start, end, segment in self._segments(model):
            overlap = np.minimum(ts, end) - np.maximum(window_start, start)
            fraction = np.maximum(overlap, 0.0) / window_s
            for version, share in segment.items():
                shares[version] = shares.get(version, np.zeros_like(ts)) + share * fraction
        return shares

    def _load(self, model: _DeploymentModel, ts: FloatArray) -> FloatArray:
        """Relative load around 1: a daily cycle and a slower swell, phased per deployment."""
        phase = 2 * math.pi * _hash64(self._seed, model.name, "phase") / 2.0**64
        daily = _DAILY_AMPLITUDE * np.sin(2 * np.pi * ts / _DAY_S + phase)
        swell = _SWELL_AMPLITUDE * np.sin(2 * np.pi * ts / _SWELL_S + 3 * phase)
        return 1.0 + daily + swell

    def _jitter(
        self, model: _DeploymentModel, version: str, signal: Signal, ts: FloatArray
    ) -> FloatArray:
        """A factor around 1, fixed per 15-second bucket for this deployment, version, signal."""
        key = _hash64(self._seed, model.name, version, signal.value)
        return 1.0 + _NOISE_AMPLITUDE[signal] * _bucket_noise(key, ts)


def output_length_shape(deployment: str, version: str) -> tuple[float, float]:
    """Median and log-normal sigma of a DEMO version's answer length (tokens).

    The single source for the output-token histograms here and the output samples in
    console/backends/demo_outputs.py, so that both tell the same story.
    """
    model = next((m for m in _FLEET if m.name == deployment), None)
    if model is None or version not in model.versions:
        raise ValueError(f"unknown DEMO deployment version {deployment!r} {version!r}")
    return _histogram_shape(model.versions[version], "output_tokens")


def _check_plan(plan: RangePlan) -> None:
    if not (math.isfinite(plan.step) and plan.step > 0):
        raise BadQuery(f"DEMO: range step must be positive, got {plan.step}")
    if plan.points > MAX_POINTS_PER_SERIES:
        raise BadQuery(
            f"DEMO: {plan.points} points per series exceed the maximum of {MAX_POINTS_PER_SERIES}"
        )


def _histogram_name(engine: str, histogram: str) -> str | None:
    """The preset histogram name ``histogram`` stands for on this engine, if it exports it."""
    metrics = get_preset(engine).histograms
    if histogram in metrics:
        return histogram
    metric = histogram.removesuffix("_bucket")
    return next((name for name, m in metrics.items() if m.name == metric), None)


def _median(p95_s: float) -> float:
    """The median of a latency at average load, from its p95 and the log-normal spread."""
    return p95_s / math.exp(_Z95 * _LATENCY_SPREAD)


def _histogram_shape(profile: _VersionModel, name: str) -> tuple[float, float]:
    """Median and log-normal sigma of a version's histogram at average load (NaN: none)."""
    if name == "output_tokens":
        spread = profile.output_tokens_spread
        return profile.output_tokens_per_request / math.exp(spread**2 / 2), spread
    if name == "prompt_tokens":
        exported = math.isfinite(profile.output_tokens_per_request)
        return (_PROMPT_TOKENS_MEDIAN if exported else math.nan), _PROMPT_TOKENS_SPREAD
    p95 = profile.p95_latency_s if name == "latency" else profile.p95_ttft_s
    return _median(p95), _LATENCY_SPREAD


def _lognormal_shares(bounds: FloatArray, median: FloatArray, spread: float) -> FloatArray:
    """Each bucket's share of a log-normal distribution (t x n for t medians)."""
    z = (np.log(bounds)[None, :] - np.log(median)[:, None]) / (spread * math.sqrt(2.0))
    cdf = 0.5 * (1.0 + np.vectorize(math.erf, otypes=[np.float64])(z))
    return np.diff(cdf, axis=1, prepend=0.0)


def _check_window(window_s: float) -> None:
    if not (math.isfinite(window_s) and window_s > 0):
        raise BadQuery(f"DEMO: rate window must be positive, got {window_s}")


def _hash64(seed: int, *parts: str) -> int:
    """A stable 64-bit key (Python's hash() is salted per process)."""
    text = "\x1f".join((str(seed), *parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _bucket_noise(key: int, ts: FloatArray) -> FloatArray:
    """Uniform noise in [-1, 1) per 15-second bucket of ``ts``: splitmix64 of key and bucket."""
    buckets = np.floor(ts / NOISE_BUCKET_S).astype(np.int64).astype(np.uint64)
    z: _U64 = buckets * _GOLDEN + np.uint64(key)
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-52 - 1.0
