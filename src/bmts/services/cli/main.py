"""The `bmts` command line: thin adapters over the pipeline use cases.

Every command fails with one line naming the file, row or field at fault and a non-zero exit status;
no traceback reaches the user (set BMTS_DEBUG=1 to see one).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bmts.pipeline import analysis, demo, ingest
from bmts.schema import DataError
from bmts.services.cli import registry as registry_commands
from bmts.services.cli import state as state_commands
from bmts.services.cli.output import write_table
from bmts.storage import EmbeddedStore, open_store

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="bmts: Battery Management and Tracking System.",
)
battery_app = typer.Typer(no_args_is_help=True, help="Batteries known to the store.")
app.add_typer(battery_app, name="battery")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
_state: dict[str, str | None] = {"store": None}

StoreOption = Annotated[str | None, typer.Option("--store", help="store directory (default: $BMTS_HOME)")]


@app.callback()
def _main(store: StoreOption = None) -> None:
    _state["store"] = store


def _store() -> EmbeddedStore:
    return open_store(_state["store"])


registry_commands.register(battery_app, app, _store)
state_commands.register(app)


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="files or directories; format detected from content")],
    battery_id: Annotated[
        str | None, typer.Option("--battery-id", help="battery the files belong to")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result")] = False,
) -> None:
    """Import cycler files into the store (idempotent; a bad file leaves nothing behind)."""
    store = _store()
    files = ingest.expand_paths(paths)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    ) as bar:
        task = bar.add_task("importing", total=len(files))
        results = ingest.ingest_paths(store, files, battery_id, progress=lambda r: bar.advance(task))
    failed = [r for r in results if r.status == "failed"]
    if as_json:
        out.print_json(json.dumps([r.__dict__ for r in results]))
    else:
        for r in results:
            if r.status == "failed":
                err.print(f"error: {r.message}", markup=False, highlight=False, soft_wrap=True)
            else:
                note = f" ({r.message})" if r.message else ""
                fixes = "".join(f"; repaired {x['kind']} ({x['rows']})" for x in r.repairs)
                out.print(
                    f"{r.status}: {r.path} -> {r.battery_id}, {r.rows} rows, {r.reader}{note}{fixes}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
    if failed or not results:
        if not results:
            err.print("error: no files to import", markup=False)
        raise typer.Exit(1)


CYCLE_VIEW = {
    "cycle": "cycle",
    "source_cycle": "src",
    "charge_capacity_ah": "Qch/Ah",
    "discharge_capacity_ah": "Qdis/Ah",
    "discharge_energy_wh": "Edis/Wh",
    "coulombic_efficiency": "CE",
    "max_temperature_celsius": "Tmax/°C",
    "dc_resistance_ohm": "R/ohm",
}
DEMO_VIEW = {
    "battery_id": "battery",
    "cycles": "cycles",
    "first_capacity_ah": "Q0/Ah",
    "last_capacity_ah": "Q/Ah",
    "soh_percent": "SOH %",
    "capacity_retention_percent": "kept %",
    "mean_coulombic_efficiency": "CE",
    "resistance_growth_percent": "R +%",
}
#: the demo's SOH columns, each shown as "value ± std"
DEMO_SOH_VIEW = {
    "soh_full_cycles": ("soh_full_std", "SOH, full cycles"),
    "soh_charge_windows": ("soh_windows_std", "windows"),
    "soh_windows_referenced": ("soh_referenced_std", "windows + ref."),
}


def _demo_soh_view(table: pl.DataFrame) -> pl.DataFrame:
    shown = {"battery": table["battery_id"], "cycle": table["cycle"]}
    for value, (std, header) in DEMO_SOH_VIEW.items():
        pairs = zip(table[value], table[std], strict=True)
        shown[header] = pl.Series([f"{a:.3f} ± {b:.3f}" if np.isfinite(a) else "-" for a, b in pairs])
    return pl.DataFrame(shown)


@app.command("cycles")
def cycles_command(
    battery_id: str,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="CSV or Parquet file")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per-cycle table: capacities, energies, coulombic efficiency, temperatures, DC resistance."""
    write_table(analysis.battery_cycles(_store(), battery_id), output, as_json, out, CYCLE_VIEW)


@app.command("curves")
def curves_command(
    battery_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="Parquet or CSV file")],
    v_max: Annotated[float | None, typer.Option(help="top of the voltage grid, V")] = None,
    v_min: Annotated[float | None, typer.Option(help="bottom of the voltage grid, V")] = None,
    points: Annotated[int, typer.Option(help="grid points")] = 1000,
) -> None:
    """Per-cycle discharge curves Q(V) on a fixed voltage grid (battery_id, cycle, voltage_v, ...)."""
    write_table(analysis.battery_curves(_store(), battery_id, v_max, v_min, points), output, False, out)


@app.command("export")
def export_command(
    battery_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help=".bdf.csv, .bdf.gz or .bdf.parquet")],
) -> None:
    """Write a battery's stored time series as a Battery Data Format file."""
    from bmts.ingest import write_bdf

    write_bdf(analysis.battery_timeseries(_store(), battery_id), output)
    out.print(f"wrote {output}", markup=False)


@battery_app.command("list")
def battery_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Batteries in the store."""
    rows = [b.__dict__ for b in _store().batteries()]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    for b in rows:
        out.print(f"{b['id']}\t{b['kind']}\t{b['chemistry'] or ''}\t{b['parent_id'] or ''}", markup=False)


@app.command("demo")
def demo_command(
    cells: Annotated[int, typer.Option(help="cells in the sample fleet")] = 6,
    cycles: Annotated[int, typer.Option(help="cycles per cell")] = 60,
) -> None:
    """Build a small fleet, ingest it, analyse it and print a per-battery health table."""
    report = demo.run_demo(
        _store(), cells=cells, cycles=cycles, progress=lambda msg: err.print(msg, markup=False)
    )
    out.print(demo.headline(report), markup=False)
    if report.state is not None:
        write_table(_demo_soh_view(report.state.soh), None, False, out)
    out.print("Per-battery health from the cycle tables (bmts cycles):", markup=False)
    write_table(report.health, None, False, out, DEMO_VIEW)


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's usage errors: those of the copy of click newer typer releases carry, and click's own."""
    import importlib

    found = []
    for module in ("typer._click.exceptions", "click"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except ImportError:
            continue
    return tuple(found)


def _usage_line(e: Exception) -> str:
    """'error: Missing option '--cell-model'. (see 'bmts soc --help')': the option as the user types it."""
    message = e.format_message() if hasattr(e, "format_message") else str(e)
    ctx = getattr(e, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"error: {message}{hint}"


def run() -> None:
    """Console entry point: one-line errors, never a traceback."""
    try:
        code = app(standalone_mode=False, prog_name="bmts")
        sys.exit(code if isinstance(code, int) else 0)
    except DataError as e:
        err.print(f"error: {e.issue}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        err.print("aborted", markup=False)
        sys.exit(130)
    except Exception as e:  # click usage errors and anything unexpected
        if isinstance(e, _usage_errors()):
            err.print(_usage_line(e), markup=False, highlight=False, soft_wrap=True)
            sys.exit(getattr(e, "exit_code", 2))
        if os.environ.get("BMTS_DEBUG"):
            raise
        err.print(
            f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
