"""The incident timeline (merge, drift crossings, every source) and the incident report
(HTML that parses, holding the chart images and the audit hashes; Markdown)."""

import asyncio
import base64
import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from console import cli
from console.backends.demo import BAD_ROLLOUT_AGO_S, DemoBackend
from console.backends.demo_alerts import DemoAlertmanager
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, Role
from console.domain.alerts import AlertSpan
from console.domain.audit import AuditDraft, AuditOutcome
from console.domain.suite_results import Tally
from console.domain.timeline import (
    AlertRef,
    AuditRef,
    RunRef,
    SilenceRef,
    TimelineItem,
    TimelineKind,
    VersionRef,
    alert_items,
    drift_items,
    merge,
)
from console.services.alerts import AlertsService
from console.services.audit_log import AuditLog
from console.services.incident_report import (
    REPORT_SIGNALS,
    IncidentReportService,
    render_html,
    render_markdown,
    write_report,
)
from console.services.run_history import PassRatePoint
from console.services.timeline import TimelineService, audit_source

NOW = 1_800_000_000.0
START = NOW - 3 * 3600


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def item(at: float, kind: TimelineKind, title: str, end: float | None = None,
         span: bool = False) -> TimelineItem:  # fmt: skip
    return TimelineItem(at, kind, title, RunRef(1), end=end, is_span=span)


def test_merge_orders_by_time_then_lane_clips_and_dedupes() -> None:
    a = item(50, TimelineKind.AUDIT, "a")
    v = item(50, TimelineKind.VERSION, "v")
    early_span = item(0, TimelineKind.ALERT, "span", end=20, span=True)
    ongoing = item(5, TimelineKind.SILENCE, "ongoing", end=None, span=True)
    before = item(5, TimelineKind.DRIFT, "before")
    after = item(500, TimelineKind.DRIFT, "after")
    merged = merge([[a, before, after], [v, early_span, ongoing, a]], 10, 100)
    assert [i.title for i in merged] == ["span", "ongoing", "v", "a"]


def test_drift_items_are_crossings_between_judged_statuses() -> None:
    items = drift_items(
        "chat",
        "output_tokens",
        [1, 2, 3, 4, 5, 6],
        ["ok", "inconclusive", "alert", "alert", "inconclusive", "warn"],
        [0.01, float("nan"), 0.4, 0.5, float("nan"), 0.15],
    )
    assert [(i.at, i.title) for i in items] == [
        (3.0, "output_tokens drift ok → alert"),
        (6.0, "output_tokens drift alert → warn"),
    ]
    assert items[0].severity == "critical"


def test_alert_items_are_spans_linking_to_the_alert() -> None:
    span = AlertSpan({"alertname": "A", "severity": "warning"}, 10.0, None)
    (entry,) = alert_items([span], {span.fingerprint: "http://prom/graph?g0.expr=x"})
    assert entry.is_span and entry.end is None and entry.title == "A firing"
    assert entry.source == AlertRef(span.fingerprint, "http://prom/graph?g0.expr=x")


class Runs:
    def pass_rates(self, deployment: str, *, since: float | None = None) -> list[PassRatePoint]:
        assert deployment == "support-chat"
        return [PassRatePoint(7, NOW - 1800, 0.5, Tally(5, 4, 1), "v42")]


@pytest.fixture
def world(tmp_path: Path) -> Any:
    clock = lambda: NOW  # noqa: E731
    fleet = DemoBackend(clock=clock)
    profile = dataclasses.replace(DEMO_PROFILE, role=Role.OPERATOR)
    audit = AuditLog(tmp_path / "audit.sqlite3", clock=clock)
    alerts = AlertsService(
        profile, alertmanager=DemoAlertmanager(fleet, clock=clock), audit=audit, clock=clock
    )
    audit.append(
        AuditDraft("carol", "demo", "rollback", "support-chat", AuditOutcome.SUCCEEDED, "slow")
    )
    audit.append(AuditDraft("carol", "demo", "rollback", "doc-qa", AuditOutcome.SUCCEEDED, "x"))
    run(alerts.ack(run(alerts.alerts())[0], actor="alice", reason="looking"))
    timelines = TimelineService(
        profile,
        fleet,
        alerts=alerts,
        alert_history=alerts.alertmanager,  # type: ignore[arg-type]
        runs=Runs(),
        audit=audit_source(audit),
        clock=clock,
    )
    reports = IncidentReportService(
        profile,
        fleet,
        timelines,
        alerts=alerts,
        runs=Runs(),
        audit=audit_source(audit),
        clock=clock,
    )
    yield timelines, reports, audit
    audit.close()


