"""A loopback server replaying the response shapes of Loki's documented HTTP API (/loki/api/v1).

No Loki binary can be installed from the registries reachable here, so tests talk to this
instead. It holds a fixed set of streams and answers like Loki does:

- ``GET /loki/api/v1/query_range``: log queries as ``resultType: "streams"`` with nanosecond
  *string* timestamps (``start`` inclusive, ``end`` exclusive, ``limit`` lines across all
  streams in ``direction`` order, default 100 and backward); ``count_over_time`` queries with
  a ``step`` as ``"matrix"``; a limit above ``max_entries`` is refused with HTTP 400 and
  Loki's plain-text message;
- ``GET /loki/api/v1/query``: instant metric queries as ``"vector"``;
- ``GET /loki/api/v1/labels``, ``/label/NAME/values`` and ``/series`` (``match[]``);
- every endpoint answers 401 ``no org id`` without an ``X-Scope-OrgID`` header (Loki with
  ``auth_enabled: true``) and, when ``token`` or ``basic`` is set, 401 without that bearer
  token or basic user and password (as the auth gateway in front of Loki would);
- LogQL beyond stream selectors, line filters and ``count_over_time`` is answered 400
  (the queries are interpreted by console/backends/log_memory.py).

Each request is recorded (path, query parameters, headers) for the tests to inspect.
"""

import base64
import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from console.backends.demo_llm import QuietHTTPServer
from console.backends.log_memory import count_instant, count_range, select
from console.backends.log_protocol import Direction, MetricSeries
from console.domain.log_records import LogEntry
from console.domain.logql import LogQLError, parse_count_query, parse_duration, parse_log_query

MAX_ENTRIES = 5000
"""Loki's default limits_config.max_entries_limit_per_query."""


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    path: str
    params: Mapping[str, list[str]]
    headers: Mapping[str, str]


