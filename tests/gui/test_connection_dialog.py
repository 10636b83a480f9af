"""The connection dialog: test a profile off the GUI thread, save it and its secret."""

import threading
from pathlib import Path

import pytest
from keyring.errors import KeyringLocked
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem

from console.backends.errors import AuthFailed
from console.config import paths
from console.config.secrets import SecretStore
from console.config.settings import AuthKind, Profile
from console.config.store import ConfigStore
from console.domain.cost import VersionPrice
from console.services.fleet import FleetService
from console.ui.connection_dialog import PRICES_HINT, SESSION_ONLY_TEXT, ConnectionDialog
from console.viewmodels.profiles import ProfilesViewModel
from tests.conftest import ConsoleDirs
from tests.support.fake_backend import FakeBackend, fake_service
from tests.support.memory_keyring import MemoryKeyring

TOKEN = "s3cr3t-token-never-in-files"


class Opened:
    """Records what the dialog's test opened: profile, secret it could read, backend."""

    def __init__(self) -> None:
        self.backend = FakeBackend()
        self.profiles: list[Profile] = []
        self.secrets: list[str | None] = []

    def __call__(self, profile: Profile, store: SecretStore) -> FleetService:
        self.profiles.append(profile)
        field = profile.secret_field
        self.secrets.append(store.get(profile.name, field) if field else None)
        return fake_service(self.backend, profile.name)


@pytest.fixture
def opened() -> Opened:
    return Opened()


@pytest.fixture
def dialog(qtbot, make_profiles, opened: Opened) -> ConnectionDialog:
    view = ConnectionDialog(make_profiles(open_service=opened))
    qtbot.addWidget(view)
    view.show()
    return view


def fill(view: ConnectionDialog, *, auth: AuthKind = AuthKind.BEARER) -> None:
    view.name.setText("prod-eu")
    view.url.setText("https://prometheus.prod-eu.example:9090")
    view.auth.setCurrentIndex(view.auth.findData(auth))
    view.secret.setText(TOKEN)


def files_under(*dirs: Path) -> list[Path]:
    return [p for d in dirs if d.exists() for p in d.rglob("*") if p.is_file()]


def test_test_button_shows_the_version_from_the_io_thread(qtbot, dialog, opened) -> None:
    fill(dialog)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text() == "Connected: Prometheus 2.45.3")
    assert dialog.test_result.property("outcome") == "ok"
    assert opened.backend.threads == {"io-loop"}
    assert opened.backend.closed
    assert opened.secrets == [TOKEN]
    assert opened.profiles[0].prometheus_url == "https://prometheus.prod-eu.example:9090"
    assert not paths.config_file().exists(), "testing must not save anything"


def test_test_button_shows_the_exact_error(qtbot, dialog, opened) -> None:
    message = (
        "401 Unauthorized from https://prometheus.prod-eu.example:9090/api/v1/status/buildinfo"
    )
    opened.backend.error = AuthFailed(message)
    fill(dialog)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.property("outcome") == "error")
    assert dialog.test_result.text() == message
    assert dialog.test_button.isEnabled()


def test_invalid_url_is_named_and_nothing_is_tested(qtbot, dialog, opened) -> None:
    fill(dialog)
    dialog.url.setText("prometheus:9090")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.form_error.text().startswith("prometheus_url: 'prometheus:9090'")
    assert opened.profiles == []


def test_save_writes_the_profile_and_the_secret_only_to_the_keyring(
    qtbot, dialog, keyring_backend: MemoryKeyring, console_dirs: ConsoleDirs
) -> None:
    fill(dialog)
    dialog.ca_file.setText("/etc/ssl/corp-ca.pem")
    dialog.headers.insertRow(0)
    dialog.headers.setItem(0, 0, QTableWidgetItem("X-Scope-OrgID"))
    dialog.headers.setItem(0, 1, QTableWidgetItem("team-a"))
    dialog.role.setCurrentIndex(dialog.role.findData("operator"))
    dialog.protected.setChecked(True)
    dialog.preset.setCurrentIndex(dialog.preset.findData("vllm"))
    with qtbot.waitSignal(dialog.accepted):
        dialog.save()
    saved = ConfigStore(paths.config_file()).load().profile("prod-eu")
    assert saved is not None
    assert saved.auth is AuthKind.BEARER and saved.ca_file == "/etc/ssl/corp-ca.pem"
    assert saved.headers == (("X-Scope-OrgID", "team-a"),)
    assert saved.role.value == "operator" and saved.protected and saved.preset == "vllm"
    assert keyring_backend.entries == {("sre-console", "prod-eu:token"): TOKEN}
    for path in files_under(console_dirs.config, console_dirs.data):
        assert TOKEN not in path.read_text(encoding="utf-8", errors="replace"), path


def test_insecure_tls_shows_a_red_warning(dialog) -> None:
    assert not dialog.tls_warning.isVisible()
    dialog.insecure.setChecked(True)
    assert dialog.tls_warning.isVisible()
    assert dialog.tls_warning.text().startswith("TLS verification OFF")
    assert dialog.tls_warning.objectName() == "tlsWarning"


