"""Suite files: the promptfoo subset parses, and every mistake names file:line:column."""

import json
from pathlib import Path

import pytest

from console.domain.suite import (
    AssertionType,
    ChatMessage,
    PromptTemplate,
    Provider,
    Suite,
    SuiteError,
    SuiteOptions,
    TemplateError,
    render_template,
    template_variables,
)
from console.services.suite_loader import load_default_suite, load_suite

FULL_SUITE = """\
description: Support chat smoke
prompts:
  - "Answer briefly: {{question}}"
  - label: chat
    raw:
      - {role: system, content: "You work for {{company}}."}
      - {role: user, content: "{{ question }}"}
  - '[{"role": "user", "content": "JSON chat: {{question}}"}]'
  - file://prompts/long.txt
  - id: file://prompts/chat.json
    label: from-file
providers:
  - openai:chat:gpt-4o-mini
  - id: openai:chat:support-chat
    label: candidate
    config:
      apiBaseUrl: http://127.0.0.1:8000/v1/
      api_key_ref: candidate-token
      temperature: 0.2
      headers: {X-Team: sre}
  - id: local
    base_url: http://localhost:11434/v1
    model: llama3
  - id: openai:gpt-4o
    config: {apiHost: llm.example.com, max_tokens: 64, seed: 1}
  - openai:chat:llama3:8b
defaultTest:
  vars: {company: Acme, question: default question}
  assert:
    - type: latency
      threshold: 5000
  threshold: 0.5
tests:
  - description: capital
    vars:
      question: Capital of France?
      number: 3
      flag: true
      nested: {a: 1}
    assert:
      - type: icontains
        value: "{{company}}"
      - type: not-contains-any
        value: [Lyon, Nice]
        weight: 2
        metric: accuracy
      - &refusal {type: not-is-refusal}
  - vars: {question: "Why?"}
    threshold: 0.9
    assert:
      - *refusal
options: {repeat: 3, temperature: 0, max_tokens: 128, seed: 7}
sharing: false
"""


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def full_suite(tmp_path: Path) -> Suite:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "long.txt").write_text("Long prompt about {{question}}\n")
    (tmp_path / "prompts" / "chat.json").write_text(
        json.dumps(
            [{"role": "system", "content": "Be {{company}}."}, {"role": "user", "content": "hi"}]
        )
    )
    return load_suite(write(tmp_path, FULL_SUITE))


def test_prompts_in_every_form(full_suite: Suite) -> None:
    plain, chat, json_chat, from_txt, from_json = full_suite.prompts
    assert plain == PromptTemplate(
        "Answer briefly: {{question}}", (ChatMessage("user", "Answer briefly: {{question}}"),)
    )
    assert not plain.is_chat
    assert chat.label == "chat" and chat.is_chat
    assert chat.variables == {"company", "question"}
    assert json_chat.messages == (ChatMessage("user", "JSON chat: {{question}}"),)
    assert from_txt.label == "prompts/long.txt"
    assert from_txt.messages == (ChatMessage("user", "Long prompt about {{question}}\n"),)
    assert from_json.label == "from-file"
    assert from_json.messages[0] == ChatMessage("system", "Be {{company}}.")
    assert chat.mark is not None and (chat.mark.line, chat.mark.column) == (6, 7)


def test_prompts_render_with_the_case_vars(full_suite: Suite) -> None:
    case = full_suite.cases[0]
    assert full_suite.prompts[1].render(case.vars) == (
        ChatMessage("system", "You work for Acme."),
        ChatMessage("user", "Capital of France?"),
    )


def test_providers_from_promptfoo_ids_and_explicit_targets(full_suite: Suite) -> None:
    hosted, candidate, local, by_host, tagged = full_suite.providers
    assert hosted == Provider("openai:chat:gpt-4o-mini", "https://api.openai.com/v1", "gpt-4o-mini")
    assert candidate == Provider(
        id="openai:chat:support-chat",
        base_url="http://127.0.0.1:8000/v1",
        model="support-chat",
        headers={"X-Team": "sre"},
        api_key_ref="candidate-token",
        label="candidate",
        temperature=0.2,
    )
    assert candidate.display_name == "candidate"
    assert (local.id, local.base_url, local.model) == (
        "local",
        "http://localhost:11434/v1",
        "llama3",
    )
    assert (by_host.base_url, by_host.model) == ("https://llm.example.com/v1", "gpt-4o")
    assert tagged.model == "llama3:8b"
    assert full_suite.options_for(candidate) == SuiteOptions(3, 0.2, 128, 7)
    assert full_suite.options_for(by_host) == SuiteOptions(3, 0.0, 64, 1)


