"""FleetViewModel: refresh timing, failure and staleness, superseded results, pause."""

import time
from collections.abc import Iterator
from typing import Any

import pytest

from console.backends.errors import ConnectionFailed
from console.domain.fleet import DeploymentReading, FleetSnapshot
from console.domain.slo import Status
from console.qtbridge.runner import AsyncRunner
from console.viewmodels.fleet import FleetViewModel
from tests.gui.fakes import ManualRunner, RecordingService
from tests.support.fake_backend import FakeBackend, fake_service

INTERVAL_S = 0.2


def reading(name: str) -> DeploymentReading:
    return DeploymentReading(name, "vllm", (), 1.0, 0.0, 1.0, 0.1, 10.0, Status.OK)


def snapshot(*names: str, error: str | None = None) -> FleetSnapshot:
    deployments = tuple(reading(n) for n in names)
    return FleetSnapshot("manual", 0.0, deployments, notes=("note",), error=error)


@pytest.fixture
def stopped() -> Iterator[list[FleetViewModel]]:
    made: list[FleetViewModel] = []
    yield made
    for vm in made:
        vm.stop()


def manual_vm(
    runner: ManualRunner,
    stopped: list[FleetViewModel],
    service: RecordingService | None = None,
    **kwargs: Any,
) -> FleetViewModel:
    vm = FleetViewModel(
        runner,  # type: ignore[arg-type]
        service or RecordingService(),  # type: ignore[arg-type]
        refresh_interval_s=kwargs.pop("refresh_interval_s", 60.0),
        **kwargs,
    )
    stopped.append(vm)
    return vm


def test_failed_refresh_keeps_values_shows_error_goes_stale_and_recovers(
    qtbot, runner: AsyncRunner, stopped: list[FleetViewModel]
) -> None:
    backend = FakeBackend()
    vm = FleetViewModel(runner, fake_service(backend), refresh_interval_s=INTERVAL_S)
    stopped.append(vm)
    vm.start()
    qtbot.waitUntil(lambda: len(vm.cards()) == 2, timeout=5000)
    good = {c.reading.deployment: c.reading for c in vm.cards()}
    assert all(c.error is None and not c.stale for c in vm.cards())

    backend.error = ConnectionFailed("connection refused by http://127.0.0.1:9/api/v1/query")
    qtbot.waitUntil(lambda: vm.fleet_error() is not None, timeout=5000)
    cards = vm.cards()
    assert {c.reading.deployment: c.reading for c in cards} == good
    assert all(c.error == "connection refused by http://127.0.0.1:9/api/v1/query" for c in cards)
    qtbot.waitUntil(lambda: all(c.stale for c in vm.cards()), timeout=5000)
    last_ok = vm.cards()[0].last_ok
    assert last_ok is not None and time.time() - last_ok > 2 * INTERVAL_S

    backend.error = None
    qtbot.waitUntil(lambda: all(not c.stale and c.error is None for c in vm.cards()), timeout=5000)
    assert vm.fleet_error() is None
    assert backend.threads == {"io-loop"}


def test_cards_go_stale_while_a_request_hangs(qtbot, stopped: list[FleetViewModel]) -> None:
    io = ManualRunner()
    vm = manual_vm(io, stopped, refresh_interval_s=INTERVAL_S)
    vm.start()
    with qtbot.waitSignal(vm.changed):
        io.futures[0].set_result(snapshot("alpha"))
    assert not vm.cards()[0].stale
    qtbot.waitUntil(lambda: len(io.futures) == 2, timeout=5000)  # the next one never answers
    qtbot.waitUntil(lambda: vm.cards()[0].stale, timeout=5000)
    assert len(io.futures) == 2, "a tick fired a second request while one was in flight"


def test_a_result_superseded_by_a_range_change_is_dropped(
    qtbot, stopped: list[FleetViewModel]
) -> None:
    io = ManualRunner()
    service = RecordingService()
    vm = manual_vm(io, stopped, service)
    seen: list[list[str]] = []
    vm.changed.connect(lambda: seen.append([c.reading.deployment for c in vm.cards()]))
    vm.start()
    vm.set_range(900.0)
    assert service.ranges == [3600.0, 900.0]
    old, new = io.futures
    old.set_result(snapshot("from-the-old-range"))
    with qtbot.waitSignal(vm.changed):
        new.set_result(snapshot("from-the-new-range"))
    assert seen == [["from-the-new-range"]]


def test_a_result_arriving_after_stop_is_dropped(qtbot, stopped: list[FleetViewModel]) -> None:
    io = ManualRunner()
    vm = manual_vm(io, stopped)
    vm.start()
    vm.stop()
    with qtbot.assertNotEmitted(vm.changed, wait=200):
        io.futures[0].set_result(snapshot("late"))
    assert vm.cards() == []


def test_pause_stops_periodic_refreshes_and_resume_refreshes_at_once(
    qtbot, stopped: list[FleetViewModel]
) -> None:
    io = ManualRunner()
    vm = manual_vm(io, stopped, refresh_interval_s=0.05)
    vm.start()
    io.futures[0].set_result(snapshot("alpha"))
    qtbot.waitUntil(lambda: len(io.futures) == 2, timeout=5000)
    io.futures[1].set_result(snapshot("alpha"))
    with qtbot.waitSignal(vm.pausedChanged):
        vm.set_paused(True)
    qtbot.waitUntil(lambda: not vm.is_refreshing, timeout=5000)  # the running one may still land
    submitted = len(io.futures)
    qtbot.wait(300)  # six intervals
    assert len(io.futures) == submitted
    vm.set_paused(False)
    assert len(io.futures) == submitted + 1


def test_fleet_failure_before_any_success_has_no_cards_but_an_error(
    qtbot, stopped: list[FleetViewModel]
) -> None:
    io = ManualRunner()
    vm = manual_vm(io, stopped)
    vm.start()
    with qtbot.waitSignal(vm.changed):
        io.futures[0].set_result(snapshot(error="TLS failure: certificate verify failed"))
    assert vm.cards() == []
    assert vm.fleet_error() == "TLS failure: certificate verify failed"
    assert vm.last_refresh() is not None


def test_an_unexpected_exception_becomes_an_error_not_a_crash(
    qtbot, stopped: list[FleetViewModel]
) -> None:
    io = ManualRunner()
    vm = manual_vm(io, stopped)
    vm.start()
    with qtbot.waitSignal(vm.changed):
        io.futures[0].set_exception(KeyError("data"))
    assert vm.fleet_error() == "unexpected KeyError: 'data'"
