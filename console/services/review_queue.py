"""The human review queue: low-confidence outputs wait for a reviewer's verdict. No Qt.

Records whose confidence is below the profile's ``review_threshold`` are queued (once per
record) in SQLite under the data dir (``review_queue.sqlite3``, WAL mode, as the run
history does). A reviewer marks each acceptable or unacceptable, with a note; decisions
export as JSON lines. Only redacted text is stored: the queue receives the records the log
service returns, which hold placeholders, never the originals.
"""

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from console.config.paths import data_dir
from console.domain.log_records import LogRecord

DB_FILE = "review_queue.sqlite3"
_BUSY_TIMEOUT_MS = 5000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_items (
    profile TEXT NOT NULL,
    record_key TEXT NOT NULL,
    deployment TEXT,
    version TEXT,
    model TEXT,
    timestamp_ns INTEGER NOT NULL,
    prompt TEXT,
    output TEXT,
    confidence REAL NOT NULL,
    threshold REAL NOT NULL,
    queued_at REAL NOT NULL,
    verdict TEXT,
    note TEXT NOT NULL DEFAULT '',
    reviewer TEXT,
    decided_at REAL,
    PRIMARY KEY (profile, record_key)
);
CREATE INDEX IF NOT EXISTS review_pending ON review_items (profile, verdict, timestamp_ns);
"""
_COLUMNS = (
    "profile, record_key, deployment, version, model, timestamp_ns, prompt, output, "
    "confidence, threshold, queued_at, verdict, note, reviewer, decided_at"
)


class Verdict(StrEnum):
    """A reviewer's decision on one output."""

    ACCEPTABLE = "acceptable"
    UNACCEPTABLE = "unacceptable"


class ReviewError(Exception):
    """The queue cannot be opened or the item does not exist; the message says which."""


@dataclass(frozen=True)
class ReviewItem:
    """One queued output (redacted) and, once decided, its verdict."""

    profile: str
    record_key: str
    deployment: str | None
    version: str | None
    model: str | None
    timestamp_ns: int
    prompt: str | None
    output: str | None
    confidence: float
    threshold: float
    queued_at: float
    verdict: Verdict | None = None
    note: str = ""
    reviewer: str | None = None
    decided_at: float | None = None

    @property
    def pending(self) -> bool:
        """True until a reviewer decides."""
        return self.verdict is None

    def to_json(self) -> dict[str, Any]:
        """The item as plain JSON data (the export's line)."""
        data = asdict(self)
        data["verdict"] = self.verdict.value if self.verdict else None
        return data


def needs_review(record: LogRecord, threshold: float) -> bool:
    """True for an output whose known confidence is below ``threshold``."""
    return record.confidence is not None and record.confidence < threshold


class ReviewQueue:
    """The review queue in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path | None = None, *, clock: Callable[[], float] = time.time):
        self.path = path if path is not None else data_dir() / DB_FILE
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=5.0
            )
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ReviewError(f"cannot open the review queue {self.path}: {exc}") from None

    def close(self) -> None:
        """Close the database; later calls raise ReviewError (not sqlite3's error)."""
        with self._lock:
            self._closed = True
            self._db.close()

    @contextmanager
    def _open_db(self) -> Iterator[sqlite3.Connection]:
        """The connection, held by this thread; ReviewError once the queue is closed (a
        load still on its way when the profile closes)."""
        with self._lock:
            if self._closed:
                raise ReviewError(f"the review queue {self.path} is closed")
            yield self._db

    def enqueue(self, profile: str, records: Iterable[LogRecord], threshold: float) -> int:
        """Queue the records below ``threshold`` not queued before; how many were added."""
        now = self._clock()
        rows = [
            (
                profile,
                r.key,
                r.deployment,
                r.version,
                r.model,
                r.timestamp_ns,
                r.prompt,
                r.output,
                r.confidence,
                threshold,
                now,
            )
            for r in records
            if needs_review(r, threshold)
        ]
        if not rows:
            return 0
        with self._open_db() as db, db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO review_items (profile, record_key, deployment, version, "
                "model, timestamp_ns, prompt, output, confidence, threshold, queued_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return db.total_changes - before

    def items(
        self,
        profile: str,
        *,
        pending: bool | None = None,
        deployment: str | None = None,
        limit: int | None = None,
    ) -> list[ReviewItem]:
        """The profile's items, newest output first; ``pending`` True: undecided only,
        False: decided only, None: all."""
        where = ["profile = ?"]
        args: list[Any] = [profile]
        if pending is not None:
            where.append("verdict IS NULL" if pending else "verdict IS NOT NULL")
        if deployment is not None:
            where.append("deployment = ?")
            args.append(deployment)
        sql = (
            f"SELECT {_COLUMNS} FROM review_items WHERE {' AND '.join(where)} "
            "ORDER BY timestamp_ns DESC, record_key"
        )
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._open_db() as db:
            rows = db.execute(sql, args).fetchall()
        return [_item(row) for row in rows]

    def get(self, profile: str, record_key: str) -> ReviewItem | None:
        """One item, if queued."""
        with self._open_db() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM review_items WHERE profile = ? AND record_key = ?",
                (profile, record_key),
            ).fetchone()
        return None if row is None else _item(row)

    def pending_count(self, profile: str) -> int:
        """How many items of the profile wait for a verdict."""
        with self._open_db() as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM review_items WHERE profile = ? AND verdict IS NULL",
                (profile,),
            ).fetchone()
        return int(count)

    def decide(
        self, profile: str, record_key: str, verdict: Verdict, *, note: str = "", reviewer: str
    ) -> ReviewItem:
        """Record (or change) the verdict on one item; raises ReviewError when not queued."""
        with self._open_db() as db, db:
            cursor = db.execute(
                "UPDATE review_items SET verdict = ?, note = ?, reviewer = ?, decided_at = ? "
                "WHERE profile = ? AND record_key = ?",
                (Verdict(verdict).value, note, reviewer, self._clock(), profile, record_key),
            )
        if cursor.rowcount == 0:
            raise ReviewError(f"no review item {record_key!r} in profile {profile!r}")
        item = self.get(profile, record_key)
        assert item is not None
        return item

    def export_jsonl(self, out: TextIO, profile: str, *, decided_only: bool = True) -> int:
        """Write the profile's items (decided ones by default) as JSON lines, oldest first;
        how many were written."""
        items = self.items(profile, pending=False if decided_only else None)
        for item in reversed(items):
            out.write(json.dumps(item.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
        return len(items)


def _item(row: tuple[Any, ...]) -> ReviewItem:
    values = dict(zip((c.strip() for c in _COLUMNS.split(",")), row, strict=True))
    verdict = values.pop("verdict")
    return ReviewItem(**values, verdict=Verdict(verdict) if verdict else None)
