"""The DEMO's model registry: versions and aliases of the simulated fleet, in process.

Each DEMO deployment is a registered model of the same name. Its ``production`` alias is
the version taking most of its traffic in the simulation; pointing the alias elsewhere
calls :meth:`DemoBackend.set_serving`, so the simulated metrics follow a rollback (after
the rate window). ``support-chat`` also has a ``fallback`` alias on its good version, for
failover. Creation times follow the simulation's timeline.
"""

import time
from collections.abc import Callable

from console.backends.demo import DemoBackend
from console.backends.errors import BadQuery
from console.domain.model_registry import ModelVersion

SERVING_ALIAS = "production"
FALLBACK_ALIAS = "fallback"
_RELEASE_SPACING_S = 7 * 86_400.0
_BUILD_LEAD_S = 3600.0
"""A version is registered an hour before it first serves."""
_DESCRIPTIONS = {
    ("support-chat", "v41"): "Stable support assistant.",
    ("support-chat", "v42"): "New fine-tune: shorter answers (slower, refuses more).",
}


class DemoRegistry:
    """The simulated fleet's registry; implements ModelRegistry over a DemoBackend."""

    name = "DEMO registry (simulated)"

    def __init__(self, demo: DemoBackend, *, clock: Callable[[], float] = time.time) -> None:
        self._demo = demo
        self._clock = clock
        self._created: dict[str, dict[str, float]] = {}
        self._aliases: dict[tuple[str, str], str] = {
            ("support-chat", FALLBACK_ALIAS): "v41",
        }

    async def versions(self, model: str) -> list[ModelVersion]:
        """The simulation's versions of ``model`` with their aliases."""
        created = self._created_of(model)
        aliases: dict[str, list[str]] = {}
        serving = await self.alias_version(model, SERVING_ALIAS)
        if serving is not None:
            aliases.setdefault(serving, []).append(SERVING_ALIAS)
        for (name, alias), version in self._aliases.items():
            if name == model:
                aliases.setdefault(version, []).append(alias)
        return [
            ModelVersion(
                version=version,
                created_at=at,
                description=_DESCRIPTIONS.get((model, version), ""),
                tags=(("source", "demo"),),
                aliases=tuple(sorted(aliases.get(version, ()))),
                model=model,
            )
            for version, at in created.items()
        ]

    async def alias_version(self, model: str, alias: str) -> str | None:
        """``production``: the version with the largest share now; others as set."""
        self._created_of(model)
        if alias == SERVING_ALIAS:
            shares = self._demo.serving(model)
            return max(shares, key=lambda version: shares[version]) if shares else None
        return self._aliases.get((model, alias))

    async def set_alias(self, model: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version``; ``production`` moves all traffic to it."""
        if version not in self._created_of(model):
            raise BadQuery(f"DEMO model {model!r} has no version {version!r}")
        if alias == SERVING_ALIAS:
            self._demo.set_serving(model, {version: 1.0})
        else:
            self._aliases[(model, alias)] = version

    async def aclose(self) -> None:
        """Nothing to release."""

    def _created_of(self, model: str) -> dict[str, float]:
        if model not in self._created:
            try:
                versions = self._demo.known_versions(model)
            except ValueError as exc:
                raise BadQuery(f"the DEMO registry has no model {model!r}: {exc}") from None
            self._created[model] = self._creation_times(model, versions)
        return self._created[model]

    def _creation_times(self, deployment: str, versions: tuple[str, ...]) -> dict[str, float]:
        timeline = self._demo.timeline(deployment)
        first_change = timeline[0].at if timeline else self._clock()
        baseline = self._demo.serving(deployment, at=first_change - 1.0)
        created: dict[str, float] = {}
        for index, version in enumerate(versions):
            if version in baseline:
                served = first_change - (len(versions) - index) * _RELEASE_SPACING_S
            else:
                served = next((c.at for c in timeline if version in c.shares), first_change)
            created[version] = served - _BUILD_LEAD_S
        return created
