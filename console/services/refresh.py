"""Refresh planning for live panels: when each query runs, and who gets its result. Qt-free.

RefreshPlanner is the pure scheduling state behind the refresh engine; the clock is passed
in to every call that needs it. Panels subscribe to a query key; panels with equal keys
share one request (coalesced) and a key never has two requests in flight. Each key keeps a
phase slot in [0, interval) so that N keys refresh evenly over the interval instead of in
one tick; a key's first fetch is due at once, because someone is waiting for it. Keys of
one phase group share a slot: they refresh in the same tick, so that a backend can answer
them with one request (the same signal of several deployments, say).
"""

import hashlib
import math
import pickle
from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import Enum

BACKOFF_CAP_S = 300.0
"""The longest wait between two tries of a query whose backend circuit is open."""
MAX_IN_FLIGHT = 8
"""Requests running at once: opening 50 panels queues their first fetches instead of sending
100 HTTP requests at one Prometheus (and timing out the last ones)."""


class Outcome(Enum):
    """How a request ended, as far as scheduling cares."""

    OK = "ok"
    FAILED = "failed"
    CIRCUIT_OPEN = "circuit open"


@dataclass(frozen=True)
class Launch:
    """A request to start now: fetch ``key`` and report it as ``request``."""

    request: int
    key: Hashable


@dataclass
class _Key:
    slot: int
    group: Hashable | None
    panels: list[str] = field(default_factory=list)
    seen_by: int = 0
    """How many of ``panels`` are visible (counted, not scanned: the planner asks often)."""
    due_at: float = -math.inf
    inflight: int | None = None
    launched_at: float | None = None
    done_at: float | None = None
    circuit_failures: int = 0
    backoff_until: float = -math.inf
    asked: bool = False
    """Asked for by hand (request_all): launches even while the planner is paused."""


@dataclass
class _Panel:
    key: Hashable
    visible: bool


def phase_fraction(slot: int) -> float:
    """Slot ``n``'s place in the interval, in [0, 1): the van der Corput sequence in base 2.

    0, 1/2, 1/4, 3/4, 1/8, … : the first N slots are never closer than 1/(2N), so N keys
    refreshing at their phases launch at most two requests in any interval/N window.
    """
    fraction, weight = 0.0, 0.5
    while slot:
        if slot & 1:
            fraction += weight
        slot >>= 1
        weight /= 2
    return fraction


def backoff_s(failures: int, interval_s: float, cap_s: float = BACKOFF_CAP_S) -> float:
    """The wait after ``failures`` consecutive circuit-open answers: interval * 2^(n-1), capped."""
    if failures < 1:
        return 0.0
    return min(cap_s, interval_s * 2.0 ** min(failures - 1, 32))


def result_digest(value: object) -> bytes | None:
    """A digest of a fetch result, equal for equal data (numpy arrays included).

    None when the value cannot be pickled: such a result always counts as changed.
    Meant to run on the I/O loop, next to the fetch, not on the GUI thread.
    """
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return hashlib.blake2b(payload, digest_size=16).digest()


