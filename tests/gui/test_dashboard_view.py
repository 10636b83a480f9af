"""The dashboard grid: panels at their cells, context-menu and drag-and-drop rearranging."""

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from console.config.settings import DEMO_PROFILE_NAME, PanelKind, PinnedPanel
from console.domain.signals import Signal
from console.ui.charts.chart_tile import ChartTile
from console.ui.dashboard_view import HINT_TEXT, PANEL_MIME, ROW_HEIGHT, DashboardView
from console.viewmodels.dashboard import DashboardViewModel
from tests.gui.test_dashboard_viewmodel import Saves, signal_panel


class Contents:
    """make_panel for tests: a plain label per panel, remembering what it built."""

    def __init__(self) -> None:
        self.built: list[tuple[PinnedPanel, QLabel]] = []

    def __call__(self, panel: PinnedPanel) -> QWidget:
        label = QLabel(f"content of {panel.title}")
        self.built.append((panel, label))
        return label


@pytest.fixture
def saves() -> Saves:
    return Saves()


@pytest.fixture
def contents() -> Contents:
    return Contents()


@pytest.fixture
def view(qtbot, saves: Saves, contents: Contents) -> Iterator[DashboardView]:
    model = DashboardViewModel(saves)
    model.set_profile(DEMO_PROFILE_NAME, ())
    widget = DashboardView(model, contents)
    qtbot.addWidget(widget)
    widget.resize(1200, 900)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


def pin_four(view: DashboardView) -> None:
    for signal in (Signal.REQUEST_RATE, Signal.ERROR_RATIO, Signal.P95_LATENCY):
        view.model.pin(signal_panel(signal))
    view.model.pin(PinnedPanel(PanelKind.PROMQL, "GPU", expr="up", row_span=2, column_span=6))


def wait_laid_out(qtbot, view: DashboardView) -> None:
    """Frames added to a shown grid are shown (and laid out) from the event loop."""
    count = len(view.model.panels)
    qtbot.waitUntil(lambda: all(view.frame(i).isVisible() for i in range(count)))
    view.grid.activate()


def position(view: DashboardView, index: int) -> tuple[int, int, int, int]:
    return view.grid.getItemPosition(view.grid.indexOf(view.frame(index)))


def centre_of(view: DashboardView, row: int, column: int) -> QPoint:
    view.grid.activate()
    return view.grid.cellRect(row, column).center()


