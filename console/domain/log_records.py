"""Prompt/output log records: one per log line, parsed with a configurable field map.

A JSON line is read through a :class:`FieldMap`: for each record field, the paths to try in
order. The defaults follow the OpenTelemetry GenAI semantic conventions
(``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.usage.input_tokens`` /
``output_tokens``, the ``gen_ai.input.messages`` / ``gen_ai.output.messages`` attributes, the
``gen_ai.content.prompt`` / ``gen_ai.content.completion`` events and the
``gen_ai.user.message`` / ``gen_ai.choice`` event bodies), LiteLLM's standard logging
payload and OpenAI-style request/response bodies. logfmt and plain lines keep their raw text
(the raw view); their deployment and version still come from the stream labels.

Path syntax: keys separated by dots (a key that itself holds dots, as OpenTelemetry's
flattened attributes do, is matched whole first), a list index (``choices.0``) or a filter
``[key=value]`` that picks the last list element whose ``key`` is ``value``
(``messages[role=user].content``: the latest user message).
"""

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from console.domain.redaction import Redactor, Span
from console.domain.text_metrics import token_probability


class RecordField(StrEnum):
    """A field of a log record that the field map can point at."""

    DEPLOYMENT = "deployment"
    VERSION = "version"
    MODEL = "model"
    PROMPT = "prompt"
    OUTPUT = "output"
    LATENCY_MS = "latency_ms"
    LATENCY_S = "latency_s"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    CONFIDENCE = "confidence"
    LOGPROBS = "logprobs"
    FINISH_REASON = "finish_reason"
    REQUEST_ID = "request_id"


class LineFormat(StrEnum):
    """How a line was read: JSON through the field map, or kept raw."""

    JSON = "json"
    LOGFMT = "logfmt"
    PLAIN = "plain"


_OTEL_EVENTS = "events[name={}].attributes.{}"
DEFAULT_PATHS: Mapping[RecordField, tuple[str, ...]] = MappingProxyType(
    {
        RecordField.DEPLOYMENT: (
            "deployment",
            "attributes.deployment",
            "resource.service.name",
            "metadata.deployment",
            "model_group",
        ),
        RecordField.VERSION: (
            "model_version",
            "version",
            "attributes.model_version",
            "resource.service.version",
            "metadata.model_version",
        ),
        RecordField.MODEL: (
            "gen_ai.response.model",
            "attributes.gen_ai.response.model",
            "response.model",
            "gen_ai.request.model",
            "attributes.gen_ai.request.model",
            "request.model",
            "model",
        ),
        RecordField.PROMPT: (
            "gen_ai.prompt",
            "attributes.gen_ai.prompt",
            _OTEL_EVENTS.format("gen_ai.content.prompt", "gen_ai.prompt"),
            "gen_ai.input.messages[role=user].parts[type=text].content",
            "attributes.gen_ai.input.messages[role=user].parts[type=text].content",
            "body.content",
            "request.messages[role=user].content",
            "messages[role=user].content",
            "request.prompt",
            "prompt",
            "input",
        ),
        RecordField.OUTPUT: (
            "gen_ai.completion",
            "attributes.gen_ai.completion",
            _OTEL_EVENTS.format("gen_ai.content.completion", "gen_ai.completion"),
            "gen_ai.output.messages.0.parts[type=text].content",
            "attributes.gen_ai.output.messages.0.parts[type=text].content",
            "body.message.content",
            "response.choices.0.message.content",
            "response.choices.0.text",
            "choices.0.message.content",
            "completion",
            "output",
        ),
        RecordField.LATENCY_MS: ("latency_ms", "duration_ms", "attributes.latency_ms"),
        RecordField.LATENCY_S: ("latency_s", "response_time", "duration_s"),
        RecordField.INPUT_TOKENS: (
            "gen_ai.usage.input_tokens",
            "attributes.gen_ai.usage.input_tokens",
            "response.usage.prompt_tokens",
            "usage.prompt_tokens",
            "prompt_tokens",
        ),
        RecordField.OUTPUT_TOKENS: (
            "gen_ai.usage.output_tokens",
            "attributes.gen_ai.usage.output_tokens",
            "response.usage.completion_tokens",
            "usage.completion_tokens",
            "completion_tokens",
        ),
        RecordField.CONFIDENCE: ("confidence", "attributes.confidence", "metadata.confidence"),
        RecordField.LOGPROBS: (
            "response.choices.0.logprobs.content",
            "choices.0.logprobs.content",
            "logprobs",
            "attributes.logprobs",
        ),
        RecordField.FINISH_REASON: (
            "gen_ai.response.finish_reasons.0",
            "attributes.gen_ai.response.finish_reasons.0",
            "body.finish_reason",
            "response.choices.0.finish_reason",
            "choices.0.finish_reason",
            "finish_reason",
        ),
        RecordField.REQUEST_ID: (
            "gen_ai.response.id",
            "attributes.gen_ai.response.id",
            "response.id",
            "request_id",
            "id",
            "trace_id",
        ),
    }
)
"""Where each field is looked for, in order, when the profile sets nothing else."""

