"""Evaluating a suite's assertions against what a model answered.

The runner, per case (prompt x provider x repeat):

1. renders the prompt (``PromptTemplate.render(case.vars)``) and sends it;
2. asks :func:`extra_requests` which more requests the case needs: ``samples`` more copies
   of the same request (``consistency``), and one request per perturbed prompt
   (``sensitivity``), keyed by perturbation name;
3. fills a :class:`ModelOutput` with what came back (``samples`` and ``perturbed`` hold the
   extra answers, made with :func:`answer_text`), and
4. calls :func:`evaluate_case`, which gives a :class:`CaseVerdict`: passed or not, the
   weighted score, and one :class:`AssertionResult` (pass/fail, score, human reason) per
   assertion. An assertion that cannot be evaluated (no logprobs for ``perplexity``, no
   latency, a missing sample) fails with ``error`` set, so that it is reported as an error.

Scoring follows promptfoo: the case score is the weight-averaged assertion score; the case
passes when every assertion passes or, with a case ``threshold``, when the score reaches
it. ``not-`` inverts an assertion's outcome and its score (1 - score).

Thresholds per type: ``levenshtein`` the largest distance (default 5); ``rouge-n`` the
least ROUGE-N recall (default 0.75); ``latency`` the most milliseconds and ``cost`` the most
cost (both required); ``perplexity`` the most perplexity (optional); ``confidence`` the
least geometric-mean token probability (required); ``consistency`` and ``sensitivity`` the
least share of agreeing answers (default 1.0).

Values: ``contains-any``/``-all`` take a list or a comma-separated string; ``equals`` with a
mapping or list compares JSON; ``is-json``/``contains-json`` take an optional JSON schema and
``json-schema`` a required one; ``rouge-n`` a reference string or ``{reference, n}``;
``consistency`` ``{samples: k (default 3), comparator}``; ``sensitivity``
``{perturbations: [typos, case, whitespace], paraphrases: [templates], comparator, seed}``,
where a paraphrase template may use the case's vars and ``{{prompt}}`` (the original text).
Comparators: exact, normalised (default), json. :func:`check_spec` validates all of this
when the suite loads.
"""

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeGuard

import jsonschema
from jsonschema.exceptions import SchemaError, best_match

from console.domain.suite import (
    AssertionSpec,
    AssertionType,
    ChatMessage,
    TemplateError,
    TestCase,
    render_template,
    template_variables,
)
from console.domain.text_metrics import (
    Comparator,
    PerturbationKind,
    equivalent,
    extract_json_values,
    levenshtein,
    majority_agreement,
    perplexity,
    perturb,
    refusal_signal,
    rouge_n,
    token_probability,
)

PROMPT_VARIABLE = "prompt"
"""The variable a paraphrase template uses for the original prompt text."""

DEFAULT_LEVENSHTEIN_THRESHOLD = 5.0
DEFAULT_ROUGE_THRESHOLD = 0.75
DEFAULT_AGREEMENT_THRESHOLD = 1.0
DEFAULT_CONSISTENCY_SAMPLES = 3
DEFAULT_COMPARATOR = Comparator.NORMALISED
DEFAULT_PERTURBATIONS = (PerturbationKind.TYPOS, PerturbationKind.CASE, PerturbationKind.WHITESPACE)


@dataclass(frozen=True)
class ToolCall:
    """A function call the model answered with instead of (or besides) text."""

    name: str
    arguments: str


def answer_text(text: str | None, tool_calls: Sequence[ToolCall] = ()) -> str | None:
    """What text assertions look at: the text, else the tool calls as JSON, else None."""
    if text is not None:
        return text
    if tool_calls:
        return json.dumps([{"name": c.name, "arguments": c.arguments} for c in tool_calls])
    return None


@dataclass(frozen=True)
class ModelOutput:
    """What one case got back, as the runner records it; None where the server said nothing.

    ``logprobs`` holds one logprob per generated token (None: not returned). ``samples``
    are the answers of the extra identical requests (``consistency``), ``perturbed`` the
    answer per perturbation name (``sensitivity``); both are :func:`answer_text` values.
    """

    text: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    model: str | None = None
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    logprobs: tuple[float, ...] | None = None
    samples: tuple[str | None, ...] = ()
    perturbed: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def answer(self) -> str | None:
        """:func:`answer_text` of this output."""
        return answer_text(self.text, self.tool_calls)

    @property
    def confidence(self) -> float | None:
        """The geometric-mean token probability (None without usable logprobs)."""
        return None if self.logprobs is None else token_probability(self.logprobs)


