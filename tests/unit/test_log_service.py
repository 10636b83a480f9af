"""The log service over the DEMO's logs: redaction, paging, live tail, volume and reveal."""

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from console.backends.demo import BAD_ROLLOUT_AGO_S, DemoBackend
from console.backends.demo_logs import DemoLogBackend
from console.backends.errors import BadQuery
from console.backends.log_protocol import Direction
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, Profile, Role
from console.domain.audit import AuditOutcome
from console.domain.log_records import LogEntry, LogRecord
from console.services.audit_log import AuditFilter, AuditLog
from console.services.log_connect import NoLogBackend, open_log_backend, open_log_service
from console.services.logs import LogService, RevealDenied
from console.services.review_queue import ReviewQueue

NOW = 1_790_000_000.0
NS = 10**9
CHAT = '{deployment="support-chat"}'
_REFUSAL = "I'm sorry, but I can't help with that."


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _demo(clock: Clock) -> tuple[DemoBackend, DemoLogBackend]:
    metrics = DemoBackend(clock=clock)
    return metrics, DemoLogBackend(metrics.serving, clock=clock)


def test_demo_logs_follow_the_serving_timeline_and_v42_is_worse() -> None:
    clock = Clock(NOW)
    _, logs = _demo(clock)
    service = LogService(logs, clock=clock)
    page = asyncio.run(service.query(CHAT, NOW - 2 * 3600, NOW, limit=5000))
    rollout = NOW - BAD_ROLLOUT_AGO_S
    versions = {r.version for r in page.records if r.timestamp >= rollout + 60}
    assert versions == {"v42"}
    assert {r.version for r in page.records if r.timestamp < rollout - 60} == {"v41"}
    by_version: dict[str, list[LogRecord]] = {"v41": [], "v42": []}
    for record in page.records:
        if record.prompt is not None and record.version in by_version:
            by_version[record.version].append(record)

    refusals = {v: sum(r.output == _REFUSAL for r in rs) / len(rs) for v, rs in by_version.items()}
    low = {v: sum(_low(r) for r in rs) / len(rs) for v, rs in by_version.items()}
    assert refusals["v42"] > 3 * refusals["v41"]
    assert low["v42"] > 3 * low["v41"]


def _low(record: LogRecord) -> bool:
    return record.confidence is not None and record.confidence < 0.5


def test_demo_logs_are_deterministic_and_stop_after_a_rollback() -> None:
    clock = Clock(NOW)
    metrics, logs = _demo(clock)
    first = asyncio.run(logs.query_range(CHAT, int((NOW - 600) * NS), int(NOW * NS), limit=100))
    again = asyncio.run(
        DemoLogBackend(DemoBackend(clock=clock).serving, clock=clock).query_range(
            CHAT, int((NOW - 600) * NS), int(NOW * NS), limit=100
        )
    )
    assert first == again
    metrics.set_serving("support-chat", {"v41": 1.0}, at=NOW)
    clock.now = NOW + 600
    later = asyncio.run(
        logs.query_range(CHAT, int((NOW + 60) * NS), int(clock.now * NS), limit=1000)
    )
    assert later and {e.labels["version"] for e in later} == {"v41"}


def test_records_leave_the_service_redacted() -> None:
    clock = Clock(NOW)
    service = LogService(_demo(clock)[1], clock=clock)
    page = asyncio.run(service.query('{app="llm-gateway"}', NOW - 3600, NOW, limit=2000))
    redacted = [r for r in page.records if r.redacted]
    assert len(redacted) > 20
    kinds = Counter(span.kind for r in redacted for span in r.redactions.get("prompt", ()))
    assert {"EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IP", "API_KEY"} <= set(kinds)
    for record in page.records:
        for text in (record.prompt, record.output, record.raw):
            assert "@example.com" not in (text or "")
            assert "DE89 3704" not in (text or "")


def test_fetch_more_returns_older_records_without_repeats() -> None:
    clock = Clock(NOW)
    service = LogService(_demo(clock)[1], clock=clock)
    whole = asyncio.run(service.query(CHAT, NOW - 1800, NOW, limit=5000))
    first = asyncio.run(service.query(CHAT, NOW - 1800, NOW, limit=50))
    assert not first.exhausted
    keys = [r.key for r in first.records]
    page = first
    while not page.exhausted:
        page = asyncio.run(service.fetch_more(page, limit=50))
        keys.extend(r.key for r in page.records)
    assert keys == [r.key for r in whole.records]
    assert whole.exhausted


def test_tail_returns_only_new_records_and_catches_up_after_a_pause() -> None:
    clock = Clock(NOW)
    service = LogService(_demo(clock)[1], clock=clock)
    tail = service.tail(CHAT, since_s=NOW - 120)
    first = asyncio.run(tail.poll())
    assert first and all(NOW - 120 <= r.timestamp <= NOW for r in first)
    assert [r.timestamp_ns for r in first] == sorted(r.timestamp_ns for r in first)
    assert asyncio.run(tail.poll()) == []  # nothing new yet
    clock.now += 300  # paused for five minutes: the next poll brings all of them
    second = asyncio.run(tail.poll())
    assert second and min(r.timestamp for r in second) > first[-1].timestamp - 1e-9
    assert not {r.key for r in first} & {r.key for r in second}
    expected = asyncio.run(service.query(CHAT, NOW - 120, clock.now + 1e-9, limit=5000))
    assert len(first) + len(second) == len(expected.records)


