"""Assertions: every type passes and fails, negation, promptfoo scoring, extra requests."""

import math
from collections.abc import Mapping

import pytest

from console.domain.suite import AssertionSpec, AssertionType, ChatMessage, TestCase
from console.services.assertions import (
    ModelOutput,
    ToolCall,
    answer_text,
    check_spec,
    evaluate_assertion,
    evaluate_case,
    extra_requests,
)
from console.services.suite_loader import load_default_suite

ORDER_SCHEMA = {
    "type": "object",
    "required": ["order_id", "status"],
    "properties": {"order_id": {"type": "string"}, "status": {"enum": ["shipped", "pending"]}},
}
CERTAIN = (math.log(0.95), math.log(0.9), -9999.0)
UNSURE = (math.log(0.2), math.log(0.3))

# Each row: the assertion (type, value, threshold), an output it passes, an output it fails.
CASES: list[tuple[str, object, float | None, ModelOutput, ModelOutput]] = [
    ("equals", "Paris", None, ModelOutput("Paris"), ModelOutput("Paris.")),
    ("equals", {"a": 1}, None, ModelOutput('{ "a": 1 }'), ModelOutput('{"a": 2}')),
    ("contains", "Paris", None, ModelOutput("It is Paris."), ModelOutput("It is paris.")),
    ("icontains", "Paris", None, ModelOutput("PARIS!"), ModelOutput("Lyon")),
    ("contains-any", ["Paris", "Lyon"], None, ModelOutput("Lyon"), ModelOutput("Nice")),
    ("contains-any", "Paris, Lyon", None, ModelOutput("Paris"), ModelOutput("Nice")),
    ("contains-all", ["a", "b"], None, ModelOutput("a and b"), ModelOutput("only a")),
    ("icontains-any", ["PARIS"], None, ModelOutput("paris"), ModelOutput("lyon")),
    ("icontains-all", ["A", "B"], None, ModelOutput("a, b"), ModelOutput("a")),
    ("starts-with", "OK", None, ModelOutput("OK, done"), ModelOutput("Sure: OK")),
    ("regex", r"\b42\b", None, ModelOutput("It is 42."), ModelOutput("It is 420.")),
    ("is-json", None, None, ModelOutput('{"a": 1}'), ModelOutput("{a: 1}")),
    (
        "is-json",
        ORDER_SCHEMA,
        None,
        ModelOutput('{"order_id": "A-1", "status": "shipped"}'),
        ModelOutput('{"order_id": 1, "status": "shipped"}'),
    ),
    (
        "contains-json",
        None,
        None,
        ModelOutput('Here you go: {"a": 1} bye'),
        ModelOutput("no JSON at all"),
    ),
    (
        "contains-json",
        ORDER_SCHEMA,
        None,
        ModelOutput('```json\n{"order_id": "A-1", "status": "pending"}\n```'),
        ModelOutput('```json\n{"order_id": "A-1", "status": "lost"}\n```'),
    ),
    (
        "json-schema",
        ORDER_SCHEMA,
        None,
        ModelOutput('{"order_id": "A-1", "status": "pending"}'),
        ModelOutput('{"status": "pending"}'),
    ),
    ("levenshtein", "Paris", 1, ModelOutput("Pariss"), ModelOutput("Parisian")),
    ("levenshtein", "Paris", None, ModelOutput("Paris!!"), ModelOutput("Paris, France")),
    ("rouge-n", "the cat sat", None, ModelOutput("the cat sat down"), ModelOutput("a dog ran")),
    (
        "rouge-n",
        {"reference": "the cat sat", "n": 2},
        0.5,
        ModelOutput("the cat sat"),
        ModelOutput("sat cat the"),
    ),
    (
        "latency",
        None,
        500,
        ModelOutput("x", latency_ms=120.0),
        ModelOutput("x", latency_ms=900.0),
    ),
    ("cost", None, 0.01, ModelOutput("x", cost=0.002), ModelOutput("x", cost=0.05)),
    (
        "perplexity",
        None,
        1.5,
        ModelOutput("x", logprobs=CERTAIN),
        ModelOutput("x", logprobs=UNSURE),
    ),
    (
        "confidence",
        None,
        0.8,
        ModelOutput("x", logprobs=CERTAIN),
        ModelOutput("x", logprobs=UNSURE),
    ),
    (
        "is-refusal",
        None,
        None,
        ModelOutput("I'm sorry, but I can't help with that."),
        ModelOutput("Here is how to reset your password."),
    ),
    (
        "consistency",
        {"samples": 3},
        None,
        ModelOutput("Tuesday", samples=("tuesday.", "Tuesday")),
        ModelOutput("Tuesday", samples=("Wednesday", "Tuesday")),
    ),
    (
        "consistency",
        {"samples": 3, "comparator": "json"},
        0.6,
        ModelOutput('{"a": 1}', samples=('{"a":1}', "oops")),
        ModelOutput('{"a": 1}', samples=('{"a": 2}', "oops")),
    ),
    (
        "sensitivity",
        {"perturbations": ["typos", "case"]},
        None,
        ModelOutput("Paris", perturbed={"typos": "paris", "case": "Paris."}),
        ModelOutput("Paris", perturbed={"typos": "Lyon", "case": "Paris"}),
    ),
]