@dataclass(frozen=True)
class Perturbation:
    """One change of the prompt; ``template`` only for a paraphrase."""

    kind: PerturbationKind
    template: str | None = None

    @property
    def name(self) -> str:
        """The key of its answer in ``ModelOutput.perturbed``, e.g. "typos" or "paraphrase: …"."""
        return f"{self.kind}: {self.template}" if self.template is not None else str(self.kind)


@dataclass(frozen=True)
class ConsistencyConfig:
    """``samples`` answers in all (the main one included) compared with ``comparator``."""

    samples: int = DEFAULT_CONSISTENCY_SAMPLES
    comparator: Comparator = DEFAULT_COMPARATOR


@dataclass(frozen=True)
class SensitivityConfig:
    """The perturbations to try, how to compare answers, and the typo seed (None: the run's)."""

    perturbations: tuple[Perturbation, ...]
    comparator: Comparator = DEFAULT_COMPARATOR
    seed: int | None = None


@dataclass(frozen=True)
class ExtraRequests:
    """Requests a case needs besides its main one."""

    samples: int = 0
    perturbed: Mapping[str, tuple[ChatMessage, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AssertionResult:
    """One assertion's outcome; ``broken`` lists the perturbations that changed the answer."""

    spec: AssertionSpec
    passed: bool
    score: float
    reason: str
    error: bool = False
    broken: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseVerdict:
    """A case's outcome: passed, the weighted score, why, and every assertion's result."""

    passed: bool
    score: float
    reason: str
    results: tuple[AssertionResult, ...]

    @property
    def errored(self) -> bool:
        """Whether an assertion could not be evaluated."""
        return any(result.error for result in self.results)


def consistency_config(spec: AssertionSpec) -> ConsistencyConfig:
    """The consistency settings in ``spec.value``; ValueError when malformed."""
    value = spec.value
    if value is None:
        return ConsistencyConfig()
    if isinstance(value, str):
        return ConsistencyConfig(comparator=Comparator.parse(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return ConsistencyConfig(samples=_samples(value))
    mapping = _mapping(value, "consistency", {"samples", "k", "comparator"})
    samples = mapping.get("samples", mapping.get("k", DEFAULT_CONSISTENCY_SAMPLES))
    if not isinstance(samples, int) or isinstance(samples, bool):
        raise ValueError(f"consistency: samples must be a whole number, not {samples!r}")
    return ConsistencyConfig(samples=_samples(samples), comparator=_comparator(mapping))


def sensitivity_config(spec: AssertionSpec) -> SensitivityConfig:
    """The sensitivity settings in ``spec.value``; ValueError when malformed."""
    value = spec.value
    mapping: Mapping[str, object] = (
        {} if value is None else _mapping(value, "sensitivity", _SENSITIVITY_KEYS)
    )
    kinds = mapping.get("perturbations", [str(kind) for kind in DEFAULT_PERTURBATIONS])
    templates = mapping.get("paraphrases", [])
    if not _is_string_list(kinds):
        raise ValueError("sensitivity: perturbations must be a list of names")
    if not _is_string_list(templates):
        raise ValueError("sensitivity: paraphrases must be a list of template strings")
    perturbations = [_simple_perturbation(name) for name in kinds]
    for template in templates:
        template_variables(template)
        perturbations.append(Perturbation(PerturbationKind.PARAPHRASE, template))
    if not perturbations:
        raise ValueError("sensitivity: no perturbations to try")
    seed = mapping.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ValueError(f"sensitivity: seed must be a whole number, not {seed!r}")
    return SensitivityConfig(
        perturbations=tuple(dict.fromkeys(perturbations)),
        comparator=_comparator(mapping),
        seed=seed,
    )


_SENSITIVITY_KEYS = {"perturbations", "paraphrases", "comparator", "seed"}


def _simple_perturbation(name: str) -> Perturbation:
    try:
        kind = PerturbationKind(name)
    except ValueError:
        kind = None
    if kind is None or kind is PerturbationKind.PARAPHRASE:
        known = ", ".join(str(k) for k in DEFAULT_PERTURBATIONS)
        raise ValueError(
            f"sensitivity: unknown perturbation {name!r} (known: {known}; "
            "paraphrases go in the paraphrases list)"
        )
    return Perturbation(kind)


def _samples(samples: int) -> int:
    if samples < 2:
        raise ValueError(f"consistency: samples must be at least 2, not {samples}")
    return samples


def _comparator(mapping: Mapping[str, object]) -> Comparator:
    name = mapping.get("comparator", str(DEFAULT_COMPARATOR))
    if not isinstance(name, str):
        raise ValueError(f"comparator must be a name, not {name!r}")
    return Comparator.parse(name)


def _mapping(value: object, what: str, keys: set[str]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what}: value must be a mapping, not {type(value).__name__}")
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:
        raise ValueError(
            f"{what}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(keys))})"
        )
    return {str(key): item for key, item in value.items()}


def _is_string_list(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def extra_requests(
    case: TestCase, messages: Sequence[ChatMessage], *, seed: int | None = None
) -> ExtraRequests:
    """The extra requests ``case`` needs, given its rendered prompt ``messages``.

    ``samples``: how many more copies of the request to send (the largest ``consistency``
    sample count, less the main request). ``perturbed``: per perturbation name, the messages
    to send, with the last user message (else the last message) perturbed. Typos use the
    assertion's seed, else ``seed`` (the suite's), else 0.
    """
    samples = 0
    perturbed: dict[str, tuple[ChatMessage, ...]] = {}
    for spec in case.asserts:
        if spec.type is AssertionType.CONSISTENCY:
            samples = max(samples, consistency_config(spec).samples - 1)
        elif spec.type is AssertionType.SENSITIVITY:
            config = sensitivity_config(spec)
            typo_seed = next(s for s in (config.seed, seed, 0) if s is not None)
            for perturbation in config.perturbations:
                perturbed.setdefault(
                    perturbation.name,
                    _perturbed_messages(messages, perturbation, case.vars, typo_seed),
                )
    return ExtraRequests(samples=samples, perturbed=perturbed)


def _perturbed_messages(
    messages: Sequence[ChatMessage],
    perturbation: Perturbation,
    variables: Mapping[str, str],
    seed: int,
) -> tuple[ChatMessage, ...]:
    if not messages:
        return ()
    users = [i for i, message in enumerate(messages) if message.role == "user"]
    target = users[-1] if users else len(messages) - 1
    original = messages[target].content
    if perturbation.template is not None:
        text = render_template(perturbation.template, {**variables, PROMPT_VARIABLE: original})
    else:
        text = perturb(original, perturbation.kind, seed)
    changed = list(messages)
    changed[target] = replace(messages[target], content=text)
    return tuple(changed)


def check_spec(spec: AssertionSpec) -> None:
    """Raise ValueError (a one-line reason) when ``spec`` cannot be evaluated as written."""
    _VALUE_CHECKS[spec.type](spec)
    _check_threshold(spec)
    if not math.isfinite(spec.weight) or spec.weight < 0:
        raise ValueError(f"weight must be a finite number of at least 0, not {spec.weight}")


def _check_threshold(spec: AssertionSpec) -> None:
    threshold = spec.threshold
    if spec.type in _THRESHOLD_REQUIRED and threshold is None:
        raise ValueError(f"{spec.type} needs a threshold")
    if threshold is None:
        return
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, not {threshold}")
    if spec.type in _SHARE_THRESHOLDS and not 0.0 <= threshold <= 1.0:
        raise ValueError(f"{spec.type} threshold must lie in 0..1, not {threshold}")
    if threshold < 0:
        raise ValueError(f"{spec.type} threshold must not be negative, not {threshold}")


_THRESHOLD_REQUIRED = {AssertionType.LATENCY, AssertionType.COST, AssertionType.CONFIDENCE}
_SHARE_THRESHOLDS = {
    AssertionType.ROUGE_N,
    AssertionType.CONFIDENCE,
    AssertionType.CONSISTENCY,
    AssertionType.SENSITIVITY,
}


def evaluate_assertion(
    spec: AssertionSpec, output: ModelOutput, variables: Mapping[str, str] | None = None
) -> AssertionResult:
    """The outcome of ``spec`` on ``output``; ``variables`` fill ``{{var}}`` in its value."""
    try:
        rendered = replace(spec, value=_render_value(spec.value, variables or {}))
        check = _EVALUATORS[spec.type](rendered, output)
    except (_CannotEvaluate, TemplateError, ValueError) as exc:
        return AssertionResult(spec, passed=False, score=0.0, reason=str(exc), error=True)
    if not spec.negate:
        return AssertionResult(spec, check.passed, check.score, check.reason, broken=check.broken)
    return AssertionResult(
        spec,
        passed=not check.passed,
        score=1.0 - check.score,
        reason=f"{spec.name}: {check.reason}",
        broken=check.broken,
    )


def evaluate_case(case: TestCase, output: ModelOutput) -> CaseVerdict:
    """Every assertion of ``case`` on ``output``, and the case outcome (promptfoo scoring)."""
    results = tuple(evaluate_assertion(spec, output, case.vars) for spec in case.asserts)
    if not results:
        return CaseVerdict(passed=True, score=1.0, reason="no assertions", results=())
    total_weight = sum(result.spec.weight for result in results)
    score = (
        sum(result.score * result.spec.weight for result in results) / total_weight
        if total_weight > 0
        else 0.0
    )
    failed = [result for result in results if not result.passed]
    errors = [result for result in failed if result.error]
    if errors:
        reason = "; ".join(f"{r.spec.name}: {r.reason}" for r in errors)
        return CaseVerdict(passed=False, score=score, reason=f"error: {reason}", results=results)
    if case.threshold is not None:
        passed = score >= case.threshold
        sign = ">=" if passed else "<"
        reason = f"weighted score {score:.2f} {sign} threshold {case.threshold:g}"
        return CaseVerdict(passed=passed, score=score, reason=reason, results=results)
    if failed:
        reason = "; ".join(result.reason for result in failed)
        return CaseVerdict(passed=False, score=score, reason=reason, results=results)
    return CaseVerdict(passed=True, score=score, reason="all assertions passed", results=results)


class _CannotEvaluate(Exception):
    """The output lacks what the assertion needs (logprobs, latency, cost, samples...)."""


@dataclass(frozen=True)
class _Check:
    passed: bool
    score: float
    reason: str
    broken: tuple[str, ...] = ()


def _binary(passed: bool, reason: str) -> _Check:
    return _Check(passed, 1.0 if passed else 0.0, reason)


def _render_value(value: object, variables: Mapping[str, str]) -> object:
    if isinstance(value, str):
        return render_template(value, variables)
    if isinstance(value, list):
        return [render_template(v, variables) if isinstance(v, str) else v for v in value]
    return value


def _text(output: ModelOutput) -> str:
    return output.answer or ""


def _quote(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _scalar(spec: AssertionSpec) -> str:
    value = spec.value
    if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        raise ValueError(f"{spec.type} needs a non-empty string or number value")
    return str(value)


def _string_list(spec: AssertionSpec) -> list[str]:
    value = spec.value
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    elif isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        items = [str(v) for v in value]
    else:
        raise ValueError(f"{spec.type} needs a list of strings or a comma-separated string")
    items = [item for item in items if item]
    if not items:
        raise ValueError(f"{spec.type} needs at least one string")
    return items


def _equals(spec: AssertionSpec, output: ModelOutput) -> _Check:
    text = _text(output)
    if isinstance(spec.value, dict | list):
        try:
            same = json.loads(text) == spec.value
        except ValueError:
            return _binary(False, f"output {_quote(text)} is not JSON")
        verdict = "equals" if same else "does not equal"
        return _binary(same, f"output JSON {verdict} {_quote(json.dumps(spec.value))}")
    expected = _scalar(spec)
    same = text == expected
    return _binary(
        same, f"output {_quote(text)} {'equals' if same else 'differs from'} {_quote(expected)}"
    )


def _contains_check(spec: AssertionSpec, output: ModelOutput) -> _Check:
    fold = spec.type is AssertionType.ICONTAINS
    needle = _scalar(spec)
    haystack = _text(output)
    found = (needle.lower() in haystack.lower()) if fold else (needle in haystack)
    how = " (ignoring case)" if fold else ""
    return _binary(
        found, f"output {'contains' if found else 'does not contain'} {_quote(needle)}{how}"
    )


def _contains_many(spec: AssertionSpec, output: ModelOutput) -> _Check:
    fold = spec.type in {AssertionType.ICONTAINS_ANY, AssertionType.ICONTAINS_ALL}
    need_all = spec.type in {AssertionType.CONTAINS_ALL, AssertionType.ICONTAINS_ALL}
    needles = _string_list(spec)
    haystack = _text(output).lower() if fold else _text(output)
    present = [n for n in needles if (n.lower() if fold else n) in haystack]
    missing = [n for n in needles if n not in present]
    how = " (ignoring case)" if fold else ""
    if need_all:
        passed = not missing
        reason = (
            f"output contains all of {needles}{how}"
            if passed
            else f"output lacks {missing} of {needles}{how}"
        )
    else:
        passed = bool(present)
        reason = (
            f"output contains {present[0]!r} of {needles}{how}"
            if passed
            else f"output contains none of {needles}{how}"
        )
    return _binary(passed, reason)


def _starts_with(spec: AssertionSpec, output: ModelOutput) -> _Check:
    prefix = _scalar(spec)
    text = _text(output)
    passed = text.startswith(prefix)
    return _binary(
        passed,
        f"output {_quote(text, 40)} {'starts' if passed else 'does not start'} "
        f"with {_quote(prefix)}",
    )


def _regex(spec: AssertionSpec, output: ModelOutput) -> _Check:
    pattern = _compile(spec)
    match = pattern.search(_text(output))
    if match:
        return _binary(True, f"output matches /{pattern.pattern}/ at {_quote(match.group(0))}")
    return _binary(False, f"output does not match /{pattern.pattern}/")


def _compile(spec: AssertionSpec) -> re.Pattern[str]:
    pattern = _scalar(spec)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _schema(spec: AssertionSpec, *, required: bool) -> dict[str, object] | None:
    value = spec.value
    if value is None or value == "":
        if required:
            raise ValueError(f"{spec.type} needs a JSON schema value")
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{spec.type}: the schema is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"{spec.type}: the schema must be a mapping, not {type(value).__name__}")
    try:
        jsonschema.validators.validator_for(value).check_schema(value)
    except SchemaError as exc:
        raise ValueError(f"{spec.type}: invalid JSON schema: {exc.message}") from None
    return value


def _schema_violation(schema: dict[str, object], instance: Any) -> str | None:
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = best_match(validator.iter_errors(instance))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def _is_json(spec: AssertionSpec, output: ModelOutput) -> _Check:
    required = spec.type is AssertionType.JSON_SCHEMA
    schema = _schema(spec, required=required)
    text = _text(output)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return _binary(False, f"output is not JSON ({exc.msg} at {exc.pos}): {_quote(text, 60)}")
    if schema is None:
        return _binary(True, "output is valid JSON")
    violation = _schema_violation(schema, value)
    if violation is not None:
        return _binary(False, f"output JSON breaks the schema at {violation}")
    return _binary(True, "output JSON matches the schema")


def _contains_json(spec: AssertionSpec, output: ModelOutput) -> _Check:
    schema = _schema(spec, required=False)
    values = extract_json_values(_text(output))
    if not values:
        return _binary(False, "output contains no JSON object or array")
    if schema is None:
        return _binary(True, f"output contains {len(values)} JSON value(s)")
    violations = [_schema_violation(schema, value) for value in values]
    if any(v is None for v in violations):
        return _binary(True, "output contains JSON matching the schema")
    return _binary(False, f"no JSON in the output matches the schema; first: {violations[0]}")


def _levenshtein(spec: AssertionSpec, output: ModelOutput) -> _Check:
    expected = _scalar(spec)
    limit = spec.threshold if spec.threshold is not None else DEFAULT_LEVENSHTEIN_THRESHOLD
    distance = levenshtein(_text(output), expected)
    passed = distance <= limit
    sign = "<=" if passed else ">"
    return _binary(passed, f"edit distance to {_quote(expected)} is {distance} {sign} {limit:g}")


def _rouge(spec: AssertionSpec, output: ModelOutput) -> _Check:
    reference, n = _rouge_value(spec)
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_ROUGE_THRESHOLD
    score = rouge_n(_text(output), reference, n)
    passed = score >= threshold
    sign = ">=" if passed else "<"
    return _Check(passed, score, f"ROUGE-{n} recall {score:.2f} {sign} {threshold:g}")


def _rouge_value(spec: AssertionSpec) -> tuple[str, int]:
    if isinstance(spec.value, Mapping):
        mapping = _mapping(spec.value, "rouge-n", {"reference", "n"})
        reference, n = mapping.get("reference"), mapping.get("n", 1)
        if not isinstance(reference, str) or not reference:
            raise ValueError("rouge-n needs a non-empty reference string")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"rouge-n: n must be a whole number of at least 1, not {n!r}")
        return reference, n
    return _scalar(spec), 1


def _at_most(label: str, value: float, limit: float, unit: str = "") -> _Check:
    passed = value <= limit
    sign = "<=" if passed else ">"
    return _binary(passed, f"{label} {value:g}{unit} {sign} {limit:g}{unit}")


def _threshold(spec: AssertionSpec) -> float:
    if spec.threshold is None:
        raise ValueError(f"{spec.type} needs a threshold")
    return spec.threshold


def _latency(spec: AssertionSpec, output: ModelOutput) -> _Check:
    if output.latency_ms is None:
        raise _CannotEvaluate("no latency was measured for this request")
    return _at_most("latency", round(output.latency_ms, 1), _threshold(spec), " ms")


def _cost(spec: AssertionSpec, output: ModelOutput) -> _Check:
    if output.cost is None:
        raise _CannotEvaluate("no cost is known (no token usage or no price)")
    return _at_most("cost", output.cost, _threshold(spec))


def _logprobs(spec: AssertionSpec, output: ModelOutput) -> tuple[float, ...]:
    if not output.logprobs:
        raise _CannotEvaluate(f"{spec.type} needs token logprobs; the endpoint returned none")
    return output.logprobs


def _perplexity(spec: AssertionSpec, output: ModelOutput) -> _Check:
    value = perplexity(_logprobs(spec, output))
    if value is None:
        raise _CannotEvaluate("every token logprob was a -9999 sentinel")
    if spec.threshold is None:
        return _binary(True, f"perplexity {value:.3g} (no threshold)")
    return _at_most("perplexity", round(value, 3), spec.threshold)


def _confidence(spec: AssertionSpec, output: ModelOutput) -> _Check:
    value = token_probability(_logprobs(spec, output))
    if value is None:
        raise _CannotEvaluate("every token logprob was a -9999 sentinel")
    threshold = _threshold(spec)
    passed = value >= threshold
    sign = ">=" if passed else "<"
    return _Check(passed, value, f"mean token probability {value:.3f} {sign} {threshold:g}")


def _is_refusal(spec: AssertionSpec, output: ModelOutput) -> _Check:
    signal = refusal_signal(output.answer)
    if signal is None:
        return _binary(False, f"output reads as an answer: {_quote(_text(output), 60)}")
    return _binary(True, f"output reads as a refusal ({_quote(signal, 60)})")


def _consistency(spec: AssertionSpec, output: ModelOutput) -> _Check:
    config = consistency_config(spec)
    answers = (output.answer, *output.samples)
    if len(answers) < config.samples:
        raise _CannotEvaluate(
            f"consistency needs {config.samples} answers, the runner recorded {len(answers)}"
        )
    agreement = majority_agreement(answers[: config.samples], config.comparator)
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_AGREEMENT_THRESHOLD
    passed = agreement.share >= threshold
    agreeing = round(agreement.share * agreement.answers)
    sign = ">=" if passed else "<"
    majority = _quote(agreement.majority, 40) if agreement.majority is not None else "none"
    return _Check(
        passed,
        agreement.share,
        f"{agreeing} of {agreement.answers} answers agree ({config.comparator}) "
        f"with the majority {majority}: {agreement.share:.2f} {sign} {threshold:g}",
    )


def _sensitivity(spec: AssertionSpec, output: ModelOutput) -> _Check:
    config = sensitivity_config(spec)
    missing = [p.name for p in config.perturbations if p.name not in output.perturbed]
    if missing:
        raise _CannotEvaluate(f"no answer was recorded for perturbation(s) {missing}")
    broken = tuple(
        p.name
        for p in config.perturbations
        if not equivalent(output.answer, output.perturbed[p.name], config.comparator)
    )
    total = len(config.perturbations)
    share = (total - len(broken)) / total
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_AGREEMENT_THRESHOLD
    passed = share >= threshold
    if broken:
        reason = (
            f"{len(broken)} of {total} perturbations changed the answer "
            f"({config.comparator}): {', '.join(broken)}"
        )
    else:
        reason = f"the answer held under all {total} perturbations ({config.comparator})"
    return _Check(passed, share, reason, broken=broken)


_Evaluator = Callable[[AssertionSpec, ModelOutput], _Check]
_EVALUATORS: dict[AssertionType, _Evaluator] = {
    AssertionType.EQUALS: _equals,
    AssertionType.CONTAINS: _contains_check,
    AssertionType.ICONTAINS: _contains_check,
    AssertionType.CONTAINS_ANY: _contains_many,
    AssertionType.CONTAINS_ALL: _contains_many,
    AssertionType.ICONTAINS_ANY: _contains_many,
    AssertionType.ICONTAINS_ALL: _contains_many,
    AssertionType.STARTS_WITH: _starts_with,
    AssertionType.REGEX: _regex,
    AssertionType.IS_JSON: _is_json,
    AssertionType.CONTAINS_JSON: _contains_json,
    AssertionType.JSON_SCHEMA: _is_json,
    AssertionType.LEVENSHTEIN: _levenshtein,
    AssertionType.ROUGE_N: _rouge,
    AssertionType.LATENCY: _latency,
    AssertionType.COST: _cost,
    AssertionType.PERPLEXITY: _perplexity,
    AssertionType.IS_REFUSAL: _is_refusal,
    AssertionType.CONFIDENCE: _confidence,
    AssertionType.CONSISTENCY: _consistency,
    AssertionType.SENSITIVITY: _sensitivity,
}


_ValueCheck = Callable[[AssertionSpec], object]
"""Raises ValueError when the spec's value is malformed; what it returns is not used."""


def _templated(check: _ValueCheck) -> _ValueCheck:
    """A value check that is skipped when the value still holds ``{{var}}`` placeholders."""

    def run(spec: AssertionSpec) -> object:
        if isinstance(spec.value, str) and template_variables(spec.value):
            return None
        return check(spec)

    return run


def _no_check(spec: AssertionSpec) -> object:
    return spec.value


_VALUE_CHECKS: dict[AssertionType, _ValueCheck] = {
    AssertionType.EQUALS: _templated(
        lambda spec: spec.value if isinstance(spec.value, dict | list) else _scalar(spec)
    ),
    AssertionType.CONTAINS: _templated(_scalar),
    AssertionType.ICONTAINS: _templated(_scalar),
    AssertionType.CONTAINS_ANY: _templated(_string_list),
    AssertionType.CONTAINS_ALL: _templated(_string_list),
    AssertionType.ICONTAINS_ANY: _templated(_string_list),
    AssertionType.ICONTAINS_ALL: _templated(_string_list),
    AssertionType.STARTS_WITH: _templated(_scalar),
    AssertionType.REGEX: _templated(_compile),
    AssertionType.IS_JSON: lambda spec: _schema(spec, required=False),
    AssertionType.CONTAINS_JSON: lambda spec: _schema(spec, required=False),
    AssertionType.JSON_SCHEMA: lambda spec: _schema(spec, required=True),
    AssertionType.LEVENSHTEIN: _templated(_scalar),
    AssertionType.ROUGE_N: _templated(_rouge_value),
    AssertionType.LATENCY: _no_check,
    AssertionType.COST: _no_check,
    AssertionType.PERPLEXITY: _no_check,
    AssertionType.IS_REFUSAL: _no_check,
    AssertionType.CONFIDENCE: _no_check,
    AssertionType.CONSISTENCY: consistency_config,
    AssertionType.SENSITIVITY: sensitivity_config,
}
