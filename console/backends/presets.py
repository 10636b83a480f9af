"""Engine presets: how each serving engine's metrics answer the fleet's signals in PromQL.

Templates are ``string.Template`` strings with two placeholders: ``$by`` (the grouping
labels, comma-separated) and ``$window`` (the rate window, such as ``300s``). A signal
without a template is one the engine does not export: it has no value, never 0.
Per-profile overrides use the same placeholders and replace a preset's template.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from string import Template

from console.backends.protocol import EngineChoice
from console.domain.signals import Signal

PLACEHOLDERS = frozenset({"by", "window"})
ADDITIVE_SIGNALS = frozenset(
    {
        Signal.REQUEST_RATE,
        Signal.INPUT_TOKENS_PER_S,
        Signal.OUTPUT_TOKENS_PER_S,
        Signal.RUNNING_REQUESTS,
        Signal.WAITING_REQUESTS,
    }
)
"""Signals where two rows of one deployment add up; for the others (latencies, the
KV-cache ratio) the larger one wins."""


@dataclass(frozen=True)
class HistogramMetric:
    """A histogram metric (its name without ``_bucket``) and label matchers it needs."""

    name: str
    matchers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EnginePreset:
    """The metric names and labels of one serving engine, and its PromQL per signal.

    ``histograms`` maps the preset histogram names (see PRESET_HISTOGRAMS) to the engine's
    metric; a name the engine does not export has no entry.
    """

    name: str
    model_label: str
    version_label: str | None
    metric_prefix: str
    templates: Mapping[Signal, str]
    additive: frozenset[Signal] = ADDITIVE_SIGNALS
    histograms: Mapping[str, HistogramMetric] = field(default_factory=dict)


def render(template: str, by: Sequence[str], window_s: float) -> str:
    """Fill ``$by`` with the labels (duplicates dropped) and ``$window`` with whole seconds.

    A ``$`` that does not start a placeholder (a regex anchor, say) is left as it is.
    """
    labels = ", ".join(dict.fromkeys(label for label in by if label))
    return Template(template).safe_substitute(by=labels, window=f"{max(1, int(window_s))}s")


def parse_overrides(raw: Mapping[str, str]) -> dict[Signal, str]:
    """Per-profile query overrides keyed by signal; ValueError names a bad key or placeholder."""
    overrides: dict[Signal, str] = {}
    for key, template in raw.items():
        try:
            signal = Signal(key)
        except ValueError:
            names = ", ".join(s.value for s in Signal)
            raise ValueError(
                f"query override {key!r} is not a signal; use one of {names}"
            ) from None
        unknown = sorted(set(Template(template).get_identifiers()) - PLACEHOLDERS)
        if unknown:
            raise ValueError(
                f"query override {key!r} uses unknown placeholder ${unknown[0]}; "
                "only $by and $window are filled in (write $$ for a literal $)"
            )
        overrides[signal] = template
    return overrides


def _error_ratio(failed: str, total: str) -> str:
    """failed / total, where a deployment without failures gets 0 instead of no row."""
    return f"({failed} or {total} * 0) / {total}"


def _quantile(q: float, bucket_metric: str) -> str:
    return f"histogram_quantile({q}, sum by (le, $by) (rate({bucket_metric}[$window])))"


def _latencies(bucket_metric: str) -> dict[Signal, str]:
    """p50, p95 and p99 from one latency histogram."""
    return {
        Signal.P50_LATENCY: _quantile(0.5, bucket_metric),
        Signal.P95_LATENCY: _quantile(0.95, bucket_metric),
        Signal.P99_LATENCY: _quantile(0.99, bucket_metric),
    }


def _triton_latency(q: str) -> str:
    """A quantile of Triton's request-time summary, from microseconds to seconds."""
    return f'max by ($by) (nv_inference_request_summary_us{{quantile="{q}"}}) / 1e6'


def _rate(selector: str) -> str:
    return f"sum by ($by) (rate({selector}[$window]))"


def _gauge(selector: str, aggregation: str = "sum") -> str:
    return f"{aggregation} by ($by) ({selector})"


_VLLM_HTTP = 'http_requests_total{handler=~"/v1/.*"}'
_VLLM_HTTP_5XX = 'http_requests_total{handler=~"/v1/.*",status=~"5.."}'
_TRITON_OK = _rate("nv_inference_request_success")
_TRITON_FAILED = f"({_rate('nv_inference_request_failure')} or {_TRITON_OK} * 0)"
_OTEL_REQUESTS = "gen_ai_server_request_duration_seconds_count"

