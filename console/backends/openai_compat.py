"""A client for OpenAI-compatible chat endpoints (``POST {base_url}/chat/completions``).

It speaks the subset that vLLM, TGI, the llama.cpp server, Ollama, LiteLLM and hosted APIs
share, and tolerates what they leave out: ``content`` may be null when the model answers
with tool calls, ``logprobs`` and ``usage`` may be absent, ``model`` and
``system_fingerprint`` are recorded when sent. Streaming (server-sent events) measures the
time to the first token.

Every request has a timeout; 429, 5xx (but 501/505), timeouts and dropped connections are
retried with full-jitter backoff, waiting what ``Retry-After`` asks (seconds or an HTTP
date) up to :data:`RETRY_AFTER_CAP_S`. Failures become BackendErrors whose message names
the URL and the server's own error text, never the API key.
"""

import asyncio
import json
import math
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from console.backends._http import (
    HttpTarget,
    _causes,
    _excerpt,
    _ssl_reason,
    _ssl_verify,
    _without_userinfo,
    backoff_bound_s,
)
from console.backends.errors import (
    AuthFailed,
    BackendError,
    BadQuery,
    ConnectionFailed,
    MalformedResponse,
    RequestTimeout,
    ServerError,
    TlsFailure,
)
from console.domain.suite import ChatMessage

RETRY_AFTER_CAP_S = 30.0
"""The longest wait a Retry-After header may impose before a retry."""
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_RETRIES = 3
_NOT_RETRIED_5XX = frozenset({501, 505})
_REDACTED = "***"


class RateLimited(BackendError):
    """The endpoint answered 429 Too Many Requests (after every retry)."""

    retryable = True


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to ask for; None leaves a sampling parameter to the server."""

    model: str
    messages: tuple[ChatMessage, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    logprobs: bool = False
    stream: bool = False

    def body(self) -> dict[str, object]:
        """The JSON body as sent (stream options included when streaming)."""
        body: dict[str, object] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
        }
        for key, value in (
            ("temperature", self.temperature),
            ("max_tokens", self.max_tokens),
            ("seed", self.seed),
        ):
            if value is not None:
                body[key] = value
        if self.logprobs:
            body["logprobs"] = True
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body


@dataclass(frozen=True)
class ChatResponse:
    """What came back; None where the server said nothing.

    ``tool_calls`` are (function name, JSON arguments) pairs. ``latency_ms`` and
    ``ttft_ms`` (streaming only) time the attempt that succeeded; ``attempts`` counts all.
    """

    text: str | None
    tool_calls: tuple[tuple[str, str], ...] = ()
    model: str | None = None
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    logprobs: tuple[float, ...] | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    attempts: int = 1


@dataclass(frozen=True)
class Endpoint:
    """Where the chat endpoint is and how to reach it. The key is kept out of the repr."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    verify: bool = True
    ca_file: str | None = None


