"""The demo's state-estimation part: the lab cell is characterised back and its drive cycle tracked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bmts.ingest import write_bdf
from bmts.pipeline import sample_lab, state
from bmts.pipeline.demo_state import run_state_demo
from bmts.pipeline.ingest import ingest_paths
from bmts.pipeline.sample_data import CellSpec, simulate_cell
from bmts.storage import EmbeddedStore


def test_lab_model_is_identified_from_its_own_tests(tmp_path: Path) -> None:
    lab = sample_lab.write_lab(tmp_path)
    fitted = state.fit_cell_model(lab.ocv, list(lab.pulses))
    truth = sample_lab.true_cell_model()
    assert fitted.capacity_ah == pytest.approx(truth.capacity_ah, rel=0.005)
    grid = np.array([0.3, 0.5, 0.8])
    for temp in (5.0, 25.0):
        got, want = fitted.params(grid, temp), truth.params(grid, temp)
        assert got["r0_ohm"] == pytest.approx(want["r0_ohm"], rel=0.1), temp


def test_state_demo_scores_soc_and_soh_against_the_truth(tmp_path: Path) -> None:
    spec = CellSpec("cell-a", capacity_ah=2.5, fade_per_cycle=0.002)
    frame = simulate_cell(spec, 25, seed=1)
    store = EmbeddedStore(tmp_path / "home")
    ingest_paths(store, [write_bdf(frame, tmp_path / "cell-a.bdf.parquet")], battery_id="cell-a")
    other = CellSpec("cell-b", capacity_ah=2.5, fade_per_cycle=0.004)  # the reference for cell-a's windows
    ingest_paths(
        store, [write_bdf(simulate_cell(other, 25, seed=2), tmp_path / "b.bdf.parquet")], battery_id="cell-b"
    )
    report = run_state_demo(store, tmp_path, ["cell-a", "cell-b"], [spec.capacity_ah, other.capacity_ah])
    # the BMS's 30 mA offset and 1 % gain error drift coulomb counting away; the filter corrects them
    assert report.soc_rmse_percent < 0.5 < report.coulomb_counting_rmse_percent
    # cut into three telemetry files with the filter state carried between them: the same tracking
    assert abs(report.soc_file_by_file_rmse_percent - report.soc_rmse_percent) < 0.05
    # guessed 30 points low with no rest to start from: corrected within the first minutes
    assert report.soc_wrong_start_rmse_percent < 3.0
    # the true SOC given at the cut: declared known, it is held at least as well as a guess is
    as_guess, as_known = report.soc_known_start_rmse_percent
    assert as_known <= as_guess < 1.0, report.soc_known_start_rmse_percent
    # the BMS's 30 mA offset, read at the drive's rest
    assert report.current_offset_read_a == pytest.approx(0.03, abs=0.005)
    # a pack's telemetry file: each cell tracked from its own start (cells of 100 / 98 / 96 % capacity);
    # the faded cells' own capacities given, they are tracked better
    pack = report.pack_soc_rmse_percent
    assert list(pack) == ["cell-1", "cell-2", "cell-3"]
    assert max(max(rmse) for rmse in pack.values()) < 1.0, pack
    assert pack["cell-3"][1] < 0.5 * pack["cell-3"][0], pack
    assert sorted(report.temperatures_celsius) == [5.0, 25.0]
    row = report.soh.row(0, named=True)
    assert row["battery_id"] == "cell-a" and row["cycle"] == 25
    last = frame.filter((pl.col("cycle_count") == 25) & (pl.col("current_ampere") < 0))
    discharged_ah = -float((last["current_ampere"] * 30.0).sum()) / 3600  # the simulation logs every 30 s
    assert row["soh_full_cycles"] == pytest.approx(discharged_ah / 2.5, abs=0.005)
    assert 0.5 < row["soh_charge_windows"] <= 1.0
    # calibrated on the other cell's full cycles, the windows come closer to the full-cycle SOH
    referenced_error = abs(row["soh_windows_referenced"] - row["soh_full_cycles"])
    assert referenced_error < abs(row["soh_charge_windows"] - row["soh_full_cycles"])
    assert referenced_error < 2 * row["soh_referenced_std"]
    assert report.model_path.exists()
    assert json.loads(report.pybamm_path.read_text())["format"] == "bmts.pybamm-thevenin"
