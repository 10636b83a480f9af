"""The dashboard viewmodel: grid placement, refusals, and saving that never loses the grid."""

import pytest

from console.config import paths
from console.config.settings import (
    DEMO_PROFILE_NAME,
    GRID_ROWS,
    PanelKind,
    PinnedPanel,
    Settings,
)
from console.config.store import ConfigStore
from console.domain.signals import Signal
from console.viewmodels.dashboard import NEW_PANEL_SPAN, DashboardViewModel


def signal_panel(signal: Signal, deployment: str = "chat") -> PinnedPanel:
    return PinnedPanel(PanelKind.SIGNAL, f"{deployment} {signal.label}", deployment, signal.value)


class Saves:
    """A save callable that records what it wrote, or fails while ``error`` is set."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[PinnedPanel, ...]]] = []
        self.error: Exception | None = None

    def __call__(self, profile: str, panels: tuple[PinnedPanel, ...]) -> None:
        if self.error is not None:
            raise self.error
        self.calls.append((profile, panels))


@pytest.fixture
def saves() -> Saves:
    return Saves()


@pytest.fixture
def vm(saves: Saves) -> DashboardViewModel:
    model = DashboardViewModel(saves)
    model.set_profile(DEMO_PROFILE_NAME, ())
    return model


def cells(vm: DashboardViewModel) -> list[tuple[int, int, int, int]]:
    return [(p.row, p.column, p.row_span, p.column_span) for p in vm.panels]


def test_pin_fills_the_first_free_cell_row_by_row_and_saves(qtbot, vm, saves) -> None:
    for signal in (Signal.REQUEST_RATE, Signal.ERROR_RATIO, Signal.P95_LATENCY):
        vm.pin(signal_panel(signal))
    tall = PinnedPanel(PanelKind.PROMQL, "GPU", expr="up", row=7, column=3, row_span=2)
    with qtbot.waitSignal(vm.changed):
        assert vm.pin(tall) == 3
    assert NEW_PANEL_SPAN == (1, 4)
    assert cells(vm) == [(0, 0, 1, 4), (0, 4, 1, 4), (0, 8, 1, 4), (1, 0, 2, 1)]
    assert saves.calls[-1] == (DEMO_PROFILE_NAME, vm.panels)
    assert len(saves.calls) == 4
    vm.remove(0)
    assert vm.pin(signal_panel(Signal.P99_LATENCY)) == 3
    assert cells(vm)[-1] == (0, 0, 1, 4), "the freed cell is reused"
    assert vm.rows == 3


def test_a_panel_already_shown_is_not_pinned_twice(qtbot, vm, saves) -> None:
    vm.pin(signal_panel(Signal.REQUEST_RATE))
    twin = signal_panel(Signal.REQUEST_RATE)
    with qtbot.waitSignal(vm.errorRaised) as error:
        assert vm.pin(twin) is None
    assert error.args == ["'chat Requests' is already on the dashboard as 'chat Requests'."]
    assert len(vm.panels) == 1 and len(saves.calls) == 1


def test_move_and_resize_change_the_cells_and_save(vm, saves) -> None:
    vm.pin(signal_panel(Signal.REQUEST_RATE))
    vm.pin(signal_panel(Signal.ERROR_RATIO))
    assert vm.move(1, 2, 8)
    assert vm.resize(0, 2, 6)
    assert cells(vm) == [(0, 0, 2, 6), (2, 8, 1, 4)]
    assert saves.calls[-1][1] == vm.panels
    assert vm.index_at(1, 5) == 0 and vm.index_at(2, 11) == 1 and vm.index_at(1, 6) is None


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda vm: vm.move(1, 0, 2), "Cannot move 'chat Errors': 'chat Errors' overlaps"),
        (lambda vm: vm.move(1, 0, 9), "Cannot move 'chat Errors': column_span: columns 9-12"),
        (lambda vm: vm.move(1, -1, 4), "Cannot move 'chat Errors': row: must be 0 or more"),
        (lambda vm: vm.resize(0, 1, 5), "Cannot resize 'chat Requests': 'chat Requests' overlaps"),
        (lambda vm: vm.resize(0, 0, 4), "Cannot resize 'chat Requests': row_span: must be 1"),
        (lambda vm: vm.resize(1, 1, 9), "Cannot resize 'chat Errors': column_span: columns 4-12"),
    ],
)
def test_overlaps_and_cells_outside_the_grid_are_refused(qtbot, vm, saves, action, message):
    vm.pin(signal_panel(Signal.REQUEST_RATE))
    vm.pin(signal_panel(Signal.ERROR_RATIO))
    before, saved = vm.panels, len(saves.calls)
    with qtbot.waitSignal(vm.errorRaised) as error:
        assert action(vm) is False
    assert error.args[0].startswith(message)
    assert vm.panels == before and len(saves.calls) == saved


def test_overlap_message_names_the_cell(qtbot, vm) -> None:
    vm.pin(signal_panel(Signal.REQUEST_RATE))
    vm.pin(signal_panel(Signal.ERROR_RATIO))
    with qtbot.waitSignal(vm.errorRaised) as error:
        vm.move(1, 0, 2)
    assert error.args == [
        "Cannot move 'chat Errors': 'chat Errors' overlaps 'chat Requests' at row 0, column 2"
    ]
    assert vm.placement_error(1, 0, 2, 1, 4) == (
        "'chat Errors' overlaps 'chat Requests' at row 0, column 2"
    )
    assert vm.placement_error(1, 1, 0, 1, 4) is None


def test_swap_exchanges_corners_when_both_fit(qtbot, vm) -> None:
    vm.pin(signal_panel(Signal.REQUEST_RATE))
    vm.pin(signal_panel(Signal.ERROR_RATIO))
    vm.pin(signal_panel(Signal.P95_LATENCY))
    assert vm.swap(0, 2)
    assert cells(vm) == [(0, 8, 1, 4), (0, 4, 1, 4), (0, 0, 1, 4)]
    vm.resize(0, 1, 2)
    vm.move(0, 0, 10)
    with qtbot.waitSignal(vm.errorRaised) as error:
        assert not vm.swap(0, 2), "a 4-wide panel does not fit in the last 2 columns"
    assert "columns 10-13 do not fit" in error.args[0]
    assert cells(vm) == [(0, 10, 1, 2), (0, 4, 1, 4), (0, 0, 1, 4)]


def test_a_failed_save_keeps_the_grid_and_says_why(qtbot, vm, saves) -> None:
    vm.pin(signal_panel(Signal.REQUEST_RATE))
    saves.error = OSError("No space left on device")
    with qtbot.waitSignal(vm.errorRaised) as error:
        vm.pin(signal_panel(Signal.ERROR_RATIO))
    assert error.args == ["Dashboard not saved: No space left on device"]
    assert len(vm.panels) == 2 and vm.save_error == "No space left on device"
    vm.move(1, 1, 0)
    assert cells(vm) == [(0, 0, 1, 4), (1, 0, 1, 4)], "changes go on while saving fails"
    saves.error = None
    vm.resize(1, 1, 6)
    assert saves.calls[-1] == (DEMO_PROFILE_NAME, vm.panels), "the next save writes it all"
    assert vm.save_error is None


def test_persisted_through_the_config_store_for_the_demo(qtbot) -> None:
    store = ConfigStore(paths.config_file())
    settings = [store.load()]

    def save(name: str, panels: tuple[PinnedPanel, ...]) -> None:
        updated = settings[0].with_dashboard(name, panels)
        store.save(updated)
        settings[0] = updated

    vm = DashboardViewModel(save)
    vm.set_profile(DEMO_PROFILE_NAME, store.load().dashboard(DEMO_PROFILE_NAME))
    vm.pin(signal_panel(Signal.REQUEST_RATE))
    vm.pin(PinnedPanel(PanelKind.PROMQL, "up", expr="up"))
    vm.resize(1, 2, 8)
    reloaded = ConfigStore(paths.config_file()).load()
    assert reloaded.dashboard(DEMO_PROFILE_NAME) == vm.panels
    assert reloaded.profiles == ()

    again = DashboardViewModel(save)
    again.set_profile(DEMO_PROFILE_NAME, reloaded.dashboard(DEMO_PROFILE_NAME))
    assert cells(again) == [(0, 0, 1, 4), (0, 4, 2, 8)]


def test_pinning_before_a_profile_is_open_is_refused(qtbot, saves) -> None:
    vm = DashboardViewModel(saves)
    with qtbot.waitSignal(vm.errorRaised):
        assert vm.pin(signal_panel(Signal.REQUEST_RATE)) is None
    assert vm.panels == () and saves.calls == []
    assert Settings().dashboards == {}


def test_a_full_dashboard_refuses_more_panels(qtbot, vm, saves) -> None:
    tall = PinnedPanel(PanelKind.PROMQL, "all", expr="up", row_span=GRID_ROWS, column_span=12)
    assert vm.pin(tall) == 0
    with qtbot.waitSignal(vm.errorRaised) as error:
        assert vm.pin(signal_panel(Signal.REQUEST_RATE)) is None
    assert error.args[0].startswith("Cannot pin 'chat Requests': row: rows 200-200 do not fit")
    assert len(vm.panels) == 1 and len(saves.calls) == 1
