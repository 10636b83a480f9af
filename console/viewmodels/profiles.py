"""The profiles the window can show, the active one, and the remembered UI preferences."""

import asyncio
import concurrent.futures
import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QObject, Signal

from console.backends.errors import BackendError
from console.backends.protocol import BuildInfo, MetricsBackend
from console.config.query_history import QueryHistory
from console.config.secrets import SecretStore, SecretsUnavailable
from console.config.settings import (
    DEMO_PROFILE,
    DEMO_PROFILE_NAME,
    PinnedPanel,
    Profile,
    Settings,
    Theme,
    UiSettings,
)
from console.config.store import ConfigError, ConfigStore
from console.domain.fleet import FleetSnapshot
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner
from console.services.annotations import AnnotationStore
from console.services.connect import open_detail, open_fleet
from console.services.detail import DetailService
from console.services.drift import DriftService
from console.services.drift_watch import DriftWatch
from console.services.explore import ExploreService
from console.services.fleet import FleetService
from console.viewmodels.actions import ActionsViewModel, open_actions
from console.viewmodels.audit import AuditViewModel
from console.viewmodels.detail import DetailViewModel
from console.viewmodels.drift import DriftViewModel, DriftWatchModel
from console.viewmodels.explore import ExploreViewModel
from console.viewmodels.fleet import FleetViewModel
from console.viewmodels.refresh import RefreshEngine

if TYPE_CHECKING:
    from console.viewmodels.suite_runs import SuiteRunsViewModel

FleetOpener = Callable[[Profile, SecretStore], FleetService]
_OPEN_ERRORS = (SecretsUnavailable, BackendError, OSError, ValueError)
_log = logging.getLogger(__name__)


class ProfileSaveError(Exception):
    """A profile (or its secret) could not be saved; the message says why."""