VLLM = EnginePreset(
    name="vllm",
    model_label="model_name",
    version_label=None,
    metric_prefix="vllm:",
    # Newer vLLM (v1 engine) renamed two metrics and may export both spellings for a
    # while: the new one wins per row (an "or" of the results, so that buckets of the two
    # histograms never mix), and the old one still answers for older servers.
    templates={
        Signal.REQUEST_RATE: _rate("vllm:e2e_request_latency_seconds_count"),
        Signal.ERROR_RATIO: _error_ratio(_rate(_VLLM_HTTP_5XX), _rate(_VLLM_HTTP)),
        **_latencies("vllm:e2e_request_latency_seconds_bucket"),
        Signal.P95_TTFT: _quantile(0.95, "vllm:time_to_first_token_seconds_bucket"),
        Signal.P95_ITL: (
            f"{_quantile(0.95, 'vllm:inter_token_latency_seconds_bucket')} or "
            f"{_quantile(0.95, 'vllm:time_per_output_token_seconds_bucket')}"
        ),
        Signal.RUNNING_REQUESTS: _gauge("vllm:num_requests_running"),
        Signal.WAITING_REQUESTS: _gauge("vllm:num_requests_waiting"),
        Signal.KV_CACHE_USAGE: _gauge(
            "vllm:kv_cache_usage_perc or vllm:gpu_cache_usage_perc", "max"
        ),
        Signal.INPUT_TOKENS_PER_S: _rate("vllm:prompt_tokens_total"),
        Signal.OUTPUT_TOKENS_PER_S: _rate("vllm:generation_tokens_total"),
    },
    histograms={
        "output_tokens": HistogramMetric("vllm:request_generation_tokens"),
        "prompt_tokens": HistogramMetric("vllm:request_prompt_tokens"),
        "latency": HistogramMetric("vllm:e2e_request_latency_seconds"),
        "ttft": HistogramMetric("vllm:time_to_first_token_seconds"),
    },
)
TGI = EnginePreset(
    name="tgi",
    model_label="model_id",
    version_label=None,
    metric_prefix="tgi_",
    # TGI exports no time-to-first-token histogram and no KV-cache gauge. Its per-token
    # histogram holds each request's mean time per output token, the closest it has to an
    # inter-token latency. The batch size counts the requests being generated.
    templates={
        Signal.REQUEST_RATE: _rate("tgi_request_count"),
        Signal.ERROR_RATIO: _error_ratio(_rate("tgi_request_failure"), _rate("tgi_request_count")),
        **_latencies("tgi_request_duration_bucket"),
        Signal.P95_ITL: _quantile(0.95, "tgi_request_mean_time_per_token_duration_bucket"),
        Signal.RUNNING_REQUESTS: _gauge("tgi_batch_current_size"),
        Signal.WAITING_REQUESTS: _gauge("tgi_queue_size"),
        Signal.INPUT_TOKENS_PER_S: _rate("tgi_request_input_length_sum"),
        Signal.OUTPUT_TOKENS_PER_S: _rate("tgi_request_generated_tokens_sum"),
    },
    histograms={
        "output_tokens": HistogramMetric("tgi_request_generated_tokens"),
        "prompt_tokens": HistogramMetric("tgi_request_input_length"),
        "latency": HistogramMetric("tgi_request_duration"),
    },
)
LLAMACPP = EnginePreset(
    name="llamacpp",
    model_label="model",
    version_label=None,
    metric_prefix="llamacpp:",
    # The llama.cpp server's /metrics has token counters and slot gauges only: no request
    # counter and no latency histogram, so rate, errors and latencies stay unknown. Builds
    # since its unified KV cache no longer export the KV-cache ratio: no value there.
    templates={
        Signal.RUNNING_REQUESTS: _gauge("llamacpp:requests_processing"),
        Signal.WAITING_REQUESTS: _gauge("llamacpp:requests_deferred"),
        Signal.KV_CACHE_USAGE: _gauge("llamacpp:kv_cache_usage_ratio", "max"),
        Signal.INPUT_TOKENS_PER_S: _rate("llamacpp:prompt_tokens_total"),
        Signal.OUTPUT_TOKENS_PER_S: _rate("llamacpp:tokens_predicted_total"),
    },
)
TRITON = EnginePreset(
    name="triton",
    model_label="model",
    version_label="version",
    metric_prefix="nv_inference_",
    # Triton exports no token counters, no inter-token latency, no running-request or
    # KV-cache gauge (its pending-request gauge counts the queued ones). The latency
    # quantiles (its summary's default 0.5, 0.95 and 0.99) need the server started with
    # --metrics-config summary_latencies=true.
    templates={
        Signal.REQUEST_RATE: f"{_TRITON_OK} + {_TRITON_FAILED}",
        Signal.ERROR_RATIO: f"{_TRITON_FAILED} / ({_TRITON_OK} + {_TRITON_FAILED})",
        Signal.P50_LATENCY: _triton_latency("0.5"),
        Signal.P95_LATENCY: _triton_latency("0.95"),
        Signal.P99_LATENCY: _triton_latency("0.99"),
        Signal.P95_TTFT: (
            f"{_quantile(0.95, 'nv_inference_first_response_histogram_ms_bucket')} / 1000"
        ),
        Signal.WAITING_REQUESTS: _gauge("nv_inference_pending_request_count"),
    },
    histograms={"ttft": HistogramMetric("nv_inference_first_response_histogram_ms")},
)
OTEL = EnginePreset(
    name="otel",
    model_label="gen_ai_request_model",
    version_label=None,
    metric_prefix="gen_ai_",
    # OpenTelemetry GenAI semantic conventions as exported to Prometheus. They define no
    # running/waiting request or KV-cache metric.
    templates={
        Signal.REQUEST_RATE: _rate(_OTEL_REQUESTS),
        Signal.ERROR_RATIO: _error_ratio(
            _rate(f'{_OTEL_REQUESTS}{{error_type!=""}}'), _rate(_OTEL_REQUESTS)
        ),
        **_latencies("gen_ai_server_request_duration_seconds_bucket"),
        Signal.P95_TTFT: _quantile(0.95, "gen_ai_server_time_to_first_token_seconds_bucket"),
        Signal.P95_ITL: _quantile(0.95, "gen_ai_server_time_per_output_token_seconds_bucket"),
        Signal.INPUT_TOKENS_PER_S: _rate(
            'gen_ai_client_token_usage_sum{gen_ai_token_type="input"}'
        ),
        Signal.OUTPUT_TOKENS_PER_S: _rate(
            'gen_ai_client_token_usage_sum{gen_ai_token_type="output"}'
        ),
    },
    histograms={
        "output_tokens": HistogramMetric(
            "gen_ai_client_token_usage", (("gen_ai_token_type", "output"),)
        ),
        "prompt_tokens": HistogramMetric(
            "gen_ai_client_token_usage", (("gen_ai_token_type", "input"),)
        ),
        "latency": HistogramMetric("gen_ai_server_request_duration_seconds"),
        "ttft": HistogramMetric("gen_ai_server_time_to_first_token_seconds"),
    },
)

