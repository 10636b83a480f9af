"""The detail pane of one log record: the full redacted prompt → output pair, and reveal.

Placeholders such as [EMAIL] are highlighted. "Reveal original" asks the view model for one
original (operators only, with a reason; audited before anything is shown). A revealed
original appears in a label that cannot be selected, copied or dragged, only until another
record is shown: it is never written anywhere.
"""

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from console.domain.log_records import LineFormat, LogRecord
from console.domain.redaction import Span
from console.viewmodels.log_rows import clock_text

PLACEHOLDER_COLOR = "#ffe082"
PLACEHOLDER_TEXT_COLOR = "#3e2723"
REVEAL_COLOR = "#c62828"
_FIELDS = ("prompt", "output", "raw")


class LogDetailPane(QWidget):
    """The selected record: facts, prompt and output (redacted), and reveal controls.

    ``revealRequested(field, span_index, reason)`` asks for one original.
    """

    revealRequested = Signal(str, int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record: LogRecord | None = None
        self.facts = QLabel("Select a row to read the prompt and output.")
        self.facts.setObjectName("logFacts")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.prompt_label = QLabel("Prompt")
        self.prompt = text_box()
        self.output_label = QLabel("Output")
        self.output = text_box()
        self.spans = QComboBox()
        self.spans.setToolTip("The redacted value to reveal")
        self.spans.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason (required, goes to the audit log)")
        self.reveal_button = QPushButton("Reveal original")
        self.reveal_button.setToolTip(
            "Show the original value behind the placeholder (operators only; audited)"
        )
        self.denial = QLabel()
        self.denial.setObjectName("revealDenial")
        self.denial.setWordWrap(True)
        self.revealed = QLabel()
        self.revealed.setObjectName("revealedOriginal")
        self.revealed.setWordWrap(True)
        self.revealed.setTextFormat(Qt.TextFormat.PlainText)
        # Shown, never selectable or copyable: copies of a log keep their placeholders.
        self.revealed.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.revealed.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.revealed.setStyleSheet(f"QLabel {{ color: {REVEAL_COLOR}; }}")
        self.revealed.hide()
        self._denial_reason: str | None = None
        self._revealed_lines: list[str] = []

        reveal_row = QHBoxLayout()
        reveal_row.addWidget(self.spans)
        reveal_row.addWidget(self.reason, 1)
        reveal_row.addWidget(self.reveal_button)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.prompt_label, 0, 0)
        grid.addWidget(self.output_label, 0, 1)
        grid.addWidget(self.prompt, 1, 0)
        grid.addWidget(self.output, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.facts)
        layout.addLayout(grid, 1)
        layout.addLayout(reveal_row)
        layout.addWidget(self.denial)
        layout.addWidget(self.revealed)
        self.reveal_button.clicked.connect(self._ask_reveal)
        self.reason.returnPressed.connect(self._ask_reveal)
        self.reason.textChanged.connect(self._update_reveal)
        self.show_record(None)

    def set_reveal_denial(self, reason: str | None) -> None:
        """Why reveal is refused to this engineer (None: allowed)."""
        self._denial_reason = reason
        self._update_reveal()

    def show_record(self, record: LogRecord | None) -> None:
        """Show ``record`` (None: nothing); a revealed original goes away."""
        self.record = record
        self._revealed_lines = []
        self.revealed.clear()
        self.revealed.hide()
        self.spans.clear()
        if record is None:
            self.facts.setText("Select a row to read the prompt and output.")
            for box in (self.prompt, self.output):
                box.clear()
            self._update_reveal()
            return
        self.facts.setText(_facts(record))
        structured = record.format is LineFormat.JSON or record.prompt or record.output
        if structured:
            self.prompt_label.setText("Prompt")
            self.output_label.setText("Output")
            _show(self.prompt, record.prompt or "", record.redactions.get("prompt", ()))
            _show(self.output, record.output or "", record.redactions.get("output", ()))
        else:
            self.prompt_label.setText(f"Line ({record.format.value})")
            self.output_label.setText("Output")
            _show(self.prompt, record.raw, record.redactions.get("raw", ()))
            self.output.setPlainText("")
        for field in _FIELDS:
            for number, span in enumerate(record.redactions.get(field, ())):
                self.spans.addItem(f"{field} {span.placeholder} #{number + 1}", (field, number))
        self._update_reveal()

    def show_revealed(self, key: str, field: str, span_index: int, original: str) -> None:
        """Show an original the audit log has recorded (if its record is still shown)."""
        record = self.record
        if record is None or record.key != key:
            return
        spans = record.redactions.get(field, ())
        placeholder = spans[span_index].placeholder if span_index < len(spans) else "?"
        self._revealed_lines.append(f"{field} {placeholder} #{span_index + 1}: {original}")
        lines = "\n".join(self._revealed_lines)
        self.revealed.setText(f"Revealed (audited, not copyable):\n{lines}")
        self.revealed.show()
        self.reason.clear()

    def show_reveal_error(self, message: str) -> None:
        """Say why a reveal was refused."""
        self.denial.setText(f"Not revealed: {message}")
        self.denial.show()

    def _ask_reveal(self) -> None:
        choice = self.spans.currentData()
        reason = self.reason.text().strip()
        if choice is None or not reason or self._denial_reason is not None:
            return
        field, number = choice
        self.revealRequested.emit(field, number, reason)

    def _update_reveal(self) -> None:
        has_spans = self.spans.count() > 0
        allowed = self._denial_reason is None
        self.spans.setEnabled(has_spans and allowed)
        self.reason.setEnabled(has_spans and allowed)
        self.reveal_button.setEnabled(has_spans and allowed and bool(self.reason.text().strip()))
        if not allowed:
            self.denial.setText(f"Reveal unavailable: {self._denial_reason}")
            self.denial.show()
        elif self.record is not None and not has_spans:
            self.denial.setText("Nothing in this record was redacted.")
            self.denial.show()
        else:
            self.denial.hide()


