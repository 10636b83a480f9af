"""What a synthetic suite run produced, in a flat form the history, exports and views share.

A run (:class:`RunInfo`) sends each case of a suite, per prompt, target and repeat, and
records one :class:`CaseRecord` per send: the request, what came back, the timings, tokens
and cost, and each assertion's :class:`AssertionOutcome`. A case is ``passed``, ``failed``
or ``error`` (the request failed, or an assertion could not be evaluated); the pass rate
counts errors as not passed. :func:`compare_runs` lines two runs up case by case and says
what moved from pass to fail and back (version N against N-1); :func:`compare_targets` does
the same for two targets of one run (production against a candidate endpoint).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from console.domain.redaction import Redactor


class CaseStatus(StrEnum):
    """The outcome of one case send."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


class RunStatus(StrEnum):
    """Where a run stands; ``interrupted``: its process died before it finished."""

    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class AssertionOutcome:
    """One assertion's result: its name as written (``not-`` included) and why."""

    name: str
    passed: bool
    score: float
    reason: str
    error: bool = False
    broken: tuple[str, ...] = ()
    """The perturbations that changed the answer (``sensitivity``)."""
    weight: float = 1.0
    metric: str | None = None


CaseKey = tuple[int, str, int, int, int]
"""(case index, description, prompt index, target index, repeat): a case send's identity."""


@dataclass(frozen=True)
class CaseRecord:
    """One send of one case: the request, the answer, the measurements and the verdict.

    ``index`` is the send's position in the run's plan; ``repeat`` counts from 0. None
    means the server did not say (no usage, no logprobs) or the request failed.
    """

    index: int
    case_index: int
    description: str
    prompt_index: int
    prompt_label: str
    target_index: int
    target: str
    repeat: int
    status: CaseStatus
    score: float
    reason: str
    request: Mapping[str, object] = field(default_factory=dict)
    response_text: str | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    confidence: float | None = None
    attempts: int = 0
    assertions: tuple[AssertionOutcome, ...] = ()
    finished_at: float = 0.0

    @property
    def key(self) -> CaseKey:
        """What matches this send with the same send in another run."""
        return (
            self.case_index,
            self.description,
            self.prompt_index,
            self.target_index,
            self.repeat,
        )

    @property
    def name(self) -> str:
        """The case's description, else its position: "test 3"."""
        return self.description or f"test {self.case_index + 1}"

    @property
    def title(self) -> str:
        """The name with the prompt and the repeat: "capital [chat] #1"."""
        return f"{self.name} [{self.prompt_label}] #{self.repeat + 1}"

    @property
    def failures(self) -> tuple[AssertionOutcome, ...]:
        """The assertions that did not pass."""
        return tuple(outcome for outcome in self.assertions if not outcome.passed)


@dataclass(frozen=True)
class Tally:
    """Counts of passed, failed and errored sends."""

    passed: int = 0
    failed: int = 0
    errors: int = 0

    @classmethod
    def of(cls, statuses: Iterable[CaseStatus]) -> "Tally":
        """Count ``statuses``."""
        counts = dict.fromkeys(CaseStatus, 0)
        for status in statuses:
            counts[status] += 1
        return cls(counts[CaseStatus.PASSED], counts[CaseStatus.FAILED], counts[CaseStatus.ERROR])

    @property
    def total(self) -> int:
        """Every counted send."""
        return self.passed + self.failed + self.errors

    @property
    def pass_rate(self) -> float:
        """Passed over total (errors count as not passed); 0 when nothing ran."""
        return self.passed / self.total if self.total else 0.0

    def add(self, status: CaseStatus) -> "Tally":
        """This tally with one more send of ``status``."""
        return Tally(
            self.passed + (status is CaseStatus.PASSED),
            self.failed + (status is CaseStatus.FAILED),
            self.errors + (status is CaseStatus.ERROR),
        )


