"""What TimeChart and ChartTile share: the title row, the lines, the status box, exports."""

from os import PathLike

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from console.domain.series import FloatArray
from console.ui.charts.line_set import LineSet
from console.ui.charts.palette import is_dark
from console.ui.charts.status_overlay import StatusOverlay


class LineChart(QWidget):
    """A title row (bold title, legend or crosshair values, header widgets) above a plot.

    Subclasses give their plot to ``_set_plot``, draw the lines of ``_lines`` in it and keep
    ``_crosshair_x``.
    """

    def __init__(self, title: str, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.unit = unit
        self._lines = LineSet()
        self._crosshair_x: float | None = None
        self._plot_area: QWidget | None = None
        self.title_label = QLabel(title)
        self.title_label.setObjectName("chartTitle")
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.readout = QLabel()
        self.readout.setObjectName("chartReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Takes the width left by the title: a new text at 60 Hz must not re-run the layout.
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_overlay = StatusOverlay(self)
        self._header = QHBoxLayout()
        self._header.setContentsMargins(6, 0, 6, 0)
        self._header.addWidget(self.title_label)
        self._header.addWidget(self.readout, 1)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._layout.addLayout(self._header)

    def _set_plot(self, plot: QWidget) -> None:
        """Put ``plot`` under the title row (once, from the subclass's ``__init__``)."""
        self._plot_area = plot
        self._layout.addWidget(plot, 1)

    def add_header_widget(self, widget: QWidget) -> None:
        """Put ``widget`` (e.g. a menu button) at the right end of the title row."""
        self._header.addWidget(widget)

    def lines(self) -> dict[str, tuple[FloatArray, FloatArray]]:
        """The data shown, by line name."""
        return self._lines.data()

    def colour_of(self, name: str) -> QColor:
        """The colour of line ``name`` in the current theme."""
        return self._lines.colour(name, is_dark(self.palette()))

    def set_status(self, text: str | None) -> None:
        """Show ``text`` over the plot ("Loading…", an error...); None removes it."""
        self.status_overlay.show_text(text, self._status_area())

    def status(self) -> str | None:
        """The overlay text shown, or None."""
        return self.status_overlay.text() if self.status_overlay.isVisible() else None

    def values_at(self, x: float) -> dict[str, float | None]:
        """Each line's sample at or before time ``x`` within one step; None for NaN or outside."""
        return self._lines.values_at(x)

    def crosshair_x(self) -> float | None:
        """Where the crosshair is, or None when hidden."""
        return self._crosshair_x

    def export_png(self, path: str | PathLike[str]) -> None:
        """Save the chart as it looks now as a PNG image."""
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"could not write the PNG image {path}")

    def export_csv(self, path: str | PathLike[str]) -> None:
        """Save the data as CSV (time in ISO-8601 UTC and Unix seconds, a column per line)."""
        self._lines.export_csv(path)

    def _place_status(self) -> None:
        if self.status_overlay.isVisible():
            self.status_overlay.place(self._status_area())

    def _status_area(self) -> QRect:
        return self.rect() if self._plot_area is None else self._plot_area.geometry()
