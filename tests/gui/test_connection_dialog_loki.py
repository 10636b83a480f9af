"""The connection dialog's Loki fields: saved with the profile, shown again, checked."""

from console.config import paths
from console.config.settings import Profile
from console.config.store import ConfigStore
from console.ui.connection_dialog import ConnectionDialog
from console.viewmodels.profiles import ProfilesViewModel
from tests.conftest import ConsoleDirs


def test_loki_url_and_org_id_are_saved_and_shown_again(
    qtbot, make_profiles, console_dirs: ConsoleDirs
) -> None:
    store = ConfigStore(paths.config_file())
    store.save(store.load().with_profile(Profile("prod-eu", "https://p:9090")))
    profiles: ProfilesViewModel = make_profiles()
    view = ConnectionDialog(profiles, profiles.profile("prod-eu"))
    qtbot.addWidget(view)
    assert view.loki_url.text() == "" and view.loki_org_id.text() == ""
    view.loki_url.setText(" https://loki.example:3100 ")
    view.loki_org_id.setText("team-ml")
    with qtbot.waitSignal(view.accepted):
        view.save()
    saved = ConfigStore(paths.config_file()).load().profile("prod-eu")
    assert saved is not None
    assert (saved.loki_url, saved.loki_org_id) == ("https://loki.example:3100", "team-ml")
    again = ConnectionDialog(profiles, saved)
    qtbot.addWidget(again)
    assert again.loki_url.text() == "https://loki.example:3100"
    assert again.loki_org_id.text() == "team-ml"


def test_a_loki_url_with_credentials_is_refused(qtbot, make_profiles) -> None:
    view = ConnectionDialog(make_profiles())
    qtbot.addWidget(view)
    view.name.setText("prod-eu")
    view.url.setText("https://prometheus.example:9090")
    view.loki_url.setText("https://admin:pw@loki.example")
    view.save()
    assert view.form_error.text().startswith("loki_url:")
    assert not paths.config_file().exists()
