"""`sre-console rollback|failover|audit` and `profile add --registry`, in process on the DEMO."""

import json
import sqlite3

from console.config.paths import config_file, data_dir
from console.config.secrets import SecretStore
from console.config.store import ConfigStore
from console.domain.audit import AuditOutcome
from console.services.audit_log import AuditLog
from tests.unit.test_cli import Run

ROLLBACK = ["rollback", "--profile", "demo", "--deployment", "support-chat"]


def test_rollback_with_yes_succeeds_and_is_audited(secrets: SecretStore) -> None:
    run = Run([*ROLLBACK, "--reason", "v42 refuses benign questions", "--yes"], secrets)
    assert run.status == 0, run.err
    assert "v42 -> v41" in run.out and "succeeded" in run.out
    assert "[pre-check] done" in run.err and "[post-check] done" in run.err
    entries = AuditLog().entries()
    assert [e.outcome for e in reversed(entries)] == [
        AuditOutcome.STARTED,
        AuditOutcome.SUCCEEDED,
    ]
    assert entries[0].reason == "v42 refuses benign questions"


def test_without_yes_it_asks_and_a_no_cancels(secrets: SecretStore) -> None:
    declined = Run([*ROLLBACK, "--reason", "maybe"], secrets, stdin="n\n")
    assert declined.status == 1 and "Proceed? [y/N]" in declined.err
    assert "cancelled: nothing was changed" in declined.out
    (entry,) = AuditLog().entries()
    assert entry.outcome is AuditOutcome.CANCELLED


def test_a_reason_is_required_and_a_dry_run_changes_nothing(secrets: SecretStore) -> None:
    assert Run([*ROLLBACK, "--yes"], secrets).status == 2
    assert Run([*ROLLBACK, "--reason", "  ", "--yes"], secrets).status == 2
    dry = Run([*ROLLBACK, "--reason", "look", "--dry-run"], secrets)
    assert dry.status == 0 and "dry run: nothing was changed" in dry.out
    nothing = Run([*ROLLBACK, "--to", "v42", "--reason", "x", "--yes"], secrets)
    assert nothing.status == 1 and "already serves version v42" in nothing.err
    assert AuditLog().entries() == []


def test_audit_verify_names_the_first_bad_entry(secrets: SecretStore) -> None:
    assert Run([*ROLLBACK, "--reason", "bad", "--yes"], secrets).status == 0
    intact = Run(["audit", "verify"], secrets)
    assert intact.status == 0 and "intact (2 entries)" in intact.out
    db = sqlite3.connect(data_dir() / "audit.sqlite3")
    with db:
        db.execute("DROP TRIGGER entries_no_update")
        db.execute("UPDATE entries SET body = replace(body, 'bad', 'fine') WHERE id = 1")
    db.close()
    broken = Run(["audit", "verify"], secrets)
    assert broken.status == 1 and "broken at entry 1: edited" in broken.out


def test_audit_export_prints_json_lines(secrets: SecretStore) -> None:
    assert Run([*ROLLBACK, "--reason", "bad", "--yes"], secrets).status == 0
    export = Run(["audit", "export", "--since", "1h", "--format", "jsonl"], secrets)
    assert export.status == 0
    lines = [json.loads(line) for line in export.out.splitlines()]
    assert [line["outcome"] for line in lines] == ["started", "succeeded"]
    assert Run(["audit", "export", "--since", "yesterday"], secrets).status == 2


def test_profile_add_takes_a_registry(secrets: SecretStore) -> None:
    added = Run(
        [
            "profile",
            "add",
            "prod",
            "--prometheus",
            "http://prom:9090",
            "--role",
            "operator",
            "--protected",
            "--operators-may-act",
            "--registry",
            "mlflow:http://mlflow:5000",
        ],
        secrets,
    )
    assert added.status == 0, added.err
    profile = ConfigStore(config_file()).load().profile("prod")
    assert profile is not None and profile.protected_operators_may_act
    assert profile.registry is not None and profile.registry.mlflow_url == "http://mlflow:5000"
    bad = Run(
        ["profile", "add", "p2", "--prometheus", "http://p:9090", "--registry", "http://x"],
        secrets,
    )
    assert bad.status == 2 and "mlflow:URL" in bad.err


def test_a_repeated_command_reports_the_first_outcome_and_acts_once(
    secrets: SecretStore,
) -> None:
    command = [*ROLLBACK, "--reason", "v42 is bad", "--yes"]
    assert Run(command, secrets).status == 0
    again = Run(command, secrets)
    assert again.status == 0 and "repeat of an earlier command" in again.out
    assert "[execute] skipped" in again.err
    started = [e for e in AuditLog().entries() if e.outcome is AuditOutcome.STARTED]
    assert len(started) == 1