class RefreshPlanner:
    """Which query keys are due, which are in flight, and which panels get each result.

    A key is active while it has a visible panel and the planner is not paused (or it was
    asked for by hand); only active keys launch, at most ``max_in_flight`` at once. After a
    request, a key is next due at its phase in a later interval (at least half an interval
    after its launch, and not before the request ended). A key whose backend circuit is open
    backs off exponentially (``backoff_s``) until its next success.
    """

    def __init__(
        self,
        interval_s: float,
        *,
        backoff_cap_s: float = BACKOFF_CAP_S,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self._interval_s = _positive(interval_s)
        self._backoff_cap_s = backoff_cap_s
        self._max_in_flight = max_in_flight
        self._panels: dict[str, _Panel] = {}
        self._keys: dict[Hashable, _Key] = {}
        self._requests: dict[int, Hashable] = {}
        self._next_request = 1
        self._paused = False

    @property
    def interval_s(self) -> float:
        """Seconds between two refreshes of a key."""
        return self._interval_s

    @property
    def paused(self) -> bool:
        """True while nothing launches on schedule."""
        return self._paused

    def key_of(self, panel_id: str) -> Hashable:
        """The key ``panel_id`` is subscribed to; KeyError for an unknown panel."""
        return self._panels[panel_id].key

    def has_panel(self, panel_id: str) -> bool:
        """Whether ``panel_id`` is planned."""
        return panel_id in self._panels

    def panels_of(self, key: Hashable) -> tuple[str, ...]:
        """The panels subscribed to ``key``, in subscription order."""
        entry = self._keys.get(key)
        return tuple(entry.panels) if entry else ()

    def in_flight(self, key: Hashable) -> bool:
        """Whether a request for ``key`` is running."""
        entry = self._keys.get(key)
        return entry is not None and entry.inflight is not None

    def add(
        self,
        panel_id: str,
        key: Hashable,
        *,
        visible: bool,
        now: float,
        group: Hashable | None = None,
    ) -> None:
        """Subscribe a new panel to ``key``; ValueError if the panel id is taken.

        A new key joins the phase slot of ``group`` (None: a slot of its own).
        """
        if panel_id in self._panels:
            raise ValueError(f"panel {panel_id!r} is already refreshed")
        self._panels[panel_id] = _Panel(key, visible)
        self._subscribe(panel_id, key, now, group)

    def set_key(
        self, panel_id: str, key: Hashable, *, now: float, group: Hashable | None = None
    ) -> list[int]:
        """Move a panel to another key; returns the requests nobody waits for any more."""
        panel = self._panels[panel_id]
        if panel.key == key:
            return []
        cancelled = self._unsubscribe(panel_id, panel)
        panel.key = key
        self._subscribe(panel_id, key, now, group)
        return cancelled

    def remove(self, panel_id: str) -> list[int]:
        """Forget a panel; returns the requests nobody waits for any more."""
        return self._unsubscribe(panel_id, self._panels.pop(panel_id))

    def set_visible(self, panel_id: str, visible: bool, *, now: float) -> None:
        """Record whether a panel can be seen; a panel coming back with old data is due now."""
        panel = self._panels[panel_id]
        if panel.visible == visible:
            return
        panel.visible = visible
        entry = self._keys[panel.key]
        entry.seen_by += 1 if visible else -1
        if visible:
            self._wake(entry, now)

    def set_interval(self, interval_s: float, *, now: float) -> None:
        """Change the interval; keys keep their slots, their next runs move to the new grid."""
        self._interval_s = _positive(interval_s)
        for entry in self._keys.values():
            if entry.inflight is None and entry.done_at is not None:
                entry.due_at = self._after_request(entry, now)

    def set_paused(self, paused: bool, *, now: float) -> None:
        """Stop or resume launching on schedule; on resume, keys with old data are due now."""
        if paused == self._paused:
            return
        self._paused = paused
        if not paused:
            for entry in self._keys.values():
                self._wake(entry, now)

    def request_all(self, now: float) -> None:
        """Make every key with a visible panel due now, even while paused.

        A key in flight keeps its request and launches again as soon as it ends: that
        answer may have been read before the user asked.
        """
        for entry in self._keys.values():
            if self._has_visible_panel(entry):
                entry.asked = True
                if entry.inflight is None:
                    entry.due_at = min(entry.due_at, now)

    def take_due(self, now: float) -> list[Launch]:
        """The requests to start now, most overdue first, while fewer than the maximum run.

        Each key launched here counts as in flight until ``finished``.
        """
        due = sorted(
            (
                key
                for key, entry in self._keys.items()
                if entry.due_at <= now and self._ready(entry)
            ),
            key=lambda key: self._keys[key].due_at,
        )
        launches = []
        for key in due[: self._max_in_flight - len(self._requests)]:
            entry = self._keys[key]
            request = self._next_request
            self._next_request += 1
            entry.inflight = request
            entry.asked = False
            entry.launched_at = now
            self._requests[request] = key
            launches.append(Launch(request, key))
        return launches

    def next_due(self) -> float | None:
        """When the next key is due (possibly in the past), or None if nothing can launch.

        None also while the maximum of requests run: the next one ending frees a place.
        """
        if len(self._requests) >= self._max_in_flight:
            return None
        due = [entry.due_at for entry in self._keys.values() if self._ready(entry)]
        return min(due) if due else None

    def finished(self, request: int, outcome: Outcome, *, now: float) -> tuple[str, ...]:
        """Record how a request ended; returns the panels its result is for.

        Empty for a request that was cancelled or superseded: its result is dropped.
        """
        key = self._requests.pop(request, None)
        if key is None:
            return ()
        entry = self._keys[key]
        entry.inflight = None
        entry.done_at = now
        if outcome is Outcome.CIRCUIT_OPEN:
            entry.circuit_failures += 1
            wait = backoff_s(entry.circuit_failures, self._interval_s, self._backoff_cap_s)
            entry.backoff_until = now + wait
        else:
            entry.circuit_failures = 0
            entry.backoff_until = -math.inf
        entry.due_at = now if entry.asked else self._after_request(entry, now)
        return tuple(entry.panels)

    def cancel_all(self) -> list[int]:
        """Forget every request in flight (their results will be dropped); returns them."""
        cancelled = list(self._requests)
        for request in cancelled:
            self._keys[self._requests.pop(request)].inflight = None
        return cancelled

    def _subscribe(self, panel_id: str, key: Hashable, now: float, group: Hashable | None) -> None:
        entry = self._keys.get(key)
        if entry is None:
            entry = self._keys[key] = _Key(self._slot_for(group), group, due_at=now)
        entry.panels.append(panel_id)
        if self._panels[panel_id].visible:
            entry.seen_by += 1
            self._wake(entry, now)

    def _unsubscribe(self, panel_id: str, panel: _Panel) -> list[int]:
        key = panel.key
        entry = self._keys[key]
        entry.panels.remove(panel_id)
        if panel.visible:
            entry.seen_by -= 1
        if entry.panels:
            return []
        del self._keys[key]
        if entry.inflight is None:
            return []
        del self._requests[entry.inflight]
        return [entry.inflight]

    def _slot_for(self, group: Hashable | None) -> int:
        """The slot of ``group``'s keys, or the first slot no key holds."""
        if group is not None:
            for entry in self._keys.values():
                if entry.group == group:
                    return entry.slot
        taken = {entry.slot for entry in self._keys.values()}
        return next(slot for slot in range(len(taken) + 1) if slot not in taken)

    def _wake(self, entry: _Key, now: float) -> None:
        """Make an active key due now if its data is older than the interval."""
        if entry.backoff_until > now:
            return
        if entry.done_at is None or now - entry.done_at >= self._interval_s:
            entry.due_at = min(entry.due_at, now)

    def _after_request(self, entry: _Key, now: float) -> float:
        launched = entry.launched_at if entry.launched_at is not None else now
        earliest = max(launched + self._interval_s / 2, now, entry.backoff_until)
        return self._at_phase(entry.slot, earliest)

    def _at_phase(self, slot: int, earliest: float) -> float:
        """The first time at or after ``earliest`` that falls on the slot's phase."""
        offset = phase_fraction(slot) * self._interval_s
        cycles = math.ceil((earliest - offset) / self._interval_s)
        return offset + cycles * self._interval_s

    def _ready(self, entry: _Key) -> bool:
        """Whether a key may launch once due: not in flight, seen, and not paused (or asked)."""
        return (
            entry.inflight is None
            and (entry.asked or not self._paused)
            and self._has_visible_panel(entry)
        )

    def _has_visible_panel(self, entry: _Key) -> bool:
        return entry.seen_by > 0


def _positive(interval_s: float) -> float:
    if not (math.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"the refresh interval must be positive seconds, got {interval_s}")
    return interval_s