class ProfilesViewModel(QObject):
    """Configured profiles plus the demo, the fleet of the active one, and UI preferences.

    Each activation opens a fresh FleetService (its own backend and HTTP client) on the
    I/O thread, since reading the keyring and building TLS contexts can block; the
    previous one is stopped and its backend closed, so profiles never share anything.
    With the fleet come the profile's RefreshEngine (the one scheduler of its live
    panels), its AnnotationStore and its DetailService over the fleet's backend.
    A config file that failed to load is reported and never written.
    """

    profilesChanged = Signal()
    fleetChanged = Signal()
    errorRaised = Signal(str)
    keyringChecked = Signal(bool, str, str)
    """Once, after the first profile opened: available, backend name, and the plain
    sentence to show when there is none."""

    def __init__(
        self,
        runner: AsyncRunner,
        store: ConfigStore,
        secrets: SecretStore,
        *,
        open_service: FleetOpener = open_fleet,
        suite_time_scale: float = 1.0,
        audit: AuditViewModel | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        # The process's one audit log, opened now on the I/O loop (verified once the first
        # fleet is in, so that a long chain does not delay it).
        self._owns_audit = audit is None
        self._audit = audit if audit is not None else AuditViewModel(runner, parent=self)
        self._actions: ActionsViewModel | None = None
        self._suite_time_scale = suite_time_scale
        self._runner = runner
        self._store = store
        self._secrets = secrets
        self._open_service = open_service
        self._config_error: str | None = None
        try:
            self._settings = store.load()
        except ConfigError as exc:
            self._config_error = str(exc)
            self._settings = Settings()
        self._relay = FutureRelay(self)
        self._active: Profile | None = None
        self._opening: concurrent.futures.Future[_Opened] | None = None
        self._service: FleetService | None = None
        self._fleet: FleetViewModel | None = None
        self._engine: RefreshEngine | None = None
        self._detail: DetailService | None = None
        self._drift_watch: DriftWatchModel | None = None
        self._explore: ExploreViewModel | None = None
        self._suite_runs: SuiteRunsViewModel | None = None
        self._open_error: str | None = None
        self._keyring_checked = False

    @property
    def config_error(self) -> str | None:
        """Why the config file could not be loaded (file:line: key: message), if it could not."""
        return self._config_error

    @property
    def secrets(self) -> SecretStore:
        """The secret store, for the keyring status and the connection dialog."""
        return self._secrets

    @property
    def runner(self) -> AsyncRunner:
        """The I/O loop the profile's services run on."""
        return self._runner

    @property
    def metrics_backend(self) -> MetricsBackend | None:
        """The active profile's metrics backend (the DEMO's logs follow its serving
        timeline); None while no fleet is open."""
        return self._service.backend if self._service is not None else None

    @property
    def ui(self) -> UiSettings:
        """The remembered window preferences."""
        return self._settings.ui

    @property
    def active(self) -> Profile | None:
        """The profile whose fleet is shown."""
        return self._active

    @property
    def fleet(self) -> FleetViewModel | None:
        """The fleet of the active profile; None when it could not be opened."""
        return self._fleet

    @property
    def engine(self) -> RefreshEngine | None:
        """The refresh engine of the active profile's live panels; None while no fleet."""
        return self._engine

    @property
    def detail(self) -> DetailService | None:
        """The detail service of the active profile (over its fleet's backend)."""
        return self._detail

    @property
    def audit(self) -> AuditViewModel:
        """The process's audit log (guarded actions, log reveals, silences): ``audit.log_future``
        gives the AuditLog to code on the I/O loop, ``audit.log`` once it is open."""
        return self._audit

    @property
    def actions(self) -> ActionsViewModel | None:
        """Rollback and failover of the active profile; None while no fleet."""
        return self._actions

    @property
    def annotations(self) -> AnnotationStore | None:
        """The active profile's annotation store, for features that mark the charts."""
        return self._detail.annotation_store if self._detail is not None else None

    @property
    def suite_runs(self) -> "SuiteRunsViewModel | None":
        """The synthetic suite runs of the active profile (made on first use, since the
        suite machinery is slow to import); None while no fleet."""
        if self._suite_runs is None and self._service is not None and self._detail is not None:
            from console.domain.redaction import Redactor
            from console.services.suite_targets import SuiteTargets
            from console.viewmodels.suite_runs import SuiteRunsViewModel

            assert self._active is not None
            self._suite_runs = SuiteRunsViewModel(
                self._runner,
                SuiteTargets(
                    self._active,
                    self._service.backend,
                    self._secrets,
                    time_scale=self._suite_time_scale,
                ),
                annotations=self._detail.annotation_store,
                redactor=Redactor(self._active.redaction_patterns),
                parent=self,
            )
        return self._suite_runs

    def open_detail(self, deployment: str, width_px: int = 800) -> DetailViewModel | None:
        """Live panels of ``deployment`` over the remembered range; None while no fleet.

        It is a child of the engine, so it goes with the fleet; the caller disposes of it
        earlier when it closes the view. Its panels start hidden: the view's visibility
        watchers show them once it is laid out, so that the first queries have its width.
        """
        if self._engine is None or self._detail is None or self._active is None:
            return None
        return DetailViewModel(
            self._engine,
            self._detail,
            profile=self._active.name,
            deployment=deployment,
            range_s=self.ui.range_s,
            width_px=width_px,
            visible=False,
            parent=self._engine,
        )

    @property
    def explore(self) -> ExploreViewModel | None:
        """The Explore view model of the active profile; None while no fleet."""
        return self._explore

    @property
    def drift_watch(self) -> DriftWatchModel | None:
        """The latest drift of every deployment (card badges, crossings); None while no fleet."""
        return self._drift_watch

    def open_drift(self, deployment: str) -> DriftViewModel | None:
        """The drift panel of ``deployment`` (hidden until its view shows); None while no fleet.

        Like open_detail, it is a child of the engine and goes with the fleet.
        """
        if self._engine is None or self._service is None or self._active is None:
            return None
        return DriftViewModel(
            self._engine,
            DriftService(self._service.backend),
            profile=self._active,
            deployment=deployment,
            visible=False,
            parent=self._engine,
        )

    def dashboard(self, name: str) -> tuple[PinnedPanel, ...]:
        """The panels pinned to profile ``name``'s dashboard (the DEMO's too)."""
        return self._settings.dashboard(name)

    def save_dashboard(self, name: str, panels: tuple[PinnedPanel, ...]) -> None:
        """Keep ``panels`` as ``name``'s dashboard and write the config file atomically.

        Raises ProfileSaveError when the file cannot be written; the panels are kept in
        memory, so the next save writes them too.
        """
        self._settings = self._settings.with_dashboard(name, panels)
        if self._config_error is not None:
            raise ProfileSaveError(
                f"dashboard not saved while the config file fails to load: {self._config_error}"
            )
        try:
            self._store.save(self._settings)
        except (ConfigError, OSError) as exc:
            raise ProfileSaveError(f"dashboard not saved: {exc}") from None

    @property
    def is_opening(self) -> bool:
        """True while the active profile's backend is being opened."""
        return self._opening is not None

    @property
    def open_error(self) -> str | None:
        """Why the active profile could not be opened (e.g. its secret is missing)."""
        return self._open_error

    def profiles(self) -> list[Profile]:
        """The configured profiles, then the demo."""
        return [*self._settings.profiles, DEMO_PROFILE]

    def profile(self, name: str) -> Profile | None:
        """The profile called ``name`` ("demo" is the demo), if any."""
        return DEMO_PROFILE if name == DEMO_PROFILE_NAME else self._settings.profile(name)

    def initial_profile(self, requested: str | None) -> Profile | None:
        """The profile to open at start; None when ``requested`` names no profile.

        Without a request: the last one shown if it still exists, else the first
        configured profile, else the demo.
        """
        if requested is not None:
            return self.profile(requested)
        last = self.ui.last_profile
        remembered = self.profile(last) if last else None
        if remembered is not None:
            return remembered
        return self._settings.profiles[0] if self._settings.profiles else DEMO_PROFILE

    def activate(self, name: str) -> None:
        """Show the fleet of profile ``name``, disposing of the previous profile's fleet."""
        profile = self.profile(name)
        if profile is None:
            raise KeyError(name)
        self._dispose_fleet()
        self._active = profile
        self._open_error = None
        opening = self._runner.submit(
            _open(self._open_service, profile, self._secrets, self.ui.range_s)
        )
        self._opening = opening
        self._relay.deliver(opening, lambda done: self._on_opened(done, profile))
        self._remember(dataclasses.replace(self.ui, last_profile=name))
        self.fleetChanged.emit()

    def _on_opened(self, future: "concurrent.futures.Future[_Opened]", profile: Profile) -> None:
        if future is not self._opening:
            return  # superseded: _dispose_fleet closes it
        self._opening = None
        try:
            opened = future.result()
        except _OPEN_ERRORS as exc:
            self._open_error = str(exc)
        except Exception as exc:
            _log.error("opening profile %s failed", profile.name, exc_info=exc)
            self._open_error = f"unexpected {type(exc).__name__}: {exc}"
        else:
            self._service = opened.service
            self._fleet = FleetViewModel(
                self._runner,
                self._service,
                refresh_interval_s=profile.refresh_interval_s,
                range_s=self.ui.range_s,
                parent=self,
            )
            self._engine = RefreshEngine(
                self._runner, interval_s=profile.refresh_interval_s, parent=self
            )
            self._fleet.pausedChanged.connect(self._engine.set_paused)
            backend, annotations = self._service.backend, AnnotationStore()
            self._detail = open_detail(profile, backend, annotations)
            self._drift_watch = DriftWatchModel(
                self._engine,
                DriftWatch(
                    self._service.backend,
                    thresholds_for=profile.drift_thresholds,
                    min_count=profile.drift_min_count,
                ),
                profile=profile.name,
                parent=self._engine,
            )
            # A partial, not a lambda over self: a cycle through this viewmodel would leave
            # it to the cyclic collector, which may run on the I/O thread.
            self._actions = ActionsViewModel(
                self._runner,
                profile,
                functools.partial(
                    open_actions,
                    profile,
                    self._secrets,
                    backend,
                    annotations,
                    self._audit.log_future,
                    suite_time_scale=self._suite_time_scale,
                ),
                parent=self,
            )
            self._explore = ExploreViewModel(
                self._runner,
                ExploreService(self._service.backend),
                QueryHistory.for_profile(profile.name),
                grafana_url=profile.grafana_url,
                grafana_datasource=profile.grafana_datasource,
                parent=self._engine,
            )
        self.fleetChanged.emit()
        if self._fleet is None:
            self._check_keyring_once()
        else:
            self._fleet.changed.connect(self._check_keyring_once)
            if self._actions is not None:
                self._fleet.changed.connect(self._actions.prepare)
            self._fleet.start(opened.first)

    def _check_keyring_once(self) -> None:
        # Finding the OS keyring takes 0.1-0.35 s of imports and D-Bus calls: it runs on the
        # I/O thread once the first profile has opened and refreshed, not during start-up.
        if self._keyring_checked:
            return
        self._keyring_checked = True
        self._audit.verify()
        checking = self._runner.submit(_keyring_status(self._secrets))
        self._relay.deliver(checking, self._on_keyring_checked)

    def _on_keyring_checked(
        self, future: "concurrent.futures.Future[tuple[bool, str, str]]"
    ) -> None:
        self.keyringChecked.emit(*future.result())

    def set_theme(self, theme: Theme) -> None:
        """Remember the theme."""
        self._remember(dataclasses.replace(self.ui, theme=theme))

    def set_range(self, range_s: float) -> None:
        """Remember the time range and apply it to the shown fleet."""
        self._remember(dataclasses.replace(self.ui, range_s=range_s))
        if self._fleet is not None:
            self._fleet.set_range(range_s)

    def set_refresh_interval(self, seconds: float) -> None:
        """Refresh the fleet and every live panel every ``seconds``."""
        if self._fleet is not None:
            self._fleet.set_refresh_interval(seconds)
        if self._engine is not None:
            self._engine.set_interval(seconds)

    def refresh_now(self) -> None:
        """Refresh the fleet and every visible live panel at once."""
        if self._fleet is not None:
            self._fleet.refresh_now()
        if self._engine is not None:
            self._engine.refresh_now()

    def secret_stored(self, profile: Profile) -> "concurrent.futures.Future[bool]":
        """Whether the secret ``profile``'s auth needs is stored (looked up on the I/O loop)."""
        return self._runner.submit(_secret_stored(self._secrets, profile))

    def save_profile(
        self, profile: Profile, secret: str | None, *, session_only: bool, is_new: bool
    ) -> "concurrent.futures.Future[None]":
        """Write ``profile`` to the config file, then its secret to the keyring (or session).

        Raises ProfileSaveError, with the config file untouched, when the profile cannot
        be saved. The keyring is written on the I/O loop (it may wait for an unlock
        prompt); the returned future fails with ProfileSaveError if that write fails.
        """
        if profile.is_demo:
            raise ProfileSaveError("name: 'demo' is reserved for the embedded DEMO environment")
        if is_new and self._settings.profile(profile.name) is not None:
            raise ProfileSaveError(f"name: a profile called {profile.name!r} already exists")
        field = profile.secret_field
        if secret and field and not self._secrets.available and not session_only:
            raise ProfileSaveError(
                f'{self._secrets.unavailable_reason()} Tick "Keep the secret for this '
                'session only" to use it anyway.'
            )
        settings = self._settings.with_profile(profile)
        try:
            self._store.save(settings)
        except (ConfigError, OSError) as exc:
            raise ProfileSaveError(str(exc)) from None
        self._settings = settings
        self.profilesChanged.emit()
        if secret and field and not session_only:
            return self._runner.submit(_store_secret(self._secrets, profile.name, field, secret))
        if secret and field:
            self._secrets.set_session_only(profile.name, field, secret)
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        done.set_result(None)
        return done

    def test_connection(
        self, profile: Profile, secret: str | None
    ) -> "concurrent.futures.Future[BuildInfo]":
        """Check an unsaved profile on the I/O loop; the secret is kept in memory only.

        Without a typed secret, the stored one is read (on the I/O loop) for the test.
        """
        return self._runner.submit(_check(self._open_service, profile, secret, self._secrets))

    def close(self) -> "concurrent.futures.Future[None] | None":
        """Stop the shown fleet, close its backend (and the audit log this viewmodel
        opened); returns the closing future."""
        closing = self._dispose_fleet()
        return self._audit.close(after=closing) if self._owns_audit else closing

    def _dispose_fleet(self) -> "concurrent.futures.Future[None] | None":
        closing = None
        suites_closing = None
        if self._fleet is not None:
            self._fleet.stop()
            self._fleet.deleteLater()
            self._fleet = None
        if self._engine is not None:
            for detail in self._engine.findChildren(DetailViewModel):
                detail.dispose()
            for drift in self._engine.findChildren(DriftViewModel):
                drift.dispose()
            if self._drift_watch is not None:
                self._drift_watch.dispose()
            self._engine.stop()
            self._engine.deleteLater()
            self._engine = None
        self._detail = None
        self._drift_watch = None
        actions_closing = None
        if self._actions is not None:
            actions_closing = self._actions.close()
            self._actions.deleteLater()
            self._actions = None
        if self._suite_runs is not None:
            suites_closing = self._suite_runs.dispose()
            self._suite_runs.deleteLater()
            self._suite_runs = None
        if self._explore is not None:
            self._explore.close()
            self._explore = None
        if self._opening is not None:
            closing = self._runner.submit(_close_when_open(self._opening))
            self._opening = None
        elif self._service is not None:
            closing = self._runner.submit(self._service.backend.aclose())
        self._service = None
        if actions_closing is not None:
            closing = self._runner.submit(_both(actions_closing, closing))
        if suites_closing is not None:
            return self._runner.submit(_both(suites_closing, closing))
        return closing

    def _remember(self, ui: UiSettings) -> None:
        if ui == self._settings.ui:
            return
        self._settings = dataclasses.replace(self._settings, ui=ui)
        if self._config_error is not None:
            return  # the malformed file on disk is the user's; it is never overwritten
        try:
            self._store.save(self._settings)
        except (ConfigError, OSError) as exc:
            self.errorRaised.emit(f"Preferences not saved: {exc}")


async def _secret_stored(secrets: SecretStore, profile: Profile) -> bool:
    field = profile.secret_field
    try:
        return field is not None and secrets.get(profile.name, field) is not None
    except SecretsUnavailable:
        return False


async def _store_secret(secrets: SecretStore, profile: str, field: str, secret: str) -> None:
    try:
        secrets.set(profile, field, secret)
    except SecretsUnavailable as exc:
        raise ProfileSaveError(f"The profile was saved but its {field} was not: {exc}") from None


async def _keyring_status(secrets: SecretStore) -> tuple[bool, str, str]:
    return secrets.available, secrets.backend_name, secrets.unavailable_reason()


class _Opened(NamedTuple):
    service: FleetService
    first: "concurrent.futures.Future[FleetSnapshot]"
    """The first snapshot, started on the I/O loop as soon as the service opened: it runs
    while the GUI thread is still building the window instead of after it."""


async def _open(
    opener: FleetOpener, profile: Profile, secrets: SecretStore, range_s: float
) -> _Opened:
    service = opener(profile, secrets)
    loop = asyncio.get_running_loop()
    return _Opened(service, asyncio.run_coroutine_threadsafe(service.snapshot(range_s), loop))


async def _both(
    first: "concurrent.futures.Future[None]", second: "concurrent.futures.Future[None] | None"
) -> None:
    """Wait for two closings (the second may be absent)."""
    await asyncio.wrap_future(first)
    if second is not None:
        await asyncio.wrap_future(second)


async def _close_when_open(opening: "concurrent.futures.Future[_Opened]") -> None:
    try:
        service, first = await asyncio.wrap_future(opening)
    except Exception:
        return  # it never opened, so there is nothing to close
    first.cancel()
    await service.backend.aclose()


async def _check(
    opener: FleetOpener, profile: Profile, secret: str | None, stored: SecretStore
) -> BuildInfo:
    scratch = SecretStore.session_only()
    field = profile.secret_field
    if field:
        try:
            value = secret or stored.get(profile.name, field)
        except SecretsUnavailable:
            value = None
        if not value:
            raise ProfileSaveError(f"Enter the {field} to test the connection.")
        scratch.set_session_only(profile.name, field, value)
    service = opener(profile, scratch)
    try:
        return await service.check()
    finally:
        await service.backend.aclose()
