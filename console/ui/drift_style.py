"""How drift statuses look: the colours of the console's status words, and their names."""

import math
from collections.abc import Sequence

from PySide6.QtGui import QColor

from console.domain.drift import DriftMetric, DriftStatus

# (on dark, on light), as in the stylesheets' ok / warn / alert / no-data colours.
_STATUS_COLOURS: dict[DriftStatus, tuple[str, str]] = {
    DriftStatus.OK: ("#3fb950", "#1a7f37"),
    DriftStatus.WARN: ("#d29922", "#9a6700"),
    DriftStatus.ALERT: ("#f85149", "#cf222e"),
    DriftStatus.INCONCLUSIVE: ("#8b949e", "#6e7781"),
}
STATUS_WORDS = {
    DriftStatus.OK: "OK",
    DriftStatus.WARN: "WARN",
    DriftStatus.ALERT: "ALERT",
    DriftStatus.INCONCLUSIVE: "INCONCLUSIVE",
}
METRIC_NAMES = {
    DriftMetric.PSI: "PSI",
    DriftMetric.JS: "JS distance",
    DriftMetric.KS: "KS statistic",
    DriftMetric.WASSERSTEIN: "Wasserstein-1",
    DriftMetric.HELLINGER: "Hellinger",
}


def status_colour(status: DriftStatus, dark_theme: bool) -> QColor:
    """The colour of ``status`` for the current theme."""
    dark, light = _STATUS_COLOURS[status]
    return QColor(dark if dark_theme else light)


def compact_number(value: float) -> str:
    """A bucket bound in few characters: 0.25, 5, 200, 1k, 2.5k, 10k, 1M."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def bucket_labels(bounds: Sequence[float]) -> list[str]:
    """One short label per bucket: "≤ 10" for a bound, "> 10k" for the +Inf bucket."""
    labels = []
    for index, bound in enumerate(bounds):
        if math.isinf(bound):
            below = compact_number(bounds[index - 1]) if index else "0"
            labels.append(f"> {below}")
        else:
            labels.append(f"≤ {compact_number(bound)}")
    return labels
