"""Answer the LogQL subset of console.domain.logql over entries held in memory.

The DEMO's log backend and the tests' Loki replay server both select, order and count
entries the way Loki does: ``start <= t < end``, newest first when backward, at most
``limit`` lines, and ``count_over_time`` over ``(t - range, t]`` at each step.
"""

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping

from console.backends.log_protocol import Direction, MetricSample, MetricSeries
from console.domain.log_records import LogEntry
from console.domain.logql import CountQuery, LogQuery


def select(
    entries: Iterable[LogEntry],
    query: LogQuery,
    start_ns: int,
    end_ns: int,
    *,
    limit: int,
    direction: Direction,
) -> list[LogEntry]:
    """The first ``limit`` matching entries of the range, in ``direction`` order.

    ``entries`` must already come in ``direction`` order (it may be a lazy generator: it is
    read only until ``limit`` entries matched).
    """
    matching = (
        entry
        for entry in entries
        if start_ns <= entry.timestamp_ns < end_ns and query.matches(entry.labels, entry.line)
    )
    return list(itertools.islice(matching, limit))


def count_range(
    entries: Iterable[LogEntry], count: CountQuery, start_ns: int, end_ns: int, step_ns: int
) -> list[MetricSeries]:
    """``count_over_time`` at ``start, start + step, ... <= end``, grouped as the query says."""
    groups = _grouped_times(entries, count)
    range_ns = int(count.range_s * 1e9)
    steps = range(start_ns, end_ns + 1, step_ns)
    series = []
    for labels, times in sorted(groups.items()):
        points = [(t, _count_in(times, t - range_ns, t)) for t in steps]
        kept = [(t / 1e9, float(n)) for t, n in points if n > 0]
        if kept:
            series.append(
                MetricSeries(dict(labels), tuple(p[0] for p in kept), tuple(p[1] for p in kept))
            )
    return series


def count_instant(entries: Iterable[LogEntry], count: CountQuery, at_ns: int) -> list[MetricSample]:
    """``count_over_time`` at one instant, grouped as the query says."""
    range_ns = int(count.range_s * 1e9)
    samples = []
    for labels, times in sorted(_grouped_times(entries, count).items()):
        value = _count_in(times, at_ns - range_ns, at_ns)
        if value:
            samples.append(MetricSample(dict(labels), at_ns / 1e9, float(value)))
    return samples


def _grouped_times(
    entries: Iterable[LogEntry], count: CountQuery
) -> Mapping[tuple[tuple[str, str], ...], list[int]]:
    groups: dict[tuple[tuple[str, str], ...], list[int]] = defaultdict(list)
    for entry in entries:
        if not count.query.matches(entry.labels, entry.line):
            continue
        if not count.summed:
            key = tuple(sorted(entry.labels.items()))
        else:
            key = tuple((label, entry.labels.get(label, "")) for label in count.by)
        groups[key].append(entry.timestamp_ns)
    for times in groups.values():
        times.sort()
    return groups


def _count_in(times: list[int], after_ns: int, until_ns: int) -> int:
    """How many of the sorted ``times`` fall in ``(after_ns, until_ns]``."""
    return bisect.bisect_right(times, until_ns) - bisect.bisect_right(times, after_ns)
