"""The service-level indicators that cross the service boundary (never PromQL)."""

from enum import StrEnum


class Signal(StrEnum):
    """An SLI of a model deployment; backends map each to their own query language."""

    REQUEST_RATE = "request_rate"
    ERROR_RATIO = "error_ratio"
    P50_LATENCY = "p50_latency_s"
    P95_LATENCY = "p95_latency_s"
    P99_LATENCY = "p99_latency_s"
    P95_TTFT = "p95_ttft_s"
    P95_ITL = "p95_itl_s"
    RUNNING_REQUESTS = "running_requests"
    WAITING_REQUESTS = "waiting_requests"
    KV_CACHE_USAGE = "kv_cache_usage"
    INPUT_TOKENS_PER_S = "input_tokens_per_s"
    OUTPUT_TOKENS_PER_S = "output_tokens_per_s"

    @property
    def label(self) -> str:
        """A human-readable name for cards and charts."""
        return _LABELS[self]

    @property
    def unit(self) -> str:
        """The unit the values are expressed in."""
        return _UNITS[self]


_LABELS = {
    Signal.REQUEST_RATE: "Requests",
    Signal.ERROR_RATIO: "Errors",
    Signal.P50_LATENCY: "p50 latency",
    Signal.P95_LATENCY: "p95 latency",
    Signal.P99_LATENCY: "p99 latency",
    Signal.P95_TTFT: "p95 TTFT",
    Signal.P95_ITL: "p95 inter-token latency",
    Signal.RUNNING_REQUESTS: "Running requests",
    Signal.WAITING_REQUESTS: "Waiting requests",
    Signal.KV_CACHE_USAGE: "KV-cache usage",
    Signal.INPUT_TOKENS_PER_S: "Input tokens",
    Signal.OUTPUT_TOKENS_PER_S: "Output tokens",
}
_UNITS = {
    Signal.REQUEST_RATE: "req/s",
    Signal.ERROR_RATIO: "ratio",
    Signal.P50_LATENCY: "s",
    Signal.P95_LATENCY: "s",
    Signal.P99_LATENCY: "s",
    Signal.P95_TTFT: "s",
    Signal.P95_ITL: "s",
    Signal.RUNNING_REQUESTS: "requests",
    Signal.WAITING_REQUESTS: "requests",
    Signal.KV_CACHE_USAGE: "ratio",
    Signal.INPUT_TOKENS_PER_S: "tok/s",
    Signal.OUTPUT_TOKENS_PER_S: "tok/s",
}
