"""The headless CLI: profiles, secrets from stdin only, exit statuses."""

import io
import json
from pathlib import Path

import pytest
from keyring.backends import fail

from console import __version__, cli
from console.config.paths import config_file
from console.config.secrets import SERVICE, SecretStore
from console.config.store import ConfigStore
from tests.support.memory_keyring import MemoryKeyring


class Run:
    """One CLI invocation's exit status and output."""

    def __init__(self, argv: list[str], secrets: SecretStore, stdin: str = "") -> None:
        out, err = io.StringIO(), io.StringIO()
        try:
            args = cli.parse_args(argv)
        except SystemExit as exc:
            self.status = int(exc.code or 0)
            self.out = self.err = ""
            return
        self.status = cli.run(
            args, secrets=secrets, stdin=io.StringIO(stdin), stdout=out, stderr=err
        )
        self.out = out.getvalue()
        self.err = err.getvalue()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.parse_args(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"sre-console {__version__}"


def test_profile_add_stores_the_token_in_the_keyring_only(
    secrets: SecretStore, keyring_backend: MemoryKeyring
) -> None:
    run = Run(
        [
            "profile",
            "add",
            "prod-eu",
            "--prometheus",
            "https://prom:9090",
            "--auth",
            "bearer",
            "--token-stdin",
            "--header",
            "X-Scope-OrgID=tenant-a",
            "--role",
            "operator",
            "--protected",
            "--preset",
            "vllm",
        ],
        secrets,
        stdin="s3cr3t-token\n",
    )
    assert run.status == 0, run.err
    assert keyring_backend.entries == {(SERVICE, "prod-eu:token"): "s3cr3t-token"}
    text = config_file().read_text()
    assert "s3cr3t" not in text
    profile = ConfigStore(config_file()).load().profile("prod-eu")
    assert profile is not None
    assert profile.headers == (("X-Scope-OrgID", "tenant-a"),)
    assert profile.protected and profile.preset == "vllm" and profile.role.value == "operator"

    listed = Run(["profile", "list", "--json"], secrets)
    assert [p["name"] for p in json.loads(listed.out)] == ["prod-eu"]
    table = Run(["profile", "list"], secrets)
    assert "prod-eu" in table.out and "protected" in table.out

    removed = Run(["profile", "remove", "prod-eu"], secrets)
    assert removed.status == 0
    assert keyring_backend.entries == {}
    assert ConfigStore(config_file()).load().profiles == ()


def test_without_keyring_it_says_so_and_writes_no_secret(tmp_path: Path) -> None:
    run = Run(
        [
            "profile",
            "add",
            "p",
            "--prometheus",
            "http://127.0.0.1:1",
            "--auth",
            "bearer",
            "--token-stdin",
        ],
        SecretStore(fail.Keyring()),
        stdin="s3cr3t-token",
    )
    assert run.status == 1
    assert "No OS keyring is available" in run.err
    assert "session-only" in run.err
    assert "s3cr3t" not in run.err + run.out
    assert "s3cr3t" not in config_file().read_text()


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["profile", "add", "p", "--prometheus", "ftp://x"], "", "prometheus_url"),
        (["profile", "add", "demo", "--prometheus", "http://x"], "", "reserved"),
        (
            ["profile", "add", "p", "--prometheus", "http://x", "--auth", "bearer"],
            "",
            "--token-stdin",
        ),
        (["profile", "add", "p", "--prometheus", "http://x", "--token-stdin"], "t", "--auth"),
        (["profile", "add", "p", "--prometheus", "http://x", "--header", "nokey"], "", "K=V"),
        (
            [
                "profile",
                "add",
                "p",
                "--prometheus",
                "http://x",
                "--auth",
                "bearer",
                "--token-stdin",
            ],
            "",
            "stdin",
        ),
        (["profile", "remove", "nope"], "", "no profile named 'nope'"),
        (["check", "--profile", "nope"], "", "no profile named 'nope'"),
        (["fleet", "--profile", "nope"], "", "known: demo"),
    ],
)
def test_usage_errors_exit_2(
    secrets: SecretStore, argv: list[str], stdin: str, message: str
) -> None:
    run = Run(argv, secrets, stdin)
    assert run.status == 2
    assert message in run.err


def test_argparse_errors_exit_2(secrets: SecretStore) -> None:
    assert Run(["profile", "add", "p"], secrets).status == 2
    assert (
        Run(["profile", "add", "p", "--prometheus", "http://x", "--role", "god"], secrets).status
        == 2
    )
    assert Run(["frobnicate"], secrets).status == 2


