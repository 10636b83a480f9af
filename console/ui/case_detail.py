"""One case send of a suite run: the prompt, the output and each assertion's reason."""

import json

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from console.domain.redaction import Redactor
from console.domain.suite_results import CaseRecord, redacted_record

REDACTED_NOTE = "Personal data and secrets in the prompt and output are shown as [EMAIL], [CARD]…"


class CaseDetail(QWidget):
    """Read-only, selectable text of a CaseRecord (empty until one is shown)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select a case to see its prompt, output and assertions.")
        self.title.setWordWrap(True)
        self.note = QLabel(REDACTED_NOTE)
        self.note.setObjectName("caption")
        self.prompt = _text("prompt")
        self.output = _text("output")
        self.assertions = _text("assertions")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.note)
        for caption, widget in (
            ("Prompt", self.prompt),
            ("Output", self.output),
            ("Assertions", self.assertions),
        ):
            layout.addWidget(QLabel(caption))
            layout.addWidget(widget, 1)

    def show_record(self, record: CaseRecord | None, redactor: Redactor) -> None:
        """Show ``record`` redacted by ``redactor`` (None: clear)."""
        if record is None:
            self.title.setText("Select a case to see its prompt, output and assertions.")
            for widget in (self.prompt, self.output, self.assertions):
                widget.setPlainText("")
            return
        record = redacted_record(record, redactor)
        self.title.setText(
            f"{record.status.value.upper()} · {record.title} · {record.target}"
            + (f" · model {record.model}" if record.model else "")
        )
        self.prompt.setPlainText(_prompt_text(record))
        self.output.setPlainText(record.response_text or f"(no output) {record.reason}")
        self.assertions.setPlainText(
            "\n".join(
                f"{'PASS' if o.passed else 'FAIL'}  {o.name}: {o.reason}"
                + (f" (broken by: {', '.join(o.broken)})" if o.broken else "")
                for o in record.assertions
            )
            or record.reason
        )


def _prompt_text(record: CaseRecord) -> str:
    messages = record.request.get("messages")
    if isinstance(messages, list):
        return "\n\n".join(
            f"[{m.get('role', '?')}] {m.get('content', '')}" if isinstance(m, dict) else str(m)
            for m in messages
        )
    return json.dumps(dict(record.request), indent=2, default=str)


def _text(name: str) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setObjectName(name)
    edit.setReadOnly(True)
    return edit
