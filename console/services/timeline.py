"""The incident timeline of one deployment, gathered from every source the console has.

Version changes come from the metrics (version history), alert firings from the alert
history (Prometheus's ``ALERTS`` series or the DEMO), silences from the Alertmanager,
drift threshold crossings from the drift service, synthetic runs from the run history and
actions from the audit log. A source that fails is named in ``Timeline.errors``; the
others still show.
"""

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from console.backends.alerting import AlertHistory
from console.backends.errors import BackendError
from console.backends.protocol import MetricsBackend
from console.config.settings import Profile
from console.domain.alerts import Silence, deployment_of
from console.domain.annotations import version_changes
from console.domain.audit import AuditEntry
from console.domain.drift import DriftMetric
from console.domain.timeline import (
    RunRef,
    TimelineItem,
    TimelineKind,
    alert_items,
    audit_items,
    drift_items,
    merge,
    silence_items,
    version_items,
)
from console.domain.timerange import TimeRange, plan_range
from console.services.alerts import AlertsService
from console.services.audit_log import AuditFilter, AuditLog
from console.services.drift import DriftRequestError, DriftService, PreviousWindow
from console.services.run_history import PassRatePoint

DRIFT_HISTOGRAM = "output_tokens"
DRIFT_STEPS = 24
"""The drift lane reads the window in about this many steps (at least 5 minutes each)."""
MIN_DRIFT_STEP_S = 300.0
VERSION_POINTS = 1000


class RunSource(Protocol):
    """The part of RunHistory the timeline reads."""

    def pass_rates(self, deployment: str, *, since: float | None = None) -> list[PassRatePoint]:
        """The completed runs of ``deployment``, oldest first."""
        ...


class AuditSource(Protocol):
    """Audit entries of one profile and deployment since a time (newest or oldest first)."""

    def __call__(self, profile: str, deployment: str, since: float) -> Sequence[AuditEntry]: ...


@dataclass(frozen=True)
class Timeline:
    """A deployment's items over [start, end]; ``errors`` names the sources that failed."""

    deployment: str
    start: float
    end: float
    items: tuple[TimelineItem, ...]
    errors: tuple[str, ...] = ()

    def lane(self, kind: TimelineKind) -> tuple[TimelineItem, ...]:
        """The items of one lane."""
        return tuple(i for i in self.items if i.kind is kind)


class TimelineService:
    """Builds timelines for the deployments of one profile."""

    def __init__(
        self,
        profile: Profile,
        metrics: MetricsBackend,
        *,
        alerts: AlertsService | None = None,
        alert_history: AlertHistory | None = None,
        runs: RunSource | None = None,
        audit: AuditSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile = profile
        self._metrics = metrics
        self._alerts = alerts
        self._history = alert_history
        self._runs = runs
        self._audit = audit
        self._clock = clock

    async def timeline(self, deployment: str, start: float, end: float) -> Timeline:
        """Everything that happened to ``deployment`` in [start, end]."""
        sources: list[tuple[str, Awaitable[list[TimelineItem]]]] = [
            ("versions", self._versions(deployment, start, end)),
            ("alerts", self._alert_spans(deployment, start, end)),
            ("silences", self._silences(deployment)),
            ("drift", self._drift(deployment, start, end)),
            ("synthetic runs", self._run_items(deployment, start)),
            ("audit log", self._audit_items(deployment, start)),
        ]
        results = await asyncio.gather(*(work for _, work in sources), return_exceptions=True)
        found: list[list[TimelineItem]] = []
        errors: list[str] = []
        for (name, _), result in zip(sources, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, BackendError | DriftRequestError | OSError | ValueError):
                    raise result
                errors.append(f"{name}: {result}")
            else:
                found.append(result)
        return Timeline(deployment, start, end, tuple(merge(found, start, end)), tuple(errors))

    async def _versions(self, deployment: str, start: float, end: float) -> list[TimelineItem]:
        plan = plan_range(TimeRange(start, end), VERSION_POINTS, self._metrics.scrape_interval_s)
        history = await self._metrics.version_history(plan, deployment=deployment)
        return version_items(version_changes(deployment, history))

    async def _alert_spans(self, deployment: str, start: float, end: float) -> list[TimelineItem]:
        if self._history is None:
            return []
        labels = self.profile.alert_deployment_labels
        spans = [
            s
            for s in await self._history.alert_spans(start, end)
            if deployment_of(s.labels, labels) == deployment
        ]
        urls: dict[str, str] = {}
        if self._alerts is not None:
            try:
                current = await self._alerts.alerts()
            except BackendError:
                current = []
            urls = {a.fingerprint: a.generator_url for a in current if a.generator_url}
        return alert_items(spans, urls)

    async def _silences(self, deployment: str) -> list[TimelineItem]:
        if self._alerts is None or not self._alerts.can_silence:
            return []
        labels = self.profile.alert_deployment_labels
        return silence_items(
            s for s in await self._alerts.silences() if _names(s, labels, deployment)
        )

    async def _drift(self, deployment: str, start: float, end: float) -> list[TimelineItem]:
        now = self._clock()
        range_s = max(now, end) - start
        step_s = max(MIN_DRIFT_STEP_S, math.ceil(range_s / DRIFT_STEPS))
        if range_s < 2 * step_s:
            return []
        series = await DriftService(self._metrics, clock=self._clock).series(
            deployment,
            DRIFT_HISTOGRAM,
            range_s=range_s,
            step_s=step_s,
            window_s=step_s,
            baseline=PreviousWindow(),
            metric=DriftMetric.PSI,
            thresholds=self.profile.drift_thresholds(DRIFT_HISTOGRAM, DriftMetric.PSI),
            min_count=self.profile.drift_min_count,
        )
        return drift_items(
            deployment,
            DRIFT_HISTOGRAM,
            series.timestamps.tolist(),
            [s.value for s in series.statuses],
            series.values.tolist(),
        )

    async def _run_items(self, deployment: str, start: float) -> list[TimelineItem]:
        if self._runs is None:
            return []
        points = await asyncio.to_thread(self._runs.pass_rates, deployment, since=start)
        return [run_item(p) for p in points]

    async def _audit_items(self, deployment: str, start: float) -> list[TimelineItem]:
        if self._audit is None:
            return []
        entries = await asyncio.to_thread(self._audit, self.profile.name, deployment, start)
        return audit_items(entries)


def run_item(point: PassRatePoint) -> TimelineItem:
    """A synthetic run with its pass rate."""
    tally = point.tally
    return TimelineItem(
        point.started_at,
        TimelineKind.SYNTHETIC_RUN,
        f"suite run {point.run_id}: {point.pass_rate:.0%} passed ({tally.passed}/{tally.total})",
        RunRef(point.run_id),
        detail=f"version {point.model_version}" if point.model_version else "",
        severity="critical" if point.pass_rate < 1.0 else None,
    )


def audit_source(log: AuditLog) -> AuditSource:
    """The entries of an audit log whose target is the deployment, oldest first."""

    def entries(profile: str, deployment: str, since: float) -> list[AuditEntry]:
        found = log.entries(AuditFilter(profile=profile, since=since))
        return [e for e in reversed(found) if e.target == deployment]

    return entries


def _names(silence: Silence, labels: Sequence[str], deployment: str) -> bool:
    """Whether the silence is about ``deployment`` (an equality matcher on its label)."""
    return any(
        m.name in labels and m.is_equal and not m.is_regex and m.value == deployment
        for m in silence.matchers
    )
