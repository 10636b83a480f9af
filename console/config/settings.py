"""Typed settings: profiles (one per environment), UI preferences and dashboards."""

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from console.domain.alerts import DEFAULT_DEPLOYMENT_LABELS
from console.domain.cost import VersionPrice
from console.domain.drift import DEFAULT_MIN_COUNT, DriftMetric, DriftThresholds
from console.domain.notifications import NotificationRules
from console.domain.signals import Signal
from console.domain.slo import SloThresholds

if TYPE_CHECKING:  # registry.py imports SettingsError from here
    from console.config.registry import RegistrySettings

SCHEMA_VERSION = 1
DEMO_PROFILE_NAME = "demo"
PRESETS = ("vllm", "tgi", "llamacpp", "triton", "otel")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HEADER_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_DATASOURCE_UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_METRIC_NAME_RE = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
_LABEL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ALL_SIGNALS = "*"
"""The ``signal`` of a DriftSetting that applies to every histogram without its own."""
GRID_COLUMNS = 12
"""A dashboard is this many columns wide."""
GRID_ROWS = 200
"""...and at most this many rows deep (a bound, so a typo like row_span = 1e9 cannot hang)."""


class AuthKind(StrEnum):
    """How the console authenticates to a profile's Prometheus."""

    NONE = "none"
    BEARER = "bearer"
    BASIC = "basic"


class Role(StrEnum):
    """What the engineer may do through this profile."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class Theme(StrEnum):
    """Colour theme; SYSTEM follows the OS."""

    SYSTEM = "system"
    DARK = "dark"
    LIGHT = "light"


class SettingsError(ValueError):
    """A setting has a value it cannot have; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class DriftSetting:
    """Warn and alert levels of one drift metric for one histogram (or ``*``: every one)."""

    signal: str
    metric: DriftMetric
    thresholds: DriftThresholds


@dataclass(frozen=True)
class ModelEndpoint:
    """The OpenAI-compatible endpoint a deployment answers at, for synthetic suites.

    ``api_key_ref`` names the keyring entry ``{api_key_ref}:token`` holding its key (None:
    no key); ``suite`` is the path of the suite bound to the deployment (None: the shipped
    smoke suite).
    """

    deployment: str
    base_url: str
    model: str
    api_key_ref: str | None = None
    suite: str | None = None


