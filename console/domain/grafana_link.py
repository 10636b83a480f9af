"""The Grafana Explore URL of a PromQL expression over a time range.

Grafana (10+) reads Explore's state from ``/explore?schemaVersion=1&orgId=1&panes=JSON``,
where the JSON maps a pane id to its datasource, queries and range (milliseconds).
Without a datasource uid the pane names none and Grafana uses its default datasource.
"""

import json
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from console.domain.timerange import TimeRange

PANE_ID = "a"


class GrafanaUrlError(ValueError):
    """The configured grafana_url cannot make a link."""


def explore_url(
    grafana_url: str,
    expr: str,
    rng: TimeRange,
    *,
    datasource_uid: str | None = None,
    org_id: int = 1,
) -> str:
    """The Explore URL showing ``expr`` over ``rng`` on the Grafana at ``grafana_url``."""
    parts = urlsplit(grafana_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GrafanaUrlError(
            f"grafana_url={grafana_url!r} is not an http(s) URL such as https://grafana.example.com"
        )
    query: dict[str, Any] = {"refId": "A", "expr": expr}
    pane: dict[str, Any] = {}
    if datasource_uid:
        pane["datasource"] = datasource_uid
        query["datasource"] = {"type": "prometheus", "uid": datasource_uid}
    pane["queries"] = [query]
    pane["range"] = {"from": str(round(rng.start * 1000)), "to": str(round(rng.end * 1000))}
    panes = json.dumps({PANE_ID: pane}, separators=(",", ":"))
    params = urlencode(
        {"schemaVersion": "1", "orgId": str(org_id), "panes": panes}, quote_via=quote, safe=""
    )
    base = grafana_url.strip().split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return f"{base}/explore?{params}"
