"""Live data of pinned dashboard panels: the RefreshEngine query of each kind of panel."""

import time

from console.config.settings import PanelKind, PinnedPanel
from console.domain.timerange import TimeRange
from console.services.detail import CHARTS_BY_ID, ChartData, DetailService
from console.services.explore import ExploreService
from console.viewmodels.detail import annotations_query, chart_query, width_bucket
from console.viewmodels.refresh import Query

MAX_PINNED_SERIES = 200
"""A pinned Explore query draws at most this many series (like the Explore graph)."""
PROMQL_CHART_ID = "promql"


def pinned_query(
    panel: PinnedPanel,
    *,
    profile: str,
    detail: DetailService,
    explore: ExploreService,
    range_s: float,
    width_px: int,
) -> Query:
    """The engine query of a pinned panel; a detail chart shares the detail's key."""
    if panel.kind is not PanelKind.PROMQL:
        assert panel.deployment is not None and panel.chart is not None  # validated
        return chart_query(detail, profile, panel.deployment, panel.chart, range_s, width_px)
    assert panel.expr is not None  # validated
    expr = panel.expr
    width = width_bucket(width_px)

    async def fetch() -> ChartData:
        result = await explore.run_range(expr, TimeRange.last(range_s, time.time()), width)
        shown = result.series[:MAX_PINNED_SERIES]
        note = None
        if len(result.series) > len(shown):
            note = f"showing {len(shown)} of {len(result.series)} series"
        lines = {s.name: (s.timestamps, s.values) for s in shown}
        return ChartData(PROMQL_CHART_ID, lines, note=note)

    return Query(("promql", profile, expr, range_s, width), fetch)


def pinned_annotations_query(
    panel: PinnedPanel, *, profile: str, detail: DetailService, range_s: float, width_px: int
) -> Query | None:
    """The annotations of a pinned deployment chart (None for PromQL: no deployment)."""
    if panel.deployment is None:
        return None
    return annotations_query(detail, profile, panel.deployment, range_s, width_px)


def pinned_unit(panel: PinnedPanel, detail: DetailService) -> str:
    """The unit of a pinned panel's values ("" for PromQL, whose unit is unknown)."""
    if panel.kind is PanelKind.PROMQL or panel.chart not in CHARTS_BY_ID:
        return ""
    return detail.unit(panel.chart)
