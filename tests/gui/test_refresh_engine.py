"""RefreshEngine with a real AsyncRunner and fake fetches held by asyncio events."""

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, ClassVar

import pytest
from PySide6.QtWidgets import QVBoxLayout, QWidget

from console.backends.errors import CircuitOpen, ServerError
from console.qtbridge.runner import AsyncRunner
from console.services.refresh import MAX_IN_FLIGHT
from console.ui.panel_visibility import watch_visibility
from console.viewmodels.refresh import PAUSED_MESSAGE, PanelStatus, RefreshEngine

SLOW_S = 3600.0
"""An interval long enough that only the test's own actions refresh."""


class Source:
    """A fake backend query: counts fetches, can hold them at a gate, fail or return a value."""

    def __init__(self, runner: AsyncRunner, value: object = "data") -> None:
        self._runner = runner
        self.value = value
        self.error: BaseException | None = None
        self.calls = 0
        self.cancelled = 0
        self._gate: asyncio.Event | None = None

    def hold(self) -> None:
        """Make the next fetches wait until ``release()``."""
        self._gate = asyncio.Event()

    def release(self) -> None:
        gate, self._gate = self._gate, None
        assert gate is not None
        self._runner.loop.call_soon_threadsafe(gate.set)

    def fetch(self) -> Coroutine[Any, Any, object]:
        gate = self._gate

        async def run() -> object:
            self.calls += 1
            try:
                if gate is not None:
                    await gate.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            if self.error is not None:
                raise self.error
            return self.value

        return run()


class RecordingSink:
    """Forwards visibility reports to the engine and remembers them."""

    def __init__(self, engine: RefreshEngine) -> None:
        self._engine = engine
        self.reports: list[bool] = []

    def set_visible(self, panel_id: str, visible: bool) -> None:
        self.reports.append(visible)
        self._engine.set_visible(panel_id, visible)


class PickledOn:
    """Data that records the thread it was digested (pickled) on."""

    threads: ClassVar[list[str]] = []

    def __reduce__(self) -> tuple[type["PickledOn"], tuple[()]]:
        PickledOn.threads.append(threading.current_thread().name)
        return (PickledOn, ())


@pytest.fixture
def engines(runner: AsyncRunner) -> Iterator[list[RefreshEngine]]:
    made: list[RefreshEngine] = []
    yield made
    for engine in made:
        engine.stop()


@pytest.fixture
def make_engine(runner: AsyncRunner, engines: list[RefreshEngine]) -> Any:
    def make(interval_s: float = SLOW_S) -> RefreshEngine:
        engine = RefreshEngine(runner, interval_s=interval_s)
        engines.append(engine)
        return engine

    return make


def changes(engine: RefreshEngine) -> list[str]:
    seen: list[str] = []
    engine.panelChanged.connect(seen.append)
    return seen


def test_equal_data_twice_is_announced_once(qtbot, runner: AsyncRunner, make_engine) -> None:
    engine = make_engine()
    seen = changes(engine)
    source = Source(runner, value={"v1": [1.0, 2.0]})
    engine.add_panel("p", "k", source.fetch)
    assert engine.state("p").status is PanelStatus.LOADING

    qtbot.waitUntil(lambda: engine.state("p").status is PanelStatus.LIVE, timeout=5000)
    first = engine.state("p")
    assert first.data == {"v1": [1.0, 2.0]} and first.message is None
    assert seen == ["p"]

    source.value = {"v1": [1.0, 2.0]}  # a new object with equal data
    engine.refresh_now()
    qtbot.waitUntil(lambda: engine.state("p").updated_at != first.updated_at, timeout=5000)
    assert source.calls == 2
    assert seen == ["p"]

    source.value = {"v1": [1.0, 3.0]}
    with qtbot.waitSignal(engine.panelChanged, timeout=5000):
        engine.refresh_now()
    assert engine.state("p").data == {"v1": [1.0, 3.0]}
    assert seen == ["p", "p"]


def test_the_digest_is_computed_on_the_io_loop(qtbot, runner: AsyncRunner, make_engine) -> None:
    engine = make_engine()
    PickledOn.threads.clear()
    source = Source(runner, value=PickledOn())
    with qtbot.waitSignal(engine.panelChanged, timeout=5000):
        engine.add_panel("p", "k", source.fetch)
    assert PickledOn.threads == ["io-loop"]


