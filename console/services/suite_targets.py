"""Where a profile's deployment answers a synthetic suite, and which suite it runs. No Qt.

A real profile names each deployment's OpenAI-compatible endpoint (``Profile.endpoints``),
its key in the keyring entry ``{api_key_ref}:token``. The DEMO's deployments answer through
a :class:`~console.backends.demo_llm.DemoLLMServer` bound to the DEMO backend's current
traffic shares, started the first time a DEMO suite runs, so a rollback in the DEMO shows
in the answers of the next run.

Everything here blocks (keyring, starting a server, reading YAML): call it on the I/O loop.
"""

import threading
from pathlib import Path

from console.backends.demo import DemoBackend
from console.backends.demo_llm import DemoLLMServer
from console.config.secrets import SecretStore
from console.config.settings import ModelEndpoint, Profile
from console.domain.suite import Suite
from console.services.suite_loader import load_default_suite, load_suite
from console.services.suite_runner import (
    API_KEY_FIELD,
    MissingApiKey,
    RunTarget,
    deployment_target,
    endpoint_target,
)


class NoEndpoint(ValueError):
    """The profile does not say where a deployment's model endpoint is."""


def profile_endpoint_target(
    profile: Profile, endpoint: ModelEndpoint, secrets: SecretStore
) -> RunTarget:
    """The target of ``endpoint``, its key read from the keyring; MissingApiKey."""
    return endpoint_target(
        endpoint.base_url,
        endpoint.model,
        api_key=endpoint_api_key(endpoint, secrets),
        profile=profile.name,
        deployment=endpoint.deployment,
    )


def endpoint_api_key(endpoint: ModelEndpoint, secrets: SecretStore) -> str | None:
    """The API key of ``endpoint`` from the keyring (None without a key reference).

    MissingApiKey when the endpoint names a keyring entry that holds no key.
    """
    if endpoint.api_key_ref is None:
        return None
    key = secrets.get(endpoint.api_key_ref, API_KEY_FIELD)
    if key is None:
        raise MissingApiKey(
            f"deployment {endpoint.deployment!r}: no key in the keyring entry "
            f"{endpoint.api_key_ref}:{API_KEY_FIELD} (service sre-console)"
        )
    return key


class SuiteTargets:
    """The run targets and bound suites of one open profile; :meth:`close` with the profile.

    ``backend`` is the profile's metrics backend: for the DEMO a DemoBackend, whose
    ``serving()`` picks the version that answers. ``time_scale`` speeds up the DEMO's
    model server (tests).
    """

    def __init__(
        self,
        profile: Profile,
        backend: object,
        secrets: SecretStore,
        *,
        time_scale: float = 1.0,
    ) -> None:
        self._profile = profile
        self._demo = backend if isinstance(backend, DemoBackend) else None
        self._secrets = secrets
        self._time_scale = time_scale
        self._server: DemoLLMServer | None = None
        self._lock = threading.Lock()

    @property
    def demo(self) -> bool:
        """Whether the deployments are the DEMO's (answered by its model server)."""
        return self._demo is not None

    def target(self, deployment: str) -> RunTarget:
        """Where ``deployment`` answers; NoEndpoint, MissingApiKey, ValueError (unknown)."""
        if self._demo is not None:
            shares = self._demo.serving(deployment)
            return deployment_target(
                self._demo_server().base_url,
                deployment,
                shares,
                profile=self._profile.name,
                prices=self._profile.prices,
            )
        endpoint = self._profile.endpoint(deployment)
        if endpoint is None:
            raise NoEndpoint(
                f"profile {self._profile.name!r} names no model endpoint for {deployment!r}: "
                "add one under [[profiles.NAME.endpoints]]"
            )
        return profile_endpoint_target(self._profile, endpoint, self._secrets)

    def candidate(self, deployment: str, base_url: str, model: str) -> RunTarget:
        """A candidate endpoint run beside ``deployment`` (the shadow comparison).

        It uses the deployment's API key, if it has one. On the DEMO an empty ``base_url``
        means its model server, where ``support-chat@v41`` pins a version.
        """
        if not base_url:
            if self._demo is None:
                raise NoEndpoint("the candidate needs a base URL such as http://host:8000/v1")
            base_url = self._demo_server().base_url
        endpoint = self._profile.endpoint(deployment)
        key = None if endpoint is None else endpoint_api_key(endpoint, self._secrets)
        return endpoint_target(
            base_url, model, api_key=key, profile=self._profile.name, deployment=deployment
        )

    def suite_path(self, deployment: str) -> Path | None:
        """The suite file bound to ``deployment``; None: the shipped smoke suite."""
        endpoint = self._profile.endpoint(deployment)
        return Path(endpoint.suite).expanduser() if endpoint and endpoint.suite else None

    def suite(self, deployment: str) -> Suite:
        """The suite bound to ``deployment``, loaded; SuiteError when it cannot run."""
        path = self.suite_path(deployment)
        return load_default_suite() if path is None else load_suite(path)

    def close(self) -> None:
        """Stop the DEMO's model server, if it was started."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    def _demo_server(self) -> DemoLLMServer:
        assert self._demo is not None
        with self._lock:
            if self._server is None:
                self._server = DemoLLMServer(
                    self._demo.serving, time_scale=self._time_scale
                ).start()
            return self._server