def test_malformed_config_exits_2_and_names_the_file(secrets: SecretStore) -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("schema_version = 1\n[profiles.p]\nprometheus_url = 3\n")
    run = Run(["profile", "list"], secrets)
    assert run.status == 2
    assert f"{path}:3: profiles.p.prometheus_url: must be a string" in run.err
    assert path.read_text() == "schema_version = 1\n[profiles.p]\nprometheus_url = 3\n"


def test_duplicate_profile_is_refused(secrets: SecretStore) -> None:
    assert Run(["profile", "add", "p", "--prometheus", "http://x:1"], secrets).status == 0
    again = Run(["profile", "add", "p", "--prometheus", "http://y:1"], secrets)
    assert again.status == 2 and "exists" in again.err


def test_check_reports_an_unreachable_prometheus(secrets: SecretStore) -> None:
    assert Run(["profile", "add", "p", "--prometheus", "http://127.0.0.1:1"], secrets).status == 0
    run = Run(["check", "--profile", "p"], secrets)
    assert run.status == 1
    assert "connection refused" in run.out


def test_check_and_fleet_on_the_demo(secrets: SecretStore) -> None:
    check = Run(["check"], secrets)
    assert check.status == 0
    assert check.out.startswith("demo: DEMO simulation")
    fleet = Run(["fleet", "--json"], secrets)
    assert fleet.status == 0, fleet.err
    rows = json.loads(fleet.out)
    keys = {
        "deployment",
        "versions",
        "request_rate",
        "error_ratio",
        "p95_latency_s",
        "p95_ttft_s",
        "output_tokens_per_s",
        "status",
        "error",
    }
    assert all(set(row) == keys for row in rows)
    chat = next(r for r in rows if r["deployment"] == "support-chat")
    assert chat["status"] == "alert"
    assert chat["versions"] == [{"version": "v42", "traffic_share": 1.0}]
    text = Run(["fleet", "--profile", "demo"], secrets)
    assert "support-chat" in text.out and "alert" in text.out


def test_missing_secret_is_reported_plainly(secrets: SecretStore) -> None:
    store = ConfigStore(config_file())
    assert (
        Run(
            [
                "profile",
                "add",
                "p",
                "--prometheus",
                "http://127.0.0.1:1",
                "--auth",
                "basic",
                "--user",
                "u",
                "--token-stdin",
            ],
            secrets,
            stdin="pw",
        ).status
        == 0
    )
    secrets.delete_profile("p")
    run = Run(["check", "--profile", "p"], secrets)
    assert run.status == 1
    assert "no password is stored in the OS keyring" in run.err
    assert store.load().profile("p") is not None


def test_an_unusable_query_override_is_a_config_error(secrets: SecretStore) -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'schema_version = 1\n[profiles.p]\nprometheus_url = "http://127.0.0.1:1"\n'
        '[profiles.p.queries]\nrequest_rate = "sum by ($by) (rate(x[$oops]))"\n'
    )
    run = Run(["fleet", "--profile", "p"], secrets)
    assert run.status == 2
    assert "profile 'p'" in run.err and "$oops" in run.err


def test_an_unreadable_ca_bundle_is_reported_not_raised(
    secrets: SecretStore, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    add = ["profile", "add", "p", "--prometheus", "https://127.0.0.1:1", "--ca-file", str(missing)]
    assert Run(add, secrets).status == 0
    check = Run(["check", "--profile", "p"], secrets)
    assert check.status == 1
    assert "cannot load the CA bundle" in check.out
    fleet = Run(["fleet", "--profile", "p", "--json"], secrets)
    assert fleet.status == 1
    assert json.loads(fleet.out) == []
    assert "cannot load the CA bundle" in fleet.err


def test_profile_add_keeps_both_prometheus_and_alertmanager_secrets_in_the_keyring(
    secrets: SecretStore, keyring_backend: MemoryKeyring
) -> None:
    argv = [
        "profile",
        "add",
        "prod",
        "--prometheus",
        "https://prom:9090",
        "--auth",
        "bearer",
        "--alertmanager",
        "https://am:9093",
        "--alertmanager-auth",
        "basic",
        "--alertmanager-user",
        "oncall",
        "--token-stdin",
    ]
    short = Run(argv, secrets, stdin="only-one\n")
    assert short.status == 2 and "expected 2 line(s)" in short.err
    run = Run(argv, secrets, stdin="prom-token\nam-password\n")
    assert run.status == 0, run.err
    assert keyring_backend.get_password(SERVICE, "prod:token") == "prom-token"
    assert keyring_backend.get_password(SERVICE, "prod:alertmanager_password") == "am-password"
    text = config_file().read_text()
    assert "prom-token" not in text and "am-password" not in text
    assert 'alertmanager_username = "oncall"' in text
