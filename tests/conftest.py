"""Suite-wide fixtures: fresh, empty config and data dirs per test; an in-memory keyring."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from console.config.paths import CONFIG_DIR_ENV, DATA_DIR_ENV
from console.config.secrets import SecretStore
from tests.support.memory_keyring import MemoryKeyring


@dataclass(frozen=True)
class ConsoleDirs:
    """The config and data dirs the console uses during one test (created on demand)."""

    config: Path
    data: Path


@pytest.fixture(autouse=True)
def console_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConsoleDirs:
    """Point SRE_CONSOLE_CONFIG_DIR and SRE_CONSOLE_DATA_DIR at this test's tmp dir."""
    dirs = ConsoleDirs(config=tmp_path / "config", data=tmp_path / "data")
    monkeypatch.setenv(CONFIG_DIR_ENV, str(dirs.config))
    monkeypatch.setenv(DATA_DIR_ENV, str(dirs.data))
    return dirs


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    """An in-memory keyring; ``entries`` shows what was stored."""
    return MemoryKeyring()


@pytest.fixture
def secrets(keyring_backend: MemoryKeyring) -> SecretStore:
    """A secret store over the in-memory keyring."""
    return SecretStore(keyring_backend)