@dataclass
class LokiReplayServer:
    """The server; use as a context manager. ``streams`` maps label sets to (ns, line)."""

    streams: Sequence[tuple[Mapping[str, str], Sequence[tuple[int, str]]]] = ()
    require_org_id: bool = True
    token: str | None = None
    basic: tuple[str, str] | None = None
    max_entries: int = MAX_ENTRIES
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: QuietHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the API is under /loki/api/v1)."""
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def entries(self) -> list[LogEntry]:
        """Every entry held, oldest first."""
        held = [
            LogEntry(ts, line, dict(labels))
            for labels, values in self.streams
            for ts, line in values
        ]
        return sorted(held, key=lambda e: (e.timestamp_ns, e.line))

    def __enter__(self) -> "LokiReplayServer":
        owner = self

        class Handler(_Handler):
            server_owner = owner

        self._server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def seen(self, path_suffix: str) -> list[Seen]:
        """The recorded requests whose path ends with ``path_suffix``."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(path_suffix)]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_owner: LokiReplayServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the recorded requests instead."""

    def do_GET(self) -> None:
        owner = self.server_owner
        parts = urlsplit(self.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        owner._record(Seen(parts.path, params, dict(self.headers.items())))
        if owner.require_org_id and not self.headers.get("X-Scope-OrgID"):
            self._text(401, "no org id\n")
            return
        if not _authorised(owner, self.headers.get("Authorization")):
            self._text(401, "authentication required\n")
            return
        try:
            data = self._route(parts.path, {k: v[-1] for k, v in params.items()}, params)
        except _BadRequest as exc:
            self._text(400, f"{exc}\n")
            return
        if data is None:
            self._text(404, "404 page not found\n")
            return
        self._json({"status": "success", "data": data})

    def _route(self, path: str, one: Mapping[str, str], many: Mapping[str, list[str]]) -> Any:
        owner = self.server_owner
        now_ns = time.time_ns()
        end = _time_ns(one.get("end"), now_ns)
        start = _time_ns(one.get("start"), end - 3600 * 10**9)
        if path == "/loki/api/v1/query_range":
            return self._query_range(one, start, end)
        if path == "/loki/api/v1/query":
            try:
                count = parse_count_query(one.get("query", ""))
            except LogQLError as exc:
                raise _BadRequest(f"parse error : {exc}") from None
            at = _time_ns(one.get("time"), now_ns)
            samples = count_instant(owner.entries(), count, at)
            return {
                "resultType": "vector",
                "result": [
                    {"metric": dict(s.labels), "value": [s.timestamp, _number(s.value)]}
                    for s in samples
                ],
            }
        if path == "/loki/api/v1/labels":
            names = {name for e in _in_range(owner, start, end) for name in e.labels}
            return sorted(names)
        match = re.fullmatch(r"/loki/api/v1/label/([^/]+)/values", path)
        if match:
            name = unquote(match.group(1))
            values = {e.labels[name] for e in _in_range(owner, start, end) if name in e.labels}
            return sorted(values)
        if path == "/loki/api/v1/series":
            selectors = many.get("match[]", [])
            if not selectors:
                raise _BadRequest("at least one match[] argument must be provided")
            try:
                queries = [parse_log_query(s) for s in selectors]
            except LogQLError as exc:
                raise _BadRequest(f"parse error : {exc}") from None
            found = {
                tuple(sorted(e.labels.items()))
                for e in _in_range(owner, start, end)
                if any(q.selects(e.labels) for q in queries)
            }
            return [dict(labels) for labels in sorted(found)]
        return None

    def _query_range(self, one: Mapping[str, str], start: int, end: int) -> Any:
        owner = self.server_owner
        query = one.get("query", "")
        if "step" in one and "count_over_time" in query:
            try:
                count = parse_count_query(query)
                step_ns = int(parse_duration(one["step"]) * 1e9)
            except LogQLError as exc:
                raise _BadRequest(f"parse error : {exc}") from None
            series = count_range(owner.entries(), count, start, end, step_ns)
            return {
                "resultType": "matrix",
                "result": [
                    {
                        "metric": dict(s.labels),
                        "values": [
                            [t, _number(v)] for t, v in zip(s.timestamps, s.values, strict=True)
                        ],
                    }
                    for s in series
                ],
            }
        limit = int(one.get("limit", "100"))
        if limit > owner.max_entries:
            raise _BadRequest(
                "max entries limit per query exceeded, limit > max_entries_limit "
                f"({limit} > {owner.max_entries})"
            )
        try:
            parsed = parse_log_query(query)
            direction = Direction(one.get("direction", "backward"))
        except (LogQLError, ValueError) as exc:
            raise _BadRequest(f"parse error : {exc}") from None
        ordered = owner.entries()
        if direction is Direction.BACKWARD:
            ordered.reverse()
        chosen = select(ordered, parsed, start, end, limit=limit, direction=direction)
        streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
        for entry in chosen:
            key = tuple(sorted(entry.labels.items()))
            streams.setdefault(key, []).append([str(entry.timestamp_ns), entry.line])
        return {
            "resultType": "streams",
            "result": [{"stream": dict(key), "values": values} for key, values in streams.items()],
            "stats": {"summary": {"totalEntriesReturned": len(chosen)}},
        }

    def _json(self, data: object) -> None:
        self._send(200, json.dumps(data).encode(), "application/json")

    def _text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _matrix_row(series: MetricSeries) -> dict[str, Any]:
    points = zip(series.timestamps, series.values, strict=True)
    return {"metric": dict(series.labels), "values": [[t, _number(v)] for t, v in points]}


def _authorised(owner: LokiReplayServer, header: str | None) -> bool:
    if owner.token is not None and header != f"Bearer {owner.token}":
        return False
    if owner.basic is not None:
        expected = base64.b64encode(":".join(owner.basic).encode()).decode()
        return header == f"Basic {expected}"
    return True


def _in_range(owner: LokiReplayServer, start: int, end: int) -> list[LogEntry]:
    return [e for e in owner.entries() if start <= e.timestamp_ns < end]


def _time_ns(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise _BadRequest(f"invalid timestamp {value!r}") from None


def _number(value: float) -> str:
    return f"{value:g}"
