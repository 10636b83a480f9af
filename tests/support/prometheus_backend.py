"""A PrometheusBackend as the tests build it: model_info and deployment/version labels."""

import time
from collections.abc import Callable

from console.backends._http import HttpJsonClient
from console.backends.prometheus import PrometheusBackend


def labelled_backend(
    http: HttpJsonClient,
    *,
    name: str = "test",
    preset: str | None = "vllm",
    overrides: dict[str, str] | None = None,
    scrape_interval_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> PrometheusBackend:
    """A backend over ``http`` reading the exporters' ``model_info`` and their labels."""
    return PrometheusBackend(
        http,
        name=name,
        preset=preset,
        overrides=overrides or {},
        info_metric="model_info",
        deployment_label="deployment",
        version_label="version",
        scrape_interval_s=scrape_interval_s,
        clock=clock,
        wall_clock=wall_clock,
    )
