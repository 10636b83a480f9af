"""``sre-console logs`` (DEMO and a loopback Loki), ``redact``, and ``profile add --loki``."""

import json
import time
from dataclasses import replace
from pathlib import Path

from console.config.paths import config_file
from console.config.secrets import SecretStore
from console.config.store import ConfigStore
from console.services.review_queue import ReviewQueue
from tests.support.loki_server import LokiReplayServer
from tests.unit.test_cli import Run


def test_logs_on_the_demo_print_redacted_records(secrets: SecretStore) -> None:
    run = Run(
        [
            "logs",
            "--profile",
            "demo",
            "--query",
            '{deployment="support-chat"} |~ "@|Call me|SSN"',
            "--since",
            "2h",
            "--limit",
            "5",
            "--json",
        ],
        secrets,
    )
    assert run.status == 0, run.err
    records = [json.loads(line) for line in run.out.splitlines()]
    assert len(records) == 5
    assert all(set(r["redacted"]) <= {"EMAIL", "PHONE", "SSN"} for r in records)
    assert all(r["redacted"] and "@" not in r["prompt"] for r in records)
    assert "DEMO" in run.err and "5 records" in run.err
    low = [r for r in records if r["confidence"] < 0.5]
    queued = ReviewQueue().items("demo")
    assert {i.record_key for i in queued} == {r["key"] for r in low}
    assert all("@" not in (i.prompt or "") for i in queued)
    if low:
        assert f"{len(low)} new outputs below confidence 0.5 queued for review" in run.err
    table = Run(["logs", "--query", '{deployment="doc-qa"}', "--limit", "3"], secrets)
    assert table.status == 0
    assert table.out.splitlines()[0].startswith("TIME (UTC)")
    assert len(table.out.splitlines()) == 4 and "doc-qa" in table.out


def test_logs_errors_have_their_exit_statuses(secrets: SecretStore) -> None:
    bad = Run(["logs", "--query", '{app="llm-gateway"} | json'], secrets)
    assert bad.status == 1 and "only line filters" in bad.err
    assert Run(["logs", "--query", '{a="b"}', "--limit", "0"], secrets).status == 2
    Run(["profile", "add", "prod", "--prometheus", "http://127.0.0.1:9"], secrets)
    missing = Run(["logs", "--profile", "prod", "--query", '{a="b"}'], secrets)
    assert missing.status == 2 and "--loki URL" in missing.err


def test_logs_from_a_multi_tenant_loki_added_with_profile_add(secrets: SecretStore) -> None:
    now_ns = time.time_ns()
    line = json.dumps({"gen_ai.prompt": "call +1 415 555 0100", "gen_ai.completion": "ok"})
    streams = [({"deployment": "chat", "version": "v2"}, [(now_ns - 10**9, line)])]
    with LokiReplayServer(streams=streams) as loki:
        added = Run(
            [
                "profile",
                "add",
                "prod",
                "--prometheus",
                "http://127.0.0.1:9",
                "--loki",
                loki.base_url,
                "--loki-org-id",
                "team-a",
            ],
            secrets,
        )
        assert added.status == 0, added.err
        profile = ConfigStore(config_file()).load().profile("prod")
        assert profile is not None and profile.loki_org_id == "team-a"
        run = Run(
            ["logs", "--profile", "prod", "--query", '{deployment="chat"}', "--json"], secrets
        )
        assert run.status == 0, run.err
        (record,) = [json.loads(x) for x in run.out.splitlines()]
        assert (record["prompt"], record["version"]) == ("call [PHONE]", "v2")
        assert loki.requests[-1].headers["X-Scope-OrgID"] == "team-a"


def test_redact_a_file_and_stdin(secrets: SecretStore, tmp_path: Path) -> None:
    source = tmp_path / "in.log"
    key_block = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    )
    source.write_text(f"user jane@corp.example.com paid\n{key_block}\nok 10.1.2.3\n")
    run = Run(["redact", str(source)], secrets)
    assert run.status == 0
    assert run.out == "user [EMAIL] paid\n[PRIVATE_KEY]\nok [IP]\n"
    assert run.err.strip() == "redacted: EMAIL 1, IP 1, PRIVATE_KEY 1"
    piped = Run(["redact"], secrets, stdin="ssn 123-45-6789\n")
    assert piped.out == "ssn [SSN]\n"
    assert Run(["redact", str(tmp_path / "missing.log")], secrets).status == 2


def test_redact_applies_a_profiles_patterns(secrets: SecretStore) -> None:
    Run(["profile", "add", "prod", "--prometheus", "http://127.0.0.1:9"], secrets)
    store = ConfigStore(config_file())
    settings = store.load()
    profile = settings.profile("prod")
    assert profile is not None

    store.save(
        settings.with_profile(replace(profile, redaction_patterns=(("ticket", r"TCK-\d+"),)))
    )
    run = Run(["redact", "--profile", "prod"], secrets, stdin="see TCK-991 from a@b.io\n")
    assert run.out == "see [TICKET] from [EMAIL]\n"
