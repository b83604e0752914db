"""Steps, cycles and per-cycle figures of merit from a canonical time series. Pure and vectorised.

Charge is integrated with the trapezoidal rule between consecutive samples; each interval is booked
to the cycle of the sample that ends it. Cycles come from the cycler's own counter where the file has
one; otherwise a new cycle starts with each substantial charge that follows a substantial discharge
(substantial: at least 5% of the file's charge swing, so regenerative pulses of a drive cycle do not
split cycles). A log of charges only (a gateway that logs while charging, field data cut to charge
windows) has no discharge to tell cycles by: there each charge session is a cycle, a session beginning
after at least `SESSION_GAP_S` without charging (a logging gap or a rest).
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: fraction of the largest |current| below which a sample counts as rest
REST_FRACTION = 0.01
#: a charge or discharge counts for cycle detection above this fraction of the file's charge swing
SUBSTANTIAL_FRACTION = 0.05
#: current steps used for DC resistance: |dI| above this fraction of max |I|, dt at most this many s
RESISTANCE_STEP_FRACTION = 0.2
RESISTANCE_MAX_DT_SECOND = 60.0
#: efficiencies are left empty for cycles whose charge is below this fraction of their discharge (a
#: discharge-only file with sensor noise would otherwise report a coulombic efficiency of 10^5)
MEANINGFUL_FRACTION = 0.05
#: in a log of charges only, a charge this long (s) after the previous one is a new session and cycle
SESSION_GAP_S = 1800.0


def load_runs(current_a: np.ndarray, level_a: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Runs of samples under load (|I| > `level_a`; default 1 % of the largest current, at least 20 mA):
    (starts, stops), run k being samples starts[k] .. stops[k] - 1."""
    if level_a is None:
        level_a = max(0.02, 0.01 * float(np.max(np.abs(current_a)))) if current_a.size else 0.02
    edges = np.flatnonzero(np.diff(np.r_[False, np.abs(current_a) > level_a, False].astype(np.int8)))
    return edges[::2], edges[1::2]


