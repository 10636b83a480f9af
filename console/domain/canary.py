"""Canary versus stable: each SLI of two versions serving at once, side by side.

The stable version is the one with the larger traffic share; every other serving version
is a canary. A row is "inconclusive" when either side served fewer than
``min_requests`` requests in the rate window (rate * window), or when a value is unknown
or NaN: an empty answer is never "healthy" (Argo Rollouts and Flagger do the same).

Tolerances: a difference counts as "same" while
``|canary - stable| <= max(relative * stable, absolute)``. The absolute floor keeps tiny
figures (an error ratio of 0.1 % against 0.2 %) from flipping the verdict on noise:

- error ratio: 20 % relative, 0.1 percentage point absolute;
- latency p50/p95/p99 and time to first token: 10 % relative, 10 ms absolute;
- inter-token latency: 10 % relative, 2 ms absolute.

Lower is better for all of them. The request rate row shows each side's traffic; it is
not judged, since the traffic split is the operator's choice.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from console.domain.series import known
from console.domain.signals import Signal

CANARY_SIGNALS = (
    Signal.REQUEST_RATE,
    Signal.ERROR_RATIO,
    Signal.P50_LATENCY,
    Signal.P95_LATENCY,
    Signal.P99_LATENCY,
    Signal.P95_TTFT,
    Signal.P95_ITL,
)
"""The SLIs compared, in table order."""


@dataclass(frozen=True)
class Tolerance:
    """How far the canary may differ from the stable version and still be "the same"."""

    relative: float
    absolute: float

    def allows(self, stable: float, canary: float) -> bool:
        """Whether ``canary`` is within tolerance of ``stable``."""
        return abs(canary - stable) <= max(self.relative * abs(stable), self.absolute)


TOLERANCES: Mapping[Signal, Tolerance] = {
    Signal.ERROR_RATIO: Tolerance(relative=0.20, absolute=0.001),
    Signal.P50_LATENCY: Tolerance(relative=0.10, absolute=0.010),
    Signal.P95_LATENCY: Tolerance(relative=0.10, absolute=0.010),
    Signal.P99_LATENCY: Tolerance(relative=0.10, absolute=0.010),
    Signal.P95_TTFT: Tolerance(relative=0.10, absolute=0.010),
    Signal.P95_ITL: Tolerance(relative=0.10, absolute=0.002),
}
"""Per judged SLI (lower is better for each); the request rate is not judged."""


class Verdict(StrEnum):
    """How the canary compares with the stable version on one SLI."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"
    INCONCLUSIVE = "inconclusive"
    NOT_JUDGED = "not judged"


@dataclass(frozen=True)
class CanaryRow:
    """One SLI of one canary against the stable version; ``reason`` explains the verdict."""

    signal: Signal
    canary_version: str
    stable: float | None
    canary: float | None
    relative_change: float | None
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class CanaryComparison:
    """The table of one deployment: every canary's SLIs against the stable version."""

    deployment: str
    stable_version: str
    canary_versions: tuple[str, ...]
    shares: Mapping[str, float | None]
    window_s: float
    min_requests: float
    rows: tuple[CanaryRow, ...]


def relative_change(stable: float | None, canary: float | None) -> float | None:
    """(canary - stable) / stable; None when either is unknown or stable is 0."""
    stable, canary = known(stable), known(canary)
    if stable is None or canary is None or stable == 0:
        return None
    return (canary - stable) / stable


def compare(
    deployment: str,
    serving: Sequence[str],
    figures: Mapping[str, Mapping[Signal, float | None]],
    *,
    window_s: float,
    min_requests: float,
    failures: Mapping[Signal, str] | None = None,
) -> CanaryComparison | None:
    """The canary table of ``deployment``, or None when fewer than two versions serve.

    ``serving`` lists the versions the info metric says serve (in its order, which breaks
    ties of traffic); a version with traffic in ``figures`` serves too. ``figures`` maps each
    version to its SLI values over the rate window; ``failures`` names the SLIs whose query
    failed, with the error text.
    """
    failed = failures or {}
    rates = {v: known(f.get(Signal.REQUEST_RATE)) for v, f in figures.items()}
    versions = list(dict.fromkeys([*serving, *(v for v, r in rates.items() if r)]))
    if len(versions) < 2:
        return None
    order = {version: index for index, version in enumerate(versions)}
    ranked = sorted(versions, key=lambda v: (-(rates.get(v) or 0.0), order[v]))
    stable, canaries = ranked[0], tuple(ranked[1:])
    total = sum(r for r in (rates.get(v) for v in versions) if r is not None)
    shares = {v: _share(rates.get(v), total) for v in versions}
    rows = tuple(
        _row(
            signal,
            canary,
            figures.get(stable, {}),
            figures.get(canary, {}),
            traffic=_traffic_problem(stable, canary, rates, window_s, min_requests),
            failure=failed.get(signal),
        )
        for canary in canaries
        for signal in CANARY_SIGNALS
    )
    return CanaryComparison(
        deployment=deployment,
        stable_version=stable,
        canary_versions=canaries,
        shares=shares,
        window_s=window_s,
        min_requests=min_requests,
        rows=rows,
    )


def _share(rate: float | None, total: float) -> float | None:
    return rate / total if rate is not None and total > 0 else None


def _traffic_problem(
    stable: str,
    canary: str,
    rates: Mapping[str, float | None],
    window_s: float,
    min_requests: float,
) -> str | None:
    """Why the traffic is too little to judge, or None when both sides had enough."""
    problems = []
    for role, version in (("stable", stable), ("canary", canary)):
        rate = rates.get(version)
        if rate is None:
            problems.append(f"the {role} {version} reports no request rate")
            continue
        requests = rate * window_s
        if requests < min_requests:
            problems.append(
                f"the {role} {version} served {requests:.0f} requests in the "
                f"{_span(window_s)} window (needs {min_requests:.0f})"
            )
    return "; ".join(problems) or None


def _row(
    signal: Signal,
    canary_version: str,
    stable_figures: Mapping[Signal, float | None],
    canary_figures: Mapping[Signal, float | None],
    *,
    traffic: str | None,
    failure: str | None,
) -> CanaryRow:
    stable = known(stable_figures.get(signal))
    canary = known(canary_figures.get(signal))
    change = relative_change(stable, canary)

    def row(verdict: Verdict, reason: str) -> CanaryRow:
        return CanaryRow(signal, canary_version, stable, canary, change, verdict, reason)

    if traffic is not None:
        return row(Verdict.INCONCLUSIVE, f"Too little traffic to judge: {traffic}.")
    if failure is not None:
        return row(Verdict.INCONCLUSIVE, f"The query failed: {failure}")
    tolerance = TOLERANCES.get(signal)
    if tolerance is None:
        return row(Verdict.NOT_JUDGED, "The request rate follows the traffic split.")
    if stable is None or canary is None:
        missing = " and ".join(
            side for side, value in (("stable", stable), ("canary", canary)) if value is None
        )
        return row(Verdict.INCONCLUSIVE, f"No data for the {missing} version.")
    bounds = f"±{tolerance.relative:.0%}, at least ±{tolerance.absolute:g}; lower is better"
    if tolerance.allows(stable, canary):
        return row(Verdict.SAME, f"Within the tolerance ({bounds}).")
    if canary < stable:
        return row(
            Verdict.BETTER, f"Lower than the stable version beyond the tolerance ({bounds})."
        )
    return row(Verdict.WORSE, f"Higher than the stable version beyond the tolerance ({bounds}).")


def _span(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
