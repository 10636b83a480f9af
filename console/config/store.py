"""Load and save the TOML config file atomically, with errors that name file, line and key."""

import re
import tomllib
from dataclasses import fields
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from console.config.atomic import atomic_write_text
from console.config.registry import parse_registry, registry_table
from console.config.settings import (
    DEMO_PROFILE_NAME,
    SCHEMA_VERSION,
    AuthKind,
    DriftSetting,
    ModelEndpoint,
    PinnedPanel,
    Profile,
    Role,
    Settings,
    SettingsError,
    Theme,
    UiSettings,
)
from console.domain.cost import VersionPrice
from console.domain.drift import DriftMetric, DriftThresholds
from console.domain.notifications import NotificationRules, QuietHours
from console.domain.signals import Signal
from console.domain.slo import SloThresholds, Threshold

_PROFILE_KEYS = {f.name for f in fields(Profile)} - {"name"}
_UI_KEYS = {f.name for f in fields(UiSettings)}
_PRICE_FIELDS = {f.name: f.type for f in fields(VersionPrice)}
_PANEL_FIELDS = {f.name: f.type for f in fields(PinnedPanel)}
_ENDPOINT_FIELDS = {f.name: f.type for f in fields(ModelEndpoint)}
_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T", bound=Threshold)
_TOP_KEYS = {"schema_version", "profiles", "ui", "dashboards"}
_INDEXED_KEY = re.compile(r"^(.+?)\[(\d+)\](?:\.(.+))?$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class ConfigError(Exception):
    """The config file cannot be used. The message names file, line and key."""

    def __init__(self, path: Path, line: int | None, key: str | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")
        self.path = path
        self.line = line
        self.key = key


class ConfigStore:
    """The config file. A file that failed to load is never overwritten."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._load_failed = False

    def load(self) -> Settings:
        """Read the file; a missing file is an empty config. Raises ConfigError."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._load_failed = False
            return Settings()
        except (OSError, UnicodeDecodeError) as exc:
            self._load_failed = True
            raise ConfigError(self.path, None, None, f"cannot read: {exc}") from exc
        try:
            settings = parse_settings(text, self.path)
        except ConfigError:
            self._load_failed = True
            raise
        self._load_failed = False
        return settings

    def save(self, settings: Settings) -> None:
        """Write atomically. Refuses while the file on disk is one that failed to load."""
        if self._load_failed:
            raise ConfigError(
                self.path, None, None, "not saved: fix or move the malformed file first"
            )
        atomic_write_text(self.path, dump_settings(settings))


def parse_settings(text: str, path: Path) -> Settings:
    """Parse and validate the TOML text of a config file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _decode_error_line(str(exc), text)
        raise ConfigError(path, line, None, f"not valid TOML: {exc}") from exc
    locate = _Locator(text)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(
            path,
            locate(("",), "schema_version"),
            "schema_version",
            f"expected {SCHEMA_VERSION}, found {version!r}",
        )
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(path, locate(("",), key), key, "unknown key")
    profiles_table = data.get("profiles", {})
    if not isinstance(profiles_table, dict):
        raise ConfigError(path, locate(("",), "profiles"), "profiles", "must be a table")
    profiles = []
    for name, table in profiles_table.items():
        profiles.append(_parse_profile(name, table, path, locate))
    ui_table = data.get("ui", {})
    try:
        ui = _parse_ui(ui_table)
    except SettingsError as exc:
        raise ConfigError(path, locate(("ui",), exc.key), f"ui.{exc.key}", exc.message) from exc
    dashboards = _parse_dashboards(data.get("dashboards", {}), path, locate)
    try:
        return Settings(profiles=tuple(profiles), ui=ui, dashboards=dashboards)
    except SettingsError as exc:
        line = _line_of(locate, ("dashboards",), exc.key.removeprefix("dashboards."))
        raise ConfigError(path, line, exc.key, exc.message) from exc


def _parse_dashboards(
    table: Any, path: Path, locate: "_Locator"
) -> dict[str, tuple[PinnedPanel, ...]]:
    if not isinstance(table, dict):
        raise ConfigError(path, locate(("",), "dashboards"), "dashboards", "must be a table")
    dashboards = {}
    for name, panels in table.items():
        try:
            dashboards[name] = _panels_from_array(panels)
        except SettingsError as exc:
            key = f"{name}{exc.key}"
            line = _line_of(locate, ("dashboards",), key)
            raise ConfigError(path, line, f"dashboards.{key}", exc.message) from exc
    return dashboards


def _panels_from_array(value: Any) -> tuple[PinnedPanel, ...]:
    if not isinstance(value, list):
        raise SettingsError("", "must be an array of tables ([[dashboards.NAME]])")
    panels = []
    for index, table in enumerate(value):
        try:
            kwargs = _typed_table(table, _PANEL_FIELDS)
            missing = [key for key in ("kind", "title") if key not in kwargs]
            if missing:
                raise SettingsError("", f"needs {' and '.join(map(repr, missing))}")
            panels.append(PinnedPanel(**kwargs))
        except SettingsError as exc:
            raise SettingsError(f"[{index}].{exc.key}".rstrip("."), exc.message) from None
    return tuple(panels)


def _typed_table(table: Any, types: dict[str, Any]) -> dict[str, Any]:
    """The values of a table of a dataclass's fields, each checked against its field's type."""
    if not isinstance(table, dict):
        raise SettingsError("", "must be a table")
    for key, value in table.items():
        kind = types.get(key)
        if kind is None:
            raise SettingsError(key, f"unknown key; use one of {', '.join(types)}")
        if kind is int:
            valid = isinstance(value, int) and not isinstance(value, bool)
            expected = "a whole number"
        elif kind is float:
            valid = isinstance(value, int | float) and not isinstance(value, bool)
            expected = "a number"
        else:
            valid = isinstance(value, str)
            expected = "a string"
        if not valid:
            raise SettingsError(key, f"must be {expected}, got {value!r}")
    return {key: float(v) if types[key] is float else v for key, v in table.items()}


def _parse_profile(name: str, table: Any, path: Path, locate: "_Locator") -> Profile:
    section = ("profiles", name)
    if not isinstance(table, dict):
        raise ConfigError(path, locate(("profiles",), name), f"profiles.{name}", "must be a table")
    if name == DEMO_PROFILE_NAME:
        raise ConfigError(
            path, locate(section, None), f"profiles.{name}", "the name 'demo' is reserved"
        )
    for key in table:
        if key not in _PROFILE_KEYS:
            raise ConfigError(path, locate(section, key), f"profiles.{name}.{key}", "unknown key")
    try:
        return _profile_from_table(name, table)
    except SettingsError as exc:
        line = _line_of(locate, section, exc.key)
        raise ConfigError(path, line, f"profiles.{name}.{exc.key}", exc.message) from exc


def _line_of(locate: "_Locator", section: tuple[str, ...], key: str) -> int | None:
    """The line of ``key`` (dotted, maybe with one ``name[i]`` array index) under ``section``.

    Falls back to the enclosing table or array, so an error always points somewhere near.
    """
    indexed = _INDEXED_KEY.match(key)
    if indexed:
        array, index, sub = indexed.group(1), int(indexed.group(2)), indexed.group(3)
        table = (*section, array)
        return (
            (locate(table, sub, index) if sub else None)
            or locate(table, None, index)
            or locate(section, array)
        )
    sub_keys = key.split(".")
    return (
        locate((*section, *sub_keys[:-1]), sub_keys[-1])
        or locate(section, sub_keys[0])
        or locate((*section, sub_keys[0]), None, 0)
    )


def _profile_from_table(name: str, table: dict[str, Any]) -> Profile:
    kwargs: dict[str, Any] = {"name": name}
    for key, value in table.items():
        kwargs[key] = _convert_profile_value(key, value)
    if "prometheus_url" not in kwargs:
        raise SettingsError("prometheus_url", "is required")
    return Profile(**kwargs)


def _convert_profile_value(key: str, value: Any) -> Any:
    if key in ("auth", "alertmanager_auth"):
        return _enum(AuthKind, key, value)
    if key == "alert_deployment_labels":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(key, "must be an array of label names")
        return tuple(value)
    if key == "notifications":
        return _parse_notifications(value)
    if key == "role":
        return _enum(Role, key, value)
    if key in ("headers", "queries", "log_fields", "redaction_patterns"):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise SettingsError(key, "must be a table of strings")
        if key == "queries":
            for signal in value:
                _enum(Signal, f"queries.{signal}", signal)
        return tuple(value.items())
    if key == "slo":
        return _parse_slo(value)
    if key == "prices":
        return _parse_prices(value)
    if key == "drift":
        return _parse_drift(value)
    if key == "endpoints":
        return _parse_endpoints(value)
    if key == "review_threshold":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(key, f"must be a confidence from 0 to 1, got {value!r}")
        return float(value)
    if key in ("canary_min_requests", "drift_min_count"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            what = "requests" if key == "canary_min_requests" else "samples"
            raise SettingsError(key, f"must be a number of {what}, got {value!r}")
        return float(value)
    if key == "registry":
        return parse_registry(value)
    if key in ("insecure", "protected", "protected_operators_may_act"):
        if not isinstance(value, bool):
            raise SettingsError(key, f"must be true or false, got {value!r}")
        return value
    if key.endswith("_s"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(key, f"must be a number of seconds, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise SettingsError(key, f"must be a string, got {value!r}")
    return value


def _parse_notifications(value: Any) -> NotificationRules:
    """``{min_severity = "warning", muted = [...], quiet_hours = {start, end}}``."""
    if not isinstance(value, dict):
        raise SettingsError("notifications", "must be a table")
    unknown = set(value) - {"min_severity", "muted", "quiet_hours"}
    if unknown:
        key = sorted(unknown)[0]
        raise SettingsError(
            f"notifications.{key}", "unknown key; use min_severity, muted or quiet_hours"
        )
    severity = value.get("min_severity", NotificationRules.min_severity)
    muted = value.get("muted", [])
    if not isinstance(muted, list) or not all(isinstance(m, str) for m in muted):
        raise SettingsError("notifications.muted", "must be an array of deployment names")
    quiet = value.get("quiet_hours")
    quiet_hours = None
    if quiet is not None:
        if not isinstance(quiet, dict) or set(quiet) != {"start", "end"}:
            raise SettingsError(
                "notifications.quiet_hours", 'must be a table {start = "22:00", end = "07:00"}'
            )
        try:
            quiet_hours = QuietHours(str(quiet["start"]), str(quiet["end"]))
        except ValueError as exc:
            raise SettingsError("notifications.quiet_hours", str(exc)) from None
    try:
        return NotificationRules(str(severity), quiet_hours, tuple(muted))
    except ValueError as exc:
        raise SettingsError("notifications.min_severity", str(exc)) from None


def _parse_slo(value: Any) -> SloThresholds:
    if not isinstance(value, dict):
        raise SettingsError("slo", "must be a table")
    thresholds: dict[str, Threshold] = {}
    known = {f.name for f in fields(SloThresholds)}
    for figure, levels in value.items():
        key = f"slo.{figure}"
        if figure not in known:
            raise SettingsError(key, f"unknown figure; use one of {', '.join(sorted(known))}")
        thresholds[figure] = _levels(key, levels, Threshold)
    return SloThresholds(**thresholds)


def _levels(key: str, levels: Any, kind: type[_T]) -> _T:
    """A ``{warn = …, alert = …}`` table as a Threshold (or subclass)."""
    if not isinstance(levels, dict) or set(levels) != {"warn", "alert"}:
        raise SettingsError(key, "must be a table with exactly 'warn' and 'alert'")
    for level, number in levels.items():
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise SettingsError(f"{key}.{level}", f"must be a number, got {number!r}")
    try:
        return kind(warn=float(levels["warn"]), alert=float(levels["alert"]))
    except ValueError as exc:
        raise SettingsError(key, str(exc)) from exc


def _parse_drift(value: Any) -> tuple[DriftSetting, ...]:
    """``[profiles.NAME.drift.SIGNAL]`` tables of ``METRIC = {warn = …, alert = …}``."""
    if not isinstance(value, dict):
        raise SettingsError("drift", "must be a table of histogram names ('*' for every one)")
    settings = []
    for signal, metrics in value.items():
        if not isinstance(metrics, dict):
            raise SettingsError(f"drift.{signal}", "must be a table of drift metrics")
        for metric, levels in metrics.items():
            key = f"drift.{signal}.{metric}"
            thresholds = _levels(key, levels, DriftThresholds)
            settings.append(DriftSetting(signal, _enum(DriftMetric, key, metric), thresholds))
    return tuple(settings)


def _parse_prices(value: Any) -> tuple[VersionPrice, ...]:
    if not isinstance(value, list):
        raise SettingsError("prices", "must be an array of tables ([[profiles.NAME.prices]])")
    prices = []
    for index, table in enumerate(value):
        key = f"prices[{index}]"
        try:
            kwargs = _typed_table(table, _PRICE_FIELDS)
        except SettingsError as exc:
            raise SettingsError(f"{key}.{exc.key}".rstrip("."), exc.message) from None
        if "version" not in kwargs:
            raise SettingsError(key, "needs the version it applies to")
        try:
            prices.append(VersionPrice(**kwargs))
        except ValueError as exc:
            raise SettingsError(key, str(exc)) from None
    return tuple(prices)


def _parse_endpoints(value: Any) -> tuple[ModelEndpoint, ...]:
    if not isinstance(value, list):
        raise SettingsError("endpoints", "must be an array of tables ([[profiles.NAME.endpoints]])")
    endpoints = []
    for index, table in enumerate(value):
        key = f"endpoints[{index}]"
        try:
            kwargs = _typed_table(table, _ENDPOINT_FIELDS)
        except SettingsError as exc:
            raise SettingsError(f"{key}.{exc.key}".rstrip("."), exc.message) from None
        missing = [name for name in ("deployment", "base_url", "model") if name not in kwargs]
        if missing:
            raise SettingsError(key, f"needs {' and '.join(map(repr, missing))}")
        endpoints.append(ModelEndpoint(**kwargs))
    return tuple(endpoints)


def _parse_ui(table: Any) -> UiSettings:
    if not isinstance(table, dict):
        raise SettingsError("ui", "must be a table")
    for key in table:
        if key not in _UI_KEYS:
            raise SettingsError(key, "unknown key")
    range_s = table.get("range_s", UiSettings.range_s)
    if isinstance(range_s, bool) or not isinstance(range_s, int | float) or range_s <= 0:
        raise SettingsError("range_s", f"must be a positive number of seconds, got {range_s!r}")
    last = table.get("last_profile")
    if last is not None and not isinstance(last, str):
        raise SettingsError("last_profile", f"must be a string, got {last!r}")
    return UiSettings(
        theme=_enum(Theme, "theme", table.get("theme", Theme.SYSTEM.value)),
        range_s=float(range_s),
        last_profile=last,
    )


def _enum(cls: type[_E], key: str, value: Any) -> _E:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(member.value for member in cls)
        raise SettingsError(key, f"{value!r} is not one of {allowed}") from None


def dump_settings(settings: Settings) -> str:
    """The TOML text for ``settings`` (defaults are written too, so the file documents them).

    Prices, model endpoints and dashboard panels are arrays of tables
    (``[[profiles.NAME.prices]]``, ``[[profiles.NAME.endpoints]]``, ``[[dashboards.NAME]]``),
    one key a line, easy to edit by hand and to point errors at.
    """
    ui: dict[str, Any] = {"theme": settings.ui.theme.value, "range_s": settings.ui.range_s}
    if settings.ui.last_profile:
        ui["last_profile"] = settings.ui.last_profile
    chunks = [tomli_w.dumps({"schema_version": SCHEMA_VERSION, "ui": ui})]
    for profile in settings.profiles:
        chunks.append(tomli_w.dumps({"profiles": {profile.name: _profile_table(profile)}}))
        header = f"profiles.{_toml_key(profile.name)}"
        chunks.extend(_array_table(f"{header}.prices", _non_null(p)) for p in profile.prices)
        chunks.extend(_array_table(f"{header}.endpoints", _non_null(e)) for e in profile.endpoints)
    for name, panels in settings.dashboards.items():
        header = f"dashboards.{_toml_key(name)}"
        chunks.extend(_array_table(header, _non_null(panel)) for panel in panels)
    return "\n".join(chunks)


def _array_table(header: str, table: dict[str, Any]) -> str:
    return f"[[{header}]]\n{tomli_w.dumps(table)}"


def _non_null(item: VersionPrice | PinnedPanel | ModelEndpoint) -> dict[str, Any]:
    values = ((f.name, getattr(item, f.name)) for f in fields(item))
    return {key: value for key, value in values if value is not None}


def _toml_key(name: str) -> str:
    return name if _BARE_KEY.match(name) else f'"{name}"'


def _profile_table(profile: Profile) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for f in fields(Profile):
        value = getattr(profile, f.name)
        if f.name in ("name", "prices", "endpoints") or value is None:
            continue
        if f.name in ("headers", "queries", "log_fields", "redaction_patterns"):
            value = dict(value)
        elif f.name == "alert_deployment_labels":
            value = list(value)
        elif f.name == "notifications":
            value = _notifications_table(value)
        elif f.name == "registry":
            value = registry_table(value)
        elif f.name == "drift":
            if not value:
                continue
            value = _drift_table(value)
        elif f.name == "slo":
            value = {
                s.name: {
                    "warn": getattr(value, s.name).warn,
                    "alert": getattr(value, s.name).alert,
                }
                for s in fields(SloThresholds)
            }
        elif isinstance(value, AuthKind | Role):
            value = value.value
        table[f.name] = value
    return table


def _notifications_table(rules: NotificationRules) -> dict[str, Any]:
    table: dict[str, Any] = {"min_severity": rules.min_severity, "muted": list(rules.muted)}
    if rules.quiet_hours is not None:
        table["quiet_hours"] = {"start": rules.quiet_hours.start, "end": rules.quiet_hours.end}
    return table


def _drift_table(settings: tuple[DriftSetting, ...]) -> dict[str, dict[str, dict[str, float]]]:
    table: dict[str, dict[str, dict[str, float]]] = {}
    for setting in settings:
        levels = {"warn": setting.thresholds.warn, "alert": setting.thresholds.alert}
        table.setdefault(setting.signal, {})[setting.metric.value] = levels
    return table


def _decode_error_line(message: str, text: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    if match:
        return int(match.group(1))
    return max(1, len(text.splitlines())) if "end of document" in message else None


class _Locator:
    """Finds the line of a key inside a table in TOML text (tomllib keeps no positions)."""

    _HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(#.*)?$")
    _KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def __call__(
        self, table: tuple[str, ...], key: str | None, index: int | None = None
    ) -> int | None:
        """The line of ``key`` in ``table`` (its header when ``key`` is None); ``index``
        picks one table of an array of tables (``[[table]]``)."""
        target = tuple(part for part in table if part)
        current: tuple[str, ...] = ()
        occurrence: int | None = None
        seen: dict[tuple[str, ...], int] = {}
        for number, line in enumerate(self._lines, start=1):
            header = self._HEADER.match(line)
            if header:
                current = _split_dotted(header.group(1))
                occurrence = None
                if line.lstrip().startswith("[["):
                    occurrence = seen.get(current, 0)
                    seen[current] = occurrence + 1
                wanted = target if key is None else (*target, key)
                if current == wanted and occurrence == index:
                    return number
                continue
            match = self._KEY.match(line)
            if (
                match
                and current == target
                and occurrence == index
                and match.group(1).strip("\"'") == key
            ):
                return number
        return None


def _split_dotted(header: str) -> tuple[str, ...]:
    parts = re.findall(r"""\s*("[^"]*"|'[^']*'|[^.\s]+)\s*(?:\.|$)""", header)
    return tuple(part.strip("\"'") for part in parts)
