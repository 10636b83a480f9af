"""The incident timeline of one deployment, and exporting its incident report."""

import concurrent.futures
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from console.backends.errors import BackendError
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner
from console.services.incident_report import write_report
from console.services.timeline import Timeline
from console.viewmodels.alerts import AlertsViewModel
from console.viewmodels.oncall import OnCallServices


class TimelineViewModel(QObject):
    """Loads ``deployment``'s timeline over the last ``range_s`` on the I/O loop.

    It waits for the profile's on-call services (``AlertsViewModel.opened``). ``changed``
    follows each load; ``exported(path)`` and ``exportFailed(text)`` end a report export.
    """

    changed = Signal()
    exported = Signal(str)
    exportFailed = Signal(str)

    def __init__(
        self,
        runner: AsyncRunner,
        alerts: AlertsViewModel,
        deployment: str,
        range_s: float,
        *,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._alerts = alerts
        self.deployment = deployment
        self.range_s = range_s
        self._clock = clock
        self._relay = FutureRelay(self)
        self._loading: concurrent.futures.Future[Timeline] | None = None
        self._timeline: Timeline | None = None
        self._error: str | None = None
        self._seen: tuple[frozenset[str], frozenset[str]] | None = None
        alerts.opened.connect(self.reload)
        alerts.changed.connect(self._on_alerts_changed)

    @property
    def timeline(self) -> Timeline | None:
        """The latest timeline, if one loaded."""
        return self._timeline

    @property
    def error(self) -> str | None:
        """Why the timeline could not load (its sources' own errors are in the timeline)."""
        return self._error or self._alerts.open_error

    def set_deployment(self, deployment: str) -> None:
        """Show another deployment's timeline."""
        self.deployment = deployment
        self._timeline = None
        self.reload()

    def set_range(self, range_s: float) -> None:
        """Cover the last ``range_s`` seconds."""
        self.range_s = range_s
        self.reload()

    def window(self) -> tuple[float, float]:
        """The window a load now covers (start, end)."""
        end = self._clock()
        return end - self.range_s, end

    def reload(self) -> None:
        """Load again (a load still going is superseded)."""
        services = self._alerts.services
        if services is None:
            self.changed.emit()
            return
        if self._loading is not None:
            self._loading.cancel()
        self._seen = self._alerts_state()
        start, end = self.window()
        self._loading = self._runner.submit(
            services.timelines.timeline(self.deployment, start, end)
        )
        self._relay.deliver(self._loading, self._on_loaded)

    def _on_alerts_changed(self) -> None:
        # An alert that starts or ends, or a silence made or expired, shows at once.
        if self._alerts_state() != self._seen:
            self.reload()

    def _alerts_state(self) -> tuple[frozenset[str], frozenset[str]]:
        overview = self._alerts.overview
        firing = frozenset(a.fingerprint for a in overview.alerts) if overview else frozenset()
        return firing, frozenset(f"{s.id}/{s.state}" for s in self._alerts.silences)

    def export_report(self, path: Path) -> None:
        """Write the incident report of the current window to ``path`` (.md: Markdown)."""
        services = self._alerts.services
        if services is None:
            self.exportFailed.emit(self.error or "the on-call services are not open yet")
            return
        start, end = self.window()
        future = self._runner.submit(_export(services, self.deployment, start, end, path))
        self._relay.deliver(future, self._on_exported)

    def dispose(self) -> None:
        """Drop a load still going."""
        if self._loading is not None:
            self._loading.cancel()
            self._loading = None

    def _on_loaded(self, future: "concurrent.futures.Future[Timeline]") -> None:
        if future is not self._loading:
            return
        self._loading = None
        try:
            self._timeline = future.result()
            self._error = None
        except concurrent.futures.CancelledError:
            return
        except (BackendError, OSError, ValueError) as exc:
            self._error = str(exc)
        self.changed.emit()

    def _on_exported(self, future: "concurrent.futures.Future[Path]") -> None:
        try:
            path = future.result()
        except (BackendError, OSError, ValueError) as exc:
            self.exportFailed.emit(str(exc))
            return
        self.exported.emit(str(path))


async def _export(
    services: OnCallServices, deployment: str, start: float, end: float, path: Path
) -> Path:
    report = await services.reports.build(deployment, start, end)
    write_report(report, path)
    return path
