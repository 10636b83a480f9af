"""The DEMO's model endpoints: a real OpenAI-compatible server on loopback, in-process.

The DEMO deployments answer chat completions through :class:`DemoLLMServer` (stdlib
``http.server`` in a background thread), so a suite run against the DEMO goes through the
same HTTP client, retries and timings as a run against vLLM. The model name picks who
answers: ``support-chat`` asks ``serving`` (normally ``DemoBackend.serving``) which version
takes the request, by its traffic share; ``support-chat@v41`` pins a version (any name:
the DEMO backend does not publish the versions it knows).

Answers come from a small script of support topics, matched by keywords in the last user
message. Every version answers them well except ``support-chat`` ``v42``, the bad release
of the DEMO story: it is slow (over 3 s even for a greeting), wraps JSON in chatter and
refuses benign questions, so the shipped smoke suite passes on v41 and fails on v42.
Streaming (server-sent events, with the usage chunk when asked) and logprobs are supported.
"""

import json
import math
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from console.domain.text_metrics import word_tokens

VERSION_SEPARATOR = "@"
ServingLookup = Callable[[str], Mapping[str, float]]
"""Deployment -> the shares of traffic its versions take now (ValueError: unknown)."""


@dataclass(frozen=True)
class _Topic:
    keywords: tuple[str, ...]
    good: str
    degraded: str | None = None
    """What the bad version says instead (None: the same)."""


_REFUSAL = "I'm sorry, but I can't help with that."
_TOPICS = (
    _Topic(("capital of france", "capital", "france"), "Paris"),
    _Topic(("17 + 25", "17+25"), "42"),
    _Topic(("exactly the word ok", "word ok"), "OK"),
    _Topic(
        ("json object", "order_id", "a-1001"),
        '{"order_id": "A-1001", "status": "shipped"}',
        'Sure! Here is the JSON: {"order_id": "A-1001", "status": "shipped"}',
    ),
    _Topic(("break into", "neighbour's house", "neighbor's house"), _REFUSAL),
    _Topic(
        ("reset my account password", "reset", "password"),
        "Open Settings, choose Security and click Reset password; we email you a link.",
        _REFUSAL,
    ),
    _Topic(
        ("kill a process", "process", "stuck on linux"),
        "Find its PID with `ps` and run `kill -TERM PID` (or `kill -9 PID`).",
        "I can't help with killing anything.",
    ),
    _Topic(
        ("two weeks late", "order is", "late"),
        "I'm so sorry your order is late; I've escalated it.",
    ),
    _Topic(("greet the customer", "greet"), "Hello, and welcome to {company} support!"),
    _Topic(("after monday", "monday"), "Tuesday"),
)
_FALLBACK = _Topic(
    (),
    "Thanks for reaching out! A support specialist will follow up with the details shortly.",
    _REFUSAL,
)
_COMPANY = re.compile(r"assistant of ([^.\n]+?)\.")


@dataclass(frozen=True)
class _Pace:
    """How a version answers: time to the first token, time per further token, certainty."""

    ttft_s: float
    per_token_s: float
    token_probability: float


_GOOD_PACE = _Pace(ttft_s=0.06, per_token_s=0.004, token_probability=0.97)
_DEGRADED_PACE = _Pace(ttft_s=2.6, per_token_s=0.1, token_probability=0.72)
DEGRADED_VERSIONS = frozenset({("support-chat", "v42")})
"""(deployment, version) pairs that answer like the DEMO's bad release."""


@dataclass(frozen=True)
class DemoAnswer:
    """Who answered and what: the text split into tokens, and how fast they come."""

    deployment: str
    version: str
    tokens: tuple[str, ...]
    pace: _Pace

    @property
    def text(self) -> str:
        """The whole answer."""
        return "".join(self.tokens)

    @property
    def model(self) -> str:
        """The model name the answer reports: ``deployment@version``."""
        return f"{self.deployment}{VERSION_SEPARATOR}{self.version}"


class UnknownModel(ValueError):
    """The model name names no DEMO deployment or version."""


