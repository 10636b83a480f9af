"""The DEMO's prompt/output logs: a LogBackend over seeded, simulated gateway log lines.

Each minute of each deployment version holds a few records drawn from the same samples as
the DEMO's output drift (console/backends/demo_outputs.py: finish reasons, refusals, answer
lengths), dressed as the log lines real gateways write: OpenTelemetry GenAI attributes
(``support-chat``), LiteLLM's standard logging payload (``doc-qa``), OpenAI-style
request/response bodies with logprobs (``code-assist``), OpenTelemetry prompt/completion
events (``search-rerank``), logfmt score lines (``fraud-scorer``) and a few logfmt and plain
warnings. Versions follow the serving timeline of the metrics simulation, so the bad
``support-chat`` ``v42`` (more refusals, lower confidence) logs from its rollout on and
stops after a rollback. About one prompt in ten carries personal data or a credential for
the redaction to catch. Queries are answered by console/backends/log_memory.py.
"""

import hashlib
import json
import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from console.backends.demo import DemoBackend
from console.backends.demo_llm import DEGRADED_VERSIONS
from console.backends.demo_outputs import demo_outputs
from console.backends.errors import BadQuery
from console.backends.log_memory import count_instant, count_range, select
from console.backends.log_protocol import Direction, MetricSample, MetricSeries
from console.domain.log_records import LogEntry
from console.domain.logql import (
    CountQuery,
    LogQLError,
    LogQuery,
    parse_count_query,
    parse_log_query,
)
from console.domain.outputs import OutputRecord
from console.domain.redaction import luhn_valid

ServingAt = Callable[[str, float], Mapping[str, float]]
"""(deployment, Unix seconds) -> the traffic share of each serving version."""

_MINUTE_S = 60
_NS = 1_000_000_000
RECORDS_PER_MINUTE = 6
"""Sampled prompt/output records per deployment and minute (the gateway logs a sample)."""
PII_SHARE = 0.1
CACHED_MINUTES = 6 * 24 * 60
"""Generated (deployment, version, minute) blocks kept: a day of the whole fleet."""
_ENGINES = {
    "support-chat": "vllm",
    "doc-qa": "vllm",
    "code-assist": "tgi",
    "search-rerank": "otel",
    "fraud-scorer": "triton",
}
_MEDIAN_LATENCY_S = {"support-chat": 0.7, "doc-qa": 0.9, "code-assist": 1.1, "search-rerank": 1.4}
_DEGRADED_LATENCY_FACTOR = 4.5
_REFUSAL = "I'm sorry, but I can't help with that."
_PROMPTS = {
    "support-chat": (
        "Where is my order {order}? It was due last week.",
        "How do I reset my account password?",
        "Can I change the delivery address of order {order}?",
        "My package arrived damaged, what can I do?",
        "Do you ship to Canada?",
    ),
    "doc-qa": (
        "What does section 4.2 of the returns policy say about opened items?",
        "Summarise the warranty terms for the X200 headphones.",
        "Which documents do I need for a VAT refund?",
    ),
    "code-assist": (
        "Write a Python function that deduplicates a list while keeping order.",
        "Why does my SQL query with GROUP BY return duplicate rows?",
        "Explain this stack trace: KeyError: 'user_id' in handlers.py line 88.",
    ),
    "search-rerank": (
        "wireless noise cancelling headphones under 200",
        "return label printer",
        "usb-c charger 65w",
    ),
}
_ANSWERS = {
    "support-chat": (
        "Your order {order} left our warehouse yesterday and should arrive within 2 days.",
        "Open Settings, choose Security and click Reset password; we email you a link.",
        "I've updated the delivery address for order {order}.",
        "I'm sorry about that! I've started a replacement; no need to return the item.",
        "Yes, we ship to Canada; delivery takes 5-7 business days.",
    ),
    "doc-qa": (
        "Opened items can be returned within 30 days if all accessories are included.",
        "The X200 has a two-year warranty covering manufacturing defects.",
        "You need the receipt, your passport and the export form stamped at customs.",
    ),
    "code-assist": (
        "def dedupe(items):\n    return list(dict.fromkeys(items))",
        "A JOIN multiplies the rows before grouping; aggregate in a subquery first.",
        "The dict has no 'user_id' key; use .get('user_id') or check the payload.",
    ),
    "search-rerank": (
        '{{"ranked": [3, 1, 2]}}',
        '{{"ranked": [2, 3, 1]}}',
        '{{"ranked": [1, 2, 3]}}',
    ),
}
_PII_SENTENCES = (
    "You can reach me at {email}.",
    "Call me back on {phone}.",
    "Charge the card {card} please.",
    "Refund it to my IBAN {iban}.",
    "My SSN is {ssn} if you need to verify me.",
    "The request came from {ip}.",
    "Here is my API key {key}, it stopped working.",
)
_FIRST = ("maria", "john", "li", "ahmed", "sofia", "kenji", "emma", "lucas")
_LAST = ("garcia", "smith", "wei", "khan", "rossi", "tanaka", "muller", "silva")


