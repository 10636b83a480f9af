"""The tamper-evident audit log's entries and hash chain. Pure functions, stdlib only.

Each entry's ``hash`` is the SHA-256 of its *body*: the canonical JSON (sorted keys, no
spaces, UTF-8) of every other field, ``prev_hash`` included, so an entry commits to all
entries before it. The first entry's ``prev_hash`` is :data:`GENESIS_HASH`. A store keeps
each body as written, with its position and hash, and reads entries back from it.
:func:`verify_chain` checks each body against its hash, its position and the previous
entry's hash, in order, and names the first bad entry and why: edited, deleted, reordered
or truncated. Truncation of the tail is only visible against an anchor kept elsewhere (the
last id and hash written), which the store passes in as ``head``.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64


class AuditOutcome(StrEnum):
    """How an action ended; STARTED marks the entry written before it runs."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DENIED = "denied"
    CANCELLED = "cancelled"


class TamperKind(StrEnum):
    """Why a chain is broken."""

    EDITED = "edited"
    DELETED = "deleted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"


@dataclass(frozen=True)
class AuditDraft:
    """What a caller says about one event; the store adds id, time and the hashes.

    ``action_id`` ties an action's STARTED entry to its closing entry (None: a one-off
    event such as a log reveal). ``before``/``after`` are what the target was and became
    (e.g. versions); ``pre_check``/``post_check`` summarise the checks run.
    """

    actor: str
    profile: str
    action: str
    target: str
    outcome: AuditOutcome
    reason: str = ""
    before: str | None = None
    after: str | None = None
    pre_check: str | None = None
    post_check: str | None = None
    error: str | None = None
    action_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One stored entry. ``at`` is an ISO-8601 UTC timestamp with microseconds."""

    id: int
    at: str
    actor: str
    profile: str
    action: str
    target: str
    outcome: AuditOutcome
    reason: str
    before: str | None
    after: str | None
    pre_check: str | None
    post_check: str | None
    error: str | None
    action_id: str | None
    idempotency_key: str | None
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (as exported, one per line)."""
        values = {name: getattr(self, name) for name in ENTRY_FIELDS}
        values["outcome"] = self.outcome.value
        return values

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AuditEntry":
        """The entry from :meth:`to_json`'s object; KeyError or ValueError when malformed."""
        values = {name: data[name] for name in ENTRY_FIELDS}
        values["outcome"] = AuditOutcome(values["outcome"])
        return cls(**values)


ENTRY_FIELDS = tuple(f.name for f in fields(AuditEntry))
BODY_FIELDS = tuple(sorted(name for name in ENTRY_FIELDS if name != "hash"))
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_body(values: Mapping[str, Any]) -> str:
    """The canonical JSON of an entry's fields but ``hash`` (an entry's hashed body)."""
    return _ENCODER.encode({name: values[name] for name in BODY_FIELDS})


def body_hash(body: str) -> str:
    """SHA-256 (hex) of a body's UTF-8 bytes."""
    return hashlib.sha256(body.encode()).hexdigest()


def entry_hash(values: Mapping[str, Any]) -> str:
    """The hash an entry with these field values must have."""
    return body_hash(canonical_body(values))


def seal(draft: AuditDraft, *, id: int, at: str, prev_hash: str) -> tuple[AuditEntry, str]:
    """The entry ``draft`` becomes at position ``id`` after the entry hashed ``prev_hash``,
    and its body."""
    values: dict[str, Any] = {f.name: getattr(draft, f.name) for f in fields(draft)}
    values.update(id=id, at=at, prev_hash=prev_hash, outcome=draft.outcome.value)
    body = canonical_body(values)
    values.update(hash=body_hash(body), outcome=draft.outcome)
    return AuditEntry(**values), body


def entry_from_body(body: str, hash: str) -> AuditEntry:
    """The entry stored as ``body``; ValueError or KeyError when it is not one."""
    return AuditEntry.from_json(json.loads(body) | {"hash": hash})


@dataclass(frozen=True)
class ChainHead:
    """The last entry's id and hash as recorded outside the log (the truncation anchor)."""

    id: int
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """The result of a verification: intact, or the first bad entry and why."""

    checked: int
    bad_id: int | None = None
    kind: TamperKind | None = None
    detail: str = ""

    @property
    def intact(self) -> bool:
        """True when no entry was found edited, deleted, reordered or truncated."""
        return self.kind is None

    def __str__(self) -> str:
        if self.intact:
            return f"audit log intact ({self.checked} entries)"
        return f"audit log broken at entry {self.bad_id}: {self.kind} ({self.detail})"


ChainRow = tuple[int, str, str]
"""A stored entry as read for verification: its position (id), its body, its hash."""


def verify_chain(rows: Iterable[ChainRow], head: ChainHead | None = None) -> ChainReport:
    """Check stored entries read in ascending id order.

    ``head`` is the anchor of the newest entry known to have been written: a log that ends
    before it was truncated, and an entry at its id with another hash was rewritten.
    """
    entries = list(rows)
    sha256 = hashlib.sha256
    expected_prev = GENESIS_HASH
    expected_id = 1
    for index, (entry_id, body, hash) in enumerate(entries):
        # The common case in one expression (a body holds its id and previous hash after a
        # comma, keys being sorted; quotes inside values are escaped, so no value can fake
        # them); _problem explains a row that fails it.
        if (
            entry_id != expected_id
            or sha256(body.encode()).hexdigest() != hash
            or f',"id":{entry_id},' not in body
            or f',"prev_hash":"{expected_prev}",' not in body
        ):
            stored = {other[2] for other in entries}
            return ChainReport(index, *_problem(entries[index], expected_id, expected_prev, stored))
        if head is not None and entry_id == head.id and hash != head.hash:
            return ChainReport(
                index, head.id, TamperKind.EDITED, "it differs from the one written (anchor)"
            )
        expected_prev = hash
        expected_id = entry_id + 1
    if head is not None and expected_id - 1 < head.id:
        return ChainReport(
            len(entries),
            expected_id,
            TamperKind.TRUNCATED,
            f"the log ends at entry {expected_id - 1} but entry {head.id} was written",
        )
    return ChainReport(len(entries))


def _problem(
    row: ChainRow, expected_id: int, expected_prev: str, stored: set[str]
) -> tuple[int, TamperKind, str]:
    entry_id, body, hash = row
    if entry_id > expected_id:
        missing = f"{expected_id}-{entry_id - 1}" if entry_id - 1 > expected_id else expected_id
        kind = TamperKind.TRUNCATED if expected_id == 1 else TamperKind.DELETED
        return expected_id, kind, f"entry {missing} is missing before entry {entry_id}"
    if body_hash(body) != hash:
        return entry_id, TamperKind.EDITED, "its content does not match its hash"
    try:
        values = json.loads(body)
        written_id, prev_hash = values["id"], values["prev_hash"]
    except (ValueError, KeyError, TypeError):
        return entry_id, TamperKind.EDITED, "its content is not an audit entry"
    if written_id != entry_id:
        return entry_id, TamperKind.REORDERED, f"it holds entry {written_id}, moved here"
    if prev_hash in stored:
        return entry_id, TamperKind.REORDERED, "it links to an entry at another position"
    return (
        max(entry_id - 1, 1),
        TamperKind.EDITED,
        f"entry {entry_id} recorded another hash for it (rewritten and re-hashed)",
    )
