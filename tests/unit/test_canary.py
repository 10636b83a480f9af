"""Canary versus stable: who is stable, relative changes, verdicts and "inconclusive"."""

import math

import pytest

from console.domain.canary import CANARY_SIGNALS, Verdict, compare, relative_change
from console.domain.signals import Signal

WINDOW_S = 300.0


def figures(rate: float | None, **values: float | None) -> dict[Signal, float | None]:
    """A version's SLIs: healthy defaults, overridden by signal value name."""
    base: dict[Signal, float | None] = {
        Signal.REQUEST_RATE: rate,
        Signal.ERROR_RATIO: 0.004,
        Signal.P50_LATENCY: 0.6,
        Signal.P95_LATENCY: 1.4,
        Signal.P99_LATENCY: 2.5,
        Signal.P95_TTFT: 0.30,
        Signal.P95_ITL: 0.040,
    }
    base.update({Signal(name): value for name, value in values.items()})
    return base


def verdicts(comparison) -> dict[Signal, Verdict]:
    return {row.signal: row.verdict for row in comparison.rows}


def test_one_version_serving_gives_no_table() -> None:
    assert compare("qa", ["v7"], {"v7": figures(9.0)}, window_s=WINDOW_S, min_requests=100) is None


def test_the_larger_share_is_stable_and_the_other_is_the_canary() -> None:
    table = compare(
        "qa",
        ["v8", "v7"],
        {"v7": figures(9.0), "v8": figures(1.0, p95_latency_s=2.1)},
        window_s=WINDOW_S,
        min_requests=100,
    )
    assert table is not None
    assert (table.stable_version, table.canary_versions) == ("v7", ("v8",))
    assert table.shares == pytest.approx({"v7": 0.9, "v8": 0.1})
    assert [row.signal for row in table.rows] == list(CANARY_SIGNALS)
    p95 = next(row for row in table.rows if row.signal is Signal.P95_LATENCY)
    assert (p95.stable, p95.canary) == (1.4, 2.1)
    assert p95.relative_change == pytest.approx(0.5)
    assert p95.verdict is Verdict.WORSE


def test_verdicts_follow_the_tolerance_and_lower_is_better() -> None:
    canary = figures(
        3.0,
        error_ratio=0.0045,  # +12.5 %: within 20 %
        p50_latency_s=0.5,  # -17 %: better
        p95_latency_s=1.5,  # +7 %: within 10 %
        p99_latency_s=3.0,  # +20 %: worse
        p95_ttft_s=0.2,  # better
        p95_itl_s=0.0415,  # +1.5 ms: below the 2 ms floor
    )
    table = compare(
        "qa", ["v7", "v8"], {"v7": figures(6.0), "v8": canary}, window_s=WINDOW_S, min_requests=100
    )
    assert table is not None
    assert verdicts(table) == {
        Signal.REQUEST_RATE: Verdict.NOT_JUDGED,
        Signal.ERROR_RATIO: Verdict.SAME,
        Signal.P50_LATENCY: Verdict.BETTER,
        Signal.P95_LATENCY: Verdict.SAME,
        Signal.P99_LATENCY: Verdict.WORSE,
        Signal.P95_TTFT: Verdict.BETTER,
        Signal.P95_ITL: Verdict.SAME,
    }


def test_a_higher_error_ratio_beyond_the_floor_is_worse_even_from_zero() -> None:
    table = compare(
        "qa",
        ["v1", "v2"],
        {"v1": figures(10.0, error_ratio=0.0), "v2": figures(2.0, error_ratio=0.05)},
        window_s=WINDOW_S,
        min_requests=100,
    )
    assert table is not None
    row = next(row for row in table.rows if row.signal is Signal.ERROR_RATIO)
    assert row.relative_change is None  # stable is 0: no relative change
    assert row.verdict is Verdict.WORSE


