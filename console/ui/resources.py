"""Stylesheets and icons shipped in the ``sre_console_resources`` package."""

from importlib.resources import files

from PySide6.QtCore import QDir
from PySide6.QtGui import QIcon, QImage, QPixmap

PACKAGE = "sre_console_resources"
"""The top-level resources/ folder, as the wheel ships it."""
ICON_PREFIX = "sreicons"
"""Stylesheets name icons as ``url(sreicons:NAME.svg)``."""


def read_text(*parts: str) -> str:
    """The text of a resource file, e.g. ``read_text("styles", "dark.qss")``."""
    return files(PACKAGE).joinpath(*parts).read_text(encoding="utf-8")


def register_icon_path() -> None:
    """Let stylesheets find ``resources/icons`` under the ``sreicons:`` prefix."""
    QDir.setSearchPaths(ICON_PREFIX, [str(files(PACKAGE).joinpath("icons"))])


def icon(name: str) -> QIcon:
    """An icon from ``resources/icons`` (SVG is rendered by Qt's image plugin)."""
    data = files(PACKAGE).joinpath("icons", name).read_bytes()
    return QIcon(QPixmap.fromImage(QImage.fromData(data)))
