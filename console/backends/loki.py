"""Loki's HTTP API (/loki/api/v1): log and metric queries, labels, series; the log backend.

A range query asks for at most 5,000 lines per request (Loki's default
``max_entries_limit_per_query``); to return more, it pages from the last timestamp seen
(backwards: the next request ends 1 ns after the oldest entry, since ``end`` is
exclusive; forwards: it starts at the newest) and drops the entries of the boundary
timestamp it already returned, as logcli does. Multi-tenancy (X-Scope-OrgID), auth, TLS,
retries and error mapping come from the HttpJsonClient the backend is given.

The /tail websocket is not used: live tail repeats forward range queries (see
console/services/logs.py), which need no websocket client and keep the client's retries,
auth, timeouts and circuit breaker.
"""

import json
import math
import time
from collections.abc import Sequence
from functools import partial
from typing import Any
from urllib.parse import quote

from console.backends._http import HttpJsonClient, QueryParams
from console.backends.errors import AuthFailed, BadQuery, MalformedResponse
from console.backends.log_protocol import (
    MAX_LIMIT_PER_REQUEST,
    Direction,
    MetricSample,
    MetricSeries,
)
from console.domain.log_records import LogEntry

API = "/loki/api/v1"
_Identity = tuple[int, str, tuple[tuple[str, str], ...]]


