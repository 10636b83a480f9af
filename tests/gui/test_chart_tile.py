"""ChartTile: the light dashboard chart draws lines per version, marks, values, exports."""

import csv
import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from console.domain.annotations import Annotation, AnnotationKind
from console.ui.charts import PanelFrame
from console.ui.charts.chart_tile import ChartTile, _nice_range, _ticks

T0 = 1.795e9
TIMES = T0 + np.arange(180) * 20.0


@pytest.fixture
def tile(qtbot) -> ChartTile:
    chart = ChartTile("support-chat · Request rate", "req/s")
    qtbot.addWidget(chart)
    chart.resize(320, 200)
    chart.show()
    qtbot.waitExposed(chart)
    return chart


def lines(offset: float = 0.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    first = 10 + np.sin(TIMES / 300) + offset
    first[50:60] = np.nan
    return {"v41": (TIMES, first), "v42": (TIMES, np.full(TIMES.size, 3.0))}


def test_lines_are_drawn_in_their_colours_and_equal_data_draws_nothing(qtbot, tile) -> None:
    tile.set_lines(lines())
    image = tile.grab().toImage()
    pixels = [image.pixelColor(x, y) for x in range(image.width()) for y in range(40, 180)]
    for name in ("v41", "v42"):
        want = tile.colour_of(name)
        # antialiased: a line between two pixel rows is drawn half strength on each
        assert any(abs(p.hueF() - want.hueF()) < 0.03 and p.saturationF() > 0.2 for p in pixels), (
            name
        )
    assert "v41" in tile.readout_text() and "v42" in tile.readout_text()
    redrawn: list[bool] = []
    tile.plot.data_changed = lambda: redrawn.append(True)  # type: ignore[method-assign]
    tile.set_lines({name: (t.copy(), v.copy()) for name, (t, v) in lines().items()})
    assert redrawn == []
    tile.set_lines(lines(offset=1.0))
    assert redrawn == [True]


def test_a_line_that_goes_away_is_removed_and_bad_shapes_name_the_line(tile) -> None:
    tile.set_lines(lines())
    tile.set_lines({"v42": lines()["v42"]})
    assert set(tile.lines()) == {"v42"}
    with pytest.raises(ValueError, match="v9"):
        tile.set_lines({"v9": (TIMES, np.zeros(3))})


def test_the_crosshair_reads_each_version_at_the_cursor(qtbot, tile) -> None:
    tile.set_lines(lines())
    frame = tile.plot.frame()
    assert frame is not None
    x_px = frame.x_px(float(TIMES[100]) + 5)
    qtbot.mouseMove(tile.plot, QPoint(round(x_px), 50))
    qtbot.waitUntil(lambda: tile.crosshair_x() is not None)
    at = tile.crosshair_x()
    assert at is not None and abs(at - (TIMES[100] + 5)) < 20
    values = tile.values_at(at)
    assert values["v42"] == 3.0
    assert "3 req/s" in tile.readout_text()
    assert tile.values_at(float(TIMES[55]))["v41"] is None  # a gap reads as no value


def test_marks_are_drawn_and_their_text_is_the_tooltip_near_them(qtbot, tile) -> None:
    tile.set_lines(lines())
    mark = Annotation(float(TIMES[90]), AnnotationKind.VERSION_CHANGE, "v42 rolled out")
    tile.set_annotations([mark])
    assert tile.annotations() == (mark,)
    frame = tile.plot.frame()
    assert frame is not None
    tile.show_crosshair(mark.at)
    assert "v42 rolled out" in tile.plot.toolTip()
    tile.show_crosshair(float(TIMES[10]))
    assert tile.plot.toolTip() == ""


def test_status_overlay_and_double_click_asks_for_the_full_chart(qtbot, tile) -> None:
    tile.set_status("paused: backend unavailable")
    assert tile.status() == "paused: backend unavailable"
    tile.set_status(None)
    assert tile.status() is None
    with qtbot.waitSignal(tile.activated, timeout=2000):
        qtbot.mouseDClick(tile.plot, Qt.MouseButton.LeftButton, pos=QPoint(100, 50))


def test_exports_csv_and_png_through_its_panel_frame(tmp_path, tile) -> None:
    tile.set_lines(lines())
    frame = PanelFrame(tile.title, tile)
    assert frame.export_csv_action.isVisible() and frame.export_png_action.isVisible()
    tile.export_csv(tmp_path / "chart.csv")
    rows = list(csv.reader((tmp_path / "chart.csv").read_text().splitlines()))
    assert rows[0] == ["time_utc", "unix_s", "v41", "v42"]
    assert len(rows) == 1 + TIMES.size
    assert rows[51][2] == ""  # NaN is an empty cell
    tile.export_png(tmp_path / "chart.png")
    assert not QImage(str(tmp_path / "chart.png")).isNull()


@pytest.mark.parametrize(
    ("low", "high"), [(0.0, 7.3), (2.0, 3.0), (-1.5, 4.0), (0.0, 0.0), (1e-4, 3e-4), (5.0, 5.0)]
)
def test_the_value_range_holds_the_data_with_round_ticks(low: float, high: float) -> None:
    bottom, top = _nice_range(low, high)
    assert bottom <= min(low, 0.0) and top >= high and top > bottom
    ticks = _ticks(bottom, top)
    assert 2 <= len(ticks) <= 6
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0])
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m) for m in (1.0, 2.0, 5.0))
