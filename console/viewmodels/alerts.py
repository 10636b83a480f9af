"""The alerts and silences of the open profile, read on a timer, and the silence actions."""

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from console.backends.errors import BackendError, NotSupported
from console.config.settings import Profile
from console.domain.alerts import (
    DEFAULT_ACK_S,
    Alert,
    Matcher,
    MatcherError,
    Silence,
    SilenceDraft,
    SilenceState,
)
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner
from console.services.alerts import AlertsOverview, AutoExpired
from console.services.audit_log import AuditError
from console.services.connect import MissingSecret
from console.services.permissions import PermissionDenied, actor_of, denial_reason
from console.viewmodels.oncall import OnCallOpener, OnCallServices

_ACTION_ERRORS = (PermissionDenied, BackendError, NotSupported, MatcherError, ValueError, OSError)
_OPEN_ERRORS = (MissingSecret, AuditError, BackendError, OSError, ValueError)
_log = logging.getLogger(__name__)
_STATE_ORDER = {SilenceState.ACTIVE: 0, SilenceState.PENDING: 1, SilenceState.EXPIRED: 2}


@dataclass(frozen=True)
class AlertsRead:
    """One poll: the overview, the silences (when there is an Alertmanager) and what the
    console expired by itself because the alert resolved."""

    overview: AlertsOverview
    silences: tuple[Silence, ...]
    silences_error: str | None
    expired: tuple[AutoExpired, ...]


