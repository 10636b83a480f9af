"""GUI test fixtures: offscreen Qt, a real I/O runner, profiles over the test's config."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import

import concurrent.futures
from collections.abc import Callable, Iterator

import pytest
from keyring.backends import fail

from console.config import paths
from console.config.secrets import SecretStore
from console.config.store import ConfigStore
from console.qtbridge.runner import AsyncRunner
from console.services.connect import open_fleet
from console.viewmodels.profiles import FleetOpener, ProfilesViewModel


@pytest.fixture
def runner() -> Iterator[AsyncRunner]:
    """The real I/O loop thread, stopped after the test."""
    io = AsyncRunner()
    yield io
    io.stop()


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
