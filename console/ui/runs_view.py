"""The Runs tab: a suite run's live progress and results, its history, comparison and export."""

from datetime import UTC, datetime

import numpy as np
from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.domain.suite_results import RunComparison, RunInfo
from console.services.suite_runner import RunSummary
from console.ui.case_detail import CaseDetail
from console.ui.charts import TimeChart
from console.ui.file_dialogs import ChoosePath, ask_save_path
from console.ui.run_compare import RunCompareTable
from console.ui.shadow_dialog import ShadowDialog
from console.viewmodels.suite_runs import ExportFormat, SuiteRunsViewModel

ROW_HEIGHT = 22
_EXPORTS = (
    (ExportFormat.JUNIT, "JUnit XML…", "junit.xml", "JUnit XML (*.xml)"),
    (ExportFormat.JSON, "JSON…", "run.json", "JSON (*.json)"),
    (ExportFormat.CSV, "CSV…", "run.csv", "CSV (*.csv)"),
)


class RunsView(QWidget):
    """Shows a SuiteRunsViewModel; ``save_path`` asks where exports go (tests replace it)."""

    def __init__(
        self,
        model: SuiteRunsViewModel,
        *,
        save_path: ChoosePath = ask_save_path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("runsView")
        self.model = model
        self.save_path = save_path
        self.title = QLabel("No run yet: click “Run smoke suite” on a deployment.")
        self.title.setObjectName("detailTitle")
        self.status = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m")
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setEnabled(False)
        self.shadow_button = QPushButton("Shadow run…")
        self.shadow_button.setToolTip(
            "Run this deployment's suite against production and a candidate endpoint, "
            "and compare them case by case"
        )
        self.shadow_button.setEnabled(False)
        self.failures_only = QCheckBox("Failures only")
        self.table = QTableView()
        self.table.setModel(model.failures)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(ROW_HEIGHT)
        rows.hide()
        columns = self.table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        columns.setStretchLastSection(True)
        for column, width in enumerate((70, 320, 220, 90, 90)):
            self.table.setColumnWidth(column, width)
        self.export_buttons = {kind: QPushButton(label) for kind, label, _name, _filter in _EXPORTS}
        self.case_detail = CaseDetail()
        self.history = QListWidget()
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.compare_button = QPushButton("Compare the two selected runs")
        self.compare_button.setEnabled(False)
        self.compare_table = RunCompareTable()
        self.compare_caption = QLabel("Select two runs in the history to compare them.")
        self.compare_caption.setWordWrap(True)
        self.pass_rate_chart = TimeChart("Pass rate", "%")
        self.sections = QTabWidget()
        self.sections.setDocumentMode(True)
        self._build()
        self._connect()
        self._set_exportable(model.exportable)

    def _build(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.status)
        header.addWidget(self.progress)
        header.addWidget(self.cancel_button)
        header.addWidget(self.shadow_button)
        tools = QHBoxLayout()
        tools.addWidget(self.failures_only)
        tools.addStretch(1)
        tools.addWidget(QLabel("Export:"))
        for button in self.export_buttons.values():
            tools.addWidget(button)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addLayout(tools)
        results_layout.addWidget(self.table)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(results)
        split.addWidget(self.case_detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        compare = QWidget()
        compare_layout = QVBoxLayout(compare)
        compare_layout.addWidget(self.compare_caption)
        compare_layout.addWidget(self.compare_table)
        self.sections.addTab(split, "Results")
        self.sections.addTab(compare, "Compare")
        self.sections.addTab(self.pass_rate_chart, "Pass rate")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("History of this deployment"))
        side_layout.addWidget(self.history, 1)
        side_layout.addWidget(self.compare_button)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(side)
        body.addWidget(self.sections)
        body.setStretchFactor(1, 4)
        body.setSizes([340, 1000])
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(body, 1)

    def _connect(self) -> None:
        model = self.model
        model.started.connect(self._on_started)
        model.progressed.connect(self._on_progressed)
        model.finished.connect(self._on_finished)
        model.failed.connect(self._on_failed)
        model.historyChanged.connect(self._show_history)
        model.passRatesChanged.connect(self._show_pass_rates)
        model.comparisonReady.connect(self._show_comparison)
        model.exported.connect(lambda path: self.status.setText(f"Exported {path}"))
        self.cancel_button.clicked.connect(model.cancel)
        self.shadow_button.clicked.connect(self.ask_shadow_run)
        self.failures_only.toggled.connect(model.failures.set_failures_only)
        self.table.selectionModel().selectionChanged.connect(self._on_case_selected)
        self.history.itemSelectionChanged.connect(self._on_history_selected)
        self.history.itemActivated.connect(self._on_history_activated)
        self.compare_button.clicked.connect(self._compare_selected)
        for kind, _label, name, file_filter in _EXPORTS:
            self.export_buttons[kind].clicked.connect(
                lambda _=False, k=kind, n=name, f=file_filter: self._export(k, n, f)
            )

    def _set_exportable(self, on: bool) -> None:
        for button in self.export_buttons.values():
            button.setEnabled(on)

    def ask_shadow_run(self) -> ShadowDialog | None:
        """Ask for a candidate endpoint, then run the suite against both (opens a dialog)."""
        shown = self.model.shown
        if shown is None or self.model.running:
            return None
        dialog = ShadowDialog(shown.deployment, demo=self.model.demo, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self.model.start(shown.deployment, candidate=dialog.candidate())
        )
        dialog.open()
        return dialog

    def _on_started(self, deployment: str) -> None:
        self.shadow_button.setEnabled(False)
        self.title.setText(f"Smoke suite on {deployment}")
        self.status.setText("starting…")
        self.progress.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self._set_exportable(False)
        self.case_detail.show_record(None, self.model.redactor)
        self.sections.setCurrentIndex(0)

    def _on_progressed(self, done: int, planned: int) -> None:
        self.shadow_button.setEnabled(self.model.shown is not None and not self.model.running)
        self.progress.setRange(0, max(planned, 1))
        self.progress.setValue(done)
        self._set_exportable(self.model.exportable)
        shown = self.model.shown
        if self.model.running:
            self.status.setText(f"running: {done} of {planned}")
        elif shown is not None and shown.info is not None:
            self._show_info(shown.info)

    def _on_finished(self, summary: RunSummary) -> None:
        self.cancel_button.setEnabled(False)
        self.shadow_button.setEnabled(True)
        self._set_exportable(True)
        self._show_info(summary.info)

    def _show_info(self, info: RunInfo) -> None:
        tally = info.tally
        version = f" ({info.model_version})" if info.model_version else ""
        self.title.setText(f"Smoke suite on {info.target}{version} · run #{info.id}")
        self.status.setText(
            f"{info.status.value}: {tally.passed} passed, {tally.failed} failed, "
            f"{tally.errors} errors ({tally.pass_rate:.0%})"
        )

    def _on_failed(self, message: str) -> None:
        if not self.model.running:
            self.cancel_button.setEnabled(False)
            self.progress.setRange(0, 1)
            self.shadow_button.setEnabled(self.model.shown is not None)
        self.status.setText(message)

    def _on_case_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        source = self.model.failures.mapToSource(indexes[0])
        self.case_detail.show_record(self.model.results.record(source.row()), self.model.redactor)

    def _show_history(self) -> None:
        self.history.clear()
        for info in self.model.runs():
            item = QListWidgetItem(_run_label(info))
            item.setData(Qt.ItemDataRole.UserRole, info.id)
            self.history.addItem(item)

    def _show_pass_rates(self) -> None:
        points = self.model.pass_rates()
        shown = self.model.shown
        name = shown.deployment if shown is not None else "pass rate"
        self.pass_rate_chart.set_lines(
            {
                name: (
                    np.array([p.started_at for p in points], dtype=float),
                    np.array([p.pass_rate * 100 for p in points], dtype=float),
                )
            }
            if points
            else {}
        )

    def _selected_run_ids(self) -> list[int]:
        return [int(item.data(Qt.ItemDataRole.UserRole)) for item in self.history.selectedItems()]

    def _on_history_selected(self) -> None:
        self.compare_button.setEnabled(len(self._selected_run_ids()) == 2)

    def _on_history_activated(self, item: QListWidgetItem) -> None:
        self.model.show_run(int(item.data(Qt.ItemDataRole.UserRole)))

    def _compare_selected(self) -> None:
        ids = sorted(self._selected_run_ids())
        if len(ids) == 2:
            self.model.compare(ids[0], ids[1])

    def _show_comparison(self, comparison: RunComparison) -> None:
        self.compare_table.show_comparison(comparison)
        self.compare_caption.setText(
            f"{self.model.comparison_title}: {len(comparison.regressions)} pass → fail, "
            f"{len(comparison.fixes)} fail → pass, "
            f"{len(comparison.still_failing)} still failing, "
            f"{comparison.unchanged_passing} still passing"
        )
        self.sections.setCurrentIndex(1)

    def _export(self, kind: ExportFormat, suggested: str, file_filter: str) -> None:
        path = self.save_path(self, "Export run", suggested, file_filter)
        if path is not None:
            self.model.export(kind, path)


def _run_label(info: RunInfo) -> str:
    when = datetime.fromtimestamp(info.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    version = f" {info.model_version}" if info.model_version else ""
    tally = info.tally
    return f"#{info.id} {when}{version} · {info.status.value} · {tally.passed}/{tally.total}"