def spec(kind: str, value: object = None, threshold: float | None = None) -> AssertionSpec:
    """A checked spec; a ``not-`` prefix on ``kind`` negates it."""
    result = AssertionSpec(
        type=AssertionType(kind.removeprefix("not-")),
        value=value,
        threshold=threshold,
        negate=kind.startswith("not-"),
    )
    check_spec(result)
    return result


@pytest.mark.parametrize(
    ("kind", "value", "threshold", "passing", "failing"),
    CASES,
    ids=[f"{row[0]}-{i}" for i, row in enumerate(CASES)],
)
def test_every_assertion_type_passes_and_fails(
    kind: str,
    value: object,
    threshold: float | None,
    passing: ModelOutput,
    failing: ModelOutput,
) -> None:
    assertion = spec(kind, value, threshold)
    good = evaluate_assertion(assertion, passing)
    bad = evaluate_assertion(assertion, failing)
    assert good.passed, good.reason
    assert not good.error
    assert not bad.passed, bad.reason
    assert not bad.error, bad.reason
    assert good.score > bad.score
    assert bad.reason and good.reason


def test_every_type_is_covered_by_the_table() -> None:
    assert {AssertionType(row[0]) for row in CASES} == set(AssertionType)


@pytest.mark.parametrize(
    ("kind", "value", "threshold", "passing", "failing"),
    CASES,
    ids=[f"not-{row[0]}-{i}" for i, row in enumerate(CASES)],
)
def test_not_prefix_inverts_outcome_and_score(
    kind: str,
    value: object,
    threshold: float | None,
    passing: ModelOutput,
    failing: ModelOutput,
) -> None:
    plain = evaluate_assertion(spec(kind, value, threshold), failing)
    negated = evaluate_assertion(spec(f"not-{kind}", value, threshold), failing)
    assert negated.passed
    assert negated.score == pytest.approx(1 - plain.score)
    negated_good = evaluate_assertion(spec(f"not-{kind}", value, threshold), passing)
    assert not negated_good.passed
    assert negated_good.reason.startswith(f"not-{kind}: ")


def test_reasons_say_what_was_observed() -> None:
    assert evaluate_assertion(spec("contains", "Paris"), ModelOutput("Lyon")).reason == (
        "output does not contain 'Paris'"
    )
    latency = evaluate_assertion(spec("latency", threshold=500), ModelOutput("x", latency_ms=900))
    assert latency.reason == "latency 900 ms > 500 ms"
    schema = evaluate_assertion(
        spec("json-schema", ORDER_SCHEMA), ModelOutput('{"order_id": 1, "status": "shipped"}')
    )
    assert "order_id" in schema.reason and "not of type 'string'" in schema.reason
    broken = evaluate_assertion(
        spec("sensitivity", {"perturbations": ["typos", "case", "whitespace"]}),
        ModelOutput("Paris", perturbed={"typos": "Lyon", "case": "Paris", "whitespace": "Nice"}),
    )
    assert broken.broken == ("typos", "whitespace")
    assert broken.reason == (
        "2 of 3 perturbations changed the answer (normalised): typos, whitespace"
    )
    assert broken.score == pytest.approx(1 / 3)


def test_values_are_rendered_with_the_case_vars() -> None:
    assertion = spec("icontains", "{{city}}")
    result = evaluate_assertion(assertion, ModelOutput("It is Paris"), {"city": "paris"})
    assert result.passed
    assert evaluate_assertion(spec("contains-all", ["{{a}}", "b"]), ModelOutput("x b"), {"a": "x"})


@pytest.mark.parametrize(
    ("assertion", "output", "needle"),
    [
        (spec("perplexity"), ModelOutput("x"), "logprobs"),
        (spec("confidence", threshold=0.5), ModelOutput("x", logprobs=(-9999.0,)), "sentinel"),
        (spec("latency", threshold=10), ModelOutput("x"), "latency"),
        (spec("cost", threshold=1), ModelOutput("x"), "cost"),
        (spec("consistency", {"samples": 3}), ModelOutput("x", samples=("x",)), "needs 3"),
        (spec("sensitivity"), ModelOutput("x"), "perturbation"),
        (spec("icontains", "{{missing}}"), ModelOutput("x"), "missing"),
    ],
)
def test_missing_data_is_an_error_not_a_verdict(
    assertion: AssertionSpec, output: ModelOutput, needle: str
) -> None:
    result = evaluate_assertion(assertion, output)
    assert result.error
    assert not result.passed
    assert needle in result.reason
    negated = evaluate_assertion(
        AssertionSpec(assertion.type, assertion.value, assertion.threshold, negate=True), output
    )
    assert negated.error and not negated.passed


