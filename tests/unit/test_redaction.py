"""Redaction: typed placeholders, spans, checksums, custom patterns and the labelled corpus."""

import pytest

from console.domain.redaction import (
    PatternError,
    PiiKind,
    Redaction,
    Redactor,
    iban_valid,
    luhn_valid,
)
from tests.support.pii_corpus import look_alikes, positives

MIN_RECALL = 0.99
MIN_PRECISION = 0.97


def _score(redactor: Redactor) -> tuple[float, float, list[str]]:
    true_pos = false_pos = 0
    misses: list[str] = []
    samples = positives()
    for sample in samples:
        assert sample.value is not None
        where = sample.text.index(sample.value)
        found = False
        for span in redactor.redact(sample.text).spans:
            covers = span.start <= where and span.end >= where + len(sample.value)
            if covers and span.kind == sample.kind and not found:
                found = True
                true_pos += 1
            else:
                false_pos += 1
                misses.append(f"extra {span.kind} in {sample.text!r}")
        if not found:
            misses.append(f"missed {sample.kind} in {sample.text!r}")
    for sample in look_alikes():
        for span in redactor.redact(sample.text).spans:
            false_pos += 1
            misses.append(f"false {span.kind} {sample.text[span.start : span.end]!r}")
    recall = true_pos / len(samples)
    precision = true_pos / (true_pos + false_pos)
    return recall, precision, misses


def test_corpus_is_big_enough_and_labelled() -> None:
    samples = positives()
    assert len(samples) >= 300
    assert len(look_alikes()) >= 300
    assert {s.kind for s in samples} == set(PiiKind)
    assert all(s.value and s.value in s.text for s in samples)


def test_recall_and_precision_on_the_labelled_corpus() -> None:
    recall, precision, misses = _score(Redactor())
    assert recall >= MIN_RECALL, misses
    assert precision >= MIN_PRECISION, misses


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.roe@example.com today", "write to [EMAIL] today"),
        ("card 4111 1111 1111 1111.", "card [CARD]."),
        ("iban DE89 3704 0044 0532 0130 00 ok", "iban [IBAN] ok"),
        ("ssn 123-45-6789", "ssn [SSN]"),
        ("from 10.1.2.3 and 2001:db8::1", "from [IP] and [IP]"),
        ("call (415) 555-0123", "call [PHONE]"),
        ("Authorization: Bearer abcd1234efgh5678ijkl", "Authorization: Bearer [TOKEN]"),
        ("key=AKIAIOSFODNN7EXAMPLE", "key=[API_KEY]"),
    ],
)
def test_each_kind_becomes_its_placeholder(text: str, expected: str) -> None:
    assert Redactor().redact_text(text) == expected


def test_spans_locate_the_original_and_the_placeholder() -> None:
    text = "mail a@b.io or call +1 415 555 0123"
    result = Redactor().redact(text)
    assert result.text == "mail [EMAIL] or call [PHONE]"
    originals = [text[s.start : s.end] for s in result.spans]
    assert originals == ["a@b.io", "+1 415 555 0123"]
    assert [result.text[s.out_start : s.out_end] for s in result.spans] == ["[EMAIL]", "[PHONE]"]
    assert [s.placeholder for s in result.spans] == ["[EMAIL]", "[PHONE]"]


def test_text_without_matches_is_returned_unchanged() -> None:
    text = "model v42 answered in 812 ms at 2026-11-27T13:27:55Z"
    assert Redactor().redact(text) == Redaction(text)


def test_checksums_reject_near_misses() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432")
    assert not iban_valid("GB83WEST12345698765432")
    assert not iban_valid("GB82WEST1234569876543")  # one character short for GB
    assert Redactor().redact_text("card 4111 1111 1111 1112") == "card 4111 1111 1111 1112"


def test_overlapping_matches_keep_the_stronger_kind() -> None:
    # The JWT holds digit runs and the key block holds an email-like line: one span each.
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MTExMTExMTExMTExMTExIn0.c2lnbmF0dXJl"
    block = "-----BEGIN PRIVATE KEY-----\nMIIE a@b.io\n-----END PRIVATE KEY-----"
    assert Redactor().redact_text(f"{jwt} {block}") == "[TOKEN] [PRIVATE_KEY]"


def test_a_truncated_key_block_is_redacted_up_to_where_base64_ends() -> None:
    text = '{"msg": "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEI\\nAoGCCqGSM49", "user": "x"}'
    assert Redactor().redact_text(text) == '{"msg": "[PRIVATE_KEY]", "user": "x"}'


def test_custom_patterns_get_their_own_placeholder() -> None:
    redactor = Redactor({"employee_id": r"EMP-\d{6}"})
    assert redactor.redact_text("by EMP-123456 for a@b.io") == "by [EMPLOYEE_ID] for [EMAIL]"


@pytest.mark.parametrize(
    ("name", "pattern", "message"),
    [
        ("ticket", "([unclosed", "invalid regular expression"),
        ("ticket", "a*", "matches the empty string"),
        ("9lives", "x", "pattern name"),
        ("email", "x+", "built-in kind"),
    ],
)
def test_bad_custom_patterns_name_the_key(name: str, pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message) as caught:
        Redactor({name: pattern})
    assert caught.value.name == name