def test_equal_keys_are_fetched_once_for_all_their_panels(
    qtbot, runner: AsyncRunner, make_engine
) -> None:
    engine = make_engine()
    shared, other = Source(runner, "shared"), Source(runner, "other")
    shared.hold()
    for panel in ("a", "b", "c"):
        engine.add_panel(panel, ("chat", "rate"), shared.fetch)
    engine.add_panel("d", ("chat", "errors"), other.fetch)
    shared.release()

    qtbot.waitUntil(
        lambda: all(engine.state(p).status is PanelStatus.LIVE for p in "abcd"), timeout=5000
    )
    assert shared.calls == 1 and other.calls == 1
    assert [engine.state(p).data for p in "abcd"] == ["shared", "shared", "shared", "other"]

    engine.refresh_now()
    # Asked again while in flight: one follow-up once it ends (its answer may predate the
    # ask), never two requests at once, and the asks coalesce into that one follow-up.
    engine.refresh_now()
    engine.refresh_now()
    qtbot.waitUntil(lambda: other.calls == 3 and shared.calls == 3, timeout=5000)
    qtbot.waitUntil(lambda: not engine.is_refreshing("a"), timeout=5000)
    engine.add_panel("e", ("chat", "rate"), shared.fetch)
    assert engine.state("e").data == "shared"  # joins with the key's data, no extra fetch
    assert shared.calls == 3


def test_a_superseded_result_is_dropped_for_the_panel_that_moved_on(
    qtbot, runner: AsyncRunner, make_engine
) -> None:
    engine = make_engine()
    hour, six_hours = Source(runner, "last 1h"), Source(runner, "last 6h")
    hour.hold()
    engine.add_panel("moved", "1h", hour.fetch)
    engine.add_panel("stayed", "1h", hour.fetch)
    qtbot.waitUntil(lambda: hour.calls == 1, timeout=5000)

    engine.set_query("moved", "6h", six_hours.fetch)
    qtbot.waitUntil(lambda: engine.state("moved").data == "last 6h", timeout=5000)
    hour.release()
    qtbot.waitUntil(lambda: engine.state("stayed").data == "last 1h", timeout=5000)

    assert engine.state("moved").data == "last 6h"
    assert hour.calls == 1 and six_hours.calls == 1


def test_a_request_nobody_waits_for_any_more_is_cancelled(
    qtbot, runner: AsyncRunner, make_engine
) -> None:
    engine = make_engine()
    hour, day = Source(runner, "last 1h"), Source(runner, "last 24h")
    hour.hold()
    engine.add_panel("p", "1h", hour.fetch)
    qtbot.waitUntil(lambda: hour.calls == 1, timeout=5000)

    engine.set_query("p", "24h", day.fetch)

    qtbot.waitUntil(lambda: hour.cancelled == 1, timeout=5000)
    qtbot.waitUntil(lambda: engine.state("p").data == "last 24h", timeout=5000)


def test_an_open_circuit_pauses_the_panel_and_a_success_brings_it_back(
    qtbot, runner: AsyncRunner, make_engine
) -> None:
    engine = make_engine()
    seen = changes(engine)
    source = Source(runner, "good")
    with qtbot.waitSignal(engine.panelChanged, timeout=5000):
        engine.add_panel("p", "k", source.fetch)

    source.error = CircuitOpen("http://127.0.0.1:9: circuit open after 5 failures")
    with qtbot.waitSignal(engine.panelChanged, timeout=5000):
        engine.refresh_now()
    paused = engine.state("p")
    assert paused.status is PanelStatus.PAUSED
    assert paused.message == PAUSED_MESSAGE == "paused: backend unavailable"
    assert paused.data == "good"  # the last good data stays on screen

    engine.refresh_now()
    assert engine.is_refreshing("p")
    qtbot.waitUntil(lambda: not engine.is_refreshing("p"), timeout=5000)
    assert source.calls == 3
    source.error = None
    with qtbot.waitSignal(engine.panelChanged, timeout=5000):
        engine.refresh_now()
    assert engine.state("p").status is PanelStatus.LIVE
    assert engine.state("p").message is None
    assert seen == ["p", "p", "p"]  # live, paused (once, though it failed twice), live


