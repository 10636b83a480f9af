"""`sre-console drift` on the DEMO: JSON shape, the bad rollout's drift, usage errors."""

import argparse
import dataclasses
import io
import json
import time
from typing import Any

import pytest

from console import cli
from console.backends.demo import BAD_ROLLOUT_AGO_S, CANARY_AGO_S
from console.backends.errors import ConnectionFailed
from console.cli import _common as cli_common
from console.cli._common import duration
from console.cli.drift import baseline
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE, DriftSetting
from console.domain.drift import DriftMetric, DriftThresholds
from console.services.drift import DriftService, PreviousWindow, ReferenceRange, VersionBaseline

KEYS = {"timestamp", "value", "baseline_count", "current_count", "status"}
DEMO = ["drift", "--profile", "demo", "--signal", "output_tokens", "--range", "2h", "--step", "10m"]


class Run:
    """One in-process CLI invocation's exit status and output (argparse errors included)."""

    def __init__(self, argv: list[str], secrets: SecretStore) -> None:
        out, err = io.StringIO(), io.StringIO()
        try:
            args = cli.parse_args(argv)
        except SystemExit as exc:
            self.status = int(exc.code or 0)
            self.out = self.err = ""
            return
        self.status = cli.run(args, secrets=secrets, stdout=out, stderr=err)
        self.out = out.getvalue()
        self.err = err.getvalue()

    def rows(self) -> list[dict[str, Any]]:
        assert self.status == 0, self.err
        rows: list[dict[str, Any]] = json.loads(self.out)
        return rows


def test_the_bad_rollout_alerts_after_the_switch_and_not_before(secrets: SecretStore) -> None:
    switch = time.time() - BAD_ROLLOUT_AGO_S

    rows = Run([*DEMO, "--deployment", "support-chat", "--json"], secrets).rows()

    assert rows and all(set(row) == KEYS for row in rows)
    before = [r for r in rows if r["timestamp"] < switch - 1]
    assert before and {r["status"] for r in before} <= {"ok", "inconclusive"}
    # The first or second window after the switch holds mostly the new version.
    soon_after = [r for r in rows if switch - 1 < r["timestamp"] <= switch + 1200 + 1]
    assert len(soon_after) == 2
    assert "alert" in {r["status"] for r in soon_after}
    assert max(r["value"] for r in soon_after) > 0.25
    assert all(r["current_count"] >= 100 and r["baseline_count"] >= 100 for r in rows)
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    assert rows[-1]["timestamp"] <= time.time()


def test_doc_qa_canary_against_its_old_version_stays_below_warn(secrets: SecretStore) -> None:
    # The canary started CANARY_AGO_S (2 h) ago: a 2 h range aligned to 10 min steps can
    # reach back before it, so the range stays one hour inside the canary's life.
    assert CANARY_AGO_S >= 2 * 3600
    argv = [*DEMO, "--range", "1h", "--deployment", "doc-qa", "--baseline", "version:v7"]
    run = Run([*argv, "--json"], secrets)

    rows = run.rows()
    assert {r["status"] for r in rows} <= {"ok", "inconclusive"}
    assert sum(r["status"] == "ok" for r in rows) >= len(rows) - 1
    assert all(r["value"] is None or r["value"] < 0.1 for r in rows)


def test_every_other_demo_deployment_stays_below_warn(secrets: SecretStore) -> None:
    for deployment, signal in (
        ("doc-qa", "output_tokens"),
        ("code-assist", "latency"),
        ("search-rerank", "ttft"),
        ("search-rerank", "prompt_tokens"),
    ):
        argv = [*DEMO, "--deployment", deployment, "--signal", signal, "--json"]
        rows = Run(argv, secrets).rows()
        assert {r["status"] for r in rows} == {"ok"}, (deployment, signal)


def test_a_version_baseline_needs_two_serving_versions(secrets: SecretStore) -> None:
    run = Run([*DEMO, "--deployment", "support-chat", "--baseline", "version:v41"], secrets)

    assert run.status == 2
    assert "'support-chat' serves v42 now" in run.err


