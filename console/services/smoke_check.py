"""Pre- and post-checks of a guarded action: the deployment's bound suite, run once. No Qt.

A suite is bound to a deployment when the profile names its model endpoint (the DEMO's
deployments all answer through the DEMO model server). The pre-check runs against the
*target* version, which needs an endpoint model name that pins a version: the DEMO's
``deployment@version``, or the ``precheck_model`` template of the profile's registry
settings. The post-check runs against the deployment as it serves after the change.
"""

import asyncio
from dataclasses import dataclass, replace

from console.config.settings import Profile
from console.domain.suite import Suite
from console.services.run_history import RunHistory
from console.services.suite_runner import RunOptions, RunTarget, SuiteRun
from console.services.suite_targets import SuiteTargets

DEMO_VERSION_MODEL = "{deployment}@{version}"


@dataclass(frozen=True)
class CheckResult:
    """One check: whether every send passed, a one-line summary and the stored run."""

    passed: bool
    summary: str
    run_id: int | None = None


class SmokeChecks:
    """Runs the bound suite of a profile's deployments for the guarded pipeline."""

    def __init__(
        self,
        profile: Profile,
        targets: SuiteTargets,
        *,
        history: RunHistory | None = None,
        options: RunOptions | None = None,
    ) -> None:
        self._profile = profile
        self._targets = targets
        self._history = history
        self._options = options or RunOptions()

    def unavailable(self, deployment: str, version: str | None) -> str | None:
        """Why no check can run (None: it can); ``version`` None means "as it serves"."""
        if not self._profile.is_demo and self._profile.endpoint(deployment) is None:
            return f"no suite is bound to {deployment!r} (no model endpoint in the profile)"
        if version is not None and self._version_model(deployment, version) is None:
            return (
                f"the endpoint of {deployment!r} cannot address version {version!r}: "
                "set precheck_model (e.g. 'my-model@{version}') in the profile's registry"
            )
        return None

    async def run(self, deployment: str, version: str | None) -> CheckResult:
        """Run the suite (against ``version`` when given); CheckResult, never raises for a
        failing suite. Raises ValueError (and subclasses) when no target can be built."""
        suite, target = await asyncio.to_thread(self._prepare, deployment, version)
        run = SuiteRun(suite, [target], self._options, history=self._history)
        summary = await run.run()
        tally = summary.tally
        passed = tally.total > 0 and tally.passed == tally.total
        where = f"{deployment}@{version}" if version else deployment
        text = (
            f"suite {suite.description or 'smoke'!r} on {where}: {tally.passed}/{tally.total} "
            f"passed, {tally.failed} failed, {tally.errors} errors"
        )
        return CheckResult(passed, text, summary.info.id)

    def _prepare(self, deployment: str, version: str | None) -> tuple[Suite, RunTarget]:
        suite = self._targets.suite(deployment)
        target = self._targets.target(deployment)
        if version is None:
            return suite, target
        model = self._version_model(deployment, version)
        if model is None:
            raise ValueError(self.unavailable(deployment, version) or "no version target")
        provider = replace(target.provider, model=model, label=model, id=f"{model} (pre-check)")
        return suite, replace(target, provider=provider, version=version, price=None)

    def _version_model(self, deployment: str, version: str) -> str | None:
        template: str | None = DEMO_VERSION_MODEL
        if not self._profile.is_demo:
            registry = self._profile.registry
            template = registry.deployment(deployment).precheck_model if registry else None
        if template is None:
            return None
        return template.replace("{deployment}", deployment).replace("{version}", version)
