"""A loopback exporter of vLLM-style metrics whose rates and quantiles are known exactly.

Every counter grows linearly with wall time since ``started_at`` (which may lie in the
past, see ``history_s``), so ``rate()`` over any window gives the configured figure and
``histogram_quantile(0.95, …)`` gives the configured p95. Series carry the labels
``deployment``, ``model_name`` and ``version``; a deployment may serve several versions
at once with fixed traffic shares. ``model_info{deployment, version} 1`` names them.
A deployment with a ``DriftSpec`` also exports a histogram whose bucket shares switch from
one known distribution to another at a known time, for drift tests.

Used by the integration tests and by ``benchmarks/``.
"""

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LATENCY_BUCKETS_S = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0)
"""Upper bounds of vLLM's ``vllm:e2e_request_latency_seconds`` buckets (abridged)."""
TTFT_BUCKETS_S = (0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds of vLLM's ``vllm:time_to_first_token_seconds`` buckets (abridged)."""
API_HANDLER = "/v1/chat/completions"
"""The handler label of API traffic (``http_requests_total``)."""
OTHER_HANDLER_RATE_FACTOR = 3.0
"""Health-check traffic, per request/s of API traffic, that an error ratio must ignore."""

Labels = tuple[tuple[str, str], ...]


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

    def __post_init__(self) -> None:
        if not self.versions or not math.isclose(sum(self.versions.values()), 1.0):
            raise ValueError(f"{self.name}: version shares must sum to 1, got {self.versions}")
        if not 0.0 <= self.error_ratio <= 1.0:
            raise ValueError(f"{self.name}: error_ratio {self.error_ratio} is not in [0, 1]")
        _bucket_index(self.p95_latency_s, LATENCY_BUCKETS_S)
        _bucket_index(self.p95_ttft_s, TTFT_BUCKETS_S)

    @property
    def model(self) -> str:
        """The ``model_name`` label (defaults to ``org/<name>``)."""
        return self.model_name or f"org/{self.name}"


@dataclass(frozen=True)
class _Family:
    """One metric family of the exposition: its type and every series with its rate."""

    name: str
    kind: str
    help: str
    series: list[tuple[str, Labels, float]] = field(default_factory=list)
    """(sample name, labels, growth per second; for a gauge, its constant value)."""

    def value(self, rate: float, elapsed_s: float) -> float:
        """A sample's value ``elapsed_s`` after the counters started."""
        return rate if self.kind == "gauge" else rate * elapsed_s

    def sample(self, index: int, elapsed_s: float) -> float:
        """The value of series ``index`` ``elapsed_s`` after the counters started."""
        return self.value(self.series[index][2], elapsed_s)


@dataclass(frozen=True)
class _ChangingFamily(_Family):
    """Counters whose rate changes once: ``after[i]`` is (new rate, seconds until then)."""

    after: list[tuple[float, float]] = field(default_factory=list)

    def sample(self, index: int, elapsed_s: float) -> float:
        rate_after, change_after_s = self.after[index]
        before_s = min(elapsed_s, change_after_s)
        return self.series[index][2] * before_s + rate_after * (elapsed_s - before_s)


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


def _families(specs: Sequence[DeploymentSpec]) -> list[_Family]:
    latency = _Family("vllm:e2e_request_latency_seconds", "histogram", "End-to-end latency.")
    ttft = _Family("vllm:time_to_first_token_seconds", "histogram", "Time to first token.")
    tokens = _Family("vllm:generation_tokens_total", "counter", "Generated tokens.")
    http = _Family("http_requests_total", "counter", "HTTP requests by handler and status.")
    info = _Family("model_info", "gauge", "The model version a deployment serves.")
    for spec in specs:
        for version, share in spec.versions.items():
            labels: Labels = (
                ("deployment", spec.name),
                ("model_name", spec.model),
                ("version", version),
            )
            rate = spec.request_rate * share
            _add_histogram(latency, labels, rate, spec.p95_latency_s, LATENCY_BUCKETS_S)
            _add_histogram(ttft, labels, rate, spec.p95_ttft_s, TTFT_BUCKETS_S)
            tokens.series.append((tokens.name, labels, spec.output_tokens_per_s * share))
            for handler, method, status, http_rate in (
                (API_HANDLER, "POST", "2xx", rate * (1.0 - spec.error_ratio)),
                (API_HANDLER, "POST", "5xx", rate * spec.error_ratio),
                ("/health", "GET", "2xx", rate * OTHER_HANDLER_RATE_FACTOR),
            ):
                extra = (("handler", handler), ("method", method), ("status", status))
                http.series.append((http.name, (*labels, *extra), http_rate))
            info_labels = (("deployment", spec.name), ("version", version))
            info.series.append((info.name, info_labels, 1.0))
    return [latency, ttft, tokens, http, info, *_drift_families(specs)]


def _drift_families(specs: Sequence[DeploymentSpec]) -> list[_Family]:
    families: dict[str, _ChangingFamily] = {}
    for spec in specs:
        drift = spec.drift
        if drift is None:
            continue
        family = families.setdefault(
            drift.metric, _ChangingFamily(drift.metric, "histogram", "A drifting histogram.")
        )
        les = [*(repr(float(b)) for b in drift.bounds), "+Inf"]
        before, after = drift.cumulative(drift.before), drift.cumulative(drift.after)
        for version, share in spec.versions.items():
            labels: Labels = (
                ("deployment", spec.name),
                ("model_name", spec.model),
                ("version", version),
            )
            rate = spec.request_rate * share
            for le, old, new in zip(les, before, after, strict=True):
                family.series.append((f"{drift.metric}_bucket", (*labels, ("le", le)), rate * old))
                family.after.append((rate * new, drift.change_after_s))
            for suffix in ("_sum", "_count"):
                family.series.append((f"{drift.metric}{suffix}", labels, rate))
                family.after.append((rate, drift.change_after_s))
    return list(families.values())


def _add_histogram(
    family: _Family, labels: Labels, rate: float, p95_s: float, bounds: Sequence[float]
) -> None:
    for bound, fraction in zip(bounds, cumulative_fractions(p95_s, bounds), strict=True):
        family.series.append(
            (f"{family.name}_bucket", (*labels, ("le", repr(bound))), rate * fraction)
        )
    family.series.append((f"{family.name}_bucket", (*labels, ("le", "+Inf")), rate))
    family.series.append((f"{family.name}_sum", labels, rate * p95_s * 0.6))
    family.series.append((f"{family.name}_count", labels, rate))


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
        self.deployments = tuple(deployments)
        self._families = _families(deployments)
        self._clock = clock
        self.started_at = clock() - history_s
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

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
        elapsed = max(0.0, self._clock() - self.started_at)
        lines = []
        for family in self._families:
            lines.append(f"# HELP {family.name} {family.help}")
            lines.append(f"# TYPE {family.name} {family.kind}")
            for i, (name, labels, _) in enumerate(family.series):
                lines.append(f"{name}{_render_labels(labels)} {family.sample(i, elapsed)!r}")
        return "\n".join(lines) + "\n"

    def history(self, until: float, step_s: float, extra_labels: Labels) -> Iterator[str]:
        """OpenMetrics lines (ending with ``# EOF``), one sample every ``step_s`` from the start.

        ``extra_labels`` are the labels the scraper adds (``job``, ``instance``), so that
        backfilled and scraped samples form the same series.
        """
        count = int((until - self.started_at) // step_s)
        for family in self._families:
            for i, (name, labels, _) in enumerate(family.series):
                rendered = _render_labels((*labels, *extra_labels))
                for k in range(1, count + 1):
                    value = family.sample(i, k * step_s)
                    yield f"{name}{rendered} {value!r} {self.started_at + k * step_s:.3f}\n"
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