class AlertsViewModel(QObject):
    """Polls the profile's alerts every ``interval_s`` on the I/O loop.

    ``changed`` follows each read; ``startedFiring(alerts)`` names the alerts that fire now
    and did not in the previous read (the first read is the baseline); ``autoExpired(text)``
    says that the console expired an ack's silence; ``actionDone(text)`` and
    ``actionFailed(text)`` end each silence action (the failure is the service's own text,
    such as a denial or Alertmanager's error).
    """

    opened = Signal()
    changed = Signal()
    startedFiring = Signal(object)  # tuple[Alert, ...]
    autoExpired = Signal(str)
    actionDone = Signal(str)
    actionFailed = Signal(str)
    busyChanged = Signal(bool)

    def __init__(
        self,
        runner: AsyncRunner,
        opener: OnCallOpener,
        profile: Profile,
        *,
        interval_s: float = 15.0,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._opener = opener
        self.profile = profile
        self._clock = clock
        self._relay = FutureRelay(self)
        self._services: OnCallServices | None = None
        self._opening: concurrent.futures.Future[OnCallServices] | None = None
        self._reading: concurrent.futures.Future[AlertsRead] | None = None
        self._open_error: str | None = None
        self._overview: AlertsOverview | None = None
        self._silences: tuple[Silence, ...] = ()
        self._silences_error: str | None = None
        self._known: set[str] | None = None
        self._actions = 0
        self._paused = False
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_s * 1000))
        self._timer.timeout.connect(self.refresh_now)

    @property
    def services(self) -> OnCallServices | None:
        """The opened services (None until open, or when opening failed)."""
        return self._services

    @property
    def open_error(self) -> str | None:
        """Why the alert services could not be opened."""
        return self._open_error

    @property
    def overview(self) -> AlertsOverview | None:
        """The latest read of the alerts, if any."""
        return self._overview

    @property
    def silences(self) -> tuple[Silence, ...]:
        """The silences of the latest read: active, pending, then expired; latest end first."""
        return self._silences

    @property
    def silences_error(self) -> str | None:
        """Why the silences could not be read (e.g. no Alertmanager)."""
        return self._silences_error

    @property
    def can_silence(self) -> bool:
        """Whether the profile has an Alertmanager to silence with."""
        return self._services is not None and self._services.alerts.can_silence

    @property
    def source(self) -> str:
        """Where the alerts come from, for the status line."""
        return self._services.alerts.source if self._services is not None else ""

    @property
    def denial(self) -> str | None:
        """Why silence actions are refused on this profile (None: allowed)."""
        return denial_reason(self.profile)

    @property
    def actor(self) -> str:
        """Who acts, as createdBy and in the audit log."""
        return actor_of(self.profile)

    @property
    def busy(self) -> bool:
        """True while a silence action runs."""
        return self._actions > 0

    def start(self) -> None:
        """Open the services on the I/O loop, then read at once and on the timer."""
        if self._opening is not None or self._services is not None:
            return
        self._opening = self._runner.submit(_call(self._opener))
        self._relay.deliver(self._opening, self._on_opened)

    def set_interval(self, seconds: float) -> None:
        """Read every ``seconds``."""
        self._timer.setInterval(int(seconds * 1000))

    def set_paused(self, paused: bool) -> None:
        """Stop (or resume) the timed reads; a refresh_now still reads."""
        self._paused = paused
        if paused:
            self._timer.stop()
        elif self._services is not None:
            self._timer.start()

    def refresh_now(self) -> None:
        """Read the alerts and silences now (unless a read is already going)."""
        if self._services is None or self._reading is not None:
            return
        try:
            self._reading = self._runner.submit(_read(self._services))
        except RuntimeError:  # the I/O loop stopped: the app is closing
            self._timer.stop()
            return
        self._relay.deliver(self._reading, self._on_read)

    def ack(self, alert: Alert, reason: str, duration_s: float = DEFAULT_ACK_S) -> None:
        """Silence exactly ``alert``'s labels for ``duration_s``, with ``reason``."""
        name = alert.name or alert.fingerprint
        self._act(
            lambda s: s.alerts.ack(alert, actor=self.actor, reason=reason, duration_s=duration_s),
            lambda ack: (
                f"acknowledged {name}: silence {ack.silence_id} for {duration_s / 3600:g} h"
            ),
        )

    def create_silence(self, matchers: Sequence[Matcher], reason: str, duration_s: float) -> None:
        """A new silence of ``matchers``."""
        self._act(
            lambda s: s.alerts.create_silence(
                matchers, actor=self.actor, reason=reason, duration_s=duration_s
            ),
            lambda silence_id: f"created silence {silence_id}",
        )

    def edit_silence(self, silence: Silence, draft: SilenceDraft) -> None:
        """Replace ``silence`` by ``draft``."""
        self._act(
            lambda s: s.alerts.edit_silence(silence, draft),
            lambda new_id: f"silence {silence.id} replaced by {new_id}",
        )

    def expire_silence(self, silence_id: str, reason: str) -> None:
        """End silence ``silence_id`` now."""
        self._act(
            lambda s: s.alerts.expire_silence(silence_id, actor=self.actor, reason=reason),
            lambda _none: f"expired silence {silence_id}",
        )

    def dispose(self) -> "concurrent.futures.Future[None] | None":
        """Stop reading and close the services; returns the closing future."""
        self._timer.stop()
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None
        opening, self._opening = self._opening, None
        services, self._services = self._services, None
        closing = (
            _close_when_open(opening)
            if opening is not None
            else services.aclose()
            if services is not None
            else None
        )
        if closing is None:
            return None
        try:
            return self._runner.submit(closing)
        except RuntimeError:  # the I/O loop already stopped: nothing can be closed now
            return None

    def _act(
        self, work: Callable[[OnCallServices], Awaitable[Any]], done: Callable[[Any], str]
    ) -> None:
        services = self._services
        if services is None:
            self.actionFailed.emit(self._open_error or "the alert services are not open yet")
            return
        self._actions += 1
        self.busyChanged.emit(True)
        future = self._runner.submit(_await(work(services)))
        self._relay.deliver(future, lambda f: self._on_action_done(f, done))

    def _on_action_done(
        self, future: "concurrent.futures.Future[Any]", done: Callable[[Any], str]
    ) -> None:
        self._actions -= 1
        self.busyChanged.emit(self.busy)
        try:
            result = future.result()
        except _ACTION_ERRORS as exc:
            self.actionFailed.emit(str(exc))
            return
        except concurrent.futures.CancelledError:
            return
        self.actionDone.emit(done(result))
        self.refresh_now()

    def _on_opened(self, future: "concurrent.futures.Future[OnCallServices]") -> None:
        if future is not self._opening:
            return
        self._opening = None
        try:
            self._services = future.result()
        except _OPEN_ERRORS as exc:
            self._open_error = str(exc)
        except Exception as exc:
            _log.error("opening the alerts of %s failed", self.profile.name, exc_info=exc)
            self._open_error = f"unexpected {type(exc).__name__}: {exc}"
        self.opened.emit()
        if self._services is None:
            self.changed.emit()
            return
        if not self._paused:
            self._timer.start()
        self.refresh_now()

    def _on_read(self, future: "concurrent.futures.Future[AlertsRead]") -> None:
        if future is not self._reading:
            return
        self._reading = None
        try:
            read = future.result()
        except concurrent.futures.CancelledError:
            return
        self._overview = read.overview
        self._silences = read.silences
        self._silences_error = read.silences_error
        firing = {a.fingerprint: a for a in read.overview.alerts if not a.silenced}
        if read.overview.error is None:
            if self._known is not None:
                new = tuple(a for fp, a in firing.items() if fp not in self._known)
                if new:
                    self.startedFiring.emit(new)
            self._known = set(firing)
        for item in read.expired:
            self.autoExpired.emit(str(item))
        self.changed.emit()


async def _call(opener: OnCallOpener) -> OnCallServices:
    return await opener()


async def _await(work: Awaitable[Any]) -> Any:
    return await work


async def _read(services: OnCallServices) -> AlertsRead:
    alerts = services.alerts
    overview = await alerts.overview()
    try:
        expired = tuple(await alerts.expire_resolved())
    except BackendError as exc:
        _log.warning("expiring resolved acks failed: %s", exc)
        expired = ()
    silences: tuple[Silence, ...] = ()
    error: str | None = None
    if alerts.can_silence:
        try:
            found = await alerts.silences()
        except BackendError as exc:
            error = str(exc)
        else:
            silences = tuple(sorted(found, key=lambda s: (_STATE_ORDER[s.state], -s.ends_at)))
    else:
        error = f"{alerts.source}: no silences without an Alertmanager"
    return AlertsRead(overview, silences, error, expired)


async def _close_when_open(opening: "concurrent.futures.Future[OnCallServices]") -> None:
    try:
        services = await asyncio.wrap_future(opening)
    except Exception:
        return  # never opened: nothing to close
    await services.aclose()
