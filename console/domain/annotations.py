"""Chart annotations: marks on the time axis (version changes, rollbacks, runs, alerts)."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from console.domain.series import Series


class AnnotationKind(StrEnum):
    """What happened at an annotation's time."""

    VERSION_CHANGE = "version_change"
    ROLLBACK = "rollback"
    FAILOVER = "failover"
    SYNTHETIC_RUN = "synthetic_run"
    ALERT = "alert"
    NOTE = "note"


@dataclass(frozen=True)
class Annotation:
    """A mark at Unix time ``at``; ``deployment`` None marks every deployment of the profile."""

    at: float
    kind: AnnotationKind
    text: str
    deployment: str | None = None
    version: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.at):
            raise ValueError(f"annotation {self.text!r}: time {self.at} is not finite")

    def applies_to(self, deployment: str) -> bool:
        """Whether the mark belongs on the charts of ``deployment``."""
        return self.deployment is None or self.deployment == deployment


def version_changes(deployment: str, history: Mapping[str, Series]) -> list[Annotation]:
    """One VERSION_CHANGE mark at each step where the set of serving versions changed.

    ``history`` maps each version to a series on one shared time grid whose value is 1 (or
    any finite value above 0) while the version served, and 0 or NaN otherwise. Steps where
    no version reports (a gap in the data) do not count as a change.
    """
    if not history:
        return []
    versions = sorted(history)
    grid = history[versions[0]].timestamps
    for version in versions:
        if history[version].timestamps.shape != grid.shape:
            raise ValueError(f"version {version!r}: its series is not on the shared time grid")
    serving = np.stack([np.nan_to_num(history[v].values, nan=0.0) > 0 for v in versions])
    marks: list[Annotation] = []
    previous: tuple[str, ...] | None = None
    for column in range(grid.size):
        now = tuple(v for v, on in zip(versions, serving[:, column], strict=True) if on)
        if not now:
            continue
        if previous is not None and now != previous:
            marks.append(
                Annotation(
                    at=float(grid[column]),
                    kind=AnnotationKind.VERSION_CHANGE,
                    text=_change_text(previous, now),
                    deployment=deployment,
                    version=next((v for v in now if v not in previous), now[-1]),
                )
            )
        previous = now
    return marks


def _change_text(before: tuple[str, ...], after: tuple[str, ...]) -> str:
    started = [v for v in after if v not in before]
    stopped = [v for v in before if v not in after]
    if started and stopped:
        return f"{', '.join(stopped)} → {', '.join(started)}"
    if started:
        return f"{', '.join(started)} started (with {', '.join(v for v in after if v in before)})"
    return f"{', '.join(stopped)} stopped ({', '.join(after)} serves)"
