"""SOC on simulated cells that are not the Panasonic cell: a generalisation testbed for the cold.

Each cell is a PyBaMM physics model (SPMe, lumped thermal model, published parameter sets whose exchange
currents, and for the NMC/NCO cells also diffusivities and electrolyte transport, follow Arrhenius laws; the
cells and their voltage limits are declared in CELLS). Per cell and ambient (25, 10, 0, -10,
-20 degC) it simulates the characterisation the acceptance check gives — a 25 degC C/20 discharge from full
(OCV), and at the ambient an HPPC-like pulse test (0.5/1/2/3C discharge and charge pulses of 10 s at every
10 % SOC) and a dis5-like file (C/3 discharges of 10 % each followed by a 20 min rest) — writes them as BDF
CSV, fits them with `bmts.pipeline.state.fit_cell_model`, and scores seeded synthetic drive profiles (an
hour from full, regen and peaks, derated in the cold) the way the acceptance check does:
A) the whole file with BMS sensor errors (offset 20-50 mA, gain 0.5-1.5 %, 2 mV noise), started at 1.0;
A cut) the same sensors and the true SOC given, but cut at the start of driving (a known SOC, no rest voltage);
A known) as A cut, the start declared known to one point (`initial_soc_std` 0.01, `--initial-soc-std`);
B) exact sensors, cut at the start of driving, started at 0.7, scored after 600 s.
Truth: SOC = 1 + Ah / C_ref with C_ref the C/20 capacity. Also printed: the share of case A's samples
within two reported soc_std, coulomb counting with the BMS sensors, and the fitted model's open-loop
voltage error on the drive (measured - model, mV).
Simulations are cached under the temp dir keyed by their inputs (a rerun takes ~1 min; first run ~10 min).
`--warm`: each cell's 0 degC model on its 10 / 25 degC drives, its -20 degC model on its -10 / 0 degC drives.
`--pulse-test panasonic`: the pulse test shaped as the Panasonic `5 pulse` files the acceptance check fits —
discharge pulses only, 20 min rests, sets 5 % apart near full and empty, the SOC steps between sets not in
the file (the amp-hour counter carries across) — beside the same dis5-like file.
Usage: python benchmarks/soc_synthetic.py [--cells OKane2022 Mohtat2020 Prada2013 Ecker2015]
    [--temps 25 10 0 -10 -20] [--quick] [--warm] [--pulse-test standard|panasonic]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from _common import bms_sensors, machine_line, markdown_table, rmse_pct, within_two_sigma_pct
from bmts.analytics.ecm import CellModel, simulate_voltage
from bmts.analytics.soc import SocConfig, coulomb_count, estimate_soc
from bmts.pipeline import state

CACHE = Path(tempfile.gettempdir()) / "bmts-soc-synthetic"
KNOWN_STD = 0.01  # case A known: the start declared known to one point
SIM_VERSION = 1  # bump when a simulated protocol, or an existing cell's declaration in CELLS, changes


@dataclass(frozen=True)
class SimCell:
    """A simulated cell: a PyBaMM parameter set, the voltage limits its protocols use, and the values the
    set lacks or gets wrong for the real cell. The C/20 and discharge steps stop at the set's own lower
    cut-off; full is the set's own upper cut-off."""

    pybamm_set: str
    pulse_upper_v: float  # HPPC charge pulses stop here (a cycler's limit, a little above full)
    drive_window_v: tuple[float, float]  # the cut-offs lifted for driven profiles (the protocol stops them)
    update: tuple[tuple[str, float], ...] = ()
    thermal_from: str | None = None  # a set to borrow missing thermal and current-collector values from


