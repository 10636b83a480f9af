"""The card of one deployment: versions, figures, sparkline, status, staleness, error."""

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.services.fleet import SPARKLINE_SIGNAL
from console.ui import format as fmt
from console.ui.alert_badge import AlertBadge
from console.ui.drift_badge import DriftBadge
from console.ui.elided_label import ElidedLabel
from console.ui.sparkline import Sparkline
from console.viewmodels.actions import ACTION_LABELS
from console.viewmodels.fleet import CardState

CARD_MIN_WIDTH = 290
_FIGURES = (
    ("Requests", "request_rate"),
    ("Errors", "error_ratio"),
    ("p95 latency", "p95_latency_s"),
    ("p95 TTFT", "p95_ttft_s"),
    ("Output", "output_tokens_per_s"),
)
_FORMATS = {
    "request_rate": fmt.request_rate,
    "error_ratio": fmt.error_ratio,
    "p95_latency_s": fmt.duration,
    "p95_ttft_s": fmt.duration,
    "output_tokens_per_s": fmt.tokens_rate,
}


def repolish(widget: QWidget, name: str, value: str) -> None:
    """Set a dynamic property that QSS selectors use, restyling only when it changes.

    A widget not yet polished (a new card before its first show) takes the property when
    it is polished: restyling it now would only double the work.
    """
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    if widget.testAttribute(Qt.WidgetAttribute.WA_WState_Polished):
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)


