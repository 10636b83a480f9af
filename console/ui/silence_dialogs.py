"""Dialogs for silences: acknowledging one alert, and creating or editing any silence."""

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import (
    DEFAULT_ACK_S,
    Alert,
    Matcher,
    Silence,
    SilenceDraft,
    exact_matchers,
    parse_matcher,
)
from console.domain.logql import parse_duration
from console.ui import format as fmt

DURATION_CHOICES = ("15m", "30m", "1h", "2h", "4h", "8h", "24h")
DIALOG_MIN_WIDTH_PX = 480
ERROR_STYLE = "QLabel { color: #e53935; }"


def _duration_box(seconds: float) -> QComboBox:
    box = QComboBox()
    box.setEditable(True)
    box.addItems(DURATION_CHOICES)
    box.setCurrentText(fmt.span(seconds))
    box.setToolTip("How long the silence holds: 30m, 1h, 2h30m, 1d…")
    return box


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("dialogError")
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _duration_of(box: QComboBox) -> float:
    seconds = parse_duration(box.currentText())
    if seconds <= 0:
        raise ValueError("the duration must be longer than 0")
    return seconds


class AckDialog(QDialog):
    """Acknowledge one alert: a silence of exactly its labels for a duration, with a reason.

    OK stays disabled until the reason and duration are valid, and when the profile may
    not act (``denial`` is then shown).
    """

    def __init__(
        self, alert: Alert, *, actor: str, denial: str | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.alert = alert
        self.setWindowTitle(f"Acknowledge {alert.name or alert.fingerprint}")
        self.setObjectName("ackDialog")
        self.setMinimumWidth(DIALOG_MIN_WIDTH_PX)
        self.matchers = QLabel(", ".join(str(m) for m in exact_matchers(alert.labels)))
        self.matchers.setWordWrap(True)
        self.matchers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.duration = _duration_box(DEFAULT_ACK_S)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why (required): e.g. investigating, rollback planned")
        self.created_by = QLabel(actor)
        self.error = _error_label()
        self.denial = denial
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Ack")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Silences exactly", self.matchers)
        form.addRow("For", self.duration)
        form.addRow("Reason", self.reason)
        form.addRow("Created by", self.created_by)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.reason.textChanged.connect(self._validate)
        self.duration.currentTextChanged.connect(self._validate)
        self._validate()

    def duration_s(self) -> float:
        """The chosen duration in seconds (raises ValueError when it is not one)."""
        return _duration_of(self.duration)

    def reason_text(self) -> str:
        """The reason typed, trimmed."""
        return self.reason.text().strip()

    def _validate(self) -> None:
        problem = self.denial
        if problem is None:
            try:
                self.duration_s()
            except ValueError as exc:
                problem = str(exc)
        if problem is None and not self.reason_text():
            problem = "A reason is required: it becomes the silence's comment."
        self.error.setText(problem or "")
        self.error.setVisible(problem is not None)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)


class SilenceDialog(QDialog):
    """Create a silence or edit one: matchers (one a line: ``=``, ``!=``, ``=~``, ``!~``),
    duration from now, and a comment. ``draft()`` gives the validated SilenceDraft."""

    def __init__(
        self,
        *,
        actor: str,
        denial: str | None,
        silence: Silence | None = None,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("silenceDialog")
        self.setMinimumWidth(DIALOG_MIN_WIDTH_PX)
        self.setWindowTitle("Edit silence" if silence else "New silence")
        self.silence = silence
        self._clock = clock
        self._actor = actor
        self.denial = denial
        self.matchers = QPlainTextEdit()
        self.matchers.setPlaceholderText('alertname="ModelLatencyP95High"\ndeployment=~"chat-.*"')
        self.matchers.setFixedHeight(self.matchers.fontMetrics().lineSpacing() * 5 + 12)
        remaining = DEFAULT_ACK_S
        if silence is not None:
            self.matchers.setPlainText("\n".join(str(m) for m in silence.matchers))
            left = silence.ends_at - clock()
            remaining = float(max(60, round(left / 60) * 60))
        self.duration = _duration_box(remaining)
        self.comment = QLineEdit(silence.comment if silence else "")
        self.comment.setPlaceholderText("Why (required)")
        self.error = _error_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Matchers", self.matchers)
        form.addRow("For (from now)", self.duration)
        form.addRow("Comment", self.comment)
        form.addRow("Created by", QLabel(actor))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.matchers.textChanged.connect(self._validate)
        self.duration.currentTextChanged.connect(self._validate)
        self.comment.textChanged.connect(self._validate)
        self._validate()

    def parsed_matchers(self) -> tuple[Matcher, ...]:
        """The matchers typed, one a line (raises MatcherError naming the bad one)."""
        lines = self.matchers.toPlainText().splitlines()
        return tuple(parse_matcher(line) for line in lines if line.strip())

    def draft(self) -> SilenceDraft:
        """The silence typed; raises ValueError (MatcherError) with a plain message."""
        now = self._clock()
        return SilenceDraft(
            self.parsed_matchers(),
            now,
            now + _duration_of(self.duration),
            self._actor,
            self.comment.text().strip(),
            id=self.silence.id if self.silence else None,
        )

    def _validate(self) -> None:
        problem = self.denial
        if problem is None:
            try:
                self.draft()
            except ValueError as exc:
                problem = str(exc)
        self.error.setText(problem or "")
        self.error.setVisible(problem is not None)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(problem is None)
