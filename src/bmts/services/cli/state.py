"""`bmts cell-model fit` / `export`, `bmts soc`, `bmts soh`: thin adapters over bmts.pipeline.state."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bmts.ingest.bdf_writer import write_frame
from bmts.pipeline import pybamm_thevenin, soh_state, state, telemetry_state
from bmts.schema import DataError, Issue

err = Console(stderr=True)
out = Console()

cell_model_app = typer.Typer(no_args_is_help=True, help="Cell models: OCV(SOC) and equivalent circuits.")


@cell_model_app.command("fit")
def fit_command(
    ocv: Annotated[Path, typer.Option("--ocv", help="low-rate (C/20) OCV test, any supported format")],
    output: Annotated[Path, typer.Option("-o", "--output", help="model JSON file")],
    pulse: Annotated[
        list[Path] | None, typer.Option("--pulse", help="pulse/HPPC test (repeat for more temperatures)")
    ] = None,
) -> None:
    """Identify OCV(SOC) and R0 + 2 RC parameters per SOC and temperature; write the model JSON."""
    model = state.fit_cell_model(ocv, list(pulse or []))
    state.save_model(model, output)
    temps = ", ".join(
        f"{t.temperature_celsius:g} degC ({t.soc.size} SOC points"
        + (
            f", model error {t.model_error_rel:.0%} at long loads)"
            if math.isfinite(t.model_error_rel)
            else ")"
        )
        for t in model.tables
    )
    warm = (
        f"; warm side {model.warm_activation_k:.0f} K from {model.notes.get('warm_activation_loads')} loads"
        if model.warm_activation_k is not None
        else ""
    )
    out.print(
        f"wrote {output}: capacity {model.capacity_ah:.4f} Ah; ECM at {temps or 'no temperature'}{warm}",
        markup=False,
    )
    skipped = model.notes.get("skipped", [])
    for name in skipped if isinstance(skipped, list) else []:
        err.print(f"note: {name}: no pulses, not used for the ECM", markup=False)
    unchecked = model.notes.get("unchecked_slow_branch", [])
    for found in unchecked if isinstance(unchecked, list) else []:
        err.print(
            f"warning: {found['source']}: no constant-current discharge of at least {found['min_load_s']} s"
            f" followed by {found['min_rest_s'] / 60:.0f} min of rest, so the slow RC pair is neither corrected nor"
            " checked at long loads;"
            " add such a discharge test at this temperature as another --pulse (the Panasonic 18650PF at"
            " 10 degC without its dis5 file: SOC RMSE on its drive cycles 0.58 -> 0.98 %)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    sparse = model.notes.get("sparse_pulse_tests", [])
    for found in sparse if isinstance(sparse, list) else []:
        socs = ", ".join(f"{x:g}" for x in found["soc"])
        err.print(
            f"warning: {found['source']}: pulse sets at SOC {socs} only; the model keeps the end sets' values"
            " beyond them and interpolates between them (is it a pulse test? an HPPC test has a set every"
            " 5-10 % SOC)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@cell_model_app.command("export")
def export_command(
    model: Annotated[Path, typer.Argument(help="model JSON from `bmts cell-model fit`")],
    output: Annotated[Path, typer.Option("-o", "--output", help="parameter file (JSON)")],
    to: Annotated[
        str, typer.Option("--to", help="target: pybamm (its Thevenin ECM, 2 RC elements)")
    ] = "pybamm",
    temperature: Annotated[
        float | None,
        typer.Option(
            "--temperature", help="degC at which the OCV offset is folded in (default: middle table)"
        ),
    ] = None,
    current_shape: Annotated[
        str, typer.Option("--current-shape", help="butler-volmer (exact) or linear (small-current R, C)")
    ] = "butler-volmer",
    thermal_mass: Annotated[
        float | None, typer.Option("--thermal-mass-j-per-k", help="cell heat capacity (default: isothermal)")
    ] = None,
    heat_transfer: Annotated[
        float | None,
        typer.Option("--heat-transfer-w-per-k", help="cell-to-ambient heat transfer coefficient"),
    ] = None,
) -> None:
    """Convert a cell model to a parameter set for another tool (PyBaMM's Thevenin equivalent circuit)."""
    if to != "pybamm":
        why = (
            "; BPX holds physics-based (DFN/SPMe) electrode parameters an ECM does not have"
            if to == "bpx"
            else ""
        )
        raise DataError(Issue("--to", f"unknown target {to!r} (supported: pybamm{why})"))
    doc = pybamm_thevenin.export_pybamm_parameters(
        model, output, temperature, current_shape, thermal_mass, heat_transfer
    )
    mapping = doc["mapping"]
    out.print(
        f"wrote {output}: PyBaMM Thevenin, 2 RC, {mapping['current_shape']} current shape; OCV offset folded in"
        f" at {mapping['ocv_offset_reference_celsius']:g} degC",
        markup=False,
        soft_wrap=True,
    )
    if mapping["ocv_offset_spread_v"] > 0:
        err.print(
            f"note: the OCV offset differs by up to {1e3 * mapping['ocv_offset_spread_v']:.1f} mV at the other"
            " fitted temperatures; PyBaMM's OCV cannot depend on temperature, so that is dropped",
            markup=False,
            soft_wrap=True,
        )


def soc_command(
    path: Annotated[
        Path, typer.Argument(help="time series of one cell, or pack telemetry (one trace per cell)")
    ],
    cell_model: Annotated[Path, typer.Option("--cell-model", help="model JSON from `bmts cell-model fit`")],
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV or Parquet: test_time_second, soc")],
    initial_soc: Annotated[
        float | None, typer.Option("--initial-soc", help="SOC guess at the first sample (0..1)")
    ] = None,
    initial_soc_std: Annotated[
        float | None,
        typer.Option(
            "--initial-soc-std",
            help="how well --initial-soc is known, as a standard deviation (default 0.1, a guess; e.g. 0.01 "
            "for a start known to one point, such as right after a full charge)",
        ),
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="JSON the filter continues from, if it exists, and is saved to: a cell's or a pack's telemetry, file by file",
        ),
    ] = None,
    capacities: Annotated[
        Path | None,
        typer.Option(
            "--capacities",
            help="pack telemetry: each cell's capacity from a capacity history (battery_id = cell_id, cycle, "
            "capacity_ah; `bmts soh` output), its last cycle's, instead of the model's",
        ),
    ] = None,
) -> None:
    """SOC trace by an extended Kalman filter that also estimates the current sensor's offset and gain.
    Given pack telemetry (`pack_id, cell_id, ...` columns), one trace per cell."""
    model = state.load_model(cell_model)
    if telemetry_state.is_telemetry(path):
        own = None if capacities is None else telemetry_state.latest_capacities(capacities)
        frame, warnings, soc_state = telemetry_state.soc_of_telemetry(
            path, model, initial_soc, initial_soc_std, state_file, own
        )
        write_frame(frame, output)
        if state_file is not None and soc_state is not None:
            state.save_soc_state(state_file, soc_state)
        cells = frame.select("pack_id", "cell_id").unique().height
        _warn(path, warnings)
        out.print(f"wrote {output}: {frame.height} samples of {cells} cells", markup=False)
        return
    if capacities is not None:
        raise DataError(
            Issue("--capacities", f"{path} is one cell's file; per-cell capacities need pack telemetry")
        )
    if state_file is None:
        frame, warnings = state.soc_trace(path, model, initial_soc, initial_soc_std=initial_soc_std)
        write_frame(frame, output)
    else:  # the state is saved only once the trace is written
        frame, warnings, soc_state = state.soc_trace_resumed(
            path, model, state_file, initial_soc, initial_soc_std
        )
        write_frame(frame, output)
        state.save_soc_state(state_file, soc_state)
    _warn(path, warnings)
    out.print(f"wrote {output}: {frame.height} samples, final SOC {frame['soc'][-1]:.3f}", markup=False)


