"""The review queue's state: items below the confidence threshold, verdicts, export, cases.

Every queue call (SQLite) and suite write runs in a worker of the I/O loop; results come
back through a FutureRelay. The queue belongs to the profile's log services
(console/viewmodels/logs.py), so the items are the redacted records the explorer loaded.
"""

import asyncio
import concurrent.futures
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from console.config.atomic import atomic_write_text
from console.config.settings import Profile
from console.domain.suite import SuiteError
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner
from console.services.permissions import actor_of
from console.services.review_queue import ReviewError, ReviewItem, ReviewQueue, Verdict
from console.services.suite_cases import add_review_case
from console.viewmodels.log_rows import clock_text, snippet
from console.viewmodels.logs import LogServices

T = TypeVar("T")
REVIEW_COLUMNS = ("Time", "Deployment", "Version", "Confidence", "Verdict", "Prompt", "Output")
_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
_DISPLAY = Qt.ItemDataRole.DisplayRole


class ReviewViewModel(QObject):
    """One profile's review queue: lists items, records verdicts, exports, adds cases."""

    itemsChanged = Signal()
    pendingChanged = Signal(int)
    decided = Signal(object)  # the ReviewItem as now stored
    exported = Signal(str)
    """A sentence: how many items went to which file."""
    caseAdded = Signal(str)
    """A sentence: which case went into which suite file."""
    errorRaised = Signal(str)

    def __init__(
        self,
        runner: AsyncRunner,
        profile: Profile,
        services: "concurrent.futures.Future[LogServices]",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self.profile = profile
        self._services = services
        self._relay = FutureRelay(self)
        self._pending_only = True
        self._pending = 0
        self._loading: concurrent.futures.Future[tuple[list[ReviewItem], int]] | None = None
        self.table = ReviewTableModel(self)

    @property
    def pending_only(self) -> bool:
        """Whether only undecided items are listed."""
        return self._pending_only

    @property
    def pending(self) -> int:
        """Items waiting for a verdict (as of the last load)."""
        return self._pending

    def set_pending_only(self, pending_only: bool) -> None:
        """List undecided items only, or all."""
        if pending_only != self._pending_only:
            self._pending_only = pending_only
            self.refresh()

    def refresh(self) -> None:
        """Load the items again."""
        name, pending = self.profile.name, True if self._pending_only else None

        def load(queue: ReviewQueue) -> tuple[list[ReviewItem], int]:
            return queue.items(name, pending=pending), queue.pending_count(name)

        if self._loading is not None:
            self._loading.cancel()
        future = self._submit(load)
        self._loading = future
        self._relay.deliver(future, self._on_loaded)

    def decide(self, key: str, verdict: Verdict, note: str) -> None:
        """Record a verdict (and note) on item ``key``, as this engineer."""
        name, reviewer = self.profile.name, actor_of(self.profile)

        def store(queue: ReviewQueue) -> ReviewItem:
            return queue.decide(name, key, verdict, note=note.strip(), reviewer=reviewer)

        self._relay.deliver(self._submit(store), self._on_decided)

    def export(self, path: Path) -> None:
        """Write the decided items as JSON lines to ``path`` (atomically)."""
        name = self.profile.name

        def write(queue: ReviewQueue) -> str:
            out = io.StringIO()
            count = queue.export_jsonl(out, name)
            atomic_write_text(path, out.getvalue())
            return f"Exported {count} reviewed item{'s' * (count != 1)} to {path}"

        self._relay.deliver(self._submit(write), self._on_sentence(self.exported))

    def add_case(self, key: str, suite_path: Path) -> None:
        """Add item ``key``'s prompt as a test case of the suite file ``suite_path``."""
        name = self.profile.name

        def add(queue: ReviewQueue) -> str:
            item = queue.get(name, key)
            if item is None:
                raise ReviewError(f"no review item {key!r} in profile {name!r}")
            added = add_review_case(item, suite_path)
            return f"Added case “{added.description}” to {added.path}"

        self._relay.deliver(self._submit(add), self._on_sentence(self.caseAdded))

    def _submit(self, call: Callable[[ReviewQueue], T]) -> "concurrent.futures.Future[T]":
        return self._runner.submit(_with_queue(self._services, call))

    def _on_loaded(self, future: "concurrent.futures.Future[tuple[list[ReviewItem], int]]") -> None:
        if future is not self._loading or future.cancelled():
            return
        self._loading = None
        try:
            items, pending = future.result()
        except (ReviewError, OSError) as exc:
            self.errorRaised.emit(str(exc))
            return
        self.table.set_items(items)
        self.itemsChanged.emit()
        if pending != self._pending:
            self._pending = pending
            self.pendingChanged.emit(pending)

    def _on_decided(self, future: "concurrent.futures.Future[ReviewItem]") -> None:
        try:
            item = future.result()
        except (ReviewError, OSError) as exc:
            self.errorRaised.emit(str(exc))
            return
        self.decided.emit(item)
        self.refresh()

    def _on_sentence(self, signal: Any) -> Callable[["concurrent.futures.Future[str]"], None]:
        def deliver(future: "concurrent.futures.Future[str]") -> None:
            try:
                sentence = future.result()
            except (ReviewError, SuiteError, OSError) as exc:
                self.errorRaised.emit(str(exc))
                return
            signal.emit(sentence)

        return deliver


async def _with_queue(
    services: "concurrent.futures.Future[LogServices]", call: Callable[[ReviewQueue], T]
) -> T:
    try:
        opened = await asyncio.wrap_future(services)
    except Exception as exc:  # the explorer says why the logs did not open
        raise ReviewError(f"the review queue needs the logs: {exc}") from None
    if opened.queue is None:
        raise ReviewError(opened.queue_error or "the review queue is not open")
    return await asyncio.to_thread(call, opened.queue)


class ReviewTableModel(QAbstractTableModel):
    """Review items, newest output first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[ReviewItem] = []

    def set_items(self, items: list[ReviewItem]) -> None:
        """Show ``items``."""
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def item(self, row: int) -> ReviewItem:
        """The item at ``row``."""
        return self._items[row]

    def row_of(self, key: str) -> int | None:
        """The row of item ``key``, if listed."""
        return next((i for i, it in enumerate(self._items) if it.record_key == key), None)

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(REVIEW_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return REVIEW_COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = _DISPLAY) -> Any:
        if role != _DISPLAY or not index.isValid():
            return None
        item = self._items[index.row()]
        column = index.column()
        values = (
            clock_text(item.timestamp_ns),
            item.deployment or "",
            item.version or "",
            f"{item.confidence:.2f}",
            item.verdict.value if item.verdict else "pending",
            snippet(item.prompt or ""),
            snippet(item.output or ""),
        )
        return values[column]
