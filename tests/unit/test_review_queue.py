"""The review queue (SQLite), its JSONL export, and reviewed prompts as suite cases."""

import io
import json
import shutil
from pathlib import Path

import pytest

from console.domain.log_records import LineFormat, LogRecord
from console.domain.suite import SuiteError
from console.services.review_queue import ReviewError, ReviewItem, ReviewQueue, Verdict
from console.services.suite_cases import add_review_case
from console.services.suite_loader import load_suite

SMOKE = Path(__file__).resolve().parents[2] / "resources" / "suites" / "smoke.yaml"


def _record(key: str, confidence: float | None, ts: int = 1) -> LogRecord:
    return LogRecord(
        key=key,
        timestamp_ns=ts,
        labels={},
        format=LineFormat.JSON,
        raw="{}",
        deployment="support-chat",
        version="v42",
        prompt=f"prompt {key} from [EMAIL]",
        output=f"output {key}",
        confidence=confidence,
    )


def test_only_low_confidence_outputs_are_queued_once(tmp_path: Path) -> None:
    queue = ReviewQueue(tmp_path / "q.sqlite3", clock=lambda: 100.0)
    records = [
        _record("a", 0.2, 1),
        _record("b", 0.9, 2),
        _record("c", None, 3),
        _record("d", 0.49, 4),
    ]
    assert queue.enqueue("demo", records, 0.5) == 2
    assert queue.enqueue("demo", records, 0.5) == 0
    assert [i.record_key for i in queue.items("demo")] == ["d", "a"]
    assert queue.pending_count("demo") == 2
    assert queue.items("other") == []
    queue.close()


def test_a_closed_queue_says_so_instead_of_failing_in_sqlite(tmp_path: Path) -> None:
    queue = ReviewQueue(tmp_path / "q.sqlite3")
    queue.enqueue("demo", [_record("a", 0.2)], 0.5)
    queue.close()

    for use in (
        lambda: queue.items("demo"),
        lambda: queue.pending_count("demo"),
        lambda: queue.get("demo", "a"),
        lambda: queue.decide("demo", "a", Verdict.ACCEPTABLE, reviewer="me"),
        lambda: queue.enqueue("demo", [_record("b", 0.1)], 0.5),
    ):
        with pytest.raises(ReviewError, match=r"q\.sqlite3 is closed"):
            use()


def test_decisions_persist_and_export_as_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    queue = ReviewQueue(path, clock=lambda: 100.0)
    queue.enqueue("demo", [_record("a", 0.2, 1), _record("d", 0.3, 4)], 0.5)
    decided = queue.decide(
        "demo", "a", Verdict.UNACCEPTABLE, note="refused a refund", reviewer="me"
    )
    assert (decided.verdict, decided.note, decided.decided_at) == (
        Verdict.UNACCEPTABLE,
        "refused a refund",
        100.0,
    )
    with pytest.raises(ReviewError, match="no review item 'zz'"):
        queue.decide("demo", "zz", Verdict.ACCEPTABLE, reviewer="me")
    queue.close()
    reopened = ReviewQueue(path)
    assert [i.record_key for i in reopened.items("demo", pending=False)] == ["a"]
    assert [i.record_key for i in reopened.items("demo", pending=True)] == ["d"]
    out = io.StringIO()
    assert reopened.export_jsonl(out, "demo") == 1
    (line,) = out.getvalue().splitlines()
    exported = json.loads(line)
    assert exported["verdict"] == "unacceptable" and exported["record_key"] == "a"
    assert exported["prompt"] == "prompt a from [EMAIL]"
    all_out = io.StringIO()
    assert reopened.export_jsonl(all_out, "demo", decided_only=False) == 2
    reopened.close()


def _item(
    verdict: Verdict = Verdict.ACCEPTABLE, prompt: str | None = "Is 'x': [EMAIL] ok?"
) -> ReviewItem:
    return ReviewItem(
        "demo",
        "171-abc",
        "support-chat",
        "v42",
        "m",
        1,
        prompt,
        "Sure.",
        0.3,
        0.5,
        0.0,
        verdict,
        "looks fine",
        "me",
        1.0,
    )


def test_a_reviewed_prompt_becomes_a_case_and_the_file_stays_valid(tmp_path: Path) -> None:
    suite_path = tmp_path / "smoke.yaml"
    shutil.copy(SMOKE, suite_path)
    before = load_suite(suite_path)
    added = add_review_case(_item(), suite_path)
    after = load_suite(suite_path)
    assert len(after.cases) == len(before.cases) + 1
    case = after.cases[-1]
    assert added.variable == "question"
    assert case.vars["question"] == "Is 'x': [EMAIL] ok?"
    assert case.vars["company"] == "Acme"  # defaultTest still merged
    assert [a.type.value for a in case.asserts][-1] == "is-refusal" and case.asserts[-1].negate
    text = suite_path.read_text()
    assert text.startswith("# The default smoke suite")  # comments kept
    assert text.index("171-abc") < text.index("options:")
    bad = add_review_case(_item(Verdict.UNACCEPTABLE), suite_path)
    assert load_suite(suite_path).cases[-1].asserts[-1].value == "Sure."
    assert bad.suite.cases[-1].description.startswith("review unacceptable")


def test_ambiguous_variables_and_cases_that_would_break_the_file(tmp_path: Path) -> None:
    suite_path = tmp_path / "s.yaml"
    original = (
        'prompts: ["{{a}} and {{b}}"]\n'
        "tests:\n"
        "  - vars: {a: x, b: y}\n"
        "    assert: [{type: is-json}]\n"
    )
    suite_path.write_text(original)
    with pytest.raises(SuiteError, match="a, b"):
        add_review_case(_item(), suite_path)
    with pytest.raises(SuiteError, match="no variable 'c'"):
        add_review_case(_item(), suite_path, variable="c")
    with pytest.raises(SuiteError, match="b"):  # the new case would leave {{b}} unset
        add_review_case(_item(), suite_path, variable="a")
    assert suite_path.read_text() == original
    suite_path.write_text(original.replace("{{b}}", "fixed"))
    added = add_review_case(_item(), suite_path)
    assert added.variable == "a"
    assert load_suite(suite_path).cases[1].vars == {"a": "Is 'x': [EMAIL] ok?"}


def test_an_invalid_suite_or_missing_prompt_leaves_the_file_alone(tmp_path: Path) -> None:
    suite_path = tmp_path / "broken.yaml"
    suite_path.write_text("prompts: [\n")
    with pytest.raises(SuiteError):
        add_review_case(_item(), suite_path)
    assert suite_path.read_text() == "prompts: [\n"
    good = tmp_path / "good.yaml"
    shutil.copy(SMOKE, good)
    with pytest.raises(SuiteError, match="no prompt"):
        add_review_case(_item(prompt=None), good)
    assert good.read_text() == SMOKE.read_text()
