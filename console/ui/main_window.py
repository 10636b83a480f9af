"""The main window: profiles sidebar, banners, the Fleet/Detail/Explore/Dashboard/Runs tabs,
toolbar, status bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.config.settings import PanelKind, PinnedPanel, Profile, Theme
from console.domain.signals import Signal as SignalKind
from console.services.detail import CHARTS_BY_ID
from console.ui import format as fmt
from console.ui.audit_banner import AuditChainBanner
from console.ui.banners import DemoBanner, ErrorBar
from console.ui.card_grid import CardGrid, CardScrollArea
from console.ui.connection_dialog import ConnectionDialog
from console.ui.elided_label import ElidedLabel
from console.ui.logs_tab import LogsTab
from console.ui.notifications import NotificationStack, drift_crossing_notice
from console.ui.oncall_controller import OnCallController
from console.ui.panel_visibility import watch_visibility
from console.ui.shortcuts_dialog import ShortcutsDialog
from console.ui.sidebar import ProfileTree
from console.ui.theme import THEME_LABELS, THEME_ORDER, ThemeController
from console.ui.tray import DETAIL_KEY_PREFIX
from console.viewmodels.detail import DetailViewModel
from console.viewmodels.drift import DriftViewModel
from console.viewmodels.fleet import CardState, FleetViewModel
from console.viewmodels.profiles import ProfilesViewModel

if TYPE_CHECKING:
    # The views of the other tabs load on first use: pyqtgraph and the suite machinery
    # take about a second to import, which the first painted fleet must not wait for.
    from console.ui.about_dialog import AboutDialog
    from console.ui.audit_view import AuditView
    from console.ui.dashboard_view import DashboardView
    from console.ui.detail_view import DetailView
    from console.ui.explore_view import ExploreView
    from console.ui.pinned_panels import PinnedPanels
    from console.ui.plan_dialog import PlanDialog
    from console.ui.runs_view import RunsView

FLEET_TAB, DETAIL_TAB, EXPLORE_TAB, DASHBOARD_TAB, RUNS_TAB, ALERTS_TAB = range(6)
_TAB_TITLES = ("Fleet", "Detail", "Explore", "Dashboard", "Runs", "Alerts")
_NO_DETAIL_TEXT = "Double-click a card (or a deployment in the sidebar) to open its detail."


class FleetWindow(QMainWindow):
    """Shows the active profile: fleet cards, a deployment's detail, Explore and the dashboard.

    Every action goes through the viewmodels. ``pinRequested(deployment, chart_id)`` says
    that the user pinned a detail chart to the dashboard.
    """

    pinRequested = Signal(str, str)

    def __init__(
        self,
        profiles: ProfilesViewModel,
        theme: ThemeController,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("SRE Console")
        self.resize(1320, 860)
        self._profiles = profiles
        self._theme = theme
        self._fleet: FleetViewModel | None = None
        self._busy = False
        self._actions: list[QAction] = []
        self.sidebar = ProfileTree()
        self.error_bar = ErrorBar()
        self.audit_banner = AuditChainBanner()
        self.demo_banner = DemoBanner()
        self.grid = CardGrid()
        self.card_scroll = CardScrollArea(self.grid)
        self.message = QLabel()
        self.message.setObjectName("fleetMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.card_scroll)
        self.detail_message = _placeholder(_NO_DETAIL_TEXT)
        self.detail_page = QStackedWidget()
        self.detail_page.addWidget(self.detail_message)
        self.detail_view: DetailView | None = None
        self._detail: DetailViewModel | None = None
        self._drift: DriftViewModel | None = None
        self.explore_view: ExploreView | None = None
        self.dashboard_view: DashboardView | None = None
        self.runs_view: RunsView | None = None
        self._pinned: PinnedPanels | None = None
        self._profile_tabs_built = False
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        for page, title in zip(
            (
                self.stack,
                self.detail_page,
                _placeholder("Explore opens with the profile."),
                _placeholder("The dashboard opens with the profile."),
                _placeholder("Suite runs open with the profile."),
                _placeholder("Alerts open with the profile."),
            ),
            _TAB_TITLES,
            strict=True,
        ):
            self.tabs.addTab(page, title)
        self.logs_tab = LogsTab(profiles)
        self.tabs.addTab(self.logs_tab, "Logs")
        # The Audit tab is found by its page, not its index: other tabs come and go.
        self.audit_page: QWidget = _placeholder("Opening the audit log…")
        self.audit_view: AuditView | None = None
        self.tabs.addTab(self.audit_page, "Audit")
        self.range_picker = _picker(fmt.TIME_RANGES, "Time range of the sparklines and charts")
        self.interval_picker = _picker(fmt.REFRESH_INTERVALS, "Refresh interval")
        self.theme_picker = QComboBox()
        for choice in THEME_ORDER:
            self.theme_picker.addItem(THEME_LABELS[choice], choice)
        self.theme_picker.setToolTip("Colour theme (System follows the OS)")
        self.profile_label = QLabel()
        self.notes_label = ElidedLabel()
        self.refresh_label = QLabel()
        self.keyring_label = QLabel()
        self._create_actions()
        self._build_toolbar()
        self._build_menus()
        self._build_body()
        self._build_status_bar()
        self._connect()
        self.oncall = OnCallController(self)
        self._select(self.range_picker, profiles.ui.range_s)
        self._theme.apply(profiles.ui.theme)
        self.theme_picker.setCurrentIndex(self.theme_picker.findData(profiles.ui.theme))
        if profiles.config_error:
            self.error_bar.add(
                "The config file could not be loaded, so the DEMO is shown and the file is "
                f"left untouched. {profiles.config_error}"
            )
        self._on_profiles_changed()
        self._on_fleet_changed()

    @property
    def profiles(self) -> ProfilesViewModel:
        """The profiles viewmodel this window shows."""
        return self._profiles

    @property
    def theme(self) -> ThemeController:
        """The theme controller the window's picker drives."""
        return self._theme

    @property
    def detail(self) -> DetailViewModel | None:
        """The live panels of the deployment opened in the Detail tab, if any."""
        return self._detail

    def set_explore_view(self, widget: QWidget) -> None:
        """Show ``widget`` in the Explore tab."""
        self._replace_tab(EXPLORE_TAB, widget)

    def set_dashboard_view(self, widget: QWidget) -> None:
        """Show ``widget`` in the Dashboard tab."""
        self._replace_tab(DASHBOARD_TAB, widget)

    def set_runs_view(self, widget: QWidget) -> None:
        """Show ``widget`` in the Runs tab."""
        self._replace_tab(RUNS_TAB, widget)

    def run_suite(self, deployment: str) -> bool:
        """Run the suite bound to ``deployment`` and show it in the Runs tab.

        False when no profile is open or a run is already going (the Runs tab shows it).
        """
        runs = self._profiles.suite_runs
        if runs is None or not self._build_profile_tabs():
            return False
        started = runs.start(deployment)
        self.tabs.setCurrentIndex(RUNS_TAB)
        if not started:
            self.statusBar().showMessage("A suite run is already going: cancel it first", 5000)
        return started

    def set_alerts_view(self, widget: QWidget | None, waiting: str | None) -> None:
        """Show ``widget`` in the Alerts tab (None: a placeholder saying ``waiting``)."""
        self._replace_tab(ALERTS_TAB, widget or _placeholder(waiting or ""))

    def set_alert_count(self, firing: int) -> None:
        """Name the number of firing alerts in the Alerts tab's title."""
        self.tabs.setTabText(ALERTS_TAB, f"Alerts ({firing})" if firing else "Alerts")

    def show_alerts(self) -> None:
        """Show the Alerts tab."""
        self.tabs.setCurrentIndex(ALERTS_TAB)

    def show_in_explore(self, expr: str) -> bool:
        """Open Explore on ``expr`` and run it; False while no profile is open."""
        if not self._build_profile_tabs() or self.explore_view is None:
            return False
        self.explore_view.editor.setPlainText(expr)
        self.tabs.setCurrentIndex(EXPLORE_TAB)
        self.explore_view.run()
        return True

    def show_run(self, run_id: int) -> bool:
        """Show suite run ``run_id`` in the Runs tab; False while no profile is open."""
        runs = self._profiles.suite_runs
        if runs is None or not self._build_profile_tabs():
            return False
        runs.show_run(run_id)
        self.tabs.setCurrentIndex(RUNS_TAB)
        return True

    def _on_notice_activated(self, key: str) -> None:
        if key.startswith(DETAIL_KEY_PREFIX):
            deployment = key.removeprefix(DETAIL_KEY_PREFIX)
            if deployment:
                self.open_detail(deployment)
        else:
            self.open_drift(key)

    def _replace_tab(self, index: int, widget: QWidget) -> None:
        current = self.tabs.currentIndex()
        old = self.tabs.widget(index)
        self.tabs.removeTab(index)
        self.tabs.insertTab(index, widget, _TAB_TITLES[index])
        if old is not None and old is not widget:
            old.deleteLater()
        self.tabs.setCurrentIndex(current)

    def open_detail(self, deployment: str) -> DetailViewModel | None:
        """Show the detail of ``deployment`` in the Detail tab; None while no fleet is open."""
        if self._detail is None:
            self._detail = self._profiles.open_detail(deployment, self._chart_width())
            if self._detail is None:
                return None
            from console.ui.detail_view import DetailView
            from console.ui.drift_view import DriftView

            self._drift = self._profiles.open_drift(deployment)
            drift_view = DriftView(self._drift) if self._drift is not None else None
            self.detail_view = DetailView(self._detail, drift_view)
            self.detail_view.backRequested.connect(self.show_fleet)
            self.detail_view.pinRequested.connect(self.pinRequested)
            self.detail_view.pinRequested.connect(self.pin_chart)
            self.detail_view.runSuiteRequested.connect(self.run_suite)
            self.detail_view.actionRequested.connect(self.open_action)
            self.detail_page.addWidget(self.detail_view)
            self.oncall.attach_detail(self.detail_view)
        else:
            self._detail.set_deployment(deployment)
            if self._drift is not None:
                self._drift.set_deployment(deployment)
            self.oncall.set_detail_deployment(deployment)
        assert self.detail_view is not None
        self.detail_view.set_card(self._card_of(deployment))
        self.detail_view.set_action_denial(self._action_denial())
        self.detail_page.setCurrentWidget(self.detail_view)
        self.tabs.setCurrentIndex(DETAIL_TAB)
        self.grid.highlight(deployment)
        self.detail_view.setFocus()
        return self._detail

    def show_fleet(self) -> None:
        """Go back to the fleet cards."""
        self.tabs.setCurrentIndex(FLEET_TAB)
        deployment = self._detail.deployment if self._detail is not None else None
        card = self.grid.card(deployment) if deployment else None
        if card is not None:
            self.card_scroll.reveal(card.deployment)
            card.setFocus()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.notifications.host_resized()

    def closeEvent(self, event: QCloseEvent) -> None:
        # The detail's panels and visibility watchers go with the window, not after it.
        self._close_detail()
        self.oncall.close()
        super().closeEvent(event)

    def open_drift(self, deployment: str) -> None:
        """Show the Drift section of ``deployment``'s detail."""
        if self.open_detail(deployment) is not None and self.detail_view is not None:
            self.detail_view.show_drift()

    def _close_detail(self) -> None:
        self.oncall.detach_detail()
        if self._detail is not None:
            self._detail.dispose()
            self._detail = None
        if self._drift is not None:
            self._drift.dispose()
            self._drift = None
        if self.detail_view is not None:
            self.detail_page.removeWidget(self.detail_view)
            self.detail_view.deleteLater()
            self.detail_view = None
        self.detail_page.setCurrentWidget(self.detail_message)

    def _chart_width(self) -> int:
        # Two chart columns share the tab's width.
        return max(200, self.tabs.width() // 2)

    def _card_of(self, deployment: str) -> CardState | None:
        cards = self._fleet.cards() if self._fleet is not None else []
        return next((c for c in cards if c.reading.deployment == deployment), None)

    def actions_with_shortcuts(self) -> list[QAction]:
        """Every action that has a keyboard shortcut (listed in Help)."""
        return [action for action in self._actions if action.shortcuts()]

    def open_profile_dialog(self, profile: Profile | None) -> ConnectionDialog:
        """Open the connection dialog (``profile`` None adds one); it shows the saved profile."""
        dialog = ConnectionDialog(self._profiles, profile, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._show_saved(dialog))
        dialog.open()
        return dialog

    def _show_saved(self, dialog: ConnectionDialog) -> None:
        if dialog.saved_profile is not None:
            self._profiles.activate(dialog.saved_profile.name)

    def show_shortcuts(self) -> ShortcutsDialog:
        """Open Help > Keyboard shortcuts."""
        dialog = ShortcutsDialog(self.actions_with_shortcuts(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_about(self) -> AboutDialog:
        """Open Help > About."""
        from console.ui.about_dialog import AboutDialog

        dialog = AboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _action(
        self, text: str, keys: list[str], slot: Callable[[], object], *, checkable: bool = False
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        self._actions.append(action)
        return action

    def _create_actions(self) -> None:
        self.refresh_action = self._action("Refresh now", ["F5", "Ctrl+R"], self._refresh_now)
        self.pause_action = self._action(
            "Pause refreshing", ["Ctrl+P", "Space"], self._on_pause_triggered, checkable=True
        )
        self.add_action = self._action(
            "Add profile…", ["Ctrl+N"], lambda: self.open_profile_dialog(None)
        )
        self.edit_action = self._action("Edit profile…", ["Ctrl+E"], self._edit_profile)
        self.theme_action = self._action("Cycle theme", ["Ctrl+Shift+T"], self._cycle_theme)
        self.range_actions = [
            self._action(f"Time range {label}", [f"Ctrl+{index}"], self._range_picker_at(index - 1))
            for index, (label, _seconds) in enumerate(fmt.TIME_RANGES, start=1)
        ]
        self.tab_actions = [
            self._action(f"Show {title}", [f"Alt+{index}"], self._tab_at(index - 1))
            for index, title in enumerate(_TAB_TITLES, start=1)
        ]
        self.logs_action = self._action("Show Logs", ["Alt+7"], self.show_logs)
        self.audit_action = self._action("Show Audit", ["Alt+8"], self.show_audit)
        self.back_action = self._action("Back to the fleet", ["Esc"], self.show_fleet)
        self.back_action.setEnabled(False)
        self.quit_action = self._action("Quit", ["Ctrl+Q"], self.close)
        self.shortcuts_action = self._action("Keyboard shortcuts", ["F1"], self.show_shortcuts)
        self.about_action = self._action("About SRE Console", [], self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)

    def _range_picker_at(self, row: int) -> Callable[[], None]:
        def pick() -> None:
            self.range_picker.setCurrentIndex(row)

        return pick

    def _tab_at(self, index: int) -> Callable[[], None]:
        def show() -> None:
            self.tabs.setCurrentIndex(index)

        return show

    def _build_toolbar(self) -> None:
        toolbar = self.addToolBar("Fleet")
        toolbar.setObjectName("fleetToolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(QLabel("Range"))
        toolbar.addWidget(self.range_picker)
        toolbar.addWidget(QLabel("Refresh every"))
        toolbar.addWidget(self.interval_picker)
        toolbar.addAction(self.pause_action)
        toolbar.addAction(self.refresh_action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel("Theme"))
        toolbar.addWidget(self.theme_picker)
        toolbar.addSeparator()
        toolbar.addAction(self.add_action)
        toolbar.addAction(self.edit_action)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([self.add_action, self.edit_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view = self.menuBar().addMenu("&View")
        view.addActions([self.refresh_action, self.pause_action, self.theme_action])
        view.addMenu("Time range").addActions(self.range_actions)
        view.addSeparator()
        view.addActions([*self.tab_actions, self.logs_action, self.audit_action, self.back_action])
        self.menuBar().addMenu("&Help").addActions([self.shortcuts_action, self.about_action])

    def _build_body(self) -> None:
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(8, 8, 8, 0)
        column.setSpacing(6)
        column.addWidget(self.error_bar)
        column.addWidget(self.audit_banner)
        column.addWidget(self.demo_banner)
        column.addWidget(self.tabs, 1)
        splitter = QSplitter()
        splitter.addWidget(self.sidebar)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 1080])
        self.setCentralWidget(splitter)
        self.notifications = NotificationStack(splitter)
        self.notifications.activated.connect(self._on_notice_activated)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.addWidget(self.profile_label)
        bar.addWidget(self.notes_label, 1)
        bar.addPermanentWidget(self.refresh_label)
        bar.addPermanentWidget(self.keyring_label)
        self.keyring_label.setText("Keyring: checking…")

    def _show_keyring(self, available: bool, backend: str, reason: str) -> None:
        if available:
            self.keyring_label.setText(f"Keyring: {backend}")
        else:
            self.keyring_label.setText("No OS keyring: secrets are kept for this session only")
            self.keyring_label.setToolTip(reason)

    def _connect(self) -> None:
        self._profiles.keyringChecked.connect(self._show_keyring)
        self._profiles.fleetChanged.connect(self._on_fleet_changed)
        self._profiles.profilesChanged.connect(self._on_profiles_changed)
        self._profiles.errorRaised.connect(self.error_bar.add)
        audit = self._profiles.audit
        audit.chainChecked.connect(self.audit_banner.show_report)
        audit.errorRaised.connect(self.error_bar.add)
        self.audit_banner.openRequested.connect(self.show_audit)
        self.audit_banner.verifyRequested.connect(audit.verify)
        self.sidebar.profileActivated.connect(self._profiles.activate)
        self.sidebar.deploymentActivated.connect(self._on_deployment_clicked)
        self.sidebar.deploymentOpened.connect(self.open_detail)
        self.grid.deploymentOpened.connect(self.open_detail)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.demo_banner.addProfileRequested.connect(lambda: self.open_profile_dialog(None))
        self.range_picker.currentIndexChanged.connect(self._on_range_picked)
        self.interval_picker.currentIndexChanged.connect(self._on_interval_picked)
        self.theme_picker.currentIndexChanged.connect(self._on_theme_picked)

    def _on_profiles_changed(self) -> None:
        active = self._profiles.active
        self.sidebar.set_profiles(self._profiles.profiles(), active.name if active else None)
        if self._fleet is not None:
            self.sidebar.set_deployments(self._fleet.cards())

    def _on_fleet_changed(self) -> None:
        for dialog in self.findChildren(QDialog, "planDialog"):
            dialog.reject()  # a plan of the profile being left (an unconfirmed one is audited)
        active = self._profiles.active
        fleet = self._profiles.fleet
        self._fleet = fleet
        self._busy = False
        self.demo_banner.setVisible(active is not None and active.is_demo)
        self.edit_action.setEnabled(active is not None and not active.is_demo)
        self.sidebar.set_active(active.name if active else None)
        self.grid.highlight(None)
        self.grid.show_cards([], 0.0)
        self._close_detail()
        for action in (self.pause_action, self.refresh_action):
            action.setEnabled(fleet is not None)
        self.interval_picker.setEnabled(fleet is not None)
        if fleet is not None:
            fleet.changed.connect(self._render)
            fleet.refreshing.connect(self._on_refreshing)
            fleet.pausedChanged.connect(self._show_paused)
            self._select(self.interval_picker, fleet.refresh_interval_s)
            self._show_paused(fleet.paused)
        self._open_profile_tabs()
        watch = self._profiles.drift_watch
        if watch is not None:
            watch.changed.connect(self._show_drift_badges)
            watch.crossed.connect(self._notify_crossing)
            if fleet is not None:
                fleet.changed.connect(self._start_drift_watch)
        self._render()

    def _start_drift_watch(self) -> None:
        """Once the first cards are in: the watch refreshes while the cards are on screen.

        Not earlier, so that its histogram queries do not delay the first painted fleet.
        """
        fleet, watch, engine = self._fleet, self._profiles.drift_watch, self._profiles.engine
        if fleet is None or not fleet.cards():
            return
        fleet.changed.disconnect(self._start_drift_watch)
        if watch is not None and engine is not None:
            watch_visibility(self.card_scroll, engine, watch.panel_id)

    def _open_profile_tabs(self) -> None:
        """Reset Explore, the dashboard and the runs to the active profile; they are built
        the first time one of them is needed (shown, pinned to, or a suite run)."""
        if self._pinned is not None:
            self._pinned.dispose()
            self._pinned = None
        self.explore_view = self.dashboard_view = self.runs_view = None
        self._profile_tabs_built = False
        if self._profiles.is_opening:
            waiting = "Opening the profile…"
        elif self._profiles.engine is None:
            waiting = self._profiles.open_error or "No profile is open."
        else:
            waiting = "Loading…"
        for index in (EXPLORE_TAB, DASHBOARD_TAB, RUNS_TAB):
            self._replace_tab(index, _placeholder(waiting))
        if self.tabs.currentIndex() in (EXPLORE_TAB, DASHBOARD_TAB, RUNS_TAB):
            self._build_profile_tabs()

    def _build_profile_tabs(self) -> bool:
        """Build Explore, the dashboard and the runs of the open profile (once); False
        while no profile is open."""
        if self._profile_tabs_built:
            return True
        active = self._profiles.active
        engine, detail, explore = (
            self._profiles.engine,
            self._profiles.detail,
            self._profiles.explore,
        )
        if active is None or engine is None or detail is None or explore is None:
            return False
        self._profile_tabs_built = True
        from console.ui.dashboard_view import DashboardView
        from console.ui.explore_view import ExploreView
        from console.ui.pinned_panels import PinnedPanels
        from console.ui.runs_view import RunsView
        from console.viewmodels.dashboard import DashboardViewModel

        self.explore_view = ExploreView(explore)
        self.explore_view.pinRequested.connect(self.pin_query)
        self.set_explore_view(self.explore_view)
        self._pinned = PinnedPanels(
            engine,
            detail,
            explore.service,
            profile=active.name,
            range_s=self._profiles.ui.range_s,
            parent=engine,
        )
        self._pinned.detailRequested.connect(self.open_detail)
        model = DashboardViewModel(self._profiles.save_dashboard)
        model.set_profile(active.name, self._profiles.dashboard(active.name))
        self.dashboard_view = DashboardView(model, self._pinned)
        model.setParent(self.dashboard_view)
        self.set_dashboard_view(self.dashboard_view)
        runs = self._profiles.suite_runs
        if runs is not None:
            self.runs_view = RunsView(runs)
            self.set_runs_view(self.runs_view)
        return True

    def pin_chart(self, deployment: str, chart_id: str) -> None:
        """Pin a detail chart of ``deployment`` to the active profile's dashboard."""
        spec = CHARTS_BY_ID.get(chart_id)
        kind = PanelKind.SIGNAL if chart_id in set(SignalKind) else PanelKind.CHART
        title = f"{deployment} · {spec.title if spec else chart_id}"
        self._pin(PinnedPanel(kind, title, deployment=deployment, chart=chart_id))

    def pin_query(self, expr: str, title: str) -> None:
        """Pin an Explore query to the active profile's dashboard."""
        self._pin(PinnedPanel(PanelKind.PROMQL, title, expr=expr))

    def _pin(self, panel: PinnedPanel) -> None:
        self._build_profile_tabs()
        if self.dashboard_view is not None and self.dashboard_view.model.pin(panel) is not None:
            self.statusBar().showMessage(f"Pinned {panel.title} to the dashboard", 5000)

    def _show_drift_badges(self) -> None:
        watch = self._profiles.drift_watch
        for card in self.grid.cards():
            card.drift_badge.set_reading(watch.reading(card.deployment) if watch else None)

    def _notify_crossing(
        self, deployment: str, histogram: str, old: str, new: str, value: float
    ) -> None:
        self.notifications.notify(drift_crossing_notice(deployment, histogram, old, new, value))

    def _render(self) -> None:
        fleet = self._fleet
        active = self._profiles.active
        name = active.name if active else ""
        self.profile_label.setText(
            f"Profile: {name}" + (" (DEMO)" if active and active.is_demo else "")
        )
        if fleet is None:
            if self._profiles.is_opening:
                self._show_message(f"Opening {name}…")
            else:
                self._show_message(self._profiles.open_error or "No profile is open.")
            self.notes_label.set_full_text("")
            self.refresh_label.setText("")
            return
        cards = fleet.cards()
        self.grid.show_cards(cards, fleet.range_s)
        self._wire_run_buttons()
        denial = self._action_denial()
        for card in self.grid.cards():
            card.set_action_denial(denial)
        self._show_drift_badges()
        if cards:
            self.stack.setCurrentWidget(self.card_scroll)
        elif fleet.fleet_error():
            self._show_message(f"Cannot read the fleet of {name}:\n{fleet.fleet_error()}")
        elif fleet.last_refresh() is None:
            self._show_message(f"Loading the fleet of {name}…")
        else:
            self._show_message(f"No deployments found in {name}.")
        self.sidebar.set_deployments(cards)
        if self._detail is not None and self.detail_view is not None:
            self.detail_view.set_card(self._card_of(self._detail.deployment))
        self.notes_label.set_full_text(" ".join(fleet.notes()))
        self._show_refresh_state()

    def _wire_run_buttons(self) -> None:
        # The grid creates cards as deployments appear; each is connected once.
        for card in self.grid.cards():
            if card.property("runWired") is not True:
                card.runSuiteRequested.connect(self.run_suite)
                card.actionRequested.connect(self.open_action)
                card.setProperty("runWired", True)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def _show_refresh_state(self) -> None:
        fleet = self._fleet
        if fleet is None:
            return
        last = fleet.last_refresh()
        if self._busy:
            text = "Refreshing…"
        elif last is None:
            text = "Not refreshed yet"
        elif fleet.fleet_error():
            text = f"Refresh failed at {fmt.clock_time(last)}"
        else:
            text = f"Updated {fmt.clock_time(last)}"
        if fleet.paused:
            text = f"Paused · {text}"
        self.refresh_label.setText(text)

    def _on_refreshing(self, busy: bool) -> None:
        self._busy = busy
        self._show_refresh_state()

    def _show_paused(self, paused: bool) -> None:
        self.pause_action.setChecked(paused)
        self.pause_action.setText("Resume refreshing" if paused else "Pause refreshing")
        self.pause_action.setIconText("Resume" if paused else "Pause")
        self._show_refresh_state()

    def _on_tab_changed(self, index: int) -> None:
        self.back_action.setEnabled(index == DETAIL_TAB)
        if index == self.tabs.indexOf(self.audit_page) and self.audit_view is None:
            # Not from inside this signal: building replaces the tab being switched to.
            QTimer.singleShot(0, self._build_audit_view)
        if index in (EXPLORE_TAB, DASHBOARD_TAB, RUNS_TAB) and not self._profile_tabs_built:
            # Not from inside this signal: building replaces the tab being switched to.
            QTimer.singleShot(0, self._build_profile_tabs)

    # Guarded actions and the audit log

    def open_action(self, kind: str, deployment: str) -> PlanDialog | None:
        """Open the plan dialog of ``kind`` ("rollback"/"failover") on ``deployment``.

        It shows at once and fills in when the plan arrives; None while no profile is open.
        """
        actions = self._profiles.actions
        if actions is None:
            self.statusBar().showMessage("No profile is open", 5000)
            return None
        from console.ui.plan_dialog import PlanDialog

        flow = actions.flow(kind, deployment)
        dialog = PlanDialog(flow, may_override=actions.may_override_precheck, parent=self)
        flow.setParent(dialog)  # the flow goes with its dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.auditEntryRequested.connect(self.show_audit_entry)
        dialog.open()
        flow.request_plan()
        return dialog

    def show_logs(self) -> None:
        """Show the Logs tab."""
        self.tabs.setCurrentWidget(self.logs_tab)

    def show_audit(self) -> AuditView:
        """Show the Audit tab."""
        view = self._build_audit_view()
        self.tabs.setCurrentWidget(self.audit_page)
        return view

    def show_audit_entry(self, entry_id: int) -> AuditView:
        """Show the Audit tab with entry ``entry_id`` selected."""
        view = self.show_audit()
        view.show_entry(entry_id)
        return view

    def _build_audit_view(self) -> AuditView:
        if self.audit_view is None:
            from console.ui.audit_view import AuditView

            names = [profile.name for profile in self._profiles.profiles()]
            self.audit_view = AuditView(self._profiles.audit, names)
            index = self.tabs.indexOf(self.audit_page)
            current = self.tabs.currentIndex()
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, self.audit_view, "Audit")
            self.tabs.setCurrentIndex(current)
            self.audit_page.deleteLater()
            self.audit_page = self.audit_view
        return self.audit_view

    def _action_denial(self) -> str | None:
        actions = self._profiles.actions
        return "no profile is open" if actions is None else actions.denial

    def _on_deployment_clicked(self, deployment: str) -> None:
        if self.tabs.currentIndex() == DETAIL_TAB and self._detail is not None:
            self.open_detail(deployment)
        else:
            self._reveal(deployment)

    def _on_pause_triggered(self) -> None:
        if self._fleet is not None:
            self._fleet.set_paused(self.pause_action.isChecked())

    def _refresh_now(self) -> None:
        self._profiles.refresh_now()

    def _on_range_picked(self, index: int) -> None:
        if index >= 0:
            seconds = self.range_picker.itemData(index)
            self._profiles.set_range(seconds)
            if self._detail is not None:
                self._detail.set_range(seconds)
                self.oncall.set_range(seconds)
            if self._pinned is not None:
                self._pinned.set_range(seconds)

    def _on_interval_picked(self, index: int) -> None:
        if index >= 0:
            self._profiles.set_refresh_interval(self.interval_picker.itemData(index))

    def _on_theme_picked(self, index: int) -> None:
        choice = Theme(self.theme_picker.itemData(index))
        self._theme.apply(choice)
        self._profiles.set_theme(choice)

    def _cycle_theme(self) -> None:
        following = THEME_ORDER[(THEME_ORDER.index(self._theme.choice) + 1) % len(THEME_ORDER)]
        self.theme_picker.setCurrentIndex(self.theme_picker.findData(following))

    def _edit_profile(self) -> None:
        active = self._profiles.active
        if active is not None and not active.is_demo:
            self.open_profile_dialog(active)

    def _reveal(self, deployment: str) -> None:
        self.grid.highlight(deployment)
        self.card_scroll.reveal(deployment)

    @staticmethod
    def _select(picker: QComboBox, seconds: float) -> None:
        index = picker.findData(seconds)
        if index < 0:
            picker.addItem(fmt.span(seconds), seconds)
            index = picker.count() - 1
        picker.blockSignals(True)
        picker.setCurrentIndex(index)
        picker.blockSignals(False)


def _placeholder(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("fleetMessage")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


def _picker(choices: tuple[tuple[str, float], ...], tooltip: str) -> QComboBox:
    picker = QComboBox()
    for label, seconds in choices:
        picker.addItem(label, seconds)
    picker.setToolTip(tooltip)
    return picker