def test_other_backend_errors_fail_the_panel_with_their_text_keeping_its_data(
    qtbot, runner: AsyncRunner, make_engine
) -> None:
    engine = make_engine()
    source = Source(runner, "good")
    with qtbot.waitSignal(engine.panelChanged, timeout=5000):
        engine.add_panel("p", "k", source.fetch)

    source.error = ServerError("http://127.0.0.1:9/api/v1/query_range answered 503")
    with qtbot.waitSignal(engine.panelChanged, timeout=5000):
        engine.refresh_now()

    state = engine.state("p")
    assert state.status is PanelStatus.FAILED
    assert state.message == "http://127.0.0.1:9/api/v1/query_range answered 503"
    assert state.data == "good"


def test_a_hidden_panel_is_fetched_only_once_shown(qtbot, runner: AsyncRunner, make_engine) -> None:
    engine = make_engine()
    source = Source(runner)
    engine.add_panel("p", "k", source.fetch, visible=False)
    engine.refresh_now()
    assert source.calls == 0 and engine.state("p").status is PanelStatus.LOADING

    with qtbot.waitSignal(engine.panelChanged, timeout=5000):
        engine.set_visible("p", True)
    assert source.calls == 1


def test_the_scheduler_refreshes_visible_panels_on_its_own(
    qtbot, runner: AsyncRunner, make_engine
) -> None:
    engine = make_engine(interval_s=0.05)
    source = Source(runner)
    engine.add_panel("p", "k", source.fetch)
    qtbot.waitUntil(lambda: source.calls >= 4, timeout=5000)

    engine.set_paused(True)
    assert engine.paused
    paused_at = source.calls
    source.value = "new"
    engine.refresh_now()  # a refresh asked for by hand still runs while paused
    qtbot.waitUntil(lambda: engine.state("p").data == "new", timeout=5000)
    assert source.calls == paused_at + 1


def test_stop_cancels_requests_in_flight(qtbot, runner: AsyncRunner, make_engine) -> None:
    engine = make_engine()
    seen = changes(engine)
    source = Source(runner)
    source.hold()
    engine.add_panel("p", "k", source.fetch)
    qtbot.waitUntil(lambda: source.calls == 1, timeout=5000)

    engine.stop()

    qtbot.waitUntil(lambda: source.cancelled == 1, timeout=5000)
    engine.refresh_now()
    assert source.calls == 1 and seen == []


def test_a_minimised_window_stops_refreshing_its_panel(
    qtbot, runner: AsyncRunner, make_engine
) -> None:
    engine = make_engine(interval_s=0.05)
    minimised, clock = Source(runner, "watched"), Source(runner, "clock")
    window = QWidget()
    qtbot.addWidget(window)
    chart = QWidget()
    chart.setMinimumSize(200, 100)
    QVBoxLayout(window).addWidget(chart)
    sink = RecordingSink(engine)
    engine.add_panel("watched", "watched", minimised.fetch, visible=False)
    watch_visibility(chart, sink, "watched")
    engine.add_panel("clock", "clock", clock.fetch)  # another window's panel, always visible
    window.show()
    qtbot.waitUntil(lambda: minimised.calls >= 3, timeout=5000)

    window.showMinimized()
    qtbot.waitUntil(lambda: sink.reports[-1:] == [False], timeout=5000)
    before = minimised.calls
    ticks = clock.calls
    qtbot.waitUntil(lambda: clock.calls >= ticks + 10, timeout=5000)
    assert minimised.calls <= before + 1  # at most the request already on its way

    window.showNormal()
    qtbot.waitUntil(lambda: sink.reports[-1:] == [True], timeout=5000)
    qtbot.waitUntil(lambda: minimised.calls >= before + 3, timeout=5000)


def test_refresh_now_while_paused_reaches_every_panel_beyond_the_in_flight_limit(
    qtbot, runner: AsyncRunner, make_engine
) -> None:
    engine = make_engine()
    sources = [Source(runner, f"panel {i}") for i in range(MAX_IN_FLIGHT + 4)]
    for i, source in enumerate(sources):
        engine.add_panel(f"p{i}", i, source.fetch)
    qtbot.waitUntil(lambda: all(s.calls == 1 for s in sources), timeout=5000)
    qtbot.waitUntil(lambda: not any(engine.is_refreshing(f"p{i}") for i in range(len(sources))))

    engine.set_paused(True)
    for source in sources:
        source.value = "again"
    engine.refresh_now()

    qtbot.waitUntil(lambda: all(s.calls == 2 for s in sources), timeout=5000)
    qtbot.waitUntil(
        lambda: all(engine.state(f"p{i}").data == "again" for i in range(len(sources))),
        timeout=5000,
    )
