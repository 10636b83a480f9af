"""watch_visibility: show/hide, minimised windows, scrolling out of view, reparenting, deletion."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from console.ui.panel_visibility import watch_visibility


class Sink:
    """Stands in for the RefreshEngine: records each report."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, bool]] = []

    def set_visible(self, panel_id: str, visible: bool) -> None:
        self.reports.append((panel_id, visible))

    def last(self) -> bool | None:
        return self.reports[-1][1] if self.reports else None


def panel(parent: QWidget | None = None) -> QLabel:
    label = QLabel("chart", parent)
    label.setMinimumSize(200, 120)
    return label


def window_with_panel(qtbot) -> tuple[QWidget, QLabel]:
    window = QWidget()
    qtbot.addWidget(window)
    chart = panel()
    QVBoxLayout(window).addWidget(chart)
    return window, chart


def test_reports_show_and_hide_once_each(qtbot) -> None:
    window, chart = window_with_panel(qtbot)
    sink = Sink()
    watch_visibility(chart, sink, "p")
    assert sink.reports == [("p", False)]  # not shown yet

    window.show()
    qtbot.waitUntil(lambda: sink.last() is True, timeout=5000)
    chart.hide()
    qtbot.waitUntil(lambda: sink.last() is False, timeout=5000)
    chart.show()
    qtbot.waitUntil(lambda: sink.last() is True, timeout=5000)
    window.resize(window.width() + 50, window.height() + 50)
    window.hide()
    qtbot.waitUntil(lambda: sink.last() is False, timeout=5000)

    assert [visible for _, visible in sink.reports] == [False, True, False, True, False]


def test_a_minimised_window_hides_its_panels(qtbot) -> None:
    window, chart = window_with_panel(qtbot)
    sink = Sink()
    watch_visibility(chart, sink, "p")
    window.show()
    qtbot.waitUntil(lambda: sink.last() is True, timeout=5000)

    window.showMinimized()
    qtbot.waitUntil(lambda: sink.last() is False, timeout=5000)
    window.showNormal()
    qtbot.waitUntil(lambda: sink.last() is True, timeout=5000)


def scroll_area_with(qtbot, bottom: QWidget) -> QScrollArea:
    """A 300 px high scroll area whose content ends, 2000 px down, with ``bottom``."""
    area = QScrollArea()
    qtbot.addWidget(area)
    area.resize(300, 300)
    content = QWidget()
    column = QVBoxLayout(content)
    column.addWidget(panel())
    spacer = QWidget()
    spacer.setFixedHeight(2000)
    column.addWidget(spacer)
    column.addWidget(bottom)
    area.setWidget(content)
    return area


def test_a_panel_scrolled_out_of_view_is_not_visible(qtbot) -> None:
    bottom = panel()
    area = scroll_area_with(qtbot, bottom)
    sink = Sink()
    watch_visibility(bottom, sink, "bottom")
    area.show()
    qtbot.waitUntil(lambda: sink.last() is False and area.verticalScrollBar().maximum() > 0)

    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: sink.last() is True, timeout=5000)
    area.verticalScrollBar().setValue(0)
    qtbot.waitUntil(lambda: sink.last() is False, timeout=5000)


def test_a_panel_moved_elsewhere_follows_its_new_ancestors(qtbot) -> None:
    window, chart = window_with_panel(qtbot)
    sink = Sink()
    watch_visibility(chart, sink, "p")
    window.show()
    qtbot.waitUntil(lambda: sink.last() is True, timeout=5000)

    area = scroll_area_with(qtbot, chart)  # e.g. detached into its own scrolling window
    qtbot.waitUntil(lambda: sink.last() is False, timeout=5000)
    area.show()
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: sink.last() is True, timeout=5000)
    area.verticalScrollBar().setValue(0)
    qtbot.waitUntil(lambda: sink.last() is False, timeout=5000)
    assert not window.isAncestorOf(chart)


def test_watching_stops_when_the_widget_is_destroyed(qtbot) -> None:
    window, chart = window_with_panel(qtbot)
    sink = Sink()
    watch_visibility(chart, sink, "p")
    window.show()
    qtbot.waitUntil(lambda: sink.last() is True, timeout=5000)

    with qtbot.waitSignal(chart.destroyed, timeout=5000):
        chart.deleteLater()
    reported = len(sink.reports)
    window.setWindowState(Qt.WindowState.WindowMinimized)
    window.showNormal()
    window.resize(400, 400)
    other = panel()
    qtbot.addWidget(other)
    other_sink = Sink()
    watch_visibility(other, other_sink, "other")
    other.show()
    qtbot.waitUntil(lambda: other_sink.last() is True, timeout=5000)  # the loop did run

    assert len(sink.reports) == reported
