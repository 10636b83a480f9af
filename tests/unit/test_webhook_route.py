"""Webhook templating, sending and status polling (httpx.MockTransport, no network)."""

import asyncio
import json

import httpx
import pytest

from console.backends.errors import ServerError
from console.backends.webhook import IDEMPOTENCY_HEADER, WebhookFailed
from console.config.registry import WebhookTemplate
from console.config.settings import SettingsError
from console.services.action_routes import Change, WebhookRoute, render_request

CHANGE = Change(
    action="rollback",
    profile="prod",
    deployment="support chat",
    from_version="v42",
    to_version="v41",
    reason='latency "spike" & refusals\n{"x": 1}',
    actor="alice@host (prod/admin)",
    idempotency_key="key-123",
)
TEMPLATE = WebhookTemplate(
    url="https://deployer.example/apps/{deployment}/sync?to={to_version}",
    headers=(("X-Actor", "{actor}"),),
    secret_headers=(("Authorization", "deployer"),),
    body=json.dumps(
        {
            "app": "{deployment}",
            "revision": "{to_version}",
            "previous": "{from_version}",
            "note": "{reason} by {actor}",
            "labels": ["{deployment}", 3, True],
        }
    ),
    status_url="https://deployer.example/apps/{deployment}/status",
    status_field="status.sync.status",
)


def test_the_template_renders_every_placeholder_safely() -> None:
    request = render_request(TEMPLATE, CHANGE, {"Authorization": "Bearer s3cret-token"})
    assert request.url == "https://deployer.example/apps/support%20chat/sync?to=v41"
    assert request.status_url == "https://deployer.example/apps/support%20chat/status"
    assert dict(request.headers) == {
        "X-Actor": "alice@host (prod/admin)",
        "Authorization": "Bearer s3cret-token",
    }
    assert request.body == {
        "app": "support chat",
        "revision": "v41",
        "previous": "v42",
        "note": f"{CHANGE.reason} by {CHANGE.actor}",
        "labels": ["support chat", 3, True],
    }
    assert "s3cret" not in repr(request)


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"url": "ftp://x/{deployment}"}, "url", "is not an http"),
        ({"url": "https://u:p@x/"}, "url", "credentials"),
        ({"url": "https://x/{version}"}, "url", "unknown placeholder {version}"),
        ({"body": '{"a": "{who}"}'}, "body", "unknown placeholder {who}"),
        ({"body": "{not json"}, "body", "is not JSON"),
        ({"method": "FETCH"}, "method", "is not one of"),
        (
            {"secret_headers": (("Authorization", "bad ref!"),)},
            "secret_headers.Authorization",
            "letters",
        ),
        ({"headers": (("Bad Header", "x"),)}, "headers", "not a valid header name"),
    ],
)
def test_bad_templates_name_the_key(changes: dict[str, object], key: str, message: str) -> None:
    values: dict[str, object] = {"url": "https://x/{deployment}"} | changes
    with pytest.raises(SettingsError, match=message) as caught:
        WebhookTemplate(**values)  # type: ignore[arg-type]
    assert caught.value.key == key


class Deployer:
    """A MockTransport deployer: answers the sync with ``sync_status`` and the status URL
    with each of ``statuses`` in turn."""

    def __init__(self, sync_status: int = 202, statuses: tuple[str, ...] = ("Synced",)) -> None:
        self.sync_status = sync_status
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/sync"):
            return httpx.Response(self.sync_status, text="accepted")
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return httpx.Response(200, json={"status": {"sync": {"status": status}}})


def run_route(deployer: Deployer, polls: int = 1) -> tuple[str, list[tuple[bool | None, str]]]:
    route = WebhookRoute(
        TEMPLATE,
        {"Authorization": "Bearer s3cret-token"},
        transport=httpx.MockTransport(deployer),
    )

    async def scenario() -> tuple[str, list[tuple[bool | None, str]]]:
        done = await route.execute(CHANGE)
        return done, [await route.confirm(CHANGE) for _ in range(polls)]

    return asyncio.run(scenario())


def test_the_webhook_is_sent_once_with_its_key_and_polled_until_done() -> None:
    deployer = Deployer(statuses=("OutOfSync", "Synced"))
    done, polls = run_route(deployer, polls=2)
    assert "answered 2xx" in done
    sync, *status = deployer.requests
    assert (sync.method, sync.url.raw_path) == ("POST", b"/apps/support%20chat/sync?to=v41")
    assert sync.url.params["to"] == "v41"
    assert sync.headers[IDEMPOTENCY_HEADER] == "key-123"
    assert sync.headers["Authorization"] == "Bearer s3cret-token"
    assert json.loads(sync.content)["note"].startswith('latency "spike"')
    assert [request.method for request in status] == ["GET", "GET"]
    assert [shows for shows, _ in polls] == [None, True]
    assert "'Synced'" in polls[1][1]


def test_a_failed_status_raises_and_a_5xx_is_not_retried() -> None:
    with pytest.raises(WebhookFailed, match="Degraded"):
        run_route(Deployer(statuses=("Degraded",)))
    deployer = Deployer(sync_status=503)
    with pytest.raises(ServerError) as caught:
        run_route(deployer)
    assert len(deployer.requests) == 1
    assert "s3cret" not in str(caught.value)


def test_without_a_status_url_the_2xx_is_the_answer() -> None:
    template = WebhookTemplate(url="https://deployer.example/hook", method="PUT")
    deployer = Deployer()
    route = WebhookRoute(template, {}, transport=httpx.MockTransport(deployer))

    async def scenario() -> tuple[tuple[bool | None, str], tuple[bool | None, str]]:
        before = await route.confirm(CHANGE)
        await route.execute(CHANGE)
        return before, await route.confirm(CHANGE)

    before, after = asyncio.run(scenario())
    assert before[0] is None and after[0] is True
    assert deployer.requests[0].url.path == "/hook" and deployer.requests[0].content == b""
