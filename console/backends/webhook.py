"""Deployment webhooks: one HTTP request that makes a change, then an optional status poll.

For Argo CD, GitHub Actions, Jenkins or an in-house deployer. The request is never
retried (it may not be idempotent); it carries an ``Idempotency-Key`` header so a deployer
that honours it ignores a repeat. Success is a 2xx answer. With a status URL, its JSON
answer's status field (a dotted path such as ``status.sync.status``) is polled until it
reads one of the "done" values (success) or "failed" values; the caller polls
(:meth:`WebhookClient.poll_status`) within its own verification deadline.
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.errors import BackendError

IDEMPOTENCY_HEADER = "Idempotency-Key"


class WebhookFailed(BackendError):
    """The deployer reported that the change failed."""


@dataclass(frozen=True)
class WebhookRequest:
    """A rendered webhook: everything is final, secrets included (kept out of the repr)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    body: Any = None
    status_url: str | None = None
    status_field: str = "status"
    done_values: tuple[str, ...] = ()
    failed_values: tuple[str, ...] = ()
    timeout_s: float = 10.0


def _raw(body: bytes) -> bytes:
    return body


class WebhookClient:
    """Sends one rendered webhook and polls its status URL."""

    def __init__(
        self,
        request: WebhookRequest,
        *,
        idempotency_key: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._request = request
        headers = (*request.headers, (IDEMPOTENCY_HEADER, idempotency_key))
        self._transport = transport
        self._headers = headers

    async def send(self) -> str:
        """Send the request once (never retried): a sentence on a 2xx, else BackendError."""
        base, path = _split(self._request.url)
        client = self._client(base)
        try:
            await client.request_json(
                self._request.method, path, self._request.body, idempotent=False, parse=_raw
            )
        finally:
            await client.aclose()
        return f"{self._request.method} {client.url_of(path)} answered 2xx"

    async def poll_status(self) -> tuple[bool | None, str]:
        """Read the status URL once: (True, text) when done, (None, text) while pending or
        unreadable (or when there is no status URL); WebhookFailed when it reports failure."""
        if self._request.status_url is None:
            return None, "no status URL"
        base, path = _split(self._request.status_url)
        client = self._client(base)
        try:
            answer = await client.get_json(path)
        except BackendError as exc:
            return None, exc.message
        finally:
            await client.aclose()
        status = _field(answer, self._request.status_field)
        text = f"{client.url_of(path)}: {self._request.status_field} = {status!r}"
        if status is not None and status.lower() in _lower(self._request.failed_values):
            raise WebhookFailed(f"the deployer reports failure ({text})")
        done = status is not None and status.lower() in _lower(self._request.done_values)
        return (True if done else None), text

    def _client(self, base: str) -> HttpJsonClient:
        # A fresh client per call: the webhook is rare, and its breaker must not carry over.
        target = HttpTarget(
            base_url=base,
            headers=self._headers,
            timeout_s=self._request.timeout_s,
            retries=0,
        )
        return HttpJsonClient(target, transport=self._transport)


def _split(url: str) -> tuple[str, str]:
    """``scheme://host`` and the rest, so the client never appends a slash to the path."""
    parts = urlsplit(url)
    path = urlunsplit(("", "", parts.path, parts.query, "")) or "/"
    return f"{parts.scheme}://{parts.netloc}", path


def _field(answer: Any, dotted: str) -> str | None:
    value = answer
    for key in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return None if value is None or isinstance(value, dict | list) else str(value)


def _lower(values: tuple[str, ...]) -> set[str]:
    return {value.lower() for value in values}
