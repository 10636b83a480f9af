"""A loopback deployer for webhook tests: records every request, answers a status URL.

``POST``/``PUT`` to any path except ``/status`` is a deployment request: recorded, then
answered ``accept_status`` (after ``release`` is set, when ``hold`` is on — a test can kill
the client while its request hangs). ``GET /status`` answers ``{"status": S}`` with each of
``statuses`` in turn (the last one repeats).
"""

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request the deployer got."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class WebhookReceiver:
    """The deployer on 127.0.0.1 (a random port) in a background thread."""

    def __init__(self, *, accept_status: int = 202, hold: bool = False) -> None:
        self.accept_status = accept_status
        self.hold = hold
        self.statuses = ["running", "succeeded"]
        self.requests: list[Received] = []
        self.received = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The deployer's base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def deployments(self) -> list[Received]:
        """The deployment requests (not status reads) received so far."""
        with self._lock:
            return [r for r in self.requests if r.method != "GET"]

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)
        self.received.set()

    def _next_status(self) -> str:
        with self._lock:
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests assert on the recorded requests."""

        def do_GET(self) -> None:
            receiver._record(Received("GET", self.path, dict(self.headers), None))
            self._answer(200, {"status": receiver._next_status()})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            receiver._record(Received(self.command, self.path, dict(self.headers), body))
            if receiver.hold:
                receiver.release.wait(60.0)
            self._answer(receiver.accept_status, {"accepted": True})

        do_PUT = do_POST

        def _answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client is gone (the kill -9 test kills it mid-request)

    return Handler
