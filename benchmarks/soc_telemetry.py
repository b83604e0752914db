"""SOC of pack telemetry: per-sample throughput of `bmts soc` on one long table of many cells, beside the
same samples as one cell's BDF file each (the reference, same run), and the cells' accuracy.

A fleet of CELLS cells, 1 h at 1 s, as packs of 3, 12 or 96 series cells. A pack is the sample lab's
(`pipeline.sample_lab.pack_telemetry`: series cells sharing a measured pack current with a BMS sensor's
offset and gain, each its own start SOC, capacity and voltage noise), its cells repeated to the pack's
size, each with its own further voltage noise; each pack logs on its own clock (its samples a fraction of
a second apart from the others'), so only a pack's cells run together (`soc.update_together`). The model
is fitted on the lab's C/20 and HPPC files. The filter's work is mostly per block of time (30 s), not
per sample; a pack's cells share one pass of it.
Usage: python benchmarks/soc_telemetry.py [--cells 96]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from _common import best_of, machine_line, markdown_table, rmse_pct
from bmts.ingest import write_bdf
from bmts.pipeline import state, telemetry_state
from bmts.pipeline.sample_lab import pack_telemetry, true_cell_model, write_lab

PACK_SIZES = (3, 12, 96)


def fleet(cells: int, pack_size: int) -> tuple[pl.DataFrame, dict[tuple[str, str], np.ndarray]]:
    """`cells` cells as packs of `pack_size`, each pack on its own clock; and every cell's true SOC."""
    rng = np.random.default_rng(pack_size)
    packs, truth = [], {}
    for p in range(cells // pack_size):
        base, soc = pack_telemetry(true_cell_model(), seed=p + 1)
        names = list(soc)
        parts = []
        for c in range(pack_size):
            cell = base.filter(pl.col("cell_id") == names[c % len(names)])
            parts.append(
                cell.with_columns(
                    pl.lit(f"pack-{p + 1}").alias("pack_id"),
                    pl.lit(f"cell-{c + 1}").alias("cell_id"),
                    pl.col("unix_time_second") + 0.01 * p,
                    (pl.col("voltage_volt") + rng.normal(0.0, 0.001, cell.height)).round(5),
                )
            )
            truth[(f"pack-{p + 1}", f"cell-{c + 1}")] = soc[names[c % len(names)]]
        packs.append(pl.concat(parts))
    return pl.concat(packs).sort("unix_time_second", maintain_order=True), truth


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=96, help="cells in the fleet (a multiple of 96)")
    a = ap.parse_args()
    print(machine_line())
    rows, errors = [], {}
    with tempfile.TemporaryDirectory(prefix="bmts-soc-telemetry-") as tmp:
        folder = Path(tmp)
        lab = write_lab(folder / "lab")
        model = state.fit_cell_model(lab.ocv, list(lab.pulses))
        reference = None
        for size in PACK_SIZES:
            frame, truth = fleet(a.cells, size)
            path = folder / f"fleet-{size}.parquet"
            frame.write_parquet(path)
            if reference is None:  # the same samples as one BDF file per cell (the packs' layout aside)
                one_cell = [_bdf(frame, pack, cell, folder) for pack, cell in truth]
                reference, _, _ = best_of(
                    lambda cells=one_cell: [state.soc_trace(f, model) for f in cells], 3
                )
            seconds, _, (trace, _, _) = best_of(lambda p=path: telemetry_state.soc_of_telemetry(p, model), 3)
            errors[size] = [
                rmse_pct(
                    trace.filter((pl.col("pack_id") == p) & (pl.col("cell_id") == c))["soc"].to_numpy(), s
                )
                for (p, c), s in truth.items()
            ]
            rows.append((f"telemetry, packs of {size} (bmts soc)", seconds, frame.height))
        rows.append(("one BDF file per cell (reference)", reference, frame.height))
    print(f"\n{a.cells} cells, 1 h at 1 s each ({frame.height} samples), one Parquet telemetry file\n")
    print(
        markdown_table(
            ["input", "seconds (best of 3)", "M samples/s", "cell-hours/s", "speed vs one file per cell"],
            [
                [name, f"{s:.2f}", f"{n / s / 1e6:.2f}", f"{n / 3600.0 / s:.0f}", f"{reference / s:.2f}"]
                for name, s, n in rows
            ],
        )
    )
    for size, e in errors.items():
        print(
            f"\nSOC RMSE per cell, packs of {size}: median {np.median(e):.2f} %, worst {max(e):.2f} %", end=""
        )
    print()


def _bdf(frame: pl.DataFrame, pack: str, cell: str, folder: Path) -> Path:
    part = frame.filter((pl.col("pack_id") == pack) & (pl.col("cell_id") == cell))
    return write_bdf(
        part.select(
            (pl.col("unix_time_second") - pl.col("unix_time_second").min()).alias("test_time_second"),
            "unix_time_second",
            "voltage_volt",
            "current_ampere",
            pl.col("temperature_celsius").alias("temperature_t1_celsius"),
        ),
        folder / f"{pack}-{cell}.bdf.parquet",
    )


if __name__ == "__main__":
    main()