def test_the_timeline_holds_every_source_with_links(world: Any) -> None:
    timelines, _, _ = world
    timeline = run(timelines.timeline("support-chat", START, NOW))
    assert timeline.errors == ()
    lanes = {i.kind for i in timeline.items}
    assert lanes == set(TimelineKind), f"missing lanes: {set(TimelineKind) - lanes}"
    (version,) = timeline.lane(TimelineKind.VERSION)
    assert version.source == VersionRef("support-chat", "v42")
    assert abs(version.at - (NOW - BAD_ROLLOUT_AGO_S)) <= 60
    (alert,) = timeline.lane(TimelineKind.ALERT)
    assert isinstance(alert.source, AlertRef) and alert.source.generator_url
    assert alert.at > version.at and alert.end is None
    (silence,) = timeline.lane(TimelineKind.SILENCE)
    assert isinstance(silence.source, SilenceRef) and "alice" in silence.title
    (synthetic,) = timeline.lane(TimelineKind.SYNTHETIC_RUN)
    assert synthetic.title == "suite run 7: 50% passed (5/10)"
    audited = timeline.lane(TimelineKind.AUDIT)
    assert {i.title for i in audited} >= {"rollback by carol: succeeded"}
    assert all(isinstance(i.source, AuditRef) and len(i.source.hash) == 64 for i in audited)
    assert not any("doc-qa" in i.title for i in audited)
    assert [i.at for i in timeline.items] == sorted(i.at for i in timeline.items)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))
        self._in_cell = tag == "td"

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells.append(data)


def test_the_html_report_parses_and_holds_the_charts_and_audit_hashes(world: Any) -> None:
    _, reports, audit = world
    report = run(reports.build("support-chat", START, NOW))
    html = render_html(report)
    parser = _Collect()
    parser.feed(html)
    parser.close()
    assert len(parser.images) == len(REPORT_SIGNALS)
    for image in parser.images:
        src = image["src"] or ""
        assert src.startswith("data:image/svg+xml;base64,")
        svg = ET.fromstring(base64.b64decode(src.split(",", 1)[1]))
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        assert svg.findall(".//{http://www.w3.org/2000/svg}polyline"), "a line per version"
    hashes = {e.hash for e in audit.entries() if e.target == "support-chat"}
    assert len(hashes) >= 3 and hashes <= set(parser.cells)
    assert "v41, v42" in html
    assert "ModelLatencyP95High" in parser.cells
    assert "http" not in html.replace("http://www.w3.org", ""), "self-contained"
    markdown = render_markdown(report)
    assert markdown.count("](data:image/svg+xml;base64,") == len(REPORT_SIGNALS)
    assert all(h in markdown for h in hashes)


def test_write_report_picks_markdown_by_suffix(world: Any, tmp_path: Path) -> None:
    _, reports, _ = world
    report = run(reports.build("support-chat", START, NOW))
    write_report(report, tmp_path / "r.md")
    write_report(report, tmp_path / "r.html")
    assert (tmp_path / "r.md").read_text().startswith("# Incident report: support-chat")
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")


class Cli:
    def __init__(self, *argv: str) -> None:
        out, err = io.StringIO(), io.StringIO()
        self.status = cli.run(
            cli.parse_args(list(argv)),
            secrets=SecretStore.session_only(),
            stdin=io.StringIO(""),
            stdout=out,
            stderr=err,
        )
        self.out, self.err = out.getvalue(), err.getvalue()


def test_cli_alerts_ack_and_report_on_the_demo(tmp_path: Path) -> None:
    listed = Cli("alerts", "--profile", "demo", "--json")
    assert listed.status == 0, listed.err
    (alert,) = json.loads(listed.out)
    assert (alert["deployment"], alert["severity"], alert["state"]) == (
        "support-chat",
        "critical",
        "active",
    )
    assert alert["firing_for_s"] > 0 and alert["generator_url"]
    acked = Cli("ack", "--profile", "demo", "--alert", alert["fingerprint"][:6],
                "--reason", "rolling back", "--for", "30m")  # fmt: skip
    assert acked.status == 0, acked.err
    assert acked.out.startswith(f"silenced ModelLatencyP95High ({alert['fingerprint']}) until")
    missing = Cli("ack", "--profile", "demo", "--alert", "ffff", "--reason", "x")
    assert missing.status == 1 and "no alert with fingerprint 'ffff'" in missing.err
    bad = Cli("alerts", "--profile", "demo", "--filter", "foo~bar")
    assert bad.status == 1 and "bad matcher format" in bad.err
    out = tmp_path / "report.html"
    made = Cli("report", "--profile", "demo", "--deployment", "support-chat", "--since", "6h",
               "--out", str(out))  # fmt: skip
    assert made.status == 0, made.err
    html = out.read_text()
    assert "silence.ack" in html, "the CLI's ack is in the audit log and the report"
