"""Synthetic prompt suites: what to send, to whom, and what the answers must satisfy.

A :class:`Suite` is the parsed form of a suite file (see ``console/services/suite_loader.py``
for the YAML, a subset of promptfoo's format). It holds:

- ``prompts``: :class:`PromptTemplate` s, each a string or a list of chat messages whose text
  may use ``{{var}}`` placeholders. Every prompt is sent as chat messages: a string prompt
  becomes one user message. :meth:`PromptTemplate.render` fills the placeholders from a test
  case's vars and raises :class:`TemplateError` naming any variable the vars lack.
- ``providers``: OpenAI-compatible targets (:class:`Provider`). Credentials are never part
  of a suite: ``api_key_ref`` names a keyring entry the runner resolves. A suite may list
  no provider at all; the target then comes from the profile or the command line.
- ``cases``: :class:`TestCase` s, with the suite's ``defaultTest`` already merged in, each
  holding its vars and :class:`AssertionSpec` s (evaluated by ``console/services/assertions``).
- ``options``: :class:`SuiteOptions` (repeat, temperature, max_tokens, seed);
  :meth:`Suite.options_for` applies a provider's own overrides.
- ``sha256``: the hash of the suite's source (and of the prompt files it references), so a
  run records exactly which suite it ran.

A run sends every prompt of every case to every provider, ``options.repeat`` times.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import ClassVar, TypeVar


@dataclass(frozen=True)
class SourceMark:
    """A position in a suite file, 1-based, printed as ``file:line:column``."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SuiteError(ValueError):
    """A suite that cannot run: the message starts with ``file:line:column:`` when known."""

    def __init__(self, message: str, mark: SourceMark | None = None, *, file: str = "") -> None:
        where = str(mark) if mark is not None else file
        super().__init__(f"{where}: {message}" if where else message)
        self.mark = mark
        self.reason = message


class TemplateError(ValueError):
    """A ``{{...}}`` placeholder that cannot be filled or is not a plain variable name."""


_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def template_variables(template: str) -> frozenset[str]:
    """The variable names ``template`` uses; TemplateError for a placeholder that is no name.

    Only ``{{name}}`` (spaces allowed inside the braces) is supported: promptfoo's Nunjucks
    filters, attribute access and ``{% ... %}`` tags are refused rather than sent verbatim.
    """
    names: set[str] = set()
    for match in _PLACEHOLDER.finditer(template):
        expression = match.group(1).strip()
        if not _VARIABLE_NAME.fullmatch(expression):
            raise TemplateError(
                f"unsupported template expression {match.group(0)!r}: "
                "only {{variable}} placeholders are supported"
            )
        names.add(expression)
    if "{%" in template:
        raise TemplateError("template tags ({% ... %}) are not supported")
    return frozenset(names)


def render_template(template: str, variables: Mapping[str, str]) -> str:
    """``template`` with each ``{{name}}`` replaced by ``variables[name]``.

    Raises TemplateError naming every missing variable and the ones that are defined.
    """
    missing = sorted(template_variables(template) - variables.keys())
    if missing:
        defined = ", ".join(sorted(variables)) or "none"
        names = ", ".join(missing)
        raise TemplateError(f"undefined template variable(s) {names} (defined: {defined})")
    return _PLACEHOLDER.sub(lambda match: variables[match.group(1).strip()], template)


