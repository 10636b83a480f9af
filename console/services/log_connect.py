"""Build the log service of one profile: Loki with the profile's auth, or the DEMO's logs."""

import dataclasses

from console.backends._http import HttpJsonClient
from console.backends.demo_logs import DemoLogBackend, ServingAt
from console.backends.log_protocol import LogBackend
from console.backends.loki import LokiBackend
from console.config.secrets import SecretStore
from console.config.settings import Profile
from console.domain.log_records import FieldMap
from console.domain.redaction import Redactor
from console.services.audit_log import AuditLog
from console.services.connect import http_target
from console.services.logs import LogService
from console.services.review_queue import ReviewQueue

ORG_HEADER = "X-Scope-OrgID"


class NoLogBackend(Exception):
    """The profile names no Loki."""


def open_log_backend(
    profile: Profile, secrets: SecretStore, *, demo_serving: ServingAt | None = None
) -> LogBackend:
    """The DEMO's logs, or a Loki client using the profile's auth, TLS and headers, with
    ``loki_org_id`` as X-Scope-OrgID. Raises NoLogBackend, or MissingSecret (a
    SecretsUnavailable) when the auth's secret is not stored; reads the keyring (blocking)."""
    if profile.is_demo:
        return DemoLogBackend(demo_serving)
    if profile.loki_url is None:
        raise NoLogBackend(
            f"profile {profile.name!r} has no Loki: "
            f"sre-console profile add {profile.name} --loki URL ..."
        )
    target = http_target(profile, secrets)
    headers = target.headers
    if profile.loki_org_id:
        others = tuple((k, v) for k, v in headers if k.lower() != ORG_HEADER.lower())
        headers = (*others, (ORG_HEADER, profile.loki_org_id))
    loki_target = dataclasses.replace(target, base_url=profile.loki_url, headers=headers)
    return LokiBackend(HttpJsonClient(loki_target), name=profile.name)


def open_log_service(
    profile: Profile,
    secrets: SecretStore,
    *,
    audit: AuditLog | None = None,
    review_queue: ReviewQueue | None = None,
    demo_serving: ServingAt | None = None,
) -> LogService:
    """The log service of one profile, over a backend nobody else uses (see open_log_backend);
    with ``review_queue``, outputs below the profile's review_threshold are queued."""
    return LogService(
        open_log_backend(profile, secrets, demo_serving=demo_serving),
        redactor=redactor_of(profile),
        field_map=FieldMap.with_overrides(profile.log_fields),
        deployment_label=profile.deployment_label,
        version_label=profile.version_label,
        profile=profile,
        audit=audit,
        review_queue=review_queue,
    )


def redactor_of(profile: Profile) -> Redactor:
    """The redactor with the profile's own patterns (validated with the profile)."""
    return Redactor(profile.redaction_patterns)