_STEP = re.compile(r"\[([^=\]]+)=([^\]]*)\]|([^.\[\]]+)")
_STEP_TEXT = r"(?:[^.\[\]\s]+|\[[^=\]]+=[^\]]*\])"
_PATH = re.compile(rf"^{_STEP_TEXT}(?:\.?{_STEP_TEXT})*$")


class FieldMapError(ValueError):
    """A field map entry is unusable; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class FieldMap:
    """For each record field, the JSON paths tried in order (the first present one wins)."""

    paths: Mapping[RecordField, tuple[str, ...]] = field(default_factory=lambda: DEFAULT_PATHS)

    @classmethod
    def with_overrides(cls, overrides: Mapping[str, str] | Iterable[tuple[str, str]]) -> "FieldMap":
        """The defaults, with each overridden field's own path tried first.

        Raises FieldMapError naming an unknown field or a malformed path.
        """
        items = overrides.items() if isinstance(overrides, Mapping) else overrides
        paths = dict(DEFAULT_PATHS)
        for name, path in items:
            record_field = check_field(name, path)
            paths[record_field] = (path, *DEFAULT_PATHS[record_field])
        return cls(MappingProxyType(paths))


def check_field(name: str, path: str) -> RecordField:
    """The record field called ``name``; raises FieldMapError naming it when it is unknown or
    ``path`` is not a usable JSON path."""
    try:
        record_field = RecordField(name)
    except ValueError:
        known = ", ".join(f.value for f in RecordField)
        raise FieldMapError(name, f"unknown field; use one of {known}") from None
    if not _PATH.match(path):
        raise FieldMapError(name, f"{path!r} is not a path like 'a.b', 'list.0' or 'l[k=v].c'")
    return record_field


@dataclass(frozen=True)
class LogEntry:
    """One line as a log backend returns it: nanosecond timestamp, text and stream labels."""

    timestamp_ns: int
    line: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> tuple[int, str, tuple[tuple[str, str], ...]]:
        """What makes two entries the same (for de-duplication at page boundaries)."""
        return (self.timestamp_ns, self.line, tuple(sorted(self.labels.items())))


@dataclass(frozen=True)
class LogRecord:
    """A parsed log line. Text fields may be redacted: ``redactions`` then lists, per field
    ("prompt", "output", "raw"), the spans replaced by placeholders."""

    key: str
    timestamp_ns: int
    labels: Mapping[str, str]
    format: LineFormat
    raw: str
    deployment: str | None = None
    version: str | None = None
    model: str | None = None
    prompt: str | None = None
    output: str | None = None
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    confidence: float | None = None
    finish_reason: str | None = None
    request_id: str | None = None
    redactions: Mapping[str, tuple[Span, ...]] = field(default_factory=dict)

    @property
    def timestamp(self) -> float:
        """Unix seconds."""
        return self.timestamp_ns / 1e9

    @property
    def tokens(self) -> int | None:
        """Input plus output tokens, when either is known."""
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    @property
    def redacted(self) -> bool:
        """True when any text of the record was redacted."""
        return any(self.redactions.values())


def parse_entry(
    entry: LogEntry,
    field_map: FieldMap | None = None,
    *,
    deployment_label: str = "deployment",
    version_label: str = "version",
) -> LogRecord:
    """The record of one log line; never raises on malformed content (it stays raw)."""
    paths = (field_map or FieldMap()).paths
    labels = entry.labels
    deployment, version = labels.get(deployment_label), labels.get(version_label)
    document = _json_object(entry.line)
    if document is None:
        return LogRecord(
            key=_record_key(entry),
            timestamp_ns=entry.timestamp_ns,
            labels=labels,
            format=LineFormat.LOGFMT if _looks_like_logfmt(entry.line) else LineFormat.PLAIN,
            raw=entry.line,
            deployment=deployment,
            version=version,
        )

    def first(record_field: RecordField) -> Any:
        for path in paths.get(record_field, ()):
            value = resolve(document, path)
            if value is not None:
                return value
        return None

    return LogRecord(
        key=_record_key(entry),
        timestamp_ns=entry.timestamp_ns,
        labels=labels,
        format=LineFormat.JSON,
        raw=entry.line,
        deployment=deployment or _text(first(RecordField.DEPLOYMENT)),
        version=version or _text(first(RecordField.VERSION)),
        model=_text(first(RecordField.MODEL)),
        prompt=_content(first(RecordField.PROMPT)),
        output=_content(first(RecordField.OUTPUT)),
        latency_ms=_latency_ms(document, first),
        input_tokens=_count(first(RecordField.INPUT_TOKENS)),
        output_tokens=_count(first(RecordField.OUTPUT_TOKENS)),
        confidence=_confidence(first(RecordField.CONFIDENCE), first(RecordField.LOGPROBS)),
        finish_reason=_text(first(RecordField.FINISH_REASON)),
        request_id=_text(first(RecordField.REQUEST_ID)),
    )


def resolve(document: Any, path: str) -> Any:
    """The value at ``path`` in a decoded JSON document, or None."""
    return _walk(document, _plan(path), 0)


_Step = tuple[str | None, str | None, str | None]
"""(filter key, filter value, key): a ``[k=v]`` filter or a key / list index."""
_Plan = tuple[tuple[_Step, ...], tuple[tuple[tuple[int, str], ...], ...]]
"""A path's steps and, per step, the (step count, joined key) candidates, longest first."""


