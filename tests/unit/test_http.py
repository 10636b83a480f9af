"""HttpJsonClient: error mapping, secrets kept out of messages, retries, circuit breaker, proxy."""

import asyncio
import json
import random
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from console.backends._http import (
    BACKOFF_CAP_S,
    EXCERPT_CHARS,
    HttpJsonClient,
    HttpTarget,
    backoff_bound_s,
)
from console.backends.errors import (
    AuthFailed,
    BackendError,
    BadQuery,
    CircuitOpen,
    ConnectionFailed,
    MalformedResponse,
    RequestTimeout,
    ServerError,
    TlsFailure,
)

BASE = "http://prom.test:9090"
TOKEN = "tok-very-secret-4711"
TENANT = "tenant-secret-0815"
SyncHandler = Callable[[httpx.Request], httpx.Response]
Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


class UpperBoundRng(random.Random):
    """Returns the upper bound of every uniform() draw and records the bounds asked for."""

    def __init__(self) -> None:
        super().__init__(0)
        self.bounds: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.bounds.append((a, b))
        return b


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A client over a MockTransport that counts requests and records backoff sleeps."""

    def __init__(self, handler: Handler, **target: Any) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.rng = UpperBoundRng()
        self.clock = FakeClock()

        async def counting(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            response = handler(request)
            return await response if isinstance(response, Awaitable) else response

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        self.client = HttpJsonClient(
            HttpTarget(target.pop("base_url", BASE), **target),
            transport=httpx.MockTransport(counting),
            rng=self.rng,
            sleep=sleep,
            clock=self.clock,
        )

    def get(self, path: str = "/api/v1/query") -> Any:
        return asyncio.run(self.client.get_json(path))

    def error_of(self, path: str = "/api/v1/query") -> BackendError:
        with pytest.raises(BackendError) as info:
            self.get(path)
        return info.value


def answer(status: int, body: Any = None, *, text: str | None = None) -> SyncHandler:
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return handler


def failing_with(exc: Exception) -> SyncHandler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def prometheus_error(error_type: str, error: str) -> dict[str, str]:
    return {"status": "error", "errorType": error_type, "error": error}


def refused() -> Exception:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as cause:
        try:
            raise httpx.ConnectError("All connection attempts failed") from cause
        except httpx.ConnectError as exc:
            return exc


def tls_failure() -> Exception:
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cause.verify_message = "self-signed certificate"
    try:
        raise httpx.ConnectError("certificate verify failed") from cause
    except httpx.ConnectError as exc:
        return exc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---- success path, auth and headers -------------------------------------------------


def test_get_json_sends_auth_headers_and_keeps_the_path_prefix() -> None:
    harness = Harness(
        answer(200, {"status": "success", "data": [1, 2]}),
        base_url="https://prom.test/prometheus/",
        bearer_token=TOKEN,
        headers=(("X-Scope-OrgID", TENANT),),
    )
    assert harness.get("/api/v1/labels") == {"status": "success", "data": [1, 2]}
    request = harness.requests[0]
    assert str(request.url) == "https://prom.test/prometheus/api/v1/labels"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Scope-OrgID"] == TENANT


def test_basic_auth_and_form_post() -> None:
    harness = Harness(answer(200, {"ok": True}), basic_auth=("alice", "pw-secret"))
    result = asyncio.run(
        harness.client.post_form_json("/api/v1/query", {"query": "up"}, idempotent=True)
    )
    assert result == {"ok": True}
    request = harness.requests[0]
    assert request.method == "POST"
    assert request.content == b"query=up"
    assert request.headers["Authorization"].startswith("Basic ")


def test_base_url_and_repr_never_show_secrets() -> None:
    target = HttpTarget(
        "https://user:url-pass-123@prom.test", bearer_token=TOKEN, basic_auth=("u", "pw-123")
    )
    client = HttpJsonClient(target, transport=httpx.MockTransport(answer(200, {})))
    assert client.base_url == "https://prom.test"
    assert TOKEN not in repr(target)
    assert "pw-123" not in repr(target)
    assert client.url_of("api/v1/query") == "https://prom.test/api/v1/query"


def test_an_unparsable_url_is_a_backend_error() -> None:
    with pytest.raises(BackendError, match=re.escape("invalid backend URL (unparsable URL)")):
        HttpJsonClient(HttpTarget("http://user:pw-secret@[::1"))


def test_every_request_carries_the_timeout() -> None:
    harness = Harness(answer(200, {}), timeout_s=3.5)
    harness.get()
    assert harness.requests[0].extensions["timeout"] == {
        "connect": 3.5,
        "read": 3.5,
        "write": 3.5,
        "pool": 3.5,
    }


# ---- error mapping ---------------------------------------------------------------


def test_real_connection_refused_on_loopback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = HttpJsonClient(HttpTarget(url, retries=0))
    with pytest.raises(ConnectionFailed) as info:
        asyncio.run(client.get_json("/api/v1/query"))
    assert str(info.value) == f"connection refused by {url}/api/v1/query"


def test_connection_refused_names_the_url() -> None:
    error = Harness(failing_with(refused()), base_url="http://127.0.0.1:9").error_of()
    assert isinstance(error, ConnectionFailed)
    assert str(error) == "connection refused by http://127.0.0.1:9/api/v1/query"


@pytest.mark.parametrize(
    "exc",
    [
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadError("Connection reset by peer"),
    ],
)
def test_resets_and_truncated_bodies_are_connection_failures(exc: Exception) -> None:
    error = Harness(failing_with(exc)).error_of()
    assert isinstance(error, ConnectionFailed)
    assert f"{BASE}/api/v1/query" in str(error)
    assert "reset or closed" in str(error)


def test_tls_failure_mentions_verification_and_the_options() -> None:
    error = Harness(failing_with(tls_failure()), base_url="https://prom.test").error_of()
    assert isinstance(error, TlsFailure)
    text = str(error)
    assert "https://prom.test/api/v1/query" in text
    assert "certificate verification failed: self-signed certificate" in text
    assert "ca_file" in text
    assert "insecure" in text


def test_unreadable_ca_file_is_named() -> None:
    with pytest.raises(TlsFailure, match=re.escape("ca_file='/nonexistent/ca.pem'")):
        HttpJsonClient(HttpTarget("https://prom.test", ca_file="/nonexistent/ca.pem"))


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures(status: int) -> None:
    error = Harness(answer(status, text="invalid token"), bearer_token=TOKEN).error_of()
    assert isinstance(error, AuthFailed)
    assert f"HTTP {status}" in str(error)
    assert "invalid token" in str(error)


@pytest.mark.parametrize("status", [400, 422])
def test_bad_query_carries_the_backends_text_verbatim(status: int) -> None:
    text = 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis'
    error = Harness(answer(status, prometheus_error("bad_data", text))).error_of()
    assert isinstance(error, BadQuery)
    assert text in str(error)
    assert f"HTTP {status} bad_data" in str(error)


def test_victoria_metrics_numeric_error_type_is_not_repeated() -> None:
    error = Harness(answer(422, prometheus_error("422", "unexpected token"))).error_of()
    assert isinstance(error, BadQuery)
    assert "(HTTP 422): unexpected token" in str(error)


def test_server_error_has_status_and_short_excerpt() -> None:
    error = Harness(answer(500, text="boom " * 500)).error_of()
    assert isinstance(error, ServerError)
    assert "HTTP 500: boom boom" in str(error)
    assert len(str(error)) < EXCERPT_CHARS + 100


def test_server_error_prefers_prometheus_error_text() -> None:
    body = prometheus_error("internal", "query processing would load too many samples")
    error = Harness(answer(500, body)).error_of()
    assert isinstance(error, ServerError)
    assert str(error).endswith("HTTP 500: query processing would load too many samples")


def test_transport_timeout() -> None:
    error = Harness(failing_with(httpx.ReadTimeout("timed out"))).error_of()
    assert isinstance(error, RequestTimeout)
    assert str(error) == f"no answer from {BASE}/api/v1/query within 10 s"


def test_a_hang_is_cut_off_by_the_request_deadline() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json={})

    error = Harness(hang, timeout_s=0.05, retries=0).error_of()
    assert isinstance(error, RequestTimeout)
    assert "within 0.05 s" in str(error)


def test_invalid_json_is_malformed_and_names_the_content_type() -> None:
    def login_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html="<html>Please log in</html>")

    error = Harness(login_page).error_of()
    assert isinstance(error, MalformedResponse)
    assert "invalid JSON" in str(error)
    assert "text/html" in str(error)
    assert "Please log in" in str(error)


def test_absurdly_nested_json_does_not_crash() -> None:
    error = Harness(answer(200, text="[" * 200_000 + "]" * 200_000)).error_of()
    assert isinstance(error, MalformedResponse)


def test_undecodable_body_is_malformed() -> None:
    def gzip_lie(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not gzip", headers={"Content-Encoding": "gzip"})

    assert isinstance(Harness(gzip_lie).error_of(), MalformedResponse)


def test_not_found_and_redirect_are_explained() -> None:
    not_found = Harness(answer(404, text="404 page not found")).error_of()
    assert "path prefix" in str(not_found)

    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://sso.test/login"})

    moved = Harness(redirect).error_of()
    assert "https://sso.test/login" in str(moved)
    assert "HTTP 302" in str(moved)


def test_unexpected_httpx_errors_become_backend_errors() -> None:
    error = Harness(failing_with(httpx.LocalProtocolError("bad header"))).error_of()
    assert type(error) is BackendError
    assert "LocalProtocolError: bad header" in str(error)


SECRET_LEAKS: list[Handler] = [
    failing_with(refused()),
    failing_with(tls_failure()),
    failing_with(httpx.ReadTimeout(f"timed out, Authorization: Bearer {TOKEN}")),
    failing_with(httpx.ConnectError(f"proxy said no to {TOKEN}")),
    failing_with(httpx.LocalProtocolError(f"X-Scope-OrgID: {TENANT}")),
    answer(401, text=f"bad credentials: Bearer {TOKEN}"),
    answer(400, prometheus_error("bad_data", f"tenant {TENANT} may not query")),
    answer(503, text=f"upstream saw Authorization: Bearer {TOKEN}"),
    answer(200, text=f"not json {TOKEN} {TENANT}"),
]


@pytest.mark.parametrize("handler", SECRET_LEAKS)
def test_no_secret_in_any_error(handler: Handler) -> None:
    harness = Harness(
        handler,
        base_url="http://admin:url-password@prom.test",
        bearer_token=TOKEN,
        headers=(("X-Scope-OrgID", TENANT),),
        retries=0,
    )
    error = harness.error_of()
    for text in (str(error), repr(error), *map(str, error.args)):
        for secret in (TOKEN, TENANT, "url-password", "admin:"):
            assert secret not in text
    assert "http://prom.test/api/v1/query" in str(error)


# ---- retries -------------------------------------------------------------------


def flaky(*statuses: int) -> Handler:
    """Answers the given statuses in turn, then 200."""
    remaining = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        status = remaining.pop(0) if remaining else 200
        return httpx.Response(status, json={"status": "success", "data": status})

    return handler


@pytest.mark.parametrize("status", [502, 503, 504])
def test_get_retries_retryable_statuses_with_full_jitter(status: int) -> None:
    harness = Harness(flaky(status, status))
    assert harness.get() == {"status": "success", "data": 200}
    assert len(harness.requests) == 3
    assert harness.rng.bounds == [(0.0, 0.2), (0.0, 0.4)]
    assert harness.sleeps == [0.2, 0.4]


def test_backoff_is_capped() -> None:
    assert [backoff_bound_s(a) for a in range(6)] == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert BACKOFF_CAP_S == 2.0


def test_real_rng_sleeps_stay_within_bounds() -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    client = HttpJsonClient(
        HttpTarget(BASE, retries=6, breaker_threshold=1000),
        transport=httpx.MockTransport(answer(503, text="busy")),
        rng=random.Random(42),
        sleep=sleep,
    )
    for _ in range(20):
        with pytest.raises(ServerError):
            asyncio.run(client.get_json("/api/v1/query"))
    for i, slept in enumerate(sleeps):
        assert 0.0 <= slept <= backoff_bound_s(i % 6)
    assert len(sleeps) == 20 * 6
    assert len(set(sleeps)) > 100


def test_retries_are_bounded_and_the_last_error_is_raised() -> None:
    harness = Harness(answer(503, text="overloaded"), retries=4)
    error = harness.error_of()
    assert isinstance(error, ServerError)
    assert len(harness.requests) == 5
    assert harness.sleeps == [0.2, 0.4, 0.8, 1.6]


@pytest.mark.parametrize(
    "handler",
    [
        failing_with(refused()),
        failing_with(httpx.ReadTimeout("timed out")),
        failing_with(httpx.RemoteProtocolError("peer closed connection")),
    ],
)
def test_connection_failures_and_timeouts_are_retried(handler: Handler) -> None:
    harness = Harness(handler)
    harness.error_of()
    assert len(harness.requests) == 3


@pytest.mark.parametrize(
    "handler",
    [
        answer(500, text="internal"),
        answer(400, prometheus_error("bad_data", "nope")),
        answer(401, text="who are you"),
        answer(200, text="not json"),
        failing_with(tls_failure()),
    ],
)
def test_other_errors_are_not_retried(handler: Handler) -> None:
    harness = Harness(handler)
    harness.error_of()
    assert len(harness.requests) == 1
    assert harness.sleeps == []


def test_non_idempotent_post_is_never_retried() -> None:
    harness = Harness(flaky(503))
    with pytest.raises(ServerError):
        asyncio.run(harness.client.post_form_json("/api/v1/admin", {}, idempotent=False))
    assert len(harness.requests) == 1


def test_idempotent_post_is_retried() -> None:
    harness = Harness(flaky(503))
    result = asyncio.run(
        harness.client.post_form_json("/api/v1/query", {"query": "up"}, idempotent=True)
    )
    assert result["data"] == 200
    assert len(harness.requests) == 2


# ---- circuit breaker -------------------------------------------------------------


class Switch:
    """A handler whose answer status can be changed between calls."""

    def __init__(self, status: int) -> None:
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self.status, json={"status": "success", "data": self.status})


def test_breaker_opens_then_half_opens_then_closes() -> None:
    switch = Switch(500)
    harness = Harness(switch, breaker_threshold=3, breaker_cooldown_s=15.0)
    for _ in range(3):
        assert isinstance(harness.error_of(), ServerError)
    assert harness.client.breaker_state == "open"

    harness.clock.now += 5
    blocked = harness.error_of()
    assert isinstance(blocked, CircuitOpen)
    assert str(blocked).startswith("circuit open after 3 consecutive failures (last: ")
    assert "HTTP 500" in str(blocked)
    assert str(blocked).endswith("next try in 10 s")
    assert len(harness.requests) == 3

    harness.clock.now += 10
    assert harness.client.breaker_state == "half-open"
    assert isinstance(harness.error_of(), ServerError)
    assert len(harness.requests) == 4
    assert harness.client.breaker_state == "open"
    assert isinstance(harness.error_of(), CircuitOpen)

    harness.clock.now += 15
    switch.status = 200
    assert harness.get()["data"] == 200
    assert harness.client.breaker_state == "closed"
    assert harness.get()["data"] == 200


def test_a_call_with_retries_counts_once() -> None:
    harness = Harness(answer(503, text="busy"), retries=2, breaker_threshold=2)
    harness.error_of()
    assert harness.client.breaker_state == "closed"
    harness.error_of()
    assert harness.client.breaker_state == "open"
    assert len(harness.requests) == 6


@pytest.mark.parametrize(
    "handler",
    [
        answer(400, prometheus_error("bad_data", "nope")),
        answer(401, text="denied"),
        answer(403, text="denied"),
        answer(422, prometheus_error("execution", "too many samples")),
    ],
)
def test_client_errors_do_not_open_the_breaker(handler: Handler) -> None:
    harness = Harness(handler, breaker_threshold=2)
    for _ in range(5):
        assert not isinstance(harness.error_of(), CircuitOpen)
    assert harness.client.breaker_state == "closed"
    assert len(harness.requests) == 5


@pytest.mark.parametrize(
    "handler",
    [
        failing_with(refused()),
        failing_with(httpx.ReadTimeout("timed out")),
        answer(200, text="not json"),
    ],
)
def test_connection_timeout_and_malformed_failures_open_the_breaker(handler: Handler) -> None:
    harness = Harness(handler, retries=0, breaker_threshold=2)
    harness.error_of()
    harness.error_of()
    assert isinstance(harness.error_of(), CircuitOpen)


def test_success_resets_the_consecutive_count() -> None:
    switch = Switch(500)
    harness = Harness(switch, breaker_threshold=3)
    harness.error_of()
    harness.error_of()
    switch.status = 200
    harness.get()
    switch.status = 500
    harness.error_of()
    harness.error_of()
    assert harness.client.breaker_state == "closed"


def test_half_open_lets_exactly_one_trial_through() -> None:
    release = asyncio.Event()
    statuses = [500]

    async def handler(request: httpx.Request) -> httpx.Response:
        if statuses[0] == 200:
            await release.wait()
        return httpx.Response(statuses[0], json={"status": "success", "data": statuses[0]})

    harness = Harness(handler, breaker_threshold=1, breaker_cooldown_s=15.0)
    harness.error_of()
    harness.clock.now += 15
    statuses[0] = 200

    async def scenario() -> tuple[Any, BaseException | None]:
        trial = asyncio.create_task(harness.client.get_json("/api/v1/query"))
        await asyncio.sleep(0)
        second: BaseException | None = None
        try:
            await harness.client.get_json("/api/v1/query")
        except CircuitOpen as exc:
            second = exc
        release.set()
        return await trial, second

    trial_result, second = asyncio.run(scenario())
    assert trial_result["data"] == 200
    assert isinstance(second, CircuitOpen)
    assert "trial request is in flight" in str(second)
    assert harness.client.breaker_state == "closed"


def test_a_cancelled_trial_frees_the_slot() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json={})

    switch = Switch(500)
    handlers: list[Handler] = [switch]

    def dispatch(request: httpx.Request) -> httpx.Response | Awaitable[httpx.Response]:
        return handlers[0](request)

    harness = Harness(dispatch, breaker_threshold=1, breaker_cooldown_s=15.0)
    harness.error_of()
    harness.clock.now += 15
    handlers[0] = hang

    async def cancel_trial() -> None:
        trial = asyncio.create_task(harness.client.get_json("/api/v1/query"))
        await asyncio.sleep(0.01)
        trial.cancel()
        with pytest.raises(asyncio.CancelledError):
            await trial

    asyncio.run(cancel_trial())
    assert harness.client.breaker_state == "half-open"
    switch.status = 200
    handlers[0] = switch
    assert harness.get()["data"] == 200
    assert harness.client.breaker_state == "closed"


# ---- proxy -----------------------------------------------------------------------


def test_https_proxy_from_the_environment_is_mounted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    client = HttpJsonClient(HttpTarget("https://prom.test"))
    proxied = {p.pattern for p, transport in client._http._mounts.items() if transport}
    assert proxied == {"https://"}


def test_requests_go_through_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The target name cannot resolve; a refusal from the loopback proxy port proves the route."""
    for name in ("ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")
    client = HttpJsonClient(HttpTarget("https://prometheus.invalid", retries=0))
    with pytest.raises(
        ConnectionFailed, match=re.escape("connection refused by https://prometheus.invalid/")
    ):
        asyncio.run(client.get_json("/api/v1/query"))


def test_no_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALL_PROXY", "all_proxy", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "prom.internal")
    client = HttpJsonClient(HttpTarget("https://prom.internal"))
    bypassed = {p.pattern for p, transport in client._http._mounts.items() if not transport}
    assert bypassed == {"all://*prom.internal"}


# ---- lifecycle -------------------------------------------------------------------


def test_aclose_closes_the_transport() -> None:
    closed: list[bool] = []

    class Transport(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    client = HttpJsonClient(HttpTarget(BASE), transport=Transport(answer(200, {})))
    asyncio.run(client.aclose())
    assert closed == [True]


def test_json_values_are_decoded_as_is() -> None:
    payload = {"status": "success", "data": {"result": [[1.5, "NaN"]]}}
    assert Harness(answer(200, text=json.dumps(payload))).get() == payload
