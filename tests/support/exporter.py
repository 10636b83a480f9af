"""A loopback exporter of vLLM-style metrics whose rates and quantiles are known exactly.

Every counter grows at a constant rate between changes, so ``rate()`` over any window
inside such a stretch gives the configured figure and ``histogram_quantile(0.95, …)``
gives the configured p95; gauges hold their configured value. Counters start at
``started_at`` (which may lie in the past, see ``history_s``). Series carry the labels
``deployment``, ``model_name`` and ``version``; a deployment may serve several versions at
once with traffic shares, and ``set_versions`` changes them at runtime (the counters of a
version that stops serving freeze, its gauges drop to 0). ``model_info{deployment,
version}`` is 1 for a serving version and 0 for one that stopped. A deployment with a
``DriftSpec`` also exports a histogram whose bucket shares switch from one known
distribution to another at a known time, for drift tests.

Used by the integration tests and by ``benchmarks/``.
"""

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LATENCY_BUCKETS_S = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0)
"""Upper bounds of vLLM's ``vllm:e2e_request_latency_seconds`` buckets (abridged)."""
TTFT_BUCKETS_S = (0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds of vLLM's ``vllm:time_to_first_token_seconds`` buckets (abridged)."""
ITL_BUCKETS_S = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
"""Upper bounds of vLLM's ``vllm:inter_token_latency_seconds`` buckets (abridged)."""
API_HANDLER = "/v1/chat/completions"
"""The handler label of API traffic (``http_requests_total``)."""
OTHER_HANDLER_RATE_FACTOR = 3.0
"""Health-check traffic, per request/s of API traffic, that an error ratio must ignore."""

Labels = tuple[tuple[str, str], ...]
Segments = tuple[tuple[float, float], ...]
"""(seconds after the start, growth per second; for a gauge its value) from then on."""


@dataclass(frozen=True)
class DriftSpec:
    """A histogram whose observations move from shares ``before`` to ``after`` at a time.

    ``bounds`` are the finite upper bounds; ``before`` and ``after`` give each bucket's share
    of observations (one more than the bounds, for +Inf; each sums to 1). Observations arrive
    at the deployment's request rate; the switch happens ``change_after_s`` after the
    exporter's start (which ``history_s`` may put in the past).
    """

    bounds: Sequence[float]
    before: Sequence[float]
    after: Sequence[float]
    change_after_s: float
    metric: str = "vllm:request_generation_tokens"

    def __post_init__(self) -> None:
        for shares in (self.before, self.after):
            if len(shares) != len(self.bounds) + 1 or not math.isclose(sum(shares), 1.0):
                raise ValueError(f"drift shares {shares} need one per bucket (and +Inf), sum 1")

    def cumulative(self, shares: Sequence[float]) -> list[float]:
        """The cumulative share at each bound, then 1 for +Inf."""
        running = [sum(shares[: i + 1]) for i in range(len(self.bounds))]
        return [*running, 1.0]


@dataclass(frozen=True)
class DeploymentSpec:
    """One model deployment and the figures its metrics must produce.

    ``versions`` maps each serving version to its share of the traffic (shares sum to 1).
    Rates, tokens and running/waiting requests are the deployment's totals, split between
    versions by share; the KV-cache usage and the latency quantiles hold for every version.
    """

    name: str
    versions: Mapping[str, float]
    request_rate: float
    error_ratio: float
    p95_latency_s: float
    p95_ttft_s: float
    output_tokens_per_s: float
    model_name: str = ""
    drift: DriftSpec | None = None
    p95_itl_s: float = 0.04
    input_tokens_per_s: float = 400.0
    running_requests: float = 3.0
    waiting_requests: float = 0.5
    kv_cache_usage: float = 0.35

    def __post_init__(self) -> None:
        if not self.versions or not math.isclose(sum(self.versions.values()), 1.0):
            raise ValueError(f"{self.name}: version shares must sum to 1, got {self.versions}")
        if any(not share >= 0 for share in self.versions.values()):
            raise ValueError(f"{self.name}: version shares must be >= 0, got {self.versions}")
        if not 0.0 <= self.error_ratio <= 1.0:
            raise ValueError(f"{self.name}: error_ratio {self.error_ratio} is not in [0, 1]")
        if not 0.0 <= self.kv_cache_usage <= 1.0:
            raise ValueError(f"{self.name}: kv_cache_usage {self.kv_cache_usage} is not in [0, 1]")
        if min(self.running_requests, self.waiting_requests, self.input_tokens_per_s) < 0:
            raise ValueError(f"{self.name}: request counts and token rates must be >= 0")
        _bucket_index(self.p95_latency_s, LATENCY_BUCKETS_S)
        _bucket_index(self.p95_ttft_s, TTFT_BUCKETS_S)
        _bucket_index(self.p95_itl_s, ITL_BUCKETS_S)

    @property
    def model(self) -> str:
        """The ``model_name`` label (defaults to ``org/<name>``)."""
        return self.model_name or f"org/{self.name}"


@dataclass(frozen=True)
class _Row:
    """One series as a deployment's figures define it from some time on."""

    family: str
    kind: str
    help: str
    sample: str
    labels: Labels
    segments: Segments


@dataclass(frozen=True)
class _Metric:
    """A metric family's name, type and help text."""

    name: str
    kind: str
    help: str

    def row(self, sample: str, labels: Labels, segments: Segments) -> _Row:
        """One series of this family."""
        return _Row(self.name, self.kind, self.help, sample, labels, segments)


_LATENCY = _Metric("vllm:e2e_request_latency_seconds", "histogram", "End-to-end latency.")
_TTFT = _Metric("vllm:time_to_first_token_seconds", "histogram", "Time to first token.")
_ITL = _Metric("vllm:inter_token_latency_seconds", "histogram", "Inter-token latency.")
_GENERATED = _Metric("vllm:generation_tokens_total", "counter", "Generated tokens.")
_PROMPT = _Metric("vllm:prompt_tokens_total", "counter", "Prefill tokens.")
_RUNNING = _Metric("vllm:num_requests_running", "gauge", "Requests running.")
_WAITING = _Metric("vllm:num_requests_waiting", "gauge", "Requests waiting.")
_KV_CACHE = _Metric("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage (1 = 100%).")
_HTTP = _Metric("http_requests_total", "counter", "HTTP requests by handler and status.")
_INFO = _Metric("model_info", "gauge", "The model version a deployment serves.")


@dataclass
class _Family:
    """One metric family of the exposition: its type and the segments of every series."""

    name: str
    kind: str
    help: str
    series: dict[tuple[str, Labels], Segments] = field(default_factory=dict)


def value_at(kind: str, segments: Segments, elapsed_s: float) -> float:
    """A sample ``elapsed_s`` after the start: a gauge's value, or a counter's integral."""
    if kind == "gauge":
        return next(value for start, value in reversed(segments) if start <= elapsed_s)
    total = 0.0
    for i, (start, rate) in enumerate(segments):
        end = segments[i + 1][0] if i + 1 < len(segments) else math.inf
        if elapsed_s <= start:
            break
        total += rate * (min(elapsed_s, end) - start)
    return total


def cumulative_fractions(p95_s: float, bounds: Sequence[float]) -> list[float]:
    """Cumulative share of requests at each bucket bound so that the p95 is ``p95_s``.

    With L < p95 <= U the bucket (L, U], w = (p95 - L) / (U - L): a share 0.95 - 0.05 w
    lies at or below L and 1 - 0.05 w at or below U, so Prometheus' linear interpolation
    inside (L, U] lands exactly on the p95. The rest lies in the next bucket.
    """
    i = _bucket_index(p95_s, bounds)
    lower = bounds[i - 1] if i > 0 else 0.0
    w = (p95_s - lower) / (bounds[i] - lower)
    fractions = []
    for j in range(len(bounds)):
        if j < i:
            fractions.append(0.95 - 0.05 * w)
        elif j == i:
            fractions.append(1.0 - 0.05 * w)
        else:
            fractions.append(1.0)
    return fractions


def _bucket_index(value: float, bounds: Sequence[float]) -> int:
    for i, bound in enumerate(bounds[:-1]):
        if value <= bound:
            return i
    raise ValueError(f"{value} s is beyond the buckets {bounds[:-1]} an exporter can place it in")


def _rows(spec: DeploymentSpec, at: float) -> Iterator[_Row]:
    """Every series of ``spec`` with its figures from ``at`` (seconds after the start) on."""
    for version, share in spec.versions.items():
        labels: Labels = (
            ("deployment", spec.name),
            ("model_name", spec.model),
            ("version", version),
        )
        rate = spec.request_rate * share
        tokens = spec.output_tokens_per_s * share
        yield from _histogram(
            _LATENCY,
            labels,
            rate,
            spec.p95_latency_s,
            LATENCY_BUCKETS_S,
            at,
        )
        yield from _histogram(
            _TTFT,
            labels,
            rate,
            spec.p95_ttft_s,
            TTFT_BUCKETS_S,
            at,
        )
        # One inter-token interval per generated token.
        yield from _histogram(
            _ITL,
            labels,
            tokens,
            spec.p95_itl_s,
            ITL_BUCKETS_S,
            at,
        )
        for metric, value in (
            (_GENERATED, tokens),
            (_PROMPT, spec.input_tokens_per_s * share),
            (_RUNNING, spec.running_requests * share),
            (_WAITING, spec.waiting_requests * share),
            (_KV_CACHE, spec.kv_cache_usage),
        ):
            yield metric.row(metric.name, labels, ((at, value),))
        for handler, method, status, http_rate in (
            (API_HANDLER, "POST", "2xx", rate * (1.0 - spec.error_ratio)),
            (API_HANDLER, "POST", "5xx", rate * spec.error_ratio),
            ("/health", "GET", "2xx", rate * OTHER_HANDLER_RATE_FACTOR),
        ):
            extra = (("handler", handler), ("method", method), ("status", status))
            yield _HTTP.row(_HTTP.name, (*labels, *extra), ((at, http_rate),))
        info_labels: Labels = (("deployment", spec.name), ("version", version))
        yield _INFO.row(_INFO.name, info_labels, ((at, 1.0),))
        if spec.drift is not None:
            yield from _drift(spec.drift, labels, rate, at)


def _histogram(
    metric: _Metric,
    labels: Labels,
    rate: float,
    p95_s: float,
    bounds: Sequence[float],
    at: float,
) -> Iterator[_Row]:
    """Buckets, sum and count of observations at ``rate`` per second whose p95 is ``p95_s``."""
    name = metric.name
    for bound, fraction in zip(bounds, cumulative_fractions(p95_s, bounds), strict=True):
        le: Labels = (("le", repr(bound)),)
        yield metric.row(f"{name}_bucket", (*labels, *le), ((at, rate * fraction),))
    yield metric.row(f"{name}_bucket", (*labels, ("le", "+Inf")), ((at, rate),))
    yield metric.row(f"{name}_sum", labels, ((at, rate * p95_s * 0.6),))
    yield metric.row(f"{name}_count", labels, ((at, rate),))


def _drift(drift: DriftSpec, labels: Labels, rate: float, at: float) -> Iterator[_Row]:
    """The drifting histogram, with its switch still scheduled if ``at`` comes before it."""

    def segments(before: float, after: float) -> Segments:
        if at < drift.change_after_s:
            return ((at, before), (drift.change_after_s, after))
        return ((at, after),)

    metric = _Metric(drift.metric, "histogram", "A drifting histogram.")

    def row(suffix: str, extra: Labels, before: float, after: float) -> _Row:
        return metric.row(drift.metric + suffix, (*labels, *extra), segments(before, after))

    les = [*(repr(float(b)) for b in drift.bounds), "+Inf"]
    before, after = drift.cumulative(drift.before), drift.cumulative(drift.after)
    for le, old, new in zip(les, before, after, strict=True):
        yield row("_bucket", (("le", le),), rate * old, rate * new)
    for suffix in ("_sum", "_count"):
        yield row(suffix, (), rate, rate)


def _render_labels(labels: Labels) -> str:
    escaped = (k + '="' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for k, v in labels)
    return "{" + ",".join(escaped) + "}"


class Exporter:
    """Serves ``/metrics`` on a free 127.0.0.1 port from a daemon thread.

    ``history_s`` backdates the start of every counter, so that ``history()`` can write the
    samples a scraper would already hold (for backfilling a fresh Prometheus).
    """

    def __init__(
        self,
        deployments: Sequence[DeploymentSpec],
        *,
        history_s: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        names = [d.name for d in deployments]
        if len(set(names)) != len(names):
            raise ValueError(f"deployment names repeat: {names}")
        self._lock = threading.Lock()
        self._specs = {spec.name: spec for spec in deployments}
        self._families: dict[str, _Family] = {}
        for spec in deployments:
            self._apply(spec, 0.0)
        self._clock = clock
        self.started_at = clock() - history_s
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def deployments(self) -> tuple[DeploymentSpec, ...]:
        """The deployments as they serve now (``set_versions`` replaces their versions)."""
        with self._lock:
            return tuple(self._specs.values())

    def set_versions(self, deployment: str, shares: Mapping[str, float]) -> float:
        """From now on, ``deployment`` serves ``shares`` of its traffic per version.

        Counters keep growing from where they are at the new rates, so that they stay
        monotonic; a version left out stops (its model_info becomes 0). Returns the time of
        the change. Raises ValueError for an unknown deployment or shares not summing to 1.
        """
        with self._lock:
            spec = self._specs.get(deployment)
            if spec is None:
                raise ValueError(
                    f"unknown deployment {deployment!r} (known: {', '.join(self._specs)})"
                )
            changed = replace(spec, versions=dict(shares))
            now = self._clock()
            self._apply(changed, max(0.0, now - self.started_at))
            self._specs[deployment] = changed
            return now

    def _apply(self, spec: DeploymentSpec, at: float) -> None:
        """Give every series of ``spec`` its figures from ``at`` on; the rest of it stops."""
        fresh: set[tuple[str, str, Labels]] = set()
        for row in _rows(spec, at):
            family = self._families.setdefault(row.family, _Family(row.family, row.kind, row.help))
            key = (row.sample, row.labels)
            fresh.add((row.family, *key))
            earlier = tuple(s for s in family.series.get(key, ()) if s[0] < at)
            family.series[key] = (*earlier, *row.segments)
        for family in self._families.values():
            for key, segments in family.series.items():
                if (family.name, *key) not in fresh and ("deployment", spec.name) in key[1]:
                    family.series[key] = (*(s for s in segments if s[0] < at), (at, 0.0))

    def _snapshot(self) -> list[tuple[_Family, list[tuple[str, Labels, Segments]]]]:
        with self._lock:
            return [
                (
                    family,
                    [(sample, labels, segs) for (sample, labels), segs in family.series.items()],
                )
                for family in self._families.values()
            ]

    @property
    def target(self) -> str:
        """``host:port`` for a scrape config."""
        if self._server is None:
            raise RuntimeError("the exporter is not running")
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The URL of the metrics page."""
        return f"http://{self.target}/metrics"

    def exposition(self) -> str:
        """The Prometheus text format of every series now."""
        families = self._snapshot()
        elapsed = max(0.0, self._clock() - self.started_at)
        lines = []
        for family, series in families:
            lines.append(f"# HELP {family.name} {family.help}")
            lines.append(f"# TYPE {family.name} {family.kind}")
            for sample, labels, segments in series:
                if segments[0][0] <= elapsed:
                    value = value_at(family.kind, segments, elapsed)
                    lines.append(f"{sample}{_render_labels(labels)} {value!r}")
        return "\n".join(lines) + "\n"

    def history(self, until: float, step_s: float, extra_labels: Labels) -> Iterator[str]:
        """OpenMetrics lines (ending with ``# EOF``), one sample every ``step_s`` from the start.

        ``extra_labels`` are the labels the scraper adds (``job``, ``instance``), so that
        backfilled and scraped samples form the same series.
        """
        count = int((until - self.started_at) // step_s)
        for family, series in self._snapshot():
            for sample, labels, segments in series:
                rendered = _render_labels((*labels, *extra_labels))
                for k in range(1, count + 1):
                    if segments[0][0] <= k * step_s:
                        value = value_at(family.kind, segments, k * step_s)
                        yield f"{sample}{rendered} {value!r} {self.started_at + k * step_s:.3f}\n"
        yield "# EOF\n"

    def start(self) -> "Exporter":
        """Bind a free loopback port and serve in a daemon thread."""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = exporter.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # one line per scrape would drown the test output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="exporter", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> "Exporter":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def synthetic_fleet(count: int) -> list[DeploymentSpec]:
    """``count`` healthy deployments with distinct figures; every third runs a 90/10 canary."""
    return [
        DeploymentSpec(
            name=f"model-{i:02d}",
            versions={f"v{i}": 0.9, f"v{i + 1}": 0.1} if i % 3 == 0 else {f"v{i}": 1.0},
            request_rate=1.0 + i,
            error_ratio=0.001 * (i % 5),
            p95_latency_s=0.8 + 0.05 * i,
            p95_ttft_s=0.1 + 0.01 * i,
            output_tokens_per_s=50.0 * (i + 1),
        )
        for i in range(count)
    ]
