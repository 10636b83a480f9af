"""The audit log: hash chain, tamper detection, append-only store, idempotency, recovery."""

import io
import itertools
import json
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.domain.audit import (
    GENESIS_HASH,
    AuditDraft,
    AuditEntry,
    AuditOutcome,
    TamperKind,
    body_hash,
    canonical_body,
    entry_hash,
    verify_chain,
)
from console.services.audit_log import (
    INTERRUPTED_ERROR,
    AuditFilter,
    AuditLog,
    DuplicateAction,
)


def draft(n: int = 0, **changes: object) -> AuditDraft:
    values: dict[str, object] = {
        "actor": "alice@host (prod/admin)",
        "profile": "prod",
        "action": "rollback",
        "target": f"deployment-{n}",
        "outcome": AuditOutcome.SUCCEEDED,
        "reason": f"reason {n}",
        "before": "v2",
        "after": "v1",
    }
    values.update(changes)
    return AuditDraft(**values)  # type: ignore[arg-type]


def filled(path: Path, count: int) -> AuditLog:
    log = AuditLog(path)
    log.append_many([draft(n) for n in range(count)])
    return log


def tamper(path: Path, *statements: str | tuple[str, tuple[object, ...]]) -> None:
    """Change the file as an attacker with sqlite3 would (triggers dropped first)."""
    db = sqlite3.connect(path)
    with db:
        db.execute("DROP TRIGGER IF EXISTS entries_no_update")
        db.execute("DROP TRIGGER IF EXISTS entries_no_delete")
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            db.execute(sql, params)
    db.close()


def stored_rows(path: Path) -> list[tuple[int, str, str]]:
    """The rows as verification reads them: id, body, hash."""
    db = sqlite3.connect(path)
    rows = db.execute("SELECT id, body, hash FROM entries ORDER BY id").fetchall()
    db.close()
    return rows


def rehashed(entry: AuditEntry, **changes: object) -> tuple[str, tuple[object, ...]]:
    """An UPDATE that rewrites ``entry`` with ``changes`` and a matching hash."""
    values = entry.to_json() | changes
    body = canonical_body(values)
    return "UPDATE entries SET body = ?, hash = ? WHERE id = ?", (
        body,
        body_hash(body),
        entry.id,
    )


# The chain


def test_entries_chain_from_genesis_and_hash_their_canonical_json(tmp_path: Path) -> None:
    log = filled(tmp_path / "a.sqlite3", 3)
    first, second, third = reversed(log.entries())
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert [first.id, second.id, third.id] == [1, 2, 3]
    assert entry_hash(first.to_json()) == first.hash
    assert first.at.endswith("+00:00")
    assert log.verify().intact and log.verify().checked == 3


def test_the_hash_covers_every_field(tmp_path: Path) -> None:
    entry = filled(tmp_path / "a.sqlite3", 1).entries()[0].to_json()
    for name in entry:
        if name in ("hash",):
            continue
        changed = dict(entry)
        changed[name] = "x" if entry[name] != "x" else "y"
        assert entry_hash(changed) != entry["hash"], name


