"""The refresh engine: one scheduler for every live panel, driving fetches on the I/O loop."""

import concurrent.futures
import logging
import time
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial
from typing import Any, NamedTuple

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from console.backends.errors import BackendError, CircuitOpen
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner
from console.services.refresh import Outcome, RefreshPlanner, result_digest

Fetch = Callable[[], Coroutine[Any, Any, object]]
"""Makes the coroutine that fetches a panel's data (run on the I/O loop)."""

PAUSED_MESSAGE = "paused: backend unavailable"
LOADING_MESSAGE = "Loading…"


class Query(NamedTuple):
    """A panel's query: its key, its fetch and its phase group (see add_panel)."""

    key: Hashable
    fetch: Fetch
    group: Hashable | None = None


_log = logging.getLogger(__name__)
_Result = tuple[object, bytes | None]


class PanelStatus(StrEnum):
    """Where a panel's data stands."""

    LOADING = "loading"
    LIVE = "live"
    FAILED = "failed"
    PAUSED = "paused"


@dataclass(frozen=True)
class PanelState:
    """What a panel shows: its status, a message for the user, and the last good data."""

    status: PanelStatus
    message: str | None
    data: object | None
    updated_at: float | None


_LOADING = PanelState(PanelStatus.LOADING, LOADING_MESSAGE, None, None)


@dataclass(frozen=True)
class _Shown:
    """A panel's state and the digest of its data, to tell a change from a repeat."""

    state: PanelState
    digest: bytes | None


