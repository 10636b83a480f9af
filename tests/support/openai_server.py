"""A loopback OpenAI-compatible chat server for tests and benchmarks, with controllable faults.

``OpenAIServer`` (stdlib ``ThreadingHTTPServer`` in a thread, a free 127.0.0.1 port) answers
``POST /v1/chat/completions`` like vLLM or llama.cpp would, streamed (server-sent events)
or not. What it does is set on its public fields, also between requests:

- ``latency_s``: the time before answering (the first token, when streaming), spent in a
  ``select`` on the client socket, so a client that hangs up is noticed (``aborted``);
- ``token_interval_s``: the time between streamed tokens;
- ``answer``: the text for a request (default: echo the last user message);
- ``tool_calls``: answer with these (name, JSON arguments) calls and ``content: null``;
- ``logprob``: the logprob of every token when the request asks for logprobs (None: the
  server ignores the request for logprobs, like one that does not support them);
- ``include_usage``, ``model``, ``fingerprint``: what the answer carries;
- ``script``: replies to give first, one per request, e.g. ``Reply(429, retry_after="1")``.

It records every request (``requests``: body and headers), the requests in flight and their
peak (``max_in_flight``), and the number of requests whose client hung up (``aborted``).
"""

import json
import re
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from console.backends.demo_llm import QuietHTTPServer


@dataclass(frozen=True)
class Reply:
    """A scripted reply: a status with an error body, or a raw body (``body`` bytes)."""

    status: int
    message: str = "scripted failure"
    retry_after: str | None = None
    body: bytes | None = None
    delay_s: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    body: Mapping[str, Any]
    headers: Mapping[str, str]
    at: float


def echo(messages: Sequence[Mapping[str, Any]]) -> str:
    """The last user message's text."""
    users = [m for m in messages if m.get("role") == "user"]
    return str(users[-1].get("content", "")) if users else ""


@dataclass
class OpenAIServer:
    """The server; use as a context manager (``with OpenAIServer() as server``)."""

    latency_s: float = 0.0
    token_interval_s: float = 0.0
    answer: Callable[[Sequence[Mapping[str, Any]]], str] = echo
    tool_calls: tuple[tuple[str, str], ...] = ()
    logprob: float | None = -0.05
    include_usage: bool = True
    model: str | None = None
    fingerprint: str | None = "fp-test"
    script: deque[Reply] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    aborted: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "OpenAIServer":
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def wait_until(self, condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        """Poll ``condition`` (every 5 ms) until it holds or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.005)
        return condition()

    def _enter(self, received: Received) -> Reply | None:
        with self._lock:
            self.requests.append(received)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.script.popleft() if self.script else None

    def _leave(self, aborted: bool) -> None:
        with self._lock:
            self.in_flight -= 1
            self.aborted += aborted


class _Server(QuietHTTPServer):
    request_queue_size = 128


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    owner: OpenAIServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        body = json.loads(raw)
        owner = self.owner
        scripted = owner._enter(Received(body, dict(self.headers.items()), time.monotonic()))
        aborted = False
        try:
            if scripted is not None:
                aborted = not self._wait(scripted.delay_s)
                if not aborted:
                    self._scripted(scripted)
                return
            aborted = not self._wait(owner.latency_s)
            if aborted:
                return
            if body.get("stream"):
                aborted = not self._stream(body)
            else:
                self._json(200, self._completion(body))
        except (BrokenPipeError, ConnectionResetError):
            aborted = True
        finally:
            owner._leave(aborted)
            if aborted:
                self.close_connection = True

    def _wait(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the client hung up (or the server stops) meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            if self.owner._stopping.is_set():
                return False
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.25))
            if readable:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        return False
                except OSError:
                    return False
                time.sleep(min(remaining, 0.005))  # pipelined bytes: keep waiting

    def _scripted(self, reply: Reply) -> None:
        if reply.body is not None:
            self._raw(reply.status, reply.body)
            return
        headers = {"Retry-After": reply.retry_after} if reply.retry_after is not None else {}
        self._json(
            reply.status,
            {"error": {"message": reply.message, "type": "test_error"}},
            headers,
        )

    def _tokens(self, body: Mapping[str, Any]) -> list[str]:
        return re.findall(r"\S+\s*", self.owner.answer(body.get("messages", [])))

    def _completion(self, body: Mapping[str, Any]) -> dict[str, Any]:
        owner = self.owner
        tokens = self._tokens(body)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(tokens)}
        if owner.tool_calls:
            message["content"] = None
            message["tool_calls"] = [
                {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
                for i, (n, a) in enumerate(owner.tool_calls)
            ]
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": "stop"}
        if body.get("logprobs") and owner.logprob is not None:
            choice["logprobs"] = {
                "content": [{"token": t, "logprob": owner.logprob} for t in tokens]
            }
        answer = self._envelope(body, "chat.completion")
        answer["choices"] = [choice]
        if owner.include_usage:
            answer["usage"] = {"prompt_tokens": 7, "completion_tokens": len(tokens)}
        return answer

    def _envelope(self, body: Mapping[str, Any], kind: str) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": "chatcmpl-test",
            "object": kind,
            "created": int(time.time()),
            "model": self.owner.model or body.get("model"),
        }
        if self.owner.fingerprint is not None:
            answer["system_fingerprint"] = self.owner.fingerprint
        return answer

    def _stream(self, body: Mapping[str, Any]) -> bool:
        owner = self.owner
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        envelope = self._envelope(body, "chat.completion.chunk")
        tokens = self._tokens(body)
        for position, token in enumerate(tokens):
            if position and not self._wait(owner.token_interval_s):
                return False
            choice: dict[str, Any] = {"index": 0, "delta": {"content": token}}
            if body.get("logprobs") and owner.logprob is not None:
                choice["logprobs"] = {"content": [{"token": token, "logprob": owner.logprob}]}
            self._event({**envelope, "choices": [choice]})
        for index, (name, arguments) in enumerate(owner.tool_calls):
            half = len(arguments) // 2
            for part, piece in enumerate((arguments[:half], arguments[half:])):
                function = {"arguments": piece, **({"name": name} if part == 0 else {})}
                delta = {"tool_calls": [{"index": index, "function": function}]}
                self._event({**envelope, "choices": [{"index": 0, "delta": delta}]})
        self._event({**envelope, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if owner.include_usage and (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 7, "completion_tokens": len(tokens)}
            self._event({**envelope, "choices": [], "usage": usage})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")
        return True

    def _event(self, data: Mapping[str, Any]) -> None:
        self._chunk(f"data: {json.dumps(data)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, data: object, headers: Mapping[str, str] | None = None) -> None:
        self._raw(status, json.dumps(data).encode(), headers)

    def _raw(self, status: int, payload: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
