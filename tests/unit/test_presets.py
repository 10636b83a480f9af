"""Engine presets: PromQL per signal, rendering, overrides and detection from metric names."""

import pytest

from console.backends.presets import (
    ADDITIVE_SIGNALS,
    PRESETS,
    detect,
    get_preset,
    parse_overrides,
    render,
)
from console.domain.signals import Signal

BY = ["deployment", "model_name"]


def rendered(preset: str, signal: Signal) -> str:
    return render(PRESETS[preset].templates[signal], BY, 300)


def test_preset_names() -> None:
    assert list(PRESETS) == ["vllm", "tgi", "llamacpp", "triton", "otel"]


def test_labels_and_prefixes() -> None:
    assert [(p.model_label, p.version_label, p.metric_prefix) for p in PRESETS.values()] == [
        ("model_name", None, "vllm:"),
        ("model_id", None, "tgi_"),
        ("model", None, "llamacpp:"),
        ("model", "version", "nv_inference_"),
        ("gen_ai_request_model", None, "gen_ai_"),
    ]


def test_vllm_queries() -> None:
    by = "deployment, model_name"
    http = 'http_requests_total{handler=~"/v1/.*"}'
    http_5xx = 'http_requests_total{handler=~"/v1/.*",status=~"5.."}'
    assert rendered("vllm", Signal.REQUEST_RATE) == (
        f"sum by ({by}) (rate(vllm:e2e_request_latency_seconds_count[300s]))"
    )
    assert rendered("vllm", Signal.ERROR_RATIO) == (
        f"(sum by ({by}) (rate({http_5xx}[300s])) or sum by ({by}) (rate({http}[300s])) * 0)"
        f" / sum by ({by}) (rate({http}[300s]))"
    )
    assert rendered("vllm", Signal.P95_LATENCY) == (
        f"histogram_quantile(0.95, sum by (le, {by}) "
        "(rate(vllm:e2e_request_latency_seconds_bucket[300s])))"
    )
    assert rendered("vllm", Signal.P95_TTFT) == (
        f"histogram_quantile(0.95, sum by (le, {by}) "
        "(rate(vllm:time_to_first_token_seconds_bucket[300s])))"
    )
    assert rendered("vllm", Signal.OUTPUT_TOKENS_PER_S) == (
        f"sum by ({by}) (rate(vllm:generation_tokens_total[300s]))"
    )


def test_tgi_queries() -> None:
    tgi = PRESETS["tgi"].templates
    assert Signal.P95_TTFT not in tgi
    error_ratio = rendered("tgi", Signal.ERROR_RATIO)
    assert error_ratio.startswith("(sum by (deployment, model_name) (rate(tgi_request_failure[")
    assert " or " in error_ratio and error_ratio.endswith("(rate(tgi_request_count[300s]))")
    assert "tgi_request_duration_bucket" in rendered("tgi", Signal.P95_LATENCY)
    assert "rate(tgi_request_generated_tokens_sum[300s])" in rendered(
        "tgi", Signal.OUTPUT_TOKENS_PER_S
    )


def test_llamacpp_exports_tokens_and_slot_gauges_only() -> None:
    assert set(PRESETS["llamacpp"].templates) == {
        Signal.OUTPUT_TOKENS_PER_S,
        Signal.INPUT_TOKENS_PER_S,
        Signal.RUNNING_REQUESTS,
        Signal.WAITING_REQUESTS,
        Signal.KV_CACHE_USAGE,
    }
    assert "llamacpp:tokens_predicted_total" in rendered("llamacpp", Signal.OUTPUT_TOKENS_PER_S)
    assert "rate(llamacpp:prompt_tokens_total[300s])" in rendered(
        "llamacpp", Signal.INPUT_TOKENS_PER_S
    )
    assert rendered("llamacpp", Signal.RUNNING_REQUESTS) == (
        "sum by (deployment, model_name) (llamacpp:requests_processing)"
    )
    assert rendered("llamacpp", Signal.WAITING_REQUESTS) == (
        "sum by (deployment, model_name) (llamacpp:requests_deferred)"
    )
    assert rendered("llamacpp", Signal.KV_CACHE_USAGE) == (
        "max by (deployment, model_name) (llamacpp:kv_cache_usage_ratio)"
    )