#: the NMC/NCO cells' limits: charge pulses to 4.3 V, driven profiles within 2.0-4.6 V
_NMC_PULSE_V, _NMC_DRIVE_V = 4.3, (2.0, 4.6)
#: published parameter sets whose exchange currents (and, but for Prada2013, diffusivities and electrolyte
#: transport) follow Arrhenius laws. O'Kane 2022: LG M50 21700, NMC811/graphite-SiOx (Chen 2020 with
#: Arrhenius laws). Mohtat 2020: NMC532/graphite pouch, 5 Ah. Prada 2013: A123 26650 LFP/graphite, 2.3 Ah,
#: flat OCV; the set has no thermal data: Chen 2020's (same graphite) with the 26650 can's volume and
#: surface. Ecker 2015: Kokam SLPB 75106100 NCO/graphite pouch; the set is one 0.156 Ah electrode pair:
#: 48 in parallel make the 7.5 Ah cell, cooled over the pouch's own surface.
CELLS: dict[str, SimCell] = {
    "OKane2022": SimCell("OKane2022", _NMC_PULSE_V, _NMC_DRIVE_V),
    "Mohtat2020": SimCell("Mohtat2020", _NMC_PULSE_V, _NMC_DRIVE_V),
    "Prada2013": SimCell(
        "Prada2013",
        pulse_upper_v=3.7,
        drive_window_v=(1.5, 4.0),
        update=(("Cell volume [m3]", 3.45e-5), ("Cell cooling surface area [m2]", 6.37e-3)),
        thermal_from="Chen2020",
    ),
    "Ecker2015": SimCell(
        "Ecker2015",
        _NMC_PULSE_V,
        _NMC_DRIVE_V,
        update=(
            ("Number of electrodes connected in parallel to make a cell", 48.0),
            ("Nominal cell capacity [A.h]", 7.5),
            ("Cell volume [m3]", 7.95e-5),
            ("Cell cooling surface area [m2]", 0.0243),
        ),
    ),
}
TEMPS_C = (25.0, 10.0, 0.0, -10.0, -20.0)
DRIVE_SEEDS = (11, 12, 13)
#: vehicle-like derating: (largest discharge C-rate, largest regen C-rate) by ambient (>= key)
DERATING = ((10.0, 3.0, 1.5), (0.0, 2.5, 1.0), (-10.0, 2.0, 0.6), (-99.0, 1.5, 0.3))
PULSE_C = (0.5, 1.0, 2.0, 3.0)
#: per (cell, ambient) of the last run: the table's long-load model error, Butler-Volmer scale (C-rate) and
#: the warm-side activation (K; NaN: not fitted, the default law)
FITTED: dict[tuple[str, float], tuple[float, float, float]] = {}


def _set(cell: str):  # type: ignore[no-untyped-def]
    """The cell's parameter values at the set's own temperatures and cut-offs."""
    import pybamm

    spec = CELLS[cell]
    p = pybamm.ParameterValues(spec.pybamm_set)
    if spec.thermal_from is not None:
        donor = pybamm.ParameterValues(spec.thermal_from)
        thermal = (
            "current collector",
            "density [kg",
            "specific heat",
            "thermal conductivity",
            "heat transfer",
        )
        missing = {k: donor[k] for k in donor if k not in p and any(w in k for w in thermal)}
        p.update(missing, check_already_exists=False)
    p.update(dict(spec.update), check_already_exists=False)
    return p


def _parameters(cell: str, ambient_c: float, driven: bool = False):  # type: ignore[no-untyped-def]
    p = _set(cell)
    p.set_initial_state(1.0)  # SOC 1 at the set's own upper cut-off
    kelvin = 273.15 + ambient_c
    p.update({"Ambient temperature [K]": kelvin, "Initial temperature [K]": kelvin})
    if driven:  # lift the cut-offs for driven profiles (the protocol, not the cell, stops them)
        lo, hi = CELLS[cell].drive_window_v
        p.update({"Lower voltage cut-off [V]": lo, "Upper voltage cut-off [V]": hi})
    return p


def _solution_arrays(sol, ambient_c: float) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    return {
        "t": sol["Time [s]"].entries,
        "v": sol["Voltage [V]"].entries,
        "i": -sol["Current [A]"].entries,  # bmts sign: positive while charging
        "temp": sol["Volume-averaged cell temperature [C]"].entries,
        "ah": -sol["Discharge capacity [A.h]"].entries,
        "ambient": np.full(sol["Time [s]"].entries.size, ambient_c),
    }


def _cached(key: dict[str, object], build) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    CACHE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(json.dumps({**key, "v": SIM_VERSION}, sort_keys=True).encode()).hexdigest()[:16]
    path = CACHE / f"{key['kind']}_{digest}.npz"
    if path.exists():
        return dict(np.load(path))
    started = time.perf_counter()
    arrays = build()
    np.savez(path, **arrays)
    print(f"  simulated {key} in {time.perf_counter() - started:.0f} s", flush=True)
    return arrays


def _run_experiment(cell: str, ambient_c: float, steps: list[str], period_s: float) -> dict[str, np.ndarray]:
    import pybamm

    pybamm.set_logging_level("ERROR")
    p = _parameters(cell, ambient_c)
    model = pybamm.lithium_ion.SPMe(options={"thermal": "lumped"})
    experiment = pybamm.Experiment(steps, period=f"{period_s:g} seconds")
    sim = pybamm.Simulation(model, parameter_values=p, experiment=experiment, solver=pybamm.IDAKLUSolver())
    return _solution_arrays(sim.solve(), ambient_c)


