"""An incident report of one deployment's time window, for postmortems. No Qt.

``IncidentReportService.build`` gathers the SLIs per version, the versions that served,
the timeline, the alerts, the synthetic runs and the audit entries; ``render_html`` makes
one self-contained HTML file of it (charts are inline SVG images, no external resource)
and ``render_markdown`` the same as Markdown. ``write_report`` picks by file suffix and
writes atomically.
"""

import asyncio
import base64
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from console import __version__
from console.backends.errors import BackendError
from console.backends.protocol import MetricsBackend
from console.config.atomic import atomic_write_text
from console.config.settings import Profile
from console.domain.alerts import Alert
from console.domain.audit import AuditEntry
from console.domain.series import Series
from console.domain.signals import Signal
from console.domain.svg_chart import line_chart_svg
from console.domain.timeline import TimelineItem, TimelineKind
from console.domain.timerange import TimeRange, plan_range
from console.services.alerts import AlertsService
from console.services.run_history import PassRatePoint
from console.services.timeline import AuditSource, RunSource, Timeline, TimelineService

REPORT_SIGNALS = (
    Signal.REQUEST_RATE,
    Signal.ERROR_RATIO,
    Signal.P95_LATENCY,
    Signal.P95_TTFT,
    Signal.OUTPUT_TOKENS_PER_S,
)
CHART_POINTS = 300


@dataclass(frozen=True)
class SliChart:
    """One SLI over the window, one series per version."""

    signal: Signal
    series: dict[str, Series]


@dataclass(frozen=True)
class IncidentReport:
    """Everything the report shows; ``errors`` names what could not be read."""

    profile: str
    deployment: str
    start: float
    end: float
    generated_at: float
    charts: tuple[SliChart, ...]
    versions: tuple[str, ...]
    timeline: Timeline
    alerts: tuple[Alert, ...]
    runs: tuple[PassRatePoint, ...]
    audit: tuple[AuditEntry, ...]
    errors: tuple[str, ...] = ()


class IncidentReportService:
    """Builds incident reports for the deployments of one profile."""

    def __init__(
        self,
        profile: Profile,
        metrics: MetricsBackend,
        timelines: TimelineService,
        *,
        alerts: AlertsService | None = None,
        runs: RunSource | None = None,
        audit: AuditSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile = profile
        self._metrics = metrics
        self._timelines = timelines
        self._alerts = alerts
        self._runs = runs
        self._audit = audit
        self._clock = clock

    async def build(self, deployment: str, start: float, end: float) -> IncidentReport:
        """The report of ``deployment`` over [start, end]."""
        errors: list[str] = []
        plan = plan_range(TimeRange(start, end), CHART_POINTS, self._metrics.scrape_interval_s)
        window_s = max(self.profile.rate_window_s, plan.step)
        answers = await asyncio.gather(
            *(
                self._metrics.range(s, plan, window_s, by_version=True, deployment=deployment)
                for s in REPORT_SIGNALS
            ),
            return_exceptions=True,
        )
        charts = []
        for signal, answer in zip(REPORT_SIGNALS, answers, strict=True):
            if isinstance(answer, BackendError):
                errors.append(f"{signal.label}: {answer}")
            elif isinstance(answer, BaseException):
                raise answer
            else:
                by_version = {(k.version or "(all)"): s for k, s in answer.items()}
                charts.append(SliChart(signal, by_version))
        try:
            history = await self._metrics.version_history(plan, deployment=deployment)
            versions = tuple(sorted(history))
        except BackendError as exc:
            errors.append(f"versions: {exc}")
            versions = ()
        timeline = await self._timelines.timeline(deployment, start, end)
        alerts = await self._current_alerts(deployment, errors)
        runs = (
            tuple(await asyncio.to_thread(self._runs.pass_rates, deployment, since=start))
            if self._runs is not None
            else ()
        )
        audit = (
            tuple(await asyncio.to_thread(self._audit, self.profile.name, deployment, start))
            if self._audit is not None
            else ()
        )
        return IncidentReport(
            profile=self.profile.name,
            deployment=deployment,
            start=start,
            end=end,
            generated_at=self._clock(),
            charts=tuple(charts),
            versions=versions,
            timeline=timeline,
            alerts=alerts,
            runs=tuple(r for r in runs if r.started_at <= end),
            audit=audit,
            errors=(*errors, *timeline.errors),
        )

    async def _current_alerts(self, deployment: str, errors: list[str]) -> tuple[Alert, ...]:
        if self._alerts is None:
            return ()
        overview = await self._alerts.overview()
        if overview.error:
            errors.append(f"alerts: {overview.error}")
        group = overview.group(deployment)
        return group.alerts if group else ()


def chart_svg(chart: SliChart, report: IncidentReport) -> str:
    """The SVG of one chart, with the window's version changes marked."""
    marks = [(i.at, i.title) for i in report.timeline.lane(TimelineKind.VERSION)]
    return line_chart_svg(
        chart.signal.label,
        chart.signal.unit,
        {v: (s.timestamps.tolist(), s.values.tolist()) for v, s in chart.series.items()},
        report.start,
        report.end,
        marks=marks,
    )


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _when(at: float | None) -> str:
    if at is None or not math.isfinite(at):
        return "—"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _title(report: IncidentReport) -> str:
    return f"Incident report: {report.deployment} ({report.profile})"


def _timeline_rows(items: Sequence[TimelineItem]) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            _when(i.at),
            _when(i.end) if i.is_span else "",
            i.kind.value,
            i.title,
            i.detail,
        )
        for i in items
    ]


