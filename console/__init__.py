"""SRE Console for AI systems: fleet health, drift, synthetic suites and guarded rollback."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sre-console")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