class LokiBackend:
    """A Loki (or anything speaking its query API: Grafana Enterprise Logs, GEL gateways)."""

    def __init__(
        self,
        http: HttpJsonClient,
        *,
        name: str = "loki",
        page_limit: int = MAX_LIMIT_PER_REQUEST,
    ) -> None:
        if not 1 <= page_limit <= MAX_LIMIT_PER_REQUEST:
            raise ValueError(f"page_limit must be 1-{MAX_LIMIT_PER_REQUEST}, got {page_limit}")
        self._http = http
        self.name = name
        self._page_limit = page_limit

    async def query_range(
        self,
        query: str,
        start_ns: int,
        end_ns: int,
        *,
        limit: int,
        direction: Direction = Direction.BACKWARD,
    ) -> list[LogEntry]:
        """Up to ``limit`` entries of a log query, paging by at most 5,000 per request."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        entries: list[LogEntry] = []
        seen_at_boundary: set[_Identity] = set()
        boundary: int | None = None
        while len(entries) < limit and start_ns < end_ns:
            # The boundary entries come back once more (``end`` moved to just after them).
            asked = min(self._page_limit, limit - len(entries) + len(seen_at_boundary))
            page = await self.query_page(query, start_ns, end_ns, limit=asked, direction=direction)
            fresh = [e for e in page if e.identity not in seen_at_boundary]
            entries.extend(fresh[: limit - len(entries)])
            if len(page) < asked or not fresh:
                break  # the range is exhausted (or one nanosecond holds more than a page)
            last = page[-1].timestamp_ns
            same = {e.identity for e in page if e.timestamp_ns == last}
            # Still on the same nanosecond: everything returned at it so far stays seen.
            seen_at_boundary = seen_at_boundary | same if last == boundary else same
            boundary = last
            if direction is Direction.BACKWARD:
                end_ns = last + 1  # end is exclusive: the next page includes ``last`` again
            else:
                start_ns = last
        return entries

    async def query_page(
        self, query: str, start_ns: int, end_ns: int, *, limit: int, direction: Direction
    ) -> list[LogEntry]:
        """One /query_range request for a log query, its entries in ``direction`` order."""
        if limit > MAX_LIMIT_PER_REQUEST:
            raise ValueError(f"limit {limit} exceeds Loki's {MAX_LIMIT_PER_REQUEST} per request")
        path = f"{API}/query_range"
        params = {
            "query": query,
            "start": str(start_ns),
            "end": str(end_ns),
            "limit": str(limit),
            "direction": direction.value,
        }
        parse = partial(parse_streams_answer, where=self._http.url_of(path), direction=direction)
        entries: list[LogEntry] = await self._get(path, params, parse)
        return entries

    async def labels(self, start_ns: int | None = None, end_ns: int | None = None) -> list[str]:
        """/labels: label names seen in the range."""
        path = f"{API}/labels"
        data = await self._data(path, _range_params(start_ns, end_ns))
        return _strings(data, self._http.url_of(path))

    async def label_values(
        self, name: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> list[str]:
        """/label/NAME/values: the values of one label in the range."""
        path = f"{API}/label/{quote(name, safe='')}/values"
        data = await self._data(path, _range_params(start_ns, end_ns))
        return _strings(data, self._http.url_of(path))

    async def series(
        self, matchers: Sequence[str], start_ns: int | None = None, end_ns: int | None = None
    ) -> list[dict[str, str]]:
        """/series: the label sets of the streams matching any selector."""
        if not matchers:
            raise BadQuery("a series request needs at least one stream selector")
        path = f"{API}/series"
        params: dict[str, str | list[str]] = {
            **_range_params(start_ns, end_ns),
            "match[]": list(matchers),
        }
        data = await self._data(path, params)
        where = self._http.url_of(path)
        if not isinstance(data, list):
            raise MalformedResponse(f"{where}: 'data' is not a list")
        return [_labels(item, f"{where}: data[{i}]") for i, item in enumerate(data)]

    async def instant(self, query: str, at_ns: int | None = None) -> list[MetricSample]:
        """/query: an instant metric query such as ``sum(count_over_time({app="x"}[5m]))``."""
        path = f"{API}/query"
        params = {"query": query, "time": str(at_ns if at_ns is not None else time.time_ns())}
        data = await self._data(path, params)
        where = self._http.url_of(path)
        result_type, result = _result(data, where)
        if result_type == "streams":
            raise BadQuery(f"{where}: {query!r} is a log query; instant queries need a metric")
        if result_type == "scalar":
            return [MetricSample({}, *_sample(result, f"{where}: scalar"))]
        if result_type != "vector":
            raise MalformedResponse(f"{where}: unexpected resultType {result_type!r}")
        samples = []
        for i, item in enumerate(_list(result, f"{where}: result")):
            item_where = f"{where}: result[{i}]"
            labels = _labels(_field(item, "metric", item_where), f"{item_where}.metric")
            samples.append(
                MetricSample(labels, *_sample(_field(item, "value", item_where), item_where))
            )
        return samples

    async def metric_range(
        self, query: str, start_ns: int, end_ns: int, step_s: float
    ) -> list[MetricSeries]:
        """/query_range with a step: a range metric query (log volume over time)."""
        if not (math.isfinite(step_s) and step_s > 0):
            raise ValueError(f"step must be a positive number of seconds, got {step_s!r}")
        path = f"{API}/query_range"
        params = {
            "query": query,
            "start": str(start_ns),
            "end": str(end_ns),
            "step": f"{step_s:g}s",
        }
        data = await self._data(path, params)
        where = self._http.url_of(path)
        result_type, result = _result(data, where)
        if result_type == "streams":
            raise BadQuery(f"{where}: {query!r} is a log query, not a metric query")
        if result_type != "matrix":
            raise MalformedResponse(f"{where}: unexpected resultType {result_type!r}")
        series = []
        for i, item in enumerate(_list(result, f"{where}: result")):
            item_where = f"{where}: result[{i}]"
            labels = _labels(_field(item, "metric", item_where), f"{item_where}.metric")
            points = [
                _sample(point, f"{item_where}.values[{j}]")
                for j, point in enumerate(_list(_field(item, "values", item_where), item_where))
            ]
            series.append(
                MetricSeries(labels, tuple(p[0] for p in points), tuple(p[1] for p in points))
            )
        return series

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def _data(self, path: str, params: QueryParams) -> Any:
        body = await self._get(path, params, _decode)
        return _success_data(body, self._http.url_of(path))

    async def _get(self, path: str, params: QueryParams, parse: Any) -> Any:
        try:
            return await self._http.get_json(path, params, parse=parse)
        except AuthFailed as exc:
            if "org id" in exc.message.lower():
                raise AuthFailed(
                    f"{exc.message}; this Loki is multi-tenant: set the profile's loki_org_id"
                ) from None
            raise


def _decode(body: bytes) -> Any:
    return json.loads(body)


def parse_streams_answer(body: bytes, *, where: str, direction: Direction) -> list[LogEntry]:
    """The entries of a /query_range log answer, merged across streams in ``direction``
    order (ties by line, so pages are stable). Raises BackendError for another shape."""
    data = _success_data(_decode(body), where)
    result_type, result = _result(data, where)
    if result_type == "matrix":
        raise BadQuery(f"{where}: a metric query returns numbers, not log lines")
    if result_type != "streams":
        raise MalformedResponse(f"{where}: unexpected resultType {result_type!r}")
    entries = []
    for i, stream in enumerate(_list(result, f"{where}: result")):
        stream_where = f"{where}: result[{i}]"
        labels = _labels(_field(stream, "stream", stream_where), f"{stream_where}.stream")
        for j, value in enumerate(_list(_field(stream, "values", stream_where), stream_where)):
            if not (isinstance(value, list) and len(value) >= 2 and isinstance(value[1], str)):
                raise MalformedResponse(f"{stream_where}.values[{j}] is not [timestamp, line]")
            try:
                timestamp_ns = int(value[0])
            except (TypeError, ValueError):
                raise MalformedResponse(
                    f"{stream_where}.values[{j}]: timestamp {value[0]!r} is not nanoseconds"
                ) from None
            entries.append(LogEntry(timestamp_ns, value[1], labels))
    entries.sort(key=lambda e: (e.timestamp_ns, e.line), reverse=direction is Direction.BACKWARD)
    return entries


def _range_params(start_ns: int | None, end_ns: int | None) -> dict[str, str]:
    params = {}
    if start_ns is not None:
        params["start"] = str(start_ns)
    if end_ns is not None:
        params["end"] = str(end_ns)
    return params


def _success_data(body: Any, where: str) -> Any:
    if not isinstance(body, dict) or "data" not in body:
        raise MalformedResponse(f"{where}: the answer has no 'data'")
    if body.get("status", "success") != "success":
        raise MalformedResponse(f"{where}: status {body.get('status')!r}")
    return body["data"]


def _result(data: Any, where: str) -> tuple[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("resultType"), str):
        raise MalformedResponse(f"{where}: 'data' has no resultType")
    return data["resultType"], data.get("result")


def _field(item: Any, key: str, where: str) -> Any:
    if not isinstance(item, dict) or key not in item:
        raise MalformedResponse(f"{where} has no {key!r}")
    return item[key]


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedResponse(f"{where} is not a list")
    return value


def _labels(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise MalformedResponse(f"{where} is not a label set")
    return dict(value)


def _strings(data: Any, where: str) -> list[str]:
    if data is None:
        return []  # Loki answers "data": null when no stream is in the range
    if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
        raise MalformedResponse(f"{where}: 'data' is not a list of strings")
    return list(data)


def _sample(value: Any, where: str) -> tuple[float, float]:
    if not (isinstance(value, list) and len(value) == 2):
        raise MalformedResponse(f"{where}: a sample is not [time, value]")
    try:
        return float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise MalformedResponse(f"{where}: sample {value!r} is not numeric") from None
