"""The plan dialog of a guarded rollback or failover: plan, confirm, progress, result.

It shows at once with "Planning…" and fills in when the plan arrives. OK stays disabled
until the engineer may act, a reason is typed and, on a protected profile, the
deployment's name is typed too; it is disabled again on the first click. Closing the
dialog before confirming records a cancellation in the audit log.
"""

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.audit import AuditOutcome
from console.domain.model_registry import AliasChange, ModelVersion
from console.domain.signals import Signal as Metric
from console.domain.suite_results import RunInfo
from console.services.guarded_action import (
    ActionPlan,
    ActionProgress,
    ActionResult,
    Step,
    VersionFacts,
)
from console.ui import format as fmt
from console.ui.card import repolish
from console.viewmodels.actions import ACTION_LABELS, ActionFlow

ROW_HEIGHT_PX = 24
MAX_ROWS = 8
PLANNING_TEXT = "Planning…"
STEP_TITLES = {
    Step.PERMISSION: "Permission",
    Step.PRE_CHECK: "Pre-check",
    Step.EXECUTE: "Execute",
    Step.VERIFY: "Verify",
    Step.POST_CHECK: "Post-check",
}
_STATE_MARKS = {"running": "…", "done": "✓", "failed": "✗", "skipped": "-"}
_OUTCOME_STATUS = {
    AuditOutcome.SUCCEEDED: "ok",
    AuditOutcome.UNKNOWN: "warn",
    AuditOutcome.FAILED: "alert",
    AuditOutcome.DENIED: "alert",
    AuditOutcome.CANCELLED: "no_data",
}
_FIGURES = (
    ("Requests", Metric.REQUEST_RATE, fmt.request_rate),
    ("Errors", Metric.ERROR_RATIO, fmt.error_ratio),
    ("p95 latency", Metric.P95_LATENCY, fmt.duration),
)
_FACT_ROWS = ("Version", "Created", "Status", *(row[0] for row in _FIGURES), "Last synthetic run")
_VERSION_COLUMNS = ("Version", "Created", "Status", "Aliases", "Tags", "Description")
_HISTORY_COLUMNS = ("When", "Change", "How")
VERIFY_BY_HAND_HINT = (
    "The outcome is unknown: check by hand what the deployment serves before acting again."
)