@dataclass(frozen=True)
class ChatMessage:
    """One chat message: ``role`` (system, user, assistant) and its text."""

    role: str
    content: str


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt whose text may hold ``{{var}}`` placeholders.

    ``is_chat`` False means the suite gave a plain string, held here as one user message.
    """

    label: str
    messages: tuple[ChatMessage, ...]
    is_chat: bool = False
    mark: SourceMark | None = field(default=None, compare=False)

    @property
    def variables(self) -> frozenset[str]:
        """Every variable the messages use."""
        return frozenset().union(*(template_variables(m.content) for m in self.messages))

    def render(self, variables: Mapping[str, str]) -> tuple[ChatMessage, ...]:
        """The messages to send, placeholders filled; TemplateError when a variable is missing."""
        try:
            return tuple(
                replace(message, content=render_template(message.content, variables))
                for message in self.messages
            )
        except TemplateError as exc:
            raise TemplateError(f"prompt {self.label!r}: {exc}") from None


@dataclass(frozen=True)
class Provider:
    """An OpenAI-compatible target: ``{base_url}/chat/completions`` with ``model``.

    ``api_key_ref`` is the name of a keyring entry holding the bearer token (None: no
    auth); ``temperature``, ``max_tokens`` and ``seed`` override the suite's options.
    """

    id: str
    base_url: str
    model: str
    headers: Mapping[str, str] = field(default_factory=dict)
    api_key_ref: str | None = None
    label: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None

    @property
    def display_name(self) -> str:
        """The label when given, else the id."""
        return self.label or self.id


class AssertionType(StrEnum):
    """The assertion types a suite may use (each also exists negated with ``not-``)."""

    EQUALS = "equals"
    CONTAINS = "contains"
    ICONTAINS = "icontains"
    CONTAINS_ANY = "contains-any"
    CONTAINS_ALL = "contains-all"
    ICONTAINS_ANY = "icontains-any"
    ICONTAINS_ALL = "icontains-all"
    STARTS_WITH = "starts-with"
    REGEX = "regex"
    IS_JSON = "is-json"
    CONTAINS_JSON = "contains-json"
    JSON_SCHEMA = "json-schema"
    LEVENSHTEIN = "levenshtein"
    ROUGE_N = "rouge-n"
    LATENCY = "latency"
    COST = "cost"
    PERPLEXITY = "perplexity"
    IS_REFUSAL = "is-refusal"
    CONFIDENCE = "confidence"
    CONSISTENCY = "consistency"
    SENSITIVITY = "sensitivity"


NEGATION_PREFIX = "not-"


@dataclass(frozen=True)
class AssertionSpec:
    """One check on a case's output, as written in the suite.

    ``value`` is the YAML value as plain data (str, number, list, mapping or None); its
    strings may hold ``{{var}}`` placeholders filled from the case's vars. ``negate`` comes
    from a ``not-`` prefix on the type. ``weight`` (default 1) weighs the assertion's score
    in the case score; ``metric`` names a score to aggregate across cases.
    """

    type: AssertionType
    value: object = None
    threshold: float | None = None
    weight: float = 1.0
    metric: str | None = None
    negate: bool = False
    mark: SourceMark | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """The type as written, with its ``not-`` prefix when negated."""
        return f"{NEGATION_PREFIX}{self.type}" if self.negate else str(self.type)


@dataclass(frozen=True)
class TestCase:
    """One case: vars for the prompts, and the assertions every answer must satisfy.

    ``threshold`` (promptfoo's test-level threshold): when set, the case passes when its
    weighted score reaches it, whatever single assertions say.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class

    description: str
    vars: Mapping[str, str] = field(default_factory=dict)
    asserts: tuple[AssertionSpec, ...] = ()
    threshold: float | None = None
    mark: SourceMark | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SuiteOptions:
    """How to sample: repeats per case, and the request's sampling parameters (None: unset)."""

    repeat: int = 1
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Suite:
    """A parsed suite file; ``source`` is the file it came from, ``sha256`` its content hash."""

    description: str
    prompts: tuple[PromptTemplate, ...]
    cases: tuple[TestCase, ...]
    providers: tuple[Provider, ...] = ()
    options: SuiteOptions = SuiteOptions()
    sha256: str = ""
    source: str = ""

    def options_for(self, provider: Provider) -> SuiteOptions:
        """The suite's options with ``provider``'s overrides applied."""
        return replace(
            self.options,
            temperature=_first(provider.temperature, self.options.temperature),
            max_tokens=_first(provider.max_tokens, self.options.max_tokens),
            seed=_first(provider.seed, self.options.seed),
        )


_T = TypeVar("_T")


def _first(override: _T | None, default: _T | None) -> _T | None:
    return override if override is not None else default
