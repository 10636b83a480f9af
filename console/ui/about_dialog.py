"""Help > About: the version, what it runs on, and where it keeps its files."""

import platform
import sys

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from console import __version__
from console.config import paths
from console.ui.resources import icon

APP_NAME = "SRE Console"
LICENSE = "Apache-2.0"


class AboutDialog(QDialog):
    """The app's name and version (from the package metadata), runtime and file locations."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        logo = QLabel()
        logo.setPixmap(icon("app.svg").pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.title = QLabel(f"<h2>{APP_NAME} {__version__}</h2>")
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        summary = QLabel(
            "Fleet health, drift, synthetic prompt suites and guarded rollback "
            "for LLM and ML model deployments."
        )
        summary.setWordWrap(True)
        summary.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.details = QLabel(self.details_text())
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(logo)
        layout.addWidget(self.title)
        layout.addWidget(summary)
        layout.addSpacing(8)
        layout.addWidget(self.details)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    @staticmethod
    def details_text() -> str:
        """Version, runtime and file locations, as shown (and as a bug report wants them)."""
        build = "bundle" if getattr(sys, "frozen", False) else "Python package"
        return "\n".join(
            (
                f"Version {__version__} ({build}), license {LICENSE}",
                f"PySide6 {pyside_version}, Qt {qVersion()}, Python {platform.python_version()}",
                f"{platform.system()} {platform.release()} ({platform.machine()})",
                f"Config: {paths.config_dir()}",
                f"Data: {paths.data_dir()}",
            )
        )
