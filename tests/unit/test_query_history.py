"""The Explore history file: order, duplicates, cap, atomic writes, corrupt files kept aside."""

import json
import threading
from pathlib import Path

import pytest

from console.config.query_history import (
    HistoryError,
    QueryHistory,
    history_file,
    remember,
)
from tests.conftest import ConsoleDirs


def test_newest_first_and_a_repeat_moves_to_the_top() -> None:
    entries = remember(remember(remember((), "a"), "b"), "a")
    assert entries == ("a", "b")


def test_capped_and_blank_queries_ignored() -> None:
    entries: tuple[str, ...] = ()
    for i in range(10):
        entries = remember(entries, f"q{i}", limit=3)
    assert entries == ("q9", "q8", "q7")
    assert remember(entries, "   ", limit=3) == entries
    assert remember((), "  up  ") == ("up",)


def test_saved_and_loaded_again(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    history = QueryHistory(path)
    history.add("up")
    history.add("rate(x[5m])")
    history.save()
    assert QueryHistory(path).load() == ("rate(x[5m])", "up")
    assert json.loads(path.read_text())["schema_version"] == 1


def test_a_missing_file_is_an_empty_history(tmp_path: Path) -> None:
    assert QueryHistory(tmp_path / "none.json").load() == ()


def test_queries_added_before_the_load_stay_on_top(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    first = QueryHistory(path)
    first.add("old")
    first.save()
    second = QueryHistory(path)
    second.add("new")
    assert second.load() == ("new", "old")


def test_a_save_before_the_load_keeps_the_history_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    first = QueryHistory(path)
    first.add("old")
    first.save()
    second = QueryHistory(path)
    second.add("new")
    second.save()
    assert QueryHistory(path).load() == ("new", "old")


def test_the_cap_applies_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    history = QueryHistory(path, limit=5)
    for i in range(8):
        history.add(f"q{i}")
    history.save()
    assert QueryHistory(path, limit=50).load() == ("q7", "q6", "q5", "q4", "q3")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ('["up"]', 'is not a JSON object with a "queries" list'),
        ('{"schema_version": 1, "queries": [1]}', "is not a string"),
        ('{"schema_version": 9, "queries": []}', "schema_version 9"),
    ],
)
def test_a_corrupt_file_is_named_moved_aside_and_never_overwritten(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "h.json"
    path.write_text(content)
    history = QueryHistory(path)
    with pytest.raises(HistoryError, match=problem) as raised:
        history.load()
    assert str(path) in str(raised.value)
    bad = path.with_name("h.json.bad")
    assert bad.read_text() == content
    assert str(bad) in str(raised.value)
    history.add("up")
    history.save()
    assert QueryHistory(path).load() == ("up",)
    assert bad.read_text() == content


def test_an_earlier_bad_file_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.with_name("h.json.bad").write_text("first")
    path.write_text("second")
    with pytest.raises(HistoryError, match=r"h\.json\.bad\.2"):
        QueryHistory(path).load()
    assert path.with_name("h.json.bad").read_text() == "first"
    assert path.with_name("h.json.bad.2").read_text() == "second"


def test_a_corrupt_file_found_by_a_first_save_is_reported_after_saving(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text("{")
    history = QueryHistory(path)
    history.add("up")
    with pytest.raises(HistoryError, match="is not valid JSON"):
        history.save()
    assert QueryHistory(path).load() == ("up",)


def test_saving_fails_with_the_file_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    history = QueryHistory(blocker / "h.json")
    history.add("up")
    with pytest.raises(HistoryError, match="history not saved"):
        history.save()


def test_concurrent_saves_leave_the_latest_entries(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    history = QueryHistory(path)
    history.load()

    def add_and_save(i: int) -> None:
        history.add(f"q{i}")
        history.save()

    threads = [threading.Thread(target=add_and_save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(QueryHistory(path).load()) == {f"q{i}" for i in range(8)}
    assert not list(tmp_path.glob(".*.tmp"))


def test_one_file_per_profile_in_the_data_dir(console_dirs: ConsoleDirs) -> None:
    assert history_file("prod").parent == console_dirs.data / "explore-history"
    assert history_file("a/b").name == "a%2Fb.json"
    assert history_file("prod") != history_file("staging")
