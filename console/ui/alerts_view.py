"""The Alerts tab: firing alerts grouped by deployment, their details and acks, and silences."""

import html
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import (
    Alert,
    AlertState,
    Silence,
    SilenceState,
    expression_of,
    severity_rank,
)
from console.services.alerts import DeploymentAlerts
from console.ui import format as fmt
from console.ui.silence_dialogs import AckDialog, SilenceDialog
from console.viewmodels.alerts import AlertsViewModel

ROW_HEIGHT_PX = 24
NO_DEPLOYMENT = "(no deployment label)"
SEVERITY_FILTERS = (("All severities", 0), ("Warning and above", 2), ("Critical only", 4))
SILENCE_COLUMNS = ("State", "Matchers", "Ends", "Created by", "Comment", "ID")
ALERT_COLUMNS = ("Alert", "Severity", "Firing for", "State", "Summary")
ERROR_COLOUR = "#e53935"
OK_COLOUR = "#2da44e"
OpenUrl = Callable[[QUrl], object]
_FINGERPRINT_ROLE = Qt.ItemDataRole.UserRole


def firing_for(seconds: float) -> str:
    """How long an alert has fired: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def state_word(alert: Alert) -> str:
    """FIRING, SILENCED, INHIBITED or PENDING."""
    if alert.silenced:
        return "SILENCED"
    if alert.inhibited_by:
        return "INHIBITED"
    if alert.state is AlertState.PENDING:
        return "PENDING"
    return "FIRING"


def matches_search(alert: Alert, text: str) -> bool:
    """Whether ``text`` (case-insensitive) is in the alert's labels or annotations."""
    needle = text.strip().lower()
    if not needle:
        return True
    haystack = [*alert.labels.values(), *alert.annotations.values(), *alert.labels.keys()]
    return any(needle in value.lower() for value in haystack)


