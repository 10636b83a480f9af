"""The fleet overview of one profile: cards, periodic refresh, staleness."""

import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from console.domain.fleet import DeploymentReading, FleetSnapshot
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner
from console.services.fleet import FleetService

STALE_AFTER_INTERVALS = 2.0
"""Cards are stale once their data is older than this many refresh intervals."""

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardState:
    """What one deployment card shows: the last good reading and how much to trust it."""

    reading: DeploymentReading
    stale: bool
    error: str | None
    last_ok: float | None


class FleetViewModel(QObject):
    """Refreshes one profile's fleet on a timer, one request at a time, off the GUI thread.

    A failed refresh keeps the previous readings, puts the error on every card, and the
    cards turn stale once the last success is older than two refresh intervals.
    """

    changed = Signal()
    refreshing = Signal(bool)
    pausedChanged = Signal(bool)

    def __init__(
        self,
        runner: AsyncRunner,
        service: FleetService,
        *,
        refresh_interval_s: float,
        range_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._service = service
        self._interval_s = refresh_interval_s
        self._range_s = range_s
        self._clock = clock
        self._relay = FutureRelay(self)
        self._readings: tuple[DeploymentReading, ...] = ()
        self._cards: list[CardState] = []
        self._notes: tuple[str, ...] = ()
        self._fleet_error: str | None = None
        self._last_ok: float | None = None
        self._last_refresh: float | None = None
        self._stale = False
        self._generation = 0
        self._inflight: concurrent.futures.Future[FleetSnapshot] | None = None
        self._busy = False
        self._paused = False
        self._started = False
        self._tick = QTimer(self)
        self._tick.timeout.connect(self._on_tick)
        self._staleness = QTimer(self)
        self._staleness.timeout.connect(self._update_staleness)
        self._apply_interval()

    @property
    def profile_name(self) -> str:
        """The profile whose fleet this is."""
        return self._service.profile_name

    @property
    def paused(self) -> bool:
        """True while periodic refreshes are suspended."""
        return self._paused

    @property
    def is_refreshing(self) -> bool:
        """True while a refresh request is in flight."""
        return self._busy

    @property
    def range_s(self) -> float:
        """The sparkline range in seconds."""
        return self._range_s

    @property
    def refresh_interval_s(self) -> float:
        """Seconds between periodic refreshes."""
        return self._interval_s

    def cards(self) -> list[CardState]:
        """One card per deployment, worst status first (the service's order)."""
        return list(self._cards)

    def notes(self) -> tuple[str, ...]:
        """Notes of the last good snapshot (e.g. which engine preset was detected)."""
        return self._notes

    def fleet_error(self) -> str | None:
        """The error of the last refresh when it failed as a whole, else None."""
        return self._fleet_error

    def last_refresh(self) -> float | None:
        """When the last refresh outcome (success or failure) was applied."""
        return self._last_refresh

    def start(self, first: "concurrent.futures.Future[FleetSnapshot] | None" = None) -> None:
        """Refresh now, then every refresh interval unless paused.

        ``first``: a snapshot of the current range already in flight (started on the I/O
        loop as the profile opened), taken as the first refresh.
        """
        self._started = True
        if first is None:
            self._request()
        else:
            self._track(first)
        if not self._paused:
            self._tick.start()
        self._staleness.start()

    def refresh_now(self) -> None:
        """Refresh at once (also while paused) unless a refresh is already running."""
        if self._started:
            self._request()

    def set_paused(self, paused: bool) -> None:
        """Suspend or resume periodic refreshes; resuming refreshes at once."""
        if paused == self._paused:
            return
        self._paused = paused
        if paused:
            self._tick.stop()
        elif self._started:
            self._tick.start()
            self._request()
        self.pausedChanged.emit(paused)

    def set_range(self, seconds: float) -> None:
        """Change the sparkline range; a running request for the old range is dropped."""
        if seconds == self._range_s:
            return
        self._range_s = seconds
        if self._started:
            self._supersede()
            self._request()

    def set_refresh_interval(self, seconds: float) -> None:
        """Change the refresh interval (and with it the staleness limit)."""
        self._interval_s = seconds
        self._apply_interval()
        self._update_staleness()

    def stop(self) -> None:
        """Stop the timers and drop the running request. Closes nothing else."""
        self._started = False
        self._tick.stop()
        self._staleness.stop()
        self._supersede()
        self._set_busy(False)

    def _apply_interval(self) -> None:
        interval_ms = max(1, round(self._interval_s * 1000))
        self._tick.setInterval(interval_ms)
        # Staleness is checked on its own timer so that it shows even while a request hangs.
        self._staleness.setInterval(max(50, min(1000, interval_ms // 4)))

    def _on_tick(self) -> None:
        if not self._paused:
            self._request()

    def _request(self) -> None:
        if self._inflight is not None:
            return  # never two requests in flight: this tick is skipped
        self._track(self._runner.submit(self._service.snapshot(self._range_s)))

    def _track(self, future: "concurrent.futures.Future[FleetSnapshot]") -> None:
        generation = self._generation
        self._inflight = future
        self._set_busy(True)
        self._relay.deliver(future, lambda done: self._on_done(generation, done))

    def _supersede(self) -> None:
        self._generation += 1
        if self._inflight is not None:
            self._inflight.cancel()
            self._inflight = None

    def _on_done(self, generation: int, future: "concurrent.futures.Future[Any]") -> None:
        if future is self._inflight:
            self._inflight = None
            self._set_busy(False)
        if generation != self._generation or future.cancelled():
            return
        try:
            snapshot: FleetSnapshot = future.result()
        except Exception as exc:
            _log.error("fleet refresh of %s failed", self.profile_name, exc_info=exc)
            snapshot = FleetSnapshot(
                profile=self.profile_name,
                taken_at=self._clock(),
                error=f"unexpected {type(exc).__name__}: {exc}",
            )
        self._apply(snapshot)

    def _apply(self, snapshot: FleetSnapshot) -> None:
        now = self._clock()
        self._last_refresh = now
        if snapshot.error is None:
            self._readings = snapshot.deployments
            self._notes = snapshot.notes
            self._fleet_error = None
            self._last_ok = now
        else:
            self._fleet_error = snapshot.error
        self._stale = self._is_stale()
        self._rebuild_cards()
        self.changed.emit()

    def _is_stale(self) -> bool:
        if self._last_ok is None:
            return False
        return self._clock() - self._last_ok > STALE_AFTER_INTERVALS * self._interval_s

    def _update_staleness(self) -> None:
        stale = self._is_stale()
        if stale == self._stale:
            return
        self._stale = stale
        self._rebuild_cards()
        self.changed.emit()

    def _rebuild_cards(self) -> None:
        self._cards = [
            CardState(
                reading=reading,
                stale=self._stale,
                error=self._fleet_error or reading.error,
                last_ok=self._last_ok,
            )
            for reading in self._readings
        ]

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.refreshing.emit(busy)
