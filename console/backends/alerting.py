"""What the alert services need from an Alertmanager (real, or the DEMO's in-process one)."""

from collections.abc import Sequence
from typing import Protocol

from console.domain.alerts import Alert, AlertmanagerStatus, AlertSpan, Silence, SilenceDraft


class AlertingBackend(Protocol):
    """Alerts and silences, in Alertmanager API v2 terms. Failures raise BackendError."""

    @property
    def base_url(self) -> str:
        """Where the alerts come from, safe to show."""
        ...

    async def alerts(
        self,
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        filters: Sequence[str] = (),
        receiver: str | None = None,
    ) -> list[Alert]:
        """Current alerts; ``filters`` are matchers such as ``severity="critical"``."""
        ...

    async def silences(self, filters: Sequence[str] = ()) -> list[Silence]:
        """Pending, active and recently expired silences."""
        ...

    async def create_silence(self, draft: SilenceDraft) -> str:
        """Create (or, with ``draft.id``, replace) a silence; its id."""
        ...

    async def expire_silence(self, silence_id: str) -> None:
        """End a silence now."""
        ...

    async def status(self) -> AlertmanagerStatus:
        """Version and cluster state (a connection test)."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client, if any."""
        ...


class AlertHistory(Protocol):
    """When alerts fired in the past (Prometheus's ``ALERTS`` series, or the DEMO)."""

    async def alert_spans(self, start: float, end: float) -> list[AlertSpan]:
        """Every firing stretch overlapping [start, end], oldest first."""
        ...
