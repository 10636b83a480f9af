"""Prometheus's own alerts and alerting rules (/api/v1/alerts, /api/v1/rules), for setups
without an Alertmanager. Alerts get Alertmanager's fingerprint of their labels."""

from typing import Any

import numpy as np

from console.backends.alertmanager import parse_labels, parse_time
from console.backends.errors import MalformedResponse
from console.backends.prometheus import PrometheusClient, RangeSeries
from console.domain.alerts import (
    Alert,
    AlertRule,
    AlertSource,
    AlertSpan,
    AlertState,
    fingerprint,
)
from console.domain.timerange import RangePlan, TimeRange, plan_range

_STATES = {"firing": AlertState.ACTIVE, "pending": AlertState.PENDING}
HISTORY_POINTS = 2000
"""Resolution of the alert history: the window is read in this many steps at most."""
_FIRING = 'ALERTS{alertstate="firing"}'


class PrometheusAlerts:
    """Reads a Prometheus's alerts and alerting rules through its API client."""

    def __init__(self, client: PrometheusClient) -> None:
        self._client = client

    async def alerts(self) -> list[Alert]:
        """GET /api/v1/alerts: firing and pending alerts."""
        path = "/api/v1/alerts"
        data = await self._client.api_data(path)
        if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
            raise MalformedResponse(f"{path}: 'data' has no list of 'alerts'")
        return [_alert(a, f"{path}: alerts[{i}]") for i, a in enumerate(data["alerts"])]

    async def alert_spans(self, start: float, end: float) -> list[AlertSpan]:
        """When alerts fired in [start, end], from Prometheus's ``ALERTS`` series."""
        plan = plan_range(TimeRange(start, end), HISTORY_POINTS, 1.0)
        series = await self._client.query_range(_FIRING, plan)
        spans = [span for one in series for span in _spans(one, plan)]
        return sorted(spans, key=lambda s: s.started_at)

    async def rules(self) -> list[AlertRule]:
        """GET /api/v1/rules?type=alert: every alerting rule with its state and alerts."""
        path = "/api/v1/rules"
        data = await self._client.api_data(path, {"type": "alert"})
        if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
            raise MalformedResponse(f"{path}: 'data' has no list of 'groups'")
        rules = []
        for g, group in enumerate(data["groups"]):
            where = f"{path}: groups[{g}]"
            if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
                raise MalformedResponse(f"{where} is not an object with a list of 'rules'")
            for r, rule in enumerate(group["rules"]):
                if isinstance(rule, dict) and rule.get("type") == "alerting":
                    rules.append(_rule(str(group.get("name", "")), rule, f"{where}.rules[{r}]"))
        return rules


def _rule(group: str, rule: dict[str, Any], where: str) -> AlertRule:
    alerts = rule.get("alerts") or []
    if not isinstance(alerts, list):
        raise MalformedResponse(f"{where}.alerts is not a list")
    duration = rule.get("duration", 0)
    return AlertRule(
        group=group,
        name=str(rule.get("name", "")),
        query=str(rule.get("query", "")),
        duration_s=float(duration) if isinstance(duration, int | float) else 0.0,
        labels=parse_labels(rule.get("labels") or {}, f"{where}.labels"),
        annotations=parse_labels(rule.get("annotations") or {}, f"{where}.annotations"),
        state=str(rule.get("state", "")),
        health=str(rule.get("health", "")),
        last_error=str(rule["lastError"]) if rule.get("lastError") else None,
        alerts=tuple(_alert(a, f"{where}.alerts[{i}]") for i, a in enumerate(alerts)),
    )


def _alert(item: Any, where: str) -> Alert:
    if not isinstance(item, dict):
        raise MalformedResponse(f"{where} is not an object")
    labels = parse_labels(item.get("labels"), f"{where}.labels")
    state = _STATES.get(str(item.get("state")))
    if state is None:
        raise MalformedResponse(f"{where}: unknown state {item.get('state')!r}")
    value = item.get("value")
    return Alert(
        fingerprint=fingerprint(labels),
        labels=labels,
        annotations=parse_labels(item.get("annotations") or {}, f"{where}.annotations"),
        starts_at=parse_time(item.get("activeAt"), where, "activeAt"),
        state=state,
        source=AlertSource.PROMETHEUS,
        value=str(value) if value is not None else None,
    )


def _spans(series: RangeSeries, plan: RangePlan) -> list[AlertSpan]:
    """The runs of samples of one ``ALERTS`` series; a gap over one step ends a run, and a
    run reaching the plan's last step is still firing."""
    step = plan.step
    labels = {k: v for k, v in series.labels.items() if k not in ("__name__", "alertstate")}
    times = series.timestamps[np.isfinite(series.values)]
    if not times.size:
        return []
    breaks = np.flatnonzero(np.diff(times) > 1.5 * step)
    starts = [times[0], *times[breaks + 1]]
    ends = [*times[breaks], times[-1]]
    return [
        AlertSpan(labels, float(a), float(b) if b < plan.end - 2.5 * step else None)
        for a, b in zip(starts, ends, strict=True)
    ]
