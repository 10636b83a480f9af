"""Forward audit entries to a profile's webhook sink, so the team sees them too. No Qt.

A profile's ``registry.audit_sink`` (a WebhookTemplate: method, URL, headers, secret
headers from the keyring) receives each entry of that profile as its JSON object, with the
entry's hash as the ``Idempotency-Key`` (a receiver can drop repeats). Forwarding never
blocks or fails an action: the log's listener schedules the send on the I/O loop, and a
failed send is counted and kept in ``failures`` (the entry itself is safe in the log).
"""

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future

import httpx

from console.backends.errors import BackendError
from console.backends.webhook import WebhookClient, WebhookRequest
from console.config.registry import WebhookTemplate
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.audit import AuditEntry
from console.services.audit_log import AuditLog
from console.services.open_actions import secret_headers

Sinks = Mapping[str, tuple[WebhookTemplate, Mapping[str, str]]]
"""Profile name -> its audit sink and the values of the sink's secret headers."""


def audit_sinks(
    profiles: Iterable[Profile], secrets: SecretStore
) -> dict[str, tuple[WebhookTemplate, Mapping[str, str]]]:
    """The sinks the profiles set, their secret headers read from the keyring (blocking).

    Raises PlanError naming the keyring entry when a secret header has no value.
    """
    sinks: dict[str, tuple[WebhookTemplate, Mapping[str, str]]] = {}
    for profile in profiles:
        sink = profile.registry.audit_sink if profile.registry else None
        if sink is not None:
            sinks[profile.name] = (sink, secret_headers(secrets, sink))
    return sinks


class AuditForwarder:
    """Sends every appended entry of a profile with a sink to that sink."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sinks: Sinks,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._loop = loop
        self._sinks = dict(sinks)
        self._transport = transport
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()
        self.failures: list[str] = []
        """Why sends failed, oldest first (``entry N: reason``)."""

    def attach(self, log: AuditLog) -> Callable[[], None]:
        """Forward what ``log`` appends from now on; returns the detach call."""
        return log.subscribe(self.forward)

    def forward(self, entry: AuditEntry) -> None:
        """Schedule ``entry``'s send on the loop (any thread; returns at once)."""
        sink = self._sinks.get(entry.profile)
        if sink is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._send(entry, *sink), self._loop)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    async def drain(self) -> None:
        """Wait for the sends scheduled so far (the CLI, before it exits)."""
        with self._lock:
            pending = list(self._pending)
        if pending:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in pending))

    async def _send(
        self, entry: AuditEntry, sink: WebhookTemplate, secret_headers: Mapping[str, str]
    ) -> None:
        request = WebhookRequest(
            method=sink.method,
            url=sink.url,
            headers=(*sink.headers, *secret_headers.items()),
            body=entry.to_json(),
            timeout_s=sink.timeout_s,
        )
        client = WebhookClient(request, idempotency_key=entry.hash, transport=self._transport)
        try:
            await client.send()
        except BackendError as exc:
            with self._lock:
                self.failures.append(f"entry {entry.id}: {exc.message}")

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