@dataclass(frozen=True)
class Profile:
    """One environment (prod-eu, staging…): where its Prometheus is and how to reach it.

    Secrets are not here: they live in the OS keyring, keyed by profile name and field.
    """

    name: str
    prometheus_url: str
    auth: AuthKind = AuthKind.NONE
    username: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    refresh_interval_s: float = 15.0
    role: Role = Role.VIEWER
    protected: bool = False
    protected_operators_may_act: bool = False
    """On a protected profile, operators may act too (not only admins)."""
    preset: str | None = None
    queries: tuple[tuple[str, str], ...] = ()
    info_metric: str = "model_info"
    deployment_label: str = "deployment"
    version_label: str = "version"
    scrape_interval_s: float = 15.0
    timeout_s: float = 10.0
    rate_window_s: float = 300.0
    slo: SloThresholds = field(default_factory=SloThresholds)
    grafana_url: str | None = None
    grafana_datasource: str | None = None
    canary_min_requests: float = 100.0
    prices: tuple[VersionPrice, ...] = ()
    drift: tuple[DriftSetting, ...] = ()
    drift_min_count: float = DEFAULT_MIN_COUNT
    endpoints: tuple[ModelEndpoint, ...] = ()
    alertmanager_url: str | None = None
    alertmanager_auth: AuthKind = AuthKind.NONE
    alertmanager_username: str | None = None
    alert_deployment_labels: tuple[str, ...] = DEFAULT_DEPLOYMENT_LABELS
    """Alert labels naming the deployment an alert is about, tried in this order."""
    notifications: NotificationRules = field(default_factory=NotificationRules)
    registry: "RegistrySettings | None" = None
    """Where rollback and failover act (console.config.registry); None: nowhere yet."""
    loki_url: str | None = None
    """The Loki holding the prompt/output logs (same auth and TLS settings); None: no logs."""
    loki_org_id: str | None = None
    """The tenant sent to a multi-tenant Loki as X-Scope-OrgID."""
    log_fields: tuple[tuple[str, str], ...] = ()
    """Log record field -> JSON path, tried before the built-in paths (domain.log_records)."""
    redaction_patterns: tuple[tuple[str, str], ...] = ()
    """User-defined redaction patterns, name -> regex; a match becomes [NAME]."""
    review_threshold: float = 0.5
    """Outputs whose confidence is below this go to the human review queue."""

    def __post_init__(self) -> None:
        validate_profile(self)

    @property
    def is_demo(self) -> bool:
        """True for the embedded, simulated DEMO environment."""
        return self.name == DEMO_PROFILE_NAME

    @property
    def secret_field(self) -> str | None:
        """The keyring field this profile's auth needs ("token", "password"), if any."""
        return {AuthKind.BEARER: "token", AuthKind.BASIC: "password"}.get(self.auth)

    def drift_thresholds(self, signal: str, metric: DriftMetric) -> DriftThresholds | None:
        """The levels set for ``signal`` and ``metric``, else those set for every signal
        (``*``), else None: the metric's defaults apply."""
        chosen = {(s.signal, s.metric): s.thresholds for s in self.drift}
        return chosen.get((signal, metric), chosen.get((ALL_SIGNALS, metric)))

    @property
    def alertmanager_secret_field(self) -> str | None:
        """The keyring field of the Alertmanager's secret, if its auth needs one."""
        return {
            AuthKind.BEARER: "alertmanager_token",
            AuthKind.BASIC: "alertmanager_password",
        }.get(self.alertmanager_auth)

    def endpoint(self, deployment: str) -> ModelEndpoint | None:
        """The model endpoint set for ``deployment``, if any."""
        return next((e for e in self.endpoints if e.deployment == deployment), None)


def validate_profile(profile: Profile) -> None:
    """Raise SettingsError naming the first field with an impossible value."""
    if not _NAME_RE.match(profile.name):
        raise SettingsError(
            "name", f"{profile.name!r} must be 1-64 letters, digits, '.', '_' or '-'"
        )
    if not profile.is_demo:
        _check_http_url("prometheus_url", profile.prometheus_url, "use --auth and the keyring")
    if profile.grafana_url is not None:
        _check_http_url("grafana_url", profile.grafana_url, "Grafana signs you in itself")
    uid = profile.grafana_datasource
    if uid is not None and not _DATASOURCE_UID_RE.match(uid):
        raise SettingsError(
            "grafana_datasource",
            f"{uid!r} is not a datasource UID (1-40 letters, digits, '_' or '-')",
        )
    if profile.auth is AuthKind.BASIC and not profile.username:
        raise SettingsError("username", "basic auth needs a username")
    if profile.preset is not None and profile.preset not in PRESETS:
        raise SettingsError("preset", f"{profile.preset!r} is not one of {', '.join(PRESETS)}")
    for key, value in profile.headers:
        if not _HEADER_RE.match(key):
            raise SettingsError("headers", f"{key!r} is not a valid header name")
        if "\n" in value or "\r" in value:
            raise SettingsError("headers", f"value of {key!r} contains a line break")
    for key in ("refresh_interval_s", "scrape_interval_s", "timeout_s", "rate_window_s"):
        value = getattr(profile, key)
        if not value > 0:
            raise SettingsError(key, f"must be a positive number of seconds, got {value!r}")
    if not (math.isfinite(profile.canary_min_requests) and profile.canary_min_requests > 0):
        raise SettingsError(
            "canary_min_requests",
            f"must be a positive number of requests, got {profile.canary_min_requests!r}",
        )
    _validate_drift(profile)
    _validate_endpoints(profile.endpoints)
    _validate_alerting(profile)
    _validate_logs(profile)
    priced: set[tuple[str, str | None]] = set()
    for price in profile.prices:
        target = (price.version, price.deployment)
        if target in priced:
            where = f" in deployment {price.deployment!r}" if price.deployment else ""
            raise SettingsError("prices", f"version {price.version!r}{where} has two prices")
        priced.add(target)


