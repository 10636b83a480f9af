"""A suite case as shown, copied or exported: personal data and secrets are redacted."""

from console.domain.redaction import Redactor
from console.domain.suite_results import (
    AssertionOutcome,
    CaseRecord,
    CaseStatus,
    redacted_record,
)

EMAIL = "jane.doe@example.com"
KEY = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"


def record() -> CaseRecord:
    return CaseRecord(
        index=0,
        case_index=0,
        description="refund",
        prompt_index=0,
        prompt_label="chat",
        target_index=0,
        target="support-chat",
        repeat=0,
        status=CaseStatus.FAILED,
        score=0.0,
        reason=f"expected no email, got {EMAIL}",
        request={
            "model": "support-chat",
            "messages": [
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": [{"type": "text", "text": f"My key is {KEY}"}]},
                {"role": "user", "content": f"Mail me at {EMAIL}"},
            ],
        },
        response_text=f"Sure, I will write to {EMAIL}.",
        assertions=(AssertionOutcome("not-contains", False, 0.0, f"found {EMAIL}"),),
    )


def test_prompt_output_and_reasons_lose_the_email_and_the_key() -> None:
    shown = redacted_record(record(), Redactor())
    text = repr(shown)
    assert EMAIL not in text and KEY not in text
    assert shown.response_text == "Sure, I will write to [EMAIL]."
    messages = shown.request["messages"]
    assert isinstance(messages, list)
    assert messages[0] == {"role": "system", "content": "You are helpful."}
    assert messages[2]["content"] == "Mail me at [EMAIL]"
    assert "[EMAIL]" in shown.reason and "[EMAIL]" in shown.assertions[0].reason
    assert shown.request["model"] == "support-chat"


def test_the_profiles_own_patterns_apply_and_the_original_is_untouched() -> None:
    original = record()
    shown = redacted_record(original, Redactor({"ticket": r"TCK-\d{6}"}))
    assert original.response_text == f"Sure, I will write to {EMAIL}."
    custom = redacted_record(
        CaseRecord(**{**original.__dict__, "response_text": "see TCK-123456"}),
        Redactor({"ticket": r"TCK-\d{6}"}),
    )
    assert custom.response_text == "see [TICKET]"
    assert shown.status is CaseStatus.FAILED and shown.score == 0.0
