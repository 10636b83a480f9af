"""PromQL completion: the context at the cursor, the replacement span and the ranking."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.promql_completion import (
    FUNCTIONS,
    MAX_CANDIDATES,
    CandidateKind,
    CompletionContext,
    CompletionIndex,
    ContextKind,
    MetricInfo,
    complete,
    context_at,
)

METRICS = {
    "vllm:e2e_request_latency_seconds_bucket": MetricInfo("histogram", "End-to-end latency."),
    "vllm:generation_tokens_total": MetricInfo("counter", "Generated tokens."),
    "http_requests_total": MetricInfo("counter", "HTTP requests."),
    "rate_limited_total": MetricInfo(),
    "up": MetricInfo("gauge", "Whether the target is up."),
}


def at_bar(text: str) -> CompletionContext:
    """The context at the position of "|" in ``text`` (the bar removed)."""
    cursor = text.index("|")
    return context_at(text.replace("|", "", 1), cursor)


def apply(text: str, insert: str) -> str:
    """``text`` (with "|" as cursor) after replacing the context's span with ``insert``."""
    context = at_bar(text)
    plain = text.replace("|", "", 1)
    return plain[: context.start] + insert + plain[context.end :]


class TestContext:
    @pytest.mark.parametrize(
        ("text", "prefix"),
        [
            ("vllm:gen|", "vllm:gen"),
            ("sum(rate(vllm:ge|", "vllm:ge"),
            ("rate(x[5m]) / ht|", "ht"),
            ("|", ""),
            ("sum(|", ""),
            ("up + |", ""),
        ],
    )
    def test_outside_braces_completes_expressions(self, text: str, prefix: str) -> None:
        context = at_bar(text)
        assert context.kind is ContextKind.EXPRESSION
        assert context.prefix == prefix

    def test_span_covers_the_whole_name_under_the_cursor(self) -> None:
        assert apply("sum(rate(vllm:ge|neration_tokens[5m]))", "up") == "sum(rate(up[5m]))"

    @pytest.mark.parametrize(
        ("text", "prefix", "selector"),
        [
            ("up{jo|", "jo", "up"),
            ("up{|", "", "up"),
            ('up{job="a", |', "", 'up{job="a"}'),
            ('http_requests_total{handler="/x",met|', "met", 'http_requests_total{handler="/x"}'),
            ("{jo|", "jo", None),
            ('{job=~"a.*", inst|', "inst", '{job=~"a.*"}'),
        ],
    )
    def test_inside_selector_braces_completes_label_names(
        self, text: str, prefix: str, selector: str | None
    ) -> None:
        context = at_bar(text)
        assert context.kind is ContextKind.LABEL_NAME
        assert context.prefix == prefix
        assert context.selector == selector

    @pytest.mark.parametrize(
        "text",
        [
            "sum by (jo|",
            "sum without (instance, |",
            "sum(rate(x[5m])) by (|",
            "a / on(jo|",
            "a * ignoring (jo|",
            "a * on(x) group_left(jo|",
            "SUM BY (jo|",
        ],
    )
    def test_grouping_clauses_complete_label_names(self, text: str) -> None:
        context = at_bar(text)
        assert context.kind is ContextKind.LABEL_NAME
        assert context.selector is None

    @pytest.mark.parametrize("operator", ["=", "!=", "=~", "!~"])
    def test_inside_a_value_string_completes_that_labels_values(self, operator: str) -> None:
        context = at_bar(f'up{{job{operator}"pro|')
        assert context.kind is ContextKind.LABEL_VALUE
        assert (context.label, context.prefix, context.operator) == ("job", "pro", operator)
        assert context.selector == "up"
        assert context.quote == '"'
        assert not context.closed

    def test_value_selector_has_the_other_complete_matchers(self) -> None:
        context = at_bar('vllm:x{deployment="chat", version="v|')
        assert context.selector == 'vllm:x{deployment="chat"}'
        assert context.label == "version"

    def test_value_right_after_the_operator_needs_quotes(self) -> None:
        context = at_bar("up{job=|")
        assert context.kind is ContextKind.LABEL_VALUE
        assert context.quote == ""
        assert (context.start, context.end) == (7, 7)

    def test_value_span_reaches_the_closing_quote(self) -> None:
        assert apply('up{job="pro|metheus"} + 1', "node") == 'up{job="node"} + 1'

    def test_closed_value_is_not_a_value_context(self) -> None:
        assert at_bar('up{job="a"|').kind is ContextKind.NONE

    @pytest.mark.parametrize(
        "text",
        [
            "rate(up[5|",
            "up offset 5|",
            "up # a comment about ra|",
            'label_replace(up, "dst", "$|',
        ],
    )
    def test_nothing_to_complete(self, text: str) -> None:
        assert at_bar(text).kind is ContextKind.NONE

    def test_after_a_comment_line_completes_again(self) -> None:
        assert at_bar("# comment\nra|").kind is ContextKind.EXPRESSION

    def test_escaped_quote_does_not_end_the_value(self) -> None:
        context = at_bar(r'up{job="a\"b|')
        assert context.kind is ContextKind.LABEL_VALUE
        assert context.prefix == r"a\"b"

    def test_closed_selector_returns_to_expressions(self) -> None:
        assert at_bar('up{job="a"} + ht|').kind is ContextKind.EXPRESSION

    def test_cursor_is_clamped(self) -> None:
        assert context_at("up", 99).prefix == "up"
        assert context_at("up", -5).start == 0