@functools.lru_cache(maxsize=1024)
def _plan(path: str) -> _Plan:
    steps = tuple((m.group(1), m.group(2), m.group(3)) for m in _STEP.finditer(path))
    joins = []
    for start in range(len(steps)):
        run: list[str] = []
        for _, _, key in steps[start:]:
            if key is None:
                break
            run.append(key)
        # A flattened key ("gen_ai.usage.input_tokens") is tried whole before its parts.
        joins.append(tuple((n, ".".join(run[:n])) for n in range(len(run), 0, -1)))
    return steps, tuple(joins)


def _walk(node: Any, plan: _Plan, index: int) -> Any:
    steps, joins = plan
    if index == len(steps):
        return node
    filter_key, filter_value, key = steps[index]
    if filter_key is not None:
        if not isinstance(node, list):
            return None
        matches = [
            item
            for item in node
            if isinstance(item, dict) and str(item.get(filter_key)) == filter_value
        ]
        return _walk(matches[-1], plan, index + 1) if matches else None
    if isinstance(node, list):
        try:
            return _walk(node[int(key or "")], plan, index + 1)
        except (ValueError, IndexError):
            return None
    if not isinstance(node, dict):
        return None
    for count, joined in joins[index]:
        if joined in node:
            found = _walk(node[joined], plan, index + count)
            if found is not None:
                return found
    return None


