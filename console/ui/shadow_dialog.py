"""Asks for the candidate endpoint of a shadow comparison: base URL and model name."""

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.viewmodels.suite_runs import Candidate

DEMO_HINT = "Empty: the DEMO's model server. support-chat@v41 pins version v41."


class ShadowDialog(QDialog):
    """The same suite against ``deployment`` and a candidate, case by case."""

    def __init__(self, deployment: str, *, demo: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Shadow run: {deployment} against a candidate")
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText(
            "the DEMO's model server" if demo else "http://host:8000/v1"
        )
        self.model = QLineEdit(f"{deployment}@v41" if demo and deployment == "support-chat" else "")
        self.model.setPlaceholderText("model name the candidate serves")
        explanation = QLabel(
            "Sends the deployment's suite to production and to the candidate, then shows "
            "which cases moved from pass to fail and back. The candidate uses the "
            "deployment's API key, if it has one." + (f"\n{DEMO_HINT}" if demo else "")
        )
        explanation.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run both")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Candidate base URL", self.base_url)
        form.addRow("Candidate model", self.model)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._demo = demo
        self.base_url.textChanged.connect(self._check)
        self.model.textChanged.connect(self._check)
        self._check()

    def candidate(self) -> Candidate:
        """What the user entered."""
        return Candidate(self.base_url.text().strip(), self.model.text().strip())

    def _check(self) -> None:
        candidate = self.candidate()
        url_ok = (
            candidate.base_url.startswith(("http://", "https://"))
            if candidate.base_url
            else self._demo
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(url_ok and bool(candidate.model))
