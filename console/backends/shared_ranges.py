"""One range query per signal for the panels of several deployments, shared for a moment.

A dashboard of N deployments x S signals would send N x S range queries per refresh, and
each HTTP round trip costs the console a few milliseconds of CPU however small the answer.
Panels of the same signal, grid and window ask within seconds of each other, so the first
one fetches the rows of every deployment that asked recently (its demand) and the others
take their rows from that answer while it is fresh.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

R = TypeVar("R")

DEMAND_S = 120.0
"""A deployment stays in its signal's batch this long after its panel last asked."""


@dataclass(frozen=True)
class _Batch(Generic[R]):
    at: float
    deployments: frozenset[str]
    task: "asyncio.Future[R]"

    def usable(self, now: float, share_s: float, deployment: str) -> bool:
        if now - self.at >= share_s or deployment not in self.deployments:
            return False
        return not (self.task.done() and (self.task.cancelled() or self.task.exception()))


class SharedRanges(Generic[R]):
    """Answers fetched for a set of deployments, shared by their callers for ``share_s``."""

    def __init__(self, clock: Callable[[], float], share_s: float) -> None:
        self._clock = clock
        self._share_s = share_s
        self._demand: dict[Hashable, dict[str, float]] = {}
        self._batches: dict[Hashable, _Batch[R]] = {}

    async def get(
        self,
        batch: Hashable,
        demand: Hashable,
        deployment: str,
        fetch: Callable[[frozenset[str]], Awaitable[R]],
    ) -> R:
        """The answer of batch key ``batch`` holding ``deployment``'s rows.

        ``demand`` names the panels' query without its moving range: the deployments that
        asked it within DEMAND_S are fetched together by ``fetch(deployments)``.
        """
        now = self._clock()
        asked = self._demand.setdefault(demand, {})
        asked[deployment] = now
        for name in [n for n, at in asked.items() if now - at > DEMAND_S]:
            del asked[name]
        shared = self._batches.get(batch)
        if shared is None or not shared.usable(now, self._share_s, deployment):
            for key in [k for k, b in self._batches.items() if now - b.at >= self._share_s]:
                del self._batches[key]
            deployments = frozenset(asked)
            task = asyncio.ensure_future(fetch(deployments))
            # Every caller may have gone (cancelled) before it fails: its error is read here
            # so that asyncio does not log it as never retrieved; callers still get it.
            task.add_done_callback(_retrieved)
            shared = _Batch(now, deployments, task)
            self._batches[batch] = shared
        return await asyncio.shield(shared.task)


def _retrieved(task: "asyncio.Future[Any]") -> None:
    if not task.cancelled():
        task.exception()