class DemoLLMServer:
    """The loopback endpoint of the DEMO deployments; ``base_url`` ends in ``/v1``.

    ``time_scale`` multiplies every delay (tests use less than 1 to run faster).
    """

    def __init__(
        self,
        serving: ServingLookup,
        *,
        seed: int = 7,
        time_scale: float = 1.0,
    ) -> None:
        self._serving = serving
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.time_scale = time_scale
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` once started."""
        if self._server is None:
            raise RuntimeError("the DEMO model server is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "DemoLLMServer":
        """Listen on a free loopback port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = QuietHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="demo-llm", kwargs={"poll_interval": 0.1}
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; answers still being 'generated' are abandoned."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(5.0)
        self._server = self._thread = None

    def __enter__(self) -> "DemoLLMServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, model: str, messages: Sequence[Mapping[str, Any]]) -> DemoAnswer:
        """What the deployment behind ``model`` answers to ``messages``; UnknownModel."""
        deployment, _, pinned = model.partition(VERSION_SEPARATOR)
        try:
            shares = self._serving(deployment)
        except (KeyError, ValueError) as exc:
            raise UnknownModel(f"model {model!r}: {exc}") from None
        version = pinned or self._pick(shares)
        degraded = (deployment, version) in DEGRADED_VERSIONS
        text = _reply(_last_user_text(messages), _system_text(messages), degraded=degraded)
        return DemoAnswer(
            deployment,
            version,
            tuple(re.findall(r"\s*\S+", text)) or ("",),
            _DEGRADED_PACE if degraded else _GOOD_PACE,
        )

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` (scaled); False when the server stopped meanwhile."""
        return not self._stopping.wait(max(seconds * self.time_scale, 0.0))

    def _pick(self, shares: Mapping[str, float]) -> str:
        if not shares:
            raise UnknownModel("the deployment serves no version right now")
        versions = sorted(shares)
        with self._rng_lock:
            return self._rng.choices(versions, weights=[shares[v] for v in versions])[0]


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    users = [m for m in messages if m.get("role") == "user"] or list(messages)
    content = users[-1].get("content") if users else ""
    return content if isinstance(content, str) else ""


def _system_text(messages: Sequence[Mapping[str, Any]]) -> str:
    return " ".join(
        str(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
    )


def _reply(question: str, system: str, *, degraded: bool) -> str:
    text = question.lower()
    hits = [(sum(k in text for k in topic.keywords), topic) for topic in _TOPICS]
    score, topic = max(hits, key=lambda hit: hit[0])
    chosen = topic if score > 0 else _FALLBACK
    reply = chosen.degraded if degraded and chosen.degraded is not None else chosen.good
    company = _COMPANY.search(system)
    return reply.replace("{company}", company.group(1).strip() if company else "our")


class QuietHTTPServer(ThreadingHTTPServer):
    """Serves each request in a daemon thread; a client hanging up is not an error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(server: DemoLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        demo = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    demo: DemoLLMServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the DEMO server does not log every request."""

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
        except (ValueError, OSError):
            self._error(400, "the body is not JSON")
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {self.path}")
            return
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            self._error(400, "expected a JSON object with model and a list of messages")
            return
        try:
            answer = self.demo.answer(str(body.get("model", "")), messages)
        except UnknownModel as exc:
            self._error(404, str(exc))
            return
        prompt_tokens = sum(len(word_tokens(str(m.get("content", "")))) for m in messages)
        try:
            if body.get("stream"):
                self._stream(answer, body, prompt_tokens)
            else:
                self._complete(answer, body, prompt_tokens)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _complete(self, answer: DemoAnswer, body: Mapping[str, Any], prompt_tokens: int) -> None:
        pace = answer.pace
        if not self.demo.wait(pace.ttft_s + pace.per_token_s * (len(answer.tokens) - 1)):
            return
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": answer.text},
            "finish_reason": "stop",
        }
        if body.get("logprobs"):
            choice["logprobs"] = {"content": _logprobs(answer.tokens, pace)}
        self._json(
            200,
            {
                **_envelope(answer, "chat.completion"),
                "choices": [choice],
                "usage": _usage(prompt_tokens, len(answer.tokens)),
            },
        )

    def _stream(self, answer: DemoAnswer, body: Mapping[str, Any], prompt_tokens: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        envelope = _envelope(answer, "chat.completion.chunk")
        pace = answer.pace
        for position, token in enumerate(answer.tokens):
            if not self.demo.wait(pace.ttft_s if position == 0 else pace.per_token_s):
                return
            choice: dict[str, Any] = {"index": 0, "delta": {"content": token}}
            if position == 0:
                choice["delta"]["role"] = "assistant"
            if body.get("logprobs"):
                choice["logprobs"] = {"content": _logprobs((token,), pace)}
            self._event({**envelope, "choices": [choice]})
        self._event({**envelope, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            self._event(
                {**envelope, "choices": [], "usage": _usage(prompt_tokens, len(answer.tokens))}
            )
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _event(self, data: Mapping[str, Any]) -> None:
        self._chunk(f"data: {json.dumps(data)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, data: object) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": "invalid_request_error"}})


def _envelope(answer: DemoAnswer, kind: str) -> dict[str, Any]:
    return {
        "id": f"demo-{time.monotonic_ns()}",
        "object": kind,
        "created": int(time.time()),
        "model": answer.model,
        "system_fingerprint": f"demo-{answer.deployment}-{answer.version}",
    }


def _logprobs(tokens: Sequence[str], pace: _Pace) -> list[dict[str, Any]]:
    logprob = math.log(pace.token_probability)
    return [{"token": t, "logprob": logprob, "bytes": None, "top_logprobs": []} for t in tokens]


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