def test_volume_counts_lines_per_step() -> None:
    clock = Clock(NOW)
    service = LogService(_demo(clock)[1], clock=clock)
    (series,) = asyncio.run(service.volume(CHAT, NOW - 3600, NOW, step_s=300))
    page = asyncio.run(service.query(CHAT, NOW - 600, NOW, limit=5000))
    assert series.timestamps[-1] == pytest.approx(NOW)
    assert sum(series.values[-2:]) == pytest.approx(len(page.records), abs=2)


def test_demo_refuses_logql_it_cannot_answer() -> None:
    service = LogService(_demo(Clock(NOW))[1])
    with pytest.raises(BadQuery, match="DEMO logs"):
        asyncio.run(service.query('{app="llm-gateway"} | json', NOW - 60, NOW))


def _redacted_record(service: LogService) -> LogRecord:
    line = json.dumps({"prompt": "I am jane@corp.example.com", "output": "ok"})
    (record,) = service.records([LogEntry(5, line, {"deployment": "d"})])
    return record


def test_reveal_needs_operator_and_audits_every_attempt(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    base = Profile(name="prod", prometheus_url="http://p:9090", loki_url="http://l:3100")
    viewer = LogService(DemoLogBackend(), profile=base, audit=audit)
    record = _redacted_record(viewer)
    assert viewer.may_reveal() is not None
    with pytest.raises(RevealDenied, match="operator"):
        viewer.reveal(record, "prompt", 0, reason="customer asked")
    operator = LogService(
        DemoLogBackend(), profile=Profile(**{**base.__dict__, "role": Role.OPERATOR}), audit=audit
    )
    record = _redacted_record(operator)
    assert operator.reveal(record, "prompt", 0, reason="ticket 42") == "jane@corp.example.com"
    with pytest.raises(RevealDenied, match="reason"):
        operator.reveal(record, "prompt", 0, reason=" ")
    entries = audit.entries(AuditFilter(action="reveal_log"))
    assert [e.outcome for e in entries] == [
        AuditOutcome.DENIED,
        AuditOutcome.SUCCEEDED,
        AuditOutcome.DENIED,
    ]
    assert all("jane@" not in json.dumps(e.to_json()) for e in entries)
    assert LogService(DemoLogBackend()).may_reveal() == (
        "revealing needs the audit log, which is not open"
    )
    audit.close()


def test_open_log_backend_builds_loki_with_the_tenant_and_says_when_there_is_none(
    secrets: SecretStore,
) -> None:
    assert isinstance(open_log_backend(DEMO_PROFILE, secrets), DemoLogBackend)
    with pytest.raises(NoLogBackend, match="--loki URL"):
        open_log_backend(Profile(name="p", prometheus_url="http://p:9090"), secrets)
    profile = Profile(
        name="p",
        prometheus_url="http://p:9090",
        loki_url="http://loki:3100",
        loki_org_id="team-a",
        headers=(("X-Scope-OrgID", "metrics-tenant"), ("X-Other", "1")),
        redaction_patterns=(("ticket", r"TCK-\d+"),),
    )
    service = open_log_service(profile, secrets)
    http = service.backend._http  # type: ignore[attr-defined]
    assert http.base_url == "http://loki:3100"
    assert http._http.headers["X-Scope-OrgID"] == "team-a"
    assert http._http.headers["X-Other"] == "1"
    (record,) = service.records([LogEntry(1, '{"prompt": "see TCK-123"}', {})])
    assert record.prompt == "see [TICKET]"
    asyncio.run(service.backend.aclose())


def test_direction_forward_gives_oldest_first() -> None:
    clock = Clock(NOW)
    logs = _demo(clock)[1]
    entries = asyncio.run(
        logs.query_range(
            CHAT, int((NOW - 600) * NS), int(NOW * NS), limit=20, direction=Direction.FORWARD
        )
    )
    times = [e.timestamp_ns for e in entries]
    assert times == sorted(times) and times[0] >= (NOW - 600) * NS


def test_low_confidence_records_land_in_the_review_queue_once(tmp_path: Path) -> None:
    clock = Clock(NOW)
    queue = ReviewQueue(tmp_path / "review.sqlite3")
    service = LogService(_demo(clock)[1], profile=DEMO_PROFILE, review_queue=queue, clock=clock)
    page = asyncio.run(service.query(CHAT, NOW - 1800, NOW, limit=500))
    low = {r.key for r in page.records if _low(r)}
    assert low and service.queued == len(low)
    assert {i.record_key for i in queue.items("demo", pending=True)} == low
    asyncio.run(service.query(CHAT, NOW - 1800, NOW, limit=500))
    assert service.queued == len(low)  # queried again: nothing queued twice
    queue.close()
