"""The CLI against a real Prometheus and a real VictoriaMetrics scraping a vLLM-style exporter.

The exporter's counters grow at known rates, so every figure `fleet --json` prints has an
exact expected value; the tolerance only absorbs scrape timing.
"""

import json
from typing import Any

import httpx
import pytest

from console.domain.slo import SloThresholds
from tests.integration.conftest import FLEET, Cli
from tests.support.exporter import DeploymentSpec
from tests.support.servers import MetricsServer

pytestmark = pytest.mark.integration

REL = 0.1
FIGURES = ("request_rate", "error_ratio", "p95_latency_s", "p95_ttft_s", "output_tokens_per_s")


def expected_status(spec: DeploymentSpec) -> str:
    """The status the default SLO thresholds give the exporter's figures."""
    return (
        SloThresholds()
        .evaluate(
            request_rate=spec.request_rate,
            error_ratio=spec.error_ratio,
            p95_latency_s=spec.p95_latency_s,
            p95_ttft_s=spec.p95_ttft_s,
        )
        .value
    )


def test_the_exporter_fleet_covers_every_status() -> None:
    assert {expected_status(spec) for spec in FLEET} == {"ok", "warn", "alert"}


def assert_fleet_matches_exporter(rows: list[dict[str, Any]]) -> None:
    assert sorted(r["deployment"] for r in rows) == sorted(s.name for s in FLEET)
    by_name = {r["deployment"]: r for r in rows}
    for spec in FLEET:
        row = by_name[spec.name]
        assert row["error"] is None, row
        for figure in FIGURES:
            assert row[figure] == pytest.approx(getattr(spec, figure), rel=REL), (figure, row)
        shares = sorted(spec.versions.items(), key=lambda kv: -kv[1])
        assert [v["version"] for v in row["versions"]] == [name for name, _ in shares], row
        assert [v["traffic_share"] for v in row["versions"]] == pytest.approx(
            [share for _, share in shares], abs=0.03
        ), row
        assert row["status"] == expected_status(spec), row


@pytest.mark.parametrize("server_fixture", ["prometheus_server", "victoria_metrics_server"])
@pytest.mark.parametrize("preset", ["vllm", None], ids=["preset-vllm", "auto-detected"])
def test_fleet_json_shows_the_exporters_figures(
    request: pytest.FixtureRequest, cli: Cli, server_fixture: str, preset: str | None
) -> None:
    server: MetricsServer = request.getfixturevalue(server_fixture)
    preset_args = ["--preset", preset] if preset else []
    added = cli("profile", "add", "local", "--prometheus", server.url, *preset_args)
    assert added.returncode == 0, added.stderr

    fleet = cli("fleet", "--profile", "local", "--json")

    assert fleet.returncode == 0, fleet.stderr
    assert_fleet_matches_exporter(json.loads(fleet.stdout))
    if preset is None:
        assert "auto-detected vllm" in fleet.stderr


def test_check_prints_the_prometheus_version(cli: Cli, prometheus_server: MetricsServer) -> None:
    version = httpx.get(f"{prometheus_server.url}/api/v1/status/buildinfo").json()["data"][
        "version"
    ]
    assert cli("profile", "add", "local", "--prometheus", prometheus_server.url).returncode == 0

    check = cli("check", "--profile", "local")

    assert check.returncode == 0, check.stdout + check.stderr
    assert f"Prometheus {version}" in check.stdout


def test_check_names_victoria_metrics(cli: Cli, victoria_metrics_server: MetricsServer) -> None:
    url = victoria_metrics_server.url
    assert cli("profile", "add", "vm", "--prometheus", url).returncode == 0

    check = cli("check", "--profile", "vm")

    assert check.returncode == 0, check.stdout + check.stderr
    assert "VictoriaMetrics" in check.stdout
