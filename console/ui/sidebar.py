"""The sidebar: profiles, and the deployments of the profile shown."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from console.config.settings import Profile
from console.ui import format as fmt
from console.viewmodels.fleet import CardState

TLS_OFF_MARKER = "TLS verification OFF"
_INSECURE_COLOUR = QColor("#e5534b")  # readable on both the dark and the light theme
_KIND = Qt.ItemDataRole.UserRole
_NAME = Qt.ItemDataRole.UserRole + 1
_ALERT_SEPARATOR = "  ·  "


class ProfileTree(QTreeWidget):
    """Top level: profiles (configured ones, then the demo). Children: deployments.

    A click on a deployment emits ``deploymentActivated``; activating it (double-click or
    Enter) emits ``deploymentOpened``, which opens its detail.
    """

    profileActivated = Signal(str)
    deploymentActivated = Signal(str)
    deploymentOpened = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("profileTree")
        self.setHeaderHidden(True)
        self.setRootIsDecorated(True)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._active: str | None = None
        self._deployments: list[tuple[str, str]] = []
        self._alerts: dict[str, int] = {}
        self._alert_total = 0
        self.itemClicked.connect(self._on_item)
        self.itemActivated.connect(self._on_item_activated)

    def set_profiles(self, profiles: list[Profile], active: str | None) -> None:
        """Rebuild the profile items; the active one is bold and expanded."""
        self.clear()
        self._items = {}
        self._deployments = []
        for profile in profiles:
            item = QTreeWidgetItem([_profile_text(profile)])
            item.setData(0, _KIND, "profile")
            item.setData(0, _NAME, profile.name)
            item.setToolTip(0, _profile_tooltip(profile))
            if profile.insecure:
                item.setForeground(0, QBrush(_INSECURE_COLOUR))
            self.addTopLevelItem(item)
            self._items[profile.name] = item
        self.set_active(active)

    def set_active(self, name: str | None) -> None:
        """Mark profile ``name`` as the one shown."""
        self._active = name
        for profile_name, item in self._items.items():
            font = QFont(item.font(0))
            font.setBold(profile_name == name)
            item.setFont(0, font)
            if profile_name != name:
                item.takeChildren()
        self._deployments = []
        if name in self._items:
            self._items[name].setExpanded(True)

    def profile_item(self, name: str) -> QTreeWidgetItem | None:
        """The item of profile ``name``."""
        return self._items.get(name)

    def set_deployments(self, cards: list[CardState]) -> None:
        """List the shown profile's deployments with their status word."""
        parent = self._items.get(self._active or "")
        wanted = [(c.reading.deployment, fmt.STATUS_WORDS[c.reading.status].lower()) for c in cards]
        if parent is None or wanted == self._deployments:
            return
        self._deployments = wanted
        parent.takeChildren()
        for name, status in wanted:
            child = QTreeWidgetItem([_deployment_text(name, status, self._alerts.get(name, 0))])
            child.setData(0, _KIND, "deployment")
            child.setData(0, _NAME, name)
            child.setToolTip(
                0, f"{name}: {status}. Click to show its card, double-click to open its detail."
            )
            parent.addChild(child)
        parent.setExpanded(True)

    def set_alert_counts(self, total: int, per_deployment: dict[str, int]) -> None:
        """Show how many alerts fire: on the shown profile and on each of its deployments."""
        self._alert_total, self._alerts = total, dict(per_deployment)
        parent = self._items.get(self._active or "")
        if parent is None:
            return
        base = parent.text(0).split(_ALERT_SEPARATOR)[0]
        parent.setText(0, base + (f"{_ALERT_SEPARATOR}{total} firing" if total else ""))
        for index in range(parent.childCount()):
            child = parent.child(index)
            name = child.data(0, _NAME)
            status = next((s for n, s in self._deployments if n == name), "")
            child.setText(0, _deployment_text(name, status, self._alerts.get(name, 0)))

    def alert_count(self) -> int:
        """The number of firing alerts shown on the active profile."""
        return self._alert_total

    def _on_item(self, item: QTreeWidgetItem, _column: int) -> None:
        name = item.data(0, _NAME)
        if item.data(0, _KIND) == "profile":
            if name != self._active:
                self.profileActivated.emit(name)
        else:
            self.deploymentActivated.emit(name)

    def _on_item_activated(self, item: QTreeWidgetItem, column: int) -> None:
        if item.data(0, _KIND) == "deployment":
            self.deploymentOpened.emit(item.data(0, _NAME))
        else:
            self._on_item(item, column)


def _deployment_text(name: str, status: str, alerts: int) -> str:
    return f"{name}  ·  {status}" + (f"  ·  {alerts} firing" if alerts else "")


def _profile_text(profile: Profile) -> str:
    if profile.is_demo:
        return "demo (simulated)"
    return f"{profile.name}\n{TLS_OFF_MARKER}" if profile.insecure else profile.name


def _profile_tooltip(profile: Profile) -> str:
    if profile.is_demo:
        return "The embedded DEMO environment: simulated data, not a real fleet."
    lines = [profile.prometheus_url, f"role: {profile.role.value}"]
    if profile.protected:
        lines.append("protected (production)")
    if profile.insecure:
        lines.append(f"{TLS_OFF_MARKER}: the server's certificate is not checked.")
    return "\n".join(lines)