def test_without_a_keyring_the_dialog_says_so_and_offers_a_session_secret(
    qtbot, make_profiles, no_keyring: SecretStore, console_dirs: ConsoleDirs
) -> None:
    profiles: ProfilesViewModel = make_profiles(secret_store=no_keyring)
    view = ConnectionDialog(profiles)
    qtbot.addWidget(view)
    view.show()
    assert view.keyring_note.text() == no_keyring.unavailable_reason()
    assert view.session_only.isVisible() and view.session_only.text() == SESSION_ONLY_TEXT
    fill(view)
    view.save()
    assert view.form_error.text().startswith(no_keyring.unavailable_reason())
    assert not paths.config_file().exists()

    view.session_only.setChecked(True)
    with qtbot.waitSignal(view.accepted):
        view.save()
    assert no_keyring.get("prod-eu", "token") == TOKEN
    for path in files_under(console_dirs.config, console_dirs.data):
        assert TOKEN not in path.read_text(encoding="utf-8", errors="replace"), path


def test_editing_keeps_the_name_and_the_stored_secret(
    qtbot, make_profiles, opened, secrets: SecretStore
) -> None:
    store = ConfigStore(paths.config_file())
    store.save(
        store.load().with_profile(Profile("prod-eu", "https://p:9090", auth=AuthKind.BEARER))
    )
    secrets.set("prod-eu", "token", TOKEN)
    profiles: ProfilesViewModel = make_profiles(open_service=opened)
    view = ConnectionDialog(profiles, profiles.profile("prod-eu"))
    qtbot.addWidget(view)
    assert view.name.isReadOnly()
    qtbot.waitUntil(lambda: "leave empty to keep" in view.secret.placeholderText())
    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.test_result.property("outcome") == "ok")
    assert opened.secrets == [TOKEN]
    view.refresh.setValue(30)
    with qtbot.waitSignal(view.accepted):
        view.save()
    saved = ConfigStore(paths.config_file()).load().profile("prod-eu")
    assert saved is not None and saved.refresh_interval_s == 30
    assert secrets.get("prod-eu", "token") == TOKEN


class ThreadRecordingKeyring(MemoryKeyring):
    """Records the thread of every keyring call; ``refuse`` makes writes fail."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[str] = set()
        self.refuse = False

    def get_password(self, service: str, username: str) -> str | None:
        self.threads.add(threading.current_thread().name)
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.threads.add(threading.current_thread().name)
        if self.refuse:
            raise KeyringLocked("the collection is locked")
        super().set_password(service, username, password)


def test_keyring_calls_run_on_the_io_loop_and_a_refusal_keeps_the_dialog_open(
    qtbot, make_profiles
) -> None:
    backend = ThreadRecordingKeyring()
    backend.refuse = True
    profiles: ProfilesViewModel = make_profiles(secret_store=SecretStore(backend))
    view = ConnectionDialog(profiles)
    qtbot.addWidget(view)
    fill(view)
    view.save()
    qtbot.waitUntil(lambda: view.form_error.text() != "")
    assert view.form_error.text().startswith("The profile was saved but its token was not")
    assert TOKEN not in view.form_error.text()
    assert ConfigStore(paths.config_file()).load().profile("prod-eu") is not None
    assert not view.result()

    edit = ConnectionDialog(profiles, profiles.profile("prod-eu"))
    qtbot.addWidget(edit)
    backend.refuse = False
    edit.secret.setText(TOKEN)
    with qtbot.waitSignal(edit.accepted):
        edit.save()
    assert backend.entries == {("sre-console", "prod-eu:token"): TOKEN}
    assert backend.threads == {"io-loop"}


def test_grafana_and_canary_fields_are_saved_and_prices_are_kept(
    qtbot, make_profiles, console_dirs: ConsoleDirs
) -> None:
    store = ConfigStore(paths.config_file())
    prices = (VersionPrice("v2", per_gpu_hour=2.5, gpus=4.0),)
    store.save(store.load().with_profile(Profile("prod-eu", "https://p:9090", prices=prices)))
    profiles: ProfilesViewModel = make_profiles()
    view = ConnectionDialog(profiles, profiles.profile("prod-eu"))
    qtbot.addWidget(view)
    assert view.canary_min_requests.value() == 100
    assert view.prices_hint.text() == PRICES_HINT
    view.grafana_url.setText(" https://grafana.example:3000 ")
    view.grafana_datasource.setText("P1809F7CD0C75ACF3")
    view.canary_min_requests.setValue(500)
    with qtbot.waitSignal(view.accepted):
        view.save()
    saved = ConfigStore(paths.config_file()).load().profile("prod-eu")
    assert saved is not None
    assert saved.grafana_url == "https://grafana.example:3000"
    assert saved.grafana_datasource == "P1809F7CD0C75ACF3"
    assert saved.canary_min_requests == 500.0
    assert saved.prices == prices, "prices live in the file only; the form keeps them"

    again = ConnectionDialog(profiles, saved)
    qtbot.addWidget(again)
    assert again.grafana_url.text() == "https://grafana.example:3000"
    assert again.canary_min_requests.value() == 500


def test_grafana_url_with_credentials_is_refused(qtbot, dialog) -> None:
    fill(dialog)
    dialog.grafana_url.setText("https://admin:admin@grafana.example")
    dialog.save()
    assert dialog.form_error.text().startswith("grafana_url: must not contain credentials")
    assert not paths.config_file().exists()