def _validate_drift(profile: Profile) -> None:
    minimum = profile.drift_min_count
    if not (math.isfinite(minimum) and minimum > 0):
        raise SettingsError(
            "drift_min_count", f"must be a positive number of samples, got {minimum!r}"
        )
    seen: set[tuple[str, DriftMetric]] = set()
    for setting in profile.drift:
        key = f"drift.{setting.signal}.{setting.metric}"
        if setting.signal != ALL_SIGNALS and not _METRIC_NAME_RE.match(setting.signal):
            raise SettingsError(
                key, f"{setting.signal!r} is not a histogram name (or '*' for every histogram)"
            )
        levels = setting.thresholds
        if not all(math.isfinite(level) and level >= 0 for level in (levels.warn, levels.alert)):
            raise SettingsError(key, f"levels must be finite and >= 0, got {levels}")
        if (setting.signal, setting.metric) in seen:
            raise SettingsError(key, "is set twice")
        seen.add((setting.signal, setting.metric))


def _validate_alerting(profile: Profile) -> None:
    if profile.alertmanager_url is not None:
        _check_http_url("alertmanager_url", profile.alertmanager_url, "use --auth and the keyring")
    if profile.alertmanager_auth is AuthKind.BASIC and not profile.alertmanager_username:
        raise SettingsError("alertmanager_username", "basic auth needs a username")
    labels = profile.alert_deployment_labels
    if not labels:
        raise SettingsError("alert_deployment_labels", "name at least one label")
    for label in labels:
        if not _LABEL_NAME_RE.match(label):
            raise SettingsError("alert_deployment_labels", f"{label!r} is not a label name")
    if any(not name.strip() for name in profile.notifications.muted):
        raise SettingsError("notifications.muted", "a muted deployment name is empty")


def _validate_logs(profile: Profile) -> None:
    if profile.loki_url is not None:
        _check_http_url("loki_url", profile.loki_url, "use --auth and the keyring")
    org = profile.loki_org_id
    if org is not None and (not org.strip() or any(c in org for c in "\r\n|")):
        raise SettingsError("loki_org_id", f"{org!r} is not a tenant id")
    # Imported here, not at the top: compiling their patterns costs start-up time that only
    # profiles with these settings need to pay.
    if profile.log_fields:
        from console.domain.log_records import FieldMapError, check_field

        for name, path in profile.log_fields:
            try:
                check_field(name, path)
            except FieldMapError as exc:
                raise SettingsError(f"log_fields.{exc.key}", exc.message) from None
    if profile.redaction_patterns:
        from console.domain.redaction import PatternError, compile_custom_pattern

        for name, pattern in profile.redaction_patterns:
            try:
                compile_custom_pattern(name, pattern)
            except PatternError as exc:
                raise SettingsError(f"redaction_patterns.{exc.name}", exc.message) from None
    if not (math.isfinite(profile.review_threshold) and 0 <= profile.review_threshold <= 1):
        raise SettingsError(
            "review_threshold",
            f"must be a confidence from 0 to 1, got {profile.review_threshold!r}",
        )


