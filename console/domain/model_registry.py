"""Model versions as a registry knows them, and the alias changes the console records."""

import re
from dataclasses import dataclass

READY = "READY"
_NUMBER_RE = re.compile(r"\d+")


@dataclass(frozen=True)
class ModelVersion:
    """One version of a registered model. ``created_at`` is Unix seconds (None: unknown)."""

    version: str
    created_at: float | None = None
    status: str = READY
    description: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    aliases: tuple[str, ...] = ()
    model: str = ""

    @property
    def ready(self) -> bool:
        """Whether the registry says the version can serve (MLflow's READY)."""
        return self.status == READY


@dataclass(frozen=True)
class AliasChange:
    """A deployment's serving alias moved from one version to another at ``at``.

    ``observed`` marks a change the console saw happen (made elsewhere) rather than made.
    """

    at: float
    profile: str
    deployment: str
    model: str
    alias: str
    from_version: str | None
    to_version: str
    action_id: str | None = None
    observed: bool = False


def version_order(version: ModelVersion) -> tuple[float, tuple[int, ...], str]:
    """A sort key: creation time, then the numbers in the version name (v9 < v10)."""
    created = version.created_at if version.created_at is not None else float("-inf")
    numbers = tuple(int(n) for n in _NUMBER_RE.findall(version.version))
    return created, numbers, version.version


def previous_ready(versions: list[ModelVersion], current: str | None) -> ModelVersion | None:
    """The newest READY version older than ``current`` (None: there is none)."""
    ordered = sorted(versions, key=version_order)
    names = [v.version for v in ordered]
    end = names.index(current) if current in names else len(ordered)
    return next((v for v in reversed(ordered[:end]) if v.ready and v.version != current), None)
