"""Forwarding audit entries to a profile's webhook sink (httpx.MockTransport)."""

import asyncio
import json
from pathlib import Path

import httpx

from console.config.registry import RegistrySettings, WebhookTemplate
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.audit import AuditDraft, AuditOutcome
from console.services.audit_forward import AuditForwarder, audit_sinks
from console.services.audit_log import AuditLog

SINK = WebhookTemplate(
    url="https://chatops.example/audit", secret_headers=(("Authorization", "chatops"),)
)


def draft(profile: str) -> AuditDraft:
    return AuditDraft(
        actor="alice",
        profile=profile,
        action="rollback",
        target="support-chat",
        outcome=AuditOutcome.SUCCEEDED,
        reason="bad build",
    )


def test_each_entry_of_a_profile_with_a_sink_is_posted_once(
    tmp_path: Path, secrets: SecretStore
) -> None:
    secrets.set("chatops", "token", "Bearer chat-secret")
    profiles = [
        Profile("prod", "http://p:9090", registry=RegistrySettings(audit_sink=SINK)),
        Profile("staging", "http://s:9090"),
    ]
    received: list[httpx.Request] = []

    def sink(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(500 if len(received) == 2 else 204)

    log = AuditLog(tmp_path / "a.sqlite3")

    async def scenario() -> AuditForwarder:
        forwarder = AuditForwarder(
            asyncio.get_running_loop(),
            audit_sinks(profiles, secrets),
            transport=httpx.MockTransport(sink),
        )
        detach = forwarder.attach(log)
        log.append(draft("prod"))
        log.append(draft("staging"))
        log.append(draft("prod"))
        await forwarder.drain()
        detach()
        log.append(draft("prod"))
        await forwarder.drain()
        return forwarder

    forwarder = asyncio.run(scenario())
    assert len(received) == 2
    first = json.loads(received[0].content)
    stored = log.get(1)
    assert stored is not None and first == stored.to_json()
    assert received[0].headers["Idempotency-Key"] == stored.hash
    assert received[0].headers["Authorization"] == "Bearer chat-secret"
    assert len(forwarder.failures) == 1 and forwarder.failures[0].startswith("entry 3:")
    assert "chat-secret" not in forwarder.failures[0]
