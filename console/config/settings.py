"""Typed settings: profiles (one per environment) and UI preferences."""

import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from console.domain.slo import SloThresholds

SCHEMA_VERSION = 1
DEMO_PROFILE_NAME = "demo"
PRESETS = ("vllm", "tgi", "llamacpp", "triton", "otel")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HEADER_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


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
    preset: str | None = None
    queries: tuple[tuple[str, str], ...] = ()
    info_metric: str = "model_info"
    deployment_label: str = "deployment"
    version_label: str = "version"
    scrape_interval_s: float = 15.0
    timeout_s: float = 10.0
    rate_window_s: float = 300.0
    slo: SloThresholds = field(default_factory=SloThresholds)

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


def validate_profile(profile: Profile) -> None:
    """Raise SettingsError naming the first field with an impossible value."""
    if not _NAME_RE.match(profile.name):
        raise SettingsError(
            "name", f"{profile.name!r} must be 1-64 letters, digits, '.', '_' or '-'"
        )
    if not profile.is_demo:
        parts = urlsplit(profile.prometheus_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(
                "prometheus_url", f"{profile.prometheus_url!r} is not an http(s) URL"
            )
        if parts.username or parts.password:
            raise SettingsError(
                "prometheus_url", "must not contain credentials; use --auth and the keyring"
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

    def profile(self, name: str) -> Profile | None:
        """The profile called ``name``, if any."""
        return next((p for p in self.profiles if p.name == name), None)

    def with_profile(self, profile: Profile) -> "Settings":
        """A copy where ``profile`` is added or replaces the one of the same name."""
        others = tuple(p for p in self.profiles if p.name != profile.name)
        return Settings(profiles=(*others, profile), ui=self.ui)

    def without_profile(self, name: str) -> "Settings":
        """A copy without the profile called ``name``."""
        return Settings(profiles=tuple(p for p in self.profiles if p.name != name), ui=self.ui)


DEMO_PROFILE = Profile(
    name=DEMO_PROFILE_NAME,
    prometheus_url="demo:",
    role=Role.ADMIN,
    refresh_interval_s=5.0,
    scrape_interval_s=15.0,
)
"""The embedded DEMO environment: a seeded simulation, clearly labelled in every view."""