class AlertsView(QWidget):
    """Shows an AlertsViewModel. ``exploreRequested(expr)`` asks to open Explore on an
    alert's expression; ``detailRequested(deployment)`` asks for a deployment's detail."""

    exploreRequested = Signal(str)
    detailRequested = Signal(str)

    def __init__(
        self,
        model: AlertsViewModel,
        *,
        open_url: OpenUrl = QDesktopServices.openUrl,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("alertsView")
        self.model = model
        self._open_url = open_url
        self._clock = clock
        self.status = QLabel()
        self.status.setObjectName("alertsStatus")
        self.status.setWordWrap(True)
        self.action_message = QLabel()
        self.action_message.setObjectName("alertsActionMessage")
        self.action_message.setWordWrap(True)
        self.action_message.setTextFormat(Qt.TextFormat.PlainText)
        self.action_message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_message.hide()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search alerts: name, label or summary")
        self.search.setClearButtonEnabled(True)
        self.severity_filter = QComboBox()
        for label, rank in SEVERITY_FILTERS:
            self.severity_filter.addItem(label, rank)
        self.show_silenced = QCheckBox("Show silenced")
        self.show_silenced.setChecked(True)
        self.refresh_button = QPushButton("Refresh")
        self.tree = QTreeWidget()
        self.tree.setObjectName("alertsTree")
        self.tree.setColumnCount(len(ALERT_COLUMNS))
        self.tree.setHeaderLabels(list(ALERT_COLUMNS))
        self.tree.setUniformRowHeights(True)
        self.tree.setRootIsDecorated(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.resizeSection(0, 220)
        header.resizeSection(1, 70)
        header.resizeSection(2, 80)
        header.resizeSection(3, 80)
        self.details = QLabel()
        self.details.setObjectName("alertDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.details.setOpenExternalLinks(False)
        self.ack_button = QPushButton("Ack…")
        self.ack_button.setToolTip("Silence exactly this alert's labels (1 h by default)")
        self.explore_button = QPushButton("Open in Explore")
        self.explore_button.setToolTip("Open the alert rule's expression in Explore")
        self.detail_button = QPushButton("Open deployment")
        self.silences = QTableWidget(0, len(SILENCE_COLUMNS))
        self.silences.setObjectName("silencesTable")
        self.silences.setHorizontalHeaderLabels(list(SILENCE_COLUMNS))
        self.silences.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.silences.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.silences.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.silences.setWordWrap(False)
        rows = self.silences.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(ROW_HEIGHT_PX)
        rows.hide()
        self.silences.horizontalHeader().setStretchLastSection(True)
        self.silences.horizontalHeader().resizeSection(1, 360)
        self.silences_status = QLabel()
        self.silences_status.setWordWrap(True)
        self.new_silence_button = QPushButton("New silence…")
        self.edit_silence_button = QPushButton("Edit…")
        self.expire_silence_button = QPushButton("Expire")
        self.sections = QTabWidget()
        self.sections.setDocumentMode(True)
        self._build()
        self._connect()
        self._render()

    def _build(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.search, 1)
        controls.addWidget(self.severity_filter)
        controls.addWidget(self.show_silenced)
        controls.addWidget(self.refresh_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.explore_button)
        buttons.addWidget(self.detail_button)
        buttons.addStretch(1)
        detail_pane = QWidget()
        detail_column = QVBoxLayout(detail_pane)
        detail_column.setContentsMargins(8, 0, 0, 0)
        detail_column.addLayout(buttons)
        detail_column.addWidget(self.details, 1)
        splitter = QSplitter()
        splitter.addWidget(self.tree)
        splitter.addWidget(detail_pane)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        firing = QWidget()
        firing_column = QVBoxLayout(firing)
        firing_column.setContentsMargins(0, 6, 0, 0)
        firing_column.addLayout(controls)
        firing_column.addWidget(splitter, 1)
        silence_buttons = QHBoxLayout()
        silence_buttons.addWidget(self.new_silence_button)
        silence_buttons.addWidget(self.edit_silence_button)
        silence_buttons.addWidget(self.expire_silence_button)
        silence_buttons.addStretch(1)
        silences = QWidget()
        silences_column = QVBoxLayout(silences)
        silences_column.setContentsMargins(0, 6, 0, 0)
        silences_column.addLayout(silence_buttons)
        silences_column.addWidget(self.silences_status)
        silences_column.addWidget(self.silences, 1)
        self.sections.addTab(firing, "Alerts")
        self.sections.addTab(silences, "Silences")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.action_message)
        layout.addWidget(self.sections, 1)

    def _connect(self) -> None:
        model = self.model
        model.changed.connect(self._render)
        model.opened.connect(self._render)
        model.busyChanged.connect(lambda _busy: self._show_buttons())
        model.actionDone.connect(lambda text: self._show_action(text, failed=False))
        model.actionFailed.connect(lambda text: self._show_action(text, failed=True))
        self.search.textChanged.connect(self._render_tree)
        self.severity_filter.currentIndexChanged.connect(self._render_tree)
        self.show_silenced.toggled.connect(self._render_tree)
        self.refresh_button.clicked.connect(model.refresh_now)
        self.tree.currentItemChanged.connect(lambda *_: self._show_selected())
        self.tree.itemDoubleClicked.connect(self._on_double_clicked)
        self.details.linkActivated.connect(self._open_link)
        self.ack_button.clicked.connect(self.ack_selected)
        self.explore_button.clicked.connect(self._explore_selected)
        self.detail_button.clicked.connect(self._open_selected_deployment)
        self.silences.itemSelectionChanged.connect(self._show_buttons)
        self.new_silence_button.clicked.connect(lambda: self.edit_silence(None))
        self.edit_silence_button.clicked.connect(lambda: self.edit_silence(self.selected_silence()))
        self.expire_silence_button.clicked.connect(self.expire_selected_silence)

    # --- selection -----------------------------------------------------------------------

    def selected_alert(self) -> Alert | None:
        """The alert of the current row, if an alert (not a group) is current."""
        item = self.tree.currentItem()
        overview = self.model.overview
        if item is None or overview is None:
            return None
        fingerprint = item.data(0, _FINGERPRINT_ROLE)
        if not fingerprint:
            return None
        return next((a for a in overview.alerts if a.fingerprint == fingerprint), None)

    def select_alert(self, fingerprint: str) -> bool:
        """Make the alert with ``fingerprint`` current (clearing filters that hide it)."""
        for _ in range(2):
            item = self._alert_item(fingerprint)
            if item is not None:
                self.sections.setCurrentIndex(0)
                self.tree.setCurrentItem(item)
                self.tree.scrollToItem(item)
                return True
            self.search.clear()
            self.severity_filter.setCurrentIndex(0)
            self.show_silenced.setChecked(True)
        return False

    def select_silence(self, silence_id: str) -> bool:
        """Show the Silences section with ``silence_id`` selected."""
        for row in range(self.silences.rowCount()):
            cell = self.silences.item(row, 5)
            if cell is not None and cell.text() == silence_id:
                self.sections.setCurrentIndex(1)
                self.silences.selectRow(row)
                return True
        return False

    def selected_silence(self) -> Silence | None:
        """The silence of the selected row, if any."""
        rows = self.silences.selectionModel().selectedRows()
        if not rows:
            return None
        cell = self.silences.item(rows[0].row(), 5)
        return next((s for s in self.model.silences if cell and s.id == cell.text()), None)

    def group_items(self) -> list[QTreeWidgetItem]:
        """The deployment rows shown, in order."""
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def _alert_item(self, fingerprint: str) -> QTreeWidgetItem | None:
        for group in self.group_items():
            for index in range(group.childCount()):
                child = group.child(index)
                if child is not None and child.data(0, _FINGERPRINT_ROLE) == fingerprint:
                    return child
        return None

    # --- actions -------------------------------------------------------------------------

    def ack_dialog(self, alert: Alert) -> AckDialog:
        """Open the ack dialog of ``alert``; accepting it acks through the model."""
        dialog = AckDialog(alert, actor=self.model.actor, denial=self._denial(), parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self.model.ack(alert, dialog.reason_text(), dialog.duration_s())
        )
        dialog.open()
        return dialog

    def ack_selected(self) -> AckDialog | None:
        """Open the ack dialog of the selected alert."""
        alert = self.selected_alert()
        return self.ack_dialog(alert) if alert is not None else None

    def edit_silence(self, silence: Silence | None) -> SilenceDialog:
        """Open the silence editor (None: a new silence)."""
        dialog = SilenceDialog(
            actor=self.model.actor, denial=self._denial(), silence=silence, parent=self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._save_silence(dialog))
        dialog.open()
        return dialog

    def expire_selected_silence(self) -> QInputDialog | None:
        """Ask for a reason, then expire the selected silence."""
        silence = self.selected_silence()
        if silence is None:
            return None
        dialog = QInputDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowTitle(f"Expire silence {silence.id}")
        dialog.setLabelText("Reason (required):")
        dialog.textValueSelected.connect(lambda reason: self._expire(silence, reason))
        dialog.open()
        return dialog

    def _expire(self, silence: Silence, reason: str) -> None:
        if reason.strip():
            self.model.expire_silence(silence.id, reason.strip())
        else:
            self._show_action("a reason is required to expire a silence", failed=True)

    def _save_silence(self, dialog: SilenceDialog) -> None:
        draft = dialog.draft()
        if dialog.silence is None:
            self.model.create_silence(
                draft.matchers, draft.comment, draft.ends_at - draft.starts_at
            )
        else:
            self.model.edit_silence(dialog.silence, draft)

    def _show_action(self, text: str, *, failed: bool) -> None:
        self.action_message.setText(("Refused or failed: " if failed else "") + text)
        self.action_message.setStyleSheet(
            f"QLabel {{ color: {ERROR_COLOUR if failed else OK_COLOUR}; }}"
        )
        self.action_message.show()

    def _denial(self) -> str | None:
        if not self.model.can_silence:
            return f"{self.model.source}: silences need an Alertmanager (alertmanager_url)."
        return self.model.denial

    def _explore_selected(self) -> None:
        alert = self.selected_alert()
        expr = expression_of(alert.generator_url) if alert and alert.generator_url else None
        if expr:
            self.exploreRequested.emit(expr)

    def _open_selected_deployment(self) -> None:
        alert = self.selected_alert()
        deployment = alert.deployment(self.model.profile.alert_deployment_labels) if alert else None
        if deployment:
            self.detailRequested.emit(deployment)

    def _on_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, _FINGERPRINT_ROLE):
            self.ack_selected()

    def _open_link(self, link: str) -> None:
        if link == "explore:":
            self._explore_selected()
        else:
            self._open_url(QUrl(link))

    # --- rendering -----------------------------------------------------------------------

    def _render(self) -> None:
        model = self.model
        overview = model.overview
        if model.open_error:
            self.status.setText(f"Alerts cannot be read: {model.open_error}")
        elif overview is None:
            self.status.setText("Reading alerts…")
        elif overview.error:
            self.status.setText(f"{overview.source}: {overview.error}")
        else:
            firing = sum(g.firing for g in overview.groups)
            self.status.setText(
                f"{firing} firing, {len(overview.alerts) - firing} silenced or pending · "
                f"{overview.source} · read at {fmt.clock_time(overview.taken_at)}"
            )
        self._render_tree()
        self._render_silences()

    def _visible(self, alert: Alert) -> bool:
        rank = int(self.severity_filter.currentData())
        if severity_rank(alert.severity) < rank:
            return False
        if alert.state is not AlertState.ACTIVE and not self.show_silenced.isChecked():
            return False
        return matches_search(alert, self.search.text())

    def _render_tree(self) -> None:
        overview = self.model.overview
        current = self.selected_alert()
        self.tree.clear()
        if overview is None:
            self._show_selected()
            return
        now = self._clock()
        for group in overview.groups:
            shown = [a for a in group.alerts if self._visible(a)]
            if not shown:
                continue
            top = QTreeWidgetItem([_group_title(group, len(shown))])
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            top.setData(0, Qt.ItemDataRole.UserRole + 1, group.deployment or "")
            top.setText(1, group.worst_severity or "")
            for alert in shown:
                child = QTreeWidgetItem(
                    [
                        alert.name or alert.fingerprint,
                        alert.severity or "",
                        firing_for(alert.firing_for(now)),
                        state_word(alert),
                        alert.summary or "",
                    ]
                )
                child.setData(0, _FINGERPRINT_ROLE, alert.fingerprint)
                child.setToolTip(4, alert.summary or "")
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        if current is not None:
            item = self._alert_item(current.fingerprint)
            if item is not None:
                self.tree.setCurrentItem(item)
        self._show_selected()

    def _show_selected(self) -> None:
        alert = self.selected_alert()
        if alert is None:
            self.details.setText(
                "Select an alert to see its annotations, open its rule in Explore or ack it."
            )
        else:
            self.details.setText(_details_html(alert, self._clock()))
        self._show_buttons()

    def _show_buttons(self) -> None:
        alert = self.selected_alert()
        denial = self._denial()
        busy = self.model.busy
        self.ack_button.setEnabled(alert is not None and not busy)
        self.ack_button.setToolTip(denial or "Silence exactly this alert's labels (1 h by default)")
        has_expr = bool(alert and alert.generator_url and expression_of(alert.generator_url))
        self.explore_button.setEnabled(has_expr)
        self.detail_button.setEnabled(
            bool(alert and alert.deployment(self.model.profile.alert_deployment_labels))
        )
        silence = self.selected_silence()
        self.new_silence_button.setEnabled(not busy)
        self.new_silence_button.setToolTip(denial or "Create a silence of any matchers")
        self.edit_silence_button.setEnabled(silence is not None and not busy)
        active = silence is not None and silence.state is not SilenceState.EXPIRED
        self.expire_silence_button.setEnabled(active and denial is None and not busy)
        self.expire_silence_button.setToolTip(denial or "End the selected silence now")

    def _render_silences(self) -> None:
        model = self.model
        selected = self.selected_silence()
        silences = model.silences
        self.silences_status.setText(
            model.silences_error or f"{len(silences)} silences (active first)"
        )
        self.silences.setRowCount(len(silences))
        for row, silence in enumerate(silences):
            cells = (
                silence.state.value.upper(),
                ", ".join(str(m) for m in silence.matchers),
                time.strftime("%Y-%m-%d %H:%M", time.localtime(silence.ends_at)),
                silence.created_by,
                silence.comment,
                silence.id,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.silences.setItem(row, column, item)
        if selected is not None:
            self.select_silence(selected.id)
        self._show_buttons()


def _group_title(group: DeploymentAlerts, shown: int) -> str:
    name = group.deployment or NO_DEPLOYMENT
    return f"{name} — {group.firing} firing" + (
        f" ({shown} shown)" if shown != len(group.alerts) else ""
    )


def _details_html(alert: Alert, now: float) -> str:
    esc = html.escape
    rows = [
        f"<h3>{esc(alert.name or alert.fingerprint)}</h3>",
        f"<p><b>{esc(state_word(alert))}</b> · severity {esc(alert.severity or 'none')} · "
        f"firing for {esc(firing_for(alert.firing_for(now)))} (since "
        f"{esc(time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(alert.starts_at)))})</p>",
    ]
    if alert.summary:
        rows.append(f"<p>{esc(alert.summary)}</p>")
    if alert.runbook_url:
        url = esc(alert.runbook_url, quote=True)
        rows.append(f'<p>Runbook: <a href="{url}">{esc(alert.runbook_url)}</a></p>')
    expr = expression_of(alert.generator_url) if alert.generator_url else None
    if expr:
        rows.append(f'<p>Rule: <a href="explore:"><code>{esc(expr)}</code></a></p>')
    others = {k: v for k, v in alert.annotations.items() if k not in ("summary", "runbook_url")}
    labels = "".join(
        f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in sorted(alert.labels.items())
    )
    rows.append(f"<p><b>Labels</b></p><table cellspacing='4'>{labels}</table>")
    if others:
        notes = "".join(
            f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in sorted(others.items())
        )
        rows.append(f"<p><b>Annotations</b></p><table cellspacing='4'>{notes}</table>")
    if alert.silenced_by:
        rows.append(f"<p>Silenced by {esc(', '.join(alert.silenced_by))}</p>")
    rows.append(f"<p><small>fingerprint {esc(alert.fingerprint)}</small></p>")
    return "".join(rows)
