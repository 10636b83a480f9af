"""The Explore screen's state: runs, results, errors, completion, history, Grafana link.

Queries, completion and history file I/O all run on the I/O loop (history in one of its
worker threads); results come back through a FutureRelay. A run superseded by a newer one
is cancelled and its result dropped; so is a completion superseded by a newer keystroke.
"""

import asyncio
import concurrent.futures
import math
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from console.backends.errors import BackendError
from console.config.query_history import HistoryError, QueryHistory
from console.domain.grafana_link import GrafanaUrlError, explore_url
from console.domain.timerange import TimeRange
from console.qtbridge.relay import FutureRelay
from console.qtbridge.runner import AsyncRunner
from console.services.explore import Completion, ExploreResult, ExploreService, InstantRow

DEFAULT_RANGE_S = 3600.0
GRAFANA_UNSET = "Set grafana_url in the profile to open queries in Grafana"
PIN_TITLE_CHARS = 60
VALUE_COLUMN = "Value"
_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


class ExploreViewModel(QObject):
    """One profile's Explore: the current result or error, history and completions."""

    resultChanged = Signal()
    errorChanged = Signal()
    busyChanged = Signal(bool)
    historyChanged = Signal()
    historyError = Signal(str)
    completionReady = Signal(object)  # Completion
    pinRequested = Signal(str, str)  # expr, title

    def __init__(
        self,
        runner: AsyncRunner,
        service: ExploreService,
        history: QueryHistory,
        *,
        grafana_url: str | None = None,
        grafana_datasource: str | None = None,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._service = service
        self._history = history
        self._grafana_url = grafana_url or None
        self._grafana_datasource = grafana_datasource or None
        self._clock = clock
        self._relay = FutureRelay(self)
        self._range_s = DEFAULT_RANGE_S
        self._result: ExploreResult | None = None
        self._error: str | None = None
        self._last_range: TimeRange | None = None
        self._run: concurrent.futures.Future[ExploreResult] | None = None
        self._completion: concurrent.futures.Future[Completion] | None = None
        self.table = InstantTableModel(self)
        self._submit_history(history.load)

    @property
    def service(self) -> ExploreService:
        """The service the queries run through (pinned Explore panels share it)."""
        return self._service

    @property
    def unavailable_reason(self) -> str | None:
        """Why Explore cannot run on this profile, or None."""
        return self._service.unavailable_reason

    @property
    def range_s(self) -> float:
        """The length of the range a run covers, ending now."""
        return self._range_s

    def set_range_s(self, seconds: float) -> None:
        """The range of the next run."""
        self._range_s = seconds

    @property
    def busy(self) -> bool:
        """True while a run is in flight."""
        return self._run is not None

    def result(self) -> ExploreResult | None:
        """The last successful run's result (kept while a later run failed)."""
        return self._result

    def error(self) -> str | None:
        """The last run's error text exactly as the backend gave it, or None."""
        return self._error

    def history(self) -> tuple[str, ...]:
        """Past queries, newest first."""
        return self._history.entries

    def run(self, expr: str, width_px: int) -> None:
        """Run ``expr`` over the range ending now; a run still in flight is dropped."""
        expr = expr.strip()
        if not expr or self.unavailable_reason is not None:
            return
        self._cancel_run()
        self._history.add(expr)
        self.historyChanged.emit()
        self._submit_history(self._history.save)
        rng = TimeRange.last(self._range_s, self._clock())
        future = self._runner.submit(self._service.run(expr, rng, max(1, width_px)))
        self._run = future
        self._relay.deliver(future, self._on_run_done)
        self.busyChanged.emit(True)

    def request_completion(self, text: str, cursor: int) -> None:
        """Compute the candidates at ``cursor``; ``completionReady`` delivers them."""
        if self.unavailable_reason is not None:
            return
        if self._completion is not None:
            self._completion.cancel()
        future = self._runner.submit(self._service.complete(text, cursor))
        self._completion = future
        self._relay.deliver(future, self._on_completion_done)

    def grafana_link(self, expr: str) -> str | None:
        """The Grafana Explore URL of ``expr`` over the last run's range (or the range now)."""
        if self._grafana_url is None or not expr.strip():
            return None
        rng = self._last_range or TimeRange.last(self._range_s, self._clock())
        try:
            return explore_url(
                self._grafana_url, expr.strip(), rng, datasource_uid=self._grafana_datasource
            )
        except GrafanaUrlError:
            return None

    def grafana_problem(self) -> str | None:
        """Why "Open in Grafana" is unavailable (shown as its tooltip), or None."""
        if self._grafana_url is None:
            return GRAFANA_UNSET
        try:
            explore_url(self._grafana_url, "up", TimeRange(0.0, 1.0))
        except GrafanaUrlError as exc:
            return str(exc)
        return None

    def pin(self, expr: str) -> None:
        """Ask for ``expr`` to be pinned to the profile's dashboard."""
        expr = expr.strip()
        if expr:
            title = expr if len(expr) <= PIN_TITLE_CHARS else expr[: PIN_TITLE_CHARS - 1] + "…"
            self.pinRequested.emit(expr, title)

    def close(self) -> None:
        """Cancel what is in flight (results arriving later are dropped)."""
        self._cancel_run()
        if self._completion is not None:
            self._completion.cancel()
            self._completion = None

    def _cancel_run(self) -> None:
        if self._run is not None:
            self._run.cancel()
            self._run = None
            self.busyChanged.emit(False)

    def _on_run_done(self, future: "concurrent.futures.Future[ExploreResult]") -> None:
        if future is not self._run:
            return
        self._run = None
        self.busyChanged.emit(False)
        if future.cancelled():
            return
        try:
            result = future.result()
        except BackendError as exc:
            self._error = exc.message
        else:
            self._error = None
            self._result = result
            self._last_range = TimeRange(result.range.plan.start, result.range.plan.end)
            self.table.set_rows(result.instant.rows)
            self.resultChanged.emit()
        self.errorChanged.emit()

    def _on_completion_done(self, future: "concurrent.futures.Future[Completion]") -> None:
        if future is not self._completion or future.cancelled():
            return
        self._completion = None
        try:
            completion = future.result()
        except BackendError:
            return  # completion is a convenience: a failed lookup offers nothing
        self.completionReady.emit(completion)

    def _submit_history(self, action: Callable[[], Any]) -> None:
        future = self._runner.submit(asyncio.to_thread(action))
        self._relay.deliver(future, self._on_history_done)

    def _on_history_done(self, future: "concurrent.futures.Future[Any]") -> None:
        if future.cancelled():
            return
        try:
            future.result()
        except HistoryError as exc:
            self.historyError.emit(str(exc))
        self.historyChanged.emit()


class InstantTableModel(QAbstractTableModel):
    """The table view of an instant result: one column per label name, then the value."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[InstantRow] = []
        self._columns: list[str] = []
        self._sorted_by: tuple[str, Qt.SortOrder] | None = None

    def set_rows(self, rows: tuple[InstantRow, ...]) -> None:
        """Show ``rows``; the columns are the union of their label names."""
        names = sorted({name for row in rows for name in row.labels})
        if "__name__" in names:
            names.remove("__name__")
            names.insert(0, "__name__")
        self.beginResetModel()
        self._rows = list(rows)
        self._columns = names
        if self._sorted_by is not None:
            self._sort_rows(*self._sorted_by)
        self.endResetModel()

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._columns) + 1

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return self._columns[section] if section < len(self._columns) else VALUE_COLUMN

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        value_column = index.column() == len(self._columns)
        if role == Qt.ItemDataRole.DisplayRole:
            if value_column:
                return _value_text(row.value)
            return row.labels.get(self._columns[index.column()], "")
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.name
        if role == Qt.ItemDataRole.TextAlignmentRole and value_column:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a label or the value; later results keep that order (by column name)."""
        if not 0 <= column <= len(self._columns):
            return
        name = self._columns[column] if column < len(self._columns) else VALUE_COLUMN
        self._sorted_by = (name, order)
        self.layoutAboutToBeChanged.emit()
        self._sort_rows(name, order)
        self.layoutChanged.emit()

    def _sort_rows(self, name: str, order: Qt.SortOrder) -> None:
        reverse = order == Qt.SortOrder.DescendingOrder
        if name == VALUE_COLUMN:
            self._rows.sort(
                key=lambda r: r.value if not math.isnan(r.value) else 0.0, reverse=reverse
            )
            self._rows.sort(key=lambda r: math.isnan(r.value))  # NaN last either way
        else:
            self._rows.sort(key=lambda r: r.labels.get(name, ""), reverse=reverse)

    def row(self, number: int) -> InstantRow:
        """The row at ``number``, in display order."""
        return self._rows[number]


def _value_text(value: float) -> str:
    """A sample value as Prometheus prints it ("NaN", "+Inf" included)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"