def c20(cell: str) -> dict[str, np.ndarray]:
    """The OCV test: rest, C/20 discharge from full to the lower cut-off, rest (25 degC)."""
    steps = ["Rest for 10 minutes", "Discharge at C/20 until {lo} V", "Rest for 1 hour"]
    return _cached(
        {"kind": "c20", "cell": cell},
        lambda: _run_experiment(cell, 25.0, [s.format(lo=_cutoff(cell)) for s in steps], 60.0),
    )


def _cutoff(cell: str) -> float:
    return float(_set(cell)["Lower voltage cut-off [V]"])


def hppc(cell: str, ambient_c: float) -> dict[str, np.ndarray]:
    """Pulses at every 10 % SOC from full: 10 s discharge and charge at each C-rate with 2 min rests,
    then 10 % at 1C and a 30 min rest (voltage-limited like a cycler)."""
    lo, hi = _cutoff(cell), CELLS[cell].pulse_upper_v
    steps = ["Rest for 30 minutes"]
    for _ in range(9):
        for c in PULSE_C:
            steps += [
                f"Discharge at {c}C for 10 seconds or until {lo} V",
                "Rest for 2 minutes",
                f"Charge at {c}C for 10 seconds or until {hi} V",
                "Rest for 2 minutes",
            ]
        steps += [f"Discharge at 1C for 6 minutes or until {lo} V", "Rest for 30 minutes"]
    return _cached(
        {"kind": "hppc", "cell": cell, "ambient": ambient_c, "pulses": PULSE_C},
        lambda: _run_experiment(cell, ambient_c, steps, 1.0),
    )


#: the set SOCs of the Panasonic-shaped pulse test (its `5 pulse` files: 5 % apart near full and empty)
PANASONIC_SET_SOCS = (1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15)


def hppc_panasonic(cell: str, ambient_c: float) -> dict[str, np.ndarray]:
    """Shaped as the Panasonic `5 pulse` files: 10 s discharge pulses at each C-rate with 20 min rests per
    set; between sets a 1C step and an hour's rest, of which the file keeps only the last 10 min (the steps
    are not logged there; the amp-hour counter, `ah`, carries across)."""
    lo = _cutoff(cell)
    steps, prev = ["Rest for 30 minutes"], 1.0
    for k, soc in enumerate(PANASONIC_SET_SOCS):
        if k:
            steps += [
                f"Discharge at 1C for {(prev - soc) * 60:.2f} minutes or until {lo} V",
                "Rest for 60 minutes",
            ]
        prev = soc
        for c in PULSE_C:
            steps += [f"Discharge at {c}C for 10 seconds or until {lo} V", "Rest for 20 minutes"]
    full = _cached(
        {"kind": "hppc_panasonic", "cell": cell, "ambient": ambient_c, "pulses": PULSE_C},
        lambda: _run_experiment(cell, ambient_c, steps, 1.0),
    )
    t, loaded = full["t"], np.flatnonzero(np.abs(full["i"]) > 0)
    keep = np.ones(t.size, dtype=bool)
    for load in np.split(loaded, np.flatnonzero(np.diff(loaded) > 1) + 1):
        if load.size and t[load[-1]] - t[load[0]] > 60.0:  # a SOC step, not a pulse: cut with 50 min after it
            keep[(t >= t[load[0]] - 1.0) & (t <= t[load[-1]] + 3000.0)] = False
    return {k: v[keep] for k, v in full.items()}


def long_loads(cell: str, ambient_c: float) -> dict[str, np.ndarray]:
    """dis5-like: from full, C/3 discharges of 10 % SOC (18 min), each followed by a 20 min rest."""
    lo = _cutoff(cell)
    steps = ["Rest for 10 minutes"]
    for _ in range(9):
        steps += [f"Discharge at C/3 for 18 minutes or until {lo} V", "Rest for 20 minutes"]
    return _cached(
        {"kind": "dis5", "cell": cell, "ambient": ambient_c},
        lambda: _run_experiment(cell, ambient_c, steps, 10.0),
    )


