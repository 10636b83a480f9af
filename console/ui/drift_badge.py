"""The drift badge of a fleet card: the deployment's latest drift status as a small word."""

import math

from PySide6.QtWidgets import QWidget

from console.domain.drift import DriftStatus
from console.services.drift_watch import DriftReading
from console.ui import format as fmt
from console.ui.drift_style import METRIC_NAMES, STATUS_WORDS
from console.ui.status_badge import StatusBadge


class DriftBadge(StatusBadge):
    """ "DRIFT ALERT", "DRIFT WARN", "DRIFT OK" or "DRIFT ?" (inconclusive) on the status colour;
    hidden for a deployment without a histogram to watch. The tooltip says what was compared."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("driftBadge", parent)
        self._reading: DriftReading | None = None

    def set_reading(self, reading: DriftReading | None) -> None:
        """Show ``reading`` (None or one without a histogram hides the badge)."""
        self._reading = reading
        self._show()

    def status(self) -> DriftStatus | None:
        """The status shown, None while hidden."""
        reading = self._reading
        return None if reading is None or reading.histogram is None else reading.status

    def _show(self) -> None:
        reading = self._reading
        status = self.status()
        if reading is None or status is None:
            self.hide()
            return
        word = "?" if status is DriftStatus.INCONCLUSIVE else STATUS_WORDS[status]
        self.setText(f"DRIFT {word}")
        self._restyle()
        metric = METRIC_NAMES[reading.metric]
        score = f"{metric} {reading.value:.3g}" if math.isfinite(reading.value) else "no score"
        window = fmt.span(reading.window_s)
        self.setToolTip(
            f"Drift of {reading.histogram}: {score}, {status.value}. The last {window} "
            f"({reading.current_count:,.0f} samples) against the {window} before "
            f"({reading.baseline_count:,.0f} samples)."
        )
        self.setAccessibleName(f"drift {status.value}")
        self.show()

    def _badge_status(self) -> DriftStatus | None:
        return self.status()

    def _sheet(self, colour: str) -> str:
        return (
            f"QLabel#driftBadge {{ color: {colour}; border: 1px solid {colour};"
            " border-radius: 3px; padding: 0px 4px; font-weight: bold; }"
        )