class DeploymentCard(QFrame):
    """Shows one CardState; the status is a word as well as a colour.

    Double-click, Enter or Return asks for the deployment's detail (``openRequested``);
    the card takes keyboard focus (Tab) and says so with ``focused``. Its "Run smoke suite"
    button asks to run the deployment's suite (``runSuiteRequested``); "Roll back" and
    "Fail over" ask for a guarded action (``actionRequested(kind, deployment)``).
    """

    openRequested = Signal(str)
    focused = Signal(str)
    runSuiteRequested = Signal(str)
    actionRequested = Signal(str, str)

    def __init__(self, deployment: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(f"Double-click or press Enter to open the detail of {deployment}")
        self.deployment = deployment
        self.setMinimumWidth(CARD_MIN_WIDTH)
        self.title = _label("cardTitle", deployment)
        self.status_word = _label("statusWord")
        self.engine = _label("engine")
        self.stale_badge = _label("staleBadge", "STALE")
        self.drift_badge = DriftBadge()
        self.alert_badge = AlertBadge()
        self.versions = ElidedLabel()
        self.versions.setObjectName("versions")
        self.figures: dict[str, QLabel] = {}
        self.sparkline = Sparkline()
        self.sparkline_caption = _label("caption")
        self.error = ElidedLabel()
        self.error.setObjectName("cardError")
        policy = self.error.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # cards in a row keep the same height
        self.error.setSizePolicy(policy)
        self.run_suite_button = QPushButton("Run smoke suite")
        self.run_suite_button.setObjectName("runSuite")
        self.run_suite_button.setToolTip(f"Run the suite bound to {deployment} (Runs tab)")
        self.run_suite_button.clicked.connect(lambda: self.runSuiteRequested.emit(deployment))
        self.action_buttons = {
            kind: action_button(kind, label, deployment) for kind, label in ACTION_LABELS.items()
        }
        for button in self.action_buttons.values():
            button.clicked.connect(self._on_action_clicked)
        self._build()

    def _build(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.stale_badge)
        header.addWidget(self.status_word)
        # The alert and drift badges sit on the engine's row: on the title row they left
        # too little room for a deployment's name.
        engine_row = QHBoxLayout()
        engine_row.addWidget(self.engine, 1)
        engine_row.addWidget(self.alert_badge)
        engine_row.addWidget(self.drift_badge)
        figures = QGridLayout()
        figures.setHorizontalSpacing(12)
        figures.setVerticalSpacing(2)
        for index, (caption, key) in enumerate(_FIGURES):
            row, column = divmod(index, 3)
            value = _label("figure")
            self.figures[key] = value
            figures.addWidget(_label("caption", caption), row * 2, column)
            figures.addWidget(value, row * 2 + 1, column)
        for column in range(3):
            figures.setColumnStretch(column, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 12, 10)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addLayout(engine_row)
        layout.addWidget(self.versions)
        layout.addSpacing(4)
        layout.addLayout(figures)
        layout.addSpacing(4)
        layout.addWidget(self.sparkline)
        layout.addWidget(self.sparkline_caption)
        layout.addWidget(self.error)
        footer = QHBoxLayout()
        footer.addStretch(1)
        for button in self.action_buttons.values():
            footer.addWidget(button)
        footer.addWidget(self.run_suite_button)
        layout.addLayout(footer)

    def set_state(self, state: CardState, range_s: float) -> None:
        """Show ``state``; the sparkline caption names the range it covers."""
        reading = state.reading
        status = reading.status
        self.status_word.setText(fmt.STATUS_WORDS[status])
        self.status_word.setToolTip(f"Status: {fmt.STATUS_WORDS[status].lower()}")
        for widget in (self, self.status_word, self.sparkline):
            repolish(widget, "status", status.value)
        self.engine.setText(f"engine: {reading.engine}")
        self.versions.set_full_text(f"serving {fmt.versions(reading.versions)}")
        for key, label in self.figures.items():
            value = getattr(reading, key)
            label.setText(_FORMATS[key](value))
            repolish(label, "missing", "true" if value is None else "false")
        self.sparkline.set_series(reading.sparkline)
        self.sparkline_caption.setText(f"{SPARKLINE_SIGNAL.label} · last {fmt.span(range_s)}")
        self.stale_badge.setVisible(state.stale)
        if state.last_ok is not None:
            self.stale_badge.setToolTip(
                "Data is older than two refresh intervals: last good refresh at "
                f"{fmt.clock_time(state.last_ok)}"
            )
        self.error.set_full_text(state.error or "")
        self.error.setVisible(state.error is not None)
        self.setAccessibleName(
            f"{reading.deployment}: {fmt.STATUS_WORDS[status].lower()}"
            + (", stale" if state.stale else "")
        )

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.openRequested.emit(self.deployment)
        else:
            super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.openRequested.emit(self.deployment)
        else:
            super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.focused.emit(self.deployment)

    def set_action_denial(self, reason: str | None) -> None:
        """Disable the guarded-action buttons with ``reason`` as tooltip (None: enable)."""
        set_action_denial(self.action_buttons.values(), self.deployment, reason)

    def _on_action_clicked(self) -> None:
        self.actionRequested.emit(self.sender().property("actionKind"), self.deployment)

    def set_highlighted(self, highlighted: bool) -> None:
        """Mark this card as the one picked in the sidebar."""
        repolish(self, "highlighted", "true" if highlighted else "false")


def action_button(kind: str, label: str, deployment: str) -> QPushButton:
    """A guarded-action button; its ``actionKind`` property says which action."""
    button = QPushButton(label)
    button.setObjectName(f"{kind}Action")
    button.setProperty("actionKind", kind)
    button.setToolTip(f"{label} {deployment}: plan, confirm, check (audited)")
    return button


def set_action_denial(buttons: Iterable[QPushButton], deployment: str, reason: str | None) -> None:
    """Enable guarded-action buttons, or disable them saying why (as the tooltip)."""
    for button in buttons:
        tip = (
            f"{button.text()} {deployment}: plan, confirm, check (audited)"
            if reason is None
            else f"{button.text()} is not allowed: {reason}"
        )
        if button.isEnabled() != (reason is None) or button.toolTip() != tip:
            button.setEnabled(reason is None)
            button.setToolTip(tip)


def _label(name: str, text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    return label
