"""The OpenAI-compatible client against a loopback server: answers, streaming, faults, retries."""

import asyncio
import json
import math
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from console.backends.errors import (
    AuthFailed,
    BadQuery,
    ConnectionFailed,
    MalformedResponse,
    RequestTimeout,
    ServerError,
    TlsFailure,
)
from console.backends.openai_compat import (
    RETRY_AFTER_CAP_S,
    ChatRequest,
    ChatResponse,
    Endpoint,
    OpenAICompatClient,
    RateLimited,
    retry_after_s,
    tls_context,
)
from console.domain.suite import ChatMessage
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.servers import free_port

KEY = "sk-test-0123456789abcdef"
QUESTION = (ChatMessage("system", "Be brief."), ChatMessage("user", "What is the capital?"))


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as running:
        yield running


class Sleeps:
    """Records the retry waits instead of waiting them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def complete(
    server: OpenAIServer,
    request: ChatRequest,
    *,
    sleeps: Sleeps | None = None,
    **endpoint: Any,
) -> ChatResponse:
    async def go() -> ChatResponse:
        client = OpenAICompatClient(
            Endpoint(server.base_url, **endpoint),
            sleep=sleeps or Sleeps(),
        )
        try:
            return await client.complete(request)
        finally:
            await client.aclose()

    return asyncio.run(go())


def ask(**options: Any) -> ChatRequest:
    return ChatRequest("support-chat", QUESTION, **options)


def test_a_completion_records_text_model_fingerprint_usage_and_the_request(
    server: OpenAIServer,
) -> None:
    server.latency_s = 0.05
    answer = complete(
        server, ask(temperature=0.0, max_tokens=64, seed=7), api_key=KEY, headers=(("X-T", "1"),)
    )
    assert answer.text == "What is the capital?"
    assert answer.model == "support-chat"
    assert answer.system_fingerprint == "fp-test"
    assert answer.finish_reason == "stop"
    assert (answer.prompt_tokens, answer.completion_tokens) == (7, 4)
    assert answer.latency_ms >= 50
    assert answer.ttft_ms is None and answer.logprobs is None
    sent = server.requests[0]
    assert sent.body == {
        "model": "support-chat",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is the capital?"},
        ],
        "temperature": 0.0,
        "max_tokens": 64,
        "seed": 7,
    }
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["X-T"] == "1"


def test_logprobs_are_asked_for_and_parsed_or_absent(server: OpenAIServer) -> None:
    server.logprob = math.log(0.5)
    answer = complete(server, ask(logprobs=True))
    assert server.requests[0].body["logprobs"] is True
    assert answer.logprobs == pytest.approx((math.log(0.5),) * 4)
    server.logprob = None  # a server that does not support logprobs
    assert complete(server, ask(logprobs=True)).logprobs is None


def test_missing_usage_and_fingerprint_are_none(server: OpenAIServer) -> None:
    server.include_usage = False
    server.fingerprint = None
    answer = complete(server, ask())
    assert answer.prompt_tokens is None and answer.completion_tokens is None
    assert answer.system_fingerprint is None


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_with_null_content(server: OpenAIServer, stream: bool) -> None:
    server.tool_calls = (("lookup_order", '{"order_id": "A-1001"}'),)
    server.answer = lambda messages: ""
    answer = complete(server, ask(stream=stream))
    assert answer.text is None
    assert answer.tool_calls == (("lookup_order", '{"order_id": "A-1001"}'),)


def test_streaming_measures_time_to_first_token(server: OpenAIServer) -> None:
    server.latency_s = 0.05
    server.token_interval_s = 0.05
    server.logprob = -0.25
    answer = complete(server, ask(stream=True, logprobs=True))
    body = server.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert answer.text == "What is the capital?"
    assert answer.ttft_ms is not None
    assert 50 <= answer.ttft_ms < answer.latency_ms
    assert answer.latency_ms >= 50 + 3 * 50  # the first token, then three more 50 ms apart
    assert answer.completion_tokens == 4
    assert answer.logprobs == (-0.25,) * 4
    assert answer.model == "support-chat" and answer.finish_reason == "stop"


def test_429_waits_what_retry_after_asks_then_succeeds(server: OpenAIServer) -> None:
    server.script.extend([Reply(429, retry_after="2"), Reply(503, retry_after="1.5")])
    sleeps = Sleeps()
    answer = complete(server, ask(), sleeps=sleeps)
    assert answer.attempts == 3
    assert sleeps.waits == [2.0, 1.5]
    assert len(server.requests) == 3


def test_retry_after_is_capped_and_read_as_an_http_date(server: OpenAIServer) -> None:
    server.script.append(Reply(429, retry_after="3600"))
    sleeps = Sleeps()
    complete(server, ask(), sleeps=sleeps)
    assert sleeps.waits == [RETRY_AFTER_CAP_S]
    now = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 1, 5, 12, 0, 9, tzinfo=UTC), usegmt=True)
    assert retry_after_s(later, now=now.timestamp()) == pytest.approx(9.0)
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now=now.timestamp()) == 0.0
    assert retry_after_s("soon") is None and retry_after_s(None) is None


def test_persistent_429_gives_rate_limited_after_the_retries(server: OpenAIServer) -> None:
    server.script.extend([Reply(429, "slow down")] * 3)
    sleeps = Sleeps()
    with pytest.raises(RateLimited, match=r"HTTP 429.*slow down"):
        complete(server, ask(), sleeps=sleeps, retries=2)
    assert len(server.requests) == 3
    assert len(sleeps.waits) == 2 and all(0 <= w <= 2.0 for w in sleeps.waits)


def test_5xx_is_retried_and_the_error_names_the_url_but_not_the_key(
    server: OpenAIServer,
) -> None:
    server.script.extend([Reply(500, f"upstream saw Bearer {KEY}")] * 4)
    with pytest.raises(ServerError) as caught:
        complete(server, ask(), api_key=KEY, retries=3)
    message = str(caught.value)
    assert f"{server.base_url}/chat/completions answered HTTP 500" in message
    assert KEY not in message and "***" in message
    assert len(server.requests) == 4


def test_501_and_4xx_are_not_retried(server: OpenAIServer) -> None:
    server.script.append(Reply(501, "no"))
    with pytest.raises(ServerError):
        complete(server, ask())
    server.script.append(Reply(400, "max_tokens is too large"))
    with pytest.raises(BadQuery, match="max_tokens is too large"):
        complete(server, ask())
    server.script.append(Reply(401, "invalid key"))
    with pytest.raises(AuthFailed, match="invalid key") as caught:
        complete(server, ask(), api_key=KEY)
    assert KEY not in str(caught.value)
    assert len(server.requests) == 3


def test_a_timeout_is_retried_then_reported(server: OpenAIServer) -> None:
    server.latency_s = 2.0
    with pytest.raises(RequestTimeout, match=r"within 0\.2 s"):
        complete(server, ask(), timeout_s=0.2, retries=1)
    assert len(server.requests) == 2
    assert server.wait_until(lambda: server.aborted == 2)


def test_a_timeout_while_streaming_is_reported(server: OpenAIServer) -> None:
    server.token_interval_s = 1.0
    with pytest.raises(RequestTimeout):
        complete(server, ask(stream=True), timeout_s=0.3, retries=0)


def test_a_malformed_answer_is_a_malformed_response(server: OpenAIServer) -> None:
    server.script.append(Reply(200, body=b"<html>proxy login</html>"))
    with pytest.raises(MalformedResponse, match="proxy login"):
        complete(server, ask())
    server.script.append(Reply(200, body=json.dumps({"choices": []}).encode()))
    with pytest.raises(MalformedResponse, match="no choices"):
        complete(server, ask())


def test_connection_refused_is_connection_failed() -> None:
    async def go() -> None:
        client = OpenAICompatClient(
            Endpoint(f"http://127.0.0.1:{free_port()}/v1", retries=1), sleep=Sleeps()
        )
        try:
            await client.complete(ask())
        finally:
            await client.aclose()

    with pytest.raises(ConnectionFailed, match="connection refused"):
        asyncio.run(go())


def test_the_key_stays_out_of_the_repr() -> None:
    assert KEY not in repr(Endpoint("http://x/v1", api_key=KEY))


def test_one_tls_context_serves_many_clients(tmp_path: Path) -> None:
    strict = tls_context(Endpoint("https://llm.example/v1"))
    assert strict.verify_mode is ssl.CERT_REQUIRED and strict.check_hostname
    assert tls_context(Endpoint("https://llm.example/v1", verify=False)).verify_mode is (
        ssl.CERT_NONE
    )
    with pytest.raises(TlsFailure, match="ca_file"):
        tls_context(Endpoint("https://llm.example/v1", ca_file=str(tmp_path / "missing.pem")))
