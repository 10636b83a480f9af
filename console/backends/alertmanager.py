"""The Alertmanager HTTP API v2: alerts, alert groups, silences and status. No Qt.

Every failure is a BackendError; when Alertmanager refuses a request (a bad matcher, an
invalid silence) the message carries its own error text as it sent it.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote

from console.backends._http import HttpJsonClient, QueryParams
from console.backends.errors import MalformedResponse
from console.domain.alerts import (
    Alert,
    AlertGroup,
    AlertmanagerStatus,
    AlertSource,
    AlertState,
    Matcher,
    MatcherError,
    Silence,
    SilenceDraft,
    SilenceState,
)

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


class AlertmanagerClient:
    """Typed wrappers over Alertmanager's /api/v2 endpoints."""

    def __init__(self, http: HttpJsonClient) -> None:
        self._http = http

    @property
    def base_url(self) -> str:
        """Alertmanager's URL without userinfo, safe to show."""
        return self._http.base_url

    async def alerts(
        self,
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        filters: Sequence[str] = (),
        receiver: str | None = None,
    ) -> list[Alert]:
        """GET /api/v2/alerts; ``filters`` are matchers such as ``severity="critical"``."""
        path = "/api/v2/alerts"
        params = _alert_params(active, silenced, inhibited, filters, receiver)
        return await self._get_list(path, params, parse_alert)

    async def alert_groups(
        self,
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        filters: Sequence[str] = (),
        receiver: str | None = None,
    ) -> list[AlertGroup]:
        """GET /api/v2/alerts/groups: alerts grouped by each route's ``group_by`` labels."""
        path = "/api/v2/alerts/groups"
        params = _alert_params(active, silenced, inhibited, filters, receiver)
        return await self._get_list(path, params, _group)

    async def silences(self, filters: Sequence[str] = ()) -> list[Silence]:
        """GET /api/v2/silences (pending, active and recently expired ones)."""
        path = "/api/v2/silences"
        params = {"filter": list(filters)} if filters else None
        return await self._get_list(path, params, parse_silence)

    async def silence(self, silence_id: str) -> Silence:
        """GET /api/v2/silence/{id}."""
        path = f"/api/v2/silence/{quote(silence_id, safe='')}"
        return parse_silence(await self._http.get_json(path), self._http.url_of(path))

    async def create_silence(self, draft: SilenceDraft) -> str:
        """POST /api/v2/silences; the new silence's id (with ``draft.id``: it replaces it)."""
        path = "/api/v2/silences"
        answer = await self._http.post_json(path, silence_body(draft), idempotent=False)
        if not isinstance(answer, dict) or not isinstance(answer.get("silenceID"), str):
            raise MalformedResponse(f"{self._http.url_of(path)}: no 'silenceID' in the answer")
        return str(answer["silenceID"])

    async def expire_silence(self, silence_id: str) -> None:
        """DELETE /api/v2/silence/{id}: the silence ends now."""
        await self._http.delete(f"/api/v2/silence/{quote(silence_id, safe='')}")

    async def status(self) -> AlertmanagerStatus:
        """GET /api/v2/status: version, uptime and cluster state."""
        path = "/api/v2/status"
        data = await self._http.get_json(path)
        where = self._http.url_of(path)
        if not isinstance(data, dict):
            raise MalformedResponse(f"{where}: expected a JSON object")
        info = _object(data.get("versionInfo"))
        cluster = _object(data.get("cluster"))
        uptime = data.get("uptime")
        peers = cluster.get("peers")
        return AlertmanagerStatus(
            version=str(info.get("version") or "(version not reported)"),
            started_at=parse_time(uptime, where, "uptime") if uptime else None,
            cluster_status=str(cluster.get("status") or "unknown"),
            peers=len(peers) if isinstance(peers, list) else 0,
        )

    async def _get_list(
        self, path: str, params: QueryParams | None, parse: Callable[[Any, str], _T]
    ) -> list[_T]:
        """GET a JSON array and parse each item; errors name the URL and the item's index."""
        data = await self._http.get_json(path, params)
        where = self._http.url_of(path)
        return [parse(item, f"{where}: [{i}]") for i, item in enumerate(_list(data, where))]

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


