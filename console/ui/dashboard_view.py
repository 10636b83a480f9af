"""The dashboard: pinned panels on a grid, rearranged by drag-and-drop or a context menu."""

from bisect import bisect_right
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QEvent, QMimeData, QObject, QPoint, QRect, Qt
from PySide6.QtGui import (
    QContextMenuEvent,
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QMouseEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QLabel,
    QMenu,
    QRubberBand,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.config.settings import GRID_COLUMNS, PanelKind, PinnedPanel
from console.ui.banners import ErrorBar
from console.ui.charts import PanelFrame
from console.ui.charts.chart_tile import ChartTile
from console.viewmodels.dashboard import DashboardViewModel

MakePanel = Callable[[PinnedPanel], QWidget]
"""Builds the content of one panel (a ChartTile fed by the refresh engine, in the app)."""

PANEL_MIME = "application/x-sre-console-dashboard-panel"
HINT_TEXT = "Pin charts from a deployment's detail view or an Explore query"
ROW_HEIGHT = 240
_MIN_COLUMN_WIDTH = 48

# (label, rows, columns) added to the panel's position, then to its spans.
_MOVES = (("Move left", 0, -1), ("Move right", 0, 1), ("Move up", -1, 0), ("Move down", 1, 0))
_RESIZES = (("Wider", 0, 1), ("Narrower", 0, -1), ("Taller", 1, 0), ("Shorter", -1, 0))

_Key = tuple[str | None, tuple[PanelKind, str | None, str | None, str | None]]


class DashboardView(QWidget):
    """The grid of the active profile's pinned panels.

    Frames are kept while their panel stays pinned (a move only re-lays them out); a
    removed panel's frame, and the content ``make_panel`` built for it, are deleted. Each
    frame's menu gets an "Arrange" submenu with the same moves as the header's context menu.
    """

    def __init__(
        self, model: DashboardViewModel, make_panel: MakePanel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self._make_panel = make_panel
        self._frames: dict[_Key, PanelFrame] = {}
        self._placed: dict[_Key, tuple[int, int, int, int]] = {}
        self._rows = 0
        self._press: tuple[PanelFrame, QPoint] | None = None

        self.errors = ErrorBar()
        self.hint = QLabel(HINT_TEXT)
        self.hint.setObjectName("dashboardHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.grid_host = _GridHost(self)
        self.grid_host.setObjectName("dashboardGrid")
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(8, 8, 8, 8)
        self.grid.setSpacing(8)
        for column in range(GRID_COLUMNS):
            self.grid.setColumnStretch(column, 1)
            self.grid.setColumnMinimumWidth(column, _MIN_COLUMN_WIDTH)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("dashboardScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(self.grid_host)
        self.drop_marker = QRubberBand(QRubberBand.Shape.Rectangle, self.grid_host)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.errors)
        layout.addWidget(self.hint, 1)
        layout.addWidget(self.scroll_area, 1)

        model.changed.connect(self._sync)
        model.errorRaised.connect(self.errors.add)
        self._sync()

    def frame(self, index: int) -> PanelFrame:
        """The frame showing panel ``index`` of the model."""
        return self._frames[self._key(self.model.panels[index])]

    def cell_at(self, pos: QPoint) -> tuple[int, int]:
        """The grid cell (row, column) under ``pos`` (grid_host coordinates), clamped to
        the grid plus one empty row below it."""
        lefts = [self.grid.cellRect(0, c).left() for c in range(GRID_COLUMNS)]
        tops = [self.grid.cellRect(r, 0).top() for r in range(self._rows)]
        column = bisect_right(lefts, pos.x()) - 1
        row = bisect_right(tops, pos.y()) - 1
        return max(row, 0), min(max(column, 0), GRID_COLUMNS - 1)

    def drop_panel(self, index: int, grab_column: int, pos: QPoint) -> bool:
        """Drop panel ``index``, grabbed ``grab_column`` columns right of its left edge, at
        ``pos``: onto another panel it swaps places with it, elsewhere it moves there."""
        target, row, column = self._drop_plan(index, grab_column, pos)
        if target is not None:
            return self.model.swap(index, target)
        return self.model.move(index, row, column)

    def _drop_plan(self, index: int, grab_column: int, pos: QPoint) -> tuple[int | None, int, int]:
        """(the panel to swap with, if any; row; column) where dropping panel ``index`` puts it.

        A panel dropped near the right edge is kept inside the grid.
        """
        row, column = self.cell_at(pos)
        target = self.model.index_at(row, column)
        if target is not None and target != index:
            other = self.model.panels[target]
            return target, other.row, other.column
        span = self.model.panels[index].column_span
        return None, row, min(max(column - grab_column, 0), GRID_COLUMNS - span)

    def panel_menu(self, index: int) -> QMenu:
        """The context menu of panel ``index``: moves and resizes that fit, and Remove."""
        menu = QMenu(self)
        self.fill_panel_menu(menu, index)
        return menu

    def fill_panel_menu(self, menu: QMenu, index: int) -> None:
        """Put the moves and resizes that fit, and Remove, into ``menu`` (emptied first)."""
        panel = self.model.panels[index]
        spans = (panel.row_span, panel.column_span)
        menu.clear()
        menu.setToolTipsVisible(True)
        for label, d_row, d_column in _MOVES:
            corner = (panel.row + d_row, panel.column + d_column)
            why_not = self.model.placement_error(index, *corner, *spans)
            _add_action(menu, label, why_not, self.model.move, index, *corner)
        menu.addSeparator()
        for label, d_row, d_column in _RESIZES:
            size = (panel.row_span + d_row, panel.column_span + d_column)
            why_not = self.model.placement_error(index, panel.row, panel.column, *size)
            _add_action(menu, label, why_not, self.model.resize, index, *size)
        menu.addSeparator()
        menu.addAction("Remove", lambda: self.model.remove(index))

    # -- keeping the grid in step with the model ------------------------------------------------

    def _key(self, panel: PinnedPanel) -> _Key:
        return (self.model.profile, panel.subject)

    def _sync(self) -> None:
        panels = self.model.panels
        keys = [self._key(panel) for panel in panels]
        for key in set(self._frames) - set(keys):
            self._discard(key)
        for key, panel in zip(keys, panels, strict=True):
            frame = self._frames.get(key) or self._new_frame(key, panel)
            cells = (panel.row, panel.column, panel.row_span, panel.column_span)
            if self._placed.get(key) != cells:
                self.grid.removeWidget(frame)
                self.grid.addWidget(frame, *cells)
                self._placed[key] = cells
        self._set_rows(self.model.rows + 1)  # one empty row to drop panels below the others
        self.hint.setVisible(not panels)
        self.scroll_area.setVisible(bool(panels))

    def _new_frame(self, key: _Key, panel: PinnedPanel) -> PanelFrame:
        content = self._make_panel(panel)
        frame = PanelFrame(panel.title, content)
        arrange = frame.menu.addMenu("Arrange")
        arrange.aboutToShow.connect(lambda: self.fill_panel_menu(arrange, self._index_of(frame)))
        frame.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        frame.installEventFilter(self)
        self._frames[key] = frame
        return frame

    def _discard(self, key: _Key) -> None:
        frame = self._frames.pop(key)
        self._placed.pop(key, None)
        self.grid.removeWidget(frame)
        frame.deleteLater()  # with its content, and its own window if detached

    def _set_rows(self, rows: int) -> None:
        for row in range(max(rows, self._rows) + 1):
            self.grid.setRowMinimumHeight(row, ROW_HEIGHT if row < rows else 0)
            self.grid.setRowStretch(row, 1 if row == rows else 0)  # fills the space below
        self._rows = rows

    # -- drag and drop ------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Starts a drag or opens the menu from a frame's header (events its children ignored)."""
        if not isinstance(watched, PanelFrame):
            return False
        if isinstance(event, QContextMenuEvent):
            self._open_menu(watched, event.globalPos())
            return True
        if not isinstance(event, QMouseEvent) or event.button() not in (
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.NoButton,
        ):
            return False
        pos = event.position().toPoint()
        if event.type() == QEvent.Type.MouseButtonPress and self._in_header(watched, pos):
            self._press = (watched, pos)
            return True
        if event.type() == QEvent.Type.MouseMove and self._press and self._press[0] is watched:
            moved = (pos - self._press[1]).manhattanLength()
            if moved >= QApplication.startDragDistance():
                start = self._press[1]
                self._press = None
                self._start_drag(watched, start)
            return True
        if event.type() == QEvent.Type.MouseButtonRelease:
            self._press = None
        return False

    def drag_payload(self, frame: PanelFrame, grab: QPoint) -> QMimeData:
        """The mime data of dragging ``frame`` grabbed at ``grab`` (frame coordinates)."""
        index = self._index_of(frame)
        grabbed = self.cell_at(frame.mapTo(self.grid_host, grab))[1]
        offset = max(grabbed - self.model.panels[index].column, 0)
        mime = QMimeData()
        mime.setData(PANEL_MIME, QByteArray(f"{index} {offset}".encode()))
        return mime

    def drag_moved(self, mime: QMimeData, pos: QPoint) -> bool:
        """Mark where a drag would drop; False when it is not a panel of this grid or cannot
        go there."""
        payload = self._payload(mime)
        if payload is None:
            self.drop_marker.hide()
            return False
        index, offset = payload
        panel = self.model.panels[index]
        target, row, column = self._drop_plan(index, offset, pos)
        spans = (panel.row_span, panel.column_span)
        if target is None and self.model.placement_error(index, row, column, *spans):
            self.drop_marker.hide()
            return False
        last = self._cell_rect(row + panel.row_span - 1, column + panel.column_span - 1)
        self.drop_marker.setGeometry(self.grid.cellRect(row, column).united(last))
        self.drop_marker.show()
        self.drop_marker.raise_()
        return True

    def dropped(self, mime: QMimeData, pos: QPoint) -> bool:
        """Apply a drop of ``mime`` at ``pos`` (grid_host coordinates)."""
        self.drop_marker.hide()
        payload = self._payload(mime)
        return payload is not None and self.drop_panel(payload[0], payload[1], pos)

    def _cell_rect(self, row: int, column: int) -> QRect:
        if row < self._rows:
            return self.grid.cellRect(row, column)
        last = self.grid.cellRect(self._rows - 1, column)  # below the grid: extrapolate
        return last.translated(0, (row - self._rows + 1) * (ROW_HEIGHT + self.grid.spacing()))

    def _payload(self, mime: QMimeData) -> tuple[int, int] | None:
        if not mime.hasFormat(PANEL_MIME):
            return None
        try:
            index, offset = (int(part) for part in bytes(mime.data(PANEL_MIME).data()).split())
        except ValueError:
            return None
        if not 0 <= index < len(self.model.panels):
            return None
        return index, offset

    def _start_drag(self, frame: PanelFrame, grab: QPoint) -> None:
        drag = QDrag(frame)
        drag.setMimeData(self.drag_payload(frame, grab))
        drag.setPixmap(frame.grab().scaledToWidth(min(frame.width(), 320)))
        drag.exec(Qt.DropAction.MoveAction)
        self.drop_marker.hide()

    def _open_menu(self, frame: PanelFrame, global_pos: QPoint) -> None:
        menu = self.panel_menu(self._index_of(frame))
        menu.exec(global_pos)
        menu.deleteLater()

    def _index_of(self, frame: PanelFrame) -> int:
        key = next(key for key, known in self._frames.items() if known is frame)
        return [self._key(panel) for panel in self.model.panels].index(key)

    def _in_header(self, frame: PanelFrame, pos: QPoint) -> bool:
        """Above the plot of a chart (its title row), else above the content."""
        content = frame.content
        if not frame.isAncestorOf(content):  # detached: the whole frame is its header
            return True
        body = content.plot if isinstance(content, ChartTile) else content
        return pos.y() < body.mapTo(frame, QPoint(0, 0)).y()


def _add_action(
    menu: QMenu, label: str, why_not: str | None, slot: Callable[..., object], *args: int
) -> None:
    """An action calling ``slot(*args)``; disabled, saying why in its tooltip, when
    ``why_not`` says it cannot be done."""
    action = menu.addAction(label)
    action.setEnabled(why_not is None)
    action.setToolTip(why_not or "")
    action.triggered.connect(lambda: slot(*args))


class _GridHost(QWidget):
    """The widget under the grid; it takes the drops and hands them to the view."""

    def __init__(self, view: DashboardView) -> None:
        super().__init__()
        self._view = view
        self.setAcceptDrops(True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept panels of this dashboard only."""
        self.dragMoveEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        """Mark the cells the panel would cover."""
        if self._view.drag_moved(event.mimeData(), event.position().toPoint()):
            event.setDropAction(Qt.DropAction.MoveAction)
            event.accept()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QEvent) -> None:
        """Forget the marker."""
        self._view.drop_marker.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        """Move the panel (or swap it with the one it was dropped on)."""
        if self._view.dropped(event.mimeData(), event.position().toPoint()):
            event.setDropAction(Qt.DropAction.MoveAction)
            event.accept()
        else:
            event.ignore()