PRESETS: Mapping[str, EnginePreset] = {p.name: p for p in (VLLM, TGI, LLAMACPP, TRITON, OTEL)}


def get_preset(name: str) -> EnginePreset:
    """The preset called ``name``; ValueError lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown engine preset {name!r}; use one of {', '.join(PRESETS)}"
        ) from None


def detect(metric_names: Iterable[str]) -> EngineChoice:
    """Every preset with at least one metric of its prefix, most matches first."""
    names = list(metric_names)
    counts = {
        preset.name: sum(1 for n in names if n.startswith(preset.metric_prefix))
        for preset in PRESETS.values()
    }
    found = sorted((p for p in PRESETS.values() if counts[p.name]), key=lambda p: -counts[p.name])
    if not found:
        looked_for = ", ".join(f"{p.metric_prefix}* ({p.name})" for p in PRESETS.values())
        return EngineChoice(
            presets=(),
            reason=(
                f"no engine metrics found among {len(names)} metric names (looked for "
                f"{looked_for}); set a preset in the profile or override its queries"
            ),
        )
    described = ", ".join(
        f"{p.name} ({counts[p.name]} {p.metric_prefix}* metric{'' if counts[p.name] == 1 else 's'})"
        for p in found
    )
    return EngineChoice(presets=tuple(p.name for p in found), reason=f"auto-detected {described}")