def test_default_test_is_merged_into_every_case(full_suite: Suite) -> None:
    first, second = full_suite.cases
    assert first.description == "capital"
    assert first.vars == {
        "company": "Acme",
        "question": "Capital of France?",
        "number": "3",
        "flag": "true",
        "nested": '{"a": 1}',
    }
    assert [a.name for a in first.asserts] == [
        "latency",
        "icontains",
        "not-contains-any",
        "not-is-refusal",
    ]
    accuracy = first.asserts[2]
    assert (accuracy.type, accuracy.negate, accuracy.weight, accuracy.metric) == (
        AssertionType.CONTAINS_ANY,
        True,
        2.0,
        "accuracy",
    )
    assert accuracy.value == ["Lyon", "Nice"]
    assert first.threshold == 0.5
    assert second.threshold == 0.9
    assert second.vars["question"] == "Why?"
    assert [a.name for a in second.asserts] == ["latency", "not-is-refusal"]
    assert first.mark is not None and (first.mark.line, first.mark.column) == (34, 5)


def test_options_description_and_hash(full_suite: Suite, tmp_path: Path) -> None:
    assert full_suite.description == "Support chat smoke"
    assert full_suite.options == SuiteOptions(repeat=3, temperature=0.0, max_tokens=128, seed=7)
    assert full_suite.source == str(tmp_path / "suite.yaml")
    assert len(full_suite.sha256) == 64
    assert load_suite(tmp_path / "suite.yaml").sha256 == full_suite.sha256
    (tmp_path / "prompts" / "long.txt").write_text("Another prompt about {{question}}\n")
    assert load_suite(tmp_path / "suite.yaml").sha256 != full_suite.sha256


def test_the_shipped_smoke_suite_loads() -> None:
    suite = load_default_suite()
    assert 8 <= len(suite.cases) <= 12
    assert suite.providers == ()
    kinds = {spec.name for case in suite.cases for spec in case.asserts}
    assert {"is-refusal", "not-is-refusal", "latency", "consistency", "is-json"} <= kinds
    for case in suite.cases:
        for prompt in suite.prompts:
            prompt.render(case.vars)


