"""The MLflow Model Registry over its REST API (/api/2.0/mlflow). No Qt, no keyring.

A deployment maps to a registered model and the alias that serves it; rolling back points
the alias at another READY version. MLflow keeps no alias history: the services record it.
"""

from collections.abc import Mapping
from typing import Any

from console.backends._http import HttpJsonClient
from console.backends.errors import MalformedResponse
from console.domain.model_registry import ModelVersion

API = "api/2.0/mlflow"
PAGE_SIZE = 200
_MAX_PAGES = 50


class MlflowRegistry:
    """One MLflow tracking server's model registry; implements ModelRegistry."""

    def __init__(self, client: HttpJsonClient) -> None:
        self._client = client
        self.name = f"MLflow at {client.base_url}"

    async def versions(self, model: str) -> list[ModelVersion]:
        """Every version of ``model`` (all pages), with aliases from the registered model."""
        registered = await self._client.get_json(
            f"{API}/registered-models/get", params={"name": model}
        )
        aliases = _aliases(_object(registered, "registered_model", self._url("get")))
        versions: list[ModelVersion] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            params = {"filter": f"name='{_quoted(model)}'", "max_results": str(PAGE_SIZE)}
            if token:
                params["page_token"] = token
            page = await self._client.get_json(f"{API}/model-versions/search", params=params)
            if not isinstance(page, dict):
                raise MalformedResponse(f"{self._url('search')}: expected a JSON object")
            for item in page.get("model_versions", []):
                versions.append(_version(item, aliases, self._url("search")))
            token = page.get("next_page_token")
            if not token:
                break
        return versions

    async def alias_version(self, model: str, alias: str) -> str | None:
        """The version ``alias`` points at, from the registered model (None: not set)."""
        registered = await self._client.get_json(
            f"{API}/registered-models/get", params={"name": model}
        )
        aliases = _aliases(_object(registered, "registered_model", self._url("get")))
        return next((version for version, names in aliases.items() if alias in names), None)

    async def read_alias(self, model: str, alias: str) -> ModelVersion:
        """The version behind ``alias`` via registered-models/alias; BackendError if unset."""
        answer = await self._client.get_json(
            f"{API}/registered-models/alias", params={"name": model, "alias": alias}
        )
        item = _object(answer, "model_version", self._url("alias"))
        return _version(item, {}, self._url("alias"))

    async def set_alias(self, model: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version`` (the same request twice changes nothing)."""
        await self._client.post_json(
            f"{API}/registered-models/alias",
            {"name": model, "alias": alias, "version": version},
            idempotent=True,
        )

    async def delete_alias(self, model: str, alias: str) -> None:
        """Remove ``alias`` from ``model``."""
        await self._client.request_json(
            "DELETE",
            f"{API}/registered-models/alias",
            {"name": model, "alias": alias},
            idempotent=True,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    def _url(self, call: str) -> str:
        return self._client.url_of(f"{API}/{call}")


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")


def _object(answer: Any, key: str, url: str) -> Mapping[str, Any]:
    value = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(value, dict):
        raise MalformedResponse(f"{url}: expected a JSON object with {key!r}")
    return value


def _aliases(registered: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Version -> its aliases, from a registered model's ``aliases`` list."""
    found: dict[str, list[str]] = {}
    for item in registered.get("aliases") or []:
        if isinstance(item, dict) and "alias" in item and "version" in item:
            found.setdefault(str(item["version"]), []).append(str(item["alias"]))
    return {version: tuple(sorted(names)) for version, names in found.items()}


def _version(item: Any, aliases: Mapping[str, tuple[str, ...]], url: str) -> ModelVersion:
    if not isinstance(item, dict) or "version" not in item:
        raise MalformedResponse(f"{url}: a model version without 'version'")
    version = str(item["version"])
    created = item.get("creation_timestamp")
    tags = item.get("tags") or []
    return ModelVersion(
        version=version,
        created_at=float(created) / 1000.0 if isinstance(created, int | float) else None,
        status=str(item.get("status", "UNKNOWN")),
        description=str(item.get("description") or ""),
        tags=tuple(
            (str(t.get("key")), str(t.get("value", "")))
            for t in tags
            if isinstance(t, dict) and "key" in t
        ),
        aliases=aliases.get(version) or tuple(str(a) for a in item.get("aliases") or []),
        model=str(item.get("name", "")),
    )
