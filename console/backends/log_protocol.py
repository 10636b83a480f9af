"""The protocol every log backend implements (Loki, the DEMO's simulated logs).

Times are Unix nanoseconds, as Loki's API counts them. ``query_range`` returns up to
``limit`` entries in the asked direction, paging under the hood where the backend caps a
single request.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from console.domain.log_records import LogEntry

MAX_LIMIT_PER_REQUEST = 5000
"""Loki refuses more lines per query than this (its default max_entries_limit_per_query)."""


class Direction(StrEnum):
    """Which end of the range the entries come from first."""

    FORWARD = "forward"
    BACKWARD = "backward"


@dataclass(frozen=True)
class MetricSample:
    """One row of an instant metric query (``count_over_time(...)`` and the like)."""

    labels: Mapping[str, str]
    timestamp: float
    value: float


@dataclass(frozen=True)
class MetricSeries:
    """One series of a range metric query; timestamps in Unix seconds."""

    labels: Mapping[str, str]
    timestamps: tuple[float, ...]
    values: tuple[float, ...]


class LogBackend(Protocol):
    """Answers LogQL questions. Implementations own their HTTP client."""

    name: str

    async def query_range(
        self,
        query: str,
        start_ns: int,
        end_ns: int,
        *,
        limit: int,
        direction: Direction = Direction.BACKWARD,
    ) -> list[LogEntry]:
        """Up to ``limit`` entries with ``start_ns <= t < end_ns``, newest first when
        backward, oldest first when forward; raises BackendError (BadQuery for bad LogQL)."""
        ...

    async def labels(self, start_ns: int | None = None, end_ns: int | None = None) -> list[str]:
        """The label names of the streams in the range (default: the backend's default)."""
        ...

    async def label_values(
        self, name: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> list[str]:
        """The values label ``name`` takes in the range."""
        ...

    async def series(
        self, matchers: Sequence[str], start_ns: int | None = None, end_ns: int | None = None
    ) -> list[dict[str, str]]:
        """The label sets of the streams matching any of the ``matchers`` selectors."""
        ...

    async def instant(self, query: str, at_ns: int | None = None) -> list[MetricSample]:
        """An instant metric query (BadQuery for a log query)."""
        ...

    async def metric_range(
        self, query: str, start_ns: int, end_ns: int, step_s: float
    ) -> list[MetricSeries]:
        """A range metric query at ``step_s`` (BadQuery for a log query)."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client and anything else the backend holds."""
        ...
