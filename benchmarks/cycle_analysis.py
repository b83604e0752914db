"""Time per cycle of bmts's cycle analysis, next to TRI's BEEP structuring run on the same data.

    python benchmarks/cycle_analysis.py [--quick] [--cycles 1000] [--repeat 5] [--no-beep] [--no-calce]

Data: (a) a long simulated test, `simulate_cell(CellSpec("x"), cycles=1000)` (`--quick`: 100 cycles);
(b) the CALCE CS2_35 cell, all its Arbin .xlsx files ingested into a temporary store (skipped when
../shared/data is absent).

bmts operations, each the best (and median) of `--repeat` calls after one warm-up call:
  * `bmts.cycle_summary(frame)`: the per-cycle table from an in-memory frame
  * `bmts.battery_cycles(store, id)`: the same from the store, including reading the Parquet segments
  * `bmts.battery_curves(store, id)`: discharge curves Q(V) of every cycle on a 1000-point grid
Target: < 1 ms per cycle.

Reference: BEEP (`pip install beep` into a throwaway venv at benchmarks/_work/beep-venv, never into the
project's environment). The simulated frame (and the CALCE series) is written as an Arbin CSV and BEEP's
`ArbinDatapath.from_file(...)`, `.summarize_cycles()` and `.structure()` are timed in a subprocess
(benchmarks/_beep_runner.py). `structure()` also interpolates every charge and discharge step on a
1000-point grid, so it is compared with battery_cycles + battery_curves; `summarize_cycles()` is the
counterpart of cycle_summary. If BEEP cannot be installed, the pip error's last line is printed and the
published figure (~85-100 ms per cycle on this machine class, issue #2) stands in.

Prints markdown tables; never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

import bmts
from _common import BENCH, SHARED_DATA, WORK, best_of, fmt, fmt_int, last_line, machine_line, markdown_table
from bmts.pipeline.analysis import battery_frame
from bmts.pipeline.sample_data import CellSpec, simulate_cell
from bmts.storage import Store

BEEP_VENV = WORK / "beep-venv"
BEEP_PYTHON = BEEP_VENV / "bin" / "python"
PUBLISHED_BEEP = "BEEP ~85-100 ms per cycle on this machine class (issue #2)"


@dataclass
class Timing:
    data: str
    operation: str
    cycles: int
    best_s: float
    median_s: float | None = None

    def row(self) -> list[str]:
        return [
            self.data,
            self.operation,
            fmt_int(self.cycles),
            fmt(self.best_s * 1e3, 1),
            fmt(self.median_s * 1e3, 1) if self.median_s is not None else "-",
            fmt(self.best_s * 1e3 / self.cycles, 3),
        ]


# -- BEEP ----------------------------------------------------------------------------------------------


def ensure_beep(allow_install: bool) -> tuple[bool, str]:
    """(usable, note): BEEP importable in its own venv, installing it there if allowed."""
    probe = [
        str(BEEP_PYTHON),
        "-c",
        "import beep.structure.arbin, importlib.metadata as m; print(m.version('beep'))",
    ]
    if BEEP_PYTHON.exists():
        r = subprocess.run(probe, capture_output=True, text=True, env=_beep_env())
        if r.returncode == 0:
            return True, f"beep {last_line(r.stdout)} in {BEEP_VENV.relative_to(BENCH.parent)}"
    if not allow_install:
        return False, "BEEP venv not set up (run once without --quick to install it)"
    print(f"installing beep into {BEEP_VENV} (a throwaway venv) ...", file=sys.stderr, flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    if not BEEP_PYTHON.exists():
        made = subprocess.run([sys.executable, "-m", "venv", str(BEEP_VENV)], capture_output=True, text=True)
        if made.returncode != 0:
            return False, f"could not create the BEEP venv: {last_line(made.stderr)}"
    pip = [str(BEEP_PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    first = subprocess.run([*pip, "beep"], capture_output=True, text=True, timeout=1200)
    r = subprocess.run(probe, capture_output=True, text=True, env=_beep_env())
    if r.returncode == 0:
        return True, f"beep {last_line(r.stdout)} (installed now)"
    # its pins may not resolve on this Python: try the package alone plus what it imports
    subprocess.run([*pip, "--no-deps", "beep"], capture_output=True, text=True, timeout=600)
    subprocess.run(
        [*pip, "numpy", "pandas", "scipy", "monty", "pytz", "tqdm", "watchtower", "botocore", "pydash"],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    r = subprocess.run(probe, capture_output=True, text=True, env=_beep_env())
    if r.returncode == 0:
        return True, f"beep {last_line(r.stdout)} (installed with --no-deps)"
    return False, f"pip install beep failed: {last_line(first.stderr or first.stdout)}"


def _beep_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {"TQDM_OFF": "1"}


def write_arbin_csv(frame: pl.DataFrame, cycles: np.ndarray, steps: np.ndarray, path: Path) -> None:
    """An Arbin MITS-style CSV as BEEP reads it: per-cycle charge/discharge capacity and energy counters
    (trapezoidal, reset every cycle as Arbin does), Unix `date_time`, `step_time`, `step_index`."""
    t = frame["test_time_second"].to_numpy().astype(np.float64)
    v = frame["voltage_volt"].to_numpy().astype(np.float64)
    i = frame["current_ampere"].to_numpy().astype(np.float64)
    dt = np.diff(t, prepend=t[0])
    i_mean = np.r_[i[0], 0.5 * (i[1:] + i[:-1])]
    p_mean = np.r_[v[0] * i[0], 0.5 * (v[1:] * i[1:] + v[:-1] * i[:-1])]
    dq, de = i_mean * dt / 3600.0, p_mean * dt / 3600.0
    temperature = (
        frame["temperature_t1_celsius"].to_numpy()
        if "temperature_t1_celsius" in frame.columns
        else np.full(t.size, 25.0)
    )
    start = 1_735_689_600.0
    out = pl.DataFrame(
        {
            "data_point": np.arange(1, t.size + 1),
            "test_time": t,
            "date_time": start + t,
            "step_index": steps.astype(np.int64),
            "cycle_index": cycles.astype(np.int64),
            "current": i,
            "voltage": v,
            "q_in": np.clip(dq, 0, None),
            "q_out": np.clip(-dq, 0, None),
            "e_in": np.clip(de, 0, None),
            "e_out": np.clip(-de, 0, None),
            "internal_resistance": np.zeros(t.size),
            "temperature": temperature,
        }
    )
    step_run = (pl.col("step_index") != pl.col("step_index").shift(1)).fill_null(True).cum_sum()
    out = out.with_columns(
        pl.col("q_in").cum_sum().over("cycle_index").alias("charge_capacity"),
        pl.col("q_out").cum_sum().over("cycle_index").alias("discharge_capacity"),
        pl.col("e_in").cum_sum().over("cycle_index").alias("charge_energy"),
        pl.col("e_out").cum_sum().over("cycle_index").alias("discharge_energy"),
        (pl.col("test_time") - pl.col("test_time").first().over(step_run)).alias("step_time"),
    ).drop("q_in", "q_out", "e_in", "e_out")
    first = ["data_point", "test_time", "date_time", "step_time", "step_index", "cycle_index"]
    out = out.select(first + [c for c in out.columns if c not in first])
    out.with_row_index("").write_csv(path)  # BEEP reads with index_col=0


def run_beep(csv: Path, v_range: tuple[float, float], nominal_ah: float) -> dict[str, float] | str:
    """BEEP's timings on `csv` (dict) or the reason it failed (str)."""
    result = csv.with_suffix(".beep.json")
    cmd = [str(BEEP_PYTHON), str(BENCH / "_beep_runner.py"), str(csv), str(result)]
    cmd += [str(v_range[0]), str(v_range[1]), str(nominal_ah)]
    print(f"  BEEP structuring {csv.name} ...", file=sys.stderr, flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, env=_beep_env())
    if r.returncode != 0 or not result.exists():
        return f"BEEP failed: {last_line(r.stderr or r.stdout)}"
    return dict(json.loads(result.read_text()))