def drive_profile(seed: int, capacity_ah: float, ambient_c: float) -> tuple[np.ndarray, np.ndarray]:
    """(t, current bmts-signed) at 1 s: 5 min rest, ~60 min of driving segments (cruise, acceleration
    peaks, regen, idle; seeded), 10 min rest. Peaks and regen are clipped by the ambient's derating."""
    rng = np.random.default_rng(seed)
    peak_c, regen_c = next((p, r) for t, p, r in DERATING if ambient_c >= t)
    parts = [np.zeros(300)]
    total = 0
    while total < 3600:
        kind = rng.choice(4, p=[0.45, 0.2, 0.2, 0.15])
        if kind == 0:  # cruise: a level with slow wander
            n = int(rng.integers(40, 200))
            seg = -rng.uniform(0.3, 1.1) + 0.08 * np.cumsum(rng.normal(0, 0.1, n)) / np.sqrt(n)
        elif kind == 1:  # acceleration: a rounded peak
            n = int(rng.integers(6, 25))
            seg = -rng.uniform(1.2, 3.0) * np.sin(np.linspace(0, np.pi, n)) ** 0.5
        elif kind == 2:  # regen braking
            n = int(rng.integers(5, 15))
            seg = rng.uniform(0.3, 1.5) * np.sin(np.linspace(0, np.pi, n))
        else:  # idle
            n = int(rng.integers(5, 40))
            seg = np.zeros(n)
        parts.append(seg)
        total += n
    parts.append(np.zeros(600))
    c_rate = np.clip(np.concatenate(parts), -peak_c, regen_c)
    return np.arange(c_rate.size, dtype=float), c_rate * capacity_ah


def drive(cell: str, ambient_c: float, seed: int) -> dict[str, np.ndarray]:
    def build() -> dict[str, np.ndarray]:
        import pybamm

        pybamm.set_logging_level("ERROR")
        p = _parameters(cell, ambient_c, driven=True)
        t, i = drive_profile(seed, float(p["Nominal cell capacity [A.h]"]), ambient_c)
        p["Current function [A]"] = pybamm.Interpolant(t, -i, pybamm.t)
        model = pybamm.lithium_ion.SPMe(options={"thermal": "lumped"})
        sim = pybamm.Simulation(model, parameter_values=p, solver=pybamm.IDAKLUSolver(rtol=1e-6, atol=1e-8))
        return _solution_arrays(sim.solve(t_eval=[0.0, float(t[-1])], t_interp=t), ambient_c)

    return _cached({"kind": "drive", "cell": cell, "ambient": ambient_c, "seed": seed}, build)


def write_bdf(arrays: dict[str, np.ndarray], path: Path, counter: bool = False) -> Path:
    """A BDF CSV file; with `counter`, the amp-hour counter too (for a log with its gaps, as the cyclers')."""
    columns = {
        "Test Time / s": arrays["t"],
        "Voltage / V": arrays["v"],
        "Current / A": arrays["i"],
        "Ambient Temperature / degC": arrays["ambient"],
        "Surface Temperature T1 / degC": arrays["temp"],
    }
    if counter:
        columns["Net Capacity / Ah"] = arrays["ah"]
    pl.DataFrame(columns).write_csv(path)
    return path


#: the pulse tests: the HPPC-like default, or shaped as the Panasonic files (`hppc_panasonic`)
PULSE_TESTS = {"standard": hppc, "panasonic": hppc_panasonic}


#: fit without the dis5-like file (`--no-long-loads`): the pulse test alone, as a user may have it
WITH_LONG_LOADS = True


def fit(cell: str, ambient_c: float, folder: Path, pulse_test: str = "standard") -> tuple[CellModel, float]:
    """The cell model from the simulated characterisation (as BDF CSV files), and C_ref (C/20 Ah)."""
    ocv = c20(cell)
    tag = f"{cell}_{ambient_c:g}C"
    pulses = PULSE_TESTS[pulse_test](cell, ambient_c)
    files = [write_bdf(pulses, folder / f"{tag}_HPPC.bdf.csv", counter=pulse_test != "standard")]
    if WITH_LONG_LOADS:
        files.append(write_bdf(long_loads(cell, ambient_c), folder / f"{tag}_dis5.bdf.csv"))
    model = state.fit_cell_model(write_bdf(ocv, folder / f"{cell}_C20.bdf.csv"), files)
    return model, float(-ocv["ah"].min())  # Ah discharged to the cut-off


