"""The drift panel (points by status, threshold bands, inconclusive steps, heatmap, click-through
to both histograms and each bucket's contribution), the fleet badge, its crossing signal, and
the notification toasts."""

import math
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from console.config.settings import DriftSetting, Profile
from console.domain.drift import DriftMetric, DriftStatus, DriftThresholds, judge
from console.domain.fleet import DeploymentInfo
from console.domain.series import SeriesKey
from console.qtbridge.runner import AsyncRunner
from console.services.drift import DriftService, ReferenceRange, VersionBaseline
from console.services.drift_watch import DriftWatch
from console.ui.charts.palette import is_dark
from console.ui.drift_badge import DriftBadge
from console.ui.drift_style import status_colour
from console.ui.drift_view import DriftView
from console.ui.notifications import MAX_TOASTS, NotificationStack, drift_crossing_notice
from console.viewmodels.drift import DriftViewModel, DriftWatchModel
from console.viewmodels.refresh import RefreshEngine
from tests.support.fake_backend import FakeBackend, FakeHistogram

HOUR = 3600.0
NOW = 1_764_000_000.0 + 600.0
CHANGE_AT = NOW - 600.0 - 2.5 * HOUR
BOUNDS = (10.0, 100.0, 1000.0, math.inf)
BEFORE = (4.0, 3.0, 2.0, 1.0)
AFTER = (0.5, 1.5, 3.0, 5.0)
QUIET = (0.005, 0.005, 0.005, 0.005)  # 72 samples an hour: below the minimum of 100
WAIT_MS = 10_000
PROFILE = Profile(name="lab", prometheus_url="http://127.0.0.1:9")


@pytest.fixture
def backend() -> FakeBackend:
    fake = FakeBackend()
    fake.deployments = [
        DeploymentInfo("chat", "vllm", ("v2",)),
        DeploymentInfo("quiet", "vllm", ("v1",)),
        DeploymentInfo("canary", "vllm", ("v7", "v8")),
    ]
    fake.histograms["output_tokens"] = {
        SeriesKey("chat"): FakeHistogram(BOUNDS, BEFORE, AFTER, CHANGE_AT),
        SeriesKey("quiet"): FakeHistogram(BOUNDS, QUIET),
        SeriesKey("canary"): FakeHistogram(BOUNDS, BEFORE),
        SeriesKey("canary", "v7"): FakeHistogram(BOUNDS, BEFORE),
        SeriesKey("canary", "v8"): FakeHistogram(BOUNDS, AFTER),
    }
    fake.histories["chat"] = [(-math.inf, ("v1",)), (CHANGE_AT, ("v2",))]
    return fake


@pytest.fixture
def engine(runner: AsyncRunner) -> Iterator[RefreshEngine]:
    refresh = RefreshEngine(runner, interval_s=3600.0)
    yield refresh
    refresh.stop()


@pytest.fixture
def open_view(qtbot, engine, backend) -> Callable[..., DriftView]:
    def open_(deployment: str = "chat", profile: Profile = PROFILE, **kwargs: object) -> DriftView:
        model = DriftViewModel(
            engine,
            DriftService(backend, clock=lambda: NOW),
            profile=profile,
            deployment=deployment,
            range_s=8 * HOUR,
            window_s=HOUR,
            clock=lambda: NOW,
            **kwargs,  # type: ignore[arg-type]
        )
        view = DriftView(model)
        qtbot.addWidget(view)
        view.resize(1100, 1000)
        view.show()
        qtbot.waitUntil(lambda: bool(shown_points(view)), timeout=WAIT_MS)
        return view

    return open_


def shown_points(view: DriftView) -> dict[float, tuple[float, DriftStatus, str, bool]]:
    """Each point drawn, by time: its y, status, outline colour and whether it is filled."""
    return {
        spot.pos().x(): (
            spot.pos().y(),
            status,
            spot.pen().color().name(),
            spot.brush().style() != Qt.BrushStyle.NoBrush,
        )
        for status, item in view.points.items()
        for spot in item.points()
    }


