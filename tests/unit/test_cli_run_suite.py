"""`sre-console run-suite`: exit statuses, progress and summary lines, reports, the DEMO."""

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.backends.demo import DemoBackend
from console.backends.demo_llm import DemoLLMServer
from console.config.paths import config_file
from console.config.secrets import SecretStore
from console.config.settings import ModelEndpoint, Profile
from console.config.store import ConfigStore
from console.domain.suite_results import RunStatus
from console.services.run_history import RunHistory
from tests.support.openai_server import OpenAIServer, Reply
from tests.unit.test_cli import Run

SUITE = """
description: cli checks
prompts: ["Say {{word}}"]
tests:
  - description: hello
    vars: {word: hello}
    assert: [{type: icontains, value: hello}]
  - description: world
    vars: {word: world}
    assert: [{type: icontains, value: world}]
  - description: never
    vars: {word: nothing}
    assert: [{type: icontains, value: unicorn}]
"""
SUMMARY = re.compile(
    r"^passed=(\d+) failed=(\d+) errors=(\d+) total=(\d+) pass_rate=([\d.]+) fail_under=\S+$"
)
SMOKE = str(Path(__file__).resolve().parents[2] / "resources" / "suites" / "smoke.yaml")


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as running:
        yield running


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    return path


def summary(run: Run) -> tuple[int, int, int, int, float]:
    last = run.out.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, run.out
    passed, failed, errors, total, rate = match.groups()
    return int(passed), int(failed), int(errors), int(total), float(rate)


def run_suite(secrets: SecretStore, *argv: str) -> Run:
    return Run(["run-suite", *argv], secrets)


def test_below_the_threshold_exits_1_and_lists_the_failures(
    secrets: SecretStore, server: OpenAIServer, suite: Path
) -> None:
    run = run_suite(secrets, str(suite), "--target", server.base_url, "--model", "m")
    assert run.status == 1, run.err
    assert summary(run) == (2, 1, 0, 3, pytest.approx(2 / 3, abs=1e-4))
    assert "FAIL never [Say {{word}}] #1: icontains: output does not contain 'unicorn'" in run.out
    assert "run-suite: 3/3 done, 2 passed, 1 failed, 0 errors" in run.err


def test_at_or_above_the_threshold_exits_0(
    secrets: SecretStore, server: OpenAIServer, suite: Path
) -> None:
    argv = [str(suite), "--target", server.base_url, "--model", "m", "--fail-under", "0.66"]
    run = run_suite(secrets, *argv)
    assert run.status == 0, run.err
    assert summary(run)[:4] == (2, 1, 0, 3)


def test_errors_count_against_the_pass_rate(
    secrets: SecretStore, server: OpenAIServer, suite: Path
) -> None:
    server.script.append(Reply(501, "not implemented here"))
    run = run_suite(
        secrets, str(suite), "--target", server.base_url, "--model", "m", "--concurrency", "1"
    )
    assert run.status == 1
    assert summary(run)[:4] == (1, 1, 1, 3)
    assert "ERROR hello [Say {{word}}] #1: " in run.out and "not implemented here" in run.out


def test_reports_repeat_and_history(
    secrets: SecretStore, server: OpenAIServer, suite: Path, tmp_path: Path
) -> None:
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    run = run_suite(
        secrets,
        str(suite),
        "--target",
        server.base_url,
        "--model",
        "m",
        "--repeat",
        "2",
        "--concurrency",
        "3",
        "--junit",
        str(junit),
        "--json",
        str(report),
        "--fail-under",
        "0.5",
    )
    assert run.status == 0, run.err
    assert summary(run)[:4] == (4, 2, 0, 6)
    assert len(server.requests) == 6
    cases = ET.parse(junit).getroot().findall("testsuite/testcase")
    assert len(cases) == 6
    assert sum(case.find("failure") is not None for case in cases) == 2
    data = json.loads(report.read_text())
    assert data["summary"]["total"] == 6 and len(data["results"]) == 6
    (stored,) = RunHistory().runs()
    assert stored.status is RunStatus.COMPLETED
    assert stored.id == data["run"]["id"]
    assert stored.base_url == server.base_url and stored.model == "m"
    assert stored.model_version == "m"  # no serving version known: the model answering


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "http://127.0.0.1:1/v1"], "--target and --model go together"),
        (["--model", "m"], "--target and --model go together"),
        (
            ["--target", "http://x/v1", "--model", "m", "--profile", "demo"],
            "either --target URL --model M or --profile P --deployment D",
        ),
        (["--target", "ftp://x", "--model", "m"], "expected an http:// or https:// URL"),
        (["--profile", "demo"], "--profile needs --deployment"),
        (["--profile", "nope", "--deployment", "d"], "no profile named 'nope'"),
        (["--deployment", "nope"], "unknown DEMO deployment 'nope'"),
        ([], "the suite names no provider"),
        (
            ["--target", "http://x/v1", "--model", "m", "--junit", "/nonexistent/dir/j.xml"],
            "does not exist",
        ),
    ],
)
def test_usage_errors_exit_2(
    secrets: SecretStore, suite: Path, argv: list[str], message: str
) -> None:
    run = run_suite(secrets, str(suite), *argv)
    assert run.status == 2
    assert message in run.err
    assert run.out == ""