def drop(view: DashboardView, mime: QMimeData, at: QPoint) -> QDropEvent:
    """Deliver a drop to the grid's handler (QApplication only delivers drops of a real,
    running QDrag, which needs a native drag loop)."""
    event = QDropEvent(
        QPointF(at),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    view.grid_host.dropEvent(event)
    return event


def test_an_empty_dashboard_shows_the_hint(qtbot, view) -> None:
    assert view.hint.isVisible() and view.hint.text() == HINT_TEXT
    assert not view.scroll_area.isVisible()
    view.model.pin(signal_panel(Signal.REQUEST_RATE))
    assert not view.hint.isVisible() and view.scroll_area.isVisible()


def test_the_grid_shows_each_panel_at_its_cells(qtbot, view, contents) -> None:
    pin_four(view)
    assert [position(view, i) for i in range(4)] == [
        (0, 0, 1, 4),
        (0, 4, 1, 4),
        (0, 8, 1, 4),
        (1, 0, 2, 6),
    ]
    wait_laid_out(qtbot, view)
    assert view.frame(3).height() >= 2 * ROW_HEIGHT
    first, second, third, gpu = (view.frame(i).geometry() for i in range(4))
    assert first.right() < second.left() and second.right() < third.left()
    assert first.top() == second.top() == third.top() and gpu.top() > first.bottom()
    assert gpu.width() > first.width() * 1.4
    assert [panel.title for panel, _ in contents.built] == [p.title for p in view.model.panels]
    assert view.frame(0).isAncestorOf(contents.built[0][1])


def test_context_menu_moves_and_resizes_and_saves(qtbot, view, saves, contents) -> None:
    pin_four(view)
    frame = view.frame(0)
    actions = {a.text(): a for a in view.panel_menu(0).actions() if a.text()}
    assert list(actions) == [
        "Move left",
        "Move right",
        "Move up",
        "Move down",
        "Wider",
        "Narrower",
        "Taller",
        "Shorter",
        "Remove",
    ]
    assert not actions["Move left"].isEnabled() and not actions["Move up"].isEnabled()
    assert "overlaps 'chat Errors'" in actions["Move right"].toolTip()
    assert not actions["Shorter"].isEnabled() and actions["Narrower"].isEnabled()
    actions["Narrower"].trigger()
    assert position(view, 0) == (0, 0, 1, 3)
    assert not next(a for a in view.panel_menu(0).actions() if a.text() == "Taller").isEnabled()
    next(a for a in view.panel_menu(2).actions() if a.text() == "Taller").trigger()
    assert position(view, 2) == (0, 8, 2, 4)
    assert saves.calls[-1] == (DEMO_PROFILE_NAME, view.model.panels)
    assert view.frame(0) is frame and len(contents.built) == 4, "a move keeps the frame"


def test_context_menu_move_down_lays_out_again(qtbot, view) -> None:
    pin_four(view)
    next(a for a in view.panel_menu(2).actions() if a.text() == "Move down").trigger()
    assert position(view, 2) == (1, 8, 1, 4)
    qtbot.waitUntil(lambda: view.frame(2).geometry().top() > view.frame(0).geometry().bottom())


def test_remove_deletes_the_frame_and_its_content(qtbot, view, contents, saves) -> None:
    pin_four(view)
    content = contents.built[1][1]
    with qtbot.waitSignal(content.destroyed):
        next(a for a in view.panel_menu(1).actions() if a.text() == "Remove").trigger()
    assert [p.title for p in view.model.panels] == ["chat Requests", "chat p95 latency", "GPU"]
    assert len(saves.calls[-1][1]) == 3
    assert view.grid.count() == 3


def test_dropping_a_header_on_a_free_cell_moves_the_panel(qtbot, view, saves) -> None:
    pin_four(view)
    wait_laid_out(qtbot, view)
    frame = view.frame(2)
    mime = view.drag_payload(frame, QPoint(frame.width() * 5 // 8, 4))
    assert bytes(mime.data(PANEL_MIME).data()) == b"2 2", "grabbed 2 columns right of its edge"
    assert view.drag_moved(mime, centre_of(view, 1, 9))
    assert view.drop_marker.isVisible()
    event = drop(view, mime, centre_of(view, 1, 9))
    assert event.isAccepted()
    assert position(view, 2) == (1, 7, 1, 4)
    assert not view.drop_marker.isVisible()
    assert saves.calls[-1][1][2].row == 1 and saves.calls[-1][1][2].column == 7


def test_dropping_on_another_panel_swaps_them(qtbot, view) -> None:
    pin_four(view)
    wait_laid_out(qtbot, view)
    mime = view.drag_payload(view.frame(0), QPoint(5, 5))
    drop(view, mime, centre_of(view, 0, 9))
    assert position(view, 0)[:2] == (0, 8) and position(view, 2)[:2] == (0, 0)


def test_a_refused_drop_keeps_the_grid_and_shows_why(qtbot, view) -> None:
    pin_four(view)
    wait_laid_out(qtbot, view)
    mime = view.drag_payload(view.frame(3), QPoint(5, 5))
    drop(view, mime, centre_of(view, 0, 0))
    assert position(view, 3) == (1, 0, 2, 6)
    assert view.errors.isVisible()
    assert view.errors.label.text().startswith("Cannot swap 'GPU' and 'chat Requests'")


def test_foreign_drags_are_ignored(qtbot, view) -> None:
    pin_four(view)
    wait_laid_out(qtbot, view)
    text = QMimeData()
    text.setText("up")
    enter = QDragEnterEvent(
        centre_of(view, 0, 0),
        Qt.DropAction.MoveAction,
        text,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    view.grid_host.dragEnterEvent(enter)
    assert not enter.isAccepted()
    stale = QMimeData()
    stale.setData(PANEL_MIME, b"9 0")
    assert not drop(view, stale, centre_of(view, 2, 8)).isAccepted()
    assert [position(view, i) for i in range(4)] == [
        (0, 0, 1, 4),
        (0, 4, 1, 4),
        (0, 8, 1, 4),
        (1, 0, 2, 6),
    ]


def test_a_failed_save_is_shown_and_the_layout_kept(qtbot, view, saves) -> None:
    pin_four(view)
    saves.error = OSError("read-only file system")
    next(a for a in view.panel_menu(3).actions() if a.text() == "Wider").trigger()
    assert position(view, 3) == (1, 0, 2, 7)
    assert view.errors.label.text() == "Dashboard not saved: read-only file system"


def test_another_profile_gets_its_own_frames(qtbot, view, contents) -> None:
    pin_four(view)
    old = view.frame(0)
    with qtbot.waitSignal(old.destroyed):
        view.model.set_profile("prod", (signal_panel(Signal.REQUEST_RATE),))
    assert len(contents.built) == 5 and view.grid.count() == 1


def test_a_drag_starts_from_the_header_only(qtbot, view, contents, monkeypatch) -> None:
    pin_four(view)
    wait_laid_out(qtbot, view)
    started: list[tuple[QWidget, QPoint]] = []
    monkeypatch.setattr(view, "_start_drag", lambda frame, grab: started.append((frame, grab)))
    window = view.window().windowHandle()
    frame = view.frame(1)
    content = contents.built[1][1]
    below_header = content.mapTo(frame, QPoint(0, 0)).y()
    for y, expected in ((below_header + 20, 0), (2, 1)):
        start = frame.mapTo(view.window(), QPoint(30, y))
        qtbot.mousePress(window, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(window, start + QPoint(QApplication.startDragDistance() + 5, 0))
        qtbot.mouseRelease(window, Qt.MouseButton.LeftButton, pos=start)
        assert len(started) == expected
    assert started == [(frame, QPoint(30, 2))]
    payload = view.drag_payload(frame, QPoint(30, 2))
    assert bytes(payload.data(PANEL_MIME).data()) == b"1 0"


def test_the_frame_menu_has_the_arrange_actions(qtbot, view) -> None:
    pin_four(view)
    arrange = next(a.menu() for a in view.frame(2).menu.actions() if a.text() == "Arrange")
    arrange.aboutToShow.emit()
    assert not next(a for a in arrange.actions() if a.text() == "Move right").isEnabled()
    next(a for a in arrange.actions() if a.text() == "Move down").trigger()
    assert position(view, 2) == (1, 8, 1, 4)


def test_removing_a_detached_panel_closes_its_window(qtbot, view, contents) -> None:
    pin_four(view)
    frame = view.frame(0)
    frame.detach()
    window = frame.detached_window()
    assert window is not None and window.isVisible()
    with qtbot.waitSignal(window.destroyed):
        view.model.remove(0)
    assert view.grid.count() == 3


def test_a_chart_is_dragged_by_its_title_row_not_its_plot(qtbot, saves, monkeypatch) -> None:
    model = DashboardViewModel(saves)
    model.set_profile(DEMO_PROFILE_NAME, ())
    view = DashboardView(model, lambda panel: ChartTile(panel.title, "req/s"))
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    model.pin(signal_panel(Signal.REQUEST_RATE))
    wait_laid_out(qtbot, view)
    started: list[QPoint] = []
    monkeypatch.setattr(view, "_start_drag", lambda frame, grab: started.append(grab))
    frame = view.frame(0)
    chart = frame.content
    assert isinstance(chart, ChartTile)
    title = chart.title_label.mapTo(frame, chart.title_label.rect().center())
    plot = chart.plot.mapTo(frame, chart.plot.rect().center())
    window = view.window().windowHandle()
    for point in (plot, title):
        start = frame.mapTo(view.window(), point)
        qtbot.mousePress(window, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(window, start + QPoint(0, QApplication.startDragDistance() + 5))
        qtbot.mouseRelease(window, Qt.MouseButton.LeftButton, pos=start)
    assert started == [title]


def test_a_drop_near_the_edge_stays_in_the_grid_and_a_blocked_place_is_refused(qtbot, view) -> None:
    pin_four(view)
    wait_laid_out(qtbot, view)
    view.model.move(2, 3, 0)
    mime = view.drag_payload(view.frame(1), QPoint(5, 5))
    assert drop(view, mime, centre_of(view, 0, 11)).isAccepted()
    assert position(view, 1) == (0, 8, 1, 4)
    view.model.resize(1, 2, 4)
    blocked = view.drag_payload(view.frame(0), QPoint(5, 5))
    assert not view.drag_moved(blocked, centre_of(view, 1, 6)), "row 1 has 2 free columns"
    assert not view.drop_marker.isVisible()
    assert view.drag_moved(blocked, centre_of(view, 0, 4))
    assert view.drop_marker.geometry() == view.grid.cellRect(0, 4).united(view.grid.cellRect(0, 7))
