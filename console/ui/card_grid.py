"""Cards in a grid that reflows to the window width, inside a scroll area."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QScrollArea, QStyle, QWidget

from console.ui.card import CARD_MIN_WIDTH, DeploymentCard
from console.viewmodels.fleet import CardState

_SPACING = 12


class CardGrid(QWidget):
    """One DeploymentCard per deployment, reused across refreshes, in the viewmodel's order.

    A card double-clicked (or Enter on it) emits ``deploymentOpened``; a card given the
    keyboard focus is highlighted.
    """

    painted = Signal()
    deploymentOpened = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cardGrid")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self._layout = QGridLayout(self)
        self._layout.setSpacing(_SPACING)
        # No left margin: the cards line up with the banners above them.
        self._layout.setContentsMargins(0, _SPACING, _SPACING, _SPACING)
        self._layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._cards: dict[str, DeploymentCard] = {}
        self._order: list[str] = []
        self._columns = 1
        self._highlighted: str | None = None

    @property
    def columns(self) -> int:
        """How many cards fit side by side."""
        return self._columns

    def cards(self) -> list[DeploymentCard]:
        """The cards in display order."""
        return [self._cards[name] for name in self._order]

    def card(self, deployment: str) -> DeploymentCard | None:
        """The card of ``deployment``, if shown."""
        return self._cards.get(deployment)

    def show_cards(self, states: list[CardState], range_s: float) -> None:
        """Update, add and remove cards so that they match ``states``."""
        names = [state.reading.deployment for state in states]
        for gone in set(self._cards) - set(names):
            card = self._cards.pop(gone)
            self._layout.removeWidget(card)
            card.deleteLater()
        for state in states:
            name = state.reading.deployment
            if name not in self._cards:
                card = DeploymentCard(name, self)
                card.openRequested.connect(self.deploymentOpened)
                card.focused.connect(self.highlight)
                self._cards[name] = card
            card = self._cards[name]
            card.set_state(state, range_s)
            card.set_highlighted(name == self._highlighted)
        if names != self._order:
            self._order = names
            self._reflow()

    def set_available_width(self, width: int) -> None:
        """Recompute the number of columns for ``width`` pixels."""
        # n cards need n card widths, n - 1 gaps and the right margin: n * (card + gap).
        columns = max(1, width // (CARD_MIN_WIDTH + _SPACING))
        if columns != self._columns:
            self._columns = columns
            self._reflow()

    def highlight(self, deployment: str | None) -> DeploymentCard | None:
        """Mark the card of ``deployment`` (and unmark the others); returns it."""
        self._highlighted = deployment
        for name, card in self._cards.items():
            card.set_highlighted(name == deployment)
        return self._cards.get(deployment) if deployment else None

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        self.painted.emit()

    def _reflow(self) -> None:
        for card in self._cards.values():
            self._layout.removeWidget(card)
        for index, name in enumerate(self._order):
            row, column = divmod(index, self._columns)
            self._layout.addWidget(self._cards[name], row, column)
        for column in range(self._layout.columnCount()):
            self._layout.setColumnStretch(column, 1 if column < self._columns else 0)


class CardScrollArea(QScrollArea):
    """Scrolls the CardGrid and tells it the width available for columns."""

    def __init__(self, grid: CardGrid, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cardScroll")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(grid)
        self._grid = grid

    def resizeEvent(self, event: QResizeEvent) -> None:
        # The scroll bar's width is always reserved, so that it appearing cannot change
        # the column count and make the layout oscillate.
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self._grid.set_available_width(event.size().width() - 2 * self.frameWidth() - scroll_bar)
        super().resizeEvent(event)

    def reveal(self, deployment: str) -> None:
        """Scroll so that the card of ``deployment`` is visible."""
        card = self._grid.card(deployment)
        if card is not None:
            self.ensureWidgetVisible(card, 0, _SPACING)
