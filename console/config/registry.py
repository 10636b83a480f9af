"""A profile's model-registry and action settings: where rollback and failover act. No Qt.

In the profile file::

    [profiles.prod.registry]
    mlflow_url = "https://mlflow.internal"     # or: sre-console profile add --registry mlflow:URL
    token_ref = "mlflow-prod"                 # bearer token in the keyring entry mlflow-prod:token
    default_alias = "production"

    [profiles.prod.registry.deployments.support-chat]
    model = "support-chat-llm"                # default: the deployment's name
    alias = "prod"                            # default: default_alias
    precheck_model = "support-chat@{version}" # the endpoint model name that pins a version
    failover = { alias = "fallback" }         # or { model = "M", webhook = {...} }

    [profiles.prod.registry.deployments.support-chat.webhook]
    method = "POST"
    url = "https://deployer.internal/apps/{deployment}/sync"
    secret_headers = { Authorization = "deployer" }   # keyring entry deployer:token
    body = { revision = "{to_version}", note = "{reason} by {actor}" }
    status_url = "https://deployer.internal/apps/{deployment}/status"

Placeholders ({deployment}, {from_version}, {to_version}, {reason}, {actor}) may appear in
the URL, status URL, plain header values and any string of the body; the body is sent as
JSON built from the table, so a reason cannot break its syntax. Secret header values are
never in the file: ``secret_headers`` names keyring entries.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from console.config.settings import SettingsError

PLACEHOLDERS = ("deployment", "from_version", "to_version", "reason", "actor")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_ALIAS = "production"
MLFLOW_SCHEME = "mlflow:"
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HEADER_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ALIAS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,255}$")
_DONE = ("succeeded", "success", "successful", "done", "completed", "healthy", "synced")
_FAILED = ("failed", "failure", "error", "errored", "degraded", "cancelled")


@dataclass(frozen=True)
class WebhookTemplate:
    """A templated HTTP request that makes (or reports) a deployment change.

    Success is a 2xx answer; with ``status_url``, the JSON answer's ``status_field`` is then
    polled until it is one of ``done_values`` (or ``failed_values``).
    """

    url: str
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = ()
    secret_headers: tuple[tuple[str, str], ...] = ()
    """Header name -> keyring reference; the value is the entry ``{ref}:token``."""
    body: str | None = None
    """The JSON body template, as JSON text (a table in the TOML file)."""
    status_url: str | None = None
    status_field: str = "status"
    done_values: tuple[str, ...] = _DONE
    failed_values: tuple[str, ...] = _FAILED
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        _check_template_url("url", self.url)
        if self.method not in METHODS:
            raise SettingsError("method", f"{self.method!r} is not one of {', '.join(METHODS)}")
        for name, value in (*self.headers, *self.secret_headers):
            if not _HEADER_RE.match(name):
                raise SettingsError("headers", f"{name!r} is not a valid header name")
            if "\n" in value or "\r" in value:
                raise SettingsError("headers", f"value of {name!r} contains a line break")
        for name, value in self.headers:
            _check_placeholders(f"headers.{name}", value)
        for name, ref in self.secret_headers:
            if not _NAME_RE.match(ref):
                raise SettingsError(
                    f"secret_headers.{name}",
                    f"{ref!r} must be 1-64 letters, digits, '.', '_' or '-'",
                )
        if self.body is not None:
            try:
                body = json.loads(self.body)
            except ValueError as exc:
                raise SettingsError("body", f"is not JSON: {exc}") from None
            for text in _strings(body):
                _check_placeholders("body", text)
        if self.status_url is not None:
            _check_template_url("status_url", self.status_url)
        if not self.timeout_s > 0:
            raise SettingsError("timeout_s", f"must be a positive number, got {self.timeout_s!r}")

    @property
    def body_template(self) -> Any:
        """The body template as a JSON value (None: no body)."""
        return None if self.body is None else json.loads(self.body)


@dataclass(frozen=True)
class FailoverSettings:
    """Where a deployment fails over to: another alias of its model, or another model.

    ``alias``: the serving alias moves to the version this alias points at. ``model``: the
    deployment switches to that registered model's ``model_alias`` version, which only a
    ``webhook`` (this one, else the deployment's) can do.
    """

    alias: str | None = None
    model: str | None = None
    model_alias: str = DEFAULT_ALIAS
    webhook: WebhookTemplate | None = None

    def __post_init__(self) -> None:
        if (self.alias is None) == (self.model is None):
            raise SettingsError("failover", "set exactly one of 'alias' and 'model'")
        for key in ("alias", "model_alias"):
            value = getattr(self, key)
            if value is not None and not _ALIAS_RE.match(value):
                raise SettingsError(f"failover.{key}", f"{value!r} is not a valid alias")
        if self.model is not None and not self.model.strip():
            raise SettingsError("failover.model", "must not be empty")


@dataclass(frozen=True)
class DeploymentActions:
    """How one deployment is rolled back and failed over (None: the registry defaults)."""

    deployment: str
    model: str | None = None
    alias: str | None = None
    precheck_model: str | None = None
    """Endpoint model name that pins a version for the pre-check, with ``{version}``."""
    webhook: WebhookTemplate | None = None
    failover: FailoverSettings | None = None

    def __post_init__(self) -> None:
        if self.model is not None and not self.model.strip():
            raise SettingsError("model", "must not be empty")
        if self.alias is not None and not _ALIAS_RE.match(self.alias):
            raise SettingsError("alias", f"{self.alias!r} is not a valid alias")
        if self.precheck_model is not None and "{version}" not in self.precheck_model:
            raise SettingsError("precheck_model", "must contain {version}")


@dataclass(frozen=True)
class RegistrySettings:
    """Where a profile's deployments are switched, and how their switches are verified."""

    mlflow_url: str | None = None
    token_ref: str | None = None
    default_alias: str = DEFAULT_ALIAS
    deployments: tuple[DeploymentActions, ...] = ()
    audit_sink: WebhookTemplate | None = None
    """Where every audit entry of this profile is also POSTed, as JSON."""
    verify_timeout_s: float = 120.0
    poll_interval_s: float = 2.0
    timeout_s: float = 10.0
    _index: Mapping[str, DeploymentActions] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.mlflow_url is not None:
            _check_url("mlflow_url", self.mlflow_url)
        if self.token_ref is not None and not _NAME_RE.match(self.token_ref):
            raise SettingsError(
                "token_ref", f"{self.token_ref!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        if not _ALIAS_RE.match(self.default_alias):
            raise SettingsError("default_alias", f"{self.default_alias!r} is not a valid alias")
        for key in ("verify_timeout_s", "poll_interval_s", "timeout_s"):
            if not getattr(self, key) > 0:
                raise SettingsError(key, f"must be a positive number, got {getattr(self, key)!r}")
        index: dict[str, DeploymentActions] = {}
        for actions in self.deployments:
            if actions.deployment in index:
                raise SettingsError(f"deployments.{actions.deployment}", "is set twice")
            index[actions.deployment] = actions
        object.__setattr__(self, "_index", index)

    def deployment(self, name: str) -> DeploymentActions:
        """The settings of deployment ``name`` (defaults when it has none)."""
        return self._index.get(name) or DeploymentActions(name)

    def model_of(self, deployment: str) -> str:
        """The registered model a deployment maps to (default: its own name)."""
        return self.deployment(deployment).model or deployment

    def alias_of(self, deployment: str) -> str:
        """The alias that serves a deployment (default: ``default_alias``)."""
        return self.deployment(deployment).alias or self.default_alias


def parse_registry_spec(spec: str) -> RegistrySettings:
    """``mlflow:URL`` (the ``--registry`` option) as settings; SettingsError otherwise."""
    if not spec.startswith(MLFLOW_SCHEME):
        raise SettingsError("registry", f"{spec!r} is not mlflow:URL")
    return RegistrySettings(mlflow_url=spec.removeprefix(MLFLOW_SCHEME))


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{placeholder}`` replaced by its value."""
    return _PLACEHOLDER_RE.sub(lambda match: values[match.group(1)], text)


def render_json(template: Any, values: Mapping[str, str]) -> Any:
    """A JSON template with every string rendered (keys too)."""
    if isinstance(template, str):
        return render(template, values)
    if isinstance(template, list):
        return [render_json(item, values) for item in template]
    if isinstance(template, dict):
        return {render(k, values): render_json(v, values) for k, v in template.items()}
    return template


# TOML


def parse_registry(value: Any) -> RegistrySettings:
    """The ``[profiles.NAME.registry]`` table; SettingsError keyed below ``registry``."""
    try:
        return _parse_registry(value)
    except SettingsError as exc:
        raise SettingsError(f"registry.{exc.key}".rstrip("."), exc.message) from None


def registry_table(settings: RegistrySettings) -> dict[str, Any]:
    """The TOML table of ``settings`` (the inverse of :func:`parse_registry`)."""
    table: dict[str, Any] = {"default_alias": settings.default_alias}
    for key in ("mlflow_url", "token_ref"):
        if getattr(settings, key) is not None:
            table[key] = getattr(settings, key)
    for key in ("verify_timeout_s", "poll_interval_s", "timeout_s"):
        table[key] = getattr(settings, key)
    if settings.audit_sink is not None:
        table["audit_sink"] = _webhook_table(settings.audit_sink)
    if settings.deployments:
        table["deployments"] = {d.deployment: _deployment_table(d) for d in settings.deployments}
    return table


def _parse_registry(value: Any) -> RegistrySettings:
    table = _table(value, "")
    _only(
        table,
        "",
        {
            "mlflow_url",
            "token_ref",
            "default_alias",
            "deployments",
            "audit_sink",
            "verify_timeout_s",
            "poll_interval_s",
            "timeout_s",
        },
    )
    kwargs: dict[str, Any] = {}
    for key in ("mlflow_url", "token_ref", "default_alias"):
        if key in table:
            kwargs[key] = _string(table[key], key)
    for key in ("verify_timeout_s", "poll_interval_s", "timeout_s"):
        if key in table:
            kwargs[key] = _number(table[key], key)
    if "audit_sink" in table:
        kwargs["audit_sink"] = _nested(_parse_webhook, table["audit_sink"], "audit_sink")
    deployments = _table(table.get("deployments", {}), "deployments")
    kwargs["deployments"] = tuple(
        _nested(lambda t, n=name: _parse_deployment(n, t), item, f"deployments.{name}")
        for name, item in deployments.items()
    )
    return RegistrySettings(**kwargs)


def _parse_deployment(name: str, value: Any) -> DeploymentActions:
    table = _table(value, "")
    _only(table, "", {"model", "alias", "precheck_model", "webhook", "failover"})
    kwargs: dict[str, Any] = {"deployment": name}
    for key in ("model", "alias", "precheck_model"):
        if key in table:
            kwargs[key] = _string(table[key], key)
    if "webhook" in table:
        kwargs["webhook"] = _nested(_parse_webhook, table["webhook"], "webhook")
    if "failover" in table:
        kwargs["failover"] = _parse_failover(table["failover"])
    return DeploymentActions(**kwargs)


def _parse_failover(value: Any) -> FailoverSettings:
    table = _table(value, "failover")
    _only(table, "failover", {"alias", "model", "model_alias", "webhook"})
    kwargs: dict[str, Any] = {
        key: _string(table[key], f"failover.{key}")
        for key in ("alias", "model", "model_alias")
        if key in table
    }
    if "webhook" in table:
        kwargs["webhook"] = _nested(_parse_webhook, table["webhook"], "failover.webhook")
    return FailoverSettings(**kwargs)


def _parse_webhook(value: Any) -> WebhookTemplate:
    table = _table(value, "")
    _only(
        table,
        "",
        {
            "url",
            "method",
            "headers",
            "secret_headers",
            "body",
            "status_url",
            "status_field",
            "done_values",
            "failed_values",
            "timeout_s",
        },
    )
    if "url" not in table:
        raise SettingsError("url", "is required")
    kwargs: dict[str, Any] = {}
    for key in ("url", "method", "status_url", "status_field"):
        if key in table:
            kwargs[key] = _string(table[key], key)
    for key in ("headers", "secret_headers"):
        if key in table:
            headers = _table(table[key], key)
            kwargs[key] = tuple((name, _string(v, f"{key}.{name}")) for name, v in headers.items())
    for key in ("done_values", "failed_values"):
        if key in table:
            items = table[key]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise SettingsError(key, "must be an array of strings")
            kwargs[key] = tuple(items)
    if "timeout_s" in table:
        kwargs["timeout_s"] = _number(table["timeout_s"], "timeout_s")
    if "body" in table:
        body = table["body"]
        if isinstance(body, dict):
            kwargs["body"] = json.dumps(body, sort_keys=True, default=str)
        else:
            kwargs["body"] = _string(body, "body")
    return WebhookTemplate(**kwargs)


def _webhook_table(webhook: WebhookTemplate) -> dict[str, Any]:
    table: dict[str, Any] = {"url": webhook.url, "method": webhook.method}
    for key in ("headers", "secret_headers"):
        if getattr(webhook, key):
            table[key] = dict(getattr(webhook, key))
    if webhook.body is not None:
        body = webhook.body_template
        table["body"] = body if isinstance(body, dict) else webhook.body
    if webhook.status_url is not None:
        table["status_url"] = webhook.status_url
    table["status_field"] = webhook.status_field
    table["done_values"] = list(webhook.done_values)
    table["failed_values"] = list(webhook.failed_values)
    table["timeout_s"] = webhook.timeout_s
    return table


def _deployment_table(actions: DeploymentActions) -> dict[str, Any]:
    table: dict[str, Any] = {
        key: getattr(actions, key)
        for key in ("model", "alias", "precheck_model")
        if getattr(actions, key) is not None
    }
    if actions.webhook is not None:
        table["webhook"] = _webhook_table(actions.webhook)
    failover = actions.failover
    if failover is not None:
        table["failover"] = {
            key: getattr(failover, key)
            for key in ("alias", "model", "model_alias")
            if getattr(failover, key) is not None
        }
        if failover.webhook is not None:
            table["failover"]["webhook"] = _webhook_table(failover.webhook)
    return table


def _nested(parse: Any, value: Any, key: str) -> Any:
    try:
        return parse(value)
    except SettingsError as exc:
        raise SettingsError(f"{key}.{exc.key}".rstrip("."), exc.message) from None


def _table(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SettingsError(key, "must be a table")
    return value


def _only(table: dict[str, Any], where: str, known: set[str]) -> None:
    for key in table:
        if key not in known:
            name = f"{where}.{key}" if where else key
            raise SettingsError(name, f"unknown key; use one of {', '.join(sorted(known))}")


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise SettingsError(key, f"must be a string, got {value!r}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(key, f"must be a number, got {value!r}")
    return float(value)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, dict):
        return [*value, *(text for item in value.values() for text in _strings(item))]
    return []


def _check_placeholders(key: str, text: str) -> None:
    for name in _PLACEHOLDER_RE.findall(text):
        if name not in PLACEHOLDERS:
            raise SettingsError(
                key, f"unknown placeholder {{{name}}}; use {', '.join(PLACEHOLDERS)}"
            )


def _check_template_url(key: str, url: str) -> None:
    _check_placeholders(key, url)
    _check_url(key, render(url, dict.fromkeys(PLACEHOLDERS, "x")))


def _check_url(key: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(key, f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise SettingsError(key, "must not contain credentials; use the keyring")
