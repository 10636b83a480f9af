"""RefreshPlanner: coalescing, one request per key, supersede, spread, visibility, back-off."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.services.refresh import (
    BACKOFF_CAP_S,
    Launch,
    Outcome,
    RefreshPlanner,
    backoff_s,
    phase_fraction,
    result_digest,
)

T = 5.0


def launched_keys(launches: list[Launch]) -> list[object]:
    return [launch.key for launch in launches]


def simulate(
    planner: RefreshPlanner, start: float, until: float, latency_s: float = 0.05
) -> list[tuple[float, object]]:
    """Drive the planner like the engine: launch what is due, finish it ``latency_s`` later."""
    now = start
    launches: list[tuple[float, object]] = []
    running: list[tuple[float, int]] = []
    while now < until:
        for launch in planner.take_due(now):
            launches.append((now, launch.key))
            running.append((now + latency_s, launch.request))
        due = planner.next_due()
        times = [end for end, _ in running] + ([due] if due is not None else [])
        now = max(now, min(times))
        for end, request in [r for r in running if r[0] <= now]:
            running.remove((end, request))
            planner.finished(request, Outcome.OK, now=now)
    return launches


def test_equal_keys_share_one_request_and_both_panels_get_the_result() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", ("d1", "rate"), visible=True, now=0.0)
    planner.add("b", ("d1", "rate"), visible=True, now=0.0)
    planner.add("c", ("d2", "rate"), visible=True, now=0.0)

    launches = planner.take_due(0.0)

    assert sorted(launched_keys(launches)) == [("d1", "rate"), ("d2", "rate")]
    shared = next(x for x in launches if x.key == ("d1", "rate"))
    assert planner.finished(shared.request, Outcome.OK, now=0.1) == ("a", "b")


def test_a_key_in_flight_is_not_launched_again_even_when_asked_to_refresh_now() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    (first,) = planner.take_due(0.0)

    planner.request_all(20.0)
    assert planner.take_due(20.0) == []
    assert planner.in_flight("k")
    assert planner.next_due() is None

    planner.finished(first.request, Outcome.OK, now=20.5)
    # The answer in flight may predate the ask: it launches again at once, paused or not.
    assert planner.next_due() == 20.5
    assert launched_keys(planner.take_due(20.5)) == ["k"]


def test_a_refresh_asked_while_paused_and_in_flight_still_runs_after_it() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    (first,) = planner.take_due(0.0)
    planner.set_paused(True, now=1.0)
    planner.request_all(1.0)
    planner.finished(first.request, Outcome.OK, now=1.5)
    (again,) = planner.take_due(1.5)
    planner.finished(again.request, Outcome.OK, now=2.0)
    assert planner.next_due() is None  # paused: nothing more until asked or resumed


def test_a_panel_joining_a_key_in_flight_waits_for_that_request() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    (request,) = planner.take_due(0.0)
    planner.add("b", "k", visible=True, now=0.1)

    assert planner.take_due(0.1) == []
    assert planner.finished(request.request, Outcome.OK, now=0.2) == ("a", "b")


def test_a_superseded_request_nobody_else_waits_for_is_cancelled_and_its_result_dropped() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "last 1h", visible=True, now=0.0)
    (old,) = planner.take_due(0.0)

    assert planner.set_key("a", "last 6h", now=0.5) == [old.request]
    (new,) = planner.take_due(0.5)

    assert new.key == "last 6h"
    assert planner.finished(old.request, Outcome.OK, now=0.6) == ()
    assert planner.finished(new.request, Outcome.OK, now=0.7) == ("a",)


def test_a_superseded_request_shared_with_another_panel_runs_on_for_that_panel_only() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "last 1h", visible=True, now=0.0)
    planner.add("b", "last 1h", visible=True, now=0.0)
    (old,) = planner.take_due(0.0)

    assert planner.set_key("a", "last 6h", now=0.5) == []
    assert launched_keys(planner.take_due(0.5)) == ["last 6h"]
    assert planner.finished(old.request, Outcome.OK, now=0.6) == ("b",)


def test_setting_the_same_key_changes_nothing() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    (request,) = planner.take_due(0.0)

    assert planner.set_key("a", "k", now=1.0) == []
    assert planner.take_due(1.0) == []
    assert planner.finished(request.request, Outcome.OK, now=1.1) == ("a",)


def test_removing_the_last_panel_of_a_key_cancels_its_request() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    (request,) = planner.take_due(0.0)

    assert planner.remove("a") == [request.request]
    assert planner.finished(request.request, Outcome.OK, now=0.1) == ()
    assert planner.next_due() is None
    assert not planner.has_panel("a")


def test_fifty_panels_load_at_once_then_spread_evenly_over_the_interval() -> None:
    planner = RefreshPlanner(T, max_in_flight=50)
    for i in range(50):
        planner.add(f"p{i}", ("deployment", i), visible=True, now=0.0)

    launches = simulate(planner, 0.0, 10 * T)

    first_round = [t for t, _ in launches if t == 0.0]
    later = sorted(t for t, _ in launches if t > 0.0)
    assert len(first_round) == 50  # the user is waiting for every panel
    window = T / 50
    busiest = max(sum(1 for u in later if t <= u < t + window) for t in later)
    assert busiest <= 2
    # Each key keeps its own rhythm: one launch per interval once the first round is over.
    for i in range(50):
        times = [t for t, key in launches if key == ("deployment", i)]
        gaps = np.diff(times[1:])
        assert np.allclose(gaps, T), (i, times)


def test_no_more_than_the_maximum_run_at_once_and_the_most_overdue_go_first() -> None:
    planner = RefreshPlanner(T, max_in_flight=3)
    for i in range(5):
        planner.add(f"p{i}", i, visible=True, now=float(i))

    first = planner.take_due(10.0)
    assert launched_keys(first) == [0, 1, 2]
    assert planner.next_due() is None  # full: the next request to end frees a place
    assert planner.take_due(10.0) == []

    planner.finished(first[1].request, Outcome.OK, now=10.5)
    assert planner.next_due() == 3.0
    assert launched_keys(planner.take_due(10.5)) == [3]


def test_with_the_default_maximum_fifty_panels_still_spread_after_loading() -> None:
    planner = RefreshPlanner(T)
    for i in range(50):
        planner.add(f"p{i}", ("deployment", i), visible=True, now=0.0)

    launches = simulate(planner, 0.0, 10 * T)

    first_seen: dict[object, float] = {}
    for t, key in launches:
        first_seen.setdefault(key, t)
    assert len(first_seen) == 50 and max(first_seen.values()) < 1.0
    loaded = max(first_seen.values())
    later = sorted(t for t, _ in launches if t > 2 * T)
    busiest = max(sum(1 for u in later if t <= u < t + T / 50) for t in later)
    assert busiest <= 2 and loaded < T


def test_keys_of_one_phase_group_refresh_in_the_same_tick_and_groups_spread() -> None:
    planner = RefreshPlanner(T)
    for signal in range(5):
        for deployment in range(10):
            planner.add(
                f"d{deployment}/s{signal}",
                (deployment, signal),
                visible=True,
                now=0.0,
                group=("signal", signal),
            )

    launches = simulate(planner, 0.0, 10 * T, latency_s=0.01)

    later = [(t, key) for t, key in launches if t > 2 * T]
    ticks_of = {signal: {t for t, key in later if key[1] == signal} for signal in range(5)}
    for signal, ticks in ticks_of.items():
        # Every launch of a signal falls within the 10 ms the maximum of 8 in flight allows.
        cycles = sorted(ticks)
        clusters = [t for i, t in enumerate(cycles) if i == 0 or t - cycles[i - 1] > 0.5]
        assert len(clusters) == len({math.floor(t / T) for t in cycles}), (signal, cycles)
    phases = sorted(min(ticks) % T for ticks in ticks_of.values())
    assert min(np.diff(phases)) >= T / 10  # five groups, spread over the interval


def test_a_new_key_joins_the_phase_of_its_group_after_its_first_load() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k0", visible=True, now=0.0, group="g")
    planner.add("b", "other", visible=True, now=0.0)
    for launch in planner.take_due(0.0):
        planner.finished(launch.request, Outcome.OK, now=0.0)
    planner.add("c", "k1", visible=True, now=1.0, group="g")
    (first,) = planner.take_due(1.0)
    assert first.key == "k1"  # loads at once
    planner.finished(first.request, Outcome.OK, now=1.0)

    due = {t: launched_keys(planner.take_due(t)) for t in (T / 2, T)}

    assert due == {T / 2: ["other"], T: ["k0", "k1"]}


@given(st.integers(min_value=1, max_value=300))
def test_the_first_n_phase_slots_are_never_closer_than_half_of_one_nth(n: int) -> None:
    phases = sorted(phase_fraction(slot) for slot in range(n))
    gaps = np.diff([*phases, phases[0] + 1.0])
    assert all(0.0 <= p < 1.0 for p in phases)
    assert gaps.min() >= 1 / (2 * n) - 1e-12


def test_a_removed_key_frees_its_slot_for_the_next_one() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k0", visible=True, now=0.0)
    planner.add("b", "k1", visible=True, now=0.0)
    for launch in planner.take_due(0.0):
        planner.finished(launch.request, Outcome.OK, now=0.0)
    k1_due = planner.next_due()
    assert k1_due == T / 2
    planner.remove("b")
    planner.add("c", "k2", visible=True, now=1.0)
    (first,) = planner.take_due(1.0)
    planner.finished(first.request, Outcome.OK, now=1.0)

    planner.remove("a")
    assert planner.next_due() == T + T / 2  # k2 took slot 1 (phase T/2), after 1.0 + T/2


def test_hidden_panels_do_not_refresh() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=False, now=0.0)

    assert planner.take_due(100.0) == []
    assert planner.next_due() is None


def test_one_visible_panel_keeps_a_shared_key_refreshing() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    planner.add("b", "k", visible=True, now=0.0)
    planner.set_visible("a", False, now=0.0)

    assert launched_keys(planner.take_due(0.0)) == ["k"]


def test_a_panel_shown_again_with_old_data_refreshes_at_once() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    (request,) = planner.take_due(0.0)
    planner.finished(request.request, Outcome.OK, now=0.1)
    planner.set_visible("a", False, now=1.0)
    assert planner.take_due(60.0) == []

    planner.set_visible("a", True, now=60.0)

    due = planner.next_due()
    assert due is not None and due <= 60.0
    assert launched_keys(planner.take_due(60.0)) == ["k"]


def test_a_panel_shown_again_with_fresh_data_waits_for_its_phase() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    (request,) = planner.take_due(0.0)
    planner.finished(request.request, Outcome.OK, now=0.1)
    planner.set_visible("a", False, now=1.0)

    planner.set_visible("a", True, now=2.0)

    assert planner.take_due(2.0) == []
    assert planner.next_due() == T  # slot 0: phase 0, at least half an interval after launch


def test_a_new_panel_becoming_visible_for_the_first_time_loads_at_once() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=False, now=0.0)

    planner.set_visible("a", True, now=3.0)

    assert launched_keys(planner.take_due(3.0)) == ["k"]


def test_backoff_doubles_from_the_interval_up_to_the_cap() -> None:
    waits = [backoff_s(n, T) for n in range(0, 10)]
    assert waits == [0.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0]
    assert backoff_s(10_000, T) == BACKOFF_CAP_S


def test_an_open_circuit_backs_off_exponentially_and_a_success_recovers() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    now = 0.0
    gaps = []
    for _ in range(8):
        (request,) = planner.take_due(now)
        assert planner.finished(request.request, Outcome.CIRCUIT_OPEN, now=now) == ("a",)
        due = planner.next_due()
        assert due is not None
        assert planner.take_due(due - 0.001) == []
        gaps.append(due - now)
        now = due
    # Slot 0 sits at phase 0, so each wait is the back-off rounded up to the next interval.
    assert gaps == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]

    (request,) = planner.take_due(now)
    planner.finished(request.request, Outcome.OK, now=now)
    assert planner.next_due() == now + T


def test_showing_a_panel_does_not_cut_its_back_off_short() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    for now in (0.0, 5.0, 15.0):
        (request,) = planner.take_due(now)
        planner.finished(request.request, Outcome.CIRCUIT_OPEN, now=now)
    planner.set_visible("a", False, now=16.0)

    planner.set_visible("a", True, now=30.0)

    assert planner.take_due(30.0) == []
    assert planner.next_due() == 35.0


def test_other_failures_keep_the_normal_rhythm() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    (request,) = planner.take_due(0.0)
    planner.finished(request.request, Outcome.FAILED, now=0.1)
    assert planner.next_due() == T


def test_paused_planner_launches_nothing_and_resumes_with_old_data_due_now() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    (request,) = planner.take_due(0.0)
    planner.finished(request.request, Outcome.OK, now=0.1)

    planner.set_paused(True, now=1.0)
    assert planner.paused
    assert planner.next_due() is None
    assert planner.take_due(100.0) == []

    planner.set_paused(False, now=100.0)
    assert launched_keys(planner.take_due(100.0)) == ["k"]


def test_asking_while_paused_launches_each_visible_key_once() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    planner.add("b", "hidden", visible=False, now=0.0)
    planner.set_paused(True, now=0.0)

    planner.request_all(1.0)

    due = planner.next_due()
    assert due is not None and due <= 1.0
    assert launched_keys(planner.take_due(1.0)) == ["k"]
    assert planner.next_due() is None  # asked once, not resumed


def test_a_new_interval_moves_the_next_runs_onto_the_new_grid() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k0", visible=True, now=0.0)
    planner.add("b", "k1", visible=True, now=0.0)
    for launch in planner.take_due(0.0):
        planner.finished(launch.request, Outcome.OK, now=0.0)
    assert planner.next_due() == 2.5  # slot 1: phase T/2

    planner.set_interval(15.0, now=1.0)

    assert planner.interval_s == 15.0
    assert planner.next_due() == 7.5  # slot 1 at phase 7.5, half the new interval after launch
    planner.remove("b")
    assert planner.next_due() == 15.0  # slot 0 at phase 0


def test_cancel_all_drops_every_request_in_flight() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k0", visible=True, now=0.0)
    planner.add("b", "k1", visible=True, now=0.0)
    launches = planner.take_due(0.0)

    assert sorted(planner.cancel_all()) == sorted(x.request for x in launches)
    assert all(planner.finished(x.request, Outcome.OK, now=1.0) == () for x in launches)


def test_bad_arguments_are_refused() -> None:
    planner = RefreshPlanner(T)
    planner.add("a", "k", visible=True, now=0.0)
    with pytest.raises(ValueError, match="already refreshed"):
        planner.add("a", "k2", visible=True, now=0.0)
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="positive"):
            RefreshPlanner(bad)


def test_the_digest_is_equal_for_equal_data_and_differs_on_any_change() -> None:
    def lines(last: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {"v1": (np.arange(4.0), np.array([1.0, np.nan, 3.0, last]))}

    assert result_digest(lines(4.0)) == result_digest(lines(4.0))
    assert result_digest(lines(4.0)) != result_digest(lines(4.5))
    assert result_digest({"v1": 1}) != result_digest({"v2": 1})
    assert result_digest(lambda: None) is None
