"""Colours of chart lines and annotation marks, each in a dark- and a light-theme variant."""

import zlib
from collections.abc import Collection
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from console.domain.annotations import AnnotationKind

# (on dark, on light): the same hue, bright enough for #16181d and dark enough for #f5f6f8.
# Red is left out: it means "alert" everywhere else in the console.
LINE_COLOURS: tuple[tuple[str, str], ...] = (
    ("#58a6ff", "#0969da"),  # blue
    ("#f0883e", "#bc4c00"),  # orange
    ("#3fb9a0", "#1a7f64"),  # teal
    ("#bc8cff", "#8250df"),  # purple
    ("#e3b341", "#9a6700"),  # gold
    ("#f778ba", "#bf3989"),  # pink
)


@dataclass(frozen=True)
class MarkStyle:
    """How an annotation kind is drawn."""

    dark: str
    light: str
    line: Qt.PenStyle

    def colour(self, dark_theme: bool) -> QColor:
        """The colour for the current theme."""
        return QColor(self.dark if dark_theme else self.light)


MARK_STYLES: dict[AnnotationKind, MarkStyle] = {
    AnnotationKind.VERSION_CHANGE: MarkStyle("#9aa3b2", "#57606a", Qt.PenStyle.DashLine),
    AnnotationKind.ROLLBACK: MarkStyle("#f0883e", "#bc4c00", Qt.PenStyle.SolidLine),
    AnnotationKind.FAILOVER: MarkStyle("#f85149", "#cf222e", Qt.PenStyle.SolidLine),
    AnnotationKind.SYNTHETIC_RUN: MarkStyle("#bc8cff", "#8250df", Qt.PenStyle.DotLine),
    AnnotationKind.ALERT: MarkStyle("#f85149", "#cf222e", Qt.PenStyle.DashLine),
    AnnotationKind.NOTE: MarkStyle("#8b949e", "#6e7781", Qt.PenStyle.DotLine),
}


def is_dark(palette: QPalette) -> bool:
    """Whether the widget palette has a dark background."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def preferred_slot(name: str) -> int:
    """The palette slot a line name starts from: the same on every chart and every run."""
    return zlib.crc32(name.encode("utf-8")) % len(LINE_COLOURS)


def assign_slot(name: str, taken: Collection[int]) -> int:
    """The preferred slot of ``name``, or the next one no other line of the chart uses."""
    start = preferred_slot(name)
    for offset in range(len(LINE_COLOURS)):
        slot = (start + offset) % len(LINE_COLOURS)
        if slot not in taken:
            return slot
    return start  # more lines than colours: share one


def blend(base: QColor, over: QColor, amount: float) -> QColor:
    """``over`` laid on ``base`` with opacity ``amount``, as an opaque colour."""

    def mix(low: float, high: float) -> float:
        return low + (high - low) * amount

    return QColor.fromRgbF(
        mix(base.redF(), over.redF()),
        mix(base.greenF(), over.greenF()),
        mix(base.blueF(), over.blueF()),
    )


def line_colour(slot: int, dark_theme: bool) -> QColor:
    """The colour of palette slot ``slot`` for the current theme."""
    dark, light = LINE_COLOURS[slot]
    return QColor(dark if dark_theme else light)
