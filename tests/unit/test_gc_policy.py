"""The gc policy of suite reads and runs: pauses nest across threads and restore the collector."""

import gc
import threading
from collections.abc import Iterator

import pytest

from console.services.gc_policy import defer_full_collections, no_collection, no_full_collection
from console.services.suite_loader import parse_suite
from tests.support.suites import many_cases


@pytest.fixture(autouse=True)
def collector() -> Iterator[None]:
    """Each test starts with the collector on and its usual thresholds, and leaves it so."""
    threshold = gc.get_threshold()
    gc.enable()
    yield
    assert gc.isenabled() and gc.get_threshold() == threshold


def test_no_collection_holds_until_the_last_nested_pause_ends() -> None:
    with no_collection():
        assert not gc.isenabled()
        with no_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with no_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_full_collections_wait_until_every_run_has_ended_young_ones_go_on() -> None:
    young, middle, old = gc.get_threshold()
    first = defer_full_collections()
    inside: list[tuple[int, int, int]] = []

    def other_run() -> None:
        with no_full_collection():
            inside.append(gc.get_threshold())

    thread = threading.Thread(target=other_run)
    thread.start()
    thread.join()
    assert inside[0][:2] == (young, middle) and inside[0][2] > 1_000_000
    assert gc.get_threshold()[2] > 1_000_000  # the first hold is still on
    first()
    assert gc.get_threshold() == (young, middle, old)


def test_allowing_full_collections_twice_does_not_end_another_hold() -> None:
    old = gc.get_threshold()[2]
    allow = defer_full_collections()
    with no_full_collection():
        allow()
        allow()
        assert gc.get_threshold()[2] > 1_000_000
    assert gc.get_threshold()[2] == old


def test_reading_a_big_suite_leaves_no_yaml_nodes_for_a_collection_to_walk() -> None:
    walked: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] < 2:
            walked.append(sum(len(gc.get_objects(g)) for g in range(info["generation"] + 1)))

    text = many_cases(1000)
    gc.collect()
    gc.callbacks.append(count)
    try:
        suite = parse_suite(text)
        gc.collect(1)
    finally:
        gc.callbacks.remove(count)
    assert len(suite.cases) == 1000
    # The suite itself is some 5,000 objects; its ~60,000 YAML nodes must be gone by then.
    assert walked and max(walked) < 20_000
