"""The service-level indicators that cross the service boundary (never PromQL)."""

from enum import StrEnum


class Signal(StrEnum):
    """An SLI of a model deployment; backends map each to their own query language."""

    REQUEST_RATE = "request_rate"
    ERROR_RATIO = "error_ratio"
    P95_LATENCY = "p95_latency_s"
    P95_TTFT = "p95_ttft_s"
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
    Signal.P95_LATENCY: "p95 latency",
    Signal.P95_TTFT: "p95 TTFT",
    Signal.OUTPUT_TOKENS_PER_S: "Output tokens",
}
_UNITS = {
    Signal.REQUEST_RATE: "req/s",
    Signal.ERROR_RATIO: "ratio",
    Signal.P95_LATENCY: "s",
    Signal.P95_TTFT: "s",
    Signal.OUTPUT_TOKENS_PER_S: "tok/s",
}
