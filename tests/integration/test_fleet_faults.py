"""The fleet view model survives a misbehaving network between it and a real Prometheus.

A fault proxy sits between the console and the session's Prometheus. Each fault is
switched on until every card shows it and goes stale, then switched off: the cards must
recover within two refresh intervals, and nothing may raise or log an error on the way.
"""

import logging
import re
import time
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.qtbridge.runner import AsyncRunner
from console.services.connect import open_fleet
from console.viewmodels.fleet import FleetViewModel
from tests.integration.conftest import FLEET
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.integration

REFRESH_S = 1.0
TIMEOUT_S = 0.5
RECOVERY_S = 2 * REFRESH_S
"""The promise: cards recover within two refresh intervals after the faults stop."""
FAULT_WAIT_MS = 15_000
FAULTS = [
    (Fault.LATENCY, 4 * TIMEOUT_S, r"within|timed out|timeout"),
    (Fault.RESET, 0.0, r"reset|closed"),
    (Fault.HTTP_500, 0.0, r"\b500\b"),
    (Fault.TRUNCATED, 0.0, r"complete|closed|truncated"),
    (Fault.HANG, 0.0, r"within|timed out|timeout"),
]
"""Each fault, its delay, and what its error text must say."""


@pytest.fixture
def fleet_vm(fault_proxy: FaultProxy) -> Iterator[FleetViewModel]:
    """A started FleetViewModel of a profile whose Prometheus is behind the fault proxy."""
    profile = Profile(
        name="faulty",
        prometheus_url=fault_proxy.url,
        preset="vllm",
        refresh_interval_s=REFRESH_S,
        scrape_interval_s=1.0,
        timeout_s=TIMEOUT_S,
    )
    runner = AsyncRunner()
    service = open_fleet(profile, SecretStore(MemoryKeyring()))
    vm = FleetViewModel(runner, service, refresh_interval_s=REFRESH_S)
    vm.start()
    try:
        yield vm
    finally:
        vm.stop()
        runner.submit(service.backend.aclose()).result(5)
        runner.stop()


def healthy(vm: FleetViewModel) -> bool:
    cards = vm.cards()
    return (
        bool(cards)
        and vm.fleet_error() is None
        and all(not c.stale and c.error is None for c in cards)
    )


def failing_with(vm: FleetViewModel, pattern: str) -> bool:
    cards = vm.cards()
    return bool(cards) and all(
        c.stale and c.error is not None and re.search(pattern, c.error) for c in cards
    )


def test_cards_show_each_fault_go_stale_and_recover(
    qtbot: QtBot,
    fleet_vm: FleetViewModel,
    fault_proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    qtbot.waitUntil(lambda: healthy(fleet_vm), timeout=FAULT_WAIT_MS)
    deployments = {c.reading.deployment for c in fleet_vm.cards()}
    assert deployments == {spec.name for spec in FLEET}

    # Latency below the request timeout only slows the refresh down.
    fault_proxy.set_fault(Fault.LATENCY, delay_s=TIMEOUT_S / 4)
    switched = time.time()
    qtbot.waitUntil(
        lambda: (fleet_vm.last_refresh() or 0.0) > switched + 2 * REFRESH_S,
        timeout=FAULT_WAIT_MS,
    )
    assert fault_proxy.served[Fault.LATENCY] > 0
    assert healthy(fleet_vm), [c.error for c in fleet_vm.cards()]

    for fault, delay_s, says in FAULTS:
        fault_proxy.set_fault(fault, delay_s=delay_s)
        qtbot.waitUntil(lambda: failing_with(fleet_vm, says), timeout=FAULT_WAIT_MS)  # noqa: B023
        cards = fleet_vm.cards()
        assert {c.reading.deployment for c in cards} == deployments, fault
        assert all(c.reading.request_rate is not None for c in cards), fault

        fault_proxy.set_fault(Fault.PASS)
        stopped = time.monotonic()
        qtbot.waitUntil(lambda: healthy(fleet_vm), timeout=FAULT_WAIT_MS)
        recovery_s = time.monotonic() - stopped
        assert recovery_s <= RECOVERY_S, f"recovery after {fault} took {recovery_s:.2f} s"

    assert fault_proxy.served.keys() >= {fault for fault, _, _ in FAULTS}
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == []
