"""TimeChart, ChartGroup and PanelFrame: lines, annotations, crosshair, links, export, detach."""

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from console.domain.annotations import Annotation, AnnotationKind
from console.ui.charts import ChartGroup, PanelFrame, TimeChart
from console.ui.charts.palette import LINE_COLOURS, MARK_STYLES

T0 = 1_764_000_000.0  # 2025-11-24T16:00:00Z
STEP = 15.0


def times(count: int, start: float = T0) -> np.ndarray:
    return start + STEP * np.arange(count, dtype=float)


@pytest.fixture
def make_chart(qtbot: QtBot):
    def make(title: str = "p95 latency", unit: str = "s", *, closed_by_test: bool = True):
        """A shown chart; ``closed_by_test=False`` for a chart that the test deletes."""
        chart = TimeChart(title, unit)
        if closed_by_test:
            qtbot.addWidget(chart)
        chart.resize(640, 280)
        chart.show()
        qtbot.waitExposed(chart)
        return chart

    return make


def curves(chart: TimeChart) -> dict[str, object]:
    return {item.name(): item for item in chart.plot_item.listDataItems()}


def send_mouse(
    widget: QWidget,
    kind: QEvent.Type,
    position: QPoint,
    button: Qt.MouseButton = Qt.MouseButton.NoButton,
) -> None:
    """Deliver one mouse event (QTest's mouseMove only moves the cursor offscreen)."""
    buttons = button if kind != QEvent.Type.MouseButtonRelease else Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind,
        QPointF(position),
        QPointF(widget.mapToGlobal(position)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def hover(widget: QWidget, position: QPoint) -> None:
    send_mouse(widget, QEvent.Type.MouseMove, position)


def double_click(widget: QWidget, position: QPoint) -> None:
    left = Qt.MouseButton.LeftButton
    for kind in (
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseButtonRelease,
    ):
        send_mouse(widget, kind, position, left)


def deletion_recorder(widget: QWidget) -> list[bool]:
    """A list that gets an entry when ``widget`` is deleted (waitSignal cannot disconnect
    from the ``destroyed`` signal of a deleted object under PySide)."""
    deleted: list[bool] = []
    widget.destroyed.connect(lambda: deleted.append(True))
    return deleted


def view_point(chart: TimeChart, x: float) -> QPoint:
    """The viewport pixel over time ``x``, half-way up the plot."""
    box = chart.view_box
    y_low, y_high = box.viewRange()[1]
    scene = box.mapViewToScene(QPointF(x, (y_low + y_high) / 2))
    return chart.plot_widget.mapFromScene(scene)


# -- lines -------------------------------------------------------------------------------------


def test_lines_are_created_once_updated_and_removed(make_chart) -> None:
    chart = make_chart()
    chart.set_lines({"v7": (times(4), np.ones(4)), "v8": (times(4), np.zeros(4))})
    first = curves(chart)
    assert set(first) == {"v7", "v8"}

    chart.set_lines({"v7": (times(5), np.arange(5.0))})

    now = curves(chart)
    assert set(now) == {"v7"}
    assert now["v7"] is first["v7"]
    assert list(now["v7"].getData()[1]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert set(chart.lines()) == {"v7"}


def test_equal_data_is_not_drawn_again(make_chart) -> None:
    chart = make_chart()
    values = np.array([1.0, np.nan, 3.0])
    chart.set_lines({"v7": (times(3), values)})
    curve = curves(chart)["v7"]
    redraws: list[object] = []
    curve.sigPlotChanged.connect(redraws.append)

    chart.set_lines({"v7": (times(3), values.copy())})  # equal, NaN included
    assert redraws == []

    chart.set_lines({"v7": (times(3), np.array([1.0, 2.0, 3.0]))})
    assert len(redraws) == 1


def test_a_line_keeps_its_colour_and_lines_differ(make_chart) -> None:
    chart = make_chart()
    other = make_chart()
    chart.set_lines({"v7": (times(2), np.ones(2)), "v8": (times(2), np.ones(2))})
    v7, v8 = chart.colour_of("v7"), chart.colour_of("v8")
    assert v7 != v8

    chart.set_lines({"v8": (times(2), np.ones(2))})
    chart.set_lines({"v9": (times(2), np.ones(2)), "v8": (times(2), np.ones(2))})
    chart.set_lines({"v7": (times(2), np.ones(2)), "v8": (times(2), np.ones(2))})
    assert chart.colour_of("v8") == v8
    assert chart.colour_of("v7") == v7
    other.set_lines({"v7": (times(2), np.ones(2))})
    assert other.colour_of("v7") == v7  # the same version looks the same on every chart
    assert curves(chart)["v8"].opts["pen"].color() == v8


def test_nan_values_are_gaps(make_chart) -> None:
    chart = make_chart()
    chart.set_lines({"v7": (times(5), np.array([1.0, 2.0, np.nan, 4.0, 5.0]))})

    curve = curves(chart)["v7"]
    assert curve.curve.opts["connect"] == "finite"
    assert chart.values_at(T0 + 2 * STEP) == {"v7": None}
    assert chart.values_at(T0 + 3 * STEP) == {"v7": 4.0}


def test_downsampling_and_clip_to_view_are_on(make_chart) -> None:
    chart = make_chart()
    chart.set_lines({"v7": (times(3), np.ones(3))})
    opts = curves(chart)["v7"].opts
    assert opts["autoDownsample"] is True
    assert opts["downsampleMethod"] == "peak"
    assert opts["clipToView"] is True


def test_a_long_line_is_drawn_peak_downsampled_keeping_its_extremes(make_chart, qtbot) -> None:
    chart = make_chart()
    values = np.sin(np.arange(100_000) / 50.0)
    values[12_345], values[67_890] = 7.0, -7.0
    chart.set_lines({"v7": (times(100_000), values)})
    curve = curves(chart)["v7"]

    def drawn() -> tuple[np.ndarray, np.ndarray]:
        x, y = curve.getData()
        assert x is not None and y is not None
        return x, y

    qtbot.waitUntil(lambda: drawn()[0].size < 10_000)
    x, y = drawn()
    assert y.max() == 7.0 and y.min() == -7.0  # peaks survive
    assert np.all(np.diff(x) >= 0)


def test_mismatched_arrays_are_refused_with_the_line_name(make_chart) -> None:
    chart = make_chart()
    chart.set_lines({"v7": (times(3), np.ones(3))})

    with pytest.raises(ValueError, match="'v8'"):
        chart.set_lines({"v7": (times(3), np.zeros(3)), "v8": (times(3), np.ones(2))})
    assert list(chart.lines()["v7"][1]) == [1.0, 1.0, 1.0]  # nothing half-applied


def test_wheel_zooms_the_time_axis_only(make_chart, qtbot) -> None:
    chart = make_chart()
    chart.set_lines({"v7": (times(100), np.sin(np.arange(100.0)))})
    qtbot.waitUntil(lambda: T0 - 100 * STEP < chart.view_box.viewRange()[0][0] < T0)
    (x_low, x_high), y_range = chart.view_box.viewRange()
    viewport = chart.plot_widget.viewport()
    position = QPointF(view_point(chart, T0 + 50 * STEP))
    wheel = QWheelEvent(
        position,
        QPointF(viewport.mapToGlobal(position.toPoint())),
        QPoint(),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )

    QApplication.sendEvent(viewport, wheel)

    new_low, new_high = chart.view_box.viewRange()[0]
    assert new_high - new_low < (x_high - x_low) * 0.8
    assert chart.view_box.viewRange()[1] == pytest.approx(y_range)
    assert chart.view_box.state["mouseEnabled"] == [True, False]  # drag pans time only


# -- annotations and status ----------------------------------------------------------------


def test_annotations_are_vertical_lines_with_short_labels(make_chart) -> None:
    chart = make_chart()
    chart.set_lines({"v7": (times(40), np.ones(40))})
    long_text = "rollback to v7 by alice: p95 latency doubled after the canary"
    marks = [
        Annotation(T0 + 10 * STEP, AnnotationKind.VERSION_CHANGE, "v7 → v8", "chat", "v8"),
        Annotation(T0 + 30 * STEP, AnnotationKind.ROLLBACK, long_text, "chat"),
    ]

    chart.set_annotations(marks)

    change, rollback = chart.annotation_lines()
    assert (change.angle, change.value()) == (90, T0 + 10 * STEP)
    assert rollback.value() == T0 + 30 * STEP
    assert change.label.toPlainText() == "v7 → v8"
    assert rollback.label.toPlainText().endswith("…")
    assert len(rollback.label.toPlainText()) < len(long_text)
    assert long_text in rollback.toolTip()
    assert "version v8" in change.toolTip()
    dark = chart.palette().color(QPalette.ColorRole.Window).lightness() < 128
    assert change.pen.color() == MARK_STYLES[AnnotationKind.VERSION_CHANGE].colour(dark)
    assert change.pen.style() != rollback.pen.style()

    chart.set_annotations(list(marks))  # equal marks: the lines stay
    assert chart.annotation_lines()[0] is change
    chart.set_annotations([])
    assert chart.annotation_lines() == []
    assert change not in chart.plot_item.items


def test_status_overlay_is_centred_over_the_plot(make_chart, qtbot: QtBot) -> None:
    chart = make_chart()
    overlay = chart.status_overlay

    chart.set_status("Loading…")

    qtbot.waitUntil(overlay.isVisible)
    assert chart.status() == "Loading…"
    centre = chart.plot_widget.geometry().center()
    assert (overlay.geometry().center() - centre).manhattanLength() <= 2

    error = "query failed: " + "bad_data: parse error at char 12 " * 8
    chart.set_status(error)
    assert overlay.label.wordWrap()
    assert overlay.label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert overlay.width() <= chart.plot_widget.width()
    assert overlay.height() > overlay.label.fontMetrics().height() * 2  # wrapped

    chart.set_status(None)
    assert not overlay.isVisible()
    assert chart.status() is None


# -- crosshair ---------------------------------------------------------------------------------


def test_values_at_takes_the_sample_at_or_before_within_one_step(make_chart) -> None:
    chart = make_chart()
    chart.set_lines(
        {
            "v7": (times(4), np.array([1.0, 2.0, np.nan, 4.0])),
            "v8": (times(2, T0 + 2 * STEP), np.array([20.0, 30.0])),
        }
    )

    assert chart.values_at(T0) == {"v7": 1.0, "v8": None}
    assert chart.values_at(T0 + STEP * 1.5) == {"v7": 2.0, "v8": None}
    assert chart.values_at(T0 + STEP * 2.2) == {"v7": None, "v8": 20.0}
    assert chart.values_at(T0 + STEP * 3.9) == {"v7": 4.0, "v8": 30.0}
    assert chart.values_at(T0 + STEP * 4.0) == {"v7": None, "v8": None}  # a step past the end
    assert chart.values_at(T0 - 1) == {"v7": None, "v8": None}
    assert chart.values_at(math.nan) == {"v7": None, "v8": None}


def test_crosshair_lists_every_line_in_its_unit(make_chart) -> None:
    chart = make_chart(unit="s")
    chart.set_lines(
        {"v7": (times(3), np.array([0.25, 0.5, 0.75])), "v8": (times(3), np.full(3, np.nan))}
    )

    chart.show_crosshair(T0 + STEP)

    assert chart.crosshair_x() == T0 + STEP
    text = chart.readout_text()
    assert "v7 500 ms" in text
    assert "v8 no data" in text
    chart.show_crosshair(None)
    assert "ms" not in chart.readout_text()
    assert "v7" in chart.readout_text()  # the legend stays


def test_mouse_over_one_chart_moves_the_crosshair_of_the_group(make_chart, qtbot) -> None:
    first, second = make_chart("Requests", "req/s"), make_chart("Errors", "ratio")
    first.set_lines({"v7": (times(40), np.arange(40.0))})
    second.set_lines({"v7": (times(40), np.full(40, 0.02)), "v8": (times(40), np.full(40, 0.1))})
    group = ChartGroup()
    group.add(first)
    group.add(second)
    target = T0 + 20 * STEP + 1

    with qtbot.waitSignal(first.crosshairMoved) as moved:
        hover(first.plot_widget.viewport(), view_point(first, target))

    x = moved.args[0]
    assert abs(x - target) < STEP / 2
    assert second.crosshair_x() == x
    assert second.values_at(x) == {"v7": 0.02, "v8": 0.1}
    assert "v7 2.00 %" in second.readout_text()
    assert "v8 10.0 %" in second.readout_text()

    with qtbot.waitSignal(first.crosshairLeft):
        hover(first.plot_widget.viewport(), QPoint(2, 2))  # over the axis area
    assert second.crosshair_x() is None


# -- ranges ------------------------------------------------------------------------------------


def test_group_links_time_ranges_and_double_click_resets_all(make_chart, qtbot) -> None:
    charts = [make_chart(f"chart {i}") for i in range(3)]
    group = ChartGroup()
    for chart in charts:
        chart.set_lines({"v7": (times(100), np.sin(np.arange(100.0)))})
        group.add(chart)
    qtbot.waitUntil(lambda: charts[0].view_box.viewRange()[0][0] > T0 - 100 * STEP)
    full = charts[0].view_box.viewRange()[0]

    charts[2].view_box.setXRange(T0 + 10 * STEP, T0 + 20 * STEP, padding=0)

    for chart in charts:
        low, high = chart.view_box.viewRange()[0]
        assert low == pytest.approx(T0 + 10 * STEP, abs=1)
        assert high == pytest.approx(T0 + 20 * STEP, abs=1)

    with qtbot.waitSignal(charts[1].resetRequested):
        double_click(charts[1].plot_widget.viewport(), view_point(charts[1], T0 + 15 * STEP))

    def all_reset() -> bool:  # auto-range applies before the next paint
        return all(chart.view_box.viewRange()[0] == pytest.approx(full, abs=1) for chart in charts)

    qtbot.waitUntil(all_reset)


def test_a_removed_or_deleted_chart_leaves_the_group(make_chart, qtbot) -> None:
    leader, follower, gone = make_chart("a", closed_by_test=False), make_chart("b"), make_chart("c")
    group = ChartGroup()
    for chart in (leader, follower, gone):
        chart.set_lines({"v7": (times(100), np.ones(100))})
        group.add(chart)

    group.remove(follower)
    leader.view_box.setXRange(T0, T0 + 10 * STEP, padding=0)
    assert follower.view_box.viewRange()[0][1] > T0 + 50 * STEP  # no longer follows

    deleted = deletion_recorder(leader)
    leader.deleteLater()
    qtbot.waitUntil(lambda: bool(deleted))
    assert group.charts() == [gone]
    assert gone.view_box.autoRangeEnabled()[0]  # the new leader follows the data
    group.add(follower)
    gone.view_box.setXRange(T0 + 5 * STEP, T0 + 6 * STEP, padding=0)
    assert follower.view_box.viewRange()[0] == pytest.approx([T0 + 5 * STEP, T0 + 6 * STEP], abs=1)


def test_deleting_a_view_with_its_group_and_charts_is_clean(qtbot: QtBot) -> None:
    view = QWidget()
    group = ChartGroup(view)
    charts = [TimeChart(f"chart {i}", "s", view) for i in range(3)]
    for chart in charts:
        chart.set_lines({"v7": (times(10), np.ones(10))})
        group.add(chart)
    view.show()
    qtbot.waitExposed(view)
    deleted = deletion_recorder(view)

    view.deleteLater()  # an exception in a slot would fail the test (pytest-qt)

    qtbot.waitUntil(lambda: bool(deleted))


# -- export ------------------------------------------------------------------------------------


def test_export_png_writes_an_image_of_the_chart(make_chart, tmp_path: Path) -> None:
    chart = make_chart()
    chart.set_lines({"v7": (times(10), np.arange(10.0))})
    path = tmp_path / "chart.png"

    chart.export_png(path)

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(path))
    ratio = chart.devicePixelRatioF()
    assert (image.width(), image.height()) == (
        round(chart.width() * ratio),
        round(chart.height() * ratio),
    )
    assert path.stat().st_size > 2000


def test_export_csv_has_a_time_column_and_a_column_per_line(make_chart, tmp_path) -> None:
    chart = make_chart()
    chart.set_lines(
        {
            "v7": (np.array([T0, T0 + 15.0]), np.array([1.5, np.nan])),
            "v8, canary": (np.array([T0 + 15.0, T0 + 30.5]), np.array([0.1, 2.0])),
        }
    )
    path = tmp_path / "out" / "chart.csv"

    chart.export_csv(path)

    assert path.read_text(encoding="utf-8") == (
        'time_utc,unix_s,v7,"v8, canary"\n'
        "2025-11-24T16:00:00Z,1764000000,1.5,\n"
        "2025-11-24T16:00:15Z,1764000015,,0.1\n"
        "2025-11-24T16:00:30.500Z,1764000030.5,,2\n"
    )
    assert list(path.parent.iterdir()) == [path]  # no temporary file left


def test_export_csv_failure_names_the_path(make_chart, tmp_path) -> None:
    chart = make_chart()
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(OSError, match="a-file"):
        chart.export_csv(blocker / "chart.csv")


# -- panel frame -------------------------------------------------------------------------------


@pytest.fixture
def make_frame(qtbot: QtBot, make_chart):
    def make(*, closed_by_test: bool = True) -> tuple[PanelFrame, TimeChart]:
        chart = make_chart("p95 latency", closed_by_test=False)  # the frame owns it
        chart.set_lines({"v7": (times(10), np.arange(10.0))})
        frame = PanelFrame("p95 latency", chart)
        if closed_by_test:
            qtbot.addWidget(frame)
        frame.resize(700, 320)
        frame.show()
        qtbot.waitExposed(frame)
        return frame, chart

    return make


def test_frame_exports_through_the_chosen_path(make_frame, tmp_path) -> None:
    frame, _ = make_frame()
    asked: list[tuple[str, str, str]] = []
    errors: list[tuple[str, str]] = []
    frame.choose_path = lambda *args: asked.append(args) or tmp_path / "latency"
    frame.report_error = lambda *args: errors.append(args)

    frame.export_csv_action.trigger()
    frame.export_png_action.trigger()

    assert asked[0][0] == "Export CSV"
    assert asked[0][1].startswith("p95-latency-") and asked[0][1].endswith(".csv")
    assert (tmp_path / "latency.csv").read_text().startswith("time_utc,unix_s,v7\n")
    assert (tmp_path / "latency.png").stat().st_size > 0

    frame.choose_path = lambda *args: None  # cancelled
    frame.export_csv_action.trigger()
    frame.choose_path = lambda *args: tmp_path / "latency.csv" / "x.csv"
    frame.export_csv_action.trigger()
    assert len(errors) == 1
    assert errors[0][0] == "Export CSV failed"
    assert "x.csv" in errors[0][1]


def test_export_actions_only_for_charts(qtbot: QtBot) -> None:
    frame = PanelFrame("notes", QLabel("hello"))
    qtbot.addWidget(frame)
    assert not frame.export_png_action.isVisible()
    assert not frame.export_csv_action.isVisible()
    assert frame.title_label.text() == "notes"
    assert frame.header.isVisibleTo(frame)


def test_detach_moves_the_content_to_its_own_window_and_back(make_frame, qtbot) -> None:
    frame, chart = make_frame()

    with qtbot.waitSignal(frame.detachedChanged) as changed:
        frame.detach()

    assert changed.args == [True]
    window = frame.detached_window()
    assert frame.is_detached
    assert frame.window_of_content() is window
    assert window.isWindow() and window.windowTitle() == "p95 latency"
    assert chart.window() is window
    assert frame.placeholder.isVisible()
    qtbot.waitExposed(window)
    window.setGeometry(window.x(), window.y(), 500, 260)

    deleted = deletion_recorder(window)
    with qtbot.waitSignal(frame.detachedChanged):
        window.close()
    qtbot.waitUntil(lambda: bool(deleted))

    assert not frame.is_detached
    assert chart.parent() is frame
    assert chart.isVisible()
    assert not frame.placeholder.isVisible()
    assert frame.window_of_content() is frame.window()

    frame.detach()  # the window opens where it was
    assert frame.detached_window().size().toTuple() == (500, 260)
    with qtbot.waitSignal(frame.detachedChanged):
        frame.bring_back.click()
    assert chart.parent() is frame


def test_frame_deleted_while_detached_closes_its_window(make_frame, qtbot) -> None:
    frame, chart = make_frame(closed_by_test=False)
    frame.detach()
    qtbot.waitExposed(frame.detached_window())
    deleted = [deletion_recorder(w) for w in (frame.detached_window(), chart, frame)]

    frame.deleteLater()

    qtbot.waitUntil(lambda: all(deleted))
    assert not any(w.isWindow() and w.isVisible() for w in QApplication.topLevelWidgets())


def test_pin_to_dashboard(make_frame, qtbot) -> None:
    frame, _ = make_frame()
    assert not frame.pin_action.isVisible()

    frame.set_pinnable(True)
    assert frame.pin_action.isVisible()
    with qtbot.waitSignal(frame.pinRequested):
        frame.pin_action.trigger()


# -- theme -------------------------------------------------------------------------------------


def test_chart_follows_the_palette(make_chart) -> None:
    chart = make_chart()
    chart.set_lines({"v7": (times(3), np.ones(3))})
    chart.set_annotations([Annotation(T0, AnnotationKind.ALERT, "p95 above SLO")])

    for window, text, variant in (("#16181d", "#e6e8ec", 0), ("#f5f6f8", "#1f2328", 1)):
        palette = chart.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(window))
        palette.setColor(QPalette.ColorRole.WindowText, QColor(text))
        chart.setPalette(palette)

        assert chart.plot_widget.backgroundBrush().color() == QColor(window)
        assert chart.plot_item.getAxis("left").textPen().color() == QColor(text)
        slot = next(
            i for i, pair in enumerate(LINE_COLOURS) if chart.colour_of("v7").name() in pair
        )
        assert curves(chart)["v7"].opts["pen"].color() == QColor(LINE_COLOURS[slot][variant])
        mark = chart.annotation_lines()[0]
        assert mark.pen.color() == MARK_STYLES[AnnotationKind.ALERT].colour(variant == 0)