def test_yaml_anchors_and_merge_keys_are_honoured(tmp_path: Path) -> None:
    text = """\
prompts: [hi]
tests:
  - assert:
      - &base {type: icontains, value: ok, weight: 2}
      - {<<: *base, value: fine}
      - *base
"""
    asserts = load_suite(write(tmp_path, text)).cases[0].asserts
    assert [(a.value, a.weight) for a in asserts] == [("ok", 2.0), ("fine", 2.0), ("ok", 2.0)]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("prompts: [hi]\ntests:\n  - vars: {a: 1\n", "4:1", "expected ',' or '}'"),
        ("prompts: [hi]\ntests:\n\t- x\n", "3:1", "malformed YAML"),
        ("prompts: [hi]\ntests: [{}]\nscenarios: []\n", "3:1", "unknown top-level key 'scenarios'"),
        ("prompts: [hi]\nprompts: [ho]\ntests: [{}]\n", "2:1", "duplicate key 'prompts'"),
        ("tests: [{}]\n", "1:1", "the suite has no prompts"),
        ("prompts: [hi]\n", "1:1", "the suite has no tests"),
        ("prompts: [hi]\ntests: []\n", "2:8", "tests is empty"),
        ("prompts: {a: b}\ntests: [{}]\n", "1:10", "prompts must be a list, not a mapping"),
        (
            "prompts: [hi]\ntests:\n  - assert:\n      - type: llm-rubric\n",
            "4:15",
            "unknown assertion type 'llm-rubric' (known: equals, contains,",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert:\n      - type: not-similar\n",
            "4:15",
            "unknown assertion type 'not-similar'",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert:\n      - value: x\n",
            "4:9",
            "tests[0].assert[0] has no type",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert:\n      - {type: contains, value: x, provider: y}\n",
            "4:36",
            "unknown assertion key 'provider'",
        ),
        (
            "prompts: ['Capital of {{contry}}?']\ntests:\n  - vars: {country: France}\n",
            "1:11",
            "prompt 'Capital of {{contry}}?' uses {{contry}}, which no test defines",
        ),
        (
            "prompts: ['{{q}}']\ntests:\n  - vars: {q: a}\n  - description: second\n",
            "4:5",
            "test 2 ('second'): prompt '{{q}}' uses {{q}}, which its vars do not define "
            "(vars: none)",
        ),
        (
            "prompts: ['{{ q | upper }}']\ntests: [{}]\n",
            "1:11",
            "unsupported template expression '{{ q | upper }}'",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert:\n      - {type: contains, value: '{{x}}'}\n",
            "4:9",
            "test 1: contains value uses {{x}}, which its vars do not define",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert:\n      - {type: contains, threshold: high}\n",
            "4:37",
            "tests[0].assert[0].threshold must be a number, not str 'high'",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert:\n      - {type: regex, value: '(('}\n",
            "4:30",
            "regex: invalid regular expression '(('",
        ),
        (
            "prompts: [hi]\ntests:\n  - assert:\n      - {type: latency}\n",
            "4:9",
            "latency: latency needs a threshold",
        ),
        (
            "prompts: [hi]\ntests:\n  - vars:\n      q: [a, b]\n",
            "4:10",
            "var 'q' is a list: promptfoo expands lists into several tests",
        ),
        ("prompts: [hi]\ntests:\n  - vars: [a]\n", "3:11", "tests[0].vars must be a mapping"),
        ("prompts: [hi]\ntests:\n  - threshold: 2\n", "3:16", "must lie in 0..1, not 2"),
        ("prompts: [hi]\ntests: [{}]\noptions: {repeat: 0}\n", "3:19", "at least 1, not 0"),
        ("prompts: [hi]\ntests: [{}]\noptions: {repeat: 1.5}\n", "3:19", "whole number"),
        ("prompts: [hi]\ntests: [{}]\noptions: {top_p: 1}\n", "3:11", "unknown option 'top_p'"),
        (
            "prompts: [hi]\ntests: [{}]\noptions: {temperature: yes}\n",
            "3:24",
            "options.temperature must be a number, not bool True",
        ),
        (
            "prompts: [hi]\nproviders: [anthropic:messages:claude]\ntests: [{}]\n",
            "2:13",
            "only OpenAI-compatible providers are supported",
        ),
        (
            "prompts: [hi]\nproviders: ['openai:completion:x']\ntests: [{}]\n",
            "2:13",
            "only chat completions are supported",
        ),
        (
            "prompts: [hi]\nproviders:\n  - {id: x, base_url: 'ftp://h'}\ntests: [{}]\n",
            "3:5",
            "has a base_url but no model",
        ),
        (
            "prompts: [hi]\nproviders:\n  - {id: x, base_url: 'ftp://h', model: m}\ntests: [{}]\n",
            "3:23",
            "base URL 'ftp://h' is not http(s)",
        ),
        (
            "prompts: [hi]\nproviders:\n  - {id: 'openai:chat:m', config: {stop: x}}\n"
            "tests: [{}]\n",
            "3:36",
            "unknown provider config key 'stop'",
        ),
        (
            "prompts: ['file://missing.txt']\ntests: [{}]\n",
            "1:11",
            "cannot read missing.txt: No such file or directory",
        ),
        (
            "prompts: [hi]\ntests:\n  - {vars: {q: 1}, assert: [{type: sensitivity, "
            "value: {paraphrases: ['{{zz}} {{prompt}}']}}]}\n",
            "3:29",
            "sensitivity value uses {{zz}}, which its vars do not define (vars: q)",
        ),
    ],
)
def test_errors_name_file_line_and_column(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    assert str(caught.value).startswith(f"{path}:{where}: "), str(caught.value)
    assert message in str(caught.value)


SECRET = "sk-live-0123456789abcdef"


@pytest.mark.parametrize(
    ("provider", "where", "what"),
    [
        ("{id: 'openai:chat:m', config: {apiKey: %s}}", "4:36", "inline apiKey"),
        ("{id: 'openai:chat:m', api_key: %s}", "4:27", "inline api_key"),
        ("{id: 'openai:chat:m', config: {apiKeyEnvar: %s}}", "4:36", "inline apiKeyEnvar"),
        (
            "{id: 'openai:chat:m', config: {headers: {Authorization: 'Bearer %s'}}}",
            "4:46",
            "inline Authorization header",
        ),
        (
            "{id: x, base_url: 'http://h', model: m, headers: {x-api-key: %s}}",
            "4:55",
            "inline x-api-key header",
        ),
    ],
)
def test_inline_secrets_are_refused_without_echoing_them(
    tmp_path: Path, provider: str, where: str, what: str
) -> None:
    path = write(tmp_path, f"prompts: [hi]\ntests: [{{}}]\nproviders:\n  - {provider % SECRET}\n")
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:{where}: {what}"), text
    assert "api_key_ref" in text
    assert SECRET not in text
    assert SECRET not in repr(caught.value.args)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"missing\.yaml: cannot read the suite"):
        load_suite(tmp_path / "missing.yaml")
    with pytest.raises(SuiteError, match="the suite file is empty"):
        load_suite(write(tmp_path, "# nothing\n"))
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe")
    with pytest.raises(SuiteError, match="not UTF-8"):
        load_suite(tmp_path / "binary.yaml")


def test_error_parts_are_available_to_callers(tmp_path: Path) -> None:
    path = write(tmp_path, "prompts: [hi]\ntests:\n  - assert: [{type: nope}]\n")
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    assert caught.value.mark is not None
    assert (caught.value.mark.line, caught.value.mark.column) == (3, 21)
    assert caught.value.reason.startswith("unknown assertion type 'nope'")


def test_templates_render_and_name_missing_variables() -> None:
    assert render_template("{{a}} and {{ b }}", {"a": "1", "b": "2"}) == "1 and 2"
    assert template_variables("{{a}} {{ b }} {a}") == {"a", "b"}
    with pytest.raises(
        TemplateError, match=r"undefined template variable\(s\) b, c \(defined: a\)"
    ):
        render_template("{{a}}{{b}}{{c}}", {"a": "1"})
    with pytest.raises(TemplateError, match="template tags"):
        template_variables("{% if a %}x{% endif %}")
    prompt = PromptTemplate("greeting", (ChatMessage("user", "Hi {{name}}"),))
    with pytest.raises(TemplateError, match="prompt 'greeting': undefined template variable"):
        prompt.render({})