def _validate_endpoints(endpoints: tuple[ModelEndpoint, ...]) -> None:
    seen: set[str] = set()
    for index, endpoint in enumerate(endpoints):
        key = f"endpoints[{index}]"
        if not endpoint.deployment.strip():
            raise SettingsError(f"{key}.deployment", "must not be empty")
        if endpoint.deployment in seen:
            raise SettingsError(f"{key}.deployment", f"{endpoint.deployment!r} has two endpoints")
        seen.add(endpoint.deployment)
        _check_http_url(f"{key}.base_url", endpoint.base_url, "use api_key_ref and the keyring")
        if not endpoint.model.strip():
            raise SettingsError(f"{key}.model", "must not be empty")
        ref = endpoint.api_key_ref
        if ref is not None and not _NAME_RE.match(ref):
            raise SettingsError(
                f"{key}.api_key_ref", f"{ref!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        if endpoint.suite is not None and not endpoint.suite.strip():
            raise SettingsError(f"{key}.suite", "must be a path (leave it out for the smoke suite)")


def _check_http_url(key: str, url: str, credentials_hint: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(key, f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise SettingsError(key, f"must not contain credentials; {credentials_hint}")


class PanelKind(StrEnum):
    """What a pinned dashboard panel shows."""

    SIGNAL = "signal"
    """A deployment's Signal (``chart`` is the Signal value), one line per version."""
    PROMQL = "promql"
    """An Explore query (``expr``)."""
    CHART = "chart"
    """A chart of the deployment detail view that is not a Signal (``chart`` is its id)."""


@dataclass(frozen=True)
class PinnedPanel:
    """A panel on a dashboard and the grid cells it covers (row and column from 0)."""

    kind: PanelKind
    title: str
    deployment: str | None = None
    chart: str | None = None
    expr: str | None = None
    row: int = 0
    column: int = 0
    row_span: int = 1
    column_span: int = 1

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", PanelKind(self.kind))
        except ValueError:
            allowed = ", ".join(kind.value for kind in PanelKind)
            raise SettingsError("kind", f"{self.kind!r} is not one of {allowed}") from None
        validate_panel(self)

    def cells(self) -> set[tuple[int, int]]:
        """The (row, column) cells the panel covers."""
        return {
            (row, column)
            for row in range(self.row, self.row + self.row_span)
            for column in range(self.column, self.column + self.column_span)
        }

    @property
    def subject(self) -> tuple[PanelKind, str | None, str | None, str | None]:
        """What the panel shows, wherever it is and whatever its title."""
        return (self.kind, self.deployment, self.chart, self.expr)


def validate_panel(panel: PinnedPanel) -> None:
    """Raise SettingsError naming the first field of ``panel`` with an impossible value."""
    if not panel.title.strip():
        raise SettingsError("title", "must not be empty")
    if panel.kind is PanelKind.PROMQL and not (panel.expr and panel.expr.strip()):
        raise SettingsError("expr", "a promql panel needs the query in 'expr'")
    if panel.kind in (PanelKind.SIGNAL, PanelKind.CHART):
        if not panel.deployment:
            raise SettingsError("deployment", f"a {panel.kind} panel needs its deployment")
        if not panel.chart:
            raise SettingsError("chart", f"a {panel.kind} panel needs the chart it shows")
    if panel.kind is PanelKind.SIGNAL and panel.chart not in set(Signal):
        allowed = ", ".join(signal.value for signal in Signal)
        raise SettingsError("chart", f"{panel.chart!r} is not one of {allowed}")
    for key in ("row", "column"):
        if getattr(panel, key) < 0:
            raise SettingsError(key, f"must be 0 or more, got {getattr(panel, key)}")
    for key in ("row_span", "column_span"):
        if getattr(panel, key) < 1:
            raise SettingsError(key, f"must be 1 or more, got {getattr(panel, key)}")
    if panel.row + panel.row_span > GRID_ROWS:
        raise SettingsError(
            "row_span" if panel.row < GRID_ROWS else "row",
            f"rows {panel.row}-{panel.row + panel.row_span - 1} do not fit "
            f"the {GRID_ROWS} rows of the grid (numbered from 0)",
        )
    if panel.column >= GRID_COLUMNS:
        raise SettingsError("column", f"must be below {GRID_COLUMNS}, got {panel.column}")
    if panel.column + panel.column_span > GRID_COLUMNS:
        raise SettingsError(
            "column_span",
            f"columns {panel.column}-{panel.column + panel.column_span - 1} do not fit "
            f"the {GRID_COLUMNS} columns of the grid (numbered from 0)",
        )


def validate_dashboard(panels: tuple[PinnedPanel, ...]) -> None:
    """Raise SettingsError keyed ``[i]`` when panel ``i`` covers a cell of an earlier panel."""
    taken: dict[tuple[int, int], int] = {}
    for index, panel in enumerate(panels):
        for cell in sorted(panel.cells()):
            if cell in taken:
                other = taken[cell]
                raise SettingsError(
                    f"[{index}]",
                    f"{panel.title!r} overlaps {panels[other].title!r} "
                    f"at row {cell[0]}, column {cell[1]}",
                )
            taken[cell] = index


@dataclass(frozen=True)
class UiSettings:
    """Preferences of the desktop window."""

    theme: Theme = Theme.SYSTEM
    range_s: float = 3600.0
    last_profile: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything in the config file."""

    profiles: tuple[Profile, ...] = ()
    ui: UiSettings = field(default_factory=UiSettings)
    dashboards: Mapping[str, tuple[PinnedPanel, ...]] = field(default_factory=dict)
    """Pinned panels per profile name; the demo's too, though the demo is no saved profile."""

    def __post_init__(self) -> None:
        dashboards = {name: tuple(panels) for name, panels in self.dashboards.items() if panels}
        object.__setattr__(self, "dashboards", dashboards)
        for name, panels in dashboards.items():
            key = f"dashboards.{name}"
            if name != DEMO_PROFILE_NAME and self.profile(name) is None:
                raise SettingsError(key, f"there is no profile called {name!r}")
            try:
                validate_dashboard(panels)
            except SettingsError as exc:
                raise SettingsError(f"{key}{exc.key}", exc.message) from None

    def profile(self, name: str) -> Profile | None:
        """The profile called ``name``, if any."""
        return next((p for p in self.profiles if p.name == name), None)

    def with_profile(self, profile: Profile) -> "Settings":
        """A copy where ``profile`` is added or replaces the one of the same name."""
        others = tuple(p for p in self.profiles if p.name != profile.name)
        return dataclasses.replace(self, profiles=(*others, profile))

    def without_profile(self, name: str) -> "Settings":
        """A copy without the profile called ``name`` and its dashboard."""
        return dataclasses.replace(
            self,
            profiles=tuple(p for p in self.profiles if p.name != name),
            dashboards={k: v for k, v in self.dashboards.items() if k != name},
        )

    def dashboard(self, name: str) -> tuple[PinnedPanel, ...]:
        """The panels pinned to profile ``name``'s dashboard (empty when none)."""
        return self.dashboards.get(name, ())

    def with_dashboard(self, name: str, panels: tuple[PinnedPanel, ...]) -> "Settings":
        """A copy where profile ``name``'s dashboard is ``panels``; raises SettingsError."""
        return dataclasses.replace(self, dashboards={**self.dashboards, name: panels})


DEMO_PROFILE = Profile(
    name=DEMO_PROFILE_NAME,
    prometheus_url="demo:",
    role=Role.ADMIN,
    refresh_interval_s=5.0,
    scrape_interval_s=15.0,
    prices=(
        VersionPrice("v41", deployment="support-chat", per_gpu_hour=2.5, gpus=2),
        VersionPrice("v42", deployment="support-chat", per_gpu_hour=2.5, gpus=2),
        VersionPrice(
            "v7", deployment="doc-qa", per_1k_input_tokens=0.0005, per_1k_output_tokens=0.0015
        ),
        VersionPrice(
            "v8", deployment="doc-qa", per_1k_input_tokens=0.0004, per_1k_output_tokens=0.0012
        ),
    ),
)
"""The embedded DEMO environment: a seeded simulation, clearly labelled in every view."""
