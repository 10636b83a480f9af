"""Turn a reviewed output into a test case of a suite file, keeping the file valid. No Qt.

The case is inserted as text at the end of the file's ``tests:`` block list, so comments
and layout stay, then the whole new file is parsed as a suite before it atomically replaces
the old one. The prompt
goes into the one variable the suite's prompts leave to their cases (``question`` in the
shipped smoke suite), or the one named.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from console.config.atomic import atomic_write_text
from console.domain.suite import Suite, SuiteError
from console.services.review_queue import ReviewItem, Verdict
from console.services.suite_loader import load_suite, parse_suite

SOURCE = "review-queue"


@dataclass(frozen=True)
class AddedCase:
    """Where the case went: the file, its description and the suite as now parsed."""

    path: Path
    description: str
    variable: str
    suite: Suite


def default_assertions(item: ReviewItem) -> list[dict[str, Any]]:
    """An acceptable output must keep coming (no refusal); an unacceptable one must not
    come back word for word."""
    if item.verdict is Verdict.UNACCEPTABLE and item.output:
        return [{"type": "not-equals", "value": item.output}]
    return [{"type": "not-is-refusal"}]


def add_review_case(
    item: ReviewItem,
    suite_path: Path,
    *,
    variable: str | None = None,
    assertions: list[dict[str, Any]] | None = None,
) -> AddedCase:
    """Append ``item``'s (redacted) prompt as a case of the suite at ``suite_path``.

    Raises SuiteError (naming the file) when the file is not a valid suite before or would
    not be one after, when the item has no prompt, or when the variable is ambiguous.
    """
    file = str(suite_path)
    if not item.prompt:
        raise SuiteError(
            f"review item {item.record_key} has no prompt to turn into a case", file=file
        )
    before = load_suite(suite_path)
    text = suite_path.read_text(encoding="utf-8")
    chosen = _variable(before, text, variable, file)
    description = (
        f"review {item.verdict.value if item.verdict else 'pending'}: "
        f"{item.deployment or '?'} {item.version or '?'} {item.record_key}"
    )
    case: dict[str, Any] = {
        "description": description,
        "vars": {chosen: item.prompt},
        "assert": assertions if assertions is not None else default_assertions(item),
        "metadata": {
            "source": SOURCE,
            "record": item.record_key,
            "deployment": item.deployment,
            "version": item.version,
            "verdict": item.verdict.value if item.verdict else None,
            "note": item.note,
        },
    }
    new_text = _with_case(text, case, file)
    after = parse_suite(new_text, file=file, base_dir=suite_path.parent)
    if len(after.cases) != len(before.cases) + 1:
        raise SuiteError("the case could not be added to the tests list", file=file)
    atomic_write_text(suite_path, new_text)
    return AddedCase(suite_path, description, chosen, after)


def _variable(suite: Suite, text: str, wanted: str | None, file: str) -> str:
    used = sorted(set().union(*(p.variables for p in suite.prompts)))
    if wanted is not None:
        if wanted not in used:
            raise SuiteError(
                f"the suite's prompts use no variable {wanted!r} (they use {', '.join(used)})",
                file=file,
            )
        return wanted
    raw = yaml.safe_load(text) or {}
    default = raw.get("defaultTest") if isinstance(raw, dict) else None
    fixed = set((default or {}).get("vars") or {}) if isinstance(default, dict) else set()
    free = [name for name in used if name not in fixed]
    if len(free) != 1:
        raise SuiteError(
            "choose the variable that takes the prompt: the suite's prompts leave "
            f"{', '.join(free) or 'none'} to their cases",
            file=file,
        )
    return free[0]


def _with_case(text: str, case: dict[str, Any], file: str) -> str:
    tests = _tests_node(yaml.compose(text, Loader=yaml.SafeLoader))
    if not isinstance(tests, SequenceNode) or tests.flow_style:
        raise SuiteError(
            "'tests' must be a block list ('- description: ...') to add a case", file=file
        )
    indent = tests.start_mark.column
    at = tests.end_mark.index
    # The list ends where the next key starts; insert before that line.
    line_start = text.rfind("\n", 0, at) + 1 if at < len(text) else len(text)
    insert_at = line_start if text[line_start:at].strip() == "" else at
    prefix = "" if text[:insert_at].endswith("\n") else "\n"
    suffix = "\n" if insert_at < len(text) else ""  # keep a blank line before the next key
    return text[:insert_at] + prefix + _block([case], indent) + suffix + text[insert_at:]


def _tests_node(root: Node | None) -> Node | None:
    if not isinstance(root, MappingNode):
        return None
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value == "tests":
            found: Node = value
            return found
    return None


def _block(cases: list[dict[str, Any]], indent: int) -> str:
    dumped = yaml.safe_dump(cases, sort_keys=False, allow_unicode=True, width=4096)
    return "".join(
        " " * indent + line if line.strip() else line for line in dumped.splitlines(True)
    )
