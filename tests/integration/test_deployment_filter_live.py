"""One deployment's range is filtered by the server itself, on Prometheus and VictoriaMetrics.

The filter is plain PromQL (``and on (label) label_replace(vector(1), …)``), so both engines
must accept it and return exactly the asked deployment's rows, per version.
"""

import asyncio
import time

import pytest

from console.backends.protocol import MetricsBackend
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.series import SeriesKey
from console.domain.signals import Signal
from console.domain.timerange import TimeRange, plan_range
from console.services.connect import open_backend
from tests.integration.conftest import FLEET
from tests.support.servers import MetricsServer

READY_WITHIN_S = 90.0
"""VictoriaMetrics answers ranges only for data older than its 30 s latency offset."""
POLL_S = 1.0


async def rates(backend: MetricsBackend, deployment: str | None) -> set[SeriesKey]:
    plan = plan_range(TimeRange.last(600, time.time()), 300, backend.scrape_interval_s)
    found = await backend.range(
        Signal.REQUEST_RATE, plan, 60, by_version=True, deployment=deployment
    )
    return set(found)


@pytest.mark.parametrize("engine", ["prometheus_server", "victoria_metrics_server"])
def test_a_deployment_filtered_range_returns_only_its_versions(
    engine: str, request: pytest.FixtureRequest, secrets: SecretStore
) -> None:
    server: MetricsServer = request.getfixturevalue(engine)
    backend = open_backend(Profile("live", server.url, scrape_interval_s=1.0), secrets)

    async def both() -> tuple[set[SeriesKey], set[SeriesKey]]:
        try:
            deadline = time.monotonic() + READY_WITHIN_S
            every = await rates(backend, None)
            while len({k.deployment for k in every}) < len(FLEET):
                assert time.monotonic() < deadline, f"{engine} has no ranges yet: {every}"
                await asyncio.sleep(POLL_S)
                every = await rates(backend, None)
            return await rates(backend, "chat-assistant"), every
        finally:
            await backend.aclose()

    one, every = asyncio.run(both())
    chat = next(spec for spec in FLEET if spec.name == "chat-assistant")
    assert one == {SeriesKey("chat-assistant", v) for v in chat.versions}
    assert {k for k in every if k.deployment == "chat-assistant"} == one