def test_points_are_coloured_by_status_between_bands_at_the_thresholds(open_view) -> None:
    view = open_view()
    series = view.model.data().series
    dark = is_dark(view.palette())

    statuses = list(series.statuses)
    assert DriftStatus.ALERT in statuses and DriftStatus.OK in statuses
    for point, status in zip(series.points, statuses, strict=True):
        expected = judge(
            point.value,
            DriftThresholds(0.1, 0.25),
            baseline_count=point.baseline_count,
            current_count=point.current_count,
        )
        assert status is expected
    points = shown_points(view)
    assert sorted(points) == series.timestamps.tolist()
    for t, value, status in zip(series.timestamps, series.values, statuses, strict=True):
        assert points[t] == (pytest.approx(value), status, status_colour(status, dark).name(), True)
    assert view.warn_band.isVisible() and view.alert_band.isVisible()
    assert view.warn_band.getRegion() == pytest.approx((0.1, 0.25))
    assert view.alert_band.getRegion()[0] == pytest.approx(0.25)
    top = view.chart.view_box.viewRange()[1][1]
    assert view.alert_band.getRegion()[1] == pytest.approx(top)
    assert "ALERT" in view.status_word.text() or "OK" in view.status_word.text()


def test_levels_set_in_the_profile_move_the_bands_and_the_statuses(open_view) -> None:
    lenient = Profile(
        name="lab",
        prometheus_url="http://127.0.0.1:9",
        drift=(DriftSetting("output_tokens", DriftMetric.PSI, DriftThresholds(5.0, 10.0)),),
    )
    view = open_view(profile=lenient)
    assert view.warn_band.getRegion() == pytest.approx((5.0, 10.0))
    statuses = set(view.model.data().series.statuses)
    assert statuses == {DriftStatus.OK}
    assert "warn 5 · alert 10" in view.summary.text()


def test_switching_to_js_uses_its_levels(qtbot, open_view) -> None:
    view = open_view()
    index = view.metric_box.findData(DriftMetric.JS)
    view.metric_box.setCurrentIndex(index)
    view.metric_box.activated.emit(index)
    qtbot.waitUntil(
        lambda: (
            (s := view.model.data()) is not None
            and s.series is not None
            and s.series.metric is DriftMetric.JS
        ),
        timeout=WAIT_MS,
    )
    assert view.warn_band.getRegion() == pytest.approx((0.1, 0.2))
    assert view.chart.title_label.text() == "Drift · JS distance"


def test_inconclusive_points_are_hollow_grey_and_explained(qtbot, open_view) -> None:
    view = open_view("quiet")
    series = view.model.data().series
    grey = status_colour(DriftStatus.INCONCLUSIVE, is_dark(view.palette())).name()

    assert set(series.statuses) == {DriftStatus.INCONCLUSIVE}
    points = shown_points(view)
    assert len(points) == series.timestamps.size
    assert {(status, colour, filled) for _, status, colour, filled in points.values()} == {
        (DriftStatus.INCONCLUSIVE, grey, False)
    }
    assert f"{series.timestamps.size} of {series.timestamps.size} windows are inconclusive" in (
        view.caption.text()
    )
    view.model.select(float(series.timestamps[-1]))
    assert "fewer than 100 samples" in view.compare.caption.text()


def test_heatmap_has_a_cell_per_step_and_bucket(open_view) -> None:
    view = open_view()
    data = view.model.data()
    steps = data.series.timestamps.size
    assert view.heatmap.image_shape() == (steps, len(BOUNDS))
    shown = view.heatmap.image.image
    assert np.allclose(shown, data.current_shares, equal_nan=True)
    assert shown[-1] == pytest.approx(np.array(AFTER) / sum(AFTER))
    labels = [text for _, text in view.heatmap.plot_item.getAxis("left")._tickLevels[0]]
    assert labels == ["≤ 10", "≤ 100", "≤ 1k", "> 1k"]


def click_point(qtbot, view: DriftView, x: float) -> None:
    y = shown_points(view)[x][0]
    scene = view.chart.view_box.mapViewToScene(QPointF(x, y))
    position = view.chart.plot_widget.mapFromScene(scene)
    qtbot.mouseClick(view.chart.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=position)


