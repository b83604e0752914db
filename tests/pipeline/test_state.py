"""State-estimation use cases and commands on generated BDF files, plus the real data when present."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from bmts.analytics.ecm import simulate_voltage
from bmts.ingest import read_timeseries, write_bdf
from bmts.pipeline import soh_state, state
from bmts.schema import DataError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analytics"))
from test_ecm import hppc_profile, true_model
from test_ocv import c20_test
from test_soh import NOMINAL, cycling

from shared_location import SHARED_DATA

PANASONIC = SHARED_DATA / "panasonic_18650pf"


def _bdf(path: Path, t: np.ndarray, v: np.ndarray, i: np.ndarray, temp: float = 25.0) -> Path:
    frame = pl.DataFrame(
        {
            "test_time_second": t,
            "voltage_volt": v,
            "current_ampere": i,
            "temperature_t1_celsius": np.full(t.size, temp),
        }
    )
    return write_bdf(frame, path)


def _cli_app() -> typer.Typer:
    """The CLI with the state-estimation commands registered (once per process)."""
    from bmts.services.cli.main import app
    from bmts.services.cli.state import register

    if not any(getattr(c, "name", None) == "soc" for c in app.registered_commands):
        register(app)
    return app


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("state")
    model = true_model(offset=0.0)
    t, v, i = c20_test(capacity=2.0, hysteresis=0.0, r=0.0)
    tp, ip = hppc_profile(levels=5)
    vp, _ = simulate_voltage(model, tp, ip, 1.0)
    td = np.arange(0.0, 3000.0, 0.1)
    idrive = np.where((td // 20) % 3 == 0, 0.5, -3.0)
    idrive[td < 30] = 0.0
    vd, soc = simulate_voltage(model, td, idrive, 1.0)
    out = {
        "ocv": _bdf(d / "ocv.bdf.csv", t, v, i),
        "pulse": _bdf(d / "pulse.bdf.csv", tp, vp, ip),
        "drive": _bdf(d / "drive.bdf.csv", td, vd, idrive),
        "dir": d,
    }
    pl.DataFrame({"t": td, "soc": soc}).write_parquet(d / "truth.parquet")
    return out


def test_fit_save_load_and_soc(files: dict[str, Path]) -> None:
    model = state.fit_cell_model(files["ocv"], [files["pulse"]])
    assert model.capacity_ah == pytest.approx(2.0, rel=0.01)
    assert np.median(model.tables[0].params["r0_ohm"]) == pytest.approx(0.03, rel=0.1)
    path = state.save_model(model, files["dir"] / "model.json")
    again = state.load_model(path)
    frame, warnings = state.soc_trace(files["drive"], again, initial_soc=None)
    truth = pl.read_parquet(files["dir"] / "truth.parquet")["soc"].to_numpy()
    assert frame.columns[:2] == ["test_time_second", "soc"]
    assert float(np.sqrt(np.mean((frame["soc"].to_numpy() - truth) ** 2))) < 0.01
    # 50 min of driving after a 30 s rest: the sensor's offset is the voltage's estimate, and the user is told
    assert len(warnings) == 1 and warnings[0].startswith("the current sensor's offset was not read at rest")
    same, _ = state.soc_of_frame(read_timeseries(files["drive"]), again)  # the frame entry point
    assert same.equals(frame)


def test_a_pulse_file_with_few_sets_is_reported(files: dict[str, Path], tmp_path: Path) -> None:
    # two pulse sets (a short test, or a file that is not a pulse test): the table holds and interpolates them
    def pulse_file(levels: int) -> Path:
        tp, ip = hppc_profile(levels=levels)
        vp, _ = simulate_voltage(true_model(offset=0.0), tp, ip, 1.0)
        return _bdf(tmp_path / f"{levels}-sets.bdf.csv", tp, vp, ip)

    assert state.fit_cell_model(files["ocv"], [pulse_file(7)]).notes["sparse_pulse_tests"] == []
    sparse = state.fit_cell_model(files["ocv"], [pulse_file(2)]).notes["sparse_pulse_tests"]
    assert [s["source"] for s in sparse] == ["2-sets.bdf.csv"] and len(sparse[0]["soc"]) == 2


def test_a_long_discharge_file_corrects_the_slow_branch(files: dict[str, Path]) -> None:
    from test_long_load import long_load_profile

    cell = true_model(offset=0.0, r2_ohm=0.01)  # the long loads see half the pulse cell's slow branch
    t, i = long_load_profile()
    v, _ = simulate_voltage(cell, t, i, 1.0)
    loads = _bdf(files["dir"] / "dis.bdf.csv", t, v, i)
    model = state.fit_cell_model(files["ocv"], [files["pulse"], loads])
    (note,) = model.notes["long_loads"]  # type: ignore[misc]
    assert {k: note[k] for k in ("source", "table", "loads")} == {
        "source": loads.name,
        "table": "pulse.bdf.csv",
        "loads": 8,
    }
    # after the correction the loads agree with the table: the filter keeps its 15 % floor
    assert note["model_error_rel"] == round(model.tables[0].model_error_rel, 4) < 0.05
    assert model.notes["skipped"] == []
    assert model.notes["unchecked_slow_branch"] == []  # and the pulse test's own steps would do as well
    assert state.fit_cell_model(files["ocv"], [files["pulse"]]).notes["unchecked_slow_branch"] == []
    r2 = model.tables[0].params["r2_ohm"]
    assert np.median(r2[model.tables[0].soc >= 0.3]) == pytest.approx(0.01, abs=0.003)
    again = state.load_model(state.save_model(model, files["dir"] / "model2.json"))
    assert again.notes["long_loads"] == model.notes["long_loads"]


def test_a_pulse_test_s_own_long_discharges_correct_the_slow_branch(files: dict[str, Path]) -> None:
    """No long-load file: the C/2 discharges between the pulse sets (and the rests after them) are the
    long loads; here they come from a cell with half the pulses' slow branch, as a cold cell's do."""
    tp, ip = hppc_profile(levels=5)
    v_pulses, _ = simulate_voltage(true_model(offset=0.0), tp, ip, 1.0)
    v_loads, _ = simulate_voltage(true_model(offset=0.0, r2_ohm=0.01), tp, ip, 1.0)
    c2 = np.isclose(ip, -1.0)  # the C/2 discharges of the 2 Ah cell, and the 30 min rest after each
    long = np.convolve(c2, np.ones(1801), "full")[: ip.size] > 0
    pulse = _bdf(files["dir"] / "pulse_own.bdf.csv", tp, np.where(long, v_loads, v_pulses), ip)
    model = state.fit_cell_model(files["ocv"], [pulse])
    (note,) = model.notes["long_loads"]  # type: ignore[misc]
    assert {k: note[k] for k in ("source", "table", "loads")} == {
        "source": pulse.name,
        "table": pulse.name,
        "loads": 5,
    }
    table = model.tables[0]
    assert np.median(table.params["r2_ohm"][table.soc >= 0.3]) == pytest.approx(0.01, abs=0.003)
    plain = state.fit_cell_model(files["ocv"], [files["pulse"]])  # the same cell throughout: R2 stays
    r2 = plain.tables[0].params["r2_ohm"]
    assert np.median(r2[plain.tables[0].soc >= 0.3]) == pytest.approx(0.02, abs=0.003)


def test_bad_inputs_are_data_errors(files: dict[str, Path], tmp_path: Path) -> None:
    model = state.fit_cell_model(files["ocv"], [files["pulse"]])
    with pytest.raises(DataError, match=r"within 0\.\.1"):
        state.soc_trace(files["drive"], model, initial_soc=1.5)
    with pytest.raises(DataError, match="needs --initial-soc"):
        state.soc_trace(files["drive"], model, initial_soc_std=0.01)
    with pytest.raises(DataError, match=r"--initial-soc-std: must be within 0\.\.1 and above 0, got 0"):
        state.soc_trace(files["drive"], model, initial_soc=1.0, initial_soc_std=0.0)
    bad = tmp_path / "m.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="not JSON"):
        state.load_model(bad)
    with pytest.raises(DataError, match="no current pulses"):
        state.fit_cell_model(files["ocv"], [files["ocv"]])


def test_commands_end_to_end(files: dict[str, Path], tmp_path: Path) -> None:
    app = _cli_app()
    runner = CliRunner()
    model = tmp_path / "model.json"
    fit = runner.invoke(
        app,
        ["cell-model", "fit", "--ocv", str(files["ocv"]), "--pulse", str(files["pulse"]), "-o", str(model)],
    )
    assert fit.exit_code == 0, fit.output
    assert "pulse sets at SOC 0.517, 0.637, 0.758, 0.879, 1 only" in fit.output  # the top half only
    out = tmp_path / "soc.csv"
    soc = runner.invoke(
        app, ["soc", str(files["drive"]), "--cell-model", str(model), "--initial-soc", "1.0", "-o", str(out)]
    )
    assert soc.exit_code == 0, soc.output
    table = pl.read_csv(out)
    assert table.height > 1000 and table["soc"].min() >= 0 and table["soc"].max() <= 1
    soh = runner.invoke(
        app, ["soh", str(files["drive"]), "--nominal-capacity-ah", "2.0", "-o", str(tmp_path / "h.csv")]
    )
    assert soh.exit_code == 0, soh.output
    assert pl.read_csv(tmp_path / "h.csv")["method"].to_list() == ["full_cycle"]
    broken = runner.invoke(
        app, ["soc", str(files["drive"]), "--cell-model", str(files["ocv"]), "-o", str(out)]
    )
    assert isinstance(broken.exception, DataError)
    # cut where driving starts and guessed 40 points low: the first minutes' voltage overrules the guess
    drive = read_timeseries(files["drive"]).filter(pl.col("test_time_second") >= 30.0)
    cut = write_bdf(drive, tmp_path / "cut.bdf.parquet")
    wrong = runner.invoke(
        app, ["soc", str(cut), "--cell-model", str(model), "--initial-soc", "0.6", "-o", str(out)]
    )
    assert wrong.exit_code == 0, wrong.output
    assert "initial SOC 0.6 disagrees with the first minutes' voltage" in wrong.output
    assert pl.read_csv(out)["soc"][0] > 0.95  # the truth is 1.0: only rest came before the cut
    # declared known to one point: held tighter than the voltage's own spread of it
    stds = []
    for declared in ([], ["--initial-soc-std", "0.01"]):
        args = ["soc", str(cut), "--cell-model", str(model), "--initial-soc", "1.0", *declared]
        done = runner.invoke(app, [*args, "-o", str(out)])
        assert done.exit_code == 0, done.output
        stds.append(pl.read_csv(out)["soc_std"][0])
    assert stds[1] < 0.7 * stds[0], stds


@pytest.mark.shared_data
@pytest.mark.skipif(not PANASONIC.is_dir(), reason="../shared/data is not present")
def test_panasonic_25degc_drive_cycle_within_one_percent(tmp_path: Path) -> None:
    ocv = next(PANASONIC.glob("25degC/C20*/*C20 OCV*.mat"))
    pulse = next(PANASONIC.glob("25degC/*pulse*/*HPPC*.mat"))
    model = state.fit_cell_model(ocv, [pulse])
    drive = next(PANASONIC.glob("25degC/Drive*/*LA92*.mat"))
    frame, _ = state.soc_trace(drive, model, initial_soc=1.0)
    from bmts.ingest import read_timeseries

    truth = 1 + read_timeseries(drive)["net_capacity_ah"].to_numpy() / 2.9677
    assert float(np.sqrt(np.mean((frame["soc"].to_numpy() - truth) ** 2))) < 0.01


def test_a_restarted_time_counter_is_a_warning_not_silent(files: dict[str, Path], tmp_path: Path) -> None:
    model = state.fit_cell_model(files["ocv"], [files["pulse"]])
    drive = pl.read_csv(files["drive"])
    half = drive.height // 2
    restarted = pl.concat(
        [drive.head(half), drive.tail(drive.height - half).with_columns(pl.col("Test Time / s") - 2000.0)]
    )
    path = tmp_path / "restarted.bdf.csv"
    restarted.write_csv(path)
    frame, warnings = state.soc_trace(path, model, initial_soc=1.0)
    assert any("time counter restarted" in w for w in warnings)
    assert np.all(np.diff(frame["test_time_second"].to_numpy()) > 0)


def test_a_gap_in_the_log_under_load_is_a_warning(files: dict[str, Path], tmp_path: Path) -> None:
    model = state.fit_cell_model(files["ocv"], [files["pulse"]])
    drive = pl.read_csv(files["drive"])
    gapped = pl.concat(
        [drive.head(5000), drive.tail(drive.height - 5000).with_columns(pl.col("Test Time / s") + 900.0)]
    )
    path = tmp_path / "gapped.bdf.csv"
    gapped.write_csv(path)
    frame, warnings = state.soc_trace(path, model, initial_soc=1.0)
    assert any("1 logging gap(s)" in w and "900" in w for w in warnings), warnings
    std = frame["soc_std"].to_numpy()
    assert std[5000] > std[4999]  # the gap costs certainty
    _, clean = state.soc_trace(files["drive"], model, initial_soc=1.0)
    assert not any("logging gap" in w for w in clean)


def test_field_cycles_use_windows_calibrated_on_the_full_ones(tmp_path: Path) -> None:
    # a field log: one full discharge in ten, the others stop at 20-40 % SOC (below the window); the
    # partial discharges must not be read as capacity, and the full ones calibrate the charge outside
    left = np.where(np.arange(40) % 10 == 0, 0.0, np.linspace(0.2, 0.4, 40))
    t, v, i, c, _ = cycling(fade=0.002, left_soc=left)
    cell_ah = NOMINAL * (1.02 - 0.002 * np.arange(40))
    path = write_bdf(
        pl.DataFrame({"test_time_second": t, "voltage_volt": v, "current_ampere": i, "cycle_count": c}),
        tmp_path / "field.bdf.csv",
    )
    table = soh_state.soh_from_frame(soh_state.stitched([path]), NOMINAL, "field")
    assert set(table["method"].to_list()) == {"partial_window"}
    est = table["capacity_ah"].to_numpy()
    # (this simulated cell loses capacity along the whole curve: the constant-outside model drifts, 2 %)
    assert np.sqrt(np.mean((est - cell_ah) ** 2)) < 0.02 * NOMINAL
    # another window (another chemistry's flat part, say) is an option; a reversed one is refused
    other = soh_state.soh_table([path], NOMINAL, (3.7, 4.0))
    assert other.height == table.height
    assert np.sqrt(np.mean((other["capacity_ah"].to_numpy() - cell_ah) ** 2)) < 0.02 * NOMINAL
    with pytest.raises(DataError, match="--window-v"):
        soh_state.soh_table([path], NOMINAL, (4.1, 3.8))


def _cycling_file(path: Path, fade: float, windows_only: bool = False) -> Path:
    t, v, i, c, _ = cycling(n=40, fade=fade)
    frame = pl.DataFrame({"test_time_second": t, "voltage_volt": v, "current_ampere": i, "cycle_count": c})
    if windows_only:
        frame = frame.filter((pl.col("current_ampere") > 0) & pl.col("voltage_volt").is_between(3.8, 4.1))
    return write_bdf(frame, path)


def test_windows_calibrated_on_reference_cells_from_the_command_line(tmp_path: Path) -> None:
    app = _cli_app()
    refs = [_cycling_file(tmp_path / f"ref{k}.bdf.csv", fade) for k, fade in enumerate((0.004, 0.006))]
    field = _cycling_file(tmp_path / "field.bdf.csv", 0.005, windows_only=True)
    truth = NOMINAL * (1.02 - 0.005 * np.arange(40))
    out = tmp_path / "soh.csv"
    args = ["soh", str(field), "--nominal-capacity-ah", str(NOMINAL), "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--reference", str(refs[0]), "--reference", str(refs[1])])
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert set(table["method"]) == {"partial_window_reference"}
    error = table["capacity_ah"].to_numpy() - truth[table["cycle"].to_numpy() - 1]
    plain = soh_state.soh_table([field], NOMINAL)
    plain_error = plain["capacity_ah"].to_numpy() - truth[plain["cycle"].to_numpy() - 1]
    assert np.sqrt(np.mean(error**2)) < 0.25 * np.sqrt(np.mean(plain_error**2))
    # a reference must have been cycled fully: windows alone teach nothing about the capacity
    with pytest.raises(DataError, match=r"--reference .*field.*a reference cell needs 10"):
        soh_state.soh_table([field], NOMINAL, references=[field])
    with pytest.raises(DataError, match=r"--reference .*missing"):
        soh_state.soh_table([field], NOMINAL, references=[tmp_path / "missing"])


def test_telemetry_file_by_file_continues_the_filter(files: dict[str, Path], tmp_path: Path) -> None:
    # a gateway writes one file per hour, each restarting its test time; Unix time runs on across them
    model = state.fit_cell_model(files["ocv"], [files["pulse"]])
    drive = read_timeseries(files["drive"])
    whole, _ = state.soc_of_frame(drive, model, 1.0)
    cuts = [0, 9000, 21000, drive.height]
    parts = []
    for k, (a, b) in enumerate(itertools.pairwise(cuts)):
        chunk = drive.slice(a, b - a)
        t = chunk["test_time_second"].to_numpy()
        chunk = chunk.with_columns(
            pl.Series("unix_time_second", 1.7e9 + t), pl.Series("test_time_second", t - t[0])
        )
        parts.append(write_bdf(chunk, tmp_path / f"hour{k}.bdf.parquet"))
    saved = tmp_path / "cell.soc-state.json"
    socs = []
    for k, path in enumerate(parts):
        trace, warnings, soc_state = state.soc_trace_resumed(path, model, saved, 1.0)
        state.save_soc_state(saved, soc_state)
        socs.append(trace["soc"].to_numpy())
        assert any("--initial-soc ignored" in w for w in warnings) == (k > 0)
    assert np.max(np.abs(np.concatenate(socs) - whole["soc"].to_numpy())) < 0.003
    assert json.loads(saved.read_text())["time_base"] == "unix_time_second"
    # the same file again is not the next one; a state of another time base or no state is refused
    with pytest.raises(DataError, match="not after the state's last sample"):
        state.soc_trace_resumed(parts[-1], model, saved)
    with pytest.raises(DataError, match="time base"):
        state.soc_trace_resumed(files["drive"], model, saved)
    saved.write_text("{}")
    with pytest.raises(DataError, match="--state"):
        state.soc_trace_resumed(parts[0], model, saved)


def test_soc_state_is_saved_only_after_the_trace(files: dict[str, Path], tmp_path: Path) -> None:
    app = _cli_app()
    model = tmp_path / "model.json"
    state.save_model(state.fit_cell_model(files["ocv"], [files["pulse"]]), model)
    drive = read_timeseries(files["drive"])
    first, second = (
        write_bdf(p, tmp_path / f"{n}.bdf.parquet")
        for n, p in (("a", drive.head(9000)), ("b", drive.slice(9000)))
    )
    saved = tmp_path / "s.json"
    runner = CliRunner()
    base = ["soc", "--cell-model", str(model), "--state", str(saved)]
    ok = runner.invoke(app, [*base, str(first), "--initial-soc", "1.0", "-o", str(tmp_path / "a.csv")])
    assert ok.exit_code == 0, ok.output
    before = saved.read_text()
    lost = runner.invoke(app, [*base, str(second), "-o", str(tmp_path / "no-such-dir" / "b.csv")])
    assert lost.exit_code != 0 and saved.read_text() == before  # the trace was not written: nor the state
    again = runner.invoke(app, [*base, str(second), "-o", str(tmp_path / "b.csv")])
    assert again.exit_code == 0, again.output
    assert saved.read_text() != before


def test_a_pulse_test_without_long_loads_is_reported(files: dict[str, Path], tmp_path: Path) -> None:
    # the steps between pulse sets as 4C for 90 s (the same charge as 0.5C for 12 min), under 3 tau2 of
    # the cell's 80 s: no load reaches the slow pair's steady state, so nothing checks it
    tp, ip = hppc_profile(levels=5)
    step = ip == ip.min() / 8  # the 0.5C steps (the pulses go to 4C)
    starts = np.flatnonzero(np.diff(np.r_[False, step].astype(int)) == 1)
    short = np.where(step, 0.0, ip)
    for a in starts:
        short[a : a + 90] = ip.min()  # 1 s logging on the steps
    vp, _ = simulate_voltage(true_model(offset=0.0), tp, short, 1.0)
    model = state.fit_cell_model(files["ocv"], [_bdf(tmp_path / "short.bdf.csv", tp, vp, short)])
    (note,) = model.notes["unchecked_slow_branch"]  # type: ignore[misc]
    assert note["source"] == "short.bdf.csv" and 150 < note["min_load_s"] < 400  # 3 tau2 of the fit
    app = _cli_app()
    args = ["cell-model", "fit", "--ocv", str(files["ocv"]), "--pulse", str(tmp_path / "short.bdf.csv")]
    fit = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "m.json")])
    assert fit.exit_code == 0 and "short.bdf.csv: no constant-current discharge of at least" in fit.output
