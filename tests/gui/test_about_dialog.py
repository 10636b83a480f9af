"""Help > About shows the one version (the package metadata's) and where files are kept."""

from PySide6.QtWidgets import QMenu

from console import __version__
from console.config import paths
from console.ui.about_dialog import AboutDialog
from console.ui.main_window import FleetWindow
from console.ui.theme import ThemeController


def test_about_shows_the_package_version_runtime_and_dirs(qtbot) -> None:
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    assert __version__ != "0+unknown"  # the tests run against the installed package metadata
    assert dialog.title.text() == f"<h2>SRE Console {__version__}</h2>"
    details = dialog.details.text().splitlines()
    assert details[0] == f"Version {__version__} (Python package), license Apache-2.0"
    assert details[1].startswith("PySide6 ") and ", Qt " in details[1]
    assert f"Config: {paths.config_dir()}" in details
    assert f"Data: {paths.data_dir()}" in details


def test_the_help_menu_opens_about(qtbot, qapp, make_profiles) -> None:
    window = FleetWindow(make_profiles(), ThemeController(qapp))
    qtbot.addWidget(window)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert isinstance(help_menu, QMenu)
    assert [a.text() for a in help_menu.actions()] == ["Keyboard shortcuts", "About SRE Console"]
    window.about_action.trigger()
    qtbot.waitUntil(lambda: window.findChild(AboutDialog) is not None)
    dialog = window.findChild(AboutDialog)
    assert dialog.isVisible()
    assert __version__ in dialog.title.text()
