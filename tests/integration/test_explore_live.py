"""Explore against the session's real Prometheus scraping the exporter's FLEET.

Completion reads the real /api/v1/metadata, /api/v1/labels and /api/v1/label/NAME/values;
runs go through run_range with the planned step, and Prometheus's own error text comes back.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import numpy as np
import pytest
from keyring.backends import fail
from pytestqt.qtbot import QtBot

from console.backends.errors import BadQuery
from console.backends.protocol import MetricsBackend
from console.config.query_history import QueryHistory
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.promql_completion import CandidateKind
from console.domain.timerange import TimeRange
from console.qtbridge.runner import AsyncRunner
from console.services.connect import open_backend
from console.services.explore import ExploreService
from console.ui.explore_view import ExploreView
from console.viewmodels.explore import ExploreViewModel
from tests.integration.conftest import FLEET
from tests.support.servers import MetricsServer

pytestmark = pytest.mark.integration

T = TypeVar("T")
TOKENS = "vllm:generation_tokens_total"
CHAT = FLEET[0]
RATE_QUERY = f'sum by (version) (rate({TOKENS}{{deployment="{CHAT.name}"}}[1m]))'


def live_backend(server: MetricsServer) -> MetricsBackend:
    profile = Profile("local", server.url, preset="vllm", scrape_interval_s=1.0)
    return open_backend(profile, SecretStore(fail.Keyring()))


def run(server: MetricsServer, call: Callable[[ExploreService], Awaitable[T]]) -> T:
    """``call(service)`` on a fresh backend, closing its HTTP client afterwards."""
    backend = live_backend(server)

    async def using() -> T:
        try:
            return await call(ExploreService(backend))
        finally:
            await backend.aclose()

    return asyncio.run(using())


def completed(server: MetricsServer, text: str) -> dict[str, str]:
    """The candidates at the end of ``text``: name -> detail."""
    completion = run(server, lambda s: s.complete(text, len(text)))
    return {c.text: c.detail for c in completion.candidates}


def test_metric_names_come_with_type_and_help_from_metadata(
    prometheus_server: MetricsServer,
) -> None:
    completion = run(prometheus_server, lambda s: s.complete("vllm:gen", 8))
    first = completion.candidates[0]
    assert (first.text, first.kind) == (TOKENS, CandidateKind.METRIC)
    assert first.detail == "counter — Generated tokens."
    names = completed(prometheus_server, "vllm:e2e")
    assert names["vllm:e2e_request_latency_seconds_bucket"].startswith("histogram")


def test_label_names_of_a_metric(prometheus_server: MetricsServer) -> None:
    names = completed(prometheus_server, TOKENS + "{")
    assert {"deployment", "model_name", "version", "job", "instance"} <= set(names)
    assert "le" not in names  # only the histograms' series have it
    assert "le" in completed(prometheus_server, "sum by (")


def test_label_values_narrowed_by_the_selector(prometheus_server: MetricsServer) -> None:
    deployments = completed(prometheus_server, TOKENS + '{deployment="')
    assert set(deployments) == {spec.name for spec in FLEET}
    versions = completed(prometheus_server, f'{TOKENS}{{deployment="{CHAT.name}", version="')
    assert set(versions) == set(CHAT.versions)


def test_run_range_plans_the_step_and_returns_one_series_per_version(
    prometheus_server: MetricsServer,
) -> None:
    rng = TimeRange.last(300.0, time.time())
    result = run(prometheus_server, lambda s: s.run_range(RATE_QUERY, rng, 150))
    assert result.plan.step == 2.0  # 300 s over 150 px, above the 1 s scrape interval
    by_version = {s.labels["version"]: s.values for s in result.series}
    assert set(by_version) == set(CHAT.versions)
    for version, share in CHAT.versions.items():
        values = by_version[version]
        # The median of the last ten steps: one late scrape on a busy machine bends a
        # single point, not the rate the exporter keeps.
        recent = float(np.median(values[np.isfinite(values)][-10:]))
        assert math.isclose(recent, CHAT.output_tokens_per_s * share, rel_tol=0.05)


@pytest.mark.parametrize(("seconds", "width_px"), [(300.0, 1), (90 * 86400.0, 100_000)])
def test_no_range_exceeds_the_maximum_resolution(
    prometheus_server: MetricsServer, seconds: float, width_px: int
) -> None:
    rng = TimeRange.last(seconds, time.time())
    result = run(prometheus_server, lambda s: s.run_range("up", rng, width_px))
    assert result.plan.points <= 11_000


def test_prometheus_error_text_comes_back_as_it_is(prometheus_server: MetricsServer) -> None:
    with pytest.raises(BadQuery) as raised:
        run(prometheus_server, lambda s: s.run_instant("sum(rate(up[5m])"))
    assert "parse error" in raised.value.message
    assert "unclosed left parenthesis" in raised.value.message


@pytest.fixture
def explore_view(qtbot: QtBot, prometheus_server: MetricsServer) -> Iterator[ExploreView]:
    runner = AsyncRunner()
    backend = live_backend(prometheus_server)
    vm = ExploreViewModel(runner, ExploreService(backend), QueryHistory.for_profile("local"))
    view = ExploreView(vm)
    qtbot.addWidget(view)
    view.resize(900, 600)
    try:
        yield view
    finally:
        vm.close()
        runner.submit(backend.aclose()).result(5)
        runner.stop()


def test_the_view_shows_the_step_and_the_series(qtbot: QtBot, explore_view: ExploreView) -> None:
    explore_view.range_box.setCurrentIndex(explore_view.range_box.findData(300.0))
    explore_view.editor.set_text(RATE_QUERY)
    with qtbot.waitSignal(explore_view.viewmodel.resultChanged, timeout=10_000):
        explore_view.run_button.click()
    assert explore_view.status.text().startswith("step 1s · 2 series · query ")
    assert set(explore_view.chart.lines()) == {
        f'{{version="{version}"}}' for version in CHAT.versions
    }
    assert explore_view.table.model().rowCount() == 2
