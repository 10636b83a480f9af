"""A PromQL editor: a plain-text field with a completion popup and Ctrl+Enter to run.

The editor asks for completions (``completionRequested``) while typing and on
Ctrl+Space, and shows what comes back with ``show_completion`` if the text has not moved
on meanwhile. Tab or Enter accepts the selected candidate; it replaces the span of the
name (or label value) under the cursor, recomputed on the text at that moment.
"""

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCompleter, QPlainTextEdit, QWidget

from console.domain.promql_completion import Candidate, CandidateKind, ContextKind, context_at
from console.services.explore import Completion

CANDIDATE_ROLE = Qt.ItemDataRole.UserRole + 1
POPUP_MIN_WIDTH_PX = 420
_ACCEPT_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
_RUN_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class PromqlEditor(QPlainTextEdit):
    """Multi-line PromQL input with completion; Ctrl+Enter emits ``runRequested``."""

    runRequested = Signal()
    completionRequested = Signal(str, int)  # text, cursor position

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText(
            "PromQL, e.g. sum by (model_name) (rate(vllm:request_success_total[5m]))  "
            "— Ctrl+Space completes, Ctrl+Enter runs"
        )
        self.setTabChangesFocus(False)
        self._model = QStandardItemModel(self)
        self.completer = QCompleter(self._model, self)
        self.completer.setWidget(self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.completer.activated[QModelIndex].connect(self._accept)
        popup = self.completer.popup()
        assert popup is not None  # QCompleter makes its popup on first use
        self.popup = popup
        self._pending: tuple[str, int, bool] | None = None
        self._history: tuple[str, ...] = ()
        self._browsing: int | None = None  # index into the history shown by Up/Down

    def set_history(self, entries: Sequence[str]) -> None:
        """Queries that Up and Down step through while the editor is empty (newest first)."""
        self._history = tuple(entries)
        self._browsing = None

    def set_text(self, text: str) -> None:
        """Replace the whole text and put the cursor at its end."""
        self.setPlainText(text)
        self.moveCursor(self.textCursor().MoveOperation.End)

    def request_completion(self, *, explicit: bool) -> None:
        """Ask for the candidates at the cursor (explicit: show even without a prefix)."""
        text, cursor = self.toPlainText(), self.textCursor().position()
        self._pending = (text, cursor, explicit)
        self.completionRequested.emit(text, cursor)

    def show_completion(self, completion: Completion) -> None:
        """Show ``completion`` if it answers the latest request for the current text."""
        pending, self._pending = self._pending, None
        text, cursor = self.toPlainText(), self.textCursor().position()
        if pending is None or pending[:2] != (text, cursor):
            return
        explicit = pending[2]
        context = completion.context
        candidates = completion.candidates
        implicit_ok = bool(context.prefix) or context.kind in (
            ContextKind.LABEL_NAME,
            ContextKind.LABEL_VALUE,
        )
        typed = text[context.start : context.end]
        finished = len(candidates) == 1 and candidates[0].insert == typed
        if not candidates or finished or not (explicit or implicit_ok):
            self.popup.hide()
            return
        self._model.clear()
        for candidate in candidates:
            self._model.appendRow(_item(candidate))
        self.popup.setCurrentIndex(self._model.index(0, 0))
        rect: QRect = self.cursorRect()
        rect.setWidth(max(POPUP_MIN_WIDTH_PX, self.popup.sizeHintForColumn(0) + 24))
        self.completer.complete(rect)

    def popup_visible(self) -> bool:
        """Whether the completion popup is showing."""
        return self.popup.isVisible()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        control = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if self.popup_visible() and key in (*_ACCEPT_KEYS, Qt.Key.Key_Escape):
            event.ignore()  # the completer's popup takes these
            return
        if control and key in _RUN_KEYS:
            self.popup.hide()
            self.runRequested.emit()
            return
        if control and key == Qt.Key.Key_Space:
            self.request_completion(explicit=True)
            return
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self._browse(key == Qt.Key.Key_Up):
            return
        super().keyPressEvent(event)
        typed = event.text()
        if key == Qt.Key.Key_Backspace or (typed and typed.isprintable() and not typed.isspace()):
            self.request_completion(explicit=False)
        elif typed and typed.isspace():
            self.popup.hide()

    def _browse(self, older: bool) -> bool:
        """Step through the history if the editor is empty or shows the entry browsed to."""
        text = self.toPlainText()
        browsing = self._browsing
        if not (text == "" or (browsing is not None and text == self._history[browsing])):
            self._browsing = None
            return False
        if browsing is None:
            target = 0 if older else None
        elif older:
            target = browsing + 1
        else:
            target = browsing - 1 if browsing > 0 else None
        if target is not None and not 0 <= target < len(self._history):
            return bool(self._history) and older  # at the oldest: stay; else leave the key
        self._browsing = target
        self.set_text("" if target is None else self._history[target])
        return True

    def _accept(self, index: QModelIndex | QPersistentModelIndex) -> None:
        candidate = index.data(CANDIDATE_ROLE)
        if not isinstance(candidate, Candidate):
            return
        text = self.toPlainText()
        cursor = self.textCursor()
        context = context_at(text, cursor.position())
        if context.kind is ContextKind.NONE:
            return
        cursor.setPosition(context.start)
        cursor.setPosition(context.end, cursor.MoveMode.KeepAnchor)
        cursor.insertText(candidate.insert)
        self.setTextCursor(cursor)
        self.popup.hide()


def _item(candidate: Candidate) -> QStandardItem:
    """A popup row: the name, then its metric type or its kind; help as tooltip."""
    kind = candidate.kind.value
    if candidate.kind is CandidateKind.METRIC:
        kind = candidate.detail.split(" — ", 1)[0] or kind
    item = QStandardItem(f"{candidate.text}    {kind}")
    item.setData(candidate, CANDIDATE_ROLE)
    if candidate.detail:
        item.setToolTip(candidate.detail)
    item.setEditable(False)
    return item