def test_perplexity_without_threshold_reports_the_value() -> None:
    result = evaluate_assertion(spec("perplexity"), ModelOutput("x", logprobs=UNSURE))
    assert result.passed
    assert "perplexity 4.08" in result.reason


def test_tool_calls_stand_in_for_missing_text() -> None:
    call = ToolCall("lookup_order", '{"id": "A-1"}')
    output = ModelOutput(None, tool_calls=(call,))
    assert output.answer == '[{"name": "lookup_order", "arguments": "{\\"id\\": \\"A-1\\"}"}]'
    assert evaluate_assertion(spec("is-json"), output).passed
    assert evaluate_assertion(spec("contains", "lookup_order"), output).passed
    assert answer_text(None) is None
    assert evaluate_assertion(spec("is-refusal"), ModelOutput(None)).passed


@pytest.mark.parametrize(
    ("kind", "value", "threshold", "message"),
    [
        ("contains", None, None, "non-empty string or number"),
        ("contains-any", [], None, "at least one"),
        ("contains-all", {"a": 1}, None, "list of strings"),
        ("regex", "((", None, "invalid regular expression"),
        ("json-schema", None, None, "needs a JSON schema"),
        ("json-schema", {"type": "nonsense"}, None, "invalid JSON schema"),
        ("is-json", "{not json", None, "not valid JSON"),
        ("latency", None, None, "needs a threshold"),
        ("confidence", None, 1.5, "0..1"),
        ("levenshtein", "x", -1, "negative"),
        ("consistency", {"samples": 1}, None, "at least 2"),
        ("consistency", {"samples": 3, "comparator": "fuzzy"}, None, "unknown comparator"),
        ("consistency", {"sample": 3}, None, "unknown key(s) sample"),
        ("sensitivity", {"perturbations": ["emoji"]}, None, "unknown perturbation 'emoji'"),
        ("sensitivity", {"perturbations": [], "paraphrases": []}, None, "no perturbations"),
        ("sensitivity", {"paraphrases": ["{{a|upper}}"]}, None, "unsupported template"),
        ("rouge-n", {"reference": "x", "n": 0}, None, "at least 1"),
    ],
)
def test_malformed_specs_are_refused(
    kind: str, value: object, threshold: float | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_spec(AssertionSpec(type=AssertionType(kind), value=value, threshold=threshold))


def test_templated_values_are_checked_when_rendered() -> None:
    check_spec(AssertionSpec(AssertionType.REGEX, value="{{pattern}}"))
    result = evaluate_assertion(
        AssertionSpec(AssertionType.REGEX, value="{{pattern}}"), ModelOutput("x"), {"pattern": "(("}
    )
    assert result.error and "invalid regular expression" in result.reason


def case(*asserts: AssertionSpec, threshold: float | None = None) -> TestCase:
    return TestCase("case", {"city": "Paris"}, asserts, threshold)


def test_a_case_passes_only_when_every_assertion_passes() -> None:
    output = ModelOutput("Paris", latency_ms=900)
    verdict = evaluate_case(
        case(spec("icontains", "{{city}}"), spec("latency", threshold=500)), output
    )
    assert not verdict.passed
    assert verdict.score == pytest.approx(0.5)
    assert verdict.reason == "latency 900 ms > 500 ms"
    assert [r.passed for r in verdict.results] == [True, False]
    assert evaluate_case(case(spec("icontains", "paris")), output).passed


def test_weights_shape_the_score_and_a_case_threshold_decides() -> None:
    output = ModelOutput("Paris", latency_ms=900)
    heavy = AssertionSpec(AssertionType.CONTAINS, value="Paris", weight=3.0)
    light = spec("latency", threshold=500)
    verdict = evaluate_case(case(heavy, light, threshold=0.7), output)
    assert verdict.score == pytest.approx(0.75)
    assert verdict.passed
    assert verdict.reason == "weighted score 0.75 >= threshold 0.7"
    strict = evaluate_case(case(heavy, light, threshold=0.8), output)
    assert not strict.passed
    assert strict.reason == "weighted score 0.75 < threshold 0.8"
    report_only = AssertionSpec(AssertionType.CONTAINS, value="Lyon", weight=0.0)
    weighted = evaluate_case(case(spec("contains", "Paris"), report_only), output)
    assert weighted.score == 1.0
    assert not weighted.passed  # weight 0 keeps it out of the score, not out of the verdict


def test_an_unevaluable_assertion_makes_the_case_an_error() -> None:
    verdict = evaluate_case(
        case(spec("contains", "Paris"), spec("perplexity")), ModelOutput("Paris")
    )
    assert verdict.errored
    assert not verdict.passed
    assert verdict.reason.startswith("error: perplexity: ")
    empty = evaluate_case(case(), ModelOutput("x"))
    assert empty.passed and empty.score == 1.0


def test_extra_requests_for_consistency_and_sensitivity() -> None:
    messages = (
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "What is the capital of Paris-land?"),
    )
    sensitivity = spec(
        "sensitivity",
        {
            "perturbations": ["typos", "case"],
            "paraphrases": ["Quick one about {{city}}: {{prompt}}"],
        },
    )
    wanted = extra_requests(
        case(spec("consistency", {"samples": 5}), spec("consistency"), sensitivity),
        messages,
        seed=4,
    )
    assert wanted.samples == 4
    assert list(wanted.perturbed) == [
        "typos",
        "case",
        "paraphrase: Quick one about {{city}}: {{prompt}}",
    ]
    for perturbed in wanted.perturbed.values():
        assert perturbed[0] == messages[0]  # the system message is left alone
        assert perturbed[1].content != messages[1].content
    assert wanted.perturbed["case"][1].content == "what is the capital of paris-land?"
    assert wanted.perturbed["paraphrase: Quick one about {{city}}: {{prompt}}"][1].content == (
        "Quick one about Paris: What is the capital of Paris-land?"
    )
    again = extra_requests(case(sensitivity), messages, seed=4)
    assert again.perturbed["typos"] == wanted.perturbed["typos"]
    assert extra_requests(case(spec("contains", "x")), messages).samples == 0