class _Retry(Exception):
    """An attempt failed in a way a retry may fix; ``wait_s`` is what the server asked."""

    def __init__(self, error: BackendError, wait_s: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.wait_s = wait_s


class OpenAICompatClient:
    """One connection pool to one OpenAI-compatible endpoint.

    ``tls`` (from :func:`tls_context`) lets many clients share one TLS context: building
    one loads the CA bundle, which takes tens of milliseconds.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        max_connections: int = 8,
        tls: ssl.SSLContext | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._endpoint = endpoint
        self._url = _without_userinfo(endpoint.base_url).rstrip("/") + "/chat/completions"
        self._secrets = tuple(
            s for s in (endpoint.api_key, *(v for _, v in endpoint.headers)) if s and len(s) > 3
        )
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        headers = dict(endpoint.headers)
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        try:
            self._http = httpx.AsyncClient(
                headers=headers,
                timeout=httpx.Timeout(endpoint.timeout_s),
                limits=limits,
                verify=tls if tls is not None else _ssl_verify_of(endpoint),
                transport=transport,
                trust_env=True,
            )
        except httpx.InvalidURL as exc:
            raise BackendError(
                f"invalid endpoint URL {self._url}: {self._scrub(str(exc))}"
            ) from None

    @property
    def url(self) -> str:
        """The chat completions URL, without userinfo: safe to show."""
        return self._url

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Send ``request``, retrying what a retry may fix; BackendError when it fails."""
        attempt = 0
        while True:
            try:
                response = await self._attempt(request)
            except _Retry as retry:
                if attempt >= max(0, self._endpoint.retries):
                    raise retry.error from None
                await self._sleep(self._retry_wait_s(retry.wait_s, attempt))
                attempt += 1
                continue
            return _with_attempts(response, attempt + 1)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def _retry_wait_s(self, asked_s: float | None, attempt: int) -> float:
        if asked_s is not None:
            return min(max(asked_s, 0.0), RETRY_AFTER_CAP_S)
        return self._rng.uniform(0.0, backoff_bound_s(attempt))

    async def _attempt(self, request: ChatRequest) -> ChatResponse:
        started = self._clock()
        try:
            async with asyncio.timeout(self._endpoint.timeout_s):
                if request.stream:
                    return await self._streamed(request, started)
                answer = await self._http.post(self._url, json=request.body())
                self._check_status(answer)
                return self._parsed(answer, started)
        except (TimeoutError, httpx.TimeoutException):
            raise _Retry(
                RequestTimeout(f"no answer from {self._url} within {self._endpoint.timeout_s:g} s")
            ) from None
        except httpx.HTTPError as exc:
            error = self._transport_error(exc)
            if error.retryable:
                raise _Retry(error) from None
            raise error from None

    def _parsed(self, answer: httpx.Response, started: float) -> ChatResponse:
        try:
            body = json.loads(answer.content)
        except (ValueError, RecursionError):
            raise self._malformed(f"invalid JSON: {_excerpt(answer.text)!r}") from None
        latency_ms = (self._clock() - started) * 1000.0
        try:
            return _response_of(body, latency_ms=latency_ms)
        except _Shape as exc:
            raise self._malformed(str(exc)) from None

    async def _streamed(self, request: ChatRequest, started: float) -> ChatResponse:
        async with self._http.stream("POST", self._url, json=request.body()) as answer:
            if not answer.is_success:
                await answer.aread()
                self._check_status(answer)
            stream = _StreamState()
            async for data in _sse_data(answer.aiter_lines()):
                try:
                    chunk = json.loads(data)
                except (ValueError, RecursionError):
                    raise self._malformed(
                        f"invalid JSON in a stream event: {data[:80]!r}"
                    ) from None
                if isinstance(chunk, dict) and "error" in chunk:
                    raise ServerError(
                        f"{self._url} reported an error mid-stream: "
                        f"{self._scrub(_error_message(chunk) or 'no details')}"
                    )
                try:
                    if stream.add(chunk) and stream.ttft_ms is None:
                        stream.ttft_ms = (self._clock() - started) * 1000.0
                except _Shape as exc:
                    raise self._malformed(str(exc)) from None
        return stream.response(latency_ms=(self._clock() - started) * 1000.0)

    def _check_status(self, answer: httpx.Response) -> None:
        status = answer.status_code
        if answer.is_success:
            return
        text = self._scrub(_error_text(answer)) or "no details"
        if status == 429:
            raise _Retry(
                RateLimited(f"{self._url} is rate limiting (HTTP 429): {text}"),
                retry_after_s(answer.headers.get("retry-after")),
            )
        if status >= 500:
            error = ServerError(f"{self._url} answered HTTP {status}: {text}")
            if status in _NOT_RETRIED_5XX:
                raise error
            raise _Retry(error, retry_after_s(answer.headers.get("retry-after")))
        if status in (401, 403):
            raise AuthFailed(
                f"{self._url} refused the credentials (HTTP {status}): {text}; check the API "
                "key in the keyring"
            )
        if status in (400, 404, 422):
            raise BadQuery(f"{self._url} rejected the request (HTTP {status}): {text}")
        raise BackendError(f"{self._url} answered HTTP {status}: {text}")

    def _transport_error(self, exc: httpx.HTTPError) -> BackendError:
        causes = _causes(exc)
        ssl_error = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
        if ssl_error is not None:
            return TlsFailure(
                f"TLS failure talking to {self._url}: {self._scrub(_ssl_reason(ssl_error))}"
            )
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return ConnectionFailed(f"connection refused by {self._url}")
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return ConnectionFailed(
                f"connection to {self._url} was reset or closed before the answer was complete"
            )
        detail = self._scrub(str(exc)) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
            return ConnectionFailed(f"cannot connect to {self._url}: {detail}")
        return BackendError(f"request to {self._url} failed: {type(exc).__name__}: {detail}")

    def _malformed(self, detail: str) -> MalformedResponse:
        return MalformedResponse(
            f"{self._url} sent an answer that is not a chat completion: {self._scrub(detail)}"
        )

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text


def retry_after_s(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        current = datetime.now(UTC).timestamp() if now is None else now
        seconds = when.timestamp() - current
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    """The endpoint's TLS verification settings as one context, to share between clients."""
    verify = _ssl_verify_of(endpoint)
    return verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)


def _ssl_verify_of(endpoint: Endpoint) -> ssl.SSLContext | bool:
    return _ssl_verify(
        HttpTarget(base_url=endpoint.base_url, verify=endpoint.verify, ca_file=endpoint.ca_file)
    )


def _with_attempts(response: ChatResponse, attempts: int) -> ChatResponse:
    return response if attempts == 1 else replace(response, attempts=attempts)


class _Shape(ValueError):
    """The JSON is not shaped like a chat completion."""


def _response_of(body: object, *, latency_ms: float) -> ChatResponse:
    if not isinstance(body, dict):
        raise _Shape(f"expected a JSON object, got {type(body).__name__}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _Shape("no choices")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _Shape("choices[0] has no message")
    content = message.get("content")
    prompt_tokens, completion_tokens = _usage(body.get("usage"))
    return ChatResponse(
        text=content if isinstance(content, str) else None,
        tool_calls=_tool_calls(message),
        model=_string(body.get("model")),
        system_fingerprint=_string(body.get("system_fingerprint")),
        finish_reason=_string(choice.get("finish_reason")),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        logprobs=_logprobs(choice.get("logprobs")),
        latency_ms=latency_ms,
    )


def _tool_calls(message: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    calls = message.get("tool_calls")
    legacy = message.get("function_call")
    functions = (
        [call.get("function") for call in calls if isinstance(call, dict)]
        if isinstance(calls, list)
        else [legacy]
    )
    return tuple(
        (str(f.get("name") or ""), _arguments(f.get("arguments")))
        for f in functions
        if isinstance(f, dict)
    )


def _arguments(value: object) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value)


def _usage(usage: object) -> tuple[int | None, int | None]:
    if not isinstance(usage, dict):
        return None, None
    return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _logprobs(logprobs: object) -> tuple[float, ...] | None:
    """Per-token logprobs: the chat format (``content[].logprob``) or the legacy one."""
    if not isinstance(logprobs, dict):
        return None
    content = logprobs.get("content")
    if isinstance(content, list):
        values = [t.get("logprob") for t in content if isinstance(t, dict)]
    else:
        legacy = logprobs.get("token_logprobs")
        if not isinstance(legacy, list):
            return None
        values = legacy
    numbers = tuple(
        float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
    )
    return numbers if len(numbers) == len(values) else None


def _error_message(body: Mapping[str, object]) -> str | None:
    """The error text of an OpenAI-style (``error.message``) or other common error body."""
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        return message if isinstance(message, str) else None
    for key in ("error", "detail", "message"):
        value = body.get(key)
        if isinstance(value, str):
            return value
    return None


def _error_text(answer: httpx.Response) -> str:
    try:
        body = json.loads(answer.content)
    except (ValueError, RecursionError):
        return _excerpt(answer.text)
    message = _error_message(body) if isinstance(body, dict) else None
    return _excerpt(message) if message else _excerpt(answer.text)


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data:`` payloads of a server-sent event stream, up to ``[DONE]``."""
    async for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        if data:
            yield data


@dataclass
class _ToolCallDelta:
    name: str = ""
    arguments: str = ""


@dataclass
class _StreamState:
    """A streamed completion put back together, chunk by chunk."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, _ToolCallDelta] = field(default_factory=dict)
    logprobs: list[float] | None = None
    model: str | None = None
    fingerprint: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None

    def add(self, chunk: object) -> bool:
        """Take one chunk; True when it carried generated text or a tool call."""
        if not isinstance(chunk, dict):
            raise _Shape(f"stream event is a {type(chunk).__name__}, not an object")
        self.model = _string(chunk.get("model")) or self.model
        self.fingerprint = _string(chunk.get("system_fingerprint")) or self.fingerprint
        if isinstance(chunk.get("usage"), dict):
            self.prompt_tokens, self.completion_tokens = _usage(chunk["usage"])
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return False
        choice = choices[0]
        self.finish_reason = _string(choice.get("finish_reason")) or self.finish_reason
        tokens = _logprobs(choice.get("logprobs"))
        if tokens is not None:
            self.logprobs = [*(self.logprobs or []), *tokens]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return False
        generated = False
        content = delta.get("content")
        if isinstance(content, str) and content:
            self.text.append(content)
            generated = True
        calls = delta.get("tool_calls")
        for position, call in enumerate(calls if isinstance(calls, list) else ()):
            if isinstance(call, dict):
                self._add_call(call, position)
                generated = True
        return generated

    def _add_call(self, call: Mapping[str, object], position: int) -> None:
        index = call.get("index")
        slot = self.calls.setdefault(
            index if isinstance(index, int) else position, _ToolCallDelta()
        )
        function = call.get("function")
        if isinstance(function, dict):
            slot.name += str(function.get("name") or "")
            slot.arguments += _arguments(function.get("arguments"))

    def response(self, *, latency_ms: float) -> ChatResponse:
        calls = tuple((c.name, c.arguments) for _, c in sorted(self.calls.items()))
        return ChatResponse(
            text="".join(self.text) if self.text or not calls else None,
            tool_calls=calls,
            model=self.model,
            system_fingerprint=self.fingerprint,
            finish_reason=self.finish_reason,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            logprobs=tuple(self.logprobs) if self.logprobs is not None else None,
            latency_ms=latency_ms,
            ttft_ms=self.ttft_ms,
        )