class DemoLogBackend:
    """The DEMO's log backend; implements LogBackend with no server at all."""

    name = "demo"

    def __init__(
        self,
        serving: ServingAt | None = None,
        *,
        seed: int = 7,
        clock: Callable[[], float] = time.time,
        per_minute: int = RECORDS_PER_MINUTE,
    ) -> None:
        if serving is None:
            serving = DemoBackend(seed=seed, clock=clock).serving
        self._serving = serving
        self._seed = seed
        self._clock = clock
        self._per_minute = per_minute
        self._cache: OrderedDict[tuple[str, str, int, int], list[LogEntry]] = OrderedDict()

    async def query_range(
        self,
        query: str,
        start_ns: int,
        end_ns: int,
        *,
        limit: int,
        direction: Direction = Direction.BACKWARD,
    ) -> list[LogEntry]:
        """Up to ``limit`` simulated lines of the range that match the query."""
        parsed = _parse(query)
        end_ns = min(end_ns, int(self._clock() * _NS))
        return select(
            self.entries(start_ns, end_ns, direction, parsed),
            parsed,
            start_ns,
            end_ns,
            limit=limit,
            direction=direction,
        )

    async def labels(self, start_ns: int | None = None, end_ns: int | None = None) -> list[str]:
        """The labels every DEMO stream carries."""
        return ["app", "deployment", "engine", "level", "version"]

    async def label_values(
        self, name: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> list[str]:
        """The values of one label over the range (default: the last hour)."""
        values = {s.get(name) for s in await self.series(['{app="llm-gateway"}'], start_ns, end_ns)}
        return sorted(v for v in values if v is not None)

    async def series(
        self, matchers: Sequence[str], start_ns: int | None = None, end_ns: int | None = None
    ) -> list[dict[str, str]]:
        """The label sets of the streams in the range that match any selector."""
        queries = [_parse(m) for m in matchers]
        end = end_ns if end_ns is not None else int(self._clock() * _NS)
        start = start_ns if start_ns is not None else end - 3600 * _NS
        found: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        for minute in range(start // (_MINUTE_S * _NS), math.ceil(end / (_MINUTE_S * _NS))):
            for deployment in _ENGINES:
                for version in self._serving(deployment, minute * _MINUTE_S):
                    for level in ("info", "warn"):
                        labels = _labels(deployment, version, level)
                        if any(q.selects(labels) for q in queries):
                            found[tuple(sorted(labels.items()))] = labels
        return [found[key] for key in sorted(found)]

    async def instant(self, query: str, at_ns: int | None = None) -> list[MetricSample]:
        """``count_over_time`` (maybe summed) at one instant."""
        count = _parse_count(query)
        at = at_ns if at_ns is not None else int(self._clock() * _NS)
        start = at - int(count.range_s * _NS)
        return count_instant(self.entries(start, at + 1, Direction.FORWARD), count, at)

    async def metric_range(
        self, query: str, start_ns: int, end_ns: int, step_s: float
    ) -> list[MetricSeries]:
        """``count_over_time`` (maybe summed) at each step of the range."""
        count = _parse_count(query)
        first = start_ns - int(count.range_s * _NS)
        entries = self.entries(first, end_ns + 1, Direction.FORWARD)
        return count_range(entries, count, start_ns, end_ns, max(1, int(step_s * _NS)))

    async def aclose(self) -> None:
        """Nothing to release."""

    def entries(
        self, start_ns: int, end_ns: int, direction: Direction, query: LogQuery | None = None
    ) -> Iterator[LogEntry]:
        """Every simulated line with ``start_ns <= t < end_ns``, in ``direction`` order,
        generated a minute at a time (a backward query with a limit stops early); with a
        ``query``, only the deployments whose streams it can select are generated."""
        first = start_ns // (_MINUTE_S * _NS)
        last = math.ceil(end_ns / (_MINUTE_S * _NS))
        minutes = range(first, last)
        if direction is Direction.BACKWARD:
            minutes = minutes[::-1]
        for minute in minutes:
            lines = self._minute(minute, query)
            if direction is Direction.BACKWARD:
                lines.reverse()
            yield from (e for e in lines if start_ns <= e.timestamp_ns < end_ns)

    def _minute(self, minute: int, query: LogQuery | None) -> list[LogEntry]:
        start = minute * _MINUTE_S
        entries = []
        for deployment in _ENGINES:
            shares = self._serving(deployment, float(start))
            for version, share in shares.items():
                if query is not None and not any(
                    query.selects(_labels(deployment, version, level)) for level in ("info", "warn")
                ):
                    continue
                count = max(1, round(self._per_minute * share))
                entries.extend(self._version_minute(deployment, version, minute, count))
        entries.sort(key=lambda e: (e.timestamp_ns, e.line))
        return entries

    def _version_minute(
        self, deployment: str, version: str, minute: int, count: int
    ) -> list[LogEntry]:
        """One minute of one version's lines (cached: tails and histograms ask again)."""
        key = (deployment, version, minute, count)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        start = minute * _MINUTE_S
        rng = random.Random(_seed(self._seed, deployment, version, minute))
        if deployment == "fraud-scorer":
            lines = _score_lines(rng, version, start, count)
        else:
            outputs = demo_outputs(
                deployment, version, start, start + _MINUTE_S, seed=self._seed, per_minute=count
            )
            lines = [_record_line(rng, output) for output in outputs]
            if rng.random() < 0.2:
                lines.append(_warning_line(rng, deployment, version, start))
        self._cache[key] = lines
        if len(self._cache) > CACHED_MINUTES:
            self._cache.popitem(last=False)
        return lines


def _parse(query: str) -> LogQuery:
    try:
        return parse_log_query(query)
    except LogQLError as exc:
        raise BadQuery(f"DEMO logs: {exc}") from None


def _parse_count(query: str) -> CountQuery:
    try:
        return parse_count_query(query)
    except LogQLError as exc:
        raise BadQuery(f"DEMO logs: {exc}") from None


def _seed(seed: int, *parts: object) -> int:
    text = "\x1f".join(map(str, (seed, *parts)))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _labels(deployment: str, version: str, level: str) -> dict[str, str]:
    return {
        "app": "llm-gateway",
        "deployment": deployment,
        "engine": _ENGINES[deployment],
        "level": level,
        "version": version,
    }


def _record_line(rng: random.Random, output: OutputRecord) -> LogEntry:
    deployment, version = output.deployment, output.version
    degraded = (deployment, version) in DEGRADED_VERSIONS
    pick = rng.randrange(len(_PROMPTS[deployment]))
    order = f"A-{rng.randint(1000, 9999)}"
    prompt = _PROMPTS[deployment][pick].format(order=order)
    if rng.random() < PII_SHARE:
        prompt = f"{prompt} {_pii_sentence(rng)}"
    if output.refused:
        answer = _REFUSAL
    elif output.finish_reason == "error":
        answer = ""
    else:
        answer = _ANSWERS[deployment][pick].format(order=order)  # templates escape JSON {{ }}
    confidence = _confidence(rng, degraded, output.refused)
    latency_ms = round(
        rng.lognormvariate(math.log(_MEDIAN_LATENCY_S[deployment]), 0.4)
        * (_DEGRADED_LATENCY_FACTOR if degraded else 1.0)
        * 1000,
        1,
    )
    tokens_in = rng.randint(40, 900)
    fields = _Fields(deployment, version, prompt, answer, output, confidence, latency_ms, tokens_in)
    body = _FORMATS[deployment](rng, fields)
    return LogEntry(
        int(output.timestamp * _NS),
        json.dumps(body, separators=(",", ":")),
        _labels(deployment, version, "info"),
    )


@dataclass(frozen=True)
class _Fields:
    """What one simulated request was, before a gateway format writes it down."""

    deployment: str
    version: str
    prompt: str
    answer: str
    output: OutputRecord
    confidence: float
    latency_ms: float
    tokens_in: int

    @property
    def model(self) -> str:
        return f"{self.deployment}-{self.version}"


def _otel_attributes(rng: random.Random, f: _Fields) -> dict[str, object]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "vllm",
        "gen_ai.request.model": f.deployment,
        "gen_ai.response.model": f.model,
        "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(48):012x}",
        "gen_ai.response.finish_reasons": [f.output.finish_reason],
        "gen_ai.usage.input_tokens": f.tokens_in,
        "gen_ai.usage.output_tokens": f.output.output_tokens,
        "gen_ai.prompt": f.prompt,
        "gen_ai.completion": f.answer,
        "latency_ms": f.latency_ms,
        "confidence": round(f.confidence, 3),
    }


def _litellm_payload(rng: random.Random, f: _Fields) -> dict[str, object]:
    start = f.output.timestamp - f.latency_ms / 1000
    return {
        "id": f"chatcmpl-{rng.getrandbits(48):012x}",
        "call_type": "acompletion",
        "model": f.deployment,
        "model_group": f.deployment,
        "status": "failure" if f.output.finish_reason == "error" else "success",
        "messages": [
            {"role": "system", "content": "Answer from the documentation only."},
            {"role": "user", "content": f.prompt},
        ],
        "response": {
            "model": f.model,
            "choices": [
                {"message": {"content": f.answer}, "finish_reason": f.output.finish_reason}
            ],
        },
        "prompt_tokens": f.tokens_in,
        "completion_tokens": f.output.output_tokens,
        "startTime": round(start, 3),
        "endTime": round(f.output.timestamp, 3),
        "metadata": {"model_version": f.version, "confidence": round(f.confidence, 3)},
    }


def _openai_bodies(rng: random.Random, f: _Fields) -> dict[str, object]:
    # Token logprobs whose geometric mean is the record's confidence.
    tokens = max(1, min(f.output.output_tokens, 8))
    mean = math.log(max(f.confidence, 1e-6))
    logprobs = [mean + rng.uniform(-0.05, 0.05) for _ in range(tokens - 1)]
    logprobs.append(mean * tokens - sum(logprobs))
    return {
        "request": {"model": f.deployment, "messages": [{"role": "user", "content": f.prompt}]},
        "response": {
            "id": f"cmpl-{rng.getrandbits(48):012x}",
            "model": f.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f.answer},
                    "finish_reason": f.output.finish_reason,
                    "logprobs": {"content": [{"logprob": round(lp, 4)} for lp in logprobs]},
                }
            ],
            "usage": {"prompt_tokens": f.tokens_in, "completion_tokens": f.output.output_tokens},
        },
        "duration_ms": f.latency_ms,
    }


