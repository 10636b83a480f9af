"""The log table's rows as columns of display strings, built off the GUI thread. No Qt.

A page of (redacted) records becomes one :class:`LogRows` block on the I/O loop: every cell's
text is formatted once, there, so that painting a row only indexes an array. Filtering by
version is one numpy comparison; by text, a scan of one lower-cased UTF-8 buffer holding
every row's text (bytes.find, then a jump to the next row), so its cost follows the bytes
and the matching rows, not a Python call per row.
"""

import bisect
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from console.domain.log_records import LineFormat, LogRecord

COLUMNS = (
    "Time",
    "Deployment",
    "Version",
    "Latency",
    "Tokens",
    "Confidence",
    "Prompt",
    "Output",
)
(
    TIME_COLUMN,
    DEPLOYMENT_COLUMN,
    VERSION_COLUMN,
    LATENCY_COLUMN,
    TOKENS_COLUMN,
    CONFIDENCE_COLUMN,
    PROMPT_COLUMN,
    OUTPUT_COLUMN,
) = range(len(COLUMNS))
NUMERIC_COLUMNS = frozenset({LATENCY_COLUMN, TOKENS_COLUMN, CONFIDENCE_COLUMN})
SNIPPET_CHARS = 120
"""Characters of prompt and output a cell shows; the detail pane has the whole text."""

ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class LogRows:
    """Rows newest first: the records, their cells (n x len(COLUMNS) strings), their
    timestamps, which are below the review threshold, and their searchable text: each row's
    lower-cased text in ``text``, UTF-8, ending with a NUL at ``text_ends[row]``."""

    records: ObjectArray
    cells: ObjectArray
    timestamps_ns: IntArray
    low_confidence: BoolArray
    text: bytes
    text_ends: IntArray

    def __len__(self) -> int:
        return len(self.records)

    @classmethod
    def empty(cls) -> "LogRows":
        """No rows."""
        return cls(
            np.empty(0, dtype=object),
            np.empty((0, len(COLUMNS)), dtype=object),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.bool_),
            b"",
            np.empty(0, dtype=np.int64),
        )

    def concat(self, older: "LogRows") -> "LogRows":
        """These rows, then ``older``'s."""
        if not len(older):
            return self
        if not len(self):
            return older
        return LogRows(
            np.concatenate((self.records, older.records)),
            np.concatenate((self.cells, older.cells)),
            np.concatenate((self.timestamps_ns, older.timestamps_ns)),
            np.concatenate((self.low_confidence, older.low_confidence)),
            self.text + older.text,
            np.concatenate((self.text_ends, older.text_ends + len(self.text))),
        )

    def matching(self, version: str | None, text: str) -> IntArray:
        """Indices of the rows of ``version`` (None: any) whose text holds ``text``
        (case-insensitive; empty: any), in order."""
        needle = text.strip().lower().replace("\0", "").encode()
        if not needle:
            if version is None:
                return np.arange(len(self), dtype=np.int64)
            return np.flatnonzero(self.cells[:, VERSION_COLUMN] == version)
        rows = _rows_holding(self.text, self.text_ends, needle)
        if version is not None and len(rows):
            rows = rows[self.cells[rows, VERSION_COLUMN] == version]
        return rows

    def versions(self) -> list[str]:
        """The distinct non-empty versions, sorted."""
        return sorted({v for v in self.cells[:, VERSION_COLUMN].tolist() if v})


def log_rows(records: Sequence[LogRecord], threshold: float | None = None) -> LogRows:
    """The rows of ``records`` (kept in their order); ``threshold`` marks low confidence."""
    count = len(records)
    if not count:
        return LogRows.empty()
    cells = np.empty((count, len(COLUMNS)), dtype=object)
    texts: list[str] = []
    low = np.zeros(count, dtype=np.bool_)
    shared: dict[str, str] = {}  # one string object per distinct short value
    for i, record in enumerate(records):
        prompt, output = _texts(record)
        cells[i] = (
            clock_text(record.timestamp_ns),
            shared.setdefault(record.deployment or "", record.deployment or ""),
            shared.setdefault(record.version or "", record.version or ""),
            _latency(record.latency_ms),
            _tokens(record),
            _confidence(record.confidence, shared),
            snippet(prompt),
            snippet(output),
        )
        texts.append(f"{prompt}\n{output}\n{record.deployment}\n{record.model}".lower())
        low[i] = (
            threshold is not None
            and record.confidence is not None
            and record.confidence < threshold
        )
    timestamps = np.fromiter((r.timestamp_ns for r in records), dtype=np.int64, count=count)
    kept = np.empty(count, dtype=object)
    kept[:] = list(records)
    joined = "\0".join(texts) + "\0"
    if joined.count("\0") != count:  # a NUL inside a text would split its row
        joined = "\0".join(t.replace("\0", " ") for t in texts) + "\0"
    buffer = joined.encode("utf-8", "replace")
    ends = np.flatnonzero(np.frombuffer(buffer, dtype=np.uint8) == 0).astype(np.int64)
    return LogRows(kept, cells, timestamps, low, buffer, ends)


def _rows_holding(text: bytes, ends: IntArray, needle: bytes) -> IntArray:
    """The rows whose text holds ``needle``, in order: find it, note its row, go on at the
    next row (100,000 rows: about 12 ms without a match, 70 ms when every row matches)."""
    bounds = ends.tolist()
    rows = []
    find, locate = text.find, bisect.bisect_left
    at = find(needle)
    while at >= 0:
        row = locate(bounds, at)
        rows.append(row)
        at = find(needle, bounds[row] + 1)
    return np.asarray(rows, dtype=np.int64)


def snippet(text: str) -> str:
    """One line of at most SNIPPET_CHARS characters (whitespace runs become one space);
    a short one-line text is returned as is (the same string object)."""
    head = text[: SNIPPET_CHARS * 2]
    if "\n" in head or "\t" in head or "  " in head:
        head = " ".join(head.split())
    if len(head) > SNIPPET_CHARS or len(text) > SNIPPET_CHARS * 2:
        return head[: SNIPPET_CHARS - 1] + "…"
    return head


def clock_text(timestamp_ns: int) -> str:
    """Local date and time to the millisecond."""
    seconds, rest = divmod(timestamp_ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))
    return f"{stamp}.{rest // 1_000_000:03d}"


def _texts(record: LogRecord) -> tuple[str, str]:
    """The prompt and output shown; a line that is not JSON shows its raw text as prompt."""
    if record.format is not LineFormat.JSON and record.prompt is None and record.output is None:
        return record.raw, ""
    return record.prompt or "", record.output or ""


def _latency(latency_ms: float | None) -> str:
    if latency_ms is None:
        return ""
    if latency_ms < 1000:
        return f"{latency_ms:.0f} ms"
    return f"{latency_ms / 1000:.2f} s"


def _tokens(record: LogRecord) -> str:
    if record.input_tokens is None and record.output_tokens is None:
        return ""
    given = "?" if record.input_tokens is None else str(record.input_tokens)
    taken = "?" if record.output_tokens is None else str(record.output_tokens)
    return f"{given} → {taken}"


def _confidence(confidence: float | None, shared: dict[str, str]) -> str:
    if confidence is None:
        return ""
    text = f"{confidence:.2f}"
    return shared.setdefault(text, text)
