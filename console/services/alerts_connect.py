"""Build a profile's alert services: its Alertmanager (with its own keyring secret), the
Prometheus alerts API of its metrics backend, or the DEMO's in-process Alertmanager."""

from console.backends._http import HttpJsonClient, HttpTarget
from console.backends.alerting import AlertHistory
from console.backends.alertmanager import AlertmanagerClient
from console.backends.demo import DemoBackend
from console.backends.demo_alerts import DemoAlertmanager
from console.backends.prometheus import PrometheusBackend
from console.backends.prometheus_alerts import PrometheusAlerts
from console.backends.protocol import MetricsBackend
from console.config.secrets import SecretStore
from console.config.settings import AuthKind, Profile
from console.services.alerts import AlertsService
from console.services.connect import MissingSecret
from console.services.silence_guard import AuditTrail


def alertmanager_target(profile: Profile, secrets: SecretStore) -> HttpTarget:
    """How to reach the profile's Alertmanager; its secret comes from the keyring."""
    if profile.alertmanager_url is None:
        raise ValueError(f"profile {profile.name!r} has no alertmanager_url")
    field = profile.alertmanager_secret_field
    secret = secrets.get(profile.name, field) if field else None
    if field and secret is None:
        raise MissingSecret(
            f"profile {profile.name!r} uses {profile.alertmanager_auth.value} auth for its "
            f"Alertmanager but no {field} is stored in the keyring"
        )
    auth = profile.alertmanager_auth
    return HttpTarget(
        base_url=profile.alertmanager_url,
        headers=profile.headers,
        bearer_token=secret if auth is AuthKind.BEARER else None,
        basic_auth=(profile.alertmanager_username or "", secret or "")
        if auth is AuthKind.BASIC
        else None,
        verify=not profile.insecure,
        ca_file=profile.ca_file,
        timeout_s=profile.timeout_s,
        breaker_cooldown_s=profile.refresh_interval_s,
    )


def open_alerts(
    profile: Profile,
    secrets: SecretStore,
    metrics: MetricsBackend,
    *,
    audit: AuditTrail | None = None,
) -> AlertsService:
    """The alert service of a profile, sharing ``metrics``'s client for Prometheus alerts.

    The DEMO gets an in-process Alertmanager that follows ``metrics``'s simulation.
    """
    prometheus = (
        PrometheusAlerts(metrics.client) if isinstance(metrics, PrometheusBackend) else None
    )
    if isinstance(metrics, DemoBackend):
        return AlertsService(profile, alertmanager=DemoAlertmanager(metrics), audit=audit)
    alertmanager = None
    if profile.alertmanager_url is not None:
        alertmanager = AlertmanagerClient(HttpJsonClient(alertmanager_target(profile, secrets)))
    return AlertsService(profile, alertmanager=alertmanager, prometheus=prometheus, audit=audit)


def alert_history(service: AlertsService) -> AlertHistory | None:
    """Where past alert firings come from: the DEMO's simulation, else Prometheus's ALERTS."""
    if isinstance(service.alertmanager, DemoAlertmanager):
        return service.alertmanager
    return service.prometheus
