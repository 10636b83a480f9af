"""The Explore query history of one profile: newest first, no duplicates, capped, on disk.

The file is ``DATA_DIR/explore-history/PROFILE.json``. Loading and saving are blocking
file I/O: callers run them off the GUI thread (the Explore view model uses a worker
thread of the I/O loop). A file that cannot be read as a history is moved aside to
``NAME.bad`` (never overwritten) and reported with its path.
"""

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

from console.config.atomic import atomic_write_text
from console.config.paths import data_dir

HISTORY_LIMIT = 200
SCHEMA_VERSION = 1


class HistoryError(Exception):
    """The history file is unusable; the message names the file and what happened to it."""


def remember(entries: Sequence[str], expr: str, limit: int = HISTORY_LIMIT) -> tuple[str, ...]:
    """``entries`` with ``expr`` on top (moved there if it was already in), at most ``limit``."""
    expr = expr.strip()
    if not expr:
        return tuple(entries[:limit])
    return (expr, *(e for e in entries if e != expr))[:limit]


def history_file(profile_name: str) -> Path:
    """Where the history of ``profile_name`` is kept (the name made safe as a file name)."""
    return data_dir() / "explore-history" / f"{quote(profile_name, safe='')}.json"


class QueryHistory:
    """One profile's history in memory, loaded from and saved to its file (thread-safe)."""

    def __init__(self, path: Path, *, limit: int = HISTORY_LIMIT) -> None:
        self.path = path
        self._limit = limit
        self._entries: tuple[str, ...] = ()
        self._lock = threading.RLock()
        self._writable = True
        self._loaded = False

    @classmethod
    def for_profile(cls, profile_name: str) -> "QueryHistory":
        """The history of a profile, in the data dir."""
        return cls(history_file(profile_name))

    @property
    def entries(self) -> tuple[str, ...]:
        """The queries, newest first."""
        return self._entries

    def add(self, expr: str) -> tuple[str, ...]:
        """Put ``expr`` on top in memory; ``save()`` writes it."""
        with self._lock:
            self._entries = remember(self._entries, expr, self._limit)
            return self._entries

    def load(self) -> tuple[str, ...]:
        """Read the file (a missing file is an empty history); raises HistoryError.

        Queries added before the load stay on top of the loaded ones.
        """
        with self._lock:
            return self._load()

    def save(self) -> None:
        """Write the current entries atomically; raises HistoryError when refused or failed.

        A save before any load loads first, so that it never replaces a history unread.
        """
        with self._lock:
            problem: HistoryError | None = None
            if not self._loaded:
                try:
                    self._load()
                except HistoryError as exc:
                    problem = exc
            if not self._writable:
                raise HistoryError(
                    f"{self.path}: history not saved: the unreadable file could not be moved "
                    "aside; move or delete it"
                )
            text = json.dumps(
                {"schema_version": SCHEMA_VERSION, "queries": list(self._entries)}, indent=1
            )
            try:
                atomic_write_text(self.path, text + "\n")
            except OSError as exc:
                raise HistoryError(f"{self.path}: history not saved: {exc}") from exc
            if problem is not None:
                raise problem

    def _load(self) -> tuple[str, ...]:
        self._loaded = True
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return self._entries
        except (OSError, UnicodeDecodeError) as exc:
            self._set_aside(f"cannot be read ({exc})")
        merged = self._parse(text)
        for expr in reversed(self._entries):
            merged = remember(merged, expr, self._limit)
        self._entries = merged
        return merged

    def _parse(self, text: str) -> tuple[str, ...]:
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as exc:
            self._set_aside(f"is not valid JSON ({exc})")
        if not isinstance(document, dict) or not isinstance(document.get("queries"), list):
            self._set_aside('is not a JSON object with a "queries" list')
        queries = document["queries"]
        if not all(isinstance(q, str) for q in queries):
            self._set_aside('has a "queries" entry that is not a string')
        version = document.get("schema_version")
        if version != SCHEMA_VERSION:
            self._set_aside(f"has schema_version {version!r}, expected {SCHEMA_VERSION}")
        result: tuple[str, ...] = ()
        for expr in reversed(queries):
            result = remember(result, expr, self._limit)
        return result

    def _set_aside(self, problem: str) -> NoReturn:
        """Move the bad file to NAME.bad (never replacing an earlier one) and raise."""
        bad = _free_name(self.path.with_name(self.path.name + ".bad"))
        try:
            os.rename(self.path, bad)
        except OSError as exc:
            self._writable = False
            raise HistoryError(
                f"{self.path} {problem}; it could not be moved aside ({exc}), so the history "
                "will not be saved until it is fixed or removed"
            ) from None
        raise HistoryError(f"{self.path} {problem}; moved it to {bad} and started a new history")


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate
