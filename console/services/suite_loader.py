"""Reading suite files: YAML in the common subset of promptfoo's format, into a :class:`Suite`.

    description: Smoke checks for a support chat model
    prompts:                        # strings or chat-message lists, {{var}} templates
      - "Answer in one word: {{question}}"
      - label: chat
        raw:
          - {role: system, content: You are a support agent.}
          - {role: user, content: "{{question}}"}
      - file://prompts/long.txt     # relative to the suite file (.json/.yaml: a message list)
    providers:                      # optional: the profile or the CLI may give the target
      - openai:chat:gpt-4o-mini     # promptfoo id; config.apiBaseUrl / config.apiHost
      - id: candidate
        base_url: http://127.0.0.1:8000/v1
        model: support-chat
        api_key_ref: candidate-token   # a keyring entry name, never the key itself
    defaultTest:                    # merged into every test: vars (the test's win), asserts
      assert: [{type: latency, threshold: 5000}]
    tests:
      - description: capital
        vars: {question: "Capital of France?"}
        assert:
          - {type: icontains, value: paris}
          - {type: not-is-refusal, weight: 2}
    options: {repeat: 1, temperature: 0, max_tokens: 256, seed: 7}

Anything the console cannot honour is refused before anything runs, with a
:class:`SuiteError` whose message starts with ``file:line:column:``: malformed YAML, an unknown
key or assertion type, a wrong field type, a template variable no test defines, a malformed
assertion value, and any inline secret (``apiKey``, ``api_key``, an ``Authorization`` header).
The error text never contains a secret's value.
"""

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from console.domain.suite import (
    NEGATION_PREFIX,
    AssertionSpec,
    AssertionType,
    ChatMessage,
    PromptTemplate,
    Provider,
    SourceMark,
    Suite,
    SuiteError,
    SuiteOptions,
    TemplateError,
    TestCase,
    template_variables,
)
from console.services.assertions import PROMPT_VARIABLE, check_spec, sensitivity_config
from console.services.gc_policy import no_collection

RESOURCES_PACKAGE = "sre_console_resources"
DEFAULT_SUITE = "smoke.yaml"
FILE_PREFIX = "file://"
OPENAI_BASE_URL = "https://api.openai.com/v1"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader where PyYAML has it: the same nodes and marks, several times faster."""
CHAT_ROLES = frozenset({"system", "developer", "user", "assistant"})

_TOP_LEVEL_KEYS = {"description", "prompts", "providers", "defaultTest", "tests", "options"}
_IGNORED_TOP_LEVEL_KEYS = {"sharing", "outputPath", "writeLatestResults", "tags"}
"""promptfoo keys about its own output and sharing, which do not change what runs."""
_TEST_KEYS = {"description", "vars", "assert", "threshold", "metadata"}
_ASSERT_KEYS = {"type", "value", "threshold", "weight", "metric"}
_PROVIDER_KEYS = {"id", "label", "config", "base_url", "model", "headers", "api_key_ref"}
_CONFIG_KEYS = {
    "apiBaseUrl",
    "apiHost",
    "headers",
    "api_key_ref",
    "apiKeyRef",
    "temperature",
    "max_tokens",
    "seed",
}
_NON_CHAT_APIS = {"completion", "embedding", "embeddings", "assistant", "image", "responses"}
"""promptfoo's OpenAI provider kinds other than chat (``openai:completion:MODEL``...)."""
_OPTION_KEYS = {"repeat", "temperature", "max_tokens", "seed"}
_INLINE_SECRET_KEYS = {"apikey", "api_key", "apikeyenvar", "token", "password", "secret"}
_SECRET_HEADERS = {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie"}
_SECRET_ADVICE = (
    "secrets are never written in a suite file: store the key in the keyring and name "
    "its entry with api_key_ref"
)


def load_default_suite() -> Suite:
    """The smoke suite shipped with the console (``resources/suites/smoke.yaml``)."""
    resource = files(RESOURCES_PACKAGE).joinpath("suites", DEFAULT_SUITE)
    return parse_suite(resource.read_text(encoding="utf-8"), file=f"built-in {DEFAULT_SUITE}")


def load_suite(path: Path | str) -> Suite:
    """The suite in the YAML file at ``path``; SuiteError when it cannot run as written."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SuiteError(f"cannot read the suite: {exc.strerror or exc}", file=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SuiteError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    return parse_suite(text, file=str(path), base_dir=path.parent)


def parse_suite(text: str, *, file: str = "<suite>", base_dir: Path | None = None) -> Suite:
    """The suite in YAML ``text``; ``file`` names it in errors, ``base_dir`` anchors file://."""
    with no_collection():  # the YAML nodes are gone before the collector is back
        suite, referenced = _read(text, file, base_dir)
    digest = hashlib.sha256(text.encode("utf-8"))
    for reference, content in referenced:
        digest.update(b"\0" + reference.encode("utf-8") + b"\0" + content.encode("utf-8"))
    return replace(suite, sha256=digest.hexdigest(), source=file)


def _read(text: str, file: str, base_dir: Path | None) -> tuple[Suite, list[tuple[str, str]]]:
    """The suite and the files it references (path, text); its YAML nodes die on return."""
    reader = _Reader(file=file, base_dir=base_dir)
    return reader.suite(_compose(text, file)), reader.referenced


def _compose(text: str, file: str) -> Node:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        yaml_mark = exc.problem_mark or exc.context_mark
        mark = _mark(file, yaml_mark) if yaml_mark is not None else None
        problem = exc.problem or exc.context or "cannot parse"
        raise SuiteError(f"malformed YAML: {problem}", mark, file=file) from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"malformed YAML: {exc}", file=file) from None
    finally:
        loader.dispose()
    if root is None:
        raise SuiteError("the suite file is empty", file=file)
    return root