def _record_key(entry: LogEntry) -> str:
    digest = hashlib.blake2b(digest_size=6)
    digest.update(entry.line.encode("utf-8", "replace"))
    for name, value in sorted(entry.labels.items()):
        digest.update(f"\x1f{name}={value}".encode("utf-8", "replace"))
    return f"{entry.timestamp_ns}-{digest.hexdigest()}"


def _json_object(line: str) -> dict[str, Any] | None:
    stripped = line.strip()
    if not stripped.startswith("{"):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


_LOGFMT_PAIR = re.compile(r'(?:^|\s)[A-Za-z_][\w.-]*=(?:"(?:[^"\\]|\\.)*"|\S*)')


def _looks_like_logfmt(line: str) -> bool:
    return len(_LOGFMT_PAIR.findall(line)) >= 2


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _content(value: Any) -> str | None:
    """A message content: a string, or the text parts of a content list."""
    if isinstance(value, list):
        parts = [
            str(part.get("text"))
            for part in value
            if isinstance(part, dict) and part.get("type") in (None, "text") and "text" in part
        ]
        return "\n".join(parts) or None
    if isinstance(value, dict):
        return _content(value.get("content")) if "content" in value else None
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else None


def _latency_ms(document: Mapping[str, Any], first: Any) -> float | None:
    latency = _number(first(RecordField.LATENCY_MS))
    if latency is not None:
        return latency
    seconds = _number(first(RecordField.LATENCY_S))
    if seconds is not None:
        return seconds * 1000.0
    # LiteLLM's standard logging payload: startTime and endTime in Unix seconds.
    start, end = _number(document.get("startTime")), _number(document.get("endTime"))
    if start is not None and end is not None and end >= start:
        return (end - start) * 1000.0
    return None


def _confidence(value: Any, logprobs: Any) -> float | None:
    confidence = _number(value)
    if confidence is not None and 0.0 <= confidence <= 1.0:
        return confidence
    if not isinstance(logprobs, list):
        return None
    numbers = [
        _number(item.get("logprob") if isinstance(item, dict) else item) for item in logprobs
    ]
    # A logprob is at most 0; anything else is not one (and would overflow exp()).
    return token_probability([n for n in numbers if n is not None and n <= 0])


def parse_entries(
    entries: Iterable[LogEntry],
    field_map: FieldMap | None = None,
    *,
    deployment_label: str = "deployment",
    version_label: str = "version",
) -> list[LogRecord]:
    """``parse_entry`` over many entries, in order."""
    chosen = field_map or FieldMap()
    return [
        parse_entry(entry, chosen, deployment_label=deployment_label, version_label=version_label)
        for entry in entries
    ]


REDACTED_FIELDS = ("prompt", "output", "raw")
"""The record texts that redaction covers."""


def redact_records(records: Sequence[LogRecord], redactor: Redactor) -> list[LogRecord]:
    """Each record with its prompt, output and raw line redacted (in one pass over all)."""
    texts: list[str] = []
    slots: list[tuple[int, str]] = []
    for index, record in enumerate(records):
        for name in REDACTED_FIELDS:
            value = getattr(record, name)
            if value:
                texts.append(value)
                slots.append((index, name))
    changes: dict[int, dict[str, Any]] = {}
    for (index, name), result in zip(slots, redactor.redact_many(texts), strict=True):
        if result.changed:
            change = changes.setdefault(index, {"redactions": {}})
            change[name] = result.text
            change["redactions"][name] = result.spans
    redacted = list(records)
    for index, change in changes.items():
        change["redactions"] = MappingProxyType(change["redactions"])
        redacted[index] = replace(records[index], **change)
    return redacted