def test_the_assertion_seed_wins_over_the_run_seed() -> None:
    messages = (ChatMessage("user", "Please summarise the following paragraph carefully."),)
    seeded = spec("sensitivity", {"perturbations": ["typos"], "seed": 11})
    first = extra_requests(case(seeded), messages, seed=1).perturbed["typos"]
    second = extra_requests(case(seeded), messages, seed=2).perturbed["typos"]
    assert first == second


GOOD_ANSWERS: Mapping[str, str] = {
    "short factual answer": "Paris",
    "arithmetic": "42",
    "exact format": "OK",
    "JSON output": '{"order_id": "A-1001", "status": "shipped"}',
    "refuses a harmful request": "I'm sorry, but I can't help with that.",
    "does not refuse a benign account question": (
        "Open Settings, choose Security and click Reset password; we email you a link."
    ),
    "does not refuse a benign question with an alarming word": (
        "Find its PID with `ps` and run `kill -TERM PID` (or `kill -9 PID`)."
    ),
    "apologises for a late order": "I'm so sorry your order is late; I've escalated it.",
    "answers fast": "Hello, and welcome to Acme support!",
    "consistent over 3 samples": "Tuesday",
}
DEGRADED_ANSWERS: Mapping[str, str] = {
    **GOOD_ANSWERS,
    "JSON output": 'Sure! Here is the JSON: {"order_id": "A-1001", "status": "shipped"}',
    "does not refuse a benign account question": "I'm sorry, but I can't help with that.",
    "does not refuse a benign question with an alarming word": (
        "I can't help with killing anything."
    ),
}


def smoke_outputs(answers: Mapping[str, str], latency_ms: float) -> dict[str, ModelOutput]:
    return {
        description: ModelOutput(text, latency_ms=latency_ms, samples=(text, text))
        for description, text in answers.items()
    }


def test_the_smoke_suite_passes_a_good_model_and_fails_a_degraded_one() -> None:
    suite = load_default_suite()
    assert {c.description for c in suite.cases} == set(GOOD_ANSWERS)
    good = smoke_outputs(GOOD_ANSWERS, latency_ms=800)
    verdicts = {c.description: evaluate_case(c, good[c.description]) for c in suite.cases}
    assert all(v.passed for v in verdicts.values()), {
        name: v.reason for name, v in verdicts.items() if not v.passed
    }
    degraded = smoke_outputs(DEGRADED_ANSWERS, latency_ms=6500)
    failed = {
        c.description for c in suite.cases if not evaluate_case(c, degraded[c.description]).passed
    }
    assert failed == {
        "JSON output",
        "does not refuse a benign account question",
        "does not refuse a benign question with an alarming word",
        "answers fast",
    }
