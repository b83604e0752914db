"""The SOC filter's current-sensor offset at rest: read where nothing flows, and reported when never read. Pure.

After a long enough rest (every reading below the rest current) the true current is zero, so the reading is
the sensor's offset: a pseudo-measurement of the filter's offset and gain states. Without such a rest the
offset is the voltage's estimate alone, which also takes up the cell model's slow error (on the Panasonic
cells at 10 and 0 degC +10 ... +70 mA too high; docs/state-estimation-log.md, round 14), so a run long enough
for the offset to matter is told so.
"""

from __future__ import annotations

import numpy as np

from bmts.analytics.compiled import compiled


@compiled
def rest_update(x: np.ndarray, p: np.ndarray, reading_a: float, variance_a2: float, ph: np.ndarray) -> None:
    """At rest the true current, reading * (1 - g) - b, is zero: one filter's state `x` (6,; offset b at
    index 3, gain error g at 4) and covariance `p` (6, 6) updated in place with that pseudo-measurement of
    variance `variance_a2`; `ph` is a work array of 6."""
    y = -(reading_a * (1.0 - x[4]) - x[3])
    for a in range(6):  # P h, with h = (0, 0, 0, -1, -reading, 0)
        ph[a] = -p[a, 3] - reading_a * p[a, 4]
    s = -ph[3] - reading_a * ph[4] + variance_a2
    for a in range(6):
        x[a] += ph[a] / s * y
        for c in range(6):
            p[a, c] -= ph[a] / s * ph[c]


def offset_note(
    offset_a: float, run_s: float, offset_std_a: float, capacity_as: float, rest_after_s: float
) -> str | None:
    """The warning for an offset never read at rest, once the time run is long enough for the offset's prior
    spread to move SOC by a point (`offset_std_a` x `run_s` >= 1 % of `capacity_as`); None before that."""
    if run_s * offset_std_a < 0.01 * capacity_as:
        return None
    minutes = rest_after_s / 60.0
    rest = f"no rest of {minutes:g} min" if minutes > 0 else "rest readings off"
    return (
        f"the current sensor's offset was not read at rest ({rest} in {run_s / 3600.0:.1f} h): it is "
        f"estimated from the voltage alone ({round(1e3 * offset_a):+d} mA), which is only as good as the cell "
        "model (where the model is poor, as in the cold, its slow error is read as offset and SOC drifts "
        "with it); a rest of that length measures it"
    )
