"""RangeTails: which tail of a slid range to fetch, and the answer spliced from it."""

import numpy as np
import pytest

from console.backends.range_tails import FULL_REFETCH_S, KEPT_ANSWERS, SETTLE_MIN_S, RangeTails
from console.domain.series import Series, SeriesKey
from console.domain.timerange import RangePlan

STEP = 10.0
SPAN = 600.0
A = SeriesKey("chat", "v1")
B = SeriesKey("chat", "v2")


def plan_ending(end: float) -> RangePlan:
    return RangePlan(end - SPAN, end, STEP)


def answer_of(plan: RangePlan, **lines: object) -> dict[SeriesKey, Series]:
    """Series whose value at each step is its timestamp plus the line's offset (or NaN)."""
    keys = {"a": A, "b": B}
    grid = plan.timestamps()
    return {
        keys[name]: Series(
            keys[name], grid.copy(), grid + offset if offset is not None else grid * np.nan
        )
        for name, offset in lines.items()
    }


def test_the_first_plan_is_fetched_whole() -> None:
    tails = RangeTails(lambda: 0.0, settle_s=0.0)
    assert tails.tail("q", plan_ending(1000.0), now=1000.0) is None


def test_a_slid_plan_fetches_from_the_settled_steps_and_splices_the_rest() -> None:
    tails = RangeTails(lambda: 0.0, settle_s=0.0)
    first = plan_ending(1000.0)
    tails.keep("q", first, answer_of(first, a=0.0, b=5.0), asked_at=1000.0)
    slid = plan_ending(1030.0)

    tail = tails.tail("q", slid, now=1030.0)

    assert tail is not None
    assert tail.plan == RangePlan(1000.0 - SETTLE_MIN_S, 1030.0, STEP)
    # The tail's answer differs from the kept steps (+1), so the splice shows where each
    # step came from: kept before the tail, fetched from it on.
    whole = tails.keep("q", slid, answer_of(tail.plan, a=1.0), asked_at=1030.0, tail=tail)
    grid = slid.timestamps()
    cut = int((tail.plan.start - slid.start) / STEP)
    np.testing.assert_array_equal(whole[A].timestamps, grid)
    np.testing.assert_array_equal(whole[A].values[:cut], grid[:cut])
    np.testing.assert_array_equal(whole[A].values[cut:], grid[cut:] + 1.0)
    # b has no samples in the tail: its kept steps stay, the tail's are gaps.
    np.testing.assert_array_equal(whole[B].values[:cut], grid[:cut] + 5.0)
    assert np.isnan(whole[B].values[cut:]).all()
    assert list(whole) == [A, B]


def test_a_series_new_in_the_tail_is_a_gap_before_it_and_an_empty_one_is_left_out() -> None:
    tails = RangeTails(lambda: 0.0, settle_s=0.0)
    first = plan_ending(1000.0)
    tails.keep("q", first, answer_of(first, a=None), asked_at=1000.0)
    slid = plan_ending(1010.0)
    tail = tails.tail("q", slid, now=1010.0)
    assert tail is not None

    whole = tails.keep("q", slid, answer_of(tail.plan, b=0.0), asked_at=1010.0, tail=tail)

    assert list(whole) == [B]
    cut = int((tail.plan.start - slid.start) / STEP)
    assert np.isnan(whole[B].values[:cut]).all() and np.isfinite(whole[B].values[cut:]).all()


def test_the_tail_never_starts_after_the_kept_answer_ends() -> None:
    tails = RangeTails(lambda: 0.0, settle_s=0.0)
    first = plan_ending(1000.0)
    tails.keep("q", first, answer_of(first, a=0.0), asked_at=1000.0 + 2 * SETTLE_MIN_S)
    tail = tails.tail("q", plan_ending(1000.0 + 3 * SETTLE_MIN_S), now=1400.0)
    assert tail is not None and tail.plan.start == first.end


@pytest.mark.parametrize(
    "plan",
    [
        plan_ending(990.0),  # earlier: a zoom into the past
        RangePlan(1030.0 - SPAN, 1030.0, 2 * STEP),  # another step
        plan_ending(1000.0 + SPAN + SETTLE_MIN_S),  # nothing kept would be used
    ],
)
def test_a_plan_that_does_not_slide_forward_on_the_same_grid_is_fetched_whole(
    plan: RangePlan,
) -> None:
    tails = RangeTails(lambda: 0.0, settle_s=0.0)
    first = plan_ending(1000.0)
    tails.keep("q", first, answer_of(first, a=0.0), asked_at=1000.0)
    assert tails.tail("q", plan, now=1000.0) is None


def test_the_whole_range_is_fetched_again_every_full_refetch_period() -> None:
    tails = RangeTails(lambda: 0.0, settle_s=0.0)
    plan = plan_ending(1000.0)
    tails.keep("q", plan, answer_of(plan, a=0.0), asked_at=1000.0)
    for end in np.arange(1010.0, 1000.0 + FULL_REFETCH_S, STEP):
        slid = plan_ending(float(end))
        tail = tails.tail("q", slid, now=float(end))
        assert tail is not None, end
        tails.keep("q", slid, answer_of(tail.plan, a=0.0), asked_at=float(end), tail=tail)
    assert (
        tails.tail("q", plan_ending(1000.0 + FULL_REFETCH_S), now=1000.0 + FULL_REFETCH_S) is None
    )


def test_the_settling_margin_grows_with_the_scrape_interval() -> None:
    tails = RangeTails(lambda: 0.0, settle_s=4 * 60.0)
    first = plan_ending(1000.0)
    tails.keep("q", first, answer_of(first, a=0.0), asked_at=1000.0)
    tail = tails.tail("q", plan_ending(1010.0), now=1010.0)
    assert tail is not None and tail.plan.start == 1000.0 - 240.0


def test_a_tail_splices_onto_the_answer_it_was_planned_from_even_if_a_newer_one_landed() -> None:
    tails = RangeTails(lambda: 0.0, settle_s=0.0)
    first = plan_ending(1000.0)
    tails.keep("q", first, answer_of(first, a=0.0), asked_at=1000.0)
    slow = plan_ending(1010.0)
    slow_tail = tails.tail("q", slow, now=1010.0)
    fast = plan_ending(1100.0)
    fast_tail = tails.tail("q", fast, now=1100.0)
    assert slow_tail is not None and fast_tail is not None
    tails.keep("q", fast, answer_of(fast_tail.plan, a=0.0), asked_at=1100.0, tail=fast_tail)

    whole = tails.keep("q", slow, answer_of(slow_tail.plan, a=0.0), asked_at=1010.0, tail=slow_tail)

    np.testing.assert_array_equal(whole[A].values, slow.timestamps())


def test_answers_are_read_only_and_the_least_recently_used_are_forgotten() -> None:
    tails = RangeTails(lambda: 0.0, settle_s=0.0)
    plan = plan_ending(1000.0)
    whole = tails.keep("q0", plan, answer_of(plan, a=0.0), asked_at=1000.0)
    with pytest.raises(ValueError, match="read-only"):
        whole[A].values[0] = 1.0
    for i in range(1, KEPT_ANSWERS + 1):
        tails.keep(f"q{i}", plan, answer_of(plan, a=0.0), asked_at=1000.0)
    assert tails.tail("q0", plan_ending(1010.0), now=1010.0) is None
    assert tails.tail(f"q{KEPT_ANSWERS}", plan_ending(1010.0), now=1010.0) is not None