def score(
    model: CellModel, c_ref: float, d: dict[str, np.ndarray], case: str, seed: int, config: SocConfig | None
) -> dict[str, float]:
    """A, B and coulomb counting RMSE (% SOC) and the open-loop voltage error (mV) of one drive."""
    t, v, i, temp = d["t"], d["v"], d["i"], d["temp"]
    truth = 1.0 + d["ah"] / c_ref
    t0 = float(t[np.argmax(np.abs(i) > 0.05)])
    i_bms, v_bms = bms_sensors(case, seed, i, v)
    k = t >= t0
    a = estimate_soc(t, v_bms, i_bms, model, temp, 1.0, config)
    # A cut: the same sensors and the true SOC given, but the log starts where driving starts (no rest)
    a_cut = estimate_soc(t[k] - t0, v_bms[k], i_bms[k], model, temp[k], float(truth[k][0]), config)
    # A known: the same, the start declared known to one point (`--initial-soc-std 0.01`)
    known = replace(config or SocConfig(), initial_soc_std=KNOWN_STD)
    a_known = estimate_soc(t[k] - t0, v_bms[k], i_bms[k], model, temp[k], float(truth[k][0]), known)
    b = estimate_soc(t[k] - t0, v[k], i[k], model, temp[k], 0.7, config)
    late = (t[k] - t0) >= 600
    cc = coulomb_count(t, i_bms, c_ref, 1.0)
    model_v, _ = simulate_voltage(model, t, i, 1.0, float(np.median(temp[k])))
    err = (v - model_v)[k] * 1e3
    return {
        "a": rmse_pct(a.soc[k], truth[k]),
        "a_cover": within_two_sigma_pct(a.soc[k], a.soc_std[k], truth[k]),
        "a_cut": rmse_pct(a_cut.soc, truth[k]),
        "a_known": rmse_pct(a_known.soc, truth[k]),
        "b": rmse_pct(b.soc[late], truth[k][late]),
        "b_first": rmse_pct(b.soc[~late], truth[k][~late]),
        "cc": rmse_pct(cc[k], truth[k]),
        "v_mean": float(err.mean()),
        "v_rmse": float(np.sqrt(np.mean(err**2))),
        "t_cell": float(np.median(temp[k])),
    }


def run(
    cells: Sequence[str],
    temps: Sequence[float],
    config: SocConfig | None = None,
    seed: int = 1,
    pulse_test: str = "standard",
) -> list[tuple[str, float, str, dict[str, float]]]:
    out = []
    with tempfile.TemporaryDirectory(prefix="bmts-soc-synth-") as work:
        for cell in cells:
            for amb in temps:
                try:
                    model, c_ref = fit(cell, amb, Path(work), pulse_test)
                except Exception as e:  # a temperature the simulation or the fit cannot do is reported
                    print(f"{cell} {amb:g} degC: characterisation failed: {e}", flush=True)
                    continue
                table = model.tables[0]
                scale_c = float(np.median(table.params["bv_scale_a"])) / c_ref
                warm = model.warm_activation_k
                FITTED[(cell, amb)] = (table.model_error_rel, scale_c, float("nan") if warm is None else warm)
                for s in DRIVE_SEEDS:
                    case = f"{cell}_{amb:g}C_drive{s}"
                    try:
                        out.append(
                            (cell, amb, case, score(model, c_ref, drive(cell, amb, s), case, seed, config))
                        )
                    except Exception as e:
                        print(f"{case}: failed: {e}", flush=True)
    return out


#: the warm check: a one-table model of the cold ambient scoring the drives of warmer ones
WARM_PLAN = ((0.0, (10.0, 25.0)), (-20.0, (-10.0, 0.0)))


def run_warm(cells: Sequence[str], seed: int = 1) -> list[tuple[str, float, str, dict[str, float]]]:
    """Each cell's 0 degC model on its 10 / 25 degC drives and its -20 degC model on its -10 / 0 degC drives
    (rows keyed by the drives' ambient)."""
    out = []
    with tempfile.TemporaryDirectory(prefix="bmts-soc-synth-") as work:
        for cell in cells:
            for table_c, drive_cs in WARM_PLAN:
                model, c_ref = fit(cell, table_c, Path(work))
                for amb in drive_cs:
                    for s in DRIVE_SEEDS:
                        case = f"{cell}_{amb:g}C_drive{s}"  # the own-temperature run's sensor errors
                        out.append(
                            (cell, amb, case, score(model, c_ref, drive(cell, amb, s), case, seed, None))
                        )
    return out