@pytest.mark.parametrize("metric", [DriftMetric.PSI, DriftMetric.JS])
def test_clicking_a_point_shows_both_histograms_and_contributions_summing_to_the_score(
    qtbot, open_view, metric
) -> None:
    view = open_view(metric=metric)
    series = view.model.data().series
    index = int(np.nanargmax(series.values))

    click_point(qtbot, view, float(series.timestamps[index]))

    qtbot.waitUntil(lambda: view.compare.detail() is not None, timeout=WAIT_MS)
    detail = view.compare.detail()
    assert detail.timestamp == series.timestamps[index]
    base_counts = np.nan_to_num(series.baseline_counts[index])
    cur_counts = np.nan_to_num(series.current_counts[index])
    heights = view.compare.baseline_bars.opts["height"]
    assert heights == pytest.approx(base_counts / base_counts.sum())
    assert view.compare.current_bars.opts["height"] == pytest.approx(cur_counts / cur_counts.sum())
    assert detail.contributions.sum() == pytest.approx(series.values[index])
    rows = view.compare.table_rows()
    assert len(rows) == len(BOUNDS) + 1
    assert sum(float(row[3]) for row in rows[:-1]) == pytest.approx(
        series.values[index], abs=len(BOUNDS) * 5e-5
    )
    assert rows[-1][0] == "Sum = score" and float(rows[-1][3]) == pytest.approx(
        series.values[index], abs=5e-5
    )
    assert view.selected_ring.data["x"].tolist() == [series.timestamps[index]]


def test_version_changes_are_marked_on_the_drift_chart(open_view) -> None:
    view = open_view()
    lines = view.chart.annotation_lines()
    assert len(lines) == 1
    assert lines[0].value() == pytest.approx(CHANGE_AT, abs=8 * HOUR / 600)


def test_a_version_baseline_can_be_picked_when_two_versions_serve(qtbot, open_view) -> None:
    view = open_view("canary")
    qtbot.waitUntil(lambda: view.baseline_box.count() == 4, timeout=WAIT_MS)
    index = view.baseline_box.findData("v7")
    assert view.baseline_box.itemText(index) == "version v7 vs v8"
    view.baseline_box.setCurrentIndex(index)
    view.baseline_box.activated.emit(index)

    def compared() -> bool:
        data = view.model.data()
        return data is not None and data.series is not None and data.series.current_version == "v8"

    qtbot.waitUntil(compared, timeout=WAIT_MS)
    assert view.model.query.baseline == VersionBaseline("v7")
    assert "against version v7 (current: v8)" in view.summary.text()
    assert set(view.model.data().series.statuses) == {DriftStatus.ALERT}


def test_a_fixed_reference_range_starts_a_week_back_and_can_be_edited(qtbot, open_view) -> None:
    view = open_view()
    assert not view.reference_row.isVisible()
    index = view.baseline_box.findData("reference")
    view.baseline_box.setCurrentIndex(index)
    view.baseline_box.activated.emit(index)

    baseline = view.model.query.baseline
    assert isinstance(baseline, ReferenceRange)
    assert baseline.end - baseline.start == 8 * HOUR
    assert baseline.end == pytest.approx(time.time() - 7 * 86_400.0, abs=60)
    assert view.reference_row.isVisible()
    start = view.reference_start.dateTime()
    view.reference_end.setDateTime(start.addSecs(2 * 3600))
    view.reference_end.editingFinished.emit()
    assert view.model.query.baseline == ReferenceRange(
        float(start.toSecsSinceEpoch()), float(start.toSecsSinceEpoch() + 7200)
    )
    qtbot.waitUntil(
        lambda: (
            (d := view.model.data()) is not None
            and d.series is not None
            and d.series.baseline == view.model.query.baseline
        ),
        timeout=WAIT_MS,
    )
    assert "against the previous" not in view.summary.text()


def test_a_raw_histogram_name_can_be_typed(qtbot, open_view, backend) -> None:
    backend.histograms["vllm:e2e_request_latency_seconds"] = {
        SeriesKey("chat"): FakeHistogram(BOUNDS, BEFORE)
    }
    view = open_view()
    view.histogram_box.setEditText("  vllm:e2e_request_latency_seconds ")
    view.histogram_box.lineEdit().editingFinished.emit()

    assert view.model.query.histogram == "vllm:e2e_request_latency_seconds"
    qtbot.waitUntil(
        lambda: (
            set(shown_points(view).values()) != set()
            and view.model.data().series.histogram == "vllm:e2e_request_latency_seconds"
        ),
        timeout=WAIT_MS,
    )
    assert {status for _, status, _, _ in shown_points(view).values()} == {DriftStatus.OK}


