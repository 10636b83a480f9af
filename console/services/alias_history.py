"""The history of each deployment's serving alias, which MLflow does not keep. No Qt.

SQLite (``alias_history.sqlite3`` in the data dir, WAL). The guarded pipeline records every
change it makes; a plan that finds the alias somewhere the history does not expect records
an *observed* change (made by someone else), so "the version that served before the current
one" stays right.
"""

import sqlite3
import threading
from pathlib import Path
from typing import Any

from console.config.paths import data_dir
from console.domain.model_registry import AliasChange

DB_FILE = "alias_history.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    profile TEXT NOT NULL,
    deployment TEXT NOT NULL,
    model TEXT NOT NULL,
    alias TEXT NOT NULL,
    from_version TEXT,
    to_version TEXT NOT NULL,
    action_id TEXT,
    observed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_deployment ON changes (profile, deployment, id);
"""
_COLUMNS = "at, profile, deployment, model, alias, from_version, to_version, action_id, observed"


class AliasHistory:
    """Alias changes per profile and deployment; safe to share between threads."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else data_dir() / DB_FILE
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=10.0
        )
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def record(self, change: AliasChange) -> None:
        """Keep ``change``."""
        with self._lock, self._db:
            self._db.execute(
                f"INSERT INTO changes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    change.at,
                    change.profile,
                    change.deployment,
                    change.model,
                    change.alias,
                    change.from_version,
                    change.to_version,
                    change.action_id,
                    int(change.observed),
                ),
            )

    def changes(self, profile: str, deployment: str, *, limit: int = 100) -> list[AliasChange]:
        """The deployment's recorded changes, newest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM changes WHERE profile = ? AND deployment = ? "
                "ORDER BY id DESC LIMIT ?",
                (profile, deployment, limit),
            ).fetchall()
        return [_change(row) for row in rows]

    def latest(self, profile: str, deployment: str) -> AliasChange | None:
        """The newest recorded change of the deployment, if any."""
        found = self.changes(profile, deployment, limit=1)
        return found[0] if found else None

    def served_before(self, profile: str, deployment: str, current: str) -> str | None:
        """The version that served before ``current`` took over, if the history knows."""
        for change in self.changes(profile, deployment):
            if change.to_version == current and change.from_version not in (None, current):
                return change.from_version
        return None


def _change(row: tuple[Any, ...]) -> AliasChange:
    at, profile, deployment, model, alias, before, after, action_id, observed = row
    return AliasChange(
        at, profile, deployment, model, alias, before, after, action_id, bool(observed)
    )
