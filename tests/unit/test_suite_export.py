"""Exports: JUnit XML against the common schema's required parts, JSON and CSV."""

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from console.domain.suite_results import (
    AssertionOutcome,
    CaseRecord,
    CaseStatus,
    RunInfo,
    RunStatus,
    Tally,
)
from console.services.suite_export import (
    CSV_COLUMNS,
    csv_text,
    json_report,
    junit_xml,
    write_csv,
    write_json,
    write_junit,
)
from tests.unit.test_run_history import info, record

# What windyroad's JUnit.xsd (Apache Ant's format, read by Jenkins, GitLab and others) requires.
SUITE_ATTRIBUTES = {"name", "tests", "failures", "errors", "time", "timestamp", "hostname"}
NESTED_SUITE_ATTRIBUTES = SUITE_ATTRIBUTES | {"id", "package"}
CASE_ATTRIBUTES = {"name", "classname", "time"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
DECIMAL = re.compile(r"^\d+(\.\d+)?$")


def finished_run() -> tuple[RunInfo, list[CaseRecord]]:
    run = replace(info(), id=7, status=RunStatus.COMPLETED, finished_at=1012.5)
    passed = record(0, CaseStatus.PASSED)
    failed = replace(
        record(1, CaseStatus.FAILED),
        assertions=(
            AssertionOutcome("icontains", False, 0.0, "output does not contain 'Paris'"),
            AssertionOutcome("not-is-refusal", False, 0.0, "not-is-refusal: reads as a refusal"),
            AssertionOutcome("latency", True, 1.0, "latency 120 ms <= 3000 ms"),
        ),
        response_text="Lyon\x00\x1b <b>&",
    )
    errored = replace(
        record(2, CaseStatus.ERROR),
        reason="http://127.0.0.1:1/v1/chat/completions answered HTTP 500: boom",
        assertions=(),
        response_text=None,
        repeat=1,
    )
    return run, [passed, failed, errored]


def test_junit_has_every_element_and_attribute_the_schema_requires() -> None:
    run, records = finished_run()
    document = junit_xml(run, records)
    root = ET.fromstring(document.encode())
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.attrib.keys() >= NESTED_SUITE_ATTRIBUTES
    assert TIMESTAMP.match(suite.attrib["timestamp"])
    assert DECIMAL.match(suite.attrib["time"]) and suite.attrib["time"] == "12.500"
    assert (suite.attrib["tests"], suite.attrib["failures"], suite.attrib["errors"]) == (
        "3",
        "1",
        "1",
    )
    assert root.attrib == {}  # JUnit.xsd defines no attributes on testsuites
    children = [child.tag for child in suite]
    assert children[0] == "properties"
    assert children[-2:] == ["system-out", "system-err"]
    assert set(children[1:-2]) == {"testcase"}
    properties = {
        p.attrib["name"]: p.attrib["value"] for p in suite.iterfind("properties/property")
    }
    assert properties["suite_sha256"] == "abc123"
    assert properties["model_version"] == "v41"
    assert properties["deployment"] == "support-chat"

    cases = suite.findall("testcase")
    assert len(cases) == 3
    for case in cases:
        assert case.attrib.keys() >= CASE_ATTRIBUTES
        assert DECIMAL.match(case.attrib["time"])
        assert len(case) <= 1  # at most one failure or error
    assert len({c.attrib["name"] for c in cases}) == 3
    assert cases[0].attrib == {
        "name": "case 0 [chat] #1",
        "classname": "smoke.support-chat",
        "time": "0.120",
    }
    failure = cases[1].find("failure")
    assert failure is not None and failure.attrib["type"] == "assertion"
    assert failure.attrib["message"] == (
        "icontains: output does not contain 'Paris'; not-is-refusal: reads as a refusal"
    )
    assert "PASS latency" in (failure.text or "")
    assert "Lyon\ufffd\ufffd <b>&" in (failure.text or "")  # illegal XML characters replaced
    error = cases[2].find("error")
    assert error is not None and error.attrib["message"].endswith("HTTP 500: boom")
    assert error.attrib["type"] == "error"
    assert cases[2].attrib["name"] == "case 2 [chat] #2"


def test_junit_of_an_empty_run_is_still_valid() -> None:
    run, _ = finished_run()
    suite = ET.fromstring(junit_xml(run, []).encode()).find("testsuite")
    assert suite is not None and suite.attrib["tests"] == "0"
    assert suite.find("properties") is not None and suite.find("system-err") is not None


def test_json_report_holds_run_summary_and_results() -> None:
    run, records = finished_run()
    report = json.loads(json.dumps(json_report(run, records)))
    assert report["summary"] == {
        "passed": 1,
        "failed": 1,
        "errors": 1,
        "total": 3,
        "pass_rate": Tally(1, 1, 1).pass_rate,
    }
    assert report["run"]["id"] == 7 and report["run"]["status"] == "completed"
    assert report["run"]["started_at"] == "1970-01-01T00:16:40+00:00"
    first = report["results"][0]
    assert first["request"]["model"] == "support-chat"
    assert first["response"] == "Paris" and first["latency_ms"] == 120.5
    assert first["assertions"][1] == {
        "type": "sensitivity",
        "passed": True,
        "score": 0.5,
        "reason": "1 of 2",
        "error": False,
        "broken": ["typos"],
        "weight": 2.0,
        "metric": None,
    }


def test_csv_has_one_row_per_send() -> None:
    _, records = finished_run()
    rows = list(csv.reader(io.StringIO(csv_text(records))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 4
    failed = dict(zip(CSV_COLUMNS, rows[2], strict=True))
    assert failed["status"] == "failed"
    assert failed["failed_assertions"].startswith("icontains: output does not contain")
    assert failed["latency_ms"] == "120.5" and failed["prompt_tokens"] == "12"
    assert dict(zip(CSV_COLUMNS, rows[3], strict=True))["repeat"] == "2"


def test_writers_write_the_files(tmp_path: Path) -> None:
    run, records = finished_run()
    write_junit(tmp_path / "out" / "junit.xml", run, records)
    write_json(tmp_path / "r.json", run, records)
    write_csv(tmp_path / "r.csv", records)
    ET.parse(tmp_path / "out" / "junit.xml")
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["total"] == 3
    assert (tmp_path / "r.csv").read_text().count("\n") == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "r.csv", "r.json"]
