"""The fleet: deployments, the model versions they serve, and their latest figures."""

from dataclasses import dataclass, field

from console.domain.series import Series
from console.domain.slo import Status


@dataclass(frozen=True)
class VersionShare:
    """A model version serving a deployment and its share of the traffic (None if unknown)."""

    version: str
    traffic_share: float | None


@dataclass(frozen=True)
class DeploymentInfo:
    """A deployment as the backend knows it: engine and serving versions (info metric)."""

    deployment: str
    engine: str
    versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeploymentReading:
    """Latest figures of one deployment. A figure that cannot be known is None."""

    deployment: str
    engine: str
    versions: tuple[VersionShare, ...]
    request_rate: float | None
    error_ratio: float | None
    p95_latency_s: float | None
    p95_ttft_s: float | None
    output_tokens_per_s: float | None
    status: Status
    sparkline: Series | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        """The JSON object `sre-console fleet --json` prints for this deployment."""
        return {
            "deployment": self.deployment,
            "versions": [
                {"version": v.version, "traffic_share": v.traffic_share} for v in self.versions
            ],
            "request_rate": self.request_rate,
            "error_ratio": self.error_ratio,
            "p95_latency_s": self.p95_latency_s,
            "p95_ttft_s": self.p95_ttft_s,
            "output_tokens_per_s": self.output_tokens_per_s,
            "status": self.status.value,
            "error": self.error,
        }


@dataclass(frozen=True)
class FleetSnapshot:
    """What one refresh of one profile learned. ``error`` is set when the refresh failed."""

    profile: str
    taken_at: float
    deployments: tuple[DeploymentReading, ...] = ()
    notes: tuple[str, ...] = field(default=())
    error: str | None = None


def traffic_shares(
    versions: tuple[str, ...], rates: dict[str, float | None]
) -> tuple[VersionShare, ...]:
    """Each version's share of the summed request rate, versions with traffic first.

    ``versions`` are those the info metric says are serving; versions seen only in the
    request rates are added. Shares are None when the total rate is unknown or zero.
    """
    names = list(dict.fromkeys([*versions, *rates]))
    known_rates = {v: r for v, r in rates.items() if r is not None}
    total = sum(known_rates.values())
    if total <= 0:
        return tuple(VersionShare(v, None) for v in names)
    shares = [VersionShare(v, known_rates.get(v, 0.0) / total) for v in names]
    return tuple(sorted(shares, key=lambda s: -(s.traffic_share or 0.0)))
