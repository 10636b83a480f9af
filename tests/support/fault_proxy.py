"""A loopback HTTP proxy that injects faults between a client and a real server.

Each request gets its own upstream connection (``Connection: close``), so a fault switched
at run time applies to the very next request even when the client pools connections.
Optionally the proxy demands headers (such as a bearer token) and answers 401 without them.
"""

import asyncio
import contextlib
import socket
import struct
import threading
from collections import Counter
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "upgrade"}
_TRUNCATED_BODY = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":'
_CLIENT_READ_TIMEOUT_S = 10.0


class Fault(StrEnum):
    """What the proxy does with the next request."""

    PASS = "pass"
    LATENCY = "latency"
    """Forward after ``delay_s``."""
    RESET = "reset"
    """Close the connection with a TCP reset, answering nothing."""
    HTTP_500 = "http_500"
    TRUNCATED = "truncated"
    """Answer 200 with a Content-Length larger than the body sent, then close."""
    HANG = "hang"
    """Read the request and never answer (until the client gives up or the proxy stops)."""


@dataclass(frozen=True)
class _Mode:
    fault: Fault
    delay_s: float


class FaultProxy:
    """Forwards ``http://127.0.0.1:<port>`` to ``upstream`` with switchable faults.

    Runs its own asyncio loop in a daemon thread; ``served`` counts requests per fault.
    """

    def __init__(self, upstream: str, *, required_headers: Mapping[str, str] | None = None) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"upstream must be http://host:port, got {upstream!r}")
        self._upstream = (parts.hostname, parts.port)
        self._required = {k.lower(): v for k, v in (required_headers or {}).items()}
        self._mode = _Mode(Fault.PASS, 0.0)
        self.served: Counter[Fault] = Counter()
        self.rejected = 0
        """Requests answered 401 because a required header was missing or wrong."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fault-proxy", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def set_fault(self, fault: Fault, *, delay_s: float = 0.0) -> None:
        """Apply ``fault`` to every request from now on (``delay_s`` for LATENCY)."""
        self._mode = _Mode(fault, delay_s)

    def start(self) -> "FaultProxy":
        """Listen on a free loopback port."""
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop listening, drop every open connection and end the thread."""
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.transport.abort()  # ends hanging handlers: their reads see the connection go
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # the client went away or sent garbage: nothing to answer
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _CLIENT_READ_TIMEOUT_S)
        request_line, headers = _parse_head(head)
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        if any(headers.get(k) != v for k, v in self._required.items()):
            self.rejected += 1
            await _answer(writer, 401, b"injected check: a required header is missing or wrong\n")
            return
        mode = self._mode
        self.served[mode.fault] += 1
        if mode.fault is Fault.LATENCY:
            await asyncio.sleep(mode.delay_s)
        if mode.fault in (Fault.PASS, Fault.LATENCY):
            await self._forward(request_line, headers, body, writer)
        elif mode.fault is Fault.RESET:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode.fault is Fault.HTTP_500:
            await _answer(writer, 500, b"injected fault: internal server error\n")
        elif mode.fault is Fault.TRUNCATED:
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(_TRUNCATED_BODY) * 4}\r\n\r\n".encode()
                + _TRUNCATED_BODY
            )
            await writer.drain()
        else:
            await reader.read()  # HANG: returns only when the client closes

    async def _forward(
        self, request_line: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        try:
            up_writer.write(_head(request_line, headers) + body)
            await up_writer.drain()
            status_line, response_headers = _parse_head(await up_reader.readuntil(b"\r\n\r\n"))
            # The client must not reuse this connection: the next request may meet a fault.
            writer.write(_head(status_line, response_headers))
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            up_writer.close()
            with contextlib.suppress(OSError):
                await up_writer.wait_closed()


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return request_line, headers


def _head(first_line: str, headers: dict[str, str]) -> bytes:
    """A request or response head for one exchange on its own connection."""
    lines = [first_line, *(f"{k}: {v}" for k, v in headers.items() if k not in _HOP_BY_HOP)]
    return ("\r\n".join([*lines, "connection: close"]) + "\r\n\r\n").encode("latin-1")


async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
    reason = {401: "Unauthorized", 500: "Internal Server Error"}[status]
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
