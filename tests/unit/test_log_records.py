"""Log lines into records: OpenTelemetry GenAI, LiteLLM, OpenAI bodies, logfmt, field maps."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.log_records import (
    DEFAULT_PATHS,
    FieldMap,
    FieldMapError,
    LineFormat,
    LogEntry,
    RecordField,
    parse_entry,
    redact_records,
)
from console.domain.logql import LogQLError, parse_count_query, parse_duration, parse_log_query
from console.domain.redaction import Redactor

FIRST_KEYS = sorted(
    {p.split(".")[0].split("[")[0] for paths in DEFAULT_PATHS.values() for p in paths}
    | {"gen_ai.prompt", "gen_ai.completion", "gen_ai.usage.input_tokens"}
)
LABELS = {"deployment": "support-chat", "version": "v42"}


def _entry(body: object, labels: dict[str, str] | None = None) -> LogEntry:
    return LogEntry(1_750_000_000_123_456_789, json.dumps(body), labels or {})


def test_otel_genai_attributes() -> None:
    record = parse_entry(
        _entry(
            {
                "gen_ai.request.model": "support-chat",
                "gen_ai.response.model": "support-chat-v42",
                "gen_ai.usage.input_tokens": 120,
                "gen_ai.usage.output_tokens": 33,
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.prompt": "Where is my order?",
                "gen_ai.completion": "It shipped.",
                "latency_ms": 812.5,
                "confidence": 0.42,
            },
            LABELS,
        )
    )
    assert record.format is LineFormat.JSON
    assert (record.deployment, record.version, record.model) == (
        "support-chat",
        "v42",
        "support-chat-v42",
    )
    assert (record.prompt, record.output) == ("Where is my order?", "It shipped.")
    assert (record.input_tokens, record.output_tokens, record.tokens) == (120, 33, 153)
    assert (record.latency_ms, record.confidence, record.finish_reason) == (812.5, 0.42, "stop")
    assert record.timestamp == pytest.approx(1_750_000_000.123456789)


def test_otel_prompt_and_completion_events_nested_under_attributes() -> None:
    record = parse_entry(
        _entry(
            {
                "attributes": {"gen_ai.request.model": "rerank", "gen_ai.usage.input_tokens": 5},
                "events": [
                    {"name": "gen_ai.content.prompt", "attributes": {"gen_ai.prompt": "q"}},
                    {"name": "gen_ai.content.completion", "attributes": {"gen_ai.completion": "a"}},
                ],
            }
        )
    )
    assert (record.model, record.prompt, record.output, record.input_tokens) == (
        "rerank",
        "q",
        "a",
        5,
    )


def test_otel_input_and_output_messages() -> None:
    record = parse_entry(
        _entry(
            {
                "gen_ai.input.messages": [
                    {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                    {"role": "user", "parts": [{"type": "text", "content": "Where is it?"}]},
                ],
                "gen_ai.output.messages": [
                    {"role": "assistant", "parts": [{"type": "text", "content": "Shipped."}]}
                ],
            }
        )
    )
    assert (record.prompt, record.output) == ("Where is it?", "Shipped.")


def test_litellm_payload_with_content_parts_and_start_end_times() -> None:
    record = parse_entry(
        _entry(
            {
                "model": "doc-qa",
                "model_group": "doc-qa",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "first"},
                    {"role": "user", "content": [{"type": "text", "text": "latest question"}]},
                ],
                "response": {
                    "model": "doc-qa-v7",
                    "choices": [{"message": {"content": "answer"}, "finish_reason": "length"}],
                },
                "prompt_tokens": 10,
                "completion_tokens": 20,
                "startTime": 100.0,
                "endTime": 101.25,
                "metadata": {"model_version": "v7"},
            }
        )
    )
    assert (record.deployment, record.version, record.model) == ("doc-qa", "v7", "doc-qa-v7")
    assert (record.prompt, record.output) == ("latest question", "answer")
    assert (record.latency_ms, record.tokens, record.finish_reason) == (1250.0, 30, "length")


def test_openai_bodies_give_a_logprob_confidence() -> None:
    record = parse_entry(
        _entry(
            {
                "request": {"messages": [{"role": "user", "content": "hi"}]},
                "response": {
                    "model": "code-assist-v3",
                    "choices": [
                        {
                            "message": {"content": "hello"},
                            "logprobs": {"content": [{"logprob": -0.1}, {"logprob": -0.3}]},
                        }
                    ],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2},
                },
            }
        )
    )
    assert record.confidence == pytest.approx(0.8187307)  # exp(mean logprob)
    assert (record.prompt, record.output, record.tokens) == ("hi", "hello", 5)


@pytest.mark.parametrize(
    ("line", "fmt"),
    [
        ('level=warn msg="upstream retry" attempt=2', LineFormat.LOGFMT),
        ("WARN KV cache usage 91% on gpu 0", LineFormat.PLAIN),
        ('{"unterminated": ', LineFormat.PLAIN),
        ("[1, 2, 3]", LineFormat.PLAIN),
    ],
)
def test_other_lines_fall_back_to_the_raw_view_with_label_versions(
    line: str, fmt: LineFormat
) -> None:
    record = parse_entry(LogEntry(5, line, LABELS))
    assert record.format is fmt
    assert (record.raw, record.prompt, record.output) == (line, None, None)
    assert (record.deployment, record.version) == ("support-chat", "v42")


def test_configured_labels_and_paths_come_first() -> None:
    fields = FieldMap.with_overrides({"prompt": "req.text", "confidence": "scores.ok"})
    record = parse_entry(
        LogEntry(
            1,
            json.dumps({"req": {"text": "x"}, "prompt": "y", "scores": {"ok": 0.3}}),
            {"svc": "a", "rev": "r1"},
        ),
        fields,
        deployment_label="svc",
        version_label="rev",
    )
    assert (record.prompt, record.confidence, record.deployment, record.version) == (
        "x",
        0.3,
        "a",
        "r1",
    )
    assert fields.paths[RecordField.PROMPT][1] == "gen_ai.prompt"


@pytest.mark.parametrize(
    ("name", "path", "message"),
    [("promptt", "a", "unknown field"), ("prompt", "a..b", "not a path"), ("output", "", "path")],
)
def test_bad_field_map_entries_name_the_field(name: str, path: str, message: str) -> None:
    with pytest.raises(FieldMapError, match=message) as caught:
        FieldMap.with_overrides({name: path})
    assert caught.value.key == name


def test_record_keys_are_stable_and_distinguish_streams() -> None:
    first = parse_entry(LogEntry(1, "same", {"a": "1"}))
    assert parse_entry(LogEntry(1, "same", {"a": "1"})).key == first.key
    assert parse_entry(LogEntry(1, "same", {"a": "2"})).key != first.key


def test_redaction_covers_prompt_output_and_raw_and_keeps_spans() -> None:
    record = parse_entry(_entry({"prompt": "mail me: a@b.io", "output": "ok, 10.0.0.1"}))
    (redacted,) = redact_records([record], Redactor())
    assert redacted.prompt == "mail me: [EMAIL]"
    assert redacted.output == "ok, [IP]"
    assert "a@b.io" not in redacted.raw and "10.0.0.1" not in redacted.raw
    span = redacted.redactions["prompt"][0]
    assert record.prompt is not None and record.prompt[span.start : span.end] == "a@b.io"
    assert redacted.redacted and not record.redacted


def test_logql_subset() -> None:
    query = parse_log_query('{app="gw", version=~"v4.*", level!="debug"} |= "refund" !~ `test\\d`')
    assert query.matches({"app": "gw", "version": "v42", "level": "info"}, "a refund")
    assert not query.matches({"app": "gw", "version": "v42", "level": "info"}, "refund test1")
    assert not query.matches({"app": "gw", "version": "v7"}, "refund")
    count = parse_count_query('sum by (version) (count_over_time({app="gw"} [5m]))')
    assert (count.summed, count.by, count.range_s) == (True, ("version",), 300.0)
    assert parse_duration("1h30m") == 5400.0
    for bad in ("app=gw", '{app="gw"} | json', "{}", '{a=~"("}'):
        with pytest.raises(LogQLError):
            parse_log_query(bad)


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "prompt",
                    "messages",
                    "role",
                    "content",
                    "response",
                    "choices",
                    "0",
                    "gen_ai.prompt",
                    "logprobs",
                    "confidence",
                    "latency_ms",
                    "text",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(document=st.dictionaries(st.sampled_from(FIRST_KEYS), _JSON))
def test_any_json_document_parses_without_raising(document: dict[str, object]) -> None:
    record = parse_entry(LogEntry(1, json.dumps(document), {}))
    assert record.format is LineFormat.JSON
    assert record.confidence is None or 0.0 <= record.confidence <= 1.0
    assert record.prompt is None or isinstance(record.prompt, str)