def test_an_unknown_deployment_is_a_usage_error(secrets: SecretStore) -> None:
    run = Run([*DEMO, "--deployment", "nope"], secrets)

    assert run.status == 2
    assert "unknown deployment 'nope'" in run.err and "support-chat" in run.err


@pytest.mark.parametrize(
    "extra",
    [
        ["--range", "2 hours"],
        ["--step", "0m"],
        ["--window", "-5m"],
        ["--baseline", "yesterday"],
        ["--baseline", "range:200/100"],
        ["--baseline", "range:2026-01-01T00:00"],
        ["--baseline", "version:"],
        ["--metric", "mse"],
    ],
)
def test_bad_arguments_exit_2(secrets: SecretStore, extra: list[str]) -> None:
    assert Run([*DEMO, "--deployment", "support-chat", *extra], secrets).status == 2


def test_a_backend_failure_exits_1_with_the_message(
    secrets: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(self: DriftService, *args: object, **kwargs: object) -> None:
        raise ConnectionFailed("connection refused by http://prom:9090")

    monkeypatch.setattr(DriftService, "series", refused)

    run = Run([*DEMO, "--deployment", "support-chat"], secrets)

    assert run.status == 1
    assert "connection refused by http://prom:9090" in run.err


def test_the_table_names_the_metric_baseline_and_statuses(secrets: SecretStore) -> None:
    run = Run([*DEMO, "--deployment", "support-chat", "--metric", "js"], secrets)

    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert "js against the previous window (warn 0.1, alert 0.2)" in lines[0]
    assert lines[1].split() == ["TIME", "(UTC)", "JS", "BASELINE", "N", "CURRENT", "N", "STATUS"]
    assert sum(line.endswith("alert") for line in lines[2:]) >= 1


def test_a_histogram_nobody_exports_says_so(secrets: SecretStore) -> None:
    run = Run([*DEMO, "--deployment", "fraud-scorer", "--json"], secrets)

    assert {r["status"] for r in run.rows()} == {"inconclusive"}
    assert all(r["value"] is None for r in run.rows())
    assert "no histogram 'output_tokens' for 'fraud-scorer'" in run.err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("10m", 600.0), ("24h", 86_400.0), ("7d", 604_800.0), ("2w", 1_209_600.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1y", "-1h", "0s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a positive duration"):
        duration(text)


def test_baselines() -> None:
    assert baseline("previous") == PreviousWindow()
    assert baseline("version:v7") == VersionBaseline("v7")
    assert baseline("range:1700000000/1700003600") == ReferenceRange(
        1_700_000_000.0, 1_700_003_600.0
    )
    assert baseline("range:2023-11-14T22:13:20/2023-11-14T23:13:20+00:00") == ReferenceRange(
        1_700_000_000.0, 1_700_003_600.0
    )


def test_the_profiles_drift_levels_and_minimum_apply(
    secrets: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    levels = DriftSetting("output_tokens", DriftMetric.PSI, DriftThresholds(warn=5.0, alert=9.0))
    lenient = dataclasses.replace(DEMO_PROFILE, drift=(levels,))
    monkeypatch.setattr(cli_common, "DEMO_PROFILE", lenient)
    rows = Run([*DEMO, "--deployment", "support-chat", "--json"], secrets).rows()
    # The bad rollout's PSI (above 0.25, an alert by default) is below these levels.
    assert max(r["value"] for r in rows) > 0.25
    assert {r["status"] for r in rows} == {"ok"}

    monkeypatch.setattr(
        cli_common, "DEMO_PROFILE", dataclasses.replace(lenient, drift_min_count=1e9)
    )
    rows = Run([*DEMO, "--deployment", "support-chat", "--json"], secrets).rows()
    assert {r["status"] for r in rows} == {"inconclusive"}  # no window holds 1e9 samples
