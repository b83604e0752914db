"""A small, physically plausible sample fleet for the demo and for tests that must run anywhere.

Each cell is cycled CC-CV charge (0.5C to 4.2 V, CV to C/20), rest, CC discharge (1C to 2.8 V), rest,
over a first-order equivalent circuit (OCV(SOC) + R0 + one RC pair). Capacity fades and resistance
grows cycle by cycle at a per-cell rate, with a knee for some cells; sampling every 30 s as a lab
cycler logs. Deterministic for a given seed, so the same fleet has the same bytes every time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

V_MAX, V_MIN = 4.2, 2.8
DT = 30.0
#: fraction of the charge that is stored (the rest feeds side reactions), so coulombic efficiency < 1
CHARGE_EFFICIENCY = 0.9995


def ocv(soc: np.ndarray) -> np.ndarray:
    """Open-circuit voltage of an NMC/graphite-like cell, monotone in SOC."""
    s = np.minimum(soc, 1.0)  # below 0 it keeps falling steeply, so a discharge always ends
    return 3.3 + 0.85 * s - 0.3 * np.exp(-10 * s) + 0.05 * np.exp(-(1 - s) * 25)


@dataclass(frozen=True)
class CellSpec:
    cell_id: str
    capacity_ah: float = 2.5
    r0_ohm: float = 0.035
    fade_per_cycle: float = 0.0008
    knee_cycle: int | None = None
    resistance_growth_per_cycle: float = 0.002
    temperature_celsius: float = 25.0


def _phase(
    t0: float,
    soc0: float,
    cap: float,
    r: float,
    current: float,
    limit: float,
    cv: bool,
    duration: float | None = None,
) -> tuple[np.ndarray, ...]:
    """One phase of constant current (or CV hold at `limit`): time, voltage, current, soc arrays."""
    if cv:  # hold `limit`: the current follows (V - OCV)/R until it falls to C/20
        times, currents, socs = [], [], []
        tt, i, level = 0.0, current, float(soc0)
        while i > cap / 20 and tt < 6 * 3600:
            tt += DT
            level += CHARGE_EFFICIENCY * i * DT / 3600 / cap
            times.append(tt)
            currents.append(i)  # the current applied over the interval that ends now
            socs.append(level)
            i = min(current, max(0.0, (limit - float(ocv(np.array([level]))[0])) / r))
        return t0 + np.array(times), np.full(len(times), limit), np.array(currents), np.array(socs)
    if current == 0.0:
        t = np.arange(DT, (duration or 600) + DT, DT)
        relax = ocv(np.full(t.size, soc0))
        return t0 + t, relax, np.zeros(t.size), np.full(t.size, soc0)
    t = np.arange(DT, 4 * 3600 * cap / abs(current), DT)
    soc = soc0 + (CHARGE_EFFICIENCY if current > 0 else 1.0) * current * t / 3600 / cap
    v = ocv(soc) + current * r * (1 - 0.4 * np.exp(-t / 60))
    stop = np.flatnonzero(v >= limit) if current > 0 else np.flatnonzero(v <= limit)
    n = int(stop[0]) + 1 if stop.size else t.size
    return t0 + t[:n], np.minimum(v[:n], V_MAX) if current > 0 else v[:n], np.full(n, current), soc[:n]


def simulate_cell(spec: CellSpec, cycles: int, seed: int = 0) -> pl.DataFrame:
    """Canonical time series (BDF names) of `cycles` full cycles of one cell."""
    rng = np.random.default_rng(seed)
    parts: list[tuple[np.ndarray, ...]] = []
    t, soc, previous_cap = 0.0, 0.0, spec.capacity_ah
    for k in range(1, cycles + 1):
        fade = spec.fade_per_cycle * (k - 1)
        if spec.knee_cycle and k > spec.knee_cycle:
            fade += 6 * spec.fade_per_cycle * (k - spec.knee_cycle) ** 1.5 / np.sqrt(cycles)
        cap = spec.capacity_ah * max(0.3, 1 - fade)
        r = spec.r0_ohm * (1 + spec.resistance_growth_per_cycle * (k - 1))
        soc, previous_cap = soc * previous_cap / cap, cap  # the charge held is kept as capacity fades
        for current, limit, cv, rest in (
            (0.5 * spec.capacity_ah, V_MAX, False, None),
            (0.5 * spec.capacity_ah, V_MAX, True, None),
            (0.0, 0.0, False, 600.0),
            (-spec.capacity_ah, V_MIN, False, None),
            (0.0, 0.0, False, 600.0),
        ):
            tt, v, i, s = _phase(t, soc, cap, r, current, limit, cv, rest)
            if tt.size == 0:
                continue
            step = np.full(tt.size, len(parts) + 1)
            parts.append((tt, v, i, np.full(tt.size, k), step, s))
            t, soc = float(tt[-1]), float(s[-1])
    tt, v, i, cyc, step, _ = (np.concatenate(x) for x in zip(*parts, strict=True))
    temperature = (
        spec.temperature_celsius + 0.8 * np.abs(i) ** 2 * spec.r0_ohm * 40 + rng.normal(0, 0.05, tt.size)
    )
    return pl.DataFrame(
        {
            "test_time_second": tt,
            "voltage_volt": np.round(v + rng.normal(0, 5e-4, tt.size), 5),
            "current_ampere": np.round(i + rng.normal(0, 2e-4, tt.size) * (i != 0), 5),
            "unix_time_second": 1_739_577_600.0 + tt,  # 2025-02-15, after the demo fleet went into service
            "cycle_count": cyc.astype(np.int64),
            "step_count": step.astype(np.int64),
            "temperature_t1_celsius": np.round(temperature, 3),
        }
    )


def sample_fleet(cells: int = 6) -> list[CellSpec]:
    """A fleet with spread in capacity, fade rate, resistance growth and two cells with a knee."""
    rng = np.random.default_rng(2024)
    fleet = []
    for n in range(cells):
        fleet.append(
            CellSpec(
                cell_id=f"demo-cell-{n + 1:02d}",
                capacity_ah=float(np.round(2.5 * rng.normal(1.0, 0.01), 4)),
                r0_ohm=float(np.round(0.035 * rng.normal(1.0, 0.05), 5)),
                fade_per_cycle=float(np.round(rng.uniform(0.0004, 0.0016), 6)),
                knee_cycle=int(rng.integers(25, 45)) if n % 3 == 2 else None,
                resistance_growth_per_cycle=float(np.round(rng.uniform(0.001, 0.004), 5)),
                temperature_celsius=float(25 + 5 * (n % 2)),
            )
        )
    return fleet
