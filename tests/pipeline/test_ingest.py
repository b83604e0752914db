"""Ingest use case: idempotent, atomic per file, good files still import beside bad ones."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmts.ingest import write_bdf
from bmts.pipeline.analysis import battery_cycles
from bmts.pipeline.ingest import ingest_paths
from bmts.storage import EmbeddedStore


def test_idempotent_and_mixed_directory(tmp_path: Path, cell_frame: pl.DataFrame) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_bdf(cell_frame, data / "good.bdf.csv")
    (data / "bad.bdf.csv").write_text("Test Time / s,Voltage / V,Current / A\n0,3.7,-1\n1,x,-1\n")
    store = EmbeddedStore(tmp_path / "home")
    first = {Path(r.path).name: r.status for r in ingest_paths(store, [data], "cell")}
    assert first == {"good.bdf.csv": "imported", "bad.bdf.csv": "failed"}
    again = ingest_paths(store, [data / "good.bdf.csv"], "cell")
    assert again[0].status == "unchanged"
    assert len(store.segments("cell")) == 1
    assert len(list((tmp_path / "home" / "timeseries").rglob("*.parquet"))) == 1


def test_same_measurements_in_another_file_are_recognised(tmp_path: Path, cell_frame: pl.DataFrame) -> None:
    store = EmbeddedStore(tmp_path / "home")
    a = write_bdf(cell_frame, tmp_path / "a.bdf.csv")
    b = write_bdf(cell_frame, tmp_path / "b.bdf.parquet")
    results = ingest_paths(store, [a, b], "cell")
    assert [r.status for r in results] == ["imported", "unchanged"]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split=st.integers(1, 4))
def test_files_of_one_battery_continue_cycle_numbers(
    tmp_path_factory, cell_frame: pl.DataFrame, split: int
) -> None:
    """Each file restarts its cycle counter; battery-wide numbers continue and capacities are unchanged."""
    tmp = tmp_path_factory.mktemp("split")
    store = EmbeddedStore(tmp / "home")
    first = cell_frame.filter(pl.col("cycle_count") <= split)
    second = cell_frame.filter(pl.col("cycle_count") > split).with_columns(pl.col("cycle_count") - split)
    ingest_paths(store, [write_bdf(first, tmp / "1.bdf.csv"), write_bdf(second, tmp / "2.bdf.csv")], "cell")
    table = battery_cycles(store, "cell")
    assert table["cycle"].to_list() == [1, 2, 3, 4, 5]
    whole = battery_cycles_single(tmp, cell_frame)
    assert abs(table["discharge_capacity_ah"].sum() - whole) < 1e-9


def battery_cycles_single(tmp: Path, frame: pl.DataFrame) -> float:
    store = EmbeddedStore(tmp / "whole")
    ingest_paths(store, [write_bdf(frame, tmp / "w.bdf.csv")], "w")
    return float(battery_cycles(store, "w")["discharge_capacity_ah"].sum())
