"""SLO thresholds and the status they give a deployment."""

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Health of a deployment. NO_DATA is never shown as healthy."""

    OK = "ok"
    WARN = "warn"
    ALERT = "alert"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class Threshold:
    """Warn and alert levels for one figure where higher is worse."""

    warn: float
    alert: float

    def __post_init__(self) -> None:
        if self.alert < self.warn:
            raise ValueError(f"alert level {self.alert} is below warn level {self.warn}")

    def judge(self, value: float) -> Status:
        """The status of one known figure against this threshold."""
        if value >= self.alert:
            return Status.ALERT
        if value >= self.warn:
            return Status.WARN
        return Status.OK


@dataclass(frozen=True)
class SloThresholds:
    """Per-profile thresholds for the figures that decide a card's colour."""

    error_ratio: Threshold = Threshold(warn=0.01, alert=0.05)
    p95_latency_s: Threshold = Threshold(warn=2.0, alert=5.0)
    p95_ttft_s: Threshold = Threshold(warn=0.5, alert=1.0)

    def evaluate(
        self,
        *,
        request_rate: float | None,
        error_ratio: float | None,
        p95_latency_s: float | None,
        p95_ttft_s: float | None,
    ) -> Status:
        """Worst status over the known figures.

        A breach is reported even when other figures are missing. Without a breach the
        deployment is OK only if it has traffic and at least one judged figure is known;
        otherwise it is NO_DATA (inconclusive, as Argo Rollouts and Flagger treat it).
        """
        judged = [
            threshold.judge(value)
            for threshold, value in (
                (self.error_ratio, error_ratio),
                (self.p95_latency_s, p95_latency_s),
                (self.p95_ttft_s, p95_ttft_s),
            )
            if value is not None
        ]
        if Status.ALERT in judged:
            return Status.ALERT
        if Status.WARN in judged:
            return Status.WARN
        if not judged or not request_rate:
            return Status.NO_DATA
        return Status.OK
