"""Build the guarded-action service of one profile: registry, routes, checks. No Qt.

The DEMO gets the in-process :class:`DemoRegistry` over its simulation (``support-chat``
fails over to its ``fallback`` alias); a real profile gets MLflow when its registry
settings name one. A deployment with a webhook is changed through it; otherwise its
serving alias is moved. Webhook secret headers are read from the keyring here.
"""

import httpx

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.demo import DemoBackend
from console.backends.demo_registry import FALLBACK_ALIAS, DemoRegistry
from console.backends.mlflow import MlflowRegistry
from console.backends.protocol import MetricsBackend
from console.backends.registry_protocol import ModelRegistry
from console.config.registry import (
    DeploymentActions,
    FailoverSettings,
    RegistrySettings,
    WebhookTemplate,
)
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.services.action_routes import AliasRoute, Route, WebhookRoute
from console.services.alias_history import AliasHistory
from console.services.annotations import AnnotationStore
from console.services.audit_log import AuditLog
from console.services.guarded_action import ActionKind, ActionService, PlanError, RouteFactory
from console.services.run_history import RunHistory
from console.services.smoke_check import SmokeChecks
from console.services.suite_targets import SuiteTargets

SECRET_FIELD = "token"
"""A registry ``token_ref`` or webhook secret header names the keyring entry ``{ref}:token``."""
DEMO_REGISTRY_SETTINGS = RegistrySettings(
    deployments=(
        DeploymentActions("support-chat", failover=FailoverSettings(alias=FALLBACK_ALIAS)),
    ),
    verify_timeout_s=30.0,
    poll_interval_s=0.5,
)


def registry_settings(profile: Profile) -> RegistrySettings:
    """The profile's registry settings (the DEMO's own; defaults when none are set)."""
    if profile.is_demo:
        return DEMO_REGISTRY_SETTINGS
    return profile.registry or RegistrySettings()


def open_registry(
    profile: Profile,
    secrets: SecretStore,
    backend: MetricsBackend,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ModelRegistry | None:
    """The profile's model registry (None: it names none). MissingSecret-like PlanError
    when its token is not in the keyring."""
    if profile.is_demo:
        return DemoRegistry(backend) if isinstance(backend, DemoBackend) else None
    settings = profile.registry
    if settings is None or settings.mlflow_url is None:
        return None
    token = _secret(secrets, settings.token_ref, "the MLflow token") if settings.token_ref else None
    target = HttpTarget(
        base_url=settings.mlflow_url,
        bearer_token=token,
        verify=not profile.insecure,
        ca_file=profile.ca_file,
        timeout_s=settings.timeout_s,
    )
    return MlflowRegistry(HttpJsonClient(target, transport=transport))


def route_factory(
    profile: Profile,
    registry: ModelRegistry | None,
    secrets: SecretStore,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RouteFactory:
    """How each action on each deployment of ``profile`` is made."""
    settings = registry_settings(profile)

    def route(kind: ActionKind, deployment: str) -> Route:
        actions = settings.deployment(deployment)
        webhook = actions.webhook
        if kind is ActionKind.FAILOVER and actions.failover is not None:
            webhook = actions.failover.webhook or webhook
            if actions.failover.model is not None and webhook is None:
                raise PlanError(
                    f"failing {deployment!r} over to model {actions.failover.model!r} needs a "
                    "webhook: MLflow aliases cannot point at another model's version"
                )
        if webhook is not None:
            return WebhookRoute(webhook, secret_headers(secrets, webhook), transport=transport)
        if registry is None:
            raise PlanError(f"profile {profile.name!r} names no registry or webhook to act on")
        return AliasRoute(registry, settings.model_of(deployment), settings.alias_of(deployment))

    return route


def open_action_service(
    profile: Profile,
    secrets: SecretStore,
    backend: MetricsBackend,
    annotations: AnnotationStore,
    audit: AuditLog,
    *,
    alias_history: AliasHistory | None = None,
    run_history: RunHistory | None = None,
    suite_targets: SuiteTargets | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ActionService:
    """The action service of ``profile`` over the backend its fleet view uses.

    ``suite_targets`` (the profile's, shared with the Runs view) enables the pre- and
    post-checks; ``transport`` is for tests. Close the registry with
    ``await service.aclose()``.
    """
    registry = open_registry(profile, secrets, backend, transport=transport)
    return ActionService(
        profile,
        registry=registry,
        settings=registry_settings(profile),
        routes=route_factory(profile, registry, secrets, transport=transport),
        metrics=backend,
        audit=audit,
        annotations=annotations,
        alias_history=alias_history or AliasHistory(),
        run_history=run_history,
        checks=None
        if suite_targets is None
        else SmokeChecks(profile, suite_targets, history=run_history),
    )


def secret_headers(secrets: SecretStore, webhook: WebhookTemplate) -> dict[str, str]:
    """The values of a webhook's secret headers, from the keyring; PlanError when missing."""
    return {
        name: _secret(secrets, ref, f"the {name} header") for name, ref in webhook.secret_headers
    }


def _secret(secrets: SecretStore, ref: str, what: str) -> str:
    value = secrets.get(ref, SECRET_FIELD)
    if value is None:
        raise PlanError(
            f"{what} is not in the keyring: store it in the entry {ref}:{SECRET_FIELD} "
            "(service sre-console)"
        )
    return value
