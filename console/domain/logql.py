"""The part of LogQL that selects lines: stream selectors, line filters and count metrics.

``parse_log_query('{app="chat", version=~"v4.*"} |= "refund" != "test"')`` gives the label
matchers and line filters; :meth:`LogQuery.matches` applies them to one entry. Anything past
that (parsers, label filters, formatting) raises LogQLError: the DEMO and the test servers
answer this subset; a real Loki answers the whole language. ``parse_count_query`` reads
``count_over_time(SELECTOR [5m])``, optionally inside ``sum(...)`` or ``sum by (l) (...)``.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class LogQLError(ValueError):
    """The query is not valid LogQL, or uses more than this subset; the message says where."""


class MatchOp(StrEnum):
    """A label matcher's operator."""

    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


class FilterOp(StrEnum):
    """A line filter's operator."""

    CONTAINS = "|="
    NOT_CONTAINS = "!="
    REGEX = "|~"
    NOT_REGEX = "!~"


@dataclass(frozen=True)
class LabelMatcher:
    """``name op "value"`` inside a stream selector."""

    name: str
    op: MatchOp
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when ``labels`` satisfy this matcher (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQ:
            return actual == self.value
        if self.op is MatchOp.NE:
            return actual != self.value
        hit = re.fullmatch(self.value, actual) is not None
        return hit if self.op is MatchOp.RE else not hit


@dataclass(frozen=True)
class LineFilter:
    """``|= "text"`` and friends after the selector."""

    op: FilterOp
    value: str

    def matches(self, line: str) -> bool:
        """True when ``line`` passes the filter."""
        if self.op is FilterOp.CONTAINS:
            return self.value in line
        if self.op is FilterOp.NOT_CONTAINS:
            return self.value not in line
        hit = re.search(self.value, line) is not None
        return hit if self.op is FilterOp.REGEX else not hit


@dataclass(frozen=True)
class LogQuery:
    """A stream selector and its line filters."""

    matchers: tuple[LabelMatcher, ...]
    filters: tuple[LineFilter, ...] = ()

    def selects(self, labels: Mapping[str, str]) -> bool:
        """True when a stream with ``labels`` is selected."""
        return all(m.matches(labels) for m in self.matchers)

    def matches(self, labels: Mapping[str, str], line: str) -> bool:
        """True when the entry is selected and passes every line filter."""
        return self.selects(labels) and all(f.matches(line) for f in self.filters)


@dataclass(frozen=True)
class CountQuery:
    """``count_over_time(query [range])``, summed (``by`` some labels) when ``summed``."""

    query: LogQuery
    range_s: float
    summed: bool = False
    by: tuple[str, ...] = ()


_STRING = r'"((?:[^"\\]|\\.)*)"|`([^`]*)`'
_MATCHER = re.compile(rf"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:{_STRING})\s*(,|}})")
_FILTER = re.compile(rf"\s*(\|=|!=|\|~|!~)\s*(?:{_STRING})")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_COUNT = re.compile(
    r"^\s*(?:(sum)\s*(?:by\s*\(([^)]*)\)\s*)?\(\s*)?count_over_time\s*\((.*)\[([^\]]+)\]\s*\)"
    r"\s*(\))?\s*$",
    re.DOTALL,
)


def parse_log_query(text: str) -> LogQuery:
    """Parse a stream selector and line filters; raises LogQLError naming the position."""
    position = len(text) - len(text.lstrip())
    if not text.startswith("{", position):
        raise LogQLError(f"a log query starts with a stream selector '{{...}}': {text!r}")
    position += 1
    matchers = []
    if text[position:].lstrip().startswith("}"):
        raise LogQLError("a stream selector needs at least one label matcher")
    while True:
        match = _MATCHER.match(text, position)
        if match is None:
            raise LogQLError(f"cannot read a label matcher at position {position}: {text!r}")
        value = _unquote(match.group(3), match.group(4))
        op = MatchOp(match.group(2))
        if op in (MatchOp.RE, MatchOp.NRE):
            _check_regex(value, position)
        matchers.append(LabelMatcher(match.group(1), op, value))
        position = match.end()
        if match.group(5) == "}":
            break
    filters = []
    while text[position:].strip():
        match = _FILTER.match(text, position)
        if match is None:
            rest = text[position:].strip()
            raise LogQLError(
                f"only line filters (|=, !=, |~, !~) may follow the selector here, not {rest!r}"
            )
        value = _unquote(match.group(2), match.group(3))
        filter_op = FilterOp(match.group(1))
        if filter_op in (FilterOp.REGEX, FilterOp.NOT_REGEX):
            _check_regex(value, position)
        filters.append(LineFilter(filter_op, value))
        position = match.end()
    if not any(m.op in (MatchOp.EQ, MatchOp.RE) and m.value for m in matchers):
        raise LogQLError("a stream selector needs one matcher that is not empty-compatible")
    return LogQuery(tuple(matchers), tuple(filters))


def parse_count_query(text: str) -> CountQuery:
    """Parse ``[sum [by (l, ...)] (] count_over_time(LOG_QUERY [RANGE]) [)]``."""
    match = _COUNT.match(text)
    if match is None or bool(match.group(1)) != bool(match.group(5)):
        raise LogQLError(f"expected count_over_time(SELECTOR [RANGE]), maybe summed: {text!r}")
    by = tuple(label.strip() for label in (match.group(2) or "").split(",") if label.strip())
    return CountQuery(
        query=parse_log_query(match.group(3)),
        range_s=parse_duration(match.group(4)),
        summed=bool(match.group(1)),
        by=by,
    )


def parse_duration(text: str) -> float:
    """A LogQL duration such as ``5m`` or ``1h30m``, in seconds."""
    parts = list(_DURATION.finditer(text.strip()))
    if not parts or "".join(p.group() for p in parts) != text.strip():
        raise LogQLError(f"{text!r} is not a duration like 30s, 5m or 1h")
    return sum(float(p.group(1)) * _UNITS_S[p.group(2)] for p in parts)


def _unquote(quoted: str | None, raw: str | None) -> str:
    if raw is not None:
        return raw
    assert quoted is not None
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), quoted)


def _check_regex(value: str, position: int) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise LogQLError(f"invalid regular expression {value!r} at {position}: {exc}") from None
