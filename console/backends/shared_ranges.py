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


@dataclass(eq=False)
class _Batch(Generic[R]):
    at: float
    deployments: set[str]
    """Grows while the batch collects (until its query is sent), fixed afterwards."""
    task: "asyncio.Future[R] | None" = None
    sent: bool = False

    def usable(self, now: float, share_s: float, deployment: str) -> bool:
        task = self.task
        if task is None or now - self.at >= share_s:
            return False
        if not self.sent:
            self.deployments.add(deployment)  # joins the query before it goes
            return True
        if deployment not in self.deployments:
            return False
        return not (task.done() and (task.cancelled() or task.exception()))


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
        asked it within DEMAND_S are fetched together by ``fetch(deployments)``, with those
        asking in the same turn of the event loop (panels opening together).
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
            shared = _Batch(now, set(asked))
            task = asyncio.ensure_future(_send(shared, fetch))
            # Every caller may have gone (cancelled) before it fails: its error is read here
            # so that asyncio does not log it as never retrieved; callers still get it.
            task.add_done_callback(_retrieved)
            shared.task = task
            self._batches[batch] = shared
        assert shared.task is not None
        return await asyncio.shield(shared.task)


async def _send(batch: "_Batch[R]", fetch: Callable[[frozenset[str]], Awaitable[R]]) -> R:
    await asyncio.sleep(0)  # callers of this same turn join first
    batch.sent = True
    return await fetch(frozenset(batch.deployments))


def _retrieved(task: "asyncio.Future[Any]") -> None:
    if not task.cancelled():
        task.exception()