class TestCandidates:
    def test_metrics_carry_type_and_help(self) -> None:
        found = complete(at_bar("vllm:gen|"), CompletionIndex(metrics=METRICS))
        assert found[0].text == "vllm:generation_tokens_total"
        assert found[0].kind is CandidateKind.METRIC
        assert found[0].detail == "counter — Generated tokens."

    def test_prefix_matches_rank_before_substring_matches(self) -> None:
        found = [c.text for c in complete(at_bar("rate|"), CompletionIndex(metrics=METRICS))]
        assert found[:2] == ["rate", "rate_limited_total"]
        assert "irate" in found
        assert found.index("rate_limited_total") < found.index("irate")

    def test_case_insensitive_prefix_ranks_after_exact_case(self) -> None:
        index = CompletionIndex(metrics={"Up_total": MetricInfo(), "up": MetricInfo()})
        assert [c.text for c in complete(at_bar("up|"), index)][:2] == ["up", "Up_total"]

    def test_functions_insert_an_open_parenthesis(self) -> None:
        found = complete(at_bar("histogram_q|"), CompletionIndex())
        assert [(c.text, c.insert, c.kind) for c in found] == [
            ("histogram_quantile", "histogram_quantile(", CandidateKind.FUNCTION)
        ]

    def test_aggregations_and_keywords_are_offered(self) -> None:
        kinds = {c.text: c.kind for c in complete(at_bar("|"), CompletionIndex())}
        assert kinds["sum"] is CandidateKind.AGGREGATION
        assert kinds["without"] is CandidateKind.KEYWORD
        assert kinds["rate"] is CandidateKind.FUNCTION

    def test_label_names(self) -> None:
        index = CompletionIndex(label_names=("instance", "job", "__name__"))
        found = complete(at_bar("up{|"), index)
        assert [c.text for c in found] == ["__name__", "instance", "job"]
        assert all(c.kind is CandidateKind.LABEL for c in found)
        assert apply("up{i|", found[1].insert) == "up{instance"

    def test_values_in_an_open_string_get_the_closing_quote(self) -> None:
        found = complete(at_bar('up{job="pr|'), CompletionIndex(label_values=("prom", "node")))
        assert [c.insert for c in found] == ['prom"']

    def test_values_in_a_closed_string_are_bare(self) -> None:
        found = complete(at_bar('up{job="pr|"}'), CompletionIndex(label_values=("prom",)))
        assert apply('up{job="pr|"}', found[0].insert) == 'up{job="prom"}'

    def test_values_after_the_operator_are_quoted_and_escaped(self) -> None:
        found = complete(at_bar("up{path=|"), CompletionIndex(label_values=('a"b\\c',)))
        assert found[0].insert == '"a\\"b\\\\c"'

    def test_regex_values_escape_regex_syntax(self) -> None:
        found = complete(at_bar('up{version=~"|'), CompletionIndex(label_values=("v1.2+x",)))
        assert found[0].insert == 'v1\\\\.2\\\\+x"'

    def test_no_candidates_without_a_context(self) -> None:
        assert complete(at_bar("rate(up[5|"), CompletionIndex(metrics=METRICS)) == []

    def test_candidates_are_capped_and_unique(self) -> None:
        index = CompletionIndex(label_values=[f"v{i}" for i in range(1000)] + ["v1"])
        found = complete(at_bar('up{a="v|'), index)
        assert len(found) == MAX_CANDIDATES
        assert len({c.text for c in found}) == len(found)

    def test_every_function_is_a_valid_name(self) -> None:
        assert all(name.isidentifier() for name in FUNCTIONS)


PROMQL_CHARS = st.sampled_from(list("ab_:{}()[]\",=~!# \n\\`'5m+-"))


@given(st.text(alphabet=PROMQL_CHARS) | st.text(), st.integers(-3, 80))
def test_never_crashes_and_the_span_holds_the_cursor(text: str, cursor: int) -> None:
    context = context_at(text, cursor)
    clamped = min(max(cursor, 0), len(text))
    assert 0 <= context.start <= clamped <= context.end <= len(text)
    index = CompletionIndex(metrics=METRICS, label_names=("job",), label_values=("a",))
    for candidate in complete(context, index):
        assert candidate.insert


@pytest.mark.parametrize("text", ["²", "up + ٣", "rate(x[5²", 'up{a="\\'])
def test_unusual_characters_end_the_scan(text: str) -> None:
    assert context_at(text, len(text)).end <= len(text)
