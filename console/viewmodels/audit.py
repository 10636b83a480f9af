"""The process's one audit log: opened on the I/O loop, its chain verified, read and exported.

Every SQLite call runs in a worker thread of the I/O loop, never on the GUI thread.
Entries appended anywhere in the process (guarded actions, log reveals, silences) come
back through :attr:`AuditViewModel.entryAppended`, a queued signal.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

from console.config.atomic import atomic_write_text
from console.domain.audit import AuditEntry, ChainReport
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner

if TYPE_CHECKING:
    # Imported on the I/O thread when the log opens: it costs the first paint 0.1 s.
    from console.services.audit_log import AuditFilter, AuditLog

T = TypeVar("T")
DEFAULT_LIMIT = 2000
"""Entries the view lists at most (newest first); the search narrows older ones down."""


class AuditViewModel(QObject):
    """Opens the audit log once, verifies its chain, lists, finds and exports entries.

    ``log_future`` resolves to the :class:`AuditLog` (or fails with AuditError): code on
    the I/O loop awaits it with ``asyncio.wrap_future``; ``log`` is it once open.
    """

    opened = Signal()
    """The log opened (``log``) or failed to (``open_error``)."""
    chainChecked = Signal(object)
    """A ChainReport, after each verification."""
    entriesChanged = Signal()
    """``entries()`` holds the result of the latest load."""
    entryAppended = Signal(object)
    """An AuditEntry just appended by this process, on the GUI thread."""
    entryFound = Signal(object)
    """The AuditEntry :meth:`find` asked for (None when there is no such id)."""
    exported = Signal(str)
    """A one-line sentence: how many entries went to which file."""
    errorRaised = Signal(str)
    _appended = Signal(object)

    def __init__(
        self, runner: AsyncRunner, path: Path | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._relay = FutureRelay(self)
        self._log: AuditLog | None = None
        self._open_error: str | None = None
        self._report: ChainReport | None = None
        self._entries: list[AuditEntry] = []
        self._filter: AuditFilter | None = None
        self._loading: concurrent.futures.Future[list[AuditEntry]] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._appended.connect(self._on_appended, Qt.ConnectionType.QueuedConnection)
        self.log_future: concurrent.futures.Future[AuditLog] = runner.submit(_open(path))
        self._relay.deliver(self.log_future, self._on_opened)

    @property
    def log(self) -> AuditLog | None:
        """The open log; None until it opened, or when it could not."""
        return self._log

    @property
    def open_error(self) -> str | None:
        """Why the log could not be opened (names the file)."""
        return self._open_error

    @property
    def report(self) -> ChainReport | None:
        """The latest verification; None before the first."""
        return self._report

    @property
    def filter(self) -> AuditFilter | None:
        """What the latest load asked for (None: everything)."""
        return self._filter

    def entries(self) -> list[AuditEntry]:
        """The loaded entries, newest first."""
        return list(self._entries)

    def verify(self) -> None:
        """Walk the chain on the I/O loop; ``chainChecked`` says how it is."""
        self._relay.deliver(
            self._runner.submit(self._call(lambda log: log.verify())), self._on_verified
        )

    def load(self, where: AuditFilter | None = None, limit: int = DEFAULT_LIMIT) -> None:
        """List the entries matching ``where`` (default: the last filter), newest first."""
        if where is not None:
            self._filter = where
        chosen = self._filter
        loading = self._runner.submit(
            self._call(
                lambda log: (
                    log.entries(limit=limit) if chosen is None else log.entries(chosen, limit=limit)
                )
            )
        )
        self._loading = loading
        self._relay.deliver(loading, self._on_loaded)

    def find(self, entry_id: int) -> None:
        """Read entry ``entry_id``; ``entryFound`` brings it."""
        self._relay.deliver(
            self._runner.submit(self._call(lambda log: log.get(entry_id))), self._on_found
        )

    def export(self, path: Path, since: float | None = None) -> None:
        """Write every entry (oldest first) to ``path`` as JSON lines, atomically."""
        self._relay.deliver(
            self._runner.submit(self._call(lambda log: _export(log, path, since))),
            lambda done: self._on_exported(path, done),
        )

    def close(
        self, after: concurrent.futures.Future[None] | None = None
    ) -> concurrent.futures.Future[None]:
        """Close the log on the I/O loop, once ``after`` (e.g. closing actions) is done."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        return self._runner.submit(_close(self.log_future, after))

    async def _call(self, work: Callable[[AuditLog], T]) -> T:
        log = await asyncio.wrap_future(self.log_future)
        return await asyncio.to_thread(work, log)

    def _on_opened(self, future: concurrent.futures.Future[AuditLog]) -> None:
        try:
            self._log = future.result()
        except Exception as exc:  # AuditError: said to the user
            self._open_error = str(exc)
            self.errorRaised.emit(f"The audit log is unavailable: {exc}")
        else:
            self._unsubscribe.append(self._log.subscribe(self._emit_appended))
        self.opened.emit()

    def _emit_appended(self, entry: AuditEntry) -> None:
        # On the appending thread (the I/O loop or a worker): hop to the GUI thread.
        with contextlib.suppress(RuntimeError):  # the viewmodel is gone
            self._appended.emit(entry)

    @Slot(object)
    def _on_appended(self, entry: AuditEntry) -> None:
        self.entryAppended.emit(entry)

    def _on_verified(self, future: concurrent.futures.Future[ChainReport]) -> None:
        try:
            self._report = future.result()
        except Exception as exc:  # AuditError, OSError: said to the user
            self.errorRaised.emit(f"The audit log could not be verified: {exc}")
            return
        self.chainChecked.emit(self._report)

    def _on_loaded(self, future: concurrent.futures.Future[list[AuditEntry]]) -> None:
        if future is not self._loading:
            return  # a newer load is on its way
        self._loading = None
        try:
            self._entries = future.result()
        except Exception as exc:  # AuditError: said to the user
            self.errorRaised.emit(str(exc))
            return
        self.entriesChanged.emit()

    def _on_found(self, future: concurrent.futures.Future[AuditEntry | None]) -> None:
        try:
            self.entryFound.emit(future.result())
        except Exception as exc:  # AuditError: said to the user
            self.errorRaised.emit(str(exc))

    def _on_exported(self, path: Path, future: concurrent.futures.Future[int]) -> None:
        try:
            count = future.result()
        except Exception as exc:  # AuditError, OSError: said to the user
            self.errorRaised.emit(f"Export to {path} failed: {exc}")
            return
        self.exported.emit(f"Exported {count} audit entries to {path}")


def _export(log: AuditLog, path: Path, since: float | None) -> int:
    buffer = io.StringIO()
    count = log.export_jsonl(buffer, since=since)
    atomic_write_text(path, buffer.getvalue())
    return count


async def _open(path: Path | None) -> AuditLog:
    from console.services.audit_log import AuditLog

    return await asyncio.to_thread(AuditLog, path)


async def _close(
    opening: concurrent.futures.Future[AuditLog],
    after: concurrent.futures.Future[None] | None,
) -> None:
    if after is not None:
        with contextlib.suppress(Exception):
            await asyncio.wrap_future(after)
    try:
        log = await asyncio.wrap_future(opening)
    except Exception:
        return  # it never opened, so there is nothing to close
    await asyncio.to_thread(log.close)
