"""Contract tests of the Loki backend against a loopback replay of Loki's HTTP API.

No Loki binary can be installed from the registries reachable here, so these tests run
against tests/support/loki_server.py, which replays the response shapes of Loki's
documented HTTP API (/loki/api/v1): streams with nanosecond string timestamps, ``limit``
across streams in ``direction`` order, HTTP 400 when the limit exceeds the maximum, and 401
without an X-Scope-OrgID on a multi-tenant Loki.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.errors import AuthFailed, BadQuery, MalformedResponse
from console.backends.log_protocol import Direction
from console.backends.loki import LokiBackend
from console.config.secrets import SecretStore
from console.config.settings import AuthKind, Profile
from console.domain.log_records import LogEntry
from console.services.connect import MissingSecret
from console.services.log_connect import open_log_service
from console.services.logs import LogService
from tests.support.loki_server import LokiReplayServer

BASE_NS = 1_750_000_000 * 10**9
SECOND = 10**9
T = TypeVar("T")
CHAT = {"app": "gw", "deployment": "support-chat", "version": "v42"}
QA = {"app": "gw", "deployment": "doc-qa", "version": "v7"}


def _streams(
    count: int, *, shared_every: int = 1
) -> list[tuple[dict[str, str], list[tuple[int, str]]]]:
    """Two streams; every ``shared_every`` entries share one timestamp (page boundaries)."""
    chat = [(BASE_NS + (i // shared_every) * SECOND, f'{{"n": {i}}}') for i in range(count)]
    qa = [(BASE_NS + i * SECOND + 1, f"qa line {i}") for i in range(count // 4)]
    return [(CHAT, chat), (QA, qa)]


@pytest.fixture
def server() -> Iterator[LokiReplayServer]:
    with LokiReplayServer(streams=_streams(40, shared_every=3)) as running:
        yield running


def _backend(
    server: LokiReplayServer, *, org: str | None = "tenant-a", **kwargs: object
) -> LokiBackend:
    headers = (("X-Scope-OrgID", org),) if org else ()
    target = HttpTarget(base_url=server.base_url, headers=headers, retries=0, **kwargs)  # type: ignore[arg-type]
    return LokiBackend(HttpJsonClient(target))


def _run(
    server: LokiReplayServer, scenario: Callable[[LokiBackend], Awaitable[T]], **kwargs: Any
) -> T:
    """Run ``scenario`` against a fresh backend of ``server`` and close the backend."""

    async def main() -> T:
        backend = _backend(server, **kwargs)
        try:
            return await scenario(backend)
        finally:
            await backend.aclose()

    return asyncio.run(main())


def test_streams_arrive_as_entries_with_nanosecond_timestamps(server: LokiReplayServer) -> None:
    entries = _run(
        server,
        lambda loki: loki.query_range(
            '{app="gw"}', BASE_NS, BASE_NS + 100 * SECOND, limit=5, direction=Direction.BACKWARD
        ),
    )
    newest = sorted(server.entries(), key=lambda e: (e.timestamp_ns, e.line), reverse=True)[:5]
    assert [(e.timestamp_ns, e.line) for e in entries] == [(e.timestamp_ns, e.line) for e in newest]
    assert all(isinstance(e.timestamp_ns, int) for e in entries)
    assert entries[0].labels in (CHAT, QA)
    sent = server.seen("/query_range")[-1].params
    assert sent["limit"] == ["5"] and sent["direction"] == ["backward"]
    assert sent["start"] == [str(BASE_NS)]


@pytest.mark.parametrize("direction", list(Direction))
def test_paging_returns_every_entry_once_across_shared_timestamps(
    server: LokiReplayServer, direction: Direction
) -> None:
    async def scenario() -> list[LogEntry]:
        target = HttpTarget(server.base_url, headers=(("X-Scope-OrgID", "t"),), retries=0)
        backend = LokiBackend(HttpJsonClient(target), page_limit=7)
        try:
            return await backend.query_range(
                '{deployment="support-chat"}',
                BASE_NS,
                BASE_NS + 100 * SECOND,
                limit=1000,
                direction=direction,
            )
        finally:
            await backend.aclose()

    entries = asyncio.run(scenario())
    expected = [e for e in server.entries() if e.labels == CHAT]
    assert sorted(e.line for e in entries) == sorted(e.line for e in expected)
    assert len(entries) == 40  # no duplicate from the page boundaries
    times = [e.timestamp_ns for e in entries]
    assert times == sorted(times, reverse=direction is Direction.BACKWARD)
    pages = server.seen("/query_range")
    assert len(pages) >= 40 // 7
    assert all(int(p.params["limit"][0]) <= 7 for p in pages)


def test_more_than_5000_lines_take_several_requests_of_at_most_5000() -> None:
    with LokiReplayServer(streams=_streams(11_000)) as server:
        entries = _run(
            server,
            lambda loki: loki.query_range(
                '{deployment="support-chat"}', BASE_NS, BASE_NS + 20_000 * SECOND, limit=11_000
            ),
        )
        limits = [int(p.params["limit"][0]) for p in server.seen("/query_range")]
    assert len(entries) == 11_000
    assert len({e.line for e in entries}) == 11_000
    # Each later page asks for one more: the boundary entry it will return again.
    assert limits == [5000, 5000, 1002]


def test_a_limit_above_the_servers_maximum_is_a_bad_query_with_lokis_text() -> None:
    with LokiReplayServer(streams=_streams(10), max_entries=100) as server:
        raw = httpx.get(
            f"{server.base_url}/loki/api/v1/query_range",
            params={"query": '{app="gw"}', "limit": "101"},
            headers={"X-Scope-OrgID": "t"},
        )
        assert raw.status_code == 400
        with pytest.raises(BadQuery, match=r"max entries limit per query exceeded.*200 > 100"):
            _run(server, lambda loki: loki.query_range('{app="gw"}', 0, SECOND, limit=200))


def test_no_org_id_is_refused_with_a_hint(server: LokiReplayServer) -> None:
    with pytest.raises(AuthFailed, match=r"HTTP 401.*no org id.*loki_org_id"):
        _run(server, lambda loki: loki.labels(), org=None)
    assert "X-Scope-OrgID" not in server.requests[-1].headers


def test_bearer_token_and_org_id_are_sent() -> None:
    with LokiReplayServer(streams=_streams(4), token="s3cret-token") as server:
        labels = _run(
            server,
            lambda loki: loki.labels(BASE_NS, BASE_NS + 10 * SECOND),
            bearer_token="s3cret-token",
        )
        assert labels == ["app", "deployment", "version"]
        headers = server.requests[-1].headers
        assert headers["X-Scope-OrgID"] == "tenant-a"
        assert headers["Authorization"] == "Bearer s3cret-token"
        with pytest.raises(AuthFailed) as caught:
            _run(server, lambda loki: loki.labels(), bearer_token="wrong-token")
        assert "wrong-token" not in str(caught.value)


def test_label_values_series_and_metric_queries(server: LokiReplayServer) -> None:
    end = BASE_NS + 100 * SECOND

    async def scenario(loki: LokiBackend) -> None:
        assert await loki.label_values("deployment", BASE_NS, end) == ["doc-qa", "support-chat"]
        assert await loki.series(['{deployment="doc-qa"}'], BASE_NS, end) == [QA]
        instant = await loki.instant('sum(count_over_time({app="gw"}[1h]))', at_ns=end)
        assert [s.value for s in instant] == [50.0]  # 40 chat + 10 qa lines
        volume = await loki.metric_range(
            'sum by (deployment) (count_over_time({app="gw"}[5s]))',
            BASE_NS,
            BASE_NS + 20 * SECOND,
            5,
        )
        assert {s.labels["deployment"] for s in volume} == {"support-chat", "doc-qa"}
        chat = next(s for s in volume if s.labels["deployment"] == "support-chat")
        assert chat.timestamps[0] == BASE_NS / 1e9 and chat.values[0] == 3.0

    _run(server, scenario)


def test_a_log_query_is_refused_as_an_instant_metric(server: LokiReplayServer) -> None:
    with pytest.raises(BadQuery, match="parse error"):
        _run(server, lambda loki: loki.instant('{app="gw"}'))


def test_malformed_answers_raise_typed_errors() -> None:
    values = [["not-ns", "line"]]
    bodies = iter(
        [
            {"status": "success", "data": {"resultType": "streams", "result": [{"stream": {}}]}},
            {
                "status": "success",
                "data": {"resultType": "streams", "result": [{"stream": {}, "values": values}]},
            },
            {"status": "success", "data": 7},
        ]
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=next(bodies)))

    async def scenario() -> None:
        backend = LokiBackend(HttpJsonClient(HttpTarget("http://loki:3100"), transport=transport))
        try:
            with pytest.raises(MalformedResponse, match="values"):
                await backend.query_range('{a="b"}', 0, 10, limit=5)
            with pytest.raises(MalformedResponse, match="not nanoseconds"):
                await backend.query_range('{a="b"}', 0, 10, limit=5)
            with pytest.raises(MalformedResponse, match="list of strings"):
                await backend.labels()
        finally:
            await backend.aclose()

    asyncio.run(scenario())


def test_the_replay_server_speaks_lokis_shapes(server: LokiReplayServer) -> None:
    answer = httpx.get(
        f"{server.base_url}/loki/api/v1/query_range",
        params={
            "query": '{app="gw"}',
            "limit": "3",
            "start": str(BASE_NS),
            "end": str(BASE_NS + 10**12),
        },
        headers={"X-Scope-OrgID": "t"},
    ).json()
    assert answer["status"] == "success"
    assert answer["data"]["resultType"] == "streams"
    value = answer["data"]["result"][0]["values"][0]
    assert isinstance(value[0], str) and value[0].isdigit() and len(value[0]) == 19
    assert json.dumps(answer)  # plain JSON all the way down


def test_live_tail_polls_forward_from_the_last_entry_seen() -> None:
    now_ns = 1_790_000_000 * SECOND
    values = [(now_ns - 3 * SECOND, "a"), (now_ns - 2 * SECOND, "b"), (now_ns - 2 * SECOND, "c")]
    streams = [(CHAT, values)]
    clock = {"now": now_ns / 1e9}

    with LokiReplayServer(streams=streams) as server:

        async def scenario(loki: LokiBackend) -> list[list[str]]:
            service = LogService(loki, clock=lambda: clock["now"])
            tail = service.tail('{app="gw"}', since_s=now_ns / 1e9 - 10)
            polls = [[r.raw for r in await tail.poll()], [r.raw for r in await tail.poll()]]
            values.append((now_ns - 2 * SECOND, "d"))  # late arrival at the same nanosecond
            values.append((now_ns + SECOND, "e"))
            clock["now"] += 5
            polls.append([r.raw for r in await tail.poll()])
            return polls

        polls = _run(server, scenario)
        sent = server.seen("/query_range")
    assert polls == [["a", "b", "c"], [], ["d", "e"]]
    assert all(p.params["direction"] == ["forward"] for p in sent)
    assert sent[-1].params["start"] == [str(now_ns - 2 * SECOND)]


@pytest.mark.parametrize("auth", [AuthKind.BEARER, AuthKind.BASIC])
def test_profile_auth_comes_from_the_keyring(auth: AuthKind, secrets: SecretStore) -> None:
    kwargs = {"token": "tok-123456"} if auth is AuthKind.BEARER else {"basic": ("ops", "pw-1234")}
    with LokiReplayServer(streams=_streams(4), **kwargs) as server:  # type: ignore[arg-type]
        profile = Profile(
            name="prod",
            prometheus_url="http://127.0.0.1:9",
            auth=auth,
            username="ops" if auth is AuthKind.BASIC else None,
            loki_url=server.base_url,
            loki_org_id="team-a",
        )
        with pytest.raises(MissingSecret):
            open_log_service(profile, secrets)
        secrets.set(
            "prod", profile.secret_field or "", "tok-123456" if kwargs.get("token") else "pw-1234"
        )
        service = open_log_service(profile, secrets)

        async def scenario() -> int:
            try:
                page = await service.query('{app="gw"}', BASE_NS / 1e9, BASE_NS / 1e9 + 60, limit=3)
                return len(page.records)
            finally:
                await service.backend.aclose()

        assert asyncio.run(scenario()) == 3
        assert server.requests[-1].headers["Authorization"].startswith(auth.value.title())
