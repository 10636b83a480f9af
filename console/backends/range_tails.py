"""Refresh a range answer by fetching its tail only: the steps that can still change.

A live panel asks for the same range every few seconds, slid forward by a step or two.
Every step older than the last fetch (less a settling margin for late samples) evaluates
the same again, so only the tail is fetched and spliced onto the steps kept from the last
answer. A 1-hour panel then parses a handful of points per series instead of hundreds.
Every FULL_REFETCH_S the whole range is fetched again, so that samples arriving later
than the margin (a remote-write agent catching up, a backfill) show within minutes.
"""

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from console.domain.series import Series, SeriesKey
from console.domain.timerange import RangePlan

SETTLE_MIN_S = 120.0
"""Steps this recent at the last fetch are fetched again (at least; 4 scrapes if longer):
a scrape is appended after it ends, and VictoriaMetrics hides the last 30 s by default."""
FULL_REFETCH_S = 600.0
KEPT_ANSWERS = 256
"""Answers kept for splicing (least recently used dropped): about 60 KB each for a panel
of 20 series x 180 steps."""

Answer = dict[SeriesKey, Series]


@dataclass(frozen=True)
class _Kept:
    plan: RangePlan
    asked_at: float
    full_at: float
    answer: Answer


@dataclass(frozen=True)
class Tail:
    """The part of a plan to fetch, and the kept answer its steps are spliced onto."""

    plan: RangePlan
    base: _Kept


class RangeTails:
    """The last answer of each range query, and the tail a new plan of it needs."""

    def __init__(self, wall_clock: Callable[[], float], settle_s: float) -> None:
        self._wall_clock = wall_clock
        self._settle_s = max(SETTLE_MIN_S, settle_s)
        self._kept: OrderedDict[Hashable, _Kept] = OrderedDict()

    def now(self) -> float:
        """The wall-clock time to pass as ``asked_at`` (read before sending the query)."""
        return self._wall_clock()

    def tail(self, query: Hashable, plan: RangePlan, now: float) -> Tail | None:
        """The part of ``plan`` to fetch, or None when the whole plan must be fetched."""
        kept = self._kept.get(query)
        if kept is None or now - kept.full_at >= FULL_REFETCH_S:
            return None
        old = kept.plan
        if old.step != plan.step or plan.start < old.start or plan.end < old.end:
            return None
        settled = kept.asked_at - self._settle_s
        start = plan.start + math.floor((settled - plan.start) / plan.step) * plan.step
        start = min(start, old.end)
        if start <= plan.start:
            return None
        return Tail(RangePlan(start=start, end=plan.end, step=plan.step), kept)

    def keep(
        self,
        query: Hashable,
        plan: RangePlan,
        answer: Answer,
        *,
        asked_at: float,
        tail: Tail | None = None,
    ) -> Answer:
        """Record an answer (of ``tail``, if given: spliced onto its base); returns it whole.

        The arrays returned are read-only: callers share them, and the next splice reads them.
        """
        if tail is None:
            whole, full_at = answer, asked_at
        else:
            base = tail.base
            whole = _splice(base.plan, base.answer, plan, tail.plan, answer)
            full_at = base.full_at
        for series in whole.values():
            series.timestamps.flags.writeable = False
            series.values.flags.writeable = False
        self._kept[query] = _Kept(plan, asked_at, full_at, whole)
        self._kept.move_to_end(query)
        while len(self._kept) > KEPT_ANSWERS:
            self._kept.popitem(last=False)
        return whole


def _splice(
    old_plan: RangePlan, old: Answer, plan: RangePlan, tail: RangePlan, new: Answer
) -> Answer:
    """``plan``'s answer: the kept steps before ``tail``, then the tail's answer."""
    grid = plan.timestamps()
    cut = round((tail.start - plan.start) / plan.step)
    shift = round((plan.start - old_plan.start) / plan.step)
    spliced: Answer = {}
    for key in dict.fromkeys([*old, *new]):
        values = np.full(grid.size, np.nan)
        if key in old:
            values[:cut] = old[key].values[shift : shift + cut]
        if key in new:
            values[cut:] = new[key].values
        if not np.isnan(values).all():  # a full fetch leaves out series without samples
            spliced[key] = Series(key, grid.copy(), values)
    return spliced
