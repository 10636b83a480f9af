"""The detail service against a real Prometheus scraping two versions that serve at once.

``chat`` served v7 alone, then a v8 canary took 25 % of its traffic 3 minutes into the
backfilled history; ``summarizer`` is promoted from s1 to s2 during the test
(``Exporter.set_versions``). The exporter's figures are exact, so the version lines, the
change annotations and the canary table have known values; the tolerances only absorb
scrape timing and the 5-second backfilled samples.
"""

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from keyring.backends import fail

from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.annotations import Annotation, AnnotationKind
from console.domain.canary import Verdict
from console.domain.signals import Signal
from console.services.annotations import AnnotationStore
from console.services.connect import open_backend, open_detail
from console.services.detail import DetailService
from tests.integration.conftest import running
from tests.support.exporter import DeploymentSpec, Exporter
from tests.support.servers import MetricsServer, prometheus

pytestmark = pytest.mark.integration

HISTORY_S = 600.0
CANARY_AFTER_S = 180.0
"""When v8 started, in seconds after the start of the exporter's history."""
RANGE_S = 900.0
WIDTH_PX = 600
CHAT = DeploymentSpec(
    name="chat",
    versions={"v7": 1.0},
    request_rate=12.0,
    error_ratio=0.002,
    p95_latency_s=1.2,
    p95_ttft_s=0.3,
    output_tokens_per_s=600.0,
)
SUMMARIZER = DeploymentSpec(
    name="summarizer",
    versions={"s1": 1.0},
    request_rate=4.0,
    error_ratio=0.01,
    p95_latency_s=1.8,
    p95_ttft_s=0.4,
    output_tokens_per_s=150.0,
)
TIME_SLACK_S = 12.0
"""A change shows on the first step at or after the first sample that has it."""


@dataclass(frozen=True)
class Live:
    """The Prometheus scraping the exporter, the exporter, and when v8 started."""

    server: MetricsServer
    exporter: Exporter
    canary_at: float


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    pinned: list[float] = []
    exporter = Exporter(
        [CHAT, SUMMARIZER],
        history_s=HISTORY_S,
        clock=lambda: pinned[0] if pinned else time.time(),
    )
    # The canary starts inside the history that Prometheus is backfilled with.
    pinned.append(exporter.started_at + CANARY_AFTER_S)
    canary_at = exporter.set_versions("chat", {"v7": 0.75, "v8": 0.25})
    pinned.clear()
    with exporter:
        workdir = tmp_path_factory.mktemp("prometheus-detail")
        for server in running(lambda: prometheus(workdir, exporter)):
            yield Live(server, exporter, canary_at)


def detail_service(live: Live, **overrides: float) -> DetailService:
    profile = Profile(
        "local",
        live.server.url,
        preset="vllm",
        scrape_interval_s=1.0,
        **overrides,  # type: ignore[arg-type]
    )
    backend = open_backend(profile, SecretStore(fail.Keyring()))
    return open_detail(profile, backend, AnnotationStore())


async def using(service: DetailService, *calls):  # type: ignore[no-untyped-def]
    try:
        return [await call(service) for call in calls]
    finally:
        await service.backend.aclose()


def test_each_version_has_its_own_line_with_its_figures(live: Live) -> None:
    rate, p95 = asyncio.run(
        using(
            detail_service(live),
            lambda s: s.chart("chat", Signal.REQUEST_RATE.value, RANGE_S, WIDTH_PX),
            lambda s: s.chart("chat", Signal.P95_LATENCY.value, RANGE_S, WIDTH_PX),
        )
    )
    assert rate.error is None and p95.error is None
    assert set(rate.lines) == {"v7", "v8"}
    last = {version: values[np.isfinite(values)][-1] for version, (_, values) in rate.lines.items()}
    assert last == pytest.approx({"v7": 9.0, "v8": 3.0}, rel=0.1)
    times, v8 = rate.lines["v8"]
    assert times[np.isfinite(v8)].min() >= live.canary_at - TIME_SLACK_S
    v7_times, v7 = rate.lines["v7"]
    assert v7_times[np.isfinite(v7)].min() < live.canary_at - 60
    for _, values in p95.lines.values():
        assert values[np.isfinite(values)][-1] == pytest.approx(1.2, rel=0.05)


def test_the_version_change_is_annotated_where_it_happened(live: Live) -> None:
    store_mark_text = "rollback drill"
    service = detail_service(live)
    service.annotation_store.add(
        Annotation(time.time() - 60, AnnotationKind.NOTE, store_mark_text, deployment="chat")
    )
    [marks] = asyncio.run(using(service, lambda s: s.annotations("chat", RANGE_S, WIDTH_PX)))
    changes = [m for m in marks if m.kind is AnnotationKind.VERSION_CHANGE]
    assert [m.text for m in changes] == ["v8 started (with v7)"]
    assert changes[0].version == "v8"
    assert changes[0].at == pytest.approx(live.canary_at, abs=TIME_SLACK_S)
    assert [m.text for m in marks if m.kind is AnnotationKind.NOTE] == [store_mark_text]


def test_the_canary_table_compares_v8_with_v7(live: Live) -> None:
    [table] = asyncio.run(using(detail_service(live), lambda s: s.canary("chat")))
    assert table is not None
    assert (table.stable_version, table.canary_versions) == ("v7", ("v8",))
    assert table.shares == pytest.approx({"v7": 0.75, "v8": 0.25}, abs=0.03)
    rows = {row.signal: row for row in table.rows}
    assert (rows[Signal.REQUEST_RATE].stable, rows[Signal.REQUEST_RATE].canary) == pytest.approx(
        (9.0, 3.0), rel=0.1
    )
    assert rows[Signal.REQUEST_RATE].verdict is Verdict.NOT_JUDGED
    for signal, figure in (
        (Signal.ERROR_RATIO, 0.002),
        (Signal.P95_LATENCY, 1.2),
        (Signal.P95_TTFT, 0.3),
        (Signal.P95_ITL, 0.04),
    ):
        row = rows[signal]
        assert (row.stable, row.canary) == pytest.approx((figure, figure), rel=0.1), signal
    for signal in (Signal.P50_LATENCY, Signal.P99_LATENCY):
        assert rows[signal].stable is not None
    judged = {row.verdict for row in table.rows if row.signal is not Signal.REQUEST_RATE}
    assert judged == {Verdict.SAME}


def test_too_little_canary_traffic_is_inconclusive(live: Live) -> None:
    # v8 serves 3 req/s: 900 requests in the 5-minute window, v7 2,700.
    service = detail_service(live, canary_min_requests=1500.0)
    [table] = asyncio.run(using(service, lambda s: s.canary("chat")))
    assert table is not None
    assert {row.verdict for row in table.rows} == {Verdict.INCONCLUSIVE}
    assert "the canary v8 served" in table.rows[0].reason
    assert "the stable v7" not in table.rows[0].reason


def test_a_runtime_promotion_is_annotated(live: Live) -> None:
    promoted_at = live.exporter.set_versions("summarizer", {"s2": 1.0})
    deadline = time.monotonic() + 30
    changes: list[str] = []
    while time.monotonic() < deadline:
        [marks] = asyncio.run(
            using(detail_service(live), lambda s: s.annotations("summarizer", 300.0, 300))
        )
        changes = [m.text for m in marks if m.kind is AnnotationKind.VERSION_CHANGE]
        if changes:
            break
        time.sleep(0.5)
    assert changes == ["s1 → s2"]
    assert marks[-1].at == pytest.approx(promoted_at, abs=TIME_SLACK_S)
