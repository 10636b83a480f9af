"""Add, edit and test a profile. The test runs on the I/O loop, never on the GUI thread."""

import concurrent.futures
import dataclasses
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.config.settings import PRESETS, AuthKind, Profile, Role, SettingsError
from console.qtbridge.relay import FutureRelay
from console.ui.card import repolish
from console.ui.sidebar import TLS_OFF_MARKER
from console.viewmodels.profiles import ProfileSaveError, ProfilesViewModel

AUTO_PRESET = "auto (detect from metric names)"
SESSION_ONLY_TEXT = "Keep the secret for this session only"
PRICES_HINT = (
    "Prices per model version (per 1k tokens or per GPU-hour) are set in the config file, "
    "as [[profiles.NAME.prices]] tables."
)


class ConnectionDialog(QDialog):
    """The form of one profile. ``profile`` None adds a new one; the name of an edited
    profile is fixed, because its secret is stored under that name."""

    def __init__(
        self,
        profiles: ProfilesViewModel,
        profile: Profile | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._profiles = profiles
        self._original = profile
        self._relay = FutureRelay(self)
        self._testing: concurrent.futures.Future[Any] | None = None
        self.saved_profile: Profile | None = None
        self.setWindowTitle("Edit profile" if profile else "Add profile")
        self._create_fields()
        self._lay_out()
        self._fill(profile)
        self._on_auth_changed()
        self._on_insecure_changed()

    def _create_fields(self) -> None:
        secrets = self._profiles.secrets
        self.name = QLineEdit()
        self.name.setPlaceholderText("prod-eu")
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://prometheus.example.com")
        self.auth = QComboBox()
        for kind in AuthKind:
            self.auth.addItem(kind.value, kind)
        self.auth.currentIndexChanged.connect(self._on_auth_changed)
        self.username = QLineEdit()
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.keyring_note = QLabel()
        self.keyring_note.setWordWrap(True)
        self.session_only = QCheckBox(SESSION_ONLY_TEXT)
        if secrets.available:
            self.keyring_note.setText(
                f"Secrets are stored in the OS keyring ({secrets.backend_name})."
            )
            self.session_only.hide()
        else:
            self.keyring_note.setObjectName("keyringWarning")
            self.keyring_note.setText(secrets.unavailable_reason())
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText("system trust store")
        self.browse_ca = QPushButton("Browse…")
        self.browse_ca.clicked.connect(self._browse_ca)
        self.insecure = QCheckBox("Skip TLS verification (insecure)")
        self.insecure.toggled.connect(self._on_insecure_changed)
        self.tls_warning = QLabel(
            f"{TLS_OFF_MARKER}: the server's certificate is not checked, so anyone on the "
            "network path could impersonate it and read your credentials."
        )
        self.tls_warning.setObjectName("tlsWarning")
        self.tls_warning.setWordWrap(True)
        self.headers = QTableWidget(0, 2)
        self.headers.setHorizontalHeaderLabels(["Header", "Value"])
        self.headers.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.headers.verticalHeader().hide()
        self.headers.setMinimumHeight(90)
        self.add_header = QPushButton("Add header")
        self.add_header.clicked.connect(lambda: self.headers.insertRow(self.headers.rowCount()))
        self.remove_header = QPushButton("Remove header")
        self.remove_header.clicked.connect(
            lambda: self.headers.removeRow(max(0, self.headers.currentRow()))
        )
        self.refresh = QDoubleSpinBox()
        self.refresh.setRange(1.0, 3600.0)
        self.refresh.setDecimals(0)
        self.refresh.setSuffix(" s")
        self.role = QComboBox()
        for role in Role:
            self.role.addItem(role.value, role)
        self.protected = QCheckBox("Protected (production: actions need extra confirmation)")
        self.preset = QComboBox()
        self.preset.addItem(AUTO_PRESET, None)
        for preset in PRESETS:
            self.preset.addItem(preset, preset)
        self.alertmanager_url = QLineEdit()
        self.alertmanager_url.setPlaceholderText(
            "https://alertmanager.example.com (optional: alerts and silences)"
        )
        self.grafana_url = QLineEdit()
        self.grafana_url.setPlaceholderText("https://grafana.example.com (optional)")
        self.grafana_datasource = QLineEdit()
        self.grafana_datasource.setPlaceholderText("datasource UID, e.g. P1809F7CD0C75ACF3")
        self.loki_url = QLineEdit()
        self.loki_url.setPlaceholderText("https://loki.example.com (optional: prompt/output logs)")
        self.loki_url.setToolTip("Loki uses the profile's authentication, TLS and headers")
        self.loki_org_id = QLineEdit()
        self.loki_org_id.setPlaceholderText("tenant, sent as X-Scope-OrgID (optional)")
        self.canary_min_requests = QDoubleSpinBox()
        self.canary_min_requests.setRange(1.0, 1e9)
        self.canary_min_requests.setDecimals(0)
        self.canary_min_requests.setSuffix(" requests")
        self.canary_min_requests.setToolTip(
            "Below this many requests per version in the rate window, the canary "
            "comparison says 'inconclusive'."
        )
        self.prices_hint = QLabel(PRICES_HINT)
        self.prices_hint.setObjectName("formHint")
        self.prices_hint.setWordWrap(True)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.form_error = QLabel()
        self.form_error.setObjectName("formError")
        self.form_error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Prometheus URL", self.url)
        form.addRow("Alertmanager URL", self.alertmanager_url)
        form.addRow("Authentication", self.auth)
        form.addRow("Username", self.username)
        form.addRow("Token / password", self.secret)
        form.addRow("", self.keyring_note)
        form.addRow("", self.session_only)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(self.browse_ca)
        form.addRow("CA bundle", ca_row)
        form.addRow("TLS", self.insecure)
        form.addRow("", self.tls_warning)
        header_buttons = QHBoxLayout()
        header_buttons.addWidget(self.add_header)
        header_buttons.addWidget(self.remove_header)
        header_buttons.addStretch(1)
        headers = QVBoxLayout()
        headers.addWidget(self.headers)
        headers.addLayout(header_buttons)
        form.addRow("Extra headers", headers)
        form.addRow("Refresh interval", self.refresh)
        form.addRow("Role", self.role)
        form.addRow("", self.protected)
        form.addRow("Engine preset", self.preset)
        form.addRow("Grafana URL", self.grafana_url)
        form.addRow("Grafana datasource", self.grafana_datasource)
        form.addRow("Loki URL", self.loki_url)
        form.addRow("Loki org id", self.loki_org_id)
        form.addRow("Canary minimum", self.canary_min_requests)
        form.addRow("Prices", self.prices_hint)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(self.form_error)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

    def _fill(self, profile: Profile | None) -> None:
        if profile is None:
            self.refresh.setValue(15.0)
            self.canary_min_requests.setValue(Profile.canary_min_requests)
            return
        self.name.setText(profile.name)
        self.name.setReadOnly(True)
        self.name.setToolTip("The secret is stored under this name, so it cannot change.")
        self.url.setText(profile.prometheus_url)
        self.auth.setCurrentIndex(self.auth.findData(profile.auth))
        self.username.setText(profile.username or "")
        self._relay.deliver(self._profiles.secret_stored(profile), self._on_secret_looked_up)
        self.ca_file.setText(profile.ca_file or "")
        self.insecure.setChecked(profile.insecure)
        for key, value in profile.headers:
            row = self.headers.rowCount()
            self.headers.insertRow(row)
            self.headers.setItem(row, 0, QTableWidgetItem(key))
            self.headers.setItem(row, 1, QTableWidgetItem(value))
        self.refresh.setValue(profile.refresh_interval_s)
        self.role.setCurrentIndex(self.role.findData(profile.role))
        self.protected.setChecked(profile.protected)
        self.preset.setCurrentIndex(self.preset.findData(profile.preset))
        self.alertmanager_url.setText(profile.alertmanager_url or "")
        self.grafana_url.setText(profile.grafana_url or "")
        self.grafana_datasource.setText(profile.grafana_datasource or "")
        self.loki_url.setText(profile.loki_url or "")
        self.loki_org_id.setText(profile.loki_org_id or "")
        self.canary_min_requests.setValue(profile.canary_min_requests)

    def profile_from_form(self) -> Profile:
        """The profile the form describes; raises SettingsError naming the bad field."""
        auth = AuthKind(self.auth.currentData())
        username = self.username.text().strip() if auth is AuthKind.BASIC else ""
        values: dict[str, Any] = {
            "name": self.name.text().strip(),
            "prometheus_url": self.url.text().strip(),
            "auth": auth,
            "username": username or None,
            "ca_file": self.ca_file.text().strip() or None,
            "insecure": self.insecure.isChecked(),
            "headers": self._header_pairs(),
            "refresh_interval_s": float(self.refresh.value()),
            "role": Role(self.role.currentData()),
            "protected": self.protected.isChecked(),
            "preset": self.preset.currentData(),
            "alertmanager_url": self.alertmanager_url.text().strip() or None,
            "grafana_url": self.grafana_url.text().strip() or None,
            "grafana_datasource": self.grafana_datasource.text().strip() or None,
            "loki_url": self.loki_url.text().strip() or None,
            "loki_org_id": self.loki_org_id.text().strip() or None,
            "canary_min_requests": float(self.canary_min_requests.value()),
        }
        if self._original is not None:  # keep what the form does not show (queries, prices…)
            return dataclasses.replace(self._original, **values)
        return Profile(**values)

    def test_connection(self) -> None:
        """Check the unsaved values on the I/O loop; the outcome appears next to the button."""
        profile = self._valid_profile()
        if profile is None:
            return
        self._show_result("busy", "Testing…")
        self.test_button.setEnabled(False)
        future = self._profiles.test_connection(profile, self.secret.text() or None)
        self._testing = future
        self._relay.deliver(future, self._on_tested)

    def save(self) -> None:
        """Save the profile and its secret; on failure say why and keep the form."""
        profile = self._valid_profile()
        if profile is None:
            return
        try:
            storing = self._profiles.save_profile(
                profile,
                self.secret.text() or None,
                session_only=self.session_only.isChecked(),
                is_new=self._original is None,
            )
        except ProfileSaveError as exc:
            self.form_error.setText(str(exc))
            return
        self.saved_profile = profile
        self.buttons.setEnabled(False)
        self._relay.deliver(storing, self._on_secret_stored)

    def _on_secret_stored(self, future: "concurrent.futures.Future[None]") -> None:
        self.buttons.setEnabled(True)
        error = future.exception()
        if error is not None:
            self.form_error.setText(str(error))  # the profile is saved; the secret is not
            return
        self.accept()

    def _on_secret_looked_up(self, future: "concurrent.futures.Future[bool]") -> None:
        if not future.exception() and future.result():
            self.secret.setPlaceholderText("stored — leave empty to keep it")

    def _valid_profile(self) -> Profile | None:
        try:
            profile = self.profile_from_form()
        except SettingsError as exc:
            self.form_error.setText(str(exc))
            return None
        self.form_error.clear()
        return profile

    def _on_tested(self, future: "concurrent.futures.Future[Any]") -> None:
        if future is not self._testing:
            return
        self._testing = None
        self.test_button.setEnabled(True)
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            self._show_result("ok", f"Connected: {future.result()}")
        else:
            self._show_result("error", str(error) or type(error).__name__)

    def _show_result(self, outcome: str, text: str) -> None:
        self.test_result.setText(text)
        self.test_result.setToolTip(text)
        repolish(self.test_result, "outcome", outcome)

    def _header_pairs(self) -> tuple[tuple[str, str], ...]:
        pairs = []
        for row in range(self.headers.rowCount()):
            key, value = (self._cell(row, column) for column in (0, 1))
            if not key and not value:
                continue
            if not key:
                raise SettingsError("headers", f"row {row + 1} has a value but no header name")
            pairs.append((key, value))
        return tuple(pairs)

    def _cell(self, row: int, column: int) -> str:
        item = self.headers.item(row, column)
        return item.text().strip() if item is not None else ""

    def _on_auth_changed(self) -> None:
        auth = AuthKind(self.auth.currentData())
        self.username.setEnabled(auth is AuthKind.BASIC)
        self.secret.setEnabled(auth is not AuthKind.NONE)
        self.session_only.setEnabled(auth is not AuthKind.NONE)

    def _on_insecure_changed(self) -> None:
        self.tls_warning.setVisible(self.insecure.isChecked())

    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CA bundle", self.ca_file.text(), "Certificates (*.pem *.crt);;All files (*)"
        )
        if path:
            self.ca_file.setText(path)
