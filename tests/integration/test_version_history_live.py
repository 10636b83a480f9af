"""Version history from a real Prometheus while the exporter changes versions at runtime.

``chat`` serves v1 alone; the test starts a v2 canary (``Exporter.set_versions``), waits
until Prometheus has scraped it, then promotes v2. The version history, the change
annotations derived from it and the per-version request rates must show each change at
the time it happened, with the exporter's exact traffic split.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pytest
from keyring.backends import fail

from console.backends.protocol import MetricsBackend
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.annotations import AnnotationKind, version_changes
from console.domain.series import Series, SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import RangePlan, TimeRange, plan_range
from console.services.connect import open_backend
from tests.integration.conftest import running
from tests.support.exporter import DeploymentSpec, Exporter
from tests.support.servers import MetricsServer, prometheus

pytestmark = pytest.mark.integration

T = TypeVar("T")
CHAT = DeploymentSpec(
    name="chat",
    versions={"v1": 1.0},
    request_rate=10.0,
    error_ratio=0.001,
    p95_latency_s=1.2,
    p95_ttft_s=0.3,
    output_tokens_per_s=500.0,
)
HISTORY_S = 120.0
SCRAPE_INTERVAL_S = 1.0
RATE_WINDOW_S = 5.0
"""Five scrapes: short, so that a window soon lies wholly after a change."""
WAIT_S = 30.0
POLL_S = 0.25
SLACK_S = 3.0
"""A change shows on the first whole-second step at or after the first scrape that has it;
a scrape that started just before the change but read the page after it shows it earlier."""


@dataclass(frozen=True)
class Live:
    """The exporter of ``chat`` and the Prometheus scraping it every second."""

    exporter: Exporter
    server: MetricsServer


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with Exporter([CHAT], history_s=HISTORY_S) as exporter:
        workdir = tmp_path_factory.mktemp("prometheus-versions")
        for server in running(lambda: prometheus(workdir, exporter)):
            yield Live(exporter, server)


def ask(live: Live, question: Callable[[MetricsBackend], Awaitable[T]]) -> T:
    """``question(backend)`` on a fresh backend for the live Prometheus."""

    async def main() -> T:
        profile = Profile(
            "local", live.server.url, preset="vllm", scrape_interval_s=SCRAPE_INTERVAL_S
        )
        backend = open_backend(profile, SecretStore(fail.Keyring()))
        try:
            return await question(backend)
        finally:
            await backend.aclose()

    return asyncio.run(main())


def recent_plan(since: float) -> RangePlan:
    """One-second steps from ``since`` to now."""
    return plan_range(TimeRange(since, time.time()), 10_000, SCRAPE_INTERVAL_S)


def history_once(live: Live, plan: RangePlan) -> dict[str, Series]:
    return ask(live, lambda backend: backend.version_history(plan, deployment="chat"))


def history_until(
    live: Live, since: float, done: Callable[[dict[str, Series]], bool]
) -> tuple[RangePlan, dict[str, Series]]:
    """Poll the version history from ``since`` until ``done`` holds (or fail after WAIT_S)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        plan = recent_plan(since)
        history = history_once(live, plan)
        if done(history):
            return plan, history
        if time.monotonic() > deadline:
            pytest.fail(f"the version history never got there: {summary(history)}")
        time.sleep(POLL_S)


def summary(history: dict[str, Series]) -> dict[str, list[float]]:
    """Each version's serving steps, for failure messages."""
    return {v: s.timestamps[s.values == 1].tolist()[-5:] for v, s in history.items()}


def serving_now(*versions: str) -> Callable[[dict[str, Series]], bool]:
    """Whether exactly ``versions`` serve at the newest step that has data."""

    def check(history: dict[str, Series]) -> bool:
        if not history:
            return False
        newest = max(int(np.flatnonzero(np.isfinite(s.values)).max()) for s in history.values())
        return {v for v, s in history.items() if s.values[newest] == 1} == set(versions)

    return check


def first_step(series: Series) -> float:
    return float(series.timestamps[np.isfinite(series.values)].min())


def test_a_canary_then_a_promotion_show_in_the_history_annotations_and_lines(live: Live) -> None:
    start = time.time() - 30.0
    plan, before = history_until(live, start, serving_now("v1"))
    assert plan.step == SCRAPE_INTERVAL_S
    assert set(before) == {"v1"}
    assert np.all(before["v1"].values == 1)  # v1 served at every step

    canary_at = live.exporter.set_versions("chat", {"v1": 0.8, "v2": 0.2})
    _, history = history_until(live, start, serving_now("v1", "v2"))

    assert set(history) == {"v1", "v2"}
    assert canary_at - SLACK_S <= first_step(history["v2"]) <= canary_at + SLACK_S
    [canary] = version_changes("chat", history)
    assert canary.kind is AnnotationKind.VERSION_CHANGE
    assert (canary.text, canary.version, canary.deployment) == (
        "v2 started (with v1)",
        "v2",
        "chat",
    )
    assert canary.at == first_step(history["v2"])

    # One line per version, with the exporter's split once a whole window lies after the
    # change. The newest steps are left out: their window is not wholly scraped yet.
    while time.time() < canary_at + 2 * RATE_WINDOW_S:
        time.sleep(POLL_S)
    scraped = plan_range(TimeRange(start, time.time() - 2 * SCRAPE_INTERVAL_S), 10_000, 1.0)
    rates = ask(
        live,
        lambda backend: backend.range(
            Signal.REQUEST_RATE, scraped, RATE_WINDOW_S, by_version=True, deployment="chat"
        ),
    )
    assert set(rates) == {SeriesKey("chat", "v1"), SeriesKey("chat", "v2")}
    newest = {key.version: series.values[-1] for key, series in rates.items()}
    assert newest == pytest.approx({"v1": 8.0, "v2": 2.0}, rel=0.1)
    assert newest["v1"] / newest["v2"] == pytest.approx(4.0, rel=0.02)
    assert first_step(rates[SeriesKey("chat", "v2")]) >= canary_at - SLACK_S

    promoted_at = live.exporter.set_versions("chat", {"v2": 1.0})
    _, promoted = history_until(live, start, serving_now("v2"))

    v1_last = float(promoted["v1"].timestamps[promoted["v1"].values == 1].max())
    assert promoted_at - SLACK_S <= v1_last <= promoted_at + SLACK_S
    marks = version_changes("chat", promoted)
    assert [m.text for m in marks] == ["v2 started (with v1)", "v1 stopped (v2 serves)"]
    assert marks[0].at == canary.at
    assert promoted_at - SLACK_S <= marks[1].at <= promoted_at + SLACK_S