class RefreshEngine(QObject):
    """Refreshes every registered panel through one RefreshPlanner and one single-shot timer.

    Panels with equal keys share one request; a panel never has two in flight; results of a
    key a panel left are dropped for it. Digests of the results are computed on the I/O
    loop, and ``panelChanged`` is emitted only when a panel's data or status changed.
    """

    panelChanged = Signal(str)

    def __init__(
        self,
        runner: AsyncRunner,
        *,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._clock = clock
        self._planner = RefreshPlanner(interval_s)
        self._relay = FutureRelay(self)
        self._fetches: dict[str, Fetch] = {}
        self._shown: dict[str, _Shown] = {}
        self._futures: dict[int, concurrent.futures.Future[_Result]] = {}
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.CoarseTimer)
        self._timer.timeout.connect(self._pump)

    @property
    def interval_s(self) -> float:
        """Seconds between two refreshes of a panel."""
        return self._planner.interval_s

    @property
    def paused(self) -> bool:
        """True while scheduled refreshes are stopped."""
        return self._planner.paused

    def add_panel(
        self,
        panel_id: str,
        key: Hashable,
        fetch: Fetch,
        group: Hashable | None = None,
        *,
        visible: bool = True,
    ) -> None:
        """Refresh ``panel_id`` with ``fetch``; equal keys share one request and its result.

        Keys of one ``group`` refresh in the same tick, so that the backend can answer them
        with one shared request (SharedRanges); groups spread over the interval.
        """
        self._planner.add(panel_id, key, visible=visible, now=self._clock(), group=group)
        self._fetches[panel_id] = fetch
        self._shown[panel_id] = self._joined(panel_id, key)
        self._pump()

    def set_query(
        self, panel_id: str, key: Hashable, fetch: Fetch, group: Hashable | None = None
    ) -> None:
        """Give a panel a new query (e.g. a new range); results of its old key are dropped."""
        old_key = self._planner.key_of(panel_id)
        self._fetches[panel_id] = fetch
        if key == old_key:
            return
        self._cancel(self._planner.set_key(panel_id, key, now=self._clock(), group=group))
        self._show(panel_id, self._joined(panel_id, key))
        self._pump()

    def remove_panel(self, panel_id: str) -> None:
        """Stop refreshing a panel; a request only it waited for is cancelled."""
        self._cancel(self._planner.remove(panel_id))
        del self._fetches[panel_id]
        del self._shown[panel_id]
        self._pump()

    def set_visible(self, panel_id: str, visible: bool) -> None:
        """Hidden panels do not refresh; one shown again with old data refreshes at once.

        An unknown (e.g. already removed) panel is ignored, so that visibility watchers may
        outlive it.
        """
        if self._planner.has_panel(panel_id):
            self._planner.set_visible(panel_id, visible, now=self._clock())
            self._pump()

    def set_interval(self, seconds: float) -> None:
        """Change the refresh interval of every panel."""
        self._planner.set_interval(seconds, now=self._clock())
        self._pump()

    def set_paused(self, paused: bool) -> None:
        """Stop (or resume) scheduled refreshes; resuming refreshes panels with old data."""
        self._planner.set_paused(paused, now=self._clock())
        self._pump()

    def refresh_now(self) -> None:
        """Refresh every visible panel now (also while paused), still one request per key."""
        self._planner.request_all(self._clock())
        self._pump()

    def state(self, panel_id: str) -> PanelState:
        """What ``panel_id`` shows now; KeyError for an unknown panel."""
        return self._shown[panel_id].state

    def is_refreshing(self, panel_id: str) -> bool:
        """Whether a request for ``panel_id``'s key is in flight."""
        return self._planner.in_flight(self._planner.key_of(panel_id))

    def stop(self) -> None:
        """Cancel the requests in flight and the timer; nothing refreshes afterwards."""
        self._stopped = True
        self._timer.stop()
        self._cancel(self._planner.cancel_all())

    def _joined(self, panel_id: str, key: Hashable) -> _Shown:
        """The state of a panel joining ``key``: that of a panel already on it, or loading."""
        for other in self._planner.panels_of(key):
            if other != panel_id:
                return self._shown[other]
        return _Shown(_LOADING, None)

    def _pump(self) -> None:
        """Launch what is due and set the timer to the next due time."""
        if self._stopped:
            return
        for launch in self._planner.take_due(self._clock()):
            fetch = self._fetches[self._planner.panels_of(launch.key)[-1]]
            future = self._runner.submit(_digested(fetch))
            self._futures[launch.request] = future
            self._relay.deliver(future, partial(self._done, launch.request))
        due = self._planner.next_due()
        if due is None:
            self._timer.stop()
            return
        delay_ms = max(0, round((due - self._clock()) * 1000))
        self._timer.start(delay_ms)

    def _cancel(self, requests: list[int]) -> None:
        for request in requests:
            future = self._futures.pop(request, None)
            if future is not None:
                future.cancel()

    def _done(self, request: int, future: "concurrent.futures.Future[_Result]") -> None:
        self._futures.pop(request, None)
        if future.cancelled():
            return
        now = self._clock()
        error = future.exception()
        if error is None:
            data, digest = future.result()
            panels = self._planner.finished(request, Outcome.OK, now=now)
            for panel_id in panels:
                self._show(panel_id, _Shown(PanelState(PanelStatus.LIVE, None, data, now), digest))
        else:
            outcome = Outcome.CIRCUIT_OPEN if isinstance(error, CircuitOpen) else Outcome.FAILED
            panels = self._planner.finished(request, outcome, now=now)
            if panels and not isinstance(error, BackendError):
                _log.error("panel refresh of %s failed", ", ".join(panels), exc_info=error)
            for panel_id in panels:
                self._show(panel_id, _failed(self._shown[panel_id], error))
        self._pump()

    def _show(self, panel_id: str, shown: _Shown) -> None:
        before = self._shown[panel_id]
        self._shown[panel_id] = shown
        new_data = shown.state.data is not before.state.data and (
            shown.digest is None or shown.digest != before.digest
        )
        if (
            new_data
            or shown.state.status != before.state.status
            or shown.state.message != before.state.message
        ):
            self.panelChanged.emit(panel_id)


def _failed(before: _Shown, error: BaseException) -> _Shown:
    """The state after a failed refresh: the last good data stays, the status says why."""
    if isinstance(error, CircuitOpen):
        status, message = PanelStatus.PAUSED, PAUSED_MESSAGE
    elif isinstance(error, BackendError):
        status, message = PanelStatus.FAILED, str(error)
    else:
        status, message = PanelStatus.FAILED, f"unexpected {type(error).__name__}: {error}"
    return _Shown(replace(before.state, status=status, message=message), before.digest)


async def _digested(fetch: Fetch) -> _Result:
    """Fetch, then digest the result here on the I/O loop rather than on the GUI thread."""
    data = await fetch()
    return data, result_digest(data)
