"""One JSON-over-HTTP client per backend: timeouts, retries, circuit breaker, auth, TLS, errors.

Every request has a timeout; only idempotent requests are retried, with full-jitter
backoff; consecutive failures open a circuit breaker. Every failure becomes a typed
BackendError whose message names the URL but never userinfo, header values or secrets.
"""

import asyncio
import json
import math
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from console.backends._offload import parse_body
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

T = TypeVar("T")
QueryParams = Mapping[str, str | Sequence[str]]
Parse = Callable[[bytes], Any]
FormData = Mapping[str, str]

RETRYABLE_STATUS = frozenset({502, 503, 504})
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0
EXCERPT_CHARS = 200
_REDACTED = "***"
_MIN_SCRUBBED_LEN = 4
"""Shorter header values are not scrubbed from messages: they would mangle every word."""

_BREAKER_ERRORS = (ConnectionFailed, RequestTimeout, ServerError, MalformedResponse)


@dataclass(frozen=True)
class HttpTarget:
    """Where a backend is and how to reach it. Secrets are kept out of the repr."""

    base_url: str
    headers: tuple[tuple[str, str], ...] = ()
    bearer_token: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    verify: bool = True
    ca_file: str | None = None
    timeout_s: float = 10.0
    retries: int = 2
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 15.0


def backoff_bound_s(attempt: int) -> float:
    """Upper bound of the full-jitter sleep before retry number ``attempt`` (0-based)."""
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt)


class _Breaker:
    """Opens after N consecutive failed calls; lets one trial call through after a cool-down."""

    def __init__(self, threshold: int, cooldown_s: float, clock: Callable[[], float]) -> None:
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._last_error = ""
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._trial_in_flight or self._remaining_s() <= 0:
            return "half-open"
        return "open"

    def _remaining_s(self) -> float:
        assert self._opened_at is not None
        return self._opened_at + self._cooldown_s - self._clock()

    def admit(self) -> None:
        """Raise CircuitOpen unless the call may go out (closed, or the half-open trial)."""
        if self._opened_at is None:
            return
        remaining = self._remaining_s()
        if remaining > 0 or self._trial_in_flight:
            when = (
                "a trial request is in flight"
                if remaining <= 0
                else f"next try in {math.ceil(remaining)} s"
            )
            raise CircuitOpen(
                f"circuit open after {self._failures} consecutive failures "
                f"(last: {self._last_error}); {when}"
            )
        self._trial_in_flight = True

    def succeeded(self) -> None:
        self._trial_in_flight = False
        self._failures = 0
        self._opened_at = None

    def failed(self, error: BackendError) -> None:
        # The count only resets on success, so a failed half-open trial re-opens too.
        self._trial_in_flight = False
        self._failures += 1
        self._last_error = error.message
        if self._failures >= self._threshold:
            self._opened_at = self._clock()

    def released(self) -> None:
        """The call ended without a verdict (cancelled or a programming error)."""
        self._trial_in_flight = False


