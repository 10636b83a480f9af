"""Fake runners and services for GUI tests of hang and race paths."""

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any

from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.fleet import FleetSnapshot
from console.services.connect import open_fleet
from console.services.fleet import FleetService
from console.viewmodels.profiles import FleetOpener


class ManualRunner:
    """Stands in for AsyncRunner: hands out futures that the test completes by hand."""

    def __init__(self) -> None:
        self.futures: list[concurrent.futures.Future[Any]] = []

    def submit(self, coro: Coroutine[Any, Any, Any]) -> "concurrent.futures.Future[Any]":
        coro.close()  # never run: the test decides the outcome
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()  # like a coroutine already running on the loop
        self.futures.append(future)
        return future


class RecordingService:
    """A FleetService stand-in that records the range of every snapshot asked for."""

    profile_name = "manual"

    def __init__(self) -> None:
        self.ranges: list[float] = []

    def snapshot(self, range_s: float = 3600.0) -> Coroutine[Any, Any, FleetSnapshot]:
        self.ranges.append(range_s)
        return asyncio.sleep(0, FleetSnapshot(profile="manual", taken_at=0.0))


def opener(fakes: dict[str, FleetService]) -> FleetOpener:
    """Opens the demo for real and the named profiles over the given fake services."""

    def open_service(profile: Profile, store: SecretStore) -> FleetService:
        return open_fleet(profile, store) if profile.is_demo else fakes[profile.name]

    return open_service