def text_box() -> QTextEdit:
    """A read-only, fixed-width text box for prompts and outputs."""
    box = QTextEdit()
    box.setReadOnly(True)
    box.setAcceptRichText(False)
    box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    box.setMinimumHeight(60)
    return box


def _show(box: QTextEdit, text: str, spans: tuple[Span, ...]) -> None:
    """Plain ``text`` with each placeholder highlighted."""
    box.setPlainText(text)
    marked = QTextCharFormat()
    marked.setBackground(QColor(PLACEHOLDER_COLOR))
    marked.setForeground(QColor(PLACEHOLDER_TEXT_COLOR))
    cursor = QTextCursor(box.document())
    for span in spans:
        cursor.setPosition(_utf16(text, span.out_start))
        cursor.setPosition(_utf16(text, span.out_end), QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(marked)


def _utf16(text: str, index: int) -> int:
    """A Python string index as a Qt text position (UTF-16 code units: an emoji takes two)."""
    head = text[:index]
    return index if head.isascii() else len(head.encode("utf-16-le")) // 2


def _facts(record: LogRecord) -> str:
    parts = [clock_text(record.timestamp_ns), f"{record.deployment or '?'} {record.version or ''}"]
    if record.model:
        parts.append(f"model {record.model}")
    if record.latency_ms is not None:
        parts.append(f"{record.latency_ms:.0f} ms")
    if record.tokens is not None:
        parts.append(f"tokens {record.input_tokens} → {record.output_tokens}")
    if record.confidence is not None:
        parts.append(f"confidence {record.confidence:.2f}")
    if record.finish_reason:
        parts.append(f"finish {record.finish_reason}")
    if record.request_id:
        parts.append(f"id {record.request_id}")
    return " · ".join(parts)
