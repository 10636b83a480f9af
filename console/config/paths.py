"""Where the console keeps its config and data (platformdirs, overridable by env)."""

import os
from pathlib import Path

import platformdirs

APP_NAME = "sre-console"
CONFIG_DIR_ENV = "SRE_CONSOLE_CONFIG_DIR"
DATA_DIR_ENV = "SRE_CONSOLE_DATA_DIR"


def config_dir() -> Path:
    """The user config dir; SRE_CONSOLE_CONFIG_DIR overrides it."""
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """The user data dir (history, audit log); SRE_CONSOLE_DATA_DIR overrides it."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def config_file() -> Path:
    """The TOML file holding the profiles and UI preferences."""
    return config_dir() / "config.toml"
