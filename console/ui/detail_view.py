"""The detail of one deployment: header, canary table, and every SLI on synced charts."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.domain.canary import CanaryComparison
from console.ui import format as fmt
from console.ui.canary_table import CanaryTable
from console.ui.card import action_button, repolish, set_action_denial
from console.ui.charts import ChartGroup, PanelFrame, TimeChart
from console.ui.elided_label import ElidedLabel
from console.ui.live_chart import show_chart_state
from console.ui.panel_visibility import watch_visibility
from console.viewmodels.actions import ACTION_LABELS
from console.viewmodels.detail import DetailViewModel
from console.viewmodels.fleet import CardState
from console.viewmodels.refresh import PanelState, PanelStatus

CHART_COLUMNS = 2
FRAME_HEIGHT_PX = 260
"""Every chart frame has this height: two rows of charts fit a laptop screen."""


class DetailView(QWidget):
    """Shows a DetailViewModel: every chart in one ChartGroup (synced zoom, pan, crosshair).

    ``pinRequested(deployment, chart_id)`` asks to pin a chart to the dashboard;
    ``backRequested`` asks to return to the fleet; ``runSuiteRequested(deployment)`` asks
    to run the deployment's smoke suite.
    """

    pinRequested = Signal(str, str)
    backRequested = Signal()
    runSuiteRequested = Signal(str)
    actionRequested = Signal(str, str)
    """(kind, deployment): the Roll back or Fail over button was clicked."""

    def __init__(
        self,
        model: DetailViewModel,
        drift: QWidget | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("detailView")
        self.model = model
        self.drift = drift
        self.sections = QTabWidget()
        self.sections.setObjectName("detailSections")
        self.sections.setDocumentMode(True)
        self.back_button = QPushButton("← Fleet")
        self.back_button.setToolTip("Back to the fleet (Esc)")
        self.run_suite_button = QPushButton("Run smoke suite")
        self.run_suite_button.setToolTip("Run the suite bound to this deployment (Runs tab)")
        self.action_buttons = {
            kind: action_button(kind, label, model.deployment)
            for kind, label in ACTION_LABELS.items()
        }
        for button in self.action_buttons.values():
            button.clicked.connect(self._on_action_clicked)
        self.title = _bold(QLabel(), 1.3)
        self.title.setObjectName("detailTitle")
        self.status_word = QLabel()
        self.status_word.setObjectName("statusWord")
        self.stale_badge = QLabel("STALE")
        self.stale_badge.setObjectName("staleBadge")
        self.stale_badge.hide()
        self.engine = QLabel()
        self.engine.setObjectName("engine")
        self.versions = ElidedLabel()
        self.versions.setObjectName("versions")
        self.error = ElidedLabel()
        self.error.setObjectName("cardError")
        self.error.hide()
        self.canary_caption = QLabel()
        self.canary_caption.setObjectName("caption")
        self.canary_caption.setWordWrap(True)
        self.canary_table = CanaryTable()
        self.canary_table.hide()
        self.group = ChartGroup(self)
        self.charts: dict[str, TimeChart] = {}
        self.frames: dict[str, PanelFrame] = {}
        self._titles = {spec.chart_id: spec.title for spec in model.charts()}
        self._build()
        model.chartChanged.connect(self._show_chart)
        model.annotationsChanged.connect(self._show_annotations)
        model.canaryChanged.connect(self._show_canary)
        model.queryChanged.connect(self._on_query_changed)
        self.back_button.clicked.connect(self.backRequested)
        self.run_suite_button.clicked.connect(
            lambda: self.runSuiteRequested.emit(self.model.deployment)
        )
        engine = model.engine
        for chart_id, chart in self.charts.items():
            # The chart, not its frame: a detached chart lives in its own window.
            watch_visibility(chart, engine, model.panel_id(chart_id))
        watch_visibility(self, engine, model.annotations_panel_id)
        watch_visibility(self.canary_caption, engine, model.canary_panel_id)
        self._show_header(None)
        for chart_id in self.charts:
            self._show_chart(chart_id)
        self._show_annotations()
        self._show_canary()

    def _build(self) -> None:
        header = QHBoxLayout()
        header.setSpacing(16)
        header.addWidget(self.back_button)
        header.addWidget(self.title)
        header.addWidget(self.engine)
        header.addWidget(self.versions, 1)
        header.addWidget(self.stale_badge)
        header.addWidget(self.status_word)
        for button in self.action_buttons.values():
            header.addWidget(button)
        header.addWidget(self.run_suite_button)
        content = QWidget()
        content.setObjectName("detailContent")
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 8, 8)
        canary_title = _bold(QLabel("Canary vs stable"))
        column.addWidget(canary_title)
        column.addWidget(self.canary_caption)
        column.addWidget(self.canary_table)
        grid = QGridLayout()
        grid.setSpacing(8)
        for index, spec in enumerate(self.model.charts()):
            chart = TimeChart(spec.title, self.model.unit(spec.chart_id))
            frame = PanelFrame(spec.title, chart)
            frame.setFixedHeight(FRAME_HEIGHT_PX)
            frame.set_pinnable(True)
            frame.pinRequested.connect(lambda chart_id=spec.chart_id: self._pin(chart_id))
            self.group.add(chart)
            self.charts[spec.chart_id] = chart
            self.frames[spec.chart_id] = frame
            row, col = divmod(index, CHART_COLUMNS)
            grid.addWidget(frame, row, col)
        for col in range(CHART_COLUMNS):
            grid.setColumnStretch(col, 1)
        column.addLayout(grid)
        self._below_charts = QVBoxLayout()
        column.addLayout(self._below_charts)
        column.addStretch(1)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("detailScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.error)
        self.sections.addTab(self.scroll_area, "Live charts")
        if self.drift is not None:
            self.sections.addTab(self.drift, "Drift")
        else:
            self.sections.tabBar().hide()
        layout.addWidget(self.sections, 1)

    def add_below_charts(self, widget: QWidget) -> None:
        """Show ``widget`` under the charts, in the Live charts section."""
        self._below_charts.addWidget(widget)

    def leading_view_box(self) -> object:
        """The pyqtgraph ViewBox whose time range every chart follows."""
        return self.group.charts()[0].view_box

    def show_time(self, at: float) -> None:
        """Bring the Live charts to the front with the crosshair on ``at`` (Unix seconds)."""
        self.sections.setCurrentWidget(self.scroll_area)
        self.scroll_area.verticalScrollBar().setValue(0)
        for chart in self.group.charts():
            chart.show_crosshair(at)

    def show_drift(self) -> None:
        """Bring the Drift section to the front (when the view has one)."""
        if self.drift is not None:
            self.sections.setCurrentWidget(self.drift)

    def set_card(self, state: CardState | None) -> None:
        """Show the fleet's latest reading of the deployment in the header."""
        self._show_header(state)

    def set_action_denial(self, reason: str | None) -> None:
        """Disable Roll back and Fail over with ``reason`` as tooltip (None: enable)."""
        set_action_denial(self.action_buttons.values(), self.model.deployment, reason)

    def _on_action_clicked(self) -> None:
        self.actionRequested.emit(self.sender().property("actionKind"), self.model.deployment)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.model.set_width(max(1, event.size().width() // CHART_COLUMNS))

    def _on_query_changed(self) -> None:
        self.title.setText(self.model.deployment)
        self.group.reset()  # a zoom into the previous range means nothing in the new one

    def _pin(self, chart_id: str) -> None:
        self.pinRequested.emit(self.model.deployment, chart_id)

    def _show_header(self, state: CardState | None) -> None:
        self.title.setText(self.model.deployment)
        if state is None:
            self.engine.setText("")
            self.versions.set_full_text("")
            self.status_word.setText("")
            self.stale_badge.hide()
            self.error.hide()
            return
        reading = state.reading
        word = fmt.STATUS_WORDS[reading.status]
        self.engine.setText(f"engine: {reading.engine}")
        self.versions.set_full_text(f"serving {fmt.versions(reading.versions)}")
        self.status_word.setText(word)
        self.status_word.setToolTip(f"Status: {word.lower()}")
        repolish(self.status_word, "status", reading.status.value)
        self.stale_badge.setVisible(state.stale)
        self.error.set_full_text(state.error or "")
        self.error.setVisible(state.error is not None)

    def _show_chart(self, chart_id: str) -> None:
        show_chart_state(
            self.charts[chart_id], self._titles[chart_id], self.model.chart_state(chart_id)
        )

    def _show_annotations(self) -> None:
        marks = self.model.annotations()
        for chart in self.charts.values():
            chart.set_annotations(marks)

    def _show_canary(self) -> None:
        state = self.model.canary_state()
        comparison = self.model.canary()
        self.canary_table.set_comparison(comparison)
        self.canary_table.setVisible(comparison is not None)
        self.canary_caption.setText(_canary_caption(state, comparison))


def _bold(label: QLabel, scale: float = 1.0) -> QLabel:
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    return label


def _canary_caption(state: PanelState, comparison: CanaryComparison | None) -> str:
    if comparison is not None:
        text = _comparison_text(comparison)
    elif state.status is PanelStatus.LIVE:
        text = "One version serves: there is no canary to compare."
    else:
        text = ""
    if state.status is not PanelStatus.LIVE and state.message:
        return f"{state.message}\n{text}".strip()
    return text


def _comparison_text(comparison: CanaryComparison) -> str:
    def named(version: str) -> str:
        share = comparison.shares.get(version)
        return version if share is None else f"{version} ({share:.0%})"

    canaries = ", ".join(named(v) for v in comparison.canary_versions)
    return (
        f"Stable {named(comparison.stable_version)} against canary {canaries}, over the last "
        f"{fmt.span(comparison.window_s)}. A row is inconclusive while either side served "
        f"fewer than {comparison.min_requests:.0f} requests in that window or has no data."
    )