def loads_then_rest(
    time_s: np.ndarray, current_a: np.ndarray, min_rest_s: float, level_a: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The load runs (`load_runs`) followed by a rest of at least `min_rest_s`: (starts, stops, rest_ends),
    the rest after run k ending at sample rest_ends[k] (the last sample before the next load)."""
    starts, stops = load_runs(current_a, level_a)
    rest_ends = np.r_[starts[1:], current_a.size][: starts.size] - 1
    keep = time_s[rest_ends] - time_s[stops - 1] >= min_rest_s
    return starts[keep], stops[keep], rest_ends[keep]


def _interval_mean(values: np.ndarray, steps: np.ndarray | None) -> np.ndarray:
    """Mean of `values` over each interval ending at sample i: trapezoidal within a step; across a step
    change the value of the new step's sample (cyclers log each row as the end of an interval of its step)."""
    mean = 0.5 * (values[1:] + values[:-1])
    if steps is not None:
        crossing = steps[1:] != steps[:-1]
        mean[crossing] = values[1:][crossing]
    return mean


def interval_charge_ah(
    time_s: np.ndarray, current_a: np.ndarray, steps: np.ndarray | None = None
) -> np.ndarray:
    """Charge moved in each interval ending at sample i (Ah, charge > 0); element 0 is 0."""
    dq = np.zeros(time_s.size)
    if time_s.size > 1:
        dq[1:] = _interval_mean(current_a, steps) * np.diff(time_s) / 3600.0
    return dq


def interval_energy_wh(
    time_s: np.ndarray, voltage_v: np.ndarray, current_a: np.ndarray, steps: np.ndarray | None = None
) -> np.ndarray:
    """Energy into the cell in each interval ending at sample i (Wh, charge > 0)."""
    de = np.zeros(time_s.size)
    if time_s.size > 1:
        de[1:] = _interval_mean(voltage_v * current_a, steps) * np.diff(time_s) / 3600.0
    return de


def step_modes(current_a: np.ndarray) -> np.ndarray:
    """+1 charging, -1 discharging, 0 resting, per sample."""
    threshold = REST_FRACTION * float(np.max(np.abs(current_a))) if current_a.size else 0.0
    return np.where(current_a > threshold, 1, np.where(current_a < -threshold, -1, 0)).astype(np.int8)


def step_labels(current_a: np.ndarray, step: np.ndarray | None = None) -> np.ndarray:
    """Consecutive step numbers from 0: a new step where the mode (charge/discharge/rest) or `step` changes."""
    modes = step_modes(current_a)
    change = np.zeros(current_a.size, dtype=bool)
    change[1:] = modes[1:] != modes[:-1]
    if step is not None:
        change[1:] |= step[1:] != step[:-1]
    return np.cumsum(change)


def derive_cycles(time_s: np.ndarray, current_a: np.ndarray) -> np.ndarray:
    """Cycle numbers from 1 for a file without a cycle counter."""
    n = current_a.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    peak = float(np.max(np.abs(current_a)))
    if not np.any(current_a < -REST_FRACTION * peak):
        return charge_sessions(time_s, current_a)
    labels = step_labels(current_a)
    dq = interval_charge_ah(time_s, current_a, labels)
    net = np.cumsum(dq)
    swing = float(net.max() - net.min()) or 1.0
    step_ah = np.bincount(labels, weights=dq)
    first = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    substantial = SUBSTANTIAL_FRACTION * swing
    cycle_starts = []
    discharged = 0.0
    for s, q in enumerate(step_ah):
        if q < 0:
            discharged += -q
        elif q >= substantial and discharged >= substantial:
            cycle_starts.append(first[s])
            discharged = 0.0
    start = np.zeros(n, dtype=np.int64)
    start[np.asarray(cycle_starts, dtype=np.int64)] = 1
    return 1 + np.cumsum(start)


def charge_sessions(time_s: np.ndarray, current_a: np.ndarray, gap_s: float = SESSION_GAP_S) -> np.ndarray:
    """Cycle numbers from 1 for a log of charges only: a new one at each charging sample that comes at least
    `gap_s` after the previous charging sample."""
    charging = np.flatnonzero(current_a > REST_FRACTION * float(np.max(np.abs(current_a), initial=0.0)))
    start = np.zeros(current_a.size, dtype=np.int64)
    if charging.size:
        start[charging[1:][np.diff(time_s[charging]) >= gap_s]] = 1
    return 1 + np.cumsum(start)


def _resistance_per_sample(time_s: np.ndarray, voltage_v: np.ndarray, current_a: np.ndarray) -> np.ndarray:
    """|dV/dI| at sharp current steps (NaN elsewhere), booked to the sample after the step."""
    r = np.full(time_s.size, np.nan)
    if time_s.size < 2:
        return r
    di, dv, dt = np.diff(current_a), np.diff(voltage_v), np.diff(time_s)
    big = RESISTANCE_STEP_FRACTION * float(np.max(np.abs(current_a)))
    edge = (np.abs(di) > big) & (dt > 0) & (dt <= RESISTANCE_MAX_DT_SECOND)
    r[1:][edge] = np.abs(dv[edge] / di[edge])
    return r


def _temperature(frame: pl.DataFrame) -> np.ndarray:
    for name in ("temperature_t1_celsius", "ambient_temperature_celsius"):
        if name in frame.columns:
            return frame[name].cast(pl.Float64).to_numpy()
    return np.full(frame.height, np.nan)


def _step_column(frame: pl.DataFrame) -> np.ndarray | None:
    for name in ("step_count", "step_id"):
        if name in frame.columns and frame[name].null_count() == 0:
            return frame[name].to_numpy()
    return None


def cycle_numbers(frame: pl.DataFrame) -> np.ndarray:
    """The file's cycle counter where it has one, else derived cycles."""
    if "cycle_count" in frame.columns and frame["cycle_count"].null_count() == 0:
        return frame["cycle_count"].to_numpy().astype(np.int64)
    return derive_cycles(frame["test_time_second"].to_numpy(), frame["current_ampere"].to_numpy())


def deep_discharge_fraction(
    voltage_v: np.ndarray, current_a: np.ndarray, steps: np.ndarray, end_of_discharge_v: np.ndarray
) -> np.ndarray:
    """Fraction of each interval (ending at sample i) spent below the end-of-discharge voltage.

    Within a discharge step everything after the voltage first falls below the end-of-discharge
    voltage is deep discharge; the crossing interval is split by linear interpolation.
    """
    n = voltage_v.size
    idx = np.arange(n)
    below = (voltage_v < end_of_discharge_v) & (current_a < 0)
    starts = np.flatnonzero(np.r_[True, steps[1:] != steps[:-1]])
    first_below = np.minimum.reduceat(np.where(below, idx, n), starts)
    first = np.repeat(first_below, np.diff(np.r_[starts, n]))
    fraction = np.where((idx > first) & (current_a < 0), 1.0, 0.0)
    cross = np.flatnonzero((idx == first) & (idx > 0))
    cross = cross[steps[cross] == steps[cross - 1]]
    drop = voltage_v[cross - 1] - voltage_v[cross]
    above = np.where(
        drop > 0, (voltage_v[cross - 1] - end_of_discharge_v[cross]) / np.where(drop > 0, drop, 1), 0
    )
    fraction[cross] = 1.0 - np.clip(above, 0.0, 1.0)
    start_below = np.flatnonzero((idx == first) & ~np.isin(idx, cross))
    fraction[start_below] = 1.0
    return fraction


def cycle_summary(
    frame: pl.DataFrame, cycles: np.ndarray | None = None, end_of_discharge_v: np.ndarray | None = None
) -> pl.DataFrame:
    """Per-cycle table (see `bmts.schema.CYCLE_COLUMNS`) of one cell's canonical time series.

    With `end_of_discharge_v` (per sample; NaN where undefined) the discharge capacity and energy stop
    at that voltage, as rated capacity is defined (IEC 61960), and what was discharged below it is
    reported as deep discharge.
    """
    t = frame["test_time_second"].to_numpy().astype(np.float64)
    v = frame["voltage_volt"].to_numpy().astype(np.float64)
    i = frame["current_ampere"].to_numpy().astype(np.float64)
    c = cycle_numbers(frame) if cycles is None else cycles
    steps = step_labels(i, _step_column(frame))
    dq, de = interval_charge_ah(t, i, steps), interval_energy_wh(t, v, i, steps)
    deep = np.zeros(t.size)
    if end_of_discharge_v is not None:
        deep = deep_discharge_fraction(v, i, steps, np.nan_to_num(end_of_discharge_v, nan=-np.inf))
    work = pl.DataFrame(
        {
            "cycle": c,
            "t": t,
            "v": v,
            "q_in": np.clip(dq, 0, None),
            "q_out": np.clip(-dq, 0, None) * (1 - deep),
            "q_deep": np.clip(-dq, 0, None) * deep,
            "e_in": np.clip(de, 0, None),
            "e_out": np.clip(-de, 0, None) * (1 - deep),
            "temp": _temperature(frame),
            "r": _resistance_per_sample(t, v, i),
        }
    )
    table = (
        work.group_by("cycle", maintain_order=True)
        .agg(
            pl.col("t").first().alias("start_time_second"),
            (pl.col("t").last() - pl.col("t").first()).alias("duration_second"),
            pl.col("q_in").sum().alias("charge_capacity_ah"),
            pl.col("q_out").sum().alias("discharge_capacity_ah"),
            pl.col("q_deep").sum().alias("deep_discharge_capacity_ah"),
            pl.col("e_in").sum().alias("charge_energy_wh"),
            pl.col("e_out").sum().alias("discharge_energy_wh"),
            pl.col("v").min().alias("min_voltage_volt"),
            pl.col("v").max().alias("max_voltage_volt"),
            pl.col("temp").fill_nan(None).mean().alias("mean_temperature_celsius"),
            pl.col("temp").fill_nan(None).max().alias("max_temperature_celsius"),
            pl.col("r").fill_nan(None).median().alias("dc_resistance_ohm"),
        )
        .with_columns(
            pl.when(pl.col("charge_capacity_ah") > MEANINGFUL_FRACTION * pl.col("discharge_capacity_ah"))
            .then(pl.col("discharge_capacity_ah") / pl.col("charge_capacity_ah"))
            .alias("coulombic_efficiency"),
            pl.when(pl.col("charge_energy_wh") > MEANINGFUL_FRACTION * pl.col("discharge_energy_wh"))
            .then(pl.col("discharge_energy_wh") / pl.col("charge_energy_wh"))
            .alias("energy_efficiency"),
        )
    )
    return table.select(
        "cycle",
        "start_time_second",
        "duration_second",
        "charge_capacity_ah",
        "discharge_capacity_ah",
        "charge_energy_wh",
        "discharge_energy_wh",
        "coulombic_efficiency",
        "energy_efficiency",
        "min_voltage_volt",
        "max_voltage_volt",
        "mean_temperature_celsius",
        "max_temperature_celsius",
        "dc_resistance_ohm",
        "deep_discharge_capacity_ah",
    )
