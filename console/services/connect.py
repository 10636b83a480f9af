"""Build the backend and services of one profile. Each profile gets its own HTTP client."""

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.demo import DemoBackend
from console.backends.prometheus import PrometheusBackend
from console.backends.protocol import MetricsBackend
from console.config.secrets import SecretStore, SecretsUnavailable
from console.config.settings import AuthKind, Profile
from console.services.annotations import AnnotationStore
from console.services.detail import DetailService
from console.services.fleet import FleetService


class MissingSecret(SecretsUnavailable):
    """The profile needs a secret that is neither in the keyring nor in this session."""


def http_target(profile: Profile, secrets: SecretStore) -> HttpTarget:
    """The connection parameters of a profile, with its secret read from the keyring."""
    secret = None
    if profile.secret_field:
        secret = secrets.get(profile.name, profile.secret_field)
        if secret is None:
            where = "the OS keyring" if secrets.available else "this session (no OS keyring)"
            raise MissingSecret(
                f"profile {profile.name!r} uses {profile.auth.value} auth but no "
                f"{profile.secret_field} is stored in {where}"
            )
    return HttpTarget(
        base_url=profile.prometheus_url,
        headers=profile.headers,
        bearer_token=secret if profile.auth is AuthKind.BEARER else None,
        basic_auth=(profile.username or "", secret or "")
        if profile.auth is AuthKind.BASIC
        else None,
        verify=not profile.insecure,
        ca_file=profile.ca_file,
        timeout_s=profile.timeout_s,
        breaker_cooldown_s=profile.refresh_interval_s,
    )


def open_backend(profile: Profile, secrets: SecretStore) -> MetricsBackend:
    """The demo simulation or a Prometheus backend with its own HTTP client."""
    if profile.is_demo:
        return DemoBackend()
    return PrometheusBackend(
        HttpJsonClient(http_target(profile, secrets)),
        name=profile.name,
        preset=profile.preset,
        overrides=dict(profile.queries),
        info_metric=profile.info_metric,
        deployment_label=profile.deployment_label,
        version_label=profile.version_label,
        scrape_interval_s=profile.scrape_interval_s,
    )


def open_fleet(profile: Profile, secrets: SecretStore) -> FleetService:
    """The fleet service of one profile, over a backend nobody else uses."""
    return FleetService(
        profile.name,
        open_backend(profile, secrets),
        slo=profile.slo,
        rate_window_s=profile.rate_window_s,
    )


def open_detail(
    profile: Profile, backend: MetricsBackend, annotations: AnnotationStore
) -> DetailService:
    """The detail service of one profile, over the backend its fleet service uses."""
    return DetailService(
        backend,
        annotations,
        rate_window_s=profile.rate_window_s,
        prices=profile.prices,
        canary_min_requests=profile.canary_min_requests,
    )