def report(results: list[tuple[str, float, str, dict[str, float]]]) -> None:
    rows = [
        (cell, f"{amb:g}", case.rsplit("_", 1)[-1], f"{r['t_cell']:.1f}", f"{r['a']:.2f}", f"{r['a_cut']:.2f}",
         f"{r['a_known']:.2f}", f"{r['b']:.2f}",
         f"{r['b_first']:.2f}", f"{r['a_cover']:.0f}", f"{r['cc']:.2f}", f"{r['v_mean']:+.1f}", f"{r['v_rmse']:.1f}")
        for cell, amb, case, r in results
    ]  # fmt: skip
    heads = ["cell", "ambient degC", "drive", "cell degC (median)", "A %", "A cut %", "A known %", "B %",
             "B first 10 min %",
             "A within 2 soc_std %", "CC (BMS) %",
             "open-loop mean mV", "open-loop RMSE mV"]  # fmt: skip
    print(markdown_table(heads, rows))
    summary = []
    for cell in dict.fromkeys(r[0] for r in results):
        for amb in dict.fromkeys(r[1] for r in results if r[0] == cell):
            sel = [r[3] for r in results if r[0] == cell and r[1] == amb]
            a, b = np.array([x["a"] for x in sel]), np.array([x["b"] for x in sel])
            first, cut = np.array([x["b_first"] for x in sel]), np.array([x["a_cut"] for x in sel])
            known = np.array([x["a_known"] for x in sel])
            error, scale_c, warm = FITTED.get((cell, amb), (float("nan"),) * 3)
            summary.append(
                (cell, f"{amb:g}", f"{a.mean():.2f} / {a.max():.2f}", f"{cut.mean():.2f} / {cut.max():.2f}",
                 f"{known.mean():.2f} / {known.max():.2f}",
                 f"{b.mean():.2f} / {b.max():.2f}",
                 f"{first.mean():.2f} / {first.max():.2f}", f"{scale_c:.2f}", f"{error:.3f}",
                 "-" if np.isnan(warm) else f"{warm:.0f}")
            )  # fmt: skip
    print()
    heads = [
        "cell",
        "ambient degC",
        "A mean / worst",
        "A cut mean / worst",
        "A known mean / worst",
        "B mean / worst",
        "B first 10 min mean / worst",
        "BV scale C",
        "long-load model error",
        "warm activation K",
    ]
    print(markdown_table(heads, summary))
    for name, pick in (("25/10 degC", lambda x: x >= 10), ("0/-10/-20 degC", lambda x: x < 10)):
        sel = [r[3] for r in results if pick(r[1])]
        if sel:
            a, b = np.array([x["a"] for x in sel]), np.array([x["b"] for x in sel])
            first, cut = np.array([x["b_first"] for x in sel]), np.array([x["a_cut"] for x in sel])
            known = np.array([x["a_known"] for x in sel])
            cover = np.mean([x["a_cover"] for x in sel])
            print(
                f"\n{name}: A {a.mean():.2f} / {a.max():.2f}, A cut {cut.mean():.2f} / {cut.max():.2f}, "
                f"A known {known.mean():.2f} / {known.max():.2f}, "
                f"B {b.mean():.2f} / {b.max():.2f} ({len(sel)} drives), "
                f"B in the first 10 min {first.mean():.2f} / {first.max():.2f}; A within 2 soc_std {cover:.0f} %"
            )


def main() -> None:
    global PULSE_C, WITH_LONG_LOADS
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    ap.add_argument("--temps", nargs="+", type=float, default=list(TEMPS_C))
    ap.add_argument("--quick", action="store_true", help="Mohtat2020 at 25 and -20 degC only")
    ap.add_argument("--warm", action="store_true", help="one-table cold models on warmer drives (WARM_PLAN)")
    ap.add_argument(
        "--pulse-test", choices=list(PULSE_TESTS), default="standard", help="the pulse test's shape"
    )
    ap.add_argument(
        "--pulse-rates",
        nargs="+",
        type=float,
        help=f"the pulses' C-rates (default {' '.join(map(str, PULSE_C))}; the Panasonic files: 0.5 1 2 4 6)",
    )
    ap.add_argument("--no-long-loads", action="store_true", help="fit without the dis5-like file")
    a = ap.parse_args()
    if a.no_long_loads:
        WITH_LONG_LOADS = False
    if a.pulse_rates:
        PULSE_C = tuple(a.pulse_rates)
    if a.quick:
        a.cells, a.temps = ["Mohtat2020"], [25.0, -20.0]
    print(machine_line())
    print("\n### SOC on simulated cells (PyBaMM SPMe + lumped thermal; RMSE % SOC)\n")
    started = time.perf_counter()
    report(run_warm(a.cells) if a.warm else run(a.cells, a.temps, pulse_test=a.pulse_test))
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
