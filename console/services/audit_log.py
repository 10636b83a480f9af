"""The audit log: an append-only, hash-chained SQLite file in the data dir. No Qt.

``audit.sqlite3`` (WAL, ``synchronous=FULL``: a committed entry survives a power cut) holds
one row per entry: its position (``id``), its hashed body (the canonical JSON entries are
read back from) and its hash. Queries filter on the body's fields with SQLite's JSON
functions (expression indexes make the frequent ones fast), so nothing outside the hashed
body can disagree with it. Triggers refuse UPDATE and DELETE, and every append runs in one
``BEGIN IMMEDIATE`` transaction, so concurrent processes chain their entries in turn.
After each commit the newest id and hash are written atomically to ``audit.sqlite3.head``,
the anchor that makes a truncated tail detectable.

An action writes a STARTED entry before it acts and a closing entry (same ``action_id``)
when it ends; meanwhile the small ``open_actions`` table (not part of the chain) names the
process that runs it. A process killed in between leaves its action open: the next open by
any process appends the closing entry with outcome UNKNOWN (the owner process no longer
exists), so the chain stays consistent and the last word on that action is "unknown".

Idempotency: :meth:`AuditLog.start` refuses a second STARTED entry for the same
idempotency key within the window while the first is in progress, succeeded or unknown
(:class:`DuplicateAction`), inside the same transaction, so two processes cannot both act.
"""

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from console.config.atomic import atomic_write_text
from console.config.paths import data_dir
from console.domain.audit import (
    GENESIS_HASH,
    AuditDraft,
    AuditEntry,
    AuditOutcome,
    ChainHead,
    ChainReport,
    entry_from_body,
    seal,
    verify_chain,
)
from console.services.process_owner import owner_alive, owner_token

DB_FILE = "audit.sqlite3"
HEAD_SUFFIX = ".head"
SCHEMA_VERSION = 2
DEFAULT_IDEMPOTENCY_WINDOW_S = 15 * 60.0
INTERRUPTED_ERROR = (
    "the console process ended during the action (killed or crashed) before it recorded "
    "the result; whether the change happened is not known: verify by hand"
)
_BUSY_TIMEOUT_MS = 10_000
_SEARCHED = ("actor", "target", "reason", "before", "after", "error", "pre_check", "post_check")
_BLOCKING = (AuditOutcome.STARTED, AuditOutcome.SUCCEEDED, AuditOutcome.UNKNOWN)
_STARTED = AuditOutcome.STARTED.value


def _field(name: str) -> str:
    """The SQL expression of a body field (the same text the expression indexes use)."""
    return f"json_extract(body, '$.{name}')"


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_key ON entries ({_field("idempotency_key")}, id);
CREATE INDEX IF NOT EXISTS entries_by_action ON entries ({_field("action_id")}, id);
CREATE INDEX IF NOT EXISTS entries_by_at ON entries ({_field("at")});
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS open_actions (
    action_id TEXT PRIMARY KEY,
    entry_id INTEGER NOT NULL,
    owner TEXT NOT NULL
);
"""

Listener = Callable[[AuditEntry], None]


class AuditError(Exception):
    """The audit log cannot be opened, read or written; names the file."""


class DuplicateAction(Exception):
    """An action with this idempotency key already ran (or runs) within the window."""

    def __init__(self, started: AuditEntry, closing: AuditEntry | None) -> None:
        state = closing.outcome.value if closing else "still in progress"
        super().__init__(
            f"the same action already ran as audit entry {started.id} ({state}); it is not repeated"
        )
        self.started = started
        self.closing = closing


@dataclass(frozen=True)
class AuditFilter:
    """Which entries :meth:`AuditLog.entries` returns (None: any)."""

    profile: str | None = None
    action: str | None = None
    outcome: AuditOutcome | None = None
    action_id: str | None = None
    search: str | None = None
    """Case-insensitive (ASCII) substring of actor, target, reason, versions, checks or error."""
    since: float | None = None
    """Unix seconds: entries at or after it."""


def utc_iso(timestamp: float) -> str:
    """The entry timestamp format: ISO-8601 UTC with microseconds."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")


