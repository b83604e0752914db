"""Pure analytics: arrays and frames in, new frames out. No I/O, no global state."""

from bmts.analytics.curves import discharge_curve, discharge_curves, voltage_grid
from bmts.analytics.cycles import cycle_numbers, cycle_summary, derive_cycles, step_labels
from bmts.analytics.direction import signed_current

__all__ = [
    "cycle_numbers",
    "cycle_summary",
    "derive_cycles",
    "discharge_curve",
    "discharge_curves",
    "signed_current",
    "step_labels",
    "voltage_grid",
]
