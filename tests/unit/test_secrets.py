"""Secrets: keyring only, plain refusal without a backend, session-only on request."""

import pytest
from keyring.backends import fail

from console.config.secrets import SERVICE, SecretStore, SecretsUnavailable
from tests.support.memory_keyring import MemoryKeyring


def test_secret_goes_to_one_keyring_entry_per_profile_and_field() -> None:
    backend = MemoryKeyring()
    store = SecretStore(backend)
    store.set("prod-eu", "token", "s3cr3t")
    assert backend.entries == {(SERVICE, "prod-eu:token"): "s3cr3t"}
    assert store.get("prod-eu", "token") == "s3cr3t"
    assert store.get("staging", "token") is None


def test_delete_profile_forgets_keyring_and_session_secrets() -> None:
    backend = MemoryKeyring()
    store = SecretStore(backend)
    store.set("a", "token", "t")
    store.set_session_only("a", "password", "p")
    store.delete_profile("a")
    assert backend.entries == {}
    assert store.get("a", "password") is None


def test_without_a_backend_it_refuses_plainly_and_offers_session_only() -> None:
    store = SecretStore(fail.Keyring())
    assert not store.available
    with pytest.raises(SecretsUnavailable, match="No OS keyring is available") as caught:
        store.set("a", "token", "s3cr3t")
    assert "s3cr3t" not in str(caught.value)
    assert "session-only" in store.unavailable_reason()
    store.set_session_only("a", "token", "s3cr3t")
    assert store.get("a", "token") == "s3cr3t"
    assert SecretStore(fail.Keyring()).get("a", "token") is None
