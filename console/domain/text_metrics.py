"""Pure text metrics behind the suite assertions (stdlib only).

- :func:`levenshtein`: edit distance; :func:`rouge_n`: ROUGE-N recall against a reference.
- :func:`token_probability` (geometric-mean token probability) and :func:`perplexity`, from
  per-token logprobs; the ``-9999`` sentinels some servers send for unknown tokens are dropped.
- :func:`refusal_signal`: the phrase that makes an answer read as a refusal, if any.
- :class:`Comparator`, :func:`equivalence_key` and :func:`majority_agreement`: when two answers
  count as the same (exactly, after normalising, or as equal JSON).
- :func:`extract_json_values`: the JSON objects and arrays embedded in a text.
- :class:`PerturbationKind` and :func:`perturb`: typos (seeded, deterministic), case and
  whitespace changes of a prompt; paraphrases are suite templates (see the assertions service).
"""

import json
import math
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

LOGPROB_SENTINEL = -9999.0
"""Logprob some servers (llama.cpp, TGI) report for a token they could not score."""


def levenshtein(a: str, b: str) -> int:
    """The least number of single-character insertions, deletions and substitutions."""
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    a, b = a[prefix:], b[prefix:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


_TOKEN = re.compile(r"\w+|[^\w\s]")


def word_tokens(text: str) -> list[str]:
    """Words and punctuation marks, in order (case kept)."""
    return _TOKEN.findall(text)


def rouge_n(candidate: str, reference: str, n: int = 1) -> float:
    """ROUGE-N recall: the share of the reference's n-grams the candidate has (0..1).

    Counts are clipped (an n-gram matches at most as often as the candidate has it) and the
    comparison is case-sensitive, as in promptfoo. A reference without n-grams scores 0.
    """
    if n < 1:
        raise ValueError(f"rouge-n: n must be at least 1, not {n}")
    reference_grams = _ngrams(word_tokens(reference), n)
    total = sum(reference_grams.values())
    if total == 0:
        return 0.0
    matched = reference_grams & _ngrams(word_tokens(candidate), n)
    return sum(matched.values()) / total


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def usable_logprobs(logprobs: Sequence[float]) -> list[float]:
    """The finite logprobs, without the -9999 sentinels."""
    return [lp for lp in logprobs if math.isfinite(lp) and lp > LOGPROB_SENTINEL]


def token_probability(logprobs: Sequence[float]) -> float | None:
    """The geometric mean of the token probabilities, exp(mean logprob); None without tokens."""
    usable = usable_logprobs(logprobs)
    if not usable:
        return None
    return math.exp(sum(usable) / len(usable))


def perplexity(logprobs: Sequence[float]) -> float | None:
    """exp(-mean logprob), the inverse of :func:`token_probability`; None without tokens."""
    probability = token_probability(logprobs)
    return None if probability is None else 1.0 / probability


_NOT = (
    r"(?:can['\u2019]?t|cannot|won['\u2019]?t|will\s+not|am\s+unable\s+to|am\s+not\s+able\s+to)"
    r"(?!\s+wait\b)"
)
_REFUSAL_OPENINGS = re.compile(
    r"^\W*(?:"
    # An apology counts only when an inability follows in the same sentence: "I'm so sorry
    # your order is late" is empathy, "I'm sorry, but I can't help" a refusal.
    r"(?:i['\u2019]?m|i\s+am)\s+(?:so\s+|very\s+|really\s+|truly\s+)?(?:sorry|afraid)\b"
    r"[^.!?\n]{0,80}?\b(?:" + _NOT + r"|unable|not\s+able|not\s+something\s+i\s+can)"
    r"|(?:unfortunately|sorry)\s*,?\s+(?:but\s+)?i\s+" + _NOT + r"|i\s+" + _NOT + r"\s+"
    r"(?:help|assist|provide|comply|do\s+that|fulfil|fulfill|support|share|give|create|write)"
    r"|i\s+(?:must|have\s+to)\s+(?:decline|refuse)"
    r"|no,\s+i\s+(?:can['\u2019]?t|won['\u2019]?t)"
    r")",
    re.IGNORECASE,
)
_REFUSAL_ANYWHERE = re.compile(
    r"\bas an ai(?: language model| assistant)?\b[^.]*\b(?:can['\u2019]?t|cannot|unable|not able)"
    r"|\b(?:against|violates?)\s+(?:my|our|the)\s+(?:guidelines|policies|policy|"
    r"usage policies|content policy|programming|principles)"
    r"|\bi(?:['\u2019]m| am) not (?:able|allowed|permitted) to (?:help|assist|provide)"
    r"|\bi (?:can['\u2019]?t|cannot|won['\u2019]?t) (?:help|assist) with (?:that|this|your request)"
    r"|\bi must (?:decline|refuse)",
    re.IGNORECASE,
)


def refusal_signal(text: str | None) -> str | None:
    """The phrase that marks ``text`` as a refusal, or None when it reads as an answer.

    Heuristic, after promptfoo: an empty answer counts as a refusal, as do apologetic
    openings ("I'm sorry, but I can't...") and policy phrases anywhere ("against my
    guidelines"). "I can't wait to help" is not a refusal.
    """
    if text is None or not text.strip():
        return "empty answer"
    head = text.strip()[:400]
    match = _REFUSAL_OPENINGS.search(head) or _REFUSAL_ANYWHERE.search(text)
    return " ".join(match.group(0).split()) if match else None


class Comparator(StrEnum):
    """When two answers count as the same."""

    EXACT = "exact"
    NORMALISED = "normalised"  # case, spacing, Unicode forms and trailing punctuation ignored
    JSON = "json"  # both parse as JSON and are equal (key order and spacing ignored)

    @classmethod
    def parse(cls, name: str) -> "Comparator":
        """The comparator called ``name`` ("normalized" also accepted); ValueError otherwise."""
        spelled = "normalised" if name == "normalized" else name
        try:
            return cls(spelled)
        except ValueError:
            known = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown comparator {name!r} (known: {known})") from None


def normalise(text: str) -> str:
    """``text`` folded for comparison: NFKC, case-folded, spacing collapsed, end punctuation cut."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return folded.rstrip(".!?;:,").strip().strip("\"'`")


def equivalence_key(text: str | None, comparator: Comparator) -> str | None:
    """The key two equivalent answers share; None for no answer or (JSON) unparseable text."""
    if text is None:
        return None
    match comparator:
        case Comparator.EXACT:
            return text
        case Comparator.NORMALISED:
            return normalise(text)
        case Comparator.JSON:
            try:
                return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
            except ValueError:
                return None


def equivalent(a: str | None, b: str | None, comparator: Comparator) -> bool:
    """Whether ``a`` and ``b`` count as the same answer (no answer never matches)."""
    key = equivalence_key(a, comparator)
    return key is not None and key == equivalence_key(b, comparator)


@dataclass(frozen=True)
class Agreement:
    """How far k answers agree: the majority answer's key and the share of answers with it."""

    share: float
    majority: str | None
    answers: int


def majority_agreement(texts: Sequence[str | None], comparator: Comparator) -> Agreement:
    """The share of ``texts`` equivalent to the most common answer.

    Answers without a key (None, or not JSON under the JSON comparator) agree with nothing.
    Ties go to the answer seen first.
    """
    if not texts:
        return Agreement(share=0.0, majority=None, answers=0)
    keys = [equivalence_key(text, comparator) for text in texts]
    counts = Counter(key for key in keys if key is not None)
    if not counts:
        return Agreement(share=0.0, majority=None, answers=len(texts))
    majority, count = counts.most_common(1)[0]
    return Agreement(share=count / len(texts), majority=majority, answers=len(texts))


def extract_json_values(text: str) -> list[object]:
    """Every JSON object or array embedded in ``text``, outermost first, left to right."""
    decoder = json.JSONDecoder()
    values: list[object] = []
    position = 0
    while True:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            return values
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        values.append(value)
        position = end


class PerturbationKind(StrEnum):
    """A way to change a prompt that should not change the answer."""

    TYPOS = "typos"
    CASE = "case"
    WHITESPACE = "whitespace"
    PARAPHRASE = "paraphrase"


_TYPO_EVERY_LETTERS = 25
"""One typo per this many letters (at least one)."""


def perturb(text: str, kind: PerturbationKind, seed: int = 0) -> str:
    """``text`` perturbed by ``kind``; the same text, kind and seed always give the same result.

    TYPOS swaps, drops, doubles or replaces letters inside words of 4+ letters; CASE lowers
    the text (upper-cases it when it is lower case already); WHITESPACE doubles the spaces
    and pads the ends. PARAPHRASE is template based and has no text-only form.
    """
    match kind:
        case PerturbationKind.TYPOS:
            return _typos(text, random.Random(seed))
        case PerturbationKind.CASE:
            lowered = text.lower()
            return lowered if lowered != text else text.upper()
        case PerturbationKind.WHITESPACE:
            return "  " + re.sub(r"[ \t]+", "  ", text).replace("\n", "\n\n") + " \n"
        case PerturbationKind.PARAPHRASE:
            raise ValueError("paraphrase perturbations come from the suite's templates")


def _typos(text: str, rng: random.Random) -> str:
    chars = list(text)
    positions = [
        match.start() + offset
        for match in re.finditer(r"[^\W\d_]{4,}", text)
        for offset in range(1, len(match.group(0)) - 1)
    ]
    if not positions:
        return text
    letters = sum(1 for c in text if c.isalpha())
    count = min(len(positions), max(1, letters // _TYPO_EVERY_LETTERS))
    # Right to left, so that a dropped or doubled letter does not move the next position.
    for position in sorted(rng.sample(positions, count), reverse=True):
        operation = rng.randrange(4)
        char = chars[position]
        if operation == 0 and chars[position + 1] != char:
            chars[position], chars[position + 1] = chars[position + 1], char
        elif operation == 1:
            del chars[position]
        elif operation == 2:
            chars.insert(position, char)
        else:  # a replacement, also when a swap would exchange two equal letters
            chars[position] = _neighbour(char, rng)
    return "".join(chars)


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbour(char: str, rng: random.Random) -> str:
    """A letter next to ``char`` on a QWERTY row (case kept); another letter for non-ASCII."""
    lower = char.lower()
    for row in _KEYBOARD_ROWS:
        index = row.find(lower)
        if index >= 0:
            options = [row[i] for i in (index - 1, index + 1) if 0 <= i < len(row)]
            picked = rng.choice(options)
            return picked.upper() if char.isupper() else picked
    return "e" if lower != "e" else "a"
