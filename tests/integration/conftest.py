"""Real servers on loopback for the integration tests, and a runner for the CLI.

Servers are started once per session (they are read-only for the tests) and always
stopped. A missing binary or a server that does not come up FAILS the tests that need it,
with the package to install or the tail of the server's log; failed tests also get the
logs of the servers they used.
"""

import os
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from tests.support.exporter import DeploymentSpec, Exporter
from tests.support.fault_proxy import FaultProxy
from tests.support.servers import (
    MetricsServer,
    MissingBinary,
    ServerFailed,
    ServerProcess,
    prometheus,
    victoria_metrics,
)

S = TypeVar("S", bound=ServerProcess)
T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_S = 60.0
HISTORY_S = 420.0
"""Backfilled history: more than the default 5-minute rate window."""

FLEET = (
    DeploymentSpec(
        name="chat-assistant",
        versions={"v7": 0.75, "v8": 0.25},
        request_rate=12.0,
        error_ratio=0.002,
        p95_latency_s=1.2,
        p95_ttft_s=0.3,
        output_tokens_per_s=600.0,
    ),
    DeploymentSpec(
        name="code-review",
        versions={"r3": 1.0},
        request_rate=4.0,
        error_ratio=0.02,
        p95_latency_s=1.8,
        p95_ttft_s=0.4,
        output_tokens_per_s=150.0,
    ),
    DeploymentSpec(
        name="batch-summarizer",
        versions={"s1": 1.0},
        request_rate=2.0,
        error_ratio=0.08,
        p95_latency_s=6.0,
        p95_ttft_s=1.8,
        output_tokens_per_s=80.0,
    ),
)
"""Three deployments whose figures are healthy, warning and alerting under default SLOs."""


class Cli(Protocol):
    """Runs ``python -m console ARGS`` (the same as ``sre-console ARGS``) in a subprocess."""

    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]: ...


def console_argv(*args: str) -> list[str]:
    """The command line of the console's CLI with this interpreter."""
    return [sys.executable, "-m", "console", *args]


@pytest.fixture
def cli() -> Cli:
    """The CLI in a subprocess, with this test's config and data dirs (os.environ)."""

    def run(
        *args: str, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            console_argv(*args),
            cwd=ROOT,
            input=input,
            env=dict(os.environ if env is None else env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )

    return run


def or_fail(build: Callable[[], T]) -> T:
    """``build()``; a missing binary or a server that failed fails the test loudly."""
    try:
        return build()
    except (MissingBinary, ServerFailed) as exc:
        failure = str(exc)
    pytest.fail(failure, pytrace=False)


def running(server: Callable[[], S]) -> Iterator[S]:
    """Start a server, yield it, and always stop it."""
    started = or_fail(server)
    or_fail(started.start)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def vllm_exporter() -> Iterator[Exporter]:
    """The exporter of FLEET, with HISTORY_S of counters behind it."""
    with Exporter(FLEET, history_s=HISTORY_S) as exporter:
        yield exporter


@pytest.fixture(scope="session")
def prometheus_server(
    tmp_path_factory: pytest.TempPathFactory, vllm_exporter: Exporter
) -> Iterator[MetricsServer]:
    """A real Prometheus scraping the exporter every second, backfilled with its history."""
    workdir = tmp_path_factory.mktemp("prometheus")
    yield from running(lambda: prometheus(workdir, vllm_exporter))


@pytest.fixture(scope="session")
def victoria_metrics_server(
    tmp_path_factory: pytest.TempPathFactory, vllm_exporter: Exporter
) -> Iterator[MetricsServer]:
    """A real single-node VictoriaMetrics scraping the exporter every second."""
    workdir = tmp_path_factory.mktemp("victoria-metrics")
    yield from running(lambda: victoria_metrics(workdir, vllm_exporter))


@pytest.fixture
def fault_proxy(prometheus_server: MetricsServer) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the session's Prometheus (pass-through at first)."""
    with FaultProxy(prometheus_server.url) as proxy:
        yield proxy


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the logs of the servers a failed test used to its report."""
    report: pytest.TestReport = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, ServerProcess):
                report.sections.append((f"{value.name} log", value.log_tail()))
    return report