def _alert_rows(report: IncidentReport) -> list[tuple[str, str, str, str, str, str]]:
    return [
        (
            a.name,
            a.severity or "",
            a.state.value,
            _when(a.starts_at),
            a.fingerprint,
            a.summary or "",
        )
        for a in report.alerts
    ]


def _run_rows(report: IncidentReport) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            str(r.run_id),
            _when(r.started_at),
            r.model_version or "",
            f"{r.pass_rate:.0%}",
            f"{r.tally.passed}/{r.tally.total}",
        )
        for r in report.runs
    ]


def _audit_rows(report: IncidentReport) -> list[tuple[str, ...]]:
    return [
        (str(e.id), e.at, e.actor, e.action, e.outcome.value, e.reason, e.hash)
        for e in report.audit
    ]


def _sections(report: IncidentReport) -> list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]]:
    """Each table of the report: its name, header and rows."""
    return [
        (
            "Timeline",
            ("Time", "Until", "Lane", "What", "Detail"),
            list(_timeline_rows(report.timeline.items)),
        ),
        (
            "Alerts",
            ("Alert", "Severity", "State", "Since", "Fingerprint", "Summary"),
            list(_alert_rows(report)),
        ),
        (
            "Synthetic runs",
            ("Run", "Started", "Version", "Pass rate", "Passed"),
            list(_run_rows(report)),
        ),
        (
            "Audit entries",
            ("Id", "At", "Actor", "Action", "Outcome", "Reason", "Hash"),
            _audit_rows(report),
        ),
    ]


def render_html(report: IncidentReport) -> str:
    """One self-contained HTML document (no script, no external resource)."""
    title = escape(_title(report))
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left}"
        "code{font-size:12px}.err{color:#b00}</style>",
        "</head><body>",
        f"<h1>{title}</h1>",
        f"<p>Window: {_when(report.start)} — {_when(report.end)}. "
        f"Generated {_when(report.generated_at)} by sre-console {escape(__version__)}.</p>",
        "<h2>Versions</h2>",
        "<p>" + (escape(", ".join(report.versions)) or "none reported") + "</p>",
        "<h2>SLIs</h2>",
    ]
    for chart in report.charts:
        svg = chart_svg(chart, report)
        out.append(
            f'<p><img alt="{escape(chart.signal.label)}" '
            f'src="{_data_uri(svg)}" width="720" height="220"></p>'
        )
    for name, header, rows in _sections(report):
        out.append(f"<h2>{escape(name)}</h2>")
        if not rows:
            out.append("<p>none</p>")
            continue
        out.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>")
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
        out.append("</table>")
    if report.errors:
        out.append("<h2>Not available</h2><ul>")
        out.extend(f'<li class="err">{escape(e)}</li>' for e in report.errors)
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_markdown(report: IncidentReport) -> str:
    """The report as Markdown; charts are SVG data-URI images."""
    out = [
        f"# {_title(report)}",
        "",
        f"Window: {_when(report.start)} — {_when(report.end)}. "
        f"Generated {_when(report.generated_at)} by sre-console {__version__}.",
        "",
        "## Versions",
        "",
        ", ".join(report.versions) or "none reported",
        "",
        "## SLIs",
        "",
    ]
    for chart in report.charts:
        out += [f"![{chart.signal.label}]({_data_uri(chart_svg(chart, report))})", ""]
    for name, header, rows in _sections(report):
        out += [f"## {name}", ""]
        if not rows:
            out += ["none", ""]
            continue
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        out.append("")
    if report.errors:
        out += ["## Not available", ""] + [f"- {e}" for e in report.errors] + [""]
    return "\n".join(out)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(report: IncidentReport, path: Path) -> None:
    """Write the report atomically: Markdown when ``path`` ends with .md, else HTML."""
    markdown = path.suffix.lower() == ".md"
    atomic_write_text(path, render_markdown(report) if markdown else render_html(report))