def test_an_impossible_baseline_is_said_over_the_chart(qtbot, open_view) -> None:
    view = open_view()
    view.model.set_baseline(VersionBaseline("v1"))
    qtbot.waitUntil(lambda: view.chart.status() is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "exactly one other version" in (view.chart.status() or ""))
    assert shown_points(view) == {}


def test_the_badge_shows_the_latest_status_and_crossings_are_signalled(
    qtbot, engine, backend
) -> None:
    clock = [NOW]
    backend.histograms["output_tokens"][SeriesKey("chat")] = FakeHistogram(BOUNDS, BEFORE)
    watch = DriftWatchModel(engine, DriftWatch(backend, clock=lambda: clock[0]), profile="lab")
    badge = DriftBadge()
    qtbot.addWidget(badge)
    watch.changed.connect(lambda: badge.set_reading(watch.reading("chat")))
    crossings: list[tuple[object, ...]] = []
    watch.crossed.connect(lambda *args: crossings.append(args))
    assert watch.status("chat") is None  # hidden until a watcher shows it: nothing asked yet
    engine.set_visible(watch.panel_id, True)
    qtbot.waitUntil(lambda: watch.status("chat") is DriftStatus.OK, timeout=WAIT_MS)
    assert badge.text() == "DRIFT OK" and crossings == []
    assert watch.status("quiet") is DriftStatus.INCONCLUSIVE
    assert watch.worst() is DriftStatus.INCONCLUSIVE

    # The distribution moves half an hour before the next check.
    backend.histograms["output_tokens"][SeriesKey("chat")] = FakeHistogram(
        BOUNDS, BEFORE, AFTER, change_at=NOW
    )
    clock[0] = NOW + 1800.0
    with qtbot.waitSignal(watch.crossed, timeout=WAIT_MS) as crossed:
        engine.refresh_now()

    deployment, histogram, old, new, value = crossed.args
    assert (deployment, histogram, old, new) == ("chat", "output_tokens", "ok", "alert")
    assert value > 0.25
    assert watch.status("chat") is DriftStatus.ALERT
    assert badge.text() == "DRIFT ALERT" and "output_tokens" in badge.toolTip()
    assert watch.worst() is DriftStatus.ALERT

    engine.refresh_now()
    assert engine.is_refreshing(watch.panel_id)
    qtbot.waitUntil(lambda: not engine.is_refreshing(watch.panel_id), timeout=WAIT_MS)
    assert len(crossings) == 1  # the same status again is no crossing


def test_a_crossing_becomes_a_toast_that_opens_the_deployment(qtbot) -> None:
    from PySide6.QtWidgets import QWidget

    host = QWidget()
    qtbot.addWidget(host)
    host.resize(900, 600)
    host.show()
    stack = NotificationStack(host)
    notice = drift_crossing_notice("chat", "output_tokens", "ok", "alert", 0.42)
    assert notice.title == "chat: drift ALERT"
    assert "from ok to alert (score 0.42)" in notice.text

    toast = stack.notify(notice)
    assert stack.isVisible() and stack.geometry().right() <= host.width()
    assert stack.geometry().right() > host.width() - 40  # in the top-right corner
    with qtbot.waitSignal(stack.activated) as activated:
        qtbot.mouseClick(toast, Qt.MouseButton.LeftButton)
    assert activated.args == ["chat"]
    assert stack.toasts() == []

    for n in range(MAX_TOASTS + 2):
        stack.notify(drift_crossing_notice(f"d{n}", "latency", "warn", "ok", 0.01))
    assert [t.notice.key for t in stack.toasts()] == [f"d{n}" for n in range(5, 1, -1)]
    qtbot.mouseClick(stack.toasts()[0].close_button, Qt.MouseButton.LeftButton)
    assert len(stack.toasts()) == MAX_TOASTS - 1
