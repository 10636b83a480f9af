"""The log table's rows: display strings, and filters by version and text over blocks."""

from console.domain.log_records import LineFormat, LogRecord
from console.viewmodels.log_rows import (
    CONFIDENCE_COLUMN,
    PROMPT_COLUMN,
    SNIPPET_CHARS,
    TOKENS_COLUMN,
    LogRows,
    log_rows,
    snippet,
)


def record(n: int, prompt: str, version: str = "v1", confidence: float | None = 0.9) -> LogRecord:
    return LogRecord(
        key=f"k{n}",
        timestamp_ns=1_700_000_000_000_000_000 - n,
        labels={},
        format=LineFormat.JSON,
        raw="{}",
        deployment="chat",
        version=version,
        prompt=prompt,
        output=f"answer {n}",
        input_tokens=10,
        output_tokens=None,
        confidence=confidence,
    )


def test_cells_are_formatted_once_and_low_confidence_is_marked() -> None:
    rows = log_rows([record(0, "hello\nworld", confidence=0.2), record(1, "x" * 500)], 0.5)
    assert rows.cells[0, PROMPT_COLUMN] == "hello world"
    assert rows.cells[0, TOKENS_COLUMN] == "10 → ?"
    assert rows.cells[0, CONFIDENCE_COLUMN] == "0.20"
    assert len(rows.cells[1, PROMPT_COLUMN]) == SNIPPET_CHARS
    assert rows.low_confidence.tolist() == [True, False]


def test_a_short_one_line_snippet_is_the_text_itself() -> None:
    text = "Do you ship to Canada?"
    assert snippet(text) is text


def test_text_filter_is_case_insensitive_and_respects_row_bounds() -> None:
    prompts = ["Refund please", "Tokyo 東京 order", "nothing", "re", "fund", "née\0x"]
    rows = log_rows([record(i, p, version="v42" if i % 2 else "v1") for i, p in enumerate(prompts)])
    assert rows.matching(None, "REFUND").tolist() == [0]
    assert rows.matching(None, "東京").tolist() == [1]
    assert rows.matching(None, "née").tolist() == [5]
    assert rows.matching(None, "refund").tolist() == [0]  # "re" + "fund" span two rows
    assert rows.matching("v42", "").tolist() == [1, 3, 5]
    assert rows.matching("v42", "answer").tolist() == [1, 3, 5]
    assert rows.matching(None, "zzz").tolist() == []


def test_concatenated_blocks_filter_as_one() -> None:
    newer = log_rows([record(0, "alpha"), record(1, "beta")])
    older = log_rows([record(2, "alpha beta"), record(3, "gamma")])
    rows = newer.concat(older)
    assert len(rows) == 4
    assert rows.matching(None, "alpha").tolist() == [0, 2]
    assert rows.matching(None, "gamma").tolist() == [3]
    assert LogRows.empty().concat(rows) is rows
    assert rows.versions() == ["v1"]
