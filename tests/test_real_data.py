"""Integration on the real files in ../shared/data: every file imports and per-cycle discharge capacity
matches the cycler's own counters (Arbin cumulative counters, Maccor step capacities)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bmts.analytics import cycle_summary
from bmts.ingest import read_timeseries


def test_calce_arbin_discharge_matches_the_cycler_counter(shared_data: Path) -> None:
    errors = []
    for path in sorted((shared_data / "calce_cs2" / "CS2_35").glob("*.xlsx"))[:6]:
        frame = read_timeseries(path)
        table = cycle_summary(frame)
        counter = frame.group_by("cycle_count", maintain_order=True).agg(
            pl.col("discharging_capacity_ah").last()
        )
        per_cycle = counter["discharging_capacity_ah"].diff().fill_null(counter["discharging_capacity_ah"][0])
        joined = table.join(
            counter.with_columns(per_cycle.alias("counter")), left_on="cycle", right_on="cycle_count"
        )
        joined = joined.filter(pl.col("counter") > 0.05)
        errors.append(np.abs(joined["discharge_capacity_ah"] / joined["counter"] - 1).to_numpy())
    e = np.concatenate(errors)
    assert e.size > 100 and np.mean(e <= 0.005) >= 0.99


def test_maccor_bdf_unsigned_current_matches_step_capacity(shared_data: Path) -> None:
    path = next((shared_data / "bdf_reference").glob("faraday*maccor.bdf.csv"))
    table = cycle_summary(read_timeseries(path))
    # the cycler's step capacity counter at the end of each discharge step (data README)
    np.testing.assert_allclose(
        table["discharge_capacity_ah"].to_numpy(), [0.116286, 4.99776, 4.92397, 4.92974, 4.9226], rtol=5e-4
    )


@pytest.mark.parametrize(
    "pattern",
    [
        "panasonic_18650pf/*/Drive*/*.mat",
        "bdf_reference/DLR*.bdf.csv",
        "nasa_pcoe/data/discharge_data/B0005/dis_1_*.csv",
    ],
)
def test_real_files_import_with_bmts_sign_convention(shared_data: Path, pattern: str) -> None:
    path = sorted(shared_data.glob(pattern))[0]
    frame = read_timeseries(path)
    assert frame.height > 100
    assert np.all(np.diff(frame["test_time_second"].to_numpy()) >= 0)
    assert (frame["current_ampere"] < 0).any()  # every one of these discharges


def test_nasa_capacity_is_the_charge_to_2_7_volts(shared_data: Path, tmp_path: Path) -> None:
    """NASA defines capacity as the charge delivered down to 2.7 V; B0006 was discharged to 2.5 V and the
    rest is reported as deep discharge. Truth: NASA's Capacity field (capacity_history_DERIVED.csv)."""
    from bmts.pipeline.analysis import battery_cycles
    from bmts.pipeline.ingest import ingest_paths
    from bmts.storage import EmbeddedStore

    store = EmbeddedStore(tmp_path / "home")
    files = sorted((shared_data / "nasa_pcoe/data/discharge_data/B0006").glob("dis_*_cap_*.csv"))
    ingest_paths(store, [f for f in files if int(f.name.split("_")[1]) <= 40], "B0006")
    table = battery_cycles(store, "B0006").to_pandas().set_index("cycle")
    truth = pl.read_csv(shared_data / "nasa_pcoe/capacity_history_DERIVED.csv").filter(
        pl.col("battery_id") == "B0006"
    )
    truth_by_cycle = dict(zip(truth["cycle"].to_list(), truth["capacity_ah"].to_list(), strict=True))
    errors = [abs(row.discharge_capacity_ah / truth_by_cycle[c] - 1) for c, row in table.iterrows()]
    assert len(errors) == 40 and max(errors) < 0.005
    assert (table["deep_discharge_capacity_ah"] > 0.005).all()
