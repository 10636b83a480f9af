"""The protocol of a model registry that rollback and failover act on (MLflow, the demo)."""

from typing import Protocol

from console.domain.model_registry import ModelVersion


class ModelRegistry(Protocol):
    """Lists a registered model's versions and moves its aliases."""

    name: str
    """What the registry is, for messages: "MLflow at https://…", "DEMO registry"."""

    async def versions(self, model: str) -> list[ModelVersion]:
        """Every version of ``model`` with its aliases; BackendError when unknown."""
        ...

    async def alias_version(self, model: str, alias: str) -> str | None:
        """The version ``alias`` points at (None: the alias is not set)."""
        ...

    async def set_alias(self, model: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version``; setting it where it already points is a no-op."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client, if any."""
        ...