def test_triton_queries() -> None:
    triton = PRESETS["triton"].templates
    assert Signal.OUTPUT_TOKENS_PER_S not in triton
    assert rendered("triton", Signal.P95_LATENCY) == (
        'max by (deployment, model_name) (nv_inference_request_summary_us{quantile="0.95"}) / 1e6'
    )
    assert rendered("triton", Signal.P95_TTFT).endswith(
        "(rate(nv_inference_first_response_histogram_ms_bucket[300s]))) / 1000"
    )
    rate = rendered("triton", Signal.REQUEST_RATE)
    assert "nv_inference_request_success" in rate and "nv_inference_request_failure" in rate
    assert "/ (" in rendered("triton", Signal.ERROR_RATIO)


def test_otel_queries() -> None:
    assert 'error_type!=""' in rendered("otel", Signal.ERROR_RATIO)
    assert "gen_ai_server_time_to_first_token_seconds_bucket" in rendered("otel", Signal.P95_TTFT)
    assert rendered("otel", Signal.OUTPUT_TOKENS_PER_S) == (
        "sum by (deployment, model_name) "
        '(rate(gen_ai_client_token_usage_sum{gen_ai_token_type="output"}[300s]))'
    )


GAUGES = {Signal.RUNNING_REQUESTS, Signal.WAITING_REQUESTS, Signal.KV_CACHE_USAGE}


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_template_renders_both_placeholders(preset: str) -> None:
    engine = PRESETS[preset]
    for signal, template in engine.templates.items():
        text = render(template, ["deployment", engine.model_label], 60)
        assert "$" not in text, (preset, signal)
        assert text.count("(") == text.count(")"), (preset, signal)
        assert f"deployment, {engine.model_label})" in text, (preset, signal)
        windowless = signal in GAUGES or "nv_inference_request_summary_us" in text
        assert ("[60s]" in text) != windowless, (preset, signal)


def test_which_engine_exports_which_signal() -> None:
    exported = {name: set(p.templates) for name, p in PRESETS.items()}
    assert exported["vllm"] == set(Signal)
    assert exported["tgi"] == set(Signal) - {Signal.P95_TTFT, Signal.KV_CACHE_USAGE}
    assert exported["triton"] == {
        Signal.REQUEST_RATE,
        Signal.ERROR_RATIO,
        Signal.P50_LATENCY,
        Signal.P95_LATENCY,
        Signal.P99_LATENCY,
        Signal.P95_TTFT,
        Signal.WAITING_REQUESTS,
    }
    assert exported["otel"] == set(Signal) - GAUGES


@pytest.mark.parametrize("preset", ["vllm", "tgi", "otel"])
def test_latency_quantiles_come_from_the_p95_histogram(preset: str) -> None:
    p95 = rendered(preset, Signal.P95_LATENCY)
    assert p95.startswith("histogram_quantile(0.95, ")
    assert rendered(preset, Signal.P50_LATENCY) == p95.replace("(0.95, ", "(0.5, ")
    assert rendered(preset, Signal.P99_LATENCY) == p95.replace("(0.95, ", "(0.99, ")


def test_vllm_new_signals() -> None:
    by = "deployment, model_name"
    assert rendered("vllm", Signal.P95_ITL) == (
        f"histogram_quantile(0.95, sum by (le, {by}) "
        "(rate(vllm:inter_token_latency_seconds_bucket[300s]))) or "
        f"histogram_quantile(0.95, sum by (le, {by}) "
        "(rate(vllm:time_per_output_token_seconds_bucket[300s])))"
    )
    assert rendered("vllm", Signal.RUNNING_REQUESTS) == f"sum by ({by}) (vllm:num_requests_running)"
    assert rendered("vllm", Signal.WAITING_REQUESTS) == f"sum by ({by}) (vllm:num_requests_waiting)"
    assert rendered("vllm", Signal.KV_CACHE_USAGE) == (
        f"max by ({by}) (vllm:kv_cache_usage_perc or vllm:gpu_cache_usage_perc)"
    )
    assert rendered("vllm", Signal.INPUT_TOKENS_PER_S) == (
        f"sum by ({by}) (rate(vllm:prompt_tokens_total[300s]))"
    )