class _AttemptFailed(Exception):
    """One attempt failed; ``retryable`` says whether an idempotent call may try again."""

    def __init__(self, error: BackendError, *, retryable: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.retryable = retryable


class HttpJsonClient:
    """Owns one httpx.AsyncClient for one backend and turns every failure into a BackendError."""

    def __init__(
        self,
        target: HttpTarget,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target = target
        self._base_url = _without_userinfo(target.base_url)
        self._secrets = _secrets_of(target)
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._breaker = _Breaker(target.breaker_threshold, target.breaker_cooldown_s, clock)
        headers = dict(target.headers)
        if target.bearer_token:
            headers["Authorization"] = f"Bearer {target.bearer_token}"
        try:
            self._http = httpx.AsyncClient(
                base_url=target.base_url,
                headers=headers,
                auth=httpx.BasicAuth(*target.basic_auth) if target.basic_auth else None,
                verify=_ssl_verify(target),
                timeout=httpx.Timeout(target.timeout_s),
                trust_env=True,
                transport=transport,
            )
        except httpx.InvalidURL as exc:
            raise BackendError(
                f"invalid backend URL {self._base_url}: {self._scrub(str(exc))}"
            ) from None

    @property
    def base_url(self) -> str:
        """The backend URL without userinfo, safe to show."""
        return self._base_url

    @property
    def breaker_state(self) -> str:
        """The circuit breaker's state: "closed", "open" or "half-open"."""
        return self._breaker.state

    async def get_json(
        self, path: str, params: QueryParams | None = None, *, parse: Parse = json.loads
    ) -> Any:
        """GET ``path`` and return the decoded JSON (retried: GET is idempotent); ``parse``
        as for :meth:`post_form_json`."""
        return await self._call("GET", path, params=params, idempotent=True, parse=parse)

    async def post_form_json(
        self, path: str, data: FormData, *, idempotent: bool, parse: Parse = json.loads
    ) -> Any:
        """POST a form to ``path``; retried only if idempotent.

        ``parse`` turns the body into the result (default: the decoded JSON). It may raise
        BackendError for a wrong shape; large bodies are parsed in a worker process, so it
        must be picklable.
        """
        return await self._call("POST", path, data=data, idempotent=idempotent, parse=parse)

    async def post_json(self, path: str, body: Any, *, idempotent: bool) -> Any:
        """POST ``body`` as JSON to ``path``; the decoded answer (None for an empty body)."""
        return await self._call(
            "POST", path, json_body=body, idempotent=idempotent, parse=json_or_none
        )

    async def request_json(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotent: bool,
        parse: Parse | None = None,
    ) -> Any:
        """Any method, with ``body`` (None: none) as JSON; ``parse`` makes the result
        (default: the decoded JSON, None for an empty body)."""
        return await self._call(
            method, path, json_body=body, idempotent=idempotent, parse=parse or json_or_none
        )

    async def delete(self, path: str) -> Any:
        """DELETE ``path`` (idempotent, so retried); the decoded answer, None when empty."""
        return await self._call("DELETE", path, idempotent=True, parse=json_or_none)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def url_of(self, path: str) -> str:
        """The URL of ``path`` as shown in messages (no userinfo, no query string)."""
        return self._base_url.rstrip("/") + "/" + path.lstrip("/")

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        data: FormData | None = None,
        json_body: Any = None,
        idempotent: bool,
        parse: Parse = json.loads,
    ) -> Any:
        self._breaker.admit()
        try:
            result = await self._with_retries(
                method, path, params, data, json_body, idempotent, parse
            )
        except BackendError as exc:
            # Only outage-like failures count; the caller's or the configuration's mistakes
            # (auth, bad query, TLS, other 4xx) say nothing about the backend's health.
            if isinstance(exc, _BREAKER_ERRORS):
                self._breaker.failed(exc)
            else:
                self._breaker.succeeded()
            raise
        except BaseException:
            self._breaker.released()
            raise
        self._breaker.succeeded()
        return result

    async def _with_retries(
        self,
        method: str,
        path: str,
        params: QueryParams | None,
        data: FormData | None,
        json_body: Any,
        idempotent: bool,
        parse: Parse,
    ) -> Any:
        retries = max(0, self._target.retries) if idempotent else 0
        attempt = 0
        while True:
            try:
                return await self._attempt(method, path, params, data, json_body, parse)
            except _AttemptFailed as failure:
                if not failure.retryable or attempt >= retries:
                    raise failure.error from None
            await self._sleep(self._rng.uniform(0.0, backoff_bound_s(attempt)))
            attempt += 1

    async def _attempt(
        self,
        method: str,
        path: str,
        params: QueryParams | None,
        data: FormData | None,
        json_body: Any,
        parse: Parse,
    ) -> Any:
        url = self.url_of(path)
        try:
            async with asyncio.timeout(self._target.timeout_s):
                response = await self._http.request(
                    method, path.lstrip("/"), params=params, data=data, json=json_body
                )
        except (TimeoutError, httpx.TimeoutException):
            raise _AttemptFailed(
                RequestTimeout(f"no answer from {url} within {self._target.timeout_s:g} s"),
                retryable=True,
            ) from None
        except httpx.HTTPError as exc:
            error = self._transport_error(url, exc)
            raise _AttemptFailed(error, retryable=isinstance(error, ConnectionFailed)) from None
        except httpx.InvalidURL as exc:
            raise _AttemptFailed(
                BackendError(f"invalid request URL {url}: {self._scrub(str(exc))}"),
                retryable=False,
            ) from None
        if response.is_success:
            return await self._decode(url, response, parse)
        raise _AttemptFailed(
            self._status_error(url, response),
            retryable=response.status_code in RETRYABLE_STATUS,
        )

    def _transport_error(self, url: str, exc: httpx.HTTPError) -> BackendError:
        """Map a transport-level httpx error (no HTTP answer) to a typed error."""
        causes = _causes(exc)
        detail = self._scrub(str(exc)) or type(exc).__name__
        ssl_error = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
        if ssl_error is not None:
            return TlsFailure(
                f"TLS failure talking to {url}: {self._scrub(_ssl_reason(ssl_error))}; "
                "if certificate verification failed, set the profile's ca_file to the CA "
                "bundle that signed the server certificate, or (for testing only) mark the "
                "profile insecure"
            )
        if isinstance(exc, httpx.ProxyError):
            return ConnectionFailed(f"the proxy could not connect to {url}: {detail}")
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return ConnectionFailed(f"connection refused by {url}")
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return ConnectionFailed(
                f"connection to {url} was reset or closed before the answer was complete"
            )
        if isinstance(exc, httpx.DecodingError):
            return MalformedResponse(f"{url} sent a body that cannot be decoded: {detail}")
        if isinstance(exc, httpx.ConnectError):
            return ConnectionFailed(f"cannot connect to {url}: {detail}")
        return BackendError(f"request to {url} failed: {type(exc).__name__}: {detail}")

    def _status_error(self, url: str, response: httpx.Response) -> BackendError:
        """Map a non-2xx answer to a typed error carrying the backend's own text."""
        status = response.status_code
        error_type, text = _error_text(response)
        text = self._scrub(text)
        if status in (401, 403):
            return AuthFailed(
                f"{url} refused the credentials (HTTP {status}): {text or 'no details'}; "
                "check the profile's auth settings and the secret in the keyring"
            )
        if status in (400, 422):
            kind = f" {error_type}" if error_type and error_type != str(status) else ""
            return BadQuery(
                f"{url} rejected the query (HTTP {status}{kind}): {text or 'no details'}"
            )
        if status >= 500:
            return ServerError(f"{url} answered HTTP {status}: {text or 'no details'}")
        if 300 <= status < 400:
            location = _without_userinfo(response.headers.get("location", "?"))
            return BackendError(
                f"{url} redirects (HTTP {status}) to {location}; "
                "set the profile URL to the final address"
            )
        if status == 404:
            return BackendError(
                f"{url} not found (HTTP 404): is the profile URL the API root "
                "(including any path prefix)?"
            )
        return BackendError(f"{url} answered HTTP {status}: {text or 'no details'}")

    async def _decode(self, url: str, response: httpx.Response, parse: Parse) -> Any:
        try:
            return await parse_body(parse, response.content)
        except BackendError as exc:
            raise _AttemptFailed(exc, retryable=False) from None
        except (ValueError, RecursionError) as exc:
            content_type = response.headers.get("content-type", "no content type")
            raise _AttemptFailed(
                MalformedResponse(
                    f"{url} answered HTTP {response.status_code} with invalid JSON "
                    f"({content_type}): {exc}; body starts with "
                    f"{self._scrub(_excerpt(response.text))!r}"
                ),
                retryable=False,
            ) from None

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text


def _without_userinfo(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _secrets_of(target: HttpTarget) -> tuple[str, ...]:
    """Strings that must never appear in a message, longest first."""
    try:
        password = urlsplit(target.base_url).password
    except ValueError:
        password = None
    secrets = {target.bearer_token, password, target.basic_auth[1] if target.basic_auth else None}
    header_values = {v for _, v in target.headers if len(v) >= _MIN_SCRUBBED_LEN}
    return tuple(sorted({s for s in secrets | header_values if s}, key=len, reverse=True))


def _ssl_verify(target: HttpTarget) -> ssl.SSLContext | bool:
    if not target.verify:
        return False
    if target.ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=target.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TlsFailure(f"cannot load the CA bundle ca_file={target.ca_file!r}: {exc}") from None


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _ssl_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"certificate verification failed: {error.verify_message}"
    return error.reason or str(error)


def _error_text(response: httpx.Response) -> tuple[str | None, str]:
    """The backend's error type and text: Prometheus's JSON error, Alertmanager's JSON
    string or ``{"code", "message"}``, else a body excerpt."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return None, _excerpt(response.text)
    if isinstance(body, str):
        return None, body
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        error_type = body.get("errorType")
        return (str(error_type) if error_type else None), body["error"]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return None, body["message"]
    return None, _excerpt(response.text)


def json_or_none(body: bytes) -> Any:
    """The decoded JSON of ``body``; None for an empty body (a DELETE's usual answer)."""
    return json.loads(body) if body.strip() else None


def _excerpt(text: str) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"
