"""SOC and SOH per cell of pack telemetry: `bmts soc` / `bmts soh` given a telemetry file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bmts.analytics.ecm import CellModel
from bmts.ingest.bdf_writer import write_frame
from bmts.pipeline import soh_state, state, telemetry_state
from bmts.pipeline.sample_data import sample_fleet, simulate_cell
from bmts.pipeline.sample_lab import pack_telemetry, true_cell_model, write_lab
from bmts.schema import DataError

BMTS = [sys.executable, "-c", "from bmts.services.cli.main import run; run()"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[CellModel, Path, Path, dict[str, np.ndarray]]:
    """The sample lab's fitted model and file, and the sample pack's telemetry (whole, and its true SOC)."""
    folder = tmp_path_factory.mktemp("lab")
    files = write_lab(folder)
    model_path = state.save_model(state.fit_cell_model(files.ocv, list(files.pulses)), folder / "model.json")
    frame, truth = pack_telemetry(true_cell_model())
    frame.write_csv(folder / "pack.csv")
    return state.load_model(model_path), model_path, folder / "pack.csv", truth


def _rmse(trace: pl.DataFrame, cell: str, truth: np.ndarray) -> float:
    soc = trace.filter(pl.col("cell_id") == cell)["soc"].to_numpy()
    return float(np.sqrt(np.mean((soc - truth[-soc.size :]) ** 2)))


def test_each_cell_follows_its_own_soc(lab: tuple[CellModel, Path, Path, dict[str, np.ndarray]]) -> None:
    model, _, pack, truth = lab
    trace, warnings, saved = telemetry_state.soc_of_telemetry(pack, model)
    assert trace.columns == ["pack_id", "cell_id", "unix_time_second", "test_time_second", "soc", "soc_std"]
    assert saved is None and warnings == []
    for cell, soc in truth.items():
        assert _rmse(trace, cell, soc) < 0.015, cell
    first = trace.group_by("cell_id", maintain_order=True).first()["soc"].to_numpy()
    assert np.all(np.diff(first) < -0.02)  # the cells' own start SOCs (0.92 / 0.88 / 0.84), read at rest


def test_hourly_files_continue_per_cell(
    tmp_path: Path, lab: tuple[CellModel, Path, Path, dict[str, np.ndarray]]
) -> None:
    model, _, pack, truth = lab
    early, late = _halves(pack, tmp_path / "early.csv", tmp_path / "late.csv")
    saved_path = tmp_path / "pack-state.json"
    _, _, first = telemetry_state.soc_of_telemetry(early, model, state_path=saved_path)
    assert first is not None
    state.save_soc_state(saved_path, first)
    second, _, _ = telemetry_state.soc_of_telemetry(late, model, state_path=saved_path)
    whole, _, _ = telemetry_state.soc_of_telemetry(pack, model)
    for cell, soc in truth.items():
        assert _rmse(second, cell, soc) < 0.015, cell
        end = [t.filter(pl.col("cell_id") == cell)["soc"][-1] for t in (second, whole)]
        assert end[0] == pytest.approx(end[1], abs=0.005)
    with pytest.raises(DataError) as e:  # the same file again: not the next one
        telemetry_state.soc_of_telemetry(early, model, state_path=saved_path)
    assert "not the next file of this pack" in str(e.value)


def test_a_single_cells_state_is_not_taken_for_a_packs(
    tmp_path: Path, lab: tuple[CellModel, Path, Path, dict[str, np.ndarray]]
) -> None:
    model, _, pack, _ = lab
    one = tmp_path / "one-cell.json"
    one.write_text('{"time_base": "unix_time_second", "x": [0.5]}\n')
    with pytest.raises(DataError) as e:
        telemetry_state.soc_of_telemetry(pack, model, state_path=one)
    assert "not a SOC state of telemetry" in str(e.value)


def test_soh_per_cell_from_telemetry(tmp_path: Path) -> None:
    specs = sample_fleet(2)
    parts, alone = [], {}
    for spec in specs:
        cell = simulate_cell(spec, cycles=6)
        alone[spec.cell_id] = soh_state.soh_from_frame(
            cell.with_columns(cycle=pl.col("cycle_count")), 2.5, "cell"
        )
        parts.append(_as_telemetry(cell, spec.cell_id))
    path = tmp_path / "fleet.parquet"
    pl.concat(parts).sort("unix_time_second", maintain_order=True).write_parquet(path)
    table, skipped = telemetry_state.soh_of_telemetry(path, 2.5)
    assert skipped == []
    assert table["battery_id"].unique(maintain_order=True).to_list() == [s.cell_id for s in specs]
    for spec in specs:
        rows = table.filter(pl.col("battery_id") == spec.cell_id)
        assert rows.height >= 5 and set(rows["pack_id"]) == {"pack-9"}
        # as from the cell's own file with its cycle counter (telemetry has none: cycles from the current)
        assert rows["cycle"].to_list() == alone[spec.cell_id]["cycle"].to_list()
        assert rows["capacity_ah"].to_list() == pytest.approx(alone[spec.cell_id]["capacity_ah"].to_list())
    out = tmp_path / "soh.csv"
    result = _bmts("soh", str(path), "--nominal-capacity-ah", "2.5", "-o", str(out), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{table.height} cycles of 2 cells" in result.stdout
    assert pl.read_csv(out).select("battery_id", "cycle").equals(table.select("battery_id", "cycle"))


def test_cli_soc_and_its_bad_input(
    tmp_path: Path, lab: tuple[CellModel, Path, Path, dict[str, np.ndarray]]
) -> None:
    _, model_path, pack, _ = lab
    out = tmp_path / "soc.csv"
    result = _bmts("soc", str(pack), "--cell-model", str(model_path), "-o", str(out), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "10800 samples of 3 cells" in result.stdout
    assert pl.read_csv(out)["cell_id"].n_unique() == 3
    broken = tmp_path / "broken.csv"
    lines = pack.read_text().splitlines()
    fields = lines[7].split(",")
    lines[7] = ",".join([fields[0], "", *fields[2:]])  # a row without its cell id
    broken.write_text("\n".join(lines) + "\n")
    bad_out = tmp_path / "bad.csv"
    result = _bmts("soc", str(broken), "--cell-model", str(model_path), "-o", str(bad_out), home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("broken.csv, row 8, column 'cell_id': no cell_id")
    assert len(result.stderr.strip().splitlines()) == 1 and not bad_out.exists()
    # the store holds one cell per battery: telemetry is refused by name, not as a file missing test time
    result = _bmts("ingest", str(pack), home=tmp_path)
    assert result.returncode == 1 and "pack telemetry (pack_id, cell_id columns)" in result.stderr


def _halves(pack: Path, early: Path, late: Path) -> tuple[Path, Path]:
    """The pack's hour as two telemetry files of half an hour each, as a gateway writes them."""
    frame = pl.read_csv(pack)
    cut = frame["unix_time_second"].min() + 1800
    for path, part in ((early, frame["unix_time_second"] < cut), (late, frame["unix_time_second"] >= cut)):
        write_frame(frame.filter(part), path)
    return early, late


