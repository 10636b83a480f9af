"""How a deployment change is made and read back: an alias move, or a webhook. No Qt.

A :class:`Route` makes one change (``execute``) and says whether the change shows
(``confirm``): the registry alias reads the target, or the deployer's status URL reports
done. The pipeline calls ``execute`` at most once per action.
"""

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import httpx

from console.backends.registry_protocol import ModelRegistry
from console.backends.webhook import WebhookClient, WebhookRequest
from console.config.registry import WebhookTemplate, render, render_json


@dataclass(frozen=True)
class Change:
    """One change the pipeline makes: what, where, from and to, why and by whom."""

    action: str
    profile: str
    deployment: str
    from_version: str | None
    to_version: str
    reason: str
    actor: str
    idempotency_key: str

    def placeholders(self) -> dict[str, str]:
        """The values of a webhook template's placeholders."""
        return {
            "deployment": self.deployment,
            "from_version": self.from_version or "",
            "to_version": self.to_version,
            "reason": self.reason,
            "actor": self.actor,
        }


class Route(Protocol):
    """Makes a change and reads back whether it shows."""

    description: str

    async def execute(self, change: Change) -> str:
        """Make the change once; a sentence saying what was done. BackendError."""
        ...

    async def confirm(self, change: Change) -> tuple[bool | None, str]:
        """(True, …) when the change shows, (False, …) when something else shows, (None,
        …) when it cannot tell yet; WebhookFailed when the deployer reports failure."""
        ...


class AliasRoute:
    """Points a registered model's serving alias at the target version."""

    def __init__(self, registry: ModelRegistry, model: str, alias: str) -> None:
        self._registry = registry
        self._model = model
        self._alias = alias
        self.description = f"{registry.name}: alias {alias!r} of model {model!r}"

    async def execute(self, change: Change) -> str:
        """Set the alias (an idempotent request: the same one twice changes nothing)."""
        await self._registry.set_alias(self._model, self._alias, change.to_version)
        return f"alias {self._alias!r} of {self._model!r} set to version {change.to_version}"

    async def confirm(self, change: Change) -> tuple[bool | None, str]:
        """Whether the alias reads the target version."""
        now = await self._registry.alias_version(self._model, self._alias)
        return now == change.to_version, f"alias {self._alias!r} points at version {now}"


class WebhookRoute:
    """Renders and sends the deployment's webhook, then reads its status URL."""

    def __init__(
        self,
        template: WebhookTemplate,
        secret_headers: dict[str, str],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._template = template
        self._secret_headers = secret_headers
        self._transport = transport
        self._client: WebhookClient | None = None
        self._accepted = False
        self.description = f"webhook {template.method} {template.url}"

    async def execute(self, change: Change) -> str:
        """Send the webhook once, with the change's idempotency key."""
        done = await self._client_for(change).send()
        self._accepted = True
        return done

    async def confirm(self, change: Change) -> tuple[bool | None, str]:
        """The status URL's verdict; without one, the 2xx answer was the verdict."""
        if self._template.status_url is None:
            if self._accepted:
                return True, "the deployer accepted the change (no status URL)"
            return None, "no status URL to read the change back from"
        return await self._client_for(change).poll_status()

    def _client_for(self, change: Change) -> WebhookClient:
        if self._client is None:
            self._client = WebhookClient(
                render_request(self._template, change, self._secret_headers),
                idempotency_key=change.idempotency_key,
                transport=self._transport,
            )
        return self._client


def render_request(
    template: WebhookTemplate, change: Change, secret_headers: dict[str, str]
) -> WebhookRequest:
    """The request ``template`` makes for ``change``; secrets added as headers, unrendered."""
    values = change.placeholders()
    headers = tuple((name, render(value, values)) for name, value in template.headers)
    body = template.body_template
    return WebhookRequest(
        method=template.method,
        url=render(template.url, _url_safe(values)),
        headers=(*headers, *secret_headers.items()),
        body=None if body is None else render_json(body, values),
        status_url=render(template.status_url, _url_safe(values)) if template.status_url else None,
        status_field=template.status_field,
        done_values=template.done_values,
        failed_values=template.failed_values,
        timeout_s=template.timeout_s,
    )


def _url_safe(values: dict[str, str]) -> dict[str, str]:
    return {key: quote(value, safe="") for key, value in values.items()}