@pytest.mark.parametrize(
    ("stable_rate", "canary_rate", "who"),
    [(10.0, 0.2, "canary v2 served 60 requests"), (0.3, 0.2, "stable v1 served 90 requests")],
)
def test_too_little_traffic_on_either_side_is_inconclusive_on_every_row(
    stable_rate: float, canary_rate: float, who: str
) -> None:
    table = compare(
        "qa",
        ["v1", "v2"],
        {"v1": figures(stable_rate), "v2": figures(canary_rate, p95_latency_s=9.0)},
        window_s=WINDOW_S,
        min_requests=100,
    )
    assert table is not None
    assert set(verdicts(table).values()) == {Verdict.INCONCLUSIVE}
    assert all(who in row.reason and "5 min window" in row.reason for row in table.rows)
    assert all("needs 100" in row.reason for row in table.rows)


def test_a_canary_without_any_traffic_but_in_the_info_metric_is_inconclusive() -> None:
    table = compare("qa", ["v1", "v2"], {"v1": figures(10.0)}, window_s=WINDOW_S, min_requests=100)
    assert table is not None
    assert table.canary_versions == ("v2",)
    assert set(verdicts(table).values()) == {Verdict.INCONCLUSIVE}
    assert "the canary v2 reports no request rate" in table.rows[0].reason


@pytest.mark.parametrize("missing", [None, math.nan])
def test_an_unknown_or_nan_value_is_inconclusive_never_healthy(missing: float | None) -> None:
    table = compare(
        "qa",
        ["v1", "v2"],
        {"v1": figures(10.0), "v2": figures(5.0, p95_ttft_s=missing)},
        window_s=WINDOW_S,
        min_requests=100,
    )
    assert table is not None
    row = next(row for row in table.rows if row.signal is Signal.P95_TTFT)
    assert row.verdict is Verdict.INCONCLUSIVE
    assert row.canary is None and row.relative_change is None
    assert row.reason == "No data for the canary version."
    assert verdicts(table)[Signal.P95_LATENCY] is Verdict.SAME


def test_a_failed_query_makes_its_rows_inconclusive_with_the_error() -> None:
    table = compare(
        "qa",
        ["v1", "v2"],
        {"v1": figures(10.0), "v2": figures(5.0)},
        window_s=WINDOW_S,
        min_requests=100,
        failures={Signal.P95_ITL: "bad_data: unknown metric"},
    )
    assert table is not None
    row = next(row for row in table.rows if row.signal is Signal.P95_ITL)
    assert row.verdict is Verdict.INCONCLUSIVE
    assert "bad_data: unknown metric" in row.reason


def test_three_versions_compare_each_canary_with_the_stable_one() -> None:
    table = compare(
        "qa",
        ["a", "b", "c"],
        {"a": figures(2.0), "b": figures(8.0), "c": figures(1.0, error_ratio=0.2)},
        window_s=WINDOW_S,
        min_requests=100,
    )
    assert table is not None
    assert (table.stable_version, table.canary_versions) == ("b", ("a", "c"))
    assert len(table.rows) == 2 * len(CANARY_SIGNALS)
    worst = next(
        r for r in table.rows if r.canary_version == "c" and r.signal is Signal.ERROR_RATIO
    )
    assert worst.verdict is Verdict.WORSE


def test_equal_traffic_keeps_the_info_metric_order() -> None:
    table = compare(
        "qa",
        ["old", "new"],
        {"new": figures(5.0), "old": figures(5.0)},
        window_s=WINDOW_S,
        min_requests=100,
    )
    assert table is not None and table.stable_version == "old"


@pytest.mark.parametrize(
    ("stable", "canary", "expected"),
    [(2.0, 3.0, 0.5), (2.0, 1.0, -0.5), (0.0, 1.0, None), (None, 1.0, None), (1.0, math.nan, None)],
)
def test_relative_change(stable, canary, expected) -> None:
    assert relative_change(stable, canary) == (
        expected if expected is None else pytest.approx(expected)
    )
