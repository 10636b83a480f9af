"""SLO status, traffic shares and the JSON shape of a deployment."""

import math

import numpy as np
import pytest

from console.domain.fleet import DeploymentReading, VersionShare, traffic_shares
from console.domain.series import Series, SeriesKey, known
from console.domain.slo import SloThresholds, Status, Threshold

SLO = SloThresholds()


def evaluate(**overrides: float | None) -> Status:
    figures: dict[str, float | None] = {
        "request_rate": 5.0,
        "error_ratio": 0.001,
        "p95_latency_s": 1.0,
        "p95_ttft_s": 0.2,
    }
    figures.update(overrides)
    return SLO.evaluate(**figures)  # type: ignore[arg-type]


def test_status_is_the_worst_breach() -> None:
    assert evaluate() is Status.OK
    assert evaluate(p95_latency_s=2.5) is Status.WARN
    assert evaluate(p95_latency_s=2.5, error_ratio=0.2) is Status.ALERT
    assert evaluate(request_rate=None, error_ratio=0.2) is Status.ALERT


def test_no_data_is_never_healthy() -> None:
    assert evaluate(error_ratio=None, p95_latency_s=None, p95_ttft_s=None) is Status.NO_DATA
    assert evaluate(request_rate=None) is Status.NO_DATA
    assert evaluate(request_rate=0.0) is Status.NO_DATA


def test_threshold_rejects_alert_below_warn() -> None:
    with pytest.raises(ValueError, match="below warn"):
        Threshold(warn=2, alert=1)


def test_known_maps_nan_and_inf_to_none() -> None:
    assert known(math.nan) is None
    assert known(math.inf) is None
    assert known(0.0) == 0.0


def test_traffic_shares_sorted_and_normalised() -> None:
    shares = traffic_shares(("v1", "v2", "v3"), {"v1": 1.0, "v2": 3.0, "v4": None})
    assert shares == (
        VersionShare("v2", 0.75),
        VersionShare("v1", 0.25),
        VersionShare("v3", 0.0),
        VersionShare("v4", 0.0),
    )


def test_traffic_shares_unknown_without_traffic() -> None:
    assert traffic_shares(("v1",), {"v1": 0.0}) == (VersionShare("v1", None),)
    assert traffic_shares(("v1",), {}) == (VersionShare("v1", None),)


def test_series_last_value_skips_gaps() -> None:
    series = Series(SeriesKey("a"), np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, math.nan]))
    assert series.last_value() == 5.0
    with pytest.raises(ValueError, match="2 timestamps but 3 values"):
        Series(SeriesKey("a"), np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0]))


def test_reading_json_has_the_documented_keys() -> None:
    reading = DeploymentReading(
        deployment="d",
        engine="vllm",
        versions=(VersionShare("v1", 1.0),),
        request_rate=1.0,
        error_ratio=None,
        p95_latency_s=None,
        p95_ttft_s=None,
        output_tokens_per_s=None,
        status=Status.NO_DATA,
    )
    assert reading.to_json() == {
        "deployment": "d",
        "versions": [{"version": "v1", "traffic_share": 1.0}],
        "request_rate": 1.0,
        "error_ratio": None,
        "p95_latency_s": None,
        "p95_ttft_s": None,
        "output_tokens_per_s": None,
        "status": "no_data",
        "error": None,
    }