def test_tgi_new_signals() -> None:
    assert "rate(tgi_request_mean_time_per_token_duration_bucket[300s])" in rendered(
        "tgi", Signal.P95_ITL
    )
    assert rendered("tgi", Signal.RUNNING_REQUESTS).endswith("(tgi_batch_current_size)")
    assert rendered("tgi", Signal.WAITING_REQUESTS).endswith("(tgi_queue_size)")
    assert "rate(tgi_request_input_length_sum[300s])" in rendered("tgi", Signal.INPUT_TOKENS_PER_S)


def test_triton_new_signals() -> None:
    assert rendered("triton", Signal.P50_LATENCY) == (
        'max by (deployment, model_name) (nv_inference_request_summary_us{quantile="0.5"}) / 1e6'
    )
    assert 'quantile="0.99"' in rendered("triton", Signal.P99_LATENCY)
    assert rendered("triton", Signal.WAITING_REQUESTS) == (
        "sum by (deployment, model_name) (nv_inference_pending_request_count)"
    )


def test_otel_new_signals() -> None:
    assert "gen_ai_server_time_per_output_token_seconds_bucket" in rendered("otel", Signal.P95_ITL)
    assert rendered("otel", Signal.INPUT_TOKENS_PER_S) == (
        "sum by (deployment, model_name) "
        '(rate(gen_ai_client_token_usage_sum{gen_ai_token_type="input"}[300s]))'
    )


def test_additive_signals() -> None:
    assert {
        Signal.REQUEST_RATE,
        Signal.INPUT_TOKENS_PER_S,
        Signal.OUTPUT_TOKENS_PER_S,
        Signal.RUNNING_REQUESTS,
        Signal.WAITING_REQUESTS,
    } == ADDITIVE_SIGNALS
    assert all(p.additive == ADDITIVE_SIGNALS for p in PRESETS.values())


def test_render_dedupes_labels_and_truncates_the_window() -> None:
    text = render("sum by ($by) (rate(x[$window]))", ["a", "b", "a", ""], 300.9)
    assert text == "sum by (a, b) (rate(x[300s]))"
    assert render("rate(x[$window])", ["a"], 0.2) == "rate(x[1s])"


def test_render_keeps_a_regex_anchor() -> None:
    template = 'sum by ($by) (rate(x{path=~"/v1/.*$"}[$window]))'
    assert render(template, ["a"], 60) == 'sum by (a) (rate(x{path=~"/v1/.*$"}[60s]))'


def test_overrides_parse_by_signal_value() -> None:
    overrides = parse_overrides({"request_rate": "sum by ($by) (rate(my_requests[$window]))"})
    assert overrides == {Signal.REQUEST_RATE: "sum by ($by) (rate(my_requests[$window]))"}


def test_override_with_unknown_signal_is_named() -> None:
    with pytest.raises(ValueError, match="'latency' is not a signal; use one of request_rate"):
        parse_overrides({"latency": "x"})


def test_override_with_unknown_placeholder_is_named() -> None:
    with pytest.raises(ValueError, match=r"'error_ratio' uses unknown placeholder \$windw"):
        parse_overrides({"error_ratio": "rate(x[$windw])"})


def test_get_preset_lists_the_known_ones() -> None:
    assert get_preset("tgi") is PRESETS["tgi"]
    with pytest.raises(ValueError, match="unknown engine preset 'sglang'; use one of vllm, tgi"):
        get_preset("sglang")


def test_detect_orders_by_match_count() -> None:
    names = [f"vllm:m{i}" for i in range(24)] + [f"tgi_m{i}" for i in range(9)] + ["up"]
    names += ["nv_inference_request_success"]
    choice = detect(iter(names))
    assert choice.presets == ("vllm", "tgi", "triton")
    assert choice.reason == (
        "auto-detected vllm (24 vllm:* metrics), tgi (9 tgi_* metrics), "
        "triton (1 nv_inference_* metric)"
    )


def test_detect_puts_the_larger_engine_first_whatever_the_preset_order() -> None:
    names = ["vllm:a", "gen_ai_x", "gen_ai_y", "gen_ai_z"]
    assert detect(names).presets == ("otel", "vllm")


def test_detect_with_nothing_found_says_what_it_looked_for() -> None:
    choice = detect(["up", "process_cpu_seconds_total"])
    assert choice.presets == ()
    for prefix in ("vllm:*", "tgi_*", "llamacpp:*", "nv_inference_*", "gen_ai_*"):
        assert prefix in choice.reason
    assert "set a preset in the profile" in choice.reason
    assert "override" in choice.reason
