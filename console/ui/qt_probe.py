"""The self-test's Qt checks, run in a process of their own (see console/self_test.py).

A platform plugin that cannot load aborts the process inside Qt; the parent reports that
from the exit status. Results travel back as ``(name, status, detail)`` tuples.
"""

import importlib
import pkgutil
import sys
from multiprocessing.connection import Connection

import console


def probe(results: Connection) -> None:
    """Send the results of the Qt, image plugin and module checks, one by one."""
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    results.send(
        (
            "qt",
            "ok",
            f"PySide6 {pyside_version}, Qt {qVersion()}, platform {app.platformName()}",
        )
    )
    results.send(_svg_check())
    results.send(_modules_check())
    results.close()


def _svg_check() -> tuple[str, str, str]:
    """The window icon renders: the SVG image plugin and the Qt SVG library are there."""
    from PySide6.QtGui import QImageReader

    from console.ui.resources import icon

    formats = sorted(bytes(f.data()).decode() for f in QImageReader.supportedImageFormats())
    if "svg" not in formats:
        return ("qt image plugins", "FAIL", f"no SVG image plugin; Qt reads {', '.join(formats)}")
    if icon("app.svg").pixmap(64, 64).isNull():
        return ("qt image plugins", "FAIL", "the SVG plugin is there but app.svg does not render")
    return ("qt image plugins", "ok", f"app.svg renders; Qt reads {', '.join(formats)}")


def _modules_check() -> tuple[str, str, str]:
    """Every console module imports (a bundle may miss a module only a later view needs)."""
    names = [module.name for module in pkgutil.walk_packages(console.__path__, prefix="console.")]
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
    if failed:
        return (
            "modules",
            "FAIL",
            f"{len(failed)} of {len(names)} do not import: {'; '.join(failed)}",
        )
    return ("modules", "ok", f"all {len(names)} console modules import")