def test_a_suite_error_exits_2_with_file_line_and_column(
    secrets: SecretStore, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("prompts: [hi]\ntests:\n  - assert:\n      - type: contains-some\n")
    run = run_suite(secrets, str(broken), "--target", "http://x/v1", "--model", "m")
    assert run.status == 2
    assert f"{broken}:4:15: unknown assertion type 'contains-some'" in run.err
    absent = tmp_path / "absent.yaml"
    missing = run_suite(secrets, str(absent), "--target", "http://x/v1", "--model", "m")
    assert missing.status == 2
    assert f"{absent}: cannot read the suite" in missing.err


@pytest.mark.parametrize("argv", [["--fail-under", "1.5"], ["--concurrency", "0"]])
def test_bad_numbers_exit_2(secrets: SecretStore, suite: Path, argv: list[str]) -> None:
    assert run_suite(secrets, str(suite), *argv).status == 2


def test_a_real_profile_without_a_model_endpoint_is_a_usage_error(
    secrets: SecretStore, suite: Path
) -> None:
    store = ConfigStore(config_file())
    store.save(store.load().with_profile(Profile("prod", "http://prom:9090")))
    run = run_suite(secrets, str(suite), "--profile", "prod", "--deployment", "chat")
    assert run.status == 2
    assert "names no model endpoint for 'chat'" in run.err
    assert "[[profiles.prod.endpoints]]" in run.err


def save_endpoint_profile(base_url: str, api_key_ref: str | None) -> None:
    store = ConfigStore(config_file())
    endpoint = ModelEndpoint("chat", base_url, "llama-3", api_key_ref=api_key_ref)
    profile = Profile("prod", "http://prom:9090", endpoints=(endpoint,))
    store.save(store.load().with_profile(profile))


def test_a_real_profile_runs_against_its_deployment_endpoint_with_the_keyring_key(
    secrets: SecretStore, server: OpenAIServer, suite: Path
) -> None:
    save_endpoint_profile(server.base_url, "prod-llm")
    secrets.set("prod-llm", "token", "sk-from-keyring")
    run = run_suite(secrets, str(suite), "--profile", "prod", "--deployment", "chat")
    assert run.status == 1, run.err
    assert summary(run)[:4] == (2, 1, 0, 3)
    assert {r.body["model"] for r in server.requests} == {"llama-3"}
    assert {r.headers.get("Authorization") for r in server.requests} == {"Bearer sk-from-keyring"}
    assert "sk-from-keyring" not in run.out + run.err
    (stored,) = RunHistory().runs(deployment="chat")
    assert stored.profile == "prod"


def test_a_missing_endpoint_key_is_a_usage_error_naming_the_keyring_entry(
    secrets: SecretStore, server: OpenAIServer, suite: Path
) -> None:
    save_endpoint_profile(server.base_url, "prod-llm")
    run = run_suite(secrets, str(suite), "--profile", "prod", "--deployment", "chat")
    assert run.status == 2
    assert "prod-llm:token" in run.err
    assert server.requests == []


def test_the_demo_deployment_fails_the_smoke_suite_on_its_bad_version(
    secrets: SecretStore, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    run = run_suite(
        secrets,
        SMOKE,
        "--profile",
        "demo",
        "--deployment",
        "support-chat",
        "--concurrency",
        "12",
        "--junit",
        str(junit),
    )
    assert run.status == 1, run.err
    assert summary(run)[:4] == (6, 4, 0, 10)
    failing = sorted(line.split(" [")[0] for line in run.out.splitlines()[:-1])
    assert failing == [
        "FAIL JSON output",
        "FAIL answers fast",
        "FAIL does not refuse a benign account question",
        "FAIL does not refuse a benign question with an alarming word",
    ]
    (stored,) = RunHistory().runs(deployment="support-chat")
    assert (stored.profile, stored.model_version) == ("demo", "v42")
    properties = {
        p.attrib["name"]: p.attrib["value"]
        for p in ET.parse(junit).getroot().iterfind("testsuite/properties/property")
    }
    assert properties["model_version"] == "v42"


def test_the_good_demo_version_passes_the_smoke_suite(secrets: SecretStore) -> None:
    with DemoLLMServer(DemoBackend().serving) as demo:
        run = run_suite(secrets, SMOKE, "--target", demo.base_url, "--model", "support-chat@v41")
    assert run.status == 0, run.out + run.err
    assert summary(run) == (10, 0, 0, 10, 1.0)