@dataclass(frozen=True)
class RunInfo:
    """A run's identity and context; ``id`` is its history row (None when not stored).

    ``target`` is what the run was pointed at, as shown (a deployment or a provider);
    ``model_version`` the serving version when known, else the model the answers named.
    ``planned`` counts the sends the run meant to make.
    """

    id: int | None
    suite: str
    suite_sha256: str
    target: str
    base_url: str
    model: str
    status: RunStatus
    started_at: float
    planned: int
    suite_path: str = ""
    profile: str | None = None
    deployment: str | None = None
    model_version: str | None = None
    finished_at: float | None = None
    tally: Tally = Tally()


@dataclass(frozen=True)
class CaseChange:
    """A send whose status differs between two runs (None: absent from that run)."""

    key: CaseKey
    title: str
    before: CaseStatus | None
    after: CaseStatus | None
    reason: str
    """Why it is what it is in the later run (or the earlier one when it vanished)."""


@dataclass(frozen=True)
class RunComparison:
    """Two runs side by side: what broke, what got fixed, what stayed broken."""

    regressions: tuple[CaseChange, ...]
    """Passed before, failed or errored after."""
    fixes: tuple[CaseChange, ...]
    """Failed or errored before, passed after."""
    still_failing: tuple[CaseChange, ...]
    only_before: tuple[CaseChange, ...]
    only_after: tuple[CaseChange, ...]
    unchanged_passing: int


def compare_runs(before: Sequence[CaseRecord], after: Sequence[CaseRecord]) -> RunComparison:
    """Match the sends of two runs by :attr:`CaseRecord.key` and sort out what moved."""
    earlier = {record.key: record for record in before}
    later = {record.key: record for record in after}
    regressions, fixes, still, gone, new = [], [], [], [], []
    unchanged = 0
    for key in sorted(earlier.keys() | later.keys()):
        old, now = earlier.get(key), later.get(key)
        shown = now or old
        assert shown is not None
        change = CaseChange(
            key,
            shown.title,
            old.status if old else None,
            now.status if now else None,
            shown.reason,
        )
        if old is None:
            new.append(change)
        elif now is None:
            gone.append(change)
        elif old.status is CaseStatus.PASSED and now.status is CaseStatus.PASSED:
            unchanged += 1
        elif old.status is CaseStatus.PASSED:
            regressions.append(change)
        elif now.status is CaseStatus.PASSED:
            fixes.append(change)
        else:
            still.append(change)
    return RunComparison(
        tuple(regressions), tuple(fixes), tuple(still), tuple(gone), tuple(new), unchanged
    )


def compare_targets(
    records: Sequence[CaseRecord], before: int = 0, after: int = 1
) -> RunComparison:
    """The shadow comparison inside one run: target ``after`` against target ``before``."""
    return compare_runs(
        [replace(r, target_index=0) for r in records if r.target_index == before],
        [replace(r, target_index=0) for r in records if r.target_index == after],
    )


def redacted_record(record: CaseRecord, redactor: Redactor) -> CaseRecord:
    """``record`` as it may be shown, copied or exported: the prompt, the output and every
    reason (which may quote the output) with personal data and secrets replaced."""
    return replace(
        record,
        request=_redacted_request(record.request, redactor),
        response_text=(
            None if record.response_text is None else redactor.redact_text(record.response_text)
        ),
        reason=redactor.redact_text(record.reason),
        assertions=tuple(
            replace(o, reason=redactor.redact_text(o.reason)) for o in record.assertions
        ),
    )


def _redacted_request(request: Mapping[str, object], redactor: Redactor) -> dict[str, object]:
    shown = dict(request)
    messages = shown.get("messages")
    if isinstance(messages, list):
        shown["messages"] = [_redacted_message(m, redactor) for m in messages]
    for name in ("prompt", "input"):
        value = shown.get(name)
        if isinstance(value, str):
            shown[name] = redactor.redact_text(value)
    return shown


def _redacted_message(message: object, redactor: Redactor) -> object:
    if not isinstance(message, Mapping):
        return message
    shown = dict(message)
    content = shown.get("content")
    if isinstance(content, str):
        shown["content"] = redactor.redact_text(content)
    elif isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        shown["content"] = [
            {**part, "text": redactor.redact_text(part["text"])}
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
            else part
            for part in content
        ]
    return shown