def _mark(file: str, yaml_mark: yaml.Mark) -> SourceMark:
    return SourceMark(file, yaml_mark.line + 1, yaml_mark.column + 1)


@dataclass
class _Reader:
    """Turns the composed YAML nodes into domain objects, checking types as it goes."""

    file: str
    base_dir: Path | None
    referenced: list[tuple[str, str]] = field(default_factory=list)
    _constructor: SafeConstructor = field(default_factory=SafeConstructor)
    _mappings: dict[int, dict[str, tuple[Node, Node]]] = field(default_factory=dict)

    def suite(self, root: Node) -> Suite:
        top = self.mapping(root, "the suite")
        for key, (key_node, _) in top.items():
            if key not in _TOP_LEVEL_KEYS | _IGNORED_TOP_LEVEL_KEYS:
                raise self.unknown_key(key_node, key, "top-level key", _TOP_LEVEL_KEYS)
        if "prompts" not in top:
            raise self.error(root, "the suite has no prompts")
        if "tests" not in top:
            raise self.error(root, "the suite has no tests")
        description = (
            self.string(top["description"][1], "description") if "description" in top else ""
        )
        prompts = self.prompts(top["prompts"][1])
        providers = self.providers(top["providers"][1]) if "providers" in top else ()
        default = self.test(top["defaultTest"][1], "defaultTest") if "defaultTest" in top else None
        cases = tuple(
            _merge(default, self.test(node, f"tests[{index}]"))
            for index, node in enumerate(self.sequence(top["tests"][1], "tests", allow_empty=False))
        )
        options = self.options(top["options"][1]) if "options" in top else SuiteOptions()
        suite = Suite(description, prompts, cases, providers, options)
        self.check_variables(suite)
        return suite

    # -- prompts -------------------------------------------------------------------------

    def prompts(self, node: Node) -> tuple[PromptTemplate, ...]:
        items = [node] if isinstance(node, ScalarNode) else self.sequence(node, "prompts")
        if not items:
            raise self.error(node, "prompts is empty")
        return tuple(self.prompt(item, index) for index, item in enumerate(items))

    def prompt(self, node: Node, index: int) -> PromptTemplate:
        where = f"prompts[{index}]"
        if isinstance(node, ScalarNode):
            return self.prompt_text(node, self.string(node, where), None)
        if isinstance(node, SequenceNode):
            return self.checked(node, _prompt(None, self.messages(node, where), text=None))
        fields = self.mapping(node, where)
        self.only_keys(fields, {"raw", "id", "label"}, f"{where} key")
        label = self.string(fields["label"][1], f"{where}.label") if "label" in fields else None
        source = fields.get("raw") or fields.get("id")
        if source is None:
            raise self.error(node, f"{where} needs raw (the prompt) or id (a file:// reference)")
        source_node = source[1]
        if isinstance(source_node, SequenceNode):
            messages = self.messages(source_node, f"{where}.raw")
            return self.checked(source_node, _prompt(label, messages, text=None))
        return self.prompt_text(source_node, self.string(source_node, where), label)

    def prompt_text(self, node: Node, text: str, label: str | None) -> PromptTemplate:
        if text.startswith(FILE_PREFIX):
            reference = text[len(FILE_PREFIX) :]
            text = self.read_reference(node, reference)
            messages = self.messages_in_file(node, reference, text)
            if messages is not None:
                return self.checked(node, _prompt(label or reference, messages, text=None))
            return self.checked(node, _prompt(label or reference, (), text=text))
        messages = _json_chat(text)
        if messages is not None:
            return self.checked(node, _prompt(label, messages, text=None))
        return self.checked(node, _prompt(label, (), text=text))

    def messages(self, node: Node, where: str) -> tuple[ChatMessage, ...]:
        result = []
        for index, item in enumerate(self.sequence(node, where, allow_empty=False)):
            fields = self.mapping(item, f"{where}[{index}]")
            self.only_keys(fields, {"role", "content"}, "chat message key")
            for key in ("role", "content"):
                if key not in fields:
                    raise self.error(item, f"{where}[{index}] has no {key}")
            role = self.string(fields["role"][1], f"{where}[{index}].role")
            if role not in CHAT_ROLES:
                raise self.error(
                    fields["role"][1],
                    f"unknown chat role {role!r} (known: {', '.join(sorted(CHAT_ROLES))})",
                )
            content = self.string(fields["content"][1], f"{where}[{index}].content")
            result.append(ChatMessage(role, content))
        return tuple(result)

    def messages_in_file(
        self, node: Node, reference: str, text: str
    ) -> tuple[ChatMessage, ...] | None:
        if not reference.endswith((".json", ".yaml", ".yml")):
            return None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise self.error(node, f"{reference}: not valid JSON/YAML") from None
        messages = _chat_messages(data)
        if messages is None:
            raise self.error(node, f"{reference}: not a list of {{role, content}} chat messages")
        return messages

    def read_reference(self, node: Node, reference: str) -> str:
        if self.base_dir is None:
            raise self.error(node, f"file:// references need a suite file ({reference})")
        path = self.base_dir / reference
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise self.error(node, f"cannot read {reference}: {reason}") from None
        self.referenced.append((reference, text))
        return text

    def checked(self, node: Node, prompt: PromptTemplate) -> PromptTemplate:
        """``prompt`` marked with its position, once its placeholders are known to be valid."""
        for message in prompt.messages:
            try:
                template_variables(message.content)
            except TemplateError as exc:
                raise self.error(node, f"prompt {prompt.label!r}: {exc}") from None
        return replace(prompt, mark=self.mark(node))

    # -- providers -----------------------------------------------------------------------

    def providers(self, node: Node) -> tuple[Provider, ...]:
        items = [node] if isinstance(node, ScalarNode) else self.sequence(node, "providers")
        providers = tuple(self.provider(item, f"providers[{i}]") for i, item in enumerate(items))
        seen: set[str] = set()
        for item, provider in zip(items, providers, strict=True):
            if provider.display_name in seen:
                raise self.error(item, f"two providers are called {provider.display_name!r}")
            seen.add(provider.display_name)
        return providers

    def provider(self, node: Node, where: str) -> Provider:
        if isinstance(node, ScalarNode):
            written_id = self.string(node, where)
            return Provider(written_id, OPENAI_BASE_URL, self.model_of(node, written_id))
        fields = self.mapping(node, where)
        self.reject_secrets(fields)
        self.only_keys(fields, _PROVIDER_KEYS, "provider key")
        config = self.mapping(fields["config"][1], f"{where}.config") if "config" in fields else {}
        self.reject_secrets(config)
        self.only_keys(config, _CONFIG_KEYS, "provider config key")
        provider_id = self.optional_string(fields, "id", where)
        label = self.optional_string(fields, "label", where)
        explicit_url = self.optional_string(fields, "base_url", where)
        base_url = explicit_url or self.config_base_url(config, where)
        model = self.optional_string(fields, "model", where)
        if model is None:
            if provider_id is None:
                raise self.error(node, f"{where} needs an id (openai:chat:MODEL) or a model")
            if explicit_url is not None:
                raise self.error(node, f"{where} has a base_url but no model")
            model = self.model_of(fields["id"][1], provider_id)
        headers = {
            **self.headers(config.get("headers"), where),
            **self.headers(fields.get("headers"), where),
        }
        key_ref = (
            self.optional_string(fields, "api_key_ref", where)
            or self.optional_string(config, "api_key_ref", where)
            or self.optional_string(config, "apiKeyRef", where)
        )
        return Provider(
            id=provider_id or label or model,
            base_url=self.url(base_url, fields.get("base_url") or config.get("apiBaseUrl"), node),
            model=model,
            headers=headers,
            api_key_ref=key_ref,
            label=label,
            temperature=self.number_field(config, "temperature", where, 0.0, 2.0),
            max_tokens=self.integer_field(config, "max_tokens", where, minimum=1),
            seed=self.integer_field(config, "seed", where),
        )

    def model_of(self, node: Node, provider_id: str) -> str:
        parts = provider_id.split(":")
        if parts[0] != "openai" or len(parts) < 2:
            raise self.error(
                node,
                f"provider {provider_id!r}: only OpenAI-compatible providers are supported "
                "(openai:chat:MODEL, or base_url and model)",
            )
        if parts[1] in _NON_CHAT_APIS:
            raise self.error(node, f"provider {provider_id!r}: only chat completions are supported")
        model = ":".join(parts[2:] if parts[1] == "chat" else parts[1:])
        if not model:
            raise self.error(node, f"provider {provider_id!r} names no model")
        return model

    def config_base_url(self, config: Mapping[str, tuple[Node, Node]], where: str) -> str:
        url = self.optional_string(config, "apiBaseUrl", where)
        if url is not None:
            return url
        host = self.optional_string(config, "apiHost", where)
        return f"https://{host}/v1" if host is not None else OPENAI_BASE_URL

    def url(self, url: str, entry: tuple[Node, Node] | None, node: Node) -> str:
        if not url.startswith(("http://", "https://")):
            raise self.error(entry[1] if entry else node, f"base URL {url!r} is not http(s)")
        return url.rstrip("/")

    def headers(self, entry: tuple[Node, Node] | None, where: str) -> dict[str, str]:
        if entry is None:
            return {}
        headers: dict[str, str] = {}
        for name, (key_node, value_node) in self.mapping(entry[1], f"{where}.headers").items():
            if name.lower() in _SECRET_HEADERS:
                raise self.error(key_node, f"inline {name} header: {_SECRET_ADVICE}")
            headers[name] = self.scalar_text(value_node, f"{where}.headers.{name}")
        return headers

    def reject_secrets(self, fields: Mapping[str, tuple[Node, Node]]) -> None:
        for key, (key_node, _) in fields.items():
            if key.lower() in _INLINE_SECRET_KEYS:
                raise self.error(key_node, f"inline {key}: {_SECRET_ADVICE}")

    # -- tests ---------------------------------------------------------------------------

    def test(self, node: Node, where: str) -> TestCase:
        fields = self.mapping(node, where)
        self.only_keys(fields, _TEST_KEYS, f"{where} key")
        description = self.optional_string(fields, "description", where) or ""
        variables = self.variables(fields["vars"][1], where) if "vars" in fields else {}
        asserts: list[AssertionSpec] = []
        if "assert" in fields:
            for index, item in enumerate(self.sequence(fields["assert"][1], f"{where}.assert")):
                asserts.append(self.assertion(item, f"{where}.assert[{index}]"))
        threshold = self.number_field(fields, "threshold", where, 0.0, 1.0)
        return TestCase(description, variables, tuple(asserts), threshold, self.mark(node))

    def variables(self, node: Node, where: str) -> dict[str, str]:
        result: dict[str, str] = {}
        for name, (_, value_node) in self.mapping(node, f"{where}.vars").items():
            if isinstance(value_node, SequenceNode):
                raise self.error(
                    value_node,
                    f"var {name!r} is a list: promptfoo expands lists into several tests, "
                    "the console does not; write one test per value",
                )
            if isinstance(value_node, MappingNode):
                result[name] = json.dumps(self.plain(value_node))
                continue
            value = self.scalar_text(value_node, f"{where}.vars.{name}")
            if value.startswith(FILE_PREFIX):
                value = self.read_reference(value_node, value[len(FILE_PREFIX) :])
            result[name] = value
        return result

    def assertion(self, node: Node, where: str) -> AssertionSpec:
        fields = self.mapping(node, where)
        self.only_keys(fields, _ASSERT_KEYS, "assertion key")
        if "type" not in fields:
            raise self.error(node, f"{where} has no type")
        type_node = fields["type"][1]
        written = self.string(type_node, f"{where}.type")
        negate = written.startswith(NEGATION_PREFIX)
        base = written[len(NEGATION_PREFIX) :] if negate else written
        try:
            assertion_type = AssertionType(base)
        except ValueError:
            known = ", ".join(t.value for t in AssertionType)
            raise self.error(
                type_node, f"unknown assertion type {written!r} (known: {known})"
            ) from None
        weight = self.number_field(fields, "weight", where, 0.0, math.inf)
        spec = AssertionSpec(
            type=assertion_type,
            value=self.plain(fields["value"][1]) if "value" in fields else None,
            threshold=self.number_field(fields, "threshold", where, -math.inf, math.inf),
            weight=1.0 if weight is None else weight,
            metric=self.optional_string(fields, "metric", where),
            negate=negate,
            mark=self.mark(node),
        )
        try:
            check_spec(spec)
        except ValueError as exc:
            at = fields["value"][1] if "value" in fields else node
            raise self.error(at, f"{written}: {exc}") from None
        return spec

    def options(self, node: Node) -> SuiteOptions:
        fields = self.mapping(node, "options")
        self.only_keys(fields, _OPTION_KEYS, "option")
        repeat = self.integer_field(fields, "repeat", "options", minimum=1)
        return SuiteOptions(
            repeat=1 if repeat is None else repeat,
            temperature=self.number_field(fields, "temperature", "options", 0.0, 2.0),
            max_tokens=self.integer_field(fields, "max_tokens", "options", minimum=1),
            seed=self.integer_field(fields, "seed", "options"),
        )

    def check_variables(self, suite: Suite) -> None:
        """Every variable a prompt or assertion value uses is defined by the case."""
        for number, case in enumerate(suite.cases, start=1):
            name = f"test {number}" + (f" ({case.description!r})" if case.description else "")
            defined = f"(vars: {', '.join(sorted(case.vars)) or 'none'})"
            for prompt in suite.prompts:
                missing = sorted(prompt.variables - case.vars.keys())
                if not missing:
                    continue
                variable = "{{" + missing[0] + "}}"
                if not any(missing[0] in other.vars for other in suite.cases):
                    raise SuiteError(
                        f"prompt {prompt.label!r} uses {variable}, which no test defines",
                        prompt.mark,
                        file=self.file,
                    )
                raise SuiteError(
                    f"{name}: prompt {prompt.label!r} uses {variable}, "
                    f"which its vars do not define {defined}",
                    case.mark,
                    file=self.file,
                )
            for spec in case.asserts:
                available = case.vars.keys() | _implicit_variables(spec)
                for template in _value_templates(spec):
                    try:
                        missing_vars = sorted(template_variables(template) - available)
                    except TemplateError as exc:
                        raise SuiteError(str(exc), spec.mark, file=self.file) from None
                    if missing_vars:
                        variable = "{{" + missing_vars[0] + "}}"
                        raise SuiteError(
                            f"{name}: {spec.name} value uses {variable}, "
                            f"which its vars do not define {defined}",
                            spec.mark,
                            file=self.file,
                        )

    # -- typed access to nodes -----------------------------------------------------------

    def mark(self, node: Node) -> SourceMark:
        return _mark(self.file, node.start_mark)

    def error(self, node: Node, message: str) -> SuiteError:
        return SuiteError(message, self.mark(node), file=self.file)

    def unknown_key(self, node: Node, key: str, what: str, known: set[str]) -> SuiteError:
        return self.error(node, f"unknown {what} {key!r} (known: {', '.join(sorted(known))})")

    def only_keys(
        self, fields: Mapping[str, tuple[Node, Node]], known: set[str], what: str
    ) -> None:
        for key, (key_node, _) in fields.items():
            if key not in known:
                raise self.unknown_key(key_node, key, what, known)

    def mapping(self, node: Node, where: str) -> dict[str, tuple[Node, Node]]:
        """The entries of a mapping node by key: (key node, value node).

        ``<<`` merge keys are honoured (an explicit key wins over a merged one); a key
        written twice is an error.
        """
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{where} must be a mapping, not {_kind(node)}")
        if id(node) in self._mappings:  # an alias: flattened already
            return self._mappings[id(node)]
        written: set[str] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            if key_node.value in written:
                raise self.error(key_node, f"{where}: duplicate key {key_node.value!r}")
            written.add(key_node.value)
        try:
            self._constructor.flatten_mapping(node)
        except yaml.YAMLError as exc:
            raise self.error(node, f"{where}: cannot merge: {exc}") from None
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.plain(key_node)
            if not isinstance(key, str):
                raise self.error(key_node, f"{where}: keys must be strings, not {key!r}")
            entries[key] = (key_node, value_node)
        self._mappings[id(node)] = entries
        return entries

    def sequence(self, node: Node, where: str, *, allow_empty: bool = True) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.error(node, f"{where} must be a list, not {_kind(node)}")
        if not node.value and not allow_empty:
            raise self.error(node, f"{where} is empty")
        return list(node.value)

    def plain(self, node: Node) -> object:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self.error(node, f"cannot read this value: {exc}") from None

    def string(self, node: Node, where: str) -> str:
        value = self.plain(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, str):
            raise self.error(node, f"{where} must be a string, not {_kind(node, value)}")
        return value

    def scalar_text(self, node: Node, where: str) -> str:
        """A scalar as text: strings as they are, numbers and booleans as JSON writes them."""
        value = self.plain(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return json.dumps(value)
        raise self.error(node, f"{where} must be a string or number, not {_kind(node, value)}")

    def optional_string(
        self, fields: Mapping[str, tuple[Node, Node]], key: str, where: str
    ) -> str | None:
        return self.string(fields[key][1], f"{where}.{key}") if key in fields else None

    def number_field(
        self,
        fields: Mapping[str, tuple[Node, Node]],
        key: str,
        where: str,
        low: float,
        high: float,
    ) -> float | None:
        if key not in fields:
            return None
        node = fields[key][1]
        value = self.plain(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(node, f"{where}.{key} must be a number, not {_kind(node, value)}")
        if not math.isfinite(value) or not low <= value <= high:
            raise self.error(node, f"{where}.{key} must lie in {low:g}..{high:g}, not {value}")
        return float(value)

    def integer_field(
        self,
        fields: Mapping[str, tuple[Node, Node]],
        key: str,
        where: str,
        *,
        minimum: int | None = None,
    ) -> int | None:
        if key not in fields:
            return None
        node = fields[key][1]
        value = self.plain(node)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(
                node, f"{where}.{key} must be a whole number, not {_kind(node, value)}"
            )
        if minimum is not None and value < minimum:
            raise self.error(node, f"{where}.{key} must be at least {minimum}, not {value}")
        return value


def _kind(node: Node, value: object = None) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "null" if value is None else f"{type(value).__name__} {value!r}"


def _prompt(
    label: str | None, messages: tuple[ChatMessage, ...], *, text: str | None
) -> PromptTemplate:
    if text is not None:
        return PromptTemplate(label or _short(text), (ChatMessage("user", text),), is_chat=False)
    default = _short(" / ".join(m.content for m in messages))
    return PromptTemplate(label or default, messages, is_chat=True)


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _json_chat(text: str) -> tuple[ChatMessage, ...] | None:
    """The messages of a prompt written as a JSON chat array (as promptfoo reads them)."""
    if not text.lstrip().startswith("["):
        return None
    try:
        return _chat_messages(json.loads(text))
    except ValueError:
        return None


def _chat_messages(data: object) -> tuple[ChatMessage, ...] | None:
    if not isinstance(data, list) or not data:
        return None
    messages = []
    for item in data:
        if not isinstance(item, dict) or set(item) != {"role", "content"}:
            return None
        role, content = item["role"], item["content"]
        if role not in CHAT_ROLES or not isinstance(content, str):
            return None
        messages.append(ChatMessage(role, content))
    return tuple(messages)


def _merge(default: TestCase | None, case: TestCase) -> TestCase:
    """``case`` with the defaultTest's vars (the case's win) and asserts (first) merged in."""
    if default is None:
        return case
    return TestCase(
        description=case.description,
        vars={**default.vars, **case.vars},
        asserts=default.asserts + case.asserts,
        threshold=case.threshold if case.threshold is not None else default.threshold,
        mark=case.mark,
    )


def _value_templates(spec: AssertionSpec) -> Iterator[str]:
    """The strings of an assertion's value that are filled from the case's vars."""
    if spec.type is AssertionType.SENSITIVITY:
        config = sensitivity_config(spec)
        yield from (p.template for p in config.perturbations if p.template is not None)
    elif isinstance(spec.value, str):
        yield spec.value
    elif isinstance(spec.value, list):
        yield from (item for item in spec.value if isinstance(item, str))


def _implicit_variables(spec: AssertionSpec) -> set[str]:
    return {PROMPT_VARIABLE} if spec.type is AssertionType.SENSITIVITY else set()