def _as_telemetry(cell: pl.DataFrame, cell_id: str) -> pl.DataFrame:
    """One simulated cell's time series as rows of pack-9's telemetry."""
    return cell.select(
        pl.lit("pack-9").alias("pack_id"),
        pl.lit(cell_id).alias("cell_id"),
        "unix_time_second",
        "voltage_volt",
        "current_ampere",
        pl.col("temperature_t1_celsius").alias("temperature_celsius"),
    )


def _bmts(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"BMTS_HOME": str(home / "home"), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    return subprocess.run([*BMTS, *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_state_carries_a_pack_from_file_to_file(
    tmp_path: Path, lab: tuple[CellModel, Path, Path, dict[str, np.ndarray]]
) -> None:
    _, model_path, pack, _ = lab
    halves = _halves(pack, tmp_path / "0900.parquet", tmp_path / "0930.parquet")
    saved = tmp_path / "pack.soc-state.json"
    model = ["--cell-model", str(model_path), "--state", str(saved)]
    for k, half in enumerate(halves):
        result = _bmts("soc", str(half), *model, "-o", str(tmp_path / f"soc{k}.csv"), home=tmp_path)
        assert result.returncode == 0, result.stderr
    assert set(json.loads(saved.read_text())["cells"]) == {"pack-1/cell-1", "pack-1/cell-2", "pack-1/cell-3"}
    again = _bmts("soc", str(halves[0]), *model, "-o", str(tmp_path / "again.csv"), home=tmp_path)
    assert again.returncode == 1 and "not the next file of this pack" in again.stderr
    assert not (tmp_path / "again.csv").exists()


def test_each_cells_own_capacity_is_used_when_given(
    tmp_path: Path, lab: tuple[CellModel, Path, Path, dict[str, np.ndarray]]
) -> None:
    model, model_path, pack, truth = lab
    own = {"cell-1": 2.5, "cell-2": 2.45, "cell-3": 2.4}  # the sample pack's (100 / 98 / 96 %)
    plain, _, _ = telemetry_state.soc_of_telemetry(pack, model)
    given, notes, _ = telemetry_state.soc_of_telemetry(pack, model, capacities=own)
    assert notes == []
    _, notes, _ = telemetry_state.soc_of_telemetry(pack, model, capacities={"cell-2": 2.45})
    assert notes == [
        "2 cells pack-1/cell-1, pack-1/cell-3: not in the capacities given: the model's capacity used"
    ]
    assert _rmse(given, "cell-3", truth["cell-3"]) < 0.6 * _rmse(plain, "cell-3", truth["cell-3"])
    assert _rmse(given, "cell-1", truth["cell-1"]) == _rmse(plain, "cell-1", truth["cell-1"])
    history = tmp_path / "soh.csv"
    pl.DataFrame({"battery_id": list(own), "cycle": [7] * 3, "capacity_ah": list(own.values())}).write_csv(
        history
    )
    out = tmp_path / "soc.csv"
    args = ["--cell-model", str(model_path), "--capacities", str(history), "-o", str(out)]
    result = _bmts("soc", str(pack), *args, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert pl.read_csv(out)["soc"].to_list() == pytest.approx(given["soc"].to_list(), abs=1e-6)
    one_cell = tmp_path / "cell.bdf.csv"
    one_cell.write_text("Test Time / s,Voltage / V,Current / A\n0,3.7,0\n1,3.7,0\n")
    result = _bmts("soc", str(one_cell), *args, home=tmp_path)
    assert result.returncode == 1 and "per-cell capacities need pack telemetry" in result.stderr


def test_soh_per_cell_from_charge_windows_alone(tmp_path: Path) -> None:
    """Field telemetry that holds only the 3.8-4.1 V charge windows: a cycle per charge session, and the
    same SOH as each cell's windows with their cycle counter."""
    parts, alone = [], {}
    for spec in sample_fleet(2):
        cell = simulate_cell(spec, cycles=12)
        win = cell.filter((pl.col("current_ampere") > 0) & pl.col("voltage_volt").is_between(3.8, 4.1))
        own = win.with_columns(cycle=pl.col("cycle_count") - win["cycle_count"][0] + 1)
        alone[spec.cell_id] = soh_state.soh_from_frame(own, 2.5, "cell")
        parts.append(_as_telemetry(win, spec.cell_id))
    path = tmp_path / "windows.parquet"
    pl.concat(parts).sort("unix_time_second", maintain_order=True).write_parquet(path)
    table, skipped = telemetry_state.soh_of_telemetry(path, 2.5)
    assert skipped == []
    for cell_id, expected in alone.items():
        rows = table.filter(pl.col("battery_id") == cell_id)
        assert rows["method"][0].startswith("partial_window") and rows.height == expected.height == 12
        assert rows["soh"].to_list() == pytest.approx(expected["soh"].to_list())


def test_cells_on_their_own_clocks_are_each_as_alone(
    tmp_path: Path, lab: tuple[CellModel, Path, Path, dict[str, np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a pack's cells sampled together run together; a cell sampled half a second later, and one whose first
    # minutes are missing, run on their own clocks: every cell's trace is what it is from its own file
    model, _, pack, _ = lab
    frame = pl.read_csv(pack)
    frame = frame.with_columns(
        pl.when(pl.col("cell_id") == "cell-2")
        .then(pl.col("unix_time_second") + 0.5)
        .otherwise(pl.col("unix_time_second"))
    ).filter(
        (pl.col("cell_id") != "cell-3") | (pl.col("unix_time_second") >= frame["unix_time_second"][0] + 60)
    )
    frame = pl.concat(
        [frame, frame.filter(pl.col("cell_id") == "cell-1").with_columns(pl.lit("cell-4").alias("cell_id"))]
    )
    mixed = tmp_path / "mixed.csv"
    frame.write_csv(mixed)
    groups: list[int] = []
    real = state.update_together
    monkeypatch.setattr(state, "update_together", lambda fs, *a: groups.append(len(fs)) or real(fs, *a))
    together, _, _ = telemetry_state.soc_of_telemetry(mixed, model)
    assert sorted(groups) == [1, 1, 2]  # cells 1 and 4 together
    for cell in ("cell-1", "cell-2", "cell-3", "cell-4"):
        alone = tmp_path / f"{cell}.csv"
        frame.filter(pl.col("cell_id") == cell).write_csv(alone)
        own, _, _ = telemetry_state.soc_of_telemetry(alone, model)
        mine = together.filter(pl.col("cell_id") == cell)
        assert mine["unix_time_second"].to_list() == own["unix_time_second"].to_list()
        assert mine["soc"].to_numpy() == pytest.approx(own["soc"].to_numpy(), abs=1e-12), cell
