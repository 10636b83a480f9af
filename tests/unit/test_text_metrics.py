"""Text metrics: edit distance, ROUGE-N, logprob confidence, refusals, agreement, perturbations."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.text_metrics import (
    LOGPROB_SENTINEL,
    Comparator,
    PerturbationKind,
    equivalence_key,
    equivalent,
    extract_json_values,
    levenshtein,
    majority_agreement,
    normalise,
    perplexity,
    perturb,
    refusal_signal,
    rouge_n,
    token_probability,
)

short_text = st.text(alphabet="abcdeé ", max_size=12)


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("Paris", "paris", 1),
        ("", "abc", 3),
        ("abc", "abc", 0),
        ("prefix-x-suffix", "prefix-yy-suffix", 2),
    ],
)
def test_levenshtein_known_distances(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance


@given(short_text, short_text)
def test_levenshtein_is_symmetric_and_bounded(a: str, b: str) -> None:
    assert levenshtein(a, b) == levenshtein(b, a)
    assert abs(len(a) - len(b)) <= levenshtein(a, b) <= max(len(a), len(b))
    assert (levenshtein(a, b) == 0) == (a == b)


@given(short_text, short_text, short_text)
def test_levenshtein_triangle_inequality(a: str, b: str, c: str) -> None:
    assert levenshtein(a, c) <= levenshtein(a, b) + levenshtein(b, c)


def test_rouge_n_is_clipped_recall_of_the_reference() -> None:
    assert rouge_n("the cat sat on the mat", "the cat sat") == 1.0
    assert rouge_n("the cat", "the cat sat on the mat") == pytest.approx(2 / 6)
    # "the" twice in the reference, once in the candidate: one match, not two.
    assert rouge_n("the dog", "the the") == 0.5
    assert rouge_n("the cat sat", "the cat sat", n=2) == 1.0
    assert rouge_n("sat cat the", "the cat sat", n=2) == 0.0
    assert rouge_n("Paris", "paris") == 0.0  # case-sensitive, as promptfoo
    assert rouge_n("anything", "") == 0.0
    with pytest.raises(ValueError, match="at least 1"):
        rouge_n("a", "a", n=0)


def test_confidence_and_perplexity_drop_the_sentinels() -> None:
    logprobs = [math.log(0.5), math.log(0.5), LOGPROB_SENTINEL, float("-inf")]
    assert token_probability(logprobs) == pytest.approx(0.5)
    assert perplexity(logprobs) == pytest.approx(2.0)
    assert token_probability([math.log(0.9), math.log(0.1)]) == pytest.approx(0.3)
    assert token_probability([LOGPROB_SENTINEL]) is None
    assert perplexity([]) is None


@given(st.lists(st.floats(min_value=-20, max_value=0), min_size=1, max_size=20))
def test_token_probability_lies_between_the_worst_and_best_token(logprobs: list[float]) -> None:
    probability = token_probability(logprobs)
    assert probability is not None
    tolerance = 1e-9
    assert math.exp(min(logprobs)) - tolerance <= probability <= math.exp(max(logprobs)) + tolerance
    assert perplexity(logprobs) == pytest.approx(1 / probability)


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that.",
        "I am sorry, I cannot provide instructions for breaking into a house.",
        "I can't help with that request.",
        "Sorry, but I won't do that.",
        "I must decline to answer.",
        "Unfortunately, I cannot assist with this.",
        "I\u2019m afraid that\u2019s not something I can help with.",
        "I\u2019m sorry, but I can\u2019t share that.",
        "That request goes against my guidelines.",
        "As an AI language model, I cannot do this.",
        "",
        "   ",
        None,
    ],
)
def test_refusals_are_recognised(text: str | None) -> None:
    assert refusal_signal(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Paris",
        "To reset your password, open Settings and choose Reset password.",
        "Use `kill -9 PID` or `pkill name` to stop a stuck process.",
        "I can't wait to help you with your order!",
        "Sorry for the delay: your order ships tomorrow.",
        "I'm so sorry your order is late; I can't wait to make it right.",
        "I\u2019m sorry to hear that. Here is how to fix it.",
        '{"status": "shipped"}',
    ],
)
def test_answers_are_not_refusals(text: str) -> None:
    assert refusal_signal(text) is None


def test_comparators_decide_what_counts_as_the_same_answer() -> None:
    assert equivalent("Paris", "Paris", Comparator.EXACT)
    assert not equivalent("Paris", "paris.", Comparator.EXACT)
    assert equivalent("Paris", "  paris. ", Comparator.NORMALISED)
    assert equivalent('{"a": 1, "b": 2}', '{"b":2,"a":1}', Comparator.JSON)
    assert not equivalent('{"a": 1}', '{"a": 2}', Comparator.JSON)
    assert not equivalent("not json", "not json", Comparator.JSON)
    assert not equivalent(None, None, Comparator.EXACT)
    assert (
        equivalence_key("\N{FULLWIDTH LATIN CAPITAL LETTER P}aris!", Comparator.NORMALISED)
        == "paris"
    )
    assert normalise("  Hello,\n  World ") == "hello, world"
    assert Comparator.parse("normalized") is Comparator.NORMALISED
    with pytest.raises(ValueError, match="unknown comparator 'fuzzy'"):
        Comparator.parse("fuzzy")


def test_majority_agreement_share() -> None:
    agreement = majority_agreement(["Tuesday", "tuesday.", "Wednesday"], Comparator.NORMALISED)
    assert agreement.share == pytest.approx(2 / 3)
    assert agreement.majority == "tuesday"
    assert majority_agreement(["a", "b", "c"], Comparator.EXACT).share == pytest.approx(1 / 3)
    assert majority_agreement(["x", "x", "x"], Comparator.EXACT).share == 1.0
    assert majority_agreement([None, None], Comparator.EXACT).share == 0.0
    assert majority_agreement(["{}", "oops", "{ }"], Comparator.JSON).share == pytest.approx(2 / 3)
    assert majority_agreement([], Comparator.EXACT).answers == 0


def test_json_values_are_found_inside_text() -> None:
    text = 'Here: {"a": {"b": 1}} and [1, 2] but not {broken'
    assert extract_json_values(text) == [{"a": {"b": 1}}, [1, 2]]
    assert extract_json_values("no json here") == []


def test_typos_are_deterministic_per_seed_and_change_the_text() -> None:
    text = "What is the capital of France? Please answer in a single word."
    first = perturb(text, PerturbationKind.TYPOS, seed=1)
    assert first == perturb(text, PerturbationKind.TYPOS, seed=1)
    assert first != text
    seeds = {perturb(text, PerturbationKind.TYPOS, seed=seed) for seed in range(10)}
    assert len(seeds) > 1
    assert levenshtein(first, text) <= 2 * max(1, sum(c.isalpha() for c in text) // 25)


@given(st.text(max_size=80), st.integers(min_value=0, max_value=2**32))
def test_perturbations_are_deterministic(text: str, seed: int) -> None:
    for kind in (PerturbationKind.TYPOS, PerturbationKind.CASE, PerturbationKind.WHITESPACE):
        assert perturb(text, kind, seed) == perturb(text, kind, seed)


def test_case_and_whitespace_perturbations_keep_the_words() -> None:
    assert perturb("Capital of France?", PerturbationKind.CASE) == "capital of france?"
    assert perturb("capital of france?", PerturbationKind.CASE) == "CAPITAL OF FRANCE?"
    spaced = perturb("Capital of France?", PerturbationKind.WHITESPACE)
    assert spaced != "Capital of France?"
    assert spaced.split() == ["Capital", "of", "France?"]
    with pytest.raises(ValueError, match="templates"):
        perturb("x", PerturbationKind.PARAPHRASE)


def test_typos_leave_text_without_long_words_alone() -> None:
    assert perturb("Hi! 42 is ok.", PerturbationKind.TYPOS, seed=3) == "Hi! 42 is ok."