def _warn(path: Path, warnings: list[str]) -> None:
    for w in warnings:
        err.print(f"warning: {path}: {w}", markup=False, highlight=False, soft_wrap=True)


def soh_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="files of one cell (any supported format), or one pack-telemetry file"),
    ],
    nominal_capacity_ah: Annotated[float, typer.Option("--nominal-capacity-ah", help="rated capacity, Ah")],
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV or Parquet")],
    window_v: Annotated[
        tuple[float, float],
        typer.Option("--window-v", help="charge window LOW HIGH, V, for field data without full cycles"),
    ] = (3.8, 4.1),
    reference: Annotated[
        list[Path] | None,
        typer.Option(
            "--reference",
            help="a fully cycled cell of the same type (file or folder; repeat for more) to calibrate the "
            "windows on",
        ),
    ] = None,
) -> None:
    """Per-cycle capacity and SOH (full cycles, else partial 3.8-4.1 V charge windows) with uncertainty,
    and resistance growth from current steps. Given one pack-telemetry file, per cell."""
    if len(paths) == 1 and paths[0].is_file() and telemetry_state.is_telemetry(paths[0]):
        table, warnings = telemetry_state.soh_of_telemetry(
            paths[0], nominal_capacity_ah, window_v, reference or ()
        )
        write_frame(table, output)
        _warn(paths[0], warnings)
        out.print(
            f"wrote {output}: {table.height} cycles of {table['battery_id'].n_unique()} cells", markup=False
        )
        return
    table = soh_state.soh_table(paths, nominal_capacity_ah, window_v, reference or ())
    write_frame(table, output)
    method = table["method"][0] if table.height else "none"
    out.print(f"wrote {output}: {table.height} cycles ({method})", markup=False)


def register(app: typer.Typer) -> None:
    """Add `cell-model fit`, `soc` and `soh` to the main `bmts` app."""
    app.add_typer(cell_model_app, name="cell-model")
    app.command("soc")(soc_command)
    app.command("soh")(soh_command)