def silence_body(draft: SilenceDraft) -> dict[str, Any]:
    """The JSON body of POST /api/v2/silences for ``draft``."""
    body: dict[str, Any] = {
        "matchers": [
            {"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}
            for m in draft.matchers
        ],
        "startsAt": iso_time(draft.starts_at),
        "endsAt": iso_time(draft.ends_at),
        "createdBy": draft.created_by,
        "comment": draft.comment,
    }
    if draft.id is not None:
        body["id"] = draft.id
    return body


def iso_time(at: float) -> str:
    """Unix seconds as the RFC 3339 UTC time Alertmanager reads, to the millisecond."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_alert(item: Any, where: str) -> Alert:
    """One alert of /api/v2/alerts (also of a group)."""
    if not isinstance(item, dict):
        raise MalformedResponse(f"{where} is not an object")
    status = _object(item.get("status"))
    state = _enum(AlertState, status.get("state", "active"), f"{where}.status.state")
    ends = item.get("endsAt")
    updated = item.get("updatedAt")
    fingerprint = item.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint:
        raise MalformedResponse(f"{where}: no 'fingerprint'")
    return Alert(
        fingerprint=fingerprint,
        labels=parse_labels(item.get("labels"), f"{where}.labels"),
        annotations=parse_labels(item.get("annotations", {}), f"{where}.annotations"),
        starts_at=parse_time(item.get("startsAt"), where, "startsAt"),
        state=state,
        source=AlertSource.ALERTMANAGER,
        ends_at=parse_time(ends, where, "endsAt") if ends else None,
        updated_at=parse_time(updated, where, "updatedAt") if updated else None,
        generator_url=str(item["generatorURL"]) if item.get("generatorURL") else None,
        silenced_by=_strings(status.get("silencedBy", []), f"{where}.status.silencedBy"),
        inhibited_by=_strings(status.get("inhibitedBy", []), f"{where}.status.inhibitedBy"),
        receivers=tuple(
            str(r.get("name", "")) for r in item.get("receivers", []) if isinstance(r, dict)
        ),
    )


def parse_silence(item: Any, where: str) -> Silence:
    """One silence of /api/v2/silences."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise MalformedResponse(f"{where} is not a silence object with an 'id'")
    matchers = item.get("matchers")
    if not isinstance(matchers, list):
        raise MalformedResponse(f"{where}: 'matchers' is not a list")
    status = _object(item.get("status"))
    updated = item.get("updatedAt")
    return Silence(
        id=item["id"],
        matchers=tuple(_matcher(m, f"{where}.matchers[{i}]") for i, m in enumerate(matchers)),
        starts_at=parse_time(item.get("startsAt"), where, "startsAt"),
        ends_at=parse_time(item.get("endsAt"), where, "endsAt"),
        created_by=str(item.get("createdBy", "")),
        comment=str(item.get("comment", "")),
        state=_enum(SilenceState, status.get("state", "active"), f"{where}.status.state"),
        updated_at=parse_time(updated, where, "updatedAt") if updated else None,
    )


def _alert_params(
    active: bool, silenced: bool, inhibited: bool, filters: Sequence[str], receiver: str | None
) -> dict[str, str | Sequence[str]]:
    params: dict[str, str | Sequence[str]] = {
        "active": _flag(active),
        "silenced": _flag(silenced),
        "inhibited": _flag(inhibited),
    }
    if filters:
        params["filter"] = list(filters)
    if receiver:
        params["receiver"] = receiver
    return params


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _group(item: Any, where: str) -> AlertGroup:
    if not isinstance(item, dict):
        raise MalformedResponse(f"{where} is not an object")
    receiver = _object(item.get("receiver"))
    alerts = _list(item.get("alerts"), f"{where}.alerts")
    return AlertGroup(
        labels=parse_labels(item.get("labels", {}), f"{where}.labels"),
        receiver=str(receiver.get("name", "")),
        alerts=tuple(parse_alert(a, f"{where}.alerts[{i}]") for i, a in enumerate(alerts)),
    )


def _matcher(item: Any, where: str) -> Matcher:
    if not isinstance(item, dict):
        raise MalformedResponse(f"{where} is not an object")
    try:
        return Matcher(
            name=str(item.get("name", "")),
            value=str(item.get("value", "")),
            is_regex=bool(item.get("isRegex", False)),
            is_equal=bool(item.get("isEqual", True)),
        )
    except MatcherError as exc:
        raise MalformedResponse(f"{where}: {exc}") from None


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (for optional sub-objects)."""
    return value if isinstance(value, dict) else {}


def _list(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        raise MalformedResponse(f"{where}: expected a JSON array")
    return data


def parse_labels(value: Any, where: str) -> dict[str, str]:
    """A JSON object of label (or annotation) names to string values."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise MalformedResponse(f"{where} is not an object of names to strings")
    return {str(k): v for k, v in value.items()}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise MalformedResponse(f"{where} is not a list of strings")
    return tuple(value)


def parse_time(value: Any, where: str, key: str) -> float:
    """Unix seconds from an RFC 3339 time ("…Z", any fraction of a second)."""
    if not isinstance(value, str):
        raise MalformedResponse(f"{where}: '{key}' is not a time: {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedResponse(f"{where}: '{key}' is not an RFC 3339 time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _enum(kind: type[_E], value: Any, where: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise MalformedResponse(f"{where}: unknown value {value!r}") from None