def test_the_store_refuses_update_and_delete(tmp_path: Path) -> None:
    log = filled(tmp_path / "a.sqlite3", 2)
    db = sqlite3.connect(log.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE entries SET body = 'x' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM entries WHERE id = 2")
    db.close()
    assert log.verify().intact


@pytest.mark.parametrize(
    ("statements", "bad_id", "kind"),
    [
        (
            ["UPDATE entries SET body = replace(body, 'reason 3', 'all fine') WHERE id = 4"],
            4,
            TamperKind.EDITED,
        ),
        (
            ["UPDATE entries SET body = replace(body, 'succeeded', 'failed') WHERE id = 1"],
            1,
            TamperKind.EDITED,
        ),
        (["DELETE FROM entries WHERE id = 5"], 5, TamperKind.DELETED),
        (["DELETE FROM entries WHERE id IN (3, 4)"], 3, TamperKind.DELETED),
        (["DELETE FROM entries WHERE id <= 2"], 1, TamperKind.TRUNCATED),
        (["DELETE FROM entries WHERE id >= 7"], 7, TamperKind.TRUNCATED),
        (["DELETE FROM entries WHERE id = 8"], 8, TamperKind.TRUNCATED),
        (["DELETE FROM entries"], 1, TamperKind.TRUNCATED),
    ],
)
def test_tampering_is_detected_and_named(
    tmp_path: Path, statements: list[str], bad_id: int, kind: TamperKind
) -> None:
    log = filled(tmp_path / "a.sqlite3", 8)
    tamper(log.path, *statements)
    report = log.verify()
    assert not report.intact
    assert (report.bad_id, report.kind) == (bad_id, kind), str(report)
    assert f"entry {bad_id}" in str(report)


def test_swapped_entries_are_reported_as_reordered(tmp_path: Path) -> None:
    log = filled(tmp_path / "a.sqlite3", 6)
    db = sqlite3.connect(log.path)
    cursor = db.execute("SELECT * FROM entries WHERE id IN (3, 4) ORDER BY id")
    names = [column[0] for column in cursor.description]
    third, fourth = (dict(zip(names, row, strict=True)) for row in cursor.fetchall())
    db.close()
    columns = [name for name in names if name != "id"]
    sets = ", ".join(f"{c} = ?" for c in columns)
    tamper(
        log.path,
        (f"UPDATE entries SET {sets} WHERE id = 3", tuple(fourth[c] for c in columns)),
        (f"UPDATE entries SET {sets} WHERE id = 4", tuple(third[c] for c in columns)),
    )
    report = log.verify()
    assert (report.bad_id, report.kind) == (3, TamperKind.REORDERED), str(report)


def test_an_edit_with_a_recomputed_hash_is_caught_by_the_next_link(tmp_path: Path) -> None:
    log = filled(tmp_path / "a.sqlite3", 5)
    entry = log.get(2)
    assert entry is not None
    tamper(log.path, rehashed(entry, reason="forged"))
    report = log.verify()
    assert (report.bad_id, report.kind) == (2, TamperKind.EDITED), str(report)


def test_a_rewritten_last_entry_is_caught_by_the_anchor(tmp_path: Path) -> None:
    log = filled(tmp_path / "a.sqlite3", 3)
    entry = log.get(3)
    assert entry is not None
    tamper(log.path, rehashed(entry, reason="forged"))
    report = log.verify()
    assert (report.bad_id, report.kind) == (3, TamperKind.EDITED), str(report)


def test_a_renumbered_entry_is_reported(tmp_path: Path) -> None:
    log = filled(tmp_path / "a.sqlite3", 4)
    tamper(log.path, "UPDATE entries SET id = 9 WHERE id = 2")
    report = log.verify()
    assert (report.bad_id, report.kind) == (2, TamperKind.DELETED)
    tamper(
        log.path, "UPDATE entries SET id = 2 WHERE id = 9", "UPDATE entries SET id = 5 WHERE id = 4"
    )
    report = log.verify()
    assert (report.bad_id, report.kind) == (4, TamperKind.DELETED)


_FILES = itertools.count()
_TAMPERS: dict[str, Callable[[int], str]] = {
    "edit": lambda i: f"UPDATE entries SET body = replace(body, 'v2', 'v3') WHERE id = {i}",
    "edit_hash": lambda i: f"UPDATE entries SET hash = upper(hash) WHERE id = {i}",
    "edit_time": lambda i: (
        f'UPDATE entries SET body = replace(body, \'"at":"2\', \'"at":"1\') WHERE id = {i}'
    ),
    "delete": lambda i: f"DELETE FROM entries WHERE id = {i}",
    "truncate": lambda i: f"DELETE FROM entries WHERE id >= {i}",
    "cut_head": lambda i: f"DELETE FROM entries WHERE id <= {i}",
    "renumber": lambda i: f"UPDATE entries SET id = id + 1000 WHERE id = {i}",
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    count=st.integers(min_value=1, max_value=12),
    data=st.data(),
)
def test_every_tampering_is_detected(tmp_path: Path, count: int, data: st.DataObject) -> None:
    path = tmp_path / f"h{next(_FILES)}.sqlite3"
    log = filled(path, count)
    name = data.draw(st.sampled_from(sorted(_TAMPERS)))
    index = data.draw(st.integers(min_value=1, max_value=count))
    if name == "renumber" and index == count:
        index = max(1, count - 1)  # renumbering the last entry forward keeps it last
        if count == 1:
            name = "edit"
    tamper(log.path, _TAMPERS[name](index))
    assert not log.verify().intact, (name, index, count)


def test_verify_chain_is_pure_and_reports_how_many_were_checked(tmp_path: Path) -> None:
    log = filled(tmp_path / "a.sqlite3", 4)
    rows = stored_rows(log.path)
    assert verify_chain(rows).checked == 4
    rows[2] = (rows[2][0], rows[2][1].replace("reason", "Reason"), rows[2][2])
    report = verify_chain(rows)
    assert (report.checked, report.bad_id) == (2, 3)


def test_any_text_verifies_and_filters(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.sqlite3")
    odd = 'q"uote \\ back\nline\ttab \x01\x1f\x7f é 中文 😀 \u2028 ,"id":9,'
    log.append(draft(profile=odd, action=odd, idempotency_key=odd, reason=odd))
    log.append(draft(action_id=odd))
    assert log.verify().intact
    assert [e.id for e in log.entries(AuditFilter(profile=odd))] == [1]
    assert [e.id for e in log.entries(AuditFilter(action_id=odd))] == [2]
    assert [e.id for e in log.entries(AuditFilter(search="中文"))] == [1]


# The store


def test_filters_search_and_since(tmp_path: Path) -> None:
    now = [1_000_000.0]
    log = AuditLog(tmp_path / "a.sqlite3", clock=lambda: now[0])
    log.append(draft(1, reason="latency spike"))
    now[0] += 100
    log.append(draft(2, action="failover", outcome=AuditOutcome.DENIED))
    now[0] += 100
    log.append(draft(3, profile="staging", reason="100%_sure"))
    assert [e.target for e in log.entries()] == ["deployment-3", "deployment-2", "deployment-1"]
    assert [e.id for e in log.entries(AuditFilter(search="LATENCY"))] == [1]
    assert [e.id for e in log.entries(AuditFilter(search="%_"))] == [3]
    assert [e.id for e in log.entries(AuditFilter(action="failover"))] == [2]
    assert [e.id for e in log.entries(AuditFilter(outcome=AuditOutcome.DENIED))] == [2]
    assert [e.id for e in log.entries(AuditFilter(profile="staging"))] == [3]
    assert [e.id for e in log.entries(AuditFilter(since=1_000_100.0))] == [3, 2]
    assert [e.id for e in log.entries(limit=1)] == [3]


def test_export_jsonl_round_trips(tmp_path: Path) -> None:
    now = [1_000_000.0]
    log = AuditLog(tmp_path / "a.sqlite3", clock=lambda: now[0])
    for n in range(3):
        log.append(draft(n, reason=f'quote " and newline\n {n}'))
        now[0] += 60
    out = io.StringIO()
    assert log.export_jsonl(out, since=1_000_060.0) == 2
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    exported = [AuditEntry.from_json(json.loads(line)) for line in lines]
    assert exported == list(reversed(log.entries()))[1:]


def test_start_refuses_a_duplicate_key_until_the_first_failed(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.sqlite3")
    first = log.start(draft(idempotency_key="k"))
    assert first.outcome is AuditOutcome.STARTED and first.action_id
    with pytest.raises(DuplicateAction, match="still in progress") as caught:
        log.start(draft(idempotency_key="k"))
    assert caught.value.started == first
    log.finish(first, AuditOutcome.FAILED, error="refused")
    second = log.start(draft(idempotency_key="k"))
    log.finish(second, AuditOutcome.SUCCEEDED)
    with pytest.raises(DuplicateAction, match="succeeded"):
        log.start(draft(idempotency_key="k"))
    assert log.start(draft(idempotency_key="other")).id == 5


def test_the_idempotency_window_expires(tmp_path: Path) -> None:
    now = [1_000_000.0]
    log = AuditLog(tmp_path / "a.sqlite3", clock=lambda: now[0])
    log.finish(log.start(draft(idempotency_key="k")), AuditOutcome.SUCCEEDED)
    now[0] += 901.0
    assert log.start(draft(idempotency_key="k"), window_s=900.0).outcome is AuditOutcome.STARTED


def test_an_abandoned_action_is_closed_as_unknown_on_open(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    log = AuditLog(path)
    started = log.start(draft(idempotency_key="k"))
    live = log.start(draft(2))
    log.close()
    # open_actions names the process running each action; make the first one's dead.
    db = sqlite3.connect(path)
    with db:
        dead = f"{socket.gethostname()}|999999999|0"
        db.execute(
            "UPDATE open_actions SET owner = ? WHERE action_id = ?", (dead, started.action_id)
        )
    db.close()
    reopened = AuditLog(path)
    assert [e.action_id for e in reopened.recovered] == [started.action_id]
    closing = reopened.closing_entry(started.action_id or "")
    assert closing is not None and closing.outcome is AuditOutcome.UNKNOWN
    assert closing.error == INTERRUPTED_ERROR
    assert reopened.closing_entry(live.action_id or "") is None  # its process (us) is alive
    assert reopened.verify().intact
    assert AuditLog(path).recovered == ()


def test_listeners_see_each_appended_entry(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.sqlite3")
    seen: list[int] = []
    unsubscribe = log.subscribe(lambda entry: seen.append(entry.id))
    log.append(draft())
    log.append_many([draft(), draft()])
    unsubscribe()
    log.append(draft())
    assert seen == [1, 2, 3]


def test_a_damaged_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(Exception, match=str(path)):
        AuditLog(path)
