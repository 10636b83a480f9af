"""GUI test fixtures: offscreen Qt, fresh config and data dirs, a real I/O runner."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import

import concurrent.futures
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from keyring.backends import fail

from console.config import paths
from console.config.secrets import SecretStore
from console.config.store import ConfigStore
from console.qtbridge.runner import AsyncRunner
from console.services.connect import open_fleet
from console.viewmodels.profiles import FleetOpener, ProfilesViewModel
from tests.support.memory_keyring import MemoryKeyring

_HERE = Path(__file__).parent
# The offscreen platform warns that windows cannot tell it their size hints; harmless.
_OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.qt_log_ignore(_OFFSCREEN_NOISE))


@pytest.fixture(autouse=True)
def fresh_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config and data dir."""
    monkeypatch.setenv(paths.CONFIG_DIR_ENV, str(tmp_path / "config"))
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def runner() -> Iterator[AsyncRunner]:
    """The real I/O loop thread, stopped after the test."""
    io = AsyncRunner()
    yield io
    io.stop()


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    """An in-memory keyring; ``entries`` shows what was stored."""
    return MemoryKeyring()


@pytest.fixture
def secrets(keyring_backend: MemoryKeyring) -> SecretStore:
    """A secret store over the in-memory keyring."""
    return SecretStore(keyring_backend)


@pytest.fixture
def no_keyring() -> SecretStore:
    """A secret store with no OS keyring (keyring's fail backend)."""
    return SecretStore(fail.Keyring())


@pytest.fixture
def make_profiles(
    runner: AsyncRunner, secrets: SecretStore
) -> Iterator[Callable[..., ProfilesViewModel]]:
    """Build ProfilesViewModels over the test's config file; closed after the test."""
    made: list[ProfilesViewModel] = []

    def make(
        *, open_service: FleetOpener = open_fleet, secret_store: SecretStore | None = None
    ) -> ProfilesViewModel:
        vm = ProfilesViewModel(
            runner,
            ConfigStore(paths.config_file()),
            secret_store or secrets,
            open_service=open_service,
        )
        made.append(vm)
        return vm

    yield make
    closing = [f for f in (vm.close() for vm in made) if f is not None]
    concurrent.futures.wait(closing, timeout=5)
