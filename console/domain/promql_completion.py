"""PromQL completion: what the cursor is on, and the ranked candidates for it.

``context_at`` reads the text up to the cursor with a small lexer and a stack of open
brackets: outside braces it completes metric names, functions and keywords; inside the
braces of a selector and inside ``by (…)``/``without (…)`` (and ``on``/``ignoring``/
``group_left``/``group_right``) it completes label names; in the string after
``label=``/``!=``/``=~``/``!~`` it completes that label's values. ``complete`` ranks the
candidates of an index that holds what the context needs.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

MAX_CANDIDATES = 200

AGGREGATIONS = (
    "avg", "bottomk", "count", "count_values", "group", "limit_ratio", "limitk", "max", "min",
    "quantile", "stddev", "stdvar", "sum", "topk",
)  # fmt: skip
FUNCTIONS = (
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
    "delta", "deriv", "double_exponential_smoothing", "exp", "floor", "histogram_avg",
    "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
    "histogram_stdvar", "histogram_sum", "hour", "idelta", "increase", "irate", "label_join",
    "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time",
    "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time",
    "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh",
    "sort", "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt", "stddev_over_time",
    "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
)  # fmt: skip
KEYWORDS = (
    "and", "atan2", "bool", "by", "group_left", "group_right", "ignoring", "offset", "on",
    "or", "unless", "without",
)  # fmt: skip
LABEL_LIST_WORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
"""Words whose parenthesised argument is a list of label names."""
MATCH_OPERATORS = frozenset({"=", "!=", "=~", "!~"})
_REGEX_OPERATORS = frozenset({"=~", "!~"})
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_METRIC_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")
_DIGITS = frozenset("0123456789")
_TWO_CHAR_OPS = ("=~", "!~", "!=", "==", ">=", "<=")
_QUOTES = "\"'`"
_REGEX_SPECIAL = frozenset(r"\.+*?()|[]{}^$")


class ContextKind(StrEnum):
    """What the cursor is completing."""

    NONE = "none"
    EXPRESSION = "expression"
    LABEL_NAME = "label name"
    LABEL_VALUE = "label value"


class CandidateKind(StrEnum):
    """What a candidate is, shown next to it."""

    METRIC = "metric"
    FUNCTION = "function"
    AGGREGATION = "aggregation"
    KEYWORD = "keyword"
    LABEL = "label"
    LABEL_VALUE = "value"


@dataclass(frozen=True)
class CompletionContext:
    """The cursor's context: the kind, the typed prefix and the span a candidate replaces.

    ``selector`` is the series selector that narrows label names and values (the metric
    and the complete matchers of the braces being edited), None when nothing narrows them.
    ``label`` is the label whose values are completed; ``quote`` is the quote that opens
    the value ("" when the value still needs quotes), ``closed`` whether it is closed.
    """

    kind: ContextKind
    prefix: str = ""
    start: int = 0
    end: int = 0
    selector: str | None = None
    label: str | None = None
    operator: str = "="
    quote: str = ""
    closed: bool = False


@dataclass(frozen=True)
class MetricInfo:
    """What /api/v1/metadata says about a metric ("" when it says nothing)."""

    type: str = ""
    help: str = ""


@dataclass(frozen=True)
class CompletionIndex:
    """Names a context may complete: metrics (with metadata), label names or label values."""

    metrics: Mapping[str, MetricInfo] = field(default_factory=dict)
    label_names: Sequence[str] = ()
    label_values: Sequence[str] = ()


@dataclass(frozen=True)
class Candidate:
    """One completion: the name shown, its kind, a detail line and the text it inserts."""

    text: str
    kind: CandidateKind
    insert: str
    detail: str = ""


@dataclass(frozen=True)
class _Token:
    kind: str  # "ident", "string", "number", "punct", "op", "comment", "other"
    start: int
    end: int
    text: str
    closed: bool = True


@dataclass
class _Frame:
    bracket: str
    token_index: int
    metric: str | None = None
    label_list: bool = False


def context_at(text: str, cursor: int) -> CompletionContext:
    """The completion context at ``cursor`` (clamped into the text)."""
    cursor = min(max(cursor, 0), len(text))
    tokens = _lex(text[:cursor])
    frames = _frames(tokens)
    last = tokens[-1] if tokens else None
    top = frames[-1] if frames else None
    at_cursor = last is not None and last.end == cursor
    if last is not None and last.kind == "comment":
        return CompletionContext(ContextKind.NONE, start=cursor, end=cursor)
    if last is not None and last.kind == "string" and not last.closed:
        return _value_in_string(text, cursor, tokens, top)
    if top is not None and top.bracket == "[":
        return CompletionContext(ContextKind.NONE, start=cursor, end=cursor)
    if top is not None and (top.bracket == "{" or top.label_list):
        return _inside_labels(text, cursor, tokens, top, at_cursor)
    if last is not None and at_cursor and last.kind == "ident":
        end = _ident_end(text, cursor)
        return CompletionContext(ContextKind.EXPRESSION, last.text, last.start, end)
    if last is not None and at_cursor and last.kind in ("number", "string", "other"):
        return CompletionContext(ContextKind.NONE, start=cursor, end=cursor)
    return CompletionContext(ContextKind.EXPRESSION, "", cursor, _ident_end(text, cursor))


def complete(context: CompletionContext, index: CompletionIndex) -> list[Candidate]:
    """The candidates for ``context``, best first: prefix matches, then substring matches."""
    if context.kind is ContextKind.EXPRESSION:
        pool = [*_metric_candidates(index.metrics), *_language_candidates()]
    elif context.kind is ContextKind.LABEL_NAME:
        pool = [Candidate(n, CandidateKind.LABEL, n) for n in index.label_names]
    elif context.kind is ContextKind.LABEL_VALUE:
        pool = [
            Candidate(v, CandidateKind.LABEL_VALUE, _value_insert(v, context))
            for v in index.label_values
        ]
    else:
        return []
    return _ranked(context.prefix, pool)[:MAX_CANDIDATES]


def _ranked(prefix: str, pool: Iterable[Candidate]) -> list[Candidate]:
    folded = prefix.casefold()
    scored: list[tuple[int, str, str, Candidate]] = []
    seen: set[tuple[str, CandidateKind]] = set()
    for candidate in pool:
        if (candidate.text, candidate.kind) in seen:
            continue
        seen.add((candidate.text, candidate.kind))
        name = candidate.text.casefold()
        if candidate.text.startswith(prefix):
            rank = 0
        elif name.startswith(folded):
            rank = 1
        elif folded in name:
            rank = 2
        else:
            continue
        scored.append((rank, name, candidate.kind.value, candidate))
    scored.sort(key=lambda item: item[:3])
    return [item[3] for item in scored]


def _metric_candidates(metrics: Mapping[str, MetricInfo]) -> Iterable[Candidate]:
    for name, info in metrics.items():
        detail = " — ".join(part for part in (info.type, info.help) if part)
        yield Candidate(name, CandidateKind.METRIC, name, detail)


def _language_candidates() -> Iterable[Candidate]:
    for name in AGGREGATIONS:
        yield Candidate(name, CandidateKind.AGGREGATION, name + "(", "aggregation")
    for name in FUNCTIONS:
        yield Candidate(name, CandidateKind.FUNCTION, name + "(", "function")
    for name in KEYWORDS:
        yield Candidate(name, CandidateKind.KEYWORD, name, "keyword")


def _value_insert(value: str, context: CompletionContext) -> str:
    """The value as string content (regex-escaped after =~ and !~), quoted as needed."""
    if context.operator in _REGEX_OPERATORS:
        value = "".join("\\" + c if c in _REGEX_SPECIAL else c for c in value)
    quote = context.quote or '"'
    if quote != "`":
        value = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    if not context.quote:
        return quote + value + quote
    return value if context.closed else value + quote


def _value_in_string(
    text: str, cursor: int, tokens: list[_Token], top: _Frame | None
) -> CompletionContext:
    string = tokens[-1]
    none = CompletionContext(ContextKind.NONE, start=cursor, end=cursor)
    if top is None or top.bracket != "{" or len(tokens) < 4:
        return none
    opening, label, operator = tokens[-4], tokens[-3], tokens[-2]
    if (
        opening.text not in ("{", ",")
        or label.kind != "ident"
        or operator.text not in MATCH_OPERATORS
    ):
        return none
    quote = string.text[0]
    close = _closing_quote(text, cursor, quote)
    selector = _selector(top.metric, _matchers(tokens[top.token_index + 1 : -3]))
    return CompletionContext(
        ContextKind.LABEL_VALUE,
        prefix=string.text[1:],
        start=string.start + 1,
        end=cursor if close is None else close,
        selector=selector,
        label=label.text,
        operator=operator.text,
        quote=quote,
        closed=close is not None,
    )


def _inside_labels(
    text: str, cursor: int, tokens: list[_Token], top: _Frame, at_cursor: bool
) -> CompletionContext:
    inner = tokens[top.token_index + 1 :]
    none = CompletionContext(ContextKind.NONE, start=cursor, end=cursor)
    if top.bracket == "{":
        selector_tokens = inner[:-1] if inner and at_cursor and inner[-1].kind == "ident" else inner
        selector = _selector(top.metric, _matchers(selector_tokens))
    else:
        selector = None
    previous = tokens[-2] if len(tokens) >= 2 else None
    last = tokens[-1]
    if (
        at_cursor
        and last.kind == "ident"
        and previous is not None
        and previous.text in ("{", "(", ",")
    ):
        if not _LABEL_NAME.fullmatch(last.text):
            return none
        return CompletionContext(
            ContextKind.LABEL_NAME,
            last.text,
            last.start,
            _ident_end(text, cursor, metric=False),
            selector=selector,
        )
    if last.text in ("{", "(", ","):
        end = _ident_end(text, cursor, metric=False)
        return CompletionContext(ContextKind.LABEL_NAME, "", cursor, end, selector=selector)
    if (
        top.bracket == "{"
        and last.text in MATCH_OPERATORS
        and previous is not None
        and previous.kind == "ident"
        and len(inner) >= 2
    ):
        selector = _selector(top.metric, _matchers(inner[:-2]))
        return CompletionContext(
            ContextKind.LABEL_VALUE,
            start=cursor,
            end=cursor,
            selector=selector,
            label=previous.text,
            operator=last.text,
        )
    return none


def _frames(tokens: list[_Token]) -> list[_Frame]:
    """The brackets still open at the end of ``tokens``, innermost last."""
    frames: list[_Frame] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for i, token in enumerate(tokens):
        if token.kind != "punct":
            continue
        before = tokens[i - 1] if i > 0 else None
        if token.text == "{":
            metric = before.text if before is not None and before.kind == "ident" else None
            frames.append(_Frame("{", i, metric=metric))
        elif token.text == "(":
            words = before is not None and before.kind == "ident"
            label_list = words and before is not None and before.text.lower() in LABEL_LIST_WORDS
            frames.append(_Frame("(", i, label_list=label_list))
        elif token.text == "[":
            frames.append(_Frame("[", i))
        elif token.text in pairs:
            opening = pairs[token.text]
            for depth in range(len(frames) - 1, -1, -1):
                if frames[depth].bracket == opening:
                    del frames[depth:]
                    break
    return frames


def _matchers(tokens: Sequence[_Token]) -> list[str]:
    """The complete ``label<op>"value"`` matchers among the tokens inside a selector."""
    found: list[str] = []
    for i in range(len(tokens) - 2):
        name, op, value = tokens[i], tokens[i + 1], tokens[i + 2]
        if (
            name.kind == "ident"
            and _LABEL_NAME.fullmatch(name.text)
            and op.text in MATCH_OPERATORS
            and value.kind == "string"
            and value.closed
            and (i == 0 or tokens[i - 1].text == ",")
        ):
            found.append(f"{name.text}{op.text}{value.text}")
    return found


def _selector(metric: str | None, matchers: list[str]) -> str | None:
    if metric is not None and not _METRIC_NAME.fullmatch(metric):
        metric = None
    if metric is None and not matchers:
        return None
    if not matchers:
        return metric
    return (metric or "") + "{" + ",".join(matchers) + "}"


def _closing_quote(text: str, cursor: int, quote: str) -> int | None:
    """Where the string open at ``cursor`` closes on the same line, if it does."""
    i = cursor
    while i < len(text) and text[i] != "\n":
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return None


def _ident_end(text: str, cursor: int, *, metric: bool = True) -> int:
    """The end of the name the cursor sits in (the span a candidate replaces)."""
    end = cursor
    while end < len(text) and text[end] in _IDENT_CHARS and (metric or text[end] != ":"):
        end += 1
    return end


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            tokens.append(_Token("comment", i, end, text[i:end]))
            i = end
        elif c in _QUOTES:
            end, closed = _string_end(text, i)
            tokens.append(_Token("string", i, end, text[i:end], closed))
            i = end
        elif c in _IDENT_CHARS and c not in _DIGITS:
            end = _run(text, i, _IDENT_CHARS)
            tokens.append(_Token("ident", i, end, text[i:end]))
            i = end
        elif c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            end = _run(text, i, _IDENT_CHARS | {"."})
            tokens.append(_Token("number", i, end, text[i:end]))
            i = end
        elif c in "(){}[],":
            tokens.append(_Token("punct", i, i + 1, c))
            i += 1
        else:
            op = next((o for o in _TWO_CHAR_OPS if text.startswith(o, i)), None)
            if op is not None:
                tokens.append(_Token("op", i, i + 2, op))
                i += 2
            else:
                kind = "op" if c in "=+-*/%^<>@!" else "other"
                tokens.append(_Token(kind, i, i + 1, c))
                i += 1
    return tokens


def _run(text: str, start: int, chars: frozenset[str] | set[str]) -> int:
    end = start
    while end < len(text) and text[end] in chars:
        end += 1
    return end


def _string_end(text: str, start: int) -> tuple[int, bool]:
    """The end of the string literal opening at ``start`` and whether it is closed."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote:
            return i + 1, True
        i += 1
    return len(text), False
