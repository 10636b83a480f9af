"""Where a profile's deployment answers a suite: the DEMO's lazy loopback server, a real
profile's endpoint with its keyring key, and the suite bound to the deployment."""

from pathlib import Path

import httpx
import pytest

from console.backends.demo import DemoBackend
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, ModelEndpoint, Profile
from console.domain.suite import SuiteError
from console.services.suite_runner import MissingApiKey
from console.services.suite_targets import NoEndpoint, SuiteTargets

SUITE = """
description: bound suite
prompts: ["Say {{word}}"]
tests:
  - vars: {word: hi}
    assert: [{type: icontains, value: hi}]
"""


def ask(base_url: str, model: str) -> str:
    response = httpx.post(
        f"{base_url}/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "What is 17 + 25?"}]},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["model"])


def test_the_demo_server_starts_on_first_use_follows_the_rollback_and_stops_on_close(
    secrets: SecretStore,
) -> None:
    backend = DemoBackend()
    targets = SuiteTargets(DEMO_PROFILE, backend, secrets, time_scale=0.1)
    first = targets.target("support-chat")
    assert (first.deployment, first.version, first.profile) == ("support-chat", "v42", "demo")
    assert first.price is not None and first.price.version == "v42"
    assert ask(first.provider.base_url, "support-chat") == "support-chat@v42"
    backend.set_serving("support-chat", {"v41": 1.0})
    second = targets.target("support-chat")
    assert second.provider.base_url == first.provider.base_url  # one server per profile
    assert second.version == "v41"
    assert ask(second.provider.base_url, "support-chat") == "support-chat@v41"
    targets.close()
    with pytest.raises(httpx.ConnectError):
        ask(first.provider.base_url, "support-chat")
    with pytest.raises(ValueError, match="nope"):
        targets.target("nope")
    targets.close()


def test_the_demo_runs_the_shipped_smoke_suite(secrets: SecretStore) -> None:
    targets = SuiteTargets(DEMO_PROFILE, DemoBackend(), secrets)
    assert targets.suite_path("support-chat") is None
    assert targets.suite("support-chat").source == "built-in smoke.yaml"


def test_a_real_profile_uses_its_endpoint_key_and_bound_suite(
    secrets: SecretStore, tmp_path: Path
) -> None:
    bound = tmp_path / "chat.yaml"
    bound.write_text(SUITE)
    profile = Profile(
        "prod",
        "http://prom:9090",
        endpoints=(
            ModelEndpoint("chat", "https://llm.example/v1", "llama", "prod-llm", str(bound)),
            ModelEndpoint("qa", "http://127.0.0.1:8000/v1", "qwen"),
        ),
    )
    targets = SuiteTargets(profile, object(), secrets)
    with pytest.raises(MissingApiKey, match="prod-llm:token"):
        targets.target("chat")
    secrets.set("prod-llm", "token", "sk-1")
    chat = targets.target("chat")
    assert (chat.provider.base_url, chat.provider.model, chat.api_key) == (
        "https://llm.example/v1",
        "llama",
        "sk-1",
    )
    assert (chat.profile, chat.deployment, chat.version) == ("prod", "chat", None)
    assert targets.target("qa").api_key is None
    assert targets.suite("chat").description == "bound suite"
    assert targets.suite("qa").source == "built-in smoke.yaml"
    with pytest.raises(NoEndpoint, match=r"'prod' names no model endpoint for 'other'"):
        targets.target("other")
    bound.write_text("tests: [")
    with pytest.raises(SuiteError, match=str(bound)):
        targets.suite("chat")