# -- bmts ----------------------------------------------------------------------------------------------


def time_bmts(label: str, store: Store, battery_id: str, repeat: int) -> list[Timing]:
    """cycle_summary on the battery's frame, battery_cycles and battery_curves from the store."""
    frame = battery_frame(store, battery_id)
    cycles = frame["cycle"].to_numpy()
    eod = frame["end_of_discharge_voltage_volt"]
    eod_v = None if eod.null_count() == eod.len() else eod.to_numpy()
    n = int(np.unique(cycles).size)
    out = []
    for operation, fn in (
        ("bmts cycle_summary(frame)", lambda: bmts.cycle_summary(frame, cycles, eod_v)),
        ("bmts battery_cycles(store, id) (reads Parquet)", lambda: bmts.battery_cycles(store, battery_id)),
        (
            "bmts battery_curves(store, id) (Q(V), 1000 points)",
            lambda: bmts.battery_curves(store, battery_id),
        ),
    ):
        fn()  # warm-up
        best, median, _ = best_of(fn, repeat)
        out.append(Timing(label, operation, n, best, median))
    return out


def beep_rows(label: str, outcome: dict[str, float] | str, n: int) -> tuple[list[Timing], str | None]:
    if isinstance(outcome, str):
        return [], outcome
    cycles = int(outcome["cycles"]) or n
    made = (
        f"BEEP structured {cycles} cycles into {int(outcome['summary_rows'])} summary rows and "
        f"{int(outcome['interpolated_rows']):,} interpolated rows (bmts: {n} cycles)"
    )
    return [
        Timing(label, "BEEP ArbinDatapath.from_file (CSV load)", cycles, outcome["load_s"]),
        Timing(label, "BEEP summarize_cycles()", cycles, outcome["summarize_s"]),
        Timing(label, "BEEP structure() (interpolation + summary)", cycles, outcome["structure_s"]),
    ], made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="100 simulated cycles, no BEEP on CALCE (< 2 min)"
    )
    parser.add_argument("--cycles", type=int, default=None, help="simulated cycles (default 1000)")
    parser.add_argument("--repeat", type=int, default=None, help="calls per bmts operation (default 5)")
    parser.add_argument("--no-beep", action="store_true", help="skip the BEEP reference")
    parser.add_argument("--no-calce", action="store_true", help="skip the CALCE CS2_35 cell")
    args = parser.parse_args(argv)
    n_cycles = args.cycles or (100 if args.quick else 1000)
    repeat = args.repeat or (3 if args.quick else 5)

    print("# bmts cycle analysis: time per cycle\n")
    print(machine_line())
    beep_ok, beep_note = (False, "skipped (--no-beep)") if args.no_beep else ensure_beep(not args.quick)
    print(f"\nBEEP: {beep_note}")
    scratch = Path(tempfile.mkdtemp(prefix="cycles-", dir=WORK))
    timings: list[Timing] = []
    notes: list[str] = []
    beep_failed = False
    try:
        # (a) simulated long test
        label = f"simulated, {n_cycles} cycles"
        started = time.perf_counter()
        frame = simulate_cell(CellSpec("x"), cycles=n_cycles)
        print(f"  simulated {frame.height:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        sim_file = bmts.write_bdf(frame, scratch / "simulated.bdf.parquet")
        store = bmts.open_store(scratch / "store")
        bmts.ingest_paths(store, [sim_file], battery_id="simulated")
        timings += time_bmts(label, store, "simulated", repeat)
        rows_info = [f"{label}: {frame.height:,} samples"]
        if beep_ok:
            csv = scratch / "simulated_arbin.csv"
            write_arbin_csv(frame, frame["cycle_count"].to_numpy(), frame["step_count"].to_numpy(), csv)
            rows, note = beep_rows(label, run_beep(csv, (2.8, 4.2), 2.5), n_cycles)
            timings += rows
            beep_failed |= not rows
            if note:
                notes.append(f"{label}: {note}")

        # (b) CALCE CS2_35
        calce = SHARED_DATA / "calce_cs2" / "CS2_35"
        if args.no_calce:
            pass
        elif not calce.is_dir():
            notes.append(f"CALCE CS2_35 skipped: {calce} is absent")
        else:
            store_c = bmts.open_store(scratch / "calce")
            started = time.perf_counter()
            results = bmts.ingest_paths(store_c, [calce], battery_id="calce-CS2_35")
            ingest_s = time.perf_counter() - started
            framed = battery_frame(store_c, "calce-CS2_35")
            n_calce = int(framed["cycle"].n_unique())
            label_c = f"CALCE CS2_35, {n_calce} cycles"
            rows_info.append(
                f"{label_c}: {framed.height:,} samples from {len(results)} xlsx files (ingested in {ingest_s:.1f} s)"
            )
            timings += time_bmts(label_c, store_c, "calce-CS2_35", repeat)
            if beep_ok and not args.quick:
                csv = scratch / "calce_arbin.csv"
                steps = framed["step_id"].fill_null(0).to_numpy()
                write_arbin_csv(framed, framed["cycle"].to_numpy(), steps, csv)
                rows, note = beep_rows(label_c, run_beep(csv, (2.7, 4.2), 1.1), n_calce)
                timings += rows
                beep_failed |= not rows
                if note:
                    notes.append(f"{label_c}: {note}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print("\n" + "\n".join(f"- {line}" for line in rows_info) + "\n")
    print(
        markdown_table(
            ["data", "operation", "cycles", "best ms", "median ms", "ms / cycle"],
            [t.row() for t in timings],
        )
    )
    print()
    for note in notes:
        print(f"- {note}")
    by = {(t.data, t.operation): t for t in timings}
    for data in dict.fromkeys(t.data for t in timings):
        summary = by.get((data, "bmts cycle_summary(frame)"))
        cycles_t = by.get((data, "bmts battery_cycles(store, id) (reads Parquet)"))
        curves = by.get((data, "bmts battery_curves(store, id) (Q(V), 1000 points)"))
        beep_sum = by.get((data, "BEEP summarize_cycles()"))
        beep_struct = by.get((data, "BEEP structure() (interpolation + summary)"))
        if summary and cycles_t:
            per = cycles_t.best_s * 1e3 / cycles_t.cycles
            verdict = "meets" if per < 1.0 else "misses"
            print(f"- {data}: battery_cycles {per:.3f} ms/cycle, {verdict} the < 1 ms/cycle target")
        if summary and beep_sum:
            print(f"  - BEEP summarize_cycles / bmts cycle_summary: {beep_sum.best_s / summary.best_s:,.0f}x")
        if cycles_t and curves and beep_struct:
            both = cycles_t.best_s + curves.best_s
            print(
                f"  - BEEP structure() / bmts (battery_cycles + battery_curves): {beep_struct.best_s / both:,.0f}x"
            )
    if not beep_ok or beep_failed:
        print(f"- published reference instead: {PUBLISHED_BEEP}")
    else:
        print(f"- for comparison, the published figure: {PUBLISHED_BEEP}")


if __name__ == "__main__":
    main()
