"""Which events notify: severity, quiet hours, mutes, and storm control."""

from datetime import UTC, datetime

import pytest

from console.domain.notifications import (
    Event,
    EventKind,
    NotificationPolicy,
    NotificationRules,
    QuietHours,
    alert_started,
    drift_crossed,
    judge,
    status_changes,
)
from console.domain.slo import Status

NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC).timestamp()


def event(at: float = NOON, deployment: str | None = "chat", severity: str = "critical",
          key: str = "k1") -> Event:  # fmt: skip
    return Event(EventKind.ALERT_FIRING, at, deployment, f"t {key}", "", severity, key, "p")


def policy(rules: NotificationRules | None = None) -> NotificationPolicy:
    return NotificationPolicy(lambda profile: rules or NotificationRules(), zone=UTC)


def test_severity_at_least_the_rules() -> None:
    rules = NotificationRules(min_severity="critical")
    assert judge(event(severity="critical"), rules, zone=UTC).kept
    verdict = judge(event(severity="warning"), rules, zone=UTC)
    assert not verdict.kept and "below critical" in verdict.reason


@pytest.mark.parametrize(
    ("start", "end", "hour", "quiet"),
    [
        ("22:00", "07:00", 23, True),
        ("22:00", "07:00", 3, True),
        ("22:00", "07:00", 7, False),
        ("22:00", "07:00", 12, False),
        ("09:00", "17:00", 12, True),
        ("09:00", "17:00", 18, False),
    ],
)
def test_quiet_hours_wrap_past_midnight(start: str, end: str, hour: int, quiet: bool) -> None:
    at = datetime(2026, 11, 27, hour, 0, tzinfo=UTC).timestamp()
    rules = NotificationRules(quiet_hours=QuietHours(start, end))
    assert judge(event(at), rules, zone=UTC).kept is not quiet


def test_bad_quiet_hours_and_severity_are_refused() -> None:
    with pytest.raises(ValueError, match="25:00"):
        QuietHours("25:00", "07:00")
    with pytest.raises(ValueError, match="loud"):
        NotificationRules(min_severity="loud")


def test_a_muted_deployment_never_notifies() -> None:
    rules = NotificationRules(muted=("chat",))
    assert not judge(event(), rules, zone=UTC).kept
    assert judge(event(deployment="other"), rules, zone=UTC).kept


def test_identical_events_collapse() -> None:
    chosen = policy()
    assert len(chosen.submit([event()])) == 1
    assert chosen.submit([event(NOON + 120)]) == []
    assert chosen.dropped[-1][1] == "identical to an earlier event"
    assert chosen.flush(NOON + 600) == []


def test_at_most_one_per_deployment_per_minute_then_one_summary() -> None:
    chosen = policy()
    first = chosen.submit([event(key="a"), event(NOON + 5, key="b"), event(NOON + 9, key="c")])
    assert [n.title for n in first] == ["t a"]
    other = chosen.submit([event(NOON + 10, deployment="other", key="d")])
    assert len(other) == 1, "another deployment has its own minute"
    assert chosen.flush(NOON + 30) == [], "the minute is not over"
    (summary,) = chosen.flush(NOON + 61)
    assert summary.title == "2 events on chat"
    assert [e.key for e in summary.events] == ["b", "c"]
    assert chosen.flush(NOON + 200) == []


def test_event_builders() -> None:
    started = alert_started("p", "fp", "HighLatency", "chat", "warning", NOON, "slow")
    assert (started.kind, started.title, started.severity) == (
        EventKind.ALERT_FIRING,
        "HighLatency firing on chat",
        "warning",
    )
    turned = status_changes(
        "p",
        {"a": Status.WARN, "b": Status.ALERT, "c": Status.OK},
        {"a": Status.ALERT, "b": Status.ALERT, "c": Status.OK, "new": Status.ALERT},
        NOON,
    )
    assert [e.deployment for e in turned] == ["a"], "only a turned ALERT; new is just seen"
    drift = drift_crossed("p", "chat", "output_tokens", "ok", "alert", 0.4, NOON)
    assert drift.severity == "critical" and "ok → alert" in drift.title