class AuditLog:
    """The audit log in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path | None = None, *, clock: Callable[[], float] = time.time):
        self.path = path if path is not None else data_dir() / DB_FILE
        self.head_path = self.path.with_name(self.path.name + HEAD_SUFFIX)
        self._clock = clock
        self._owner = owner_token()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._setup()
        except (OSError, sqlite3.Error) as exc:
            raise AuditError(f"cannot open the audit log {self.path}: {exc}") from None
        self.recovered = self._close_abandoned()
        """The UNKNOWN entries this open appended for actions whose process died."""

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every entry this object appends; returns the unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    # Writing

    def append(self, draft: AuditDraft) -> AuditEntry:
        """Append one entry (a one-off event, or an action's closing entry)."""
        return self.append_many([draft])[0]

    def append_many(self, drafts: Sequence[AuditDraft]) -> list[AuditEntry]:
        """Append entries in one transaction (imports and benchmarks)."""
        entries = self._write(lambda: [self._insert(draft) for draft in drafts])
        self._notify(entries)
        return entries

    def start(
        self,
        draft: AuditDraft,
        *,
        window_s: float = DEFAULT_IDEMPOTENCY_WINDOW_S,
    ) -> AuditEntry:
        """Append an action's STARTED entry; DuplicateAction when its key already ran.

        A new ``action_id`` is assigned when the draft has none.
        """
        draft = replace(
            draft, outcome=AuditOutcome.STARTED, action_id=draft.action_id or uuid.uuid4().hex
        )

        def work() -> list[AuditEntry]:
            if draft.idempotency_key is not None:
                self._refuse_duplicate(draft.idempotency_key, window_s)
            return [self._insert(draft)]

        entries = self._write(work)
        self._notify(entries)
        return entries[0]

    def finish(self, started: AuditEntry, outcome: AuditOutcome, **changes: Any) -> AuditEntry:
        """Append the closing entry of the action ``started`` began.

        ``changes`` sets other fields of the closing entry (``after``, ``post_check``,
        ``error``…); the rest are the STARTED entry's.
        """
        if outcome is AuditOutcome.STARTED:
            raise ValueError("an action closes with its outcome, not 'started'")
        return self.append(replace(_draft_of(started), outcome=outcome, **changes))

    # Reading

    def entries(
        self, where: AuditFilter = AuditFilter(), *, limit: int | None = None
    ) -> list[AuditEntry]:
        """Matching entries, newest first."""
        clauses, params = _clauses(where)
        sql = f"SELECT body, hash FROM entries {clauses} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._read(sql, params)

    def get(self, entry_id: int) -> AuditEntry | None:
        """The entry with this id, if any."""
        found = self._read("SELECT body, hash FROM entries WHERE id = ?", [entry_id])
        return found[0] if found else None

    def closing_entry(self, action_id: str) -> AuditEntry | None:
        """The entry that closed the action ``action_id`` (None: none yet)."""
        with self._lock:
            return self._closing(action_id)

    def verify(self) -> ChainReport:
        """Walk the whole chain and the head anchor; the first bad entry and why."""
        with self._lock:
            rows = self._db.execute("SELECT id, body, hash FROM entries ORDER BY id").fetchall()
        return verify_chain(rows, _head(self.head_path))

    def export_jsonl(self, out: TextIO, *, since: float | None = None) -> int:
        """Write entries (oldest first) as JSON lines to ``out``; how many were written."""
        clauses, params = _clauses(AuditFilter(since=since))
        entries = self._read(f"SELECT body, hash FROM entries {clauses} ORDER BY id", params)
        for entry in entries:
            out.write(json.dumps(entry.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
        return len(entries)

    # Internals

    def _read(self, sql: str, params: Sequence[Any]) -> list[AuditEntry]:
        try:
            with self._lock:
                rows = self._db.execute(sql, params).fetchall()
            return [_entry(row) for row in rows]
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            raise AuditError(
                f"cannot read the audit log {self.path}: {exc}; "
                "run `sre-console audit verify` to find the damaged entry"
            ) from None

    def _setup(self) -> None:
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"WAL journal mode refused (got {mode})")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise sqlite3.DatabaseError(
                f"schema version {version} is not this console's ({SCHEMA_VERSION}): "
                "it was written by another (pre-release or newer) build; move it aside"
            )
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _write(self, work: Callable[[], list[AuditEntry]]) -> list[AuditEntry]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    entries = work()
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise AuditError(f"cannot write the audit log {self.path}: {exc}") from None
            if entries:
                last = entries[-1]
                self._write_head(ChainHead(last.id, last.hash))
        return entries

    def _write_head(self, head: ChainHead) -> None:
        # Another process may have written a newer head since: the anchor never goes back.
        current = _head(self.head_path)
        if current is not None and current.id >= head.id:
            return
        atomic_write_text(self.head_path, json.dumps({"id": head.id, "hash": head.hash}))

    def _insert(self, draft: AuditDraft) -> AuditEntry:
        last = self._db.execute("SELECT id, hash FROM entries ORDER BY id DESC LIMIT 1").fetchone()
        last_id, prev_hash = last if last else (0, GENESIS_HASH)
        entry, body = seal(draft, id=last_id + 1, at=utc_iso(self._clock()), prev_hash=prev_hash)
        self._db.execute(
            "INSERT INTO entries (id, body, hash) VALUES (?, ?, ?)", (entry.id, body, entry.hash)
        )
        if entry.action_id is not None:
            if entry.outcome is AuditOutcome.STARTED:
                self._db.execute(
                    "INSERT INTO open_actions (action_id, entry_id, owner) VALUES (?, ?, ?)",
                    (entry.action_id, entry.id, self._owner),
                )
            else:
                self._db.execute("DELETE FROM open_actions WHERE action_id = ?", (entry.action_id,))
        return entry

    def _refuse_duplicate(self, key: str, window_s: float) -> None:
        since = utc_iso(self._clock() - window_s)
        rows = self._db.execute(
            f"SELECT body, hash FROM entries WHERE {_field('idempotency_key')} = ? "
            f"AND {_field('outcome')} = ? AND {_field('at')} >= ? ORDER BY id DESC",
            (key, _STARTED, since),
        ).fetchall()
        for row in rows:
            started = _entry(row)
            ended = self._closing(started.action_id or "")
            if ended is None or ended.outcome in _BLOCKING:
                raise DuplicateAction(started, ended)

    def _closing(self, action_id: str) -> AuditEntry | None:
        row = self._db.execute(
            f"SELECT body, hash FROM entries WHERE {_field('action_id')} = ? "
            f"AND {_field('outcome')} != ? ORDER BY id LIMIT 1",
            (action_id, _STARTED),
        ).fetchone()
        return _entry(row) if row else None

    def _close_abandoned(self) -> tuple[AuditEntry, ...]:
        def work() -> list[AuditEntry]:
            open_actions = self._db.execute(
                "SELECT entry_id, owner FROM open_actions ORDER BY entry_id"
            ).fetchall()
            closed = []
            for entry_id, owner in open_actions:
                if owner_alive(owner):
                    continue
                row = self._db.execute(
                    "SELECT body, hash FROM entries WHERE id = ?", (entry_id,)
                ).fetchone()
                draft = replace(
                    _draft_of(_entry(row)), outcome=AuditOutcome.UNKNOWN, error=INTERRUPTED_ERROR
                )
                closed.append(self._insert(draft))
            return closed

        entries = self._write(work)
        self._notify(entries)
        return tuple(entries)

    def _notify(self, entries: Sequence[AuditEntry]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for entry in entries:
            for listener in listeners:
                listener(entry)


def _draft_of(entry: AuditEntry) -> AuditDraft:
    return AuditDraft(
        actor=entry.actor,
        profile=entry.profile,
        action=entry.action,
        target=entry.target,
        outcome=entry.outcome,
        reason=entry.reason,
        before=entry.before,
        after=entry.after,
        pre_check=entry.pre_check,
        post_check=entry.post_check,
        error=entry.error,
        action_id=entry.action_id,
        idempotency_key=entry.idempotency_key,
    )


def _entry(row: Sequence[Any]) -> AuditEntry:
    body, hash = row[0], row[1]
    return entry_from_body(body, hash)


def _head(path: Path) -> ChainHead | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ChainHead(int(data["id"]), str(data["hash"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # A damaged anchor checks nothing (like a deleted one): the chain itself is still
        # verified, and the next append rewrites the anchor.
        return None


def _clauses(where: AuditFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for name in ("profile", "action", "action_id"):
        value = getattr(where, name)
        if value is not None:
            clauses.append(f"{_field(name)} = ?")
            params.append(value)
    if where.outcome is not None:
        clauses.append(f"{_field('outcome')} = ?")
        params.append(where.outcome.value)
    if where.since is not None:
        clauses.append(f"{_field('at')} >= ?")
        params.append(utc_iso(where.since))
    if where.search:
        pattern = (
            "%" + where.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        keys = ", ".join(f"'{key}'" for key in _SEARCHED)
        clauses.append(
            f"EXISTS (SELECT 1 FROM json_each(entries.body) AS field WHERE field.key IN ({keys}) "
            "AND field.value LIKE ? ESCAPE '\\')"
        )
        params.append(pattern)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params
