"""Step planning: never over Prometheus's 11,000-point limit, aligned to the step."""

import pytest

from console.domain.timerange import MAX_POINTS_PER_SERIES, TimeRange, plan_range

NOW = 1_764_000_000.0


@pytest.mark.parametrize("range_s", [300, 3600, 6 * 3600, 86_400, 7 * 86_400, 90 * 86_400])
@pytest.mark.parametrize("width_px", [1, 120, 1920, 100_000])
@pytest.mark.parametrize("scrape_s", [0.5, 15.0])
def test_plan_never_exceeds_the_point_limit(range_s: int, width_px: int, scrape_s: float) -> None:
    plan = plan_range(TimeRange.last(range_s, NOW + 0.37), width_px, scrape_s)
    assert plan.points <= MAX_POINTS_PER_SERIES
    assert plan.start <= NOW + 0.37 - range_s and plan.end >= NOW + 0.37
    assert plan.start % plan.step == pytest.approx(0, abs=1e-6)
    assert plan.end % plan.step == pytest.approx(0, abs=1e-6)


def test_step_is_the_largest_of_width_scrape_and_limit() -> None:
    assert plan_range(TimeRange.last(3600, NOW), 120, 15).step == 30
    assert plan_range(TimeRange.last(3600, NOW), 1000, 15).step == 15
    assert plan_range(TimeRange.last(90 * 86_400, NOW), 100_000, 1).step == 708


def test_invalid_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid time range"):
        TimeRange(10, 10)
    with pytest.raises(ValueError, match="width_px"):
        plan_range(TimeRange(0, 10), 0, 1)
