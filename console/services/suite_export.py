"""Exporting a suite run: JUnit XML (for CI), JSON and CSV. No Qt.

JUnit follows the common schema CI servers read (Apache Ant's JUnit XML as written down in
windyroad's ``JUnit.xsd``, which Jenkins' schema accepts too): ``<testsuites>`` (no
attributes) holding one ``<testsuite>`` with name, tests, failures, errors, skipped, time,
timestamp (no time zone), hostname, id and package; in it, in this order, ``<properties>``
(suite hash, target, model, version), one ``<testcase name classname time>`` per
case x repeat, ``<system-out>`` and ``<system-err>``. A failed case carries
``<failure message type>`` whose message lists each failed assertion's reason; a case that
could not be evaluated carries ``<error>``. Characters XML 1.0 cannot hold are replaced.
Every writer replaces its file atomically. API keys are never part of a record, so never
part of an export.
"""

import csv
import io
import json
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from console.config.atomic import atomic_write_text
from console.domain.suite_results import CaseRecord, CaseStatus, RunInfo, Tally

CSV_COLUMNS = (
    "index",
    "case",
    "prompt",
    "target",
    "repeat",
    "status",
    "score",
    "reason",
    "failed_assertions",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "confidence",
    "model",
    "system_fingerprint",
    "response",
)
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def junit_xml(info: RunInfo, records: Sequence[CaseRecord]) -> str:
    """The run as a JUnit XML document."""
    tally = Tally.of(r.status for r in records)
    elapsed = _seconds((info.finished_at or info.started_at) - info.started_at)
    name = info.suite or Path(info.suite_path).stem or "suite"
    suites = ET.Element("testsuites")  # the schema gives it no attributes
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=_text(f"{name} @ {info.target}"),
        tests=str(tally.total),
        failures=str(tally.failed),
        errors=str(tally.errors),
        skipped="0",
        time=elapsed,
        timestamp=datetime.fromtimestamp(info.started_at, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=_text(socket.gethostname() or "localhost"),
        id="0",
        package=_text(_classname(info)),
    )
    properties = ET.SubElement(suite, "properties")
    for key, value in _properties(info):
        ET.SubElement(properties, "property", name=key, value=_text(value))
    for record in records:
        case = ET.SubElement(
            suite,
            "testcase",
            name=_text(record.title),
            classname=_text(f"{_classname(info)}.{record.target}"),
            time=_seconds((record.latency_ms or 0.0) / 1000.0),
        )
        if record.status is CaseStatus.FAILED:
            failure = ET.SubElement(
                case, "failure", message=_text(failure_message(record)), type="assertion"
            )
            failure.text = _text(_details(record))
        elif record.status is CaseStatus.ERROR:
            error = ET.SubElement(case, "error", message=_text(record.reason), type="error")
            error.text = _text(_details(record))
    ET.SubElement(suite, "system-out").text = _text(
        f"run {info.id if info.id is not None else '-'}: {info.status} against {info.base_url} "
        f"model {info.model}"
    )
    ET.SubElement(suite, "system-err")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def failure_message(record: CaseRecord) -> str:
    """Each failed assertion with its reason, or the case's reason (a case threshold)."""
    failed = [
        o.reason if o.reason.startswith(f"{o.name}: ") else f"{o.name}: {o.reason}"
        for o in record.failures
    ]
    return "; ".join(failed) if failed else record.reason


def json_report(info: RunInfo, records: Sequence[CaseRecord]) -> dict[str, object]:
    """The run and every record as plain JSON data."""
    tally = Tally.of(r.status for r in records)
    return {
        "run": {
            "id": info.id,
            "suite": info.suite,
            "suite_path": info.suite_path,
            "suite_sha256": info.suite_sha256,
            "target": info.target,
            "base_url": info.base_url,
            "model": info.model,
            "profile": info.profile,
            "deployment": info.deployment,
            "model_version": info.model_version,
            "status": info.status.value,
            "started_at": _iso(info.started_at),
            "finished_at": _iso(info.finished_at) if info.finished_at is not None else None,
            "planned": info.planned,
        },
        "summary": {
            "passed": tally.passed,
            "failed": tally.failed,
            "errors": tally.errors,
            "total": tally.total,
            "pass_rate": tally.pass_rate,
        },
        "results": [_record_json(record) for record in records],
    }


def csv_text(records: Sequence[CaseRecord]) -> str:
    """One row per case x repeat, with :data:`CSV_COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow(
            (
                r.index,
                r.name,
                r.prompt_label,
                r.target,
                r.repeat + 1,
                r.status.value,
                f"{r.score:.4f}",
                r.reason,
                failure_message(r) if r.failures else "",
                _number(r.latency_ms),
                _number(r.ttft_ms),
                _number(r.prompt_tokens),
                _number(r.completion_tokens),
                _number(r.cost),
                _number(r.confidence),
                r.model or "",
                r.system_fingerprint or "",
                r.response_text or "",
            )
        )
    return buffer.getvalue()


def write_junit(path: Path, info: RunInfo, records: Sequence[CaseRecord]) -> None:
    """Write :func:`junit_xml` to ``path`` atomically."""
    atomic_write_text(path, junit_xml(info, records))


def write_json(path: Path, info: RunInfo, records: Sequence[CaseRecord]) -> None:
    """Write :func:`json_report` to ``path`` atomically."""
    atomic_write_text(path, json.dumps(json_report(info, records), indent=2) + "\n")


def write_csv(path: Path, records: Sequence[CaseRecord]) -> None:
    """Write :func:`csv_text` to ``path`` atomically."""
    atomic_write_text(path, csv_text(records))


def _record_json(record: CaseRecord) -> dict[str, object]:
    return {
        "index": record.index,
        "case": record.name,
        "case_index": record.case_index,
        "prompt": record.prompt_label,
        "prompt_index": record.prompt_index,
        "target": record.target,
        "target_index": record.target_index,
        "repeat": record.repeat,
        "status": record.status.value,
        "score": record.score,
        "reason": record.reason,
        "request": record.request,
        "response": record.response_text,
        "model": record.model,
        "system_fingerprint": record.system_fingerprint,
        "finish_reason": record.finish_reason,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "cost": record.cost,
        "confidence": record.confidence,
        "attempts": record.attempts,
        "assertions": [
            {
                "type": o.name,
                "passed": o.passed,
                "score": o.score,
                "reason": o.reason,
                "error": o.error,
                "broken": list(o.broken),
                "weight": o.weight,
                "metric": o.metric,
            }
            for o in record.assertions
        ],
    }


def _properties(info: RunInfo) -> list[tuple[str, str]]:
    fields = [
        ("suite_sha256", info.suite_sha256),
        ("suite_path", info.suite_path),
        ("target", info.target),
        ("base_url", info.base_url),
        ("model", info.model),
        ("profile", info.profile),
        ("deployment", info.deployment),
        ("model_version", info.model_version),
        ("status", info.status.value),
    ]
    return [(key, value) for key, value in fields if value]


def _details(record: CaseRecord) -> str:
    lines = [f"{record.status.value}: {record.reason}"]
    lines += [
        f"  {'PASS' if o.passed else 'ERROR' if o.error else 'FAIL'} {o.name}: {o.reason}"
        for o in record.assertions
    ]
    if record.response_text is not None:
        lines.append(f"response: {record.response_text}")
    return "\n".join(lines)


def _classname(info: RunInfo) -> str:
    stem = Path(info.suite_path).stem if info.suite_path else "suite"
    return re.sub(r"[^\w.-]+", "_", stem) or "suite"


def _text(value: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", value)


def _seconds(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else str(round(value, 6))