class PlanDialog(QDialog):
    """Plans ``flow``'s action, asks for the confirmation, then shows its progress and result.

    ``auditEntryRequested(id)`` asks to show an audit entry (the result's link).
    """

    auditEntryRequested = Signal(int)

    def __init__(
        self, flow: ActionFlow, *, may_override: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.flow = flow
        self.label = ACTION_LABELS[flow.kind]
        self.setWindowTitle(f"{self.label} {flow.deployment}")
        self.setObjectName("planDialog")
        self.resize(860, 800)
        self._may_override = may_override
        self._plan: ActionPlan | None = None
        self._result: ActionResult | None = None
        self.planned_at: float | None = None
        """When the plan was shown (time.perf_counter), for the benchmark."""
        # Containers first, then each widget created inside its final parent: with the
        # application stylesheet, every reparenting restyles the moved subtree again
        # (built bottom-up, the dialog took 150+ ms to construct).
        layout = QVBoxLayout(self)
        self.pages = QStackedWidget(self)
        layout.addWidget(self.pages, 1)
        plan_page = QWidget()
        self.pages.addWidget(plan_page)
        progress_page = QWidget()
        self.pages.addWidget(progress_page)
        self.buttons = QDialogButtonBox(self)
        layout.addWidget(self.buttons)
        self._build_plan_page(plan_page, flow.deployment, may_override)
        self._build_progress_page(progress_page)
        self.ok_button = self.buttons.addButton(self.label, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("confirmAction")
        self.ok_button.setEnabled(False)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self._connect()
        self._show_planning()

    # Layout

    def _build_plan_page(self, page: QWidget, deployment: str, may_override: bool) -> None:
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(page)
        scroll.setWidgetResizable(True)
        column.addWidget(scroll, 1)
        content = QWidget()
        scroll.setWidget(content)
        plan = QVBoxLayout(content)
        self.status = _wrapped("planStatus", content)
        self.status.setText(PLANNING_TEXT)
        self.headline = QLabel(content)
        self.headline.setObjectName("planHeadline")
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.headline.setFont(font)
        self.denial = _wrapped("planDenial", content)
        self.denial.hide()
        self.facts = _table(("", "Current", "Target"), content, rows=len(_FACT_ROWS))
        self.facts.setFixedHeight(ROW_HEIGHT_PX * (len(_FACT_ROWS) + 1) + 6)
        self.facts.setColumnWidth(0, 150)
        self.facts.setColumnWidth(1, 300)
        for row, name in enumerate(_FACT_ROWS):
            self.facts.setItem(row, 0, _item(name, bold=True))
        for widget in (self.status, self.headline, self.denial, self.facts):
            plan.addWidget(widget)
        form = QFormLayout()
        plan.addLayout(form)
        self.route = _wrapped("planRoute", content)
        self.notes = _wrapped("planNotes", content)
        self.target_picker = QComboBox(content)
        self.target_picker.setObjectName("targetPicker")
        form.addRow("Route", self.route)
        form.addRow("Notes", self.notes)
        form.addRow("Target version", self.target_picker)
        versions, versions_layout = _group("Versions", content)
        self.versions = _table(_VERSION_COLUMNS, versions)
        self.versions.setToolTip("Double-click a version to roll back to it")
        for index, width in enumerate((70, 130, 70, 110, 110)):
            self.versions.setColumnWidth(index, width)
        _fit_rows(self.versions)
        versions_layout.addWidget(self.versions)
        history, history_layout = _group("Alias history", content)
        self.history = _table(_HISTORY_COLUMNS, history)
        _fit_rows(self.history)
        history_layout.addWidget(self.history)
        plan.addWidget(versions)
        plan.addWidget(history)
        plan.addStretch(1)
        confirm = QGroupBox("Confirm", page)
        column.addWidget(confirm)
        self.confirm_form = confirm_form = QFormLayout(confirm)
        self.reason = QLineEdit(confirm)
        self.reason.setPlaceholderText("Why? Required; recorded in the audit log")
        self.typed_name_label = QLabel(f"Type {deployment!r} to confirm", confirm)
        self.typed_name = QLineEdit(confirm)
        self.typed_name.setPlaceholderText(deployment)
        self.precheck_note = _wrapped("planPrecheck", confirm)
        self.override = QCheckBox("Override a failing pre-check (admin; recorded)", confirm)
        self.override.setObjectName("overridePrecheck")
        confirm_form.addRow("Reason", self.reason)
        confirm_form.addRow(self.typed_name_label, self.typed_name)
        confirm_form.addRow("Pre-check", self.precheck_note)
        confirm_form.addRow("", self.override)
        confirm_form.setRowVisible(self.typed_name, False)
        confirm_form.setRowVisible(self.override, may_override)

    def _build_progress_page(self, page: QWidget) -> None:
        column = QVBoxLayout(page)
        self.progress_headline = QLabel(page)
        self.progress_headline.setFont(self.headline.font())
        column.addWidget(self.progress_headline)
        steps, steps_layout = _group("Progress", page)
        self.step_labels = {step: _wrapped("stepLabel", steps) for step in Step}
        for step, label in self.step_labels.items():
            label.setText(f"·  {STEP_TITLES[step]}")
            steps_layout.addWidget(label)
        column.addWidget(steps)
        outcome_row = QHBoxLayout()
        column.addLayout(outcome_row)
        result = QLabel("Result", page)
        self.outcome = QLabel(page)
        self.outcome.setObjectName("statusWord")
        outcome_row.addWidget(result)
        outcome_row.addWidget(self.outcome)
        outcome_row.addStretch(1)
        self.result_message = _wrapped("resultMessage", page)
        self.verify_hint = _wrapped("verifyHint", page)
        self.verify_hint.setText(VERIFY_BY_HAND_HINT)
        self.verify_hint.hide()
        self.audit_link = QPushButton(page)
        self.audit_link.setObjectName("auditLink")
        self.audit_link.setCursor(Qt.CursorShape.PointingHandCursor)
        self.audit_link.hide()
        column.addWidget(self.result_message)
        column.addWidget(self.verify_hint)
        column.addWidget(self.audit_link, 0, Qt.AlignmentFlag.AlignLeft)
        column.addStretch(1)
        closing = QHBoxLayout()
        column.addLayout(closing)
        self.close_button = QPushButton("Close", page)
        closing.addStretch(1)
        closing.addWidget(self.close_button)

    def _connect(self) -> None:
        self.flow.planned.connect(self._show_plan)
        self.flow.planFailed.connect(self._show_plan_error)
        self.flow.progressed.connect(self._show_progress)
        self.flow.finished.connect(self._show_result)
        self.flow.failed.connect(self._show_failure)
        self.reason.textChanged.connect(self._validate)
        self.typed_name.textChanged.connect(self._validate)
        self.target_picker.activated.connect(self._on_target_picked)
        self.versions.cellDoubleClicked.connect(self._on_version_double_clicked)
        self.ok_button.clicked.connect(self.confirm)
        self.cancel_button.clicked.connect(self.reject)
        self.close_button.clicked.connect(self.accept)
        self.audit_link.clicked.connect(self._open_audit_entry)

    # State

    @property
    def plan(self) -> ActionPlan | None:
        """The plan on screen (None while planning or when none could be made)."""
        return self._plan

    @property
    def action_result(self) -> ActionResult | None:
        """The action's result, once it ended."""
        return self._result

    def is_valid(self) -> bool:
        """Whether OK may be pressed: a plan this engineer may act on, a reason, the name."""
        plan = self._plan
        if plan is None or plan.denial is not None or self.flow.started:
            return False
        if not self.reason.text().strip():
            return False
        return not plan.requires_typed_name or self.typed_name.text() == plan.deployment

    def confirm(self) -> bool:
        """Run the action (once): the OK button's click. False when nothing started."""
        self.ok_button.setEnabled(False)
        if not self.is_valid():
            return False
        plan = self._plan
        assert plan is not None
        started = self.flow.execute(
            self.reason.text().strip(),
            self.typed_name.text() if plan.requires_typed_name else None,
            self.override.isChecked() and self.override.isEnabled(),
        )
        if started:
            self.buttons.hide()
            self.progress_headline.setText(self.headline.text())
            self.pages.setCurrentIndex(1)
            self.outcome.setText("RUNNING")
            repolish(self.outcome, "status", "no_data")
            self.result_message.setText(f"{self.label} of {plan.deployment} is running…")
        return started

    def reject(self) -> None:
        """Cancel, Esc or the title bar's close: before confirming, the backing out is
        recorded in the audit log."""
        if not self.flow.started:
            self.flow.cancel(self.reason.text().strip())
        super().reject()

    def _validate(self) -> None:
        self.ok_button.setEnabled(self.is_valid())

    def _show_planning(self) -> None:
        self._plan = None
        self.status.setText(PLANNING_TEXT)
        self.status.show()
        self.ok_button.setEnabled(False)
        self.target_picker.setEnabled(False)

    def _on_target_picked(self, index: int) -> None:
        version = self.target_picker.itemData(index)
        if self._plan is not None and version != self._plan.target.version.version:
            self._show_planning()
            self.flow.request_plan(version)

    def _on_version_double_clicked(self, row: int, _column: int) -> None:
        item = self.versions.item(row, 0)
        index = self.target_picker.findData(item.text()) if item is not None else -1
        if index >= 0 and self.target_picker.isEnabled():
            self.target_picker.setCurrentIndex(index)
            self._on_target_picked(index)

    def _show_plan_error(self, message: str) -> None:
        self.status.setText(f"No plan: {message}")
        repolish(self.status, "error", "true")
        self.headline.setText("")
        self.ok_button.setEnabled(False)

    def _show_plan(self, plan: ActionPlan, changes: list[AliasChange]) -> None:
        self._plan = plan
        repolish(self.status, "error", "false")
        current = plan.current.label if plan.current else "nothing"
        self.headline.setText(f"{plan.deployment}: {current} → {plan.target_label}")
        self.status.setText(
            f"{self.label} {plan.deployment} ({plan.model}, alias {plan.alias!r}) "
            f"from {current} to {plan.target_label}."
        )
        self.denial.setText(f"You may not act: {plan.denial}" if plan.denial else "")
        self.denial.setVisible(plan.denial is not None)
        self._show_facts(plan.current, 1)
        self._show_facts(plan.target, 2)
        self.route.setText(plan.route)
        self.notes.setText("\n".join(_notes(plan)) or "—")
        self._show_versions(plan)
        self._show_history(changes)
        self.confirm_form.setRowVisible(self.typed_name, plan.requires_typed_name)
        self.precheck_note.setText(
            ("Runs first: " if plan.precheck else "Skipped: ") + plan.precheck_note
        )
        self.override.setEnabled(self._may_override and plan.precheck)
        self._validate()
        self.planned_at = time.perf_counter()

    def _show_facts(self, facts: VersionFacts | None, column: int) -> None:
        if facts is None:
            values = ["none serves", *[""] * (len(_FACT_ROWS) - 1)]
        else:
            version = facts.version
            values = [
                facts.label,
                _created(version),
                version.status,
                *(render(facts.metrics.get(signal)) for _, signal, render in _FIGURES),
                _run_text(facts.last_run),
            ]
        for row, value in enumerate(values):
            self.facts.setItem(row, column, _item(value))

    def _show_versions(self, plan: ActionPlan) -> None:
        self.versions.setRowCount(len(plan.versions))
        current = plan.current.version.version if plan.current else None
        for row, version in enumerate(plan.versions):
            for column, value in enumerate(_version_cells(version)):
                item = _item(value, bold=version.version == plan.target.version.version)
                self.versions.setItem(row, column, item)
        _fit_rows(self.versions)
        self.target_picker.clear()
        choices = [v for v in plan.versions if v.ready and v.version != current]
        for version in choices:
            self.target_picker.addItem(_choice_text(version), version.version)
        self.target_picker.setCurrentIndex(self.target_picker.findData(plan.target.version.version))
        rollback = self.flow.kind == "rollback" and not plan.other_model
        self.target_picker.setEnabled(rollback and len(choices) > 1)
        self.target_picker.setToolTip(
            "The version to roll back to (--to)" if rollback else "Failover goes to its fallback"
        )

    def _show_history(self, changes: list[AliasChange]) -> None:
        self.history.setRowCount(len(changes))
        for row, change in enumerate(changes):
            how = "seen (made elsewhere)" if change.observed else "by the console"
            cells = (
                _timestamp(change.at),
                f"{change.from_version or '—'} → {change.to_version}",
                how,
            )
            for column, value in enumerate(cells):
                self.history.setItem(row, column, _item(value))
        _fit_rows(self.history)

    # Progress and result

    def _show_progress(self, progress: ActionProgress) -> None:
        mark = _STATE_MARKS.get(progress.state, "·")
        text = f"{mark}  {STEP_TITLES[progress.step]}: {progress.state}"
        if progress.message:
            text += f" — {progress.message}"
        self.step_labels[progress.step].setText(text)

    def _show_result(self, result: ActionResult) -> None:
        self._result = result
        self.pages.setCurrentIndex(1)
        self.buttons.hide()
        self.outcome.setText(result.outcome.value.upper())
        repolish(self.outcome, "status", _OUTCOME_STATUS.get(result.outcome, "no_data"))
        message = result.message
        if result.duplicate:
            message = f"Not repeated (the same action already ran): {message}"
        self.result_message.setText(message)
        self.verify_hint.setVisible(result.outcome is AuditOutcome.UNKNOWN)
        self.audit_link.setText(f"Open audit entry #{result.audit_id}")
        self.audit_link.show()

    def _show_failure(self, message: str) -> None:
        self.pages.setCurrentIndex(1)
        self.buttons.hide()
        self.outcome.setText("NOT RUN")
        repolish(self.outcome, "status", "alert")
        self.result_message.setText(message)

    def _open_audit_entry(self) -> None:
        if self._result is not None:
            self.auditEntryRequested.emit(self._result.audit_id)


def _table(columns: tuple[str, ...], parent: QWidget, rows: int = 0) -> QTableWidget:
    table = QTableWidget(rows, len(columns), parent)
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT_PX)
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setDefaultSectionSize(120)
    return table


def _fit_rows(table: QTableWidget) -> None:
    """As tall as its rows (at least one, at most MAX_ROWS; it scrolls beyond)."""
    rows = min(max(table.rowCount(), 1), MAX_ROWS)
    # The header's size hint before the first show is a few pixels short of its height.
    header = max(table.horizontalHeader().sizeHint().height(), ROW_HEIGHT_PX) + 8
    table.setFixedHeight(header + rows * ROW_HEIGHT_PX + 2 * table.frameWidth() + 2)


def _group(title: str, parent: QWidget) -> tuple[QGroupBox, QVBoxLayout]:
    group = QGroupBox(title, parent)
    return group, QVBoxLayout(group)


def _wrapped(name: str, parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _item(text: str, *, bold: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(text)
    if bold:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    return item


def _timestamp(at: float | None) -> str:
    if at is None:
        return "unknown"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def _created(version: ModelVersion) -> str:
    return _timestamp(version.created_at)


def _version_cells(version: ModelVersion) -> tuple[str, ...]:
    return (
        version.version,
        _created(version),
        version.status,
        ", ".join(version.aliases),
        ", ".join(f"{key}={value}" for key, value in version.tags),
        version.description,
    )


def _choice_text(version: ModelVersion) -> str:
    aliases = f" [{', '.join(version.aliases)}]" if version.aliases else ""
    return f"{version.version}{aliases} · created {_created(version)}"


def _notes(plan: ActionPlan) -> list[str]:
    """What the engineer should know besides the figures: the versions' descriptions."""
    notes = []
    if plan.other_model:
        notes.append(f"The target is a version of another model: {plan.target_label}.")
    for name, facts in (("Current", plan.current), ("Target", plan.target)):
        if facts is not None and facts.version.description:
            notes.append(f"{name} {facts.label}: {facts.version.description}")
    return notes


def _run_text(run: RunInfo | None) -> str:
    if run is None:
        return "none recorded"
    tally = run.tally
    return f"{run.status.value}: {tally.passed}/{tally.total} passed ({_timestamp(run.started_at)})"
