"""SOC of pack telemetry: per-sample throughput of `bmts soc` on one long table of many cells, beside the
same samples as one cell's BDF file each (the reference, same run), and the cells' accuracy.

The pack is the sample lab's (`pipeline.sample_lab.pack_telemetry`: series cells sharing a measured pack
current with a BMS sensor's offset and gain, each its own start SOC, capacity and voltage noise), repeated
as PACKS packs of three cells; the model is fitted on the lab's C/20 and HPPC files.
The filter's work is per block of time, not per sample, so at 1 s logging it runs far fewer samples per
second than on 10 Hz drive files (`state_estimation.py`); cell-hours per second say what a fleet costs.
Usage: python benchmarks/soc_telemetry.py [--packs 8]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packs", type=int, default=8)
    a = ap.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bmts-soc-telemetry-") as tmp:
        folder = Path(tmp)
        lab = write_lab(folder / "lab")
        model = state.fit_cell_model(lab.ocv, list(lab.pulses))
        packs, truth = [], {}
        for p in range(a.packs):
            frame, soc = pack_telemetry(true_cell_model(), seed=p + 1)
            packs.append(frame.with_columns(pl.lit(f"pack-{p + 1}").alias("pack_id")))
            truth.update({(f"pack-{p + 1}", cell): s for cell, s in soc.items()})
        fleet = pl.concat(packs).sort("unix_time_second", maintain_order=True)
        path = folder / "fleet.parquet"
        fleet.write_parquet(path)
        one_cell = []
        for (pack, cell), _ in truth.items():
            part = fleet.filter((pl.col("pack_id") == pack) & (pl.col("cell_id") == cell))
            one_cell.append(
                write_bdf(
                    part.select(
                        (pl.col("unix_time_second") - pl.col("unix_time_second").min()).alias(
                            "test_time_second"
                        ),
                        "unix_time_second",
                        "voltage_volt",
                        "current_ampere",
                        pl.col("temperature_celsius").alias("temperature_t1_celsius"),
                    ),
                    folder / f"{pack}-{cell}.bdf.parquet",
                )
            )
        t_fleet, _, (trace, _, _) = best_of(lambda: telemetry_state.soc_of_telemetry(path, model), 3)
        t_files, _, _ = best_of(lambda: [state.soc_trace(f, model) for f in one_cell], 3)
    n = fleet.height
    errors = [
        rmse_pct(trace.filter((pl.col("pack_id") == p) & (pl.col("cell_id") == c))["soc"].to_numpy(), s)
        for (p, c), s in truth.items()
    ]
    hours = n / 3600.0
    print(f"\n{len(truth)} cells, {n} samples (1 h at 1 s per cell), one Parquet telemetry file\n")
    print(
        markdown_table(
            ["input", "seconds (best of 3)", "M samples/s", "cell-hours/s", "speed vs one file per cell"],
            [
                [
                    "telemetry, one file (bmts soc)",
                    f"{t_fleet:.2f}",
                    f"{n / t_fleet / 1e6:.2f}",
                    f"{hours / t_fleet:.0f}",
                    f"{t_files / t_fleet:.2f}",
                ],
                [
                    "one BDF file per cell (reference)",
                    f"{t_files:.2f}",
                    f"{n / t_files / 1e6:.2f}",
                    f"{hours / t_files:.0f}",
                    "1.00",
                ],
            ],
        )
    )
    print(f"\nSOC RMSE per cell: median {np.median(errors):.2f} %, worst {max(errors):.2f} %")


if __name__ == "__main__":
    main()
