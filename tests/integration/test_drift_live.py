"""`sre-console drift` against a real Prometheus fed a histogram that changes at a known time.

The exporter's output-length histogram moves from one known distribution to another half
way through a 5-minute window, and promtool backfills the history, so every step's PSI
against the previous window has an exact expected value: the PSI of two known mixtures.
The tolerance only absorbs increase()'s extrapolation over 5-second backfilled samples.
"""

import asyncio
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from keyring.backends import fail

from console.backends.errors import BadQuery
from console.backends.protocol import MetricsBackend
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.histograms import HistogramSeries
from console.domain.series import SeriesKey
from console.domain.timerange import RangePlan
from console.services.connect import open_backend
from tests.integration.conftest import Cli, running
from tests.support.exporter import DeploymentSpec, DriftSpec, Exporter
from tests.support.servers import MetricsServer, prometheus

pytestmark = pytest.mark.integration

STEP_S = 300.0
HISTORY_S = 45 * 60.0
"""Covers the 30-minute range, plus the baseline window of its first step."""
BOUNDS = (50.0, 100.0, 200.0, 500.0, 1000.0)
BEFORE = (0.1, 0.3, 0.3, 0.2, 0.05, 0.05)
AFTER = (0.01, 0.04, 0.1, 0.25, 0.35, 0.25)
EPSILON = 1e-4


@dataclass(frozen=True)
class Drifting:
    """The Prometheus that scrapes the drifting exporter, and when the distribution moved."""

    server: MetricsServer
    change_at: float


@pytest.fixture(scope="module")
def drifting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drifting]:
    now = time.time()
    # Half way through the window that ends two whole steps before the current one.
    change_at = math.floor(now / STEP_S) * STEP_S - 2.5 * STEP_S
    spec = DeploymentSpec(
        name="drifting",
        versions={"d1": 1.0},
        request_rate=20.0,
        error_ratio=0.001,
        p95_latency_s=1.2,
        p95_ttft_s=0.3,
        output_tokens_per_s=300.0,
        drift=DriftSpec(BOUNDS, BEFORE, AFTER, change_after_s=change_at - (now - HISTORY_S)),
    )
    with Exporter([spec], history_s=HISTORY_S, clock=lambda: time.time()) as exporter:
        assert spec.drift is not None
        actual_change = exporter.started_at + spec.drift.change_after_s
        workdir = tmp_path_factory.mktemp("prometheus-drift")
        for server in running(lambda: prometheus(workdir, exporter)):
            yield Drifting(server, actual_change)


def mixture(share_after: float) -> np.ndarray:
    return (1 - share_after) * np.array(BEFORE) + share_after * np.array(AFTER)


def psi(p: np.ndarray, q: np.ndarray) -> float:
    """PSI from its definition, with the same epsilon smoothing of empty buckets."""
    p = (p + EPSILON) / (1 + p.size * EPSILON)
    q = (q + EPSILON) / (1 + q.size * EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def share_after(window_end: float, change_at: float) -> float:
    return min(max((window_end - change_at) / STEP_S, 0.0), 1.0)


def test_drift_values_and_status_flip_match_the_known_distributions(
    cli: Cli, drifting: Drifting
) -> None:
    added = cli("profile", "add", "local", "--prometheus", drifting.server.url, "--preset", "vllm")
    assert added.returncode == 0, added.stderr

    run = cli(
        "drift",
        "--profile", "local",
        "--deployment", "drifting",
        "--signal", "output_tokens",
        "--range", "30m",
        "--step", "5m",
        "--json",
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert len(rows) >= 6
    change = drifting.change_at
    for row in rows:
        t = row["timestamp"]
        expected = psi(mixture(share_after(t - STEP_S, change)), mixture(share_after(t, change)))
        assert row["value"] == pytest.approx(expected, rel=0.1, abs=0.01), row
        assert row["current_count"] == pytest.approx(20.0 * STEP_S, rel=0.05), row
    # The first window holding the new distribution alerts; every window before it is ok.
    first_after = math.ceil(change / STEP_S) * STEP_S
    statuses = {row["timestamp"]: row["status"] for row in rows}
    assert statuses[first_after] == "alert"
    assert statuses[first_after + STEP_S] == "alert"  # baseline still half old
    assert {s for t, s in statuses.items() if t < first_after} == {"ok"}
    assert {s for t, s in statuses.items() if t > first_after + STEP_S} == {"ok"}


def test_a_raw_histogram_name_gives_the_same_series(cli: Cli, drifting: Drifting) -> None:
    assert cli("profile", "add", "raw", "--prometheus", drifting.server.url).returncode == 0
    common = ["--profile", "raw", "--deployment", "drifting", "--range", "20m", "--step", "5m"]

    preset = cli("drift", *common, "--signal", "output_tokens", "--json")
    raw = cli("drift", *common, "--signal", "vllm:request_generation_tokens_bucket", "--json")

    assert preset.returncode == raw.returncode == 0, preset.stderr + raw.stderr
    by_preset = {row["timestamp"]: row for row in json.loads(preset.stdout)}
    by_raw = {row["timestamp"]: row for row in json.loads(raw.stdout)}
    common_steps = by_preset.keys() & by_raw.keys()  # a step boundary may pass between runs
    assert len(common_steps) >= 3
    assert all(by_raw[t] == by_preset[t] for t in common_steps)


def backend_of(server: MetricsServer) -> MetricsBackend:
    profile = Profile(name="direct", prometheus_url=server.url, preset="vllm")
    return open_backend(profile, SecretStore(fail.Keyring()))


def test_the_backend_converts_cumulative_buckets_per_version(drifting: Drifting) -> None:
    end = math.floor(time.time() / STEP_S) * STEP_S
    plan = RangePlan(end - 2 * STEP_S, end, STEP_S)

    async def fetch() -> tuple[dict[SeriesKey, HistogramSeries], ...]:
        backend = backend_of(drifting.server)
        try:
            return (
                await backend.histogram_range(
                    "output_tokens", plan, STEP_S, deployment="drifting", by_version=True
                ),
                await backend.histogram_range(
                    "output_tokens", plan, STEP_S, deployment='no "such" \\ deployment'
                ),
            )
        finally:
            await backend.aclose()

    by_version, nothing = asyncio.run(fetch())

    assert nothing == {}
    [(key, series)] = by_version.items()
    assert key == SeriesKey("drifting", "d1")
    assert series.bounds.tolist() == [*BOUNDS, math.inf]
    assert series.timestamps.tolist() == [end - 2 * STEP_S, end - STEP_S, end]
    newest = series.counts[-1]
    assert newest / newest.sum() == pytest.approx(np.array(AFTER), abs=0.01)


def test_the_backend_refuses_more_than_11000_points(drifting: Drifting) -> None:
    plan = RangePlan(0.0, 11_000.0, 1.0)

    async def fetch() -> None:
        backend = backend_of(drifting.server)
        try:
            await backend.histogram_range("output_tokens", plan, 60.0, deployment="drifting")
        finally:
            await backend.aclose()

    with pytest.raises(BadQuery, match="11001 points"):
        asyncio.run(fetch())