def _otel_events(rng: random.Random, f: _Fields) -> dict[str, object]:
    return {
        "gen_ai.request.model": f.deployment,
        "gen_ai.response.model": f.model,
        "gen_ai.usage.input_tokens": f.tokens_in,
        "gen_ai.usage.output_tokens": f.output.output_tokens,
        "events": [
            {"name": "gen_ai.content.prompt", "attributes": {"gen_ai.prompt": f.prompt}},
            {"name": "gen_ai.content.completion", "attributes": {"gen_ai.completion": f.answer}},
        ],
        "latency_ms": f.latency_ms,
        "confidence": round(f.confidence, 3),
        "trace_id": f"{rng.getrandbits(128):032x}",
    }


_FORMATS: Mapping[str, Callable[[random.Random, _Fields], dict[str, object]]] = {
    "support-chat": _otel_attributes,
    "doc-qa": _litellm_payload,
    "code-assist": _openai_bodies,
    "search-rerank": _otel_events,
}


def _confidence(rng: random.Random, degraded: bool, refused: bool) -> float:
    low_share = 0.4 if degraded else 0.05
    if refused or rng.random() < low_share:
        return rng.uniform(0.15, 0.5)
    return rng.uniform(0.7, 0.99)


def _score_lines(rng: random.Random, version: str, start: int, count: int) -> list[LogEntry]:
    labels = _labels("fraud-scorer", version, "info")
    lines = []
    for _ in range(count):
        at = start + rng.uniform(0, _MINUTE_S)
        line = (
            f"level=info msg=scored model=fraud-scorer version={version} "
            f"score={rng.random():.3f} latency_ms={rng.uniform(8, 60):.1f}"
        )
        lines.append(LogEntry(int(at * _NS), line, labels))
    return lines


def _warning_line(rng: random.Random, deployment: str, version: str, start: int) -> LogEntry:
    at = int((start + rng.uniform(0, _MINUTE_S)) * _NS)
    if rng.random() < 0.5:
        line = (
            f'level=warn msg="upstream retry" deployment={deployment} attempt=2 '
            f"client_ip=10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        )
    else:
        line = f"WARN KV cache usage {rng.randint(86, 97)}% on gpu {rng.randint(0, 3)}"
    return LogEntry(at, line, _labels(deployment, version, "warn"))


def _pii_sentence(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    values = {
        "email": f"{first}.{last}@example.com",
        "phone": f"+1 415 555 {rng.randint(0, 9999):04d}",
        "card": _card(rng),
        "iban": "DE89 3704 0044 0532 0130 00",
        "ssn": f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
        "ip": f"203.0.113.{rng.randint(1, 254)}",
        "key": "sk-" + "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(40)),
    }
    return rng.choice(_PII_SENTENCES).format(**values)


def _card(rng: random.Random) -> str:
    body = "4" + "".join(str(rng.randint(0, 9)) for _ in range(14))
    digits = next(body + d for d in "0123456789" if luhn_valid(body + d))
    return " ".join(digits[i : i + 4] for i in range(0, 16, 4))
