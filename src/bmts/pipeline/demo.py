"""`bmts demo`: the main job end to end on a sample fleet, in the store given."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from bmts.ingest import write_bdf
from bmts.ingest.bdf_writer import atomic_path
from bmts.pipeline import analysis
from bmts.pipeline.demo_fleet import demo_static, fleet_ids, register_demo_fleet
from bmts.pipeline.demo_state import StateReport, run_state_demo
from bmts.pipeline.ingest import ingest_paths
from bmts.pipeline.passport import battery_passport
from bmts.pipeline.sample_data import sample_fleet, simulate_cell
from bmts.pipeline.sample_lab import CURRENT_OFFSET_A
from bmts.registry import Registry, verify
from bmts.storage import EmbeddedStore

#: the demo writes its fleet in several BDF flavours to show that format is detected from content
FLAVOURS = (".bdf.csv", ".bdf.parquet", ".bdf.gz")


@dataclass
class DemoReport:
    health: pl.DataFrame
    imported: int
    unchanged: int
    ledger: str = ""
    passports: list[str] = field(default_factory=list)
    state: StateReport | None = None


def run_demo(
    store: EmbeddedStore, cells: int = 6, cycles: int = 60, progress: Callable[[str], None] = lambda _: None
) -> DemoReport:
    """Write the sample fleet as BDF files, ingest them and compute each cell's health."""
    folder = store.home / "demo-data"
    folder.mkdir(parents=True, exist_ok=True)
    fleet = sample_fleet(cells)
    if register_demo_fleet(Registry(store.engine), fleet, demo_static):
        progress("registered the demo vehicle, pack, modules and cells with their life story")
    paths = []
    for n, spec in enumerate(fleet):
        path = folder / f"{spec.cell_id}{FLAVOURS[n % len(FLAVOURS)]}"
        if not path.exists():
            progress(f"simulating {spec.cell_id} ({cycles} cycles)")
            write_bdf(simulate_cell(spec, cycles, seed=n), path)
        paths.append(path)
    results = ingest_paths(store, paths)
    for r in results:
        progress(f"{r.status}: {r.path} ({r.rows} rows, {r.reader})")
    rows = []
    for spec in fleet:
        table = analysis.battery_cycles(store, spec.cell_id)
        full = table.filter(pl.col("discharge_capacity_ah") > 0.5 * spec.capacity_ah)
        first, last = full.head(3), full.tail(1)
        q0 = _num(first["discharge_capacity_ah"].max())
        q1 = _num(last["discharge_capacity_ah"][0])
        r0 = _num(first["dc_resistance_ohm"].median())
        r1 = _num(full.tail(3)["dc_resistance_ohm"].median())
        rows.append(
            {
                "battery_id": spec.cell_id,
                "cycles": table.height,
                "first_capacity_ah": round(q0, 4),
                "last_capacity_ah": round(q1, 4),
                "soh_percent": round(100 * q1 / spec.capacity_ah, 1),
                "capacity_retention_percent": round(100 * q1 / q0, 1) if q0 else None,
                "mean_coulombic_efficiency": round(_num(full["coulombic_efficiency"].mean()), 4),
                "resistance_growth_percent": round(100 * (r1 / r0 - 1), 1) if r0 == r0 and r0 > 0 else None,
            }
        )
    checked = verify(store.engine)
    passports = folder / "passports"
    passports.mkdir(exist_ok=True)
    written = []
    for battery_id in fleet_ids(fleet):  # vehicle, pack, modules (rolled up from the cells), cells
        for role in ("public", "legitimate_interest", "authority"):
            path = passports / f"{battery_id}.{role}.json"
            document = battery_passport(store, battery_id, role)
            with atomic_path(path) as tmp:
                tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
            written.append(str(path))
    progress("characterising a lab cell, tracking its SOC, estimating every cell's SOH")
    state = run_state_demo(store, folder, [s.cell_id for s in fleet], [s.capacity_ah for s in fleet])
    return DemoReport(
        health=pl.DataFrame(rows),
        imported=sum(r.status == "imported" for r in results),
        unchanged=sum(r.status == "unchanged" for r in results),
        ledger=f"{checked.events} events of {checked.batteries} batteries verified, root {checked.root[:16]}...",
        passports=written,
        state=state,
    )


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")


def headline(report: DemoReport) -> str:
    folder = report.passports[0].rsplit("/", 1)[0] if report.passports else ""
    return (
        f"Sample fleet: {report.health.height} cells ({report.imported} files imported, "
        f"{report.unchanged} already stored)\n"
        f"Lifecycle ledger: {report.ledger}\n"
        f"EU battery passports (public, legitimate_interest, authority): {len(report.passports)} in {folder}"
        + (_state_lines(report.state) if report.state else "")
    )


def _state_lines(state: StateReport) -> str:
    temps = " and ".join(f"{t:g}" for t in sorted(state.temperatures_celsius))
    return (
        f"\nCell model: OCV + 2RC fitted at {temps} degC from the lab's C/20 and HPPC tests -> {state.model_path}"
        f"\n  as a PyBaMM Thevenin parameter set -> {state.pybamm_path}"
        f"\nSOC on a 15 degC drive cycle with BMS sensor errors: RMSE {state.soc_rmse_percent:.2f}% "
        f"(coulomb counting {state.coulomb_counting_rmse_percent:.2f}%); as three telemetry files with a saved"
        f" filter state (bmts soc --state): {state.soc_file_by_file_rmse_percent:.2f}%"
        f"\n  cut where driving starts and guessed 30 points low: {state.soc_wrong_start_rmse_percent:.2f}% over"
        " the first 10 minutes (the guess is checked against the first minutes' voltage)"
        f"\n  cut there, the true SOC given: {state.soc_known_start_rmse_percent[0]:.2f}% as a guess,"
        f" {state.soc_known_start_rmse_percent[1]:.2f}% declared known (--initial-soc-std 0.01)"
        f"\n  current-sensor offset read at the drive's 10 min rest: {state.current_offset_read_a * 1000:.0f} mA"
        f" (the BMS's: {CURRENT_OFFSET_A * 1000:.0f} mA)"
        "\nSOC of a 3-cell pack from one BMS telemetry file (pack_id, cell_id rows; bmts soc), RMSE: "
        + ", ".join(f"{cell} {rmse[0]:.2f}%" for cell, rmse in state.pack_soc_rmse_percent.items())
        + "\n  with each cell's capacity (100/98/96 %) given, as bmts soh writes it (--capacities): "
        + ", ".join(f"{cell} {rmse[1]:.2f}%" for cell, rmse in state.pack_soc_rmse_percent.items())
        + "\nSOH of each cell, from full cycles and from 3.8-4.1 V charge windows only (bmts soh; then the windows"
        "\n  calibrated on the other cells' full cycles, bmts soh --reference):"
    )
