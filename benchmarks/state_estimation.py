"""State estimation on real cells: SOC on the Panasonic 18650PF drive cycles, SOH on NASA PCoE and CALCE.

SOC: per temperature the cell model is fitted on the 25 degC C/20 OCV test and that temperature's HPPC
and long-discharge (dis5) files only; every drive cycle (never seen by the fit) is scored against SOC = 1 + Ah / C_ref
(C_ref = 2.9677 Ah). Two cases per cycle: (A) BMS-grade sensors (current offset 20-50 mA, gain error
0.5-1.5 %, 2 mV voltage noise, drawn per cycle from a fixed seed), started at the true SOC; (B) exact
sensors, cut at the start of driving and started 30 points low, scored after the first 10 minutes.
Plain coulomb counting on the same BMS-grade signals runs beside it, and both are timed.
SOH: NASA full cycles by `bmts soh` on each cell's folder of discharge files; the NASA files hold
discharges only, so partial windows are the 3.9-3.6 V part of each discharge (calibrated on the first
five as nominal); CALCE from the raw Arbin files via `bmts.pipeline.state`, full cycles and the charging
samples within 3.8-4.1 V alone (calibrated on the first five as nominal). "Best scale": the partial
estimate's RMSE after one least-squares scale factor, i.e. its tracking error without the nominal assumption.
"Reference": the windows calibrated on the other cells' full cycles (`soh_reference`, leave one cell out).
Resistance: bmts's growth against the cycler's own IR measurement (CALCE summary), relative to the first cycles.
Usage: python benchmarks/state_estimation.py [--skip-calce]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from _common import SHARED_DATA, best_scale_pct, machine_line, markdown_table, rmse_pct, within_two_sigma_pct
from bmts.analytics.soc import coulomb_count, estimate_soc
from bmts.analytics.soh import Window, soh_from_windows, window_features
from bmts.analytics.soh_reference import WindowCapacityModel, feature_matrix, training_rows
from bmts.pipeline import soh_state, state
from soc_cold import load_drive

C_REF = 2.9677
PAN = SHARED_DATA / "panasonic_18650pf"


def soc_tables() -> None:
    ocv = next(PAN.glob("25degC/C20*/*C20 OCV*.mat"))
    rows, summary = [], []
    for tdir in sorted(p for p in PAN.iterdir() if p.is_dir()):
        pulse = sorted(tdir.glob("*pulse*/*HPPC*.mat")) + sorted(tdir.glob("*pulse*/*dis5*.mat"))
        if not pulse:
            continue
        model = state.fit_cell_model(ocv, pulse)
        for drive in sorted(tdir.glob("Drive*/*.mat")):
            if "LA92_NN" in drive.name:  # several tests joined, amp-hour counter restarting
                continue
            case, (t, v, i, temp, truth), (i_b, v_b), t0 = load_drive(drive)
            k = t >= t0
            started = time.perf_counter()
            est = estimate_soc(t, v_b, i_b, model, temp, 1.0)
            ekf_rate = t.size / (time.perf_counter() - started)
            started = time.perf_counter()
            cc = coulomb_count(t, i_b, C_REF, 1.0)
            cc_rate = t.size / (time.perf_counter() - started)
            b = estimate_soc(t[k] - t0, v[k], i[k], model, temp[k], 0.7)
            late = (t[k] - t0) >= 600
            a_err, b_err = rmse_pct(est.soc[k], truth[k]), rmse_pct(b.soc[late], truth[k][late])
            cc_err = rmse_pct(cc[k], truth[k])
            summary.append((tdir.name, a_err, b_err, cc_err, ekf_rate))
            rows.append(
                (tdir.name, case, f"{a_err:.2f}", f"{b_err:.2f}", f"{cc_err:.2f}",
                 f"{ekf_rate / 1e6:.2f}", f"{cc_rate / 1e6:.0f}")
            )  # fmt: skip
    print("\n### SOC, Panasonic 18650PF drive cycles (RMSE, % SOC)\n")
    heads = ["temperature", "cycle", "EKF, BMS sensors", "EKF, 30 pts wrong, >10 min", "coulomb counting",
             "EKF Msamples/s", "CC Msamples/s"]  # fmt: skip
    print(markdown_table(heads, rows))
    s = pl.DataFrame(summary, schema=["t", "a", "b", "cc", "rate"], orient="row")
    agg = s.group_by("t", maintain_order=True).agg(
        pl.col("a").mean().round(2).alias("A mean"), pl.col("a").max().round(2).alias("A worst"),
        pl.col("b").mean().round(2).alias("B mean"), pl.col("b").max().round(2).alias("B worst"),
        pl.col("cc").mean().round(2).alias("CC mean"),
    )  # fmt: skip
    print()
    print(markdown_table(agg.columns, agg.rows()))
    print(f"\nall cycles: A mean {s['a'].mean():.2f}% worst {s['a'].max():.2f}%, B mean {s['b'].mean():.2f}% "
          f"worst {s['b'].max():.2f}%, median EKF throughput {s['rate'].median() / 1e6:.2f} Msamples/s")  # fmt: skip


NASA_CELLS = ("B0005", "B0006", "B0007", "B0018")
NASA_WINDOW = Window(-3.9, -3.6)  # a discharge seen backwards is a charge: the window is 3.6-3.9 V of it


def nasa_cell(cell: str) -> tuple[np.ndarray, np.ndarray, pl.DataFrame]:
    """(NASA's capacity per discharge, bmts's full-cycle capacity, the discharges seen backwards)."""
    folder = SHARED_DATA / "nasa_pcoe" / "data" / "discharge_data" / cell
    files = sorted(folder.glob("dis_*.csv"), key=lambda p: int(p.name.split("_")[1]))
    truth, parts = [], []
    for k, path in enumerate(files, start=1):
        f = pl.read_csv(path)
        t, v, i = (f[c].to_numpy().astype(float) for c in ("discharge_time", "voltage", "current"))
        truth.append(float(path.stem.split("_cap_")[1]))
        parts.append(pl.DataFrame({"t": t, "v": -v, "i": -i, "c": np.full(t.size, k)}))
    # full cycles as `bmts soh` gives them (the NASA reader declares the 2.7 V end of NASA's Capacity)
    full = soh_state.soh_table([folder], 2.0).sort("cycle")["capacity_ah"].to_numpy()
    return np.array(truth), full, pl.concat(parts)


def _arrays(p: pl.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(p[c].to_numpy() for c in ("t", "v", "i", "c"))


#: how the partial windows are calibrated, as the columns of the calibration tables
CALIBRATIONS = ("nominal (first five cycles)", "the cell's first full cycle", "other cells as references")


def _calibrated(
    windows: tuple[np.ndarray, ...],
    nominal: float,
    window: Window,
    first_full: pl.DataFrame,
    model: WindowCapacityModel,
) -> list[pl.DataFrame]:
    """The partial-window estimates of one cell under each of CALIBRATIONS."""
    return [
        soh_from_windows(*windows, nominal, window),
        soh_from_windows(*windows, nominal, window, reference=first_full),
        soh_from_windows(*windows, nominal, window, calibration=model),
    ]


def _rmse_cover(est: np.ndarray, truth: np.ndarray, std: np.ndarray, nominal: float) -> str:
    """'RMSE pp (share within two std %)'."""
    ok = np.isfinite(est) & np.isfinite(truth)
    e, s, t = est[ok], std[ok], truth[ok]
    return f"{rmse_pct(e / nominal, t / nominal):.2f} ({within_two_sigma_pct(e, s, t):.0f} %)"


def _reference_model(train: dict[str, pl.DataFrame], cell: str) -> WindowCapacityModel:
    """Fitted on every cell's training rows but `cell`'s (leave one cell out)."""
    others = pl.concat([rows.with_columns(cell=pl.lit(c)) for c, rows in train.items() if c != cell])
    return WindowCapacityModel().fit(
        feature_matrix(others), others["capacity_ah"].to_numpy(), others["cell"].to_numpy()
    )


def nasa_table() -> None:
    """Full cycles; partial windows calibrated on nominal (the first five cycles), on the cell's first full
    cycle, and on the other three cells' full cycles (leave one cell out: `soh_reference`)."""
    cells = {cell: nasa_cell(cell) for cell in NASA_CELLS}
    train = {}
    for cell, (_, full, p) in cells.items():
        full_frame = pl.DataFrame({"cycle": np.arange(1, full.size + 1), "capacity_ah": full})
        train[cell] = training_rows(window_features(*_arrays(p), NASA_WINDOW), full_frame)
    rows, cal_rows = [], []
    for cell, (truth, full, p) in cells.items():
        first = pl.DataFrame({"cycle": [1], "capacity_ah": [full[0]]})
        tables = _calibrated(_arrays(p), 2.0, NASA_WINDOW, first, _reference_model(train, cell))
        scores = []
        for part in tables:
            est, std = np.full(truth.size, np.nan), np.full(truth.size, np.nan)
            est[part["cycle"].to_numpy() - 1] = part["capacity_ah"].to_numpy()
            std[part["cycle"].to_numpy() - 1] = part["capacity_std_ah"].to_numpy()
            scores.append((est, std))
        est, std = scores[0]
        ok = np.isfinite(est)
        rows.append((cell, truth.size, f"{rmse_pct(full / 2.0, truth / 2.0):.2f}",
                     f"{rmse_pct(est[ok] / 2.0, truth[ok] / 2.0):.2f}", int(ok.sum()),
                     f"{within_two_sigma_pct(est[ok], std[ok], truth[ok]):.0f}",
                     f"{best_scale_pct(est[ok], truth[ok], 2.0):.2f}"))  # fmt: skip
        cal_rows.append((cell, *(_rmse_cover(e, truth, s, 2.0) for e, s in scores)))
    print("\n### SOH, NASA PCoE (RMSE, % of 2.0 Ah nominal)\n")
    heads = ["cell", "discharges", "full cycles", "partial 3.9-3.6 V", "partial n", "within 2 std %",
             "partial, best scale"]  # fmt: skip
    print(markdown_table(heads, rows))
    print("\nPartial 3.9-3.6 V windows by calibration: RMSE pp (cycles within two reported std)\n")
    print(markdown_table(["cell", *CALIBRATIONS], cal_rows))


CALCE_CELLS = ("CS2_35", "CS2_36")


def _scored(truth: pl.DataFrame, est: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(estimate, truth, std) on the cycles both have."""
    joined = truth.join(
        est.select("cycle", pl.col("capacity_ah").alias("e"), "capacity_std_ah"), on="cycle", how="inner"
    ).sort("cycle")
    return joined["e"].to_numpy(), joined["capacity_ah"].to_numpy(), joined["capacity_std_ah"].to_numpy()


def calce_table() -> None:
    """Full cycles from the raw files; partial: the same frame cut to its charging samples within
    3.8-4.1 V (no discharge left, as the acceptance check builds it), calibrated as in CALIBRATIONS (the
    references: the other cell's full cycles, `soh_reference`)."""
    summary = pl.read_csv(SHARED_DATA / "calce_cs2" / "capacity_summary_DERIVED.csv")
    frames, took = {}, {}
    for cell in CALCE_CELLS:
        started = time.perf_counter()
        frames[cell] = soh_state.stitched(sorted((SHARED_DATA / "calce_cs2" / cell).glob("*.xlsx")))
        took[cell] = time.perf_counter() - started
    rows, res_rows, cal_rows = [], [], []
    for cell, frame in frames.items():
        started = time.perf_counter()
        full = soh_state.soh_from_frame(frame, 1.1, cell)
        seconds = took[cell] + time.perf_counter() - started
        window = frame.filter((pl.col("current_ampere") > 0) & pl.col("voltage_volt").is_between(3.8, 4.1))
        windows = tuple(
            window[c].to_numpy() for c in ("test_time_second", "voltage_volt", "current_ampere", "cycle")
        )
        others = [(c, f) for c, f in frames.items() if c != cell]
        model = soh_state.calibration_from_frames(others, 1.1, Window())
        truth = summary.filter(pl.col("battery_id") == f"calce-{cell}").select("cycle", "capacity_ah")
        tables = _calibrated(windows, 1.1, Window(), full.sort("cycle").head(1), model)
        e, tr, _ = _scored(truth, full)
        scores: list[object] = [f"{rmse_pct(e / 1.1, tr / 1.1):.2f}", e.size]
        e, tr, std = _scored(truth, tables[0])
        scores += [f"{rmse_pct(e / 1.1, tr / 1.1):.2f}", f"{best_scale_pct(e, tr, 1.1):.2f}", e.size,
                   f"{within_two_sigma_pct(e, std, tr):.0f}"]  # fmt: skip
        rows.append((cell, truth.height, *scores, f"{seconds:.0f}"))
        cal_rows.append((cell, *(_rmse_cover(*_scored(truth, t), 1.1) for t in tables)))
        res_rows.append(
            (cell, *resistance_scores(full, summary.filter(pl.col("battery_id") == f"calce-{cell}")))
        )
    print("\n### SOH, CALCE CS2 from raw Arbin files (RMSE, % of 1.1 Ah; truth: the summary CSV)\n")
    heads = ["cell", "truth cycles", "full cycles", "matched", "partial 3.8-4.1 V charge", "partial, best scale",
             "matched", "within 2 std %", "seconds (read + full)"]  # fmt: skip
    print(markdown_table(heads, rows))
    print("\nPartial 3.8-4.1 V windows by calibration: RMSE pp (cycles within two reported std)\n")
    print(markdown_table(["cell", *CALIBRATIONS], cal_rows))
    print(
        "\n### Resistance growth, CALCE CS2 (bmts's current-step R against the cycler's own IR measurement)\n"
    )
    heads = ["cell", "matched", "R bmts / Arbin IR (median)", "correlation", "growth RMSE", "growth, last 5: bmts",
             "Arbin IR", "within 2 std %"]  # fmt: skip
    print(markdown_table(heads, res_rows))


def resistance_scores(est: pl.DataFrame, truth: pl.DataFrame) -> tuple[object, ...]:
    """bmts's resistance growth (relative to its first cycles) against the summary's mean Arbin
    `Internal_Resistance` per discharge, taken relative to its own first five matched cycles: the absolute
    values differ by method (a current step over a 30 s log interval includes the fast polarisation, the
    cycler's IR is a millisecond pulse), so the growth is what is compared."""
    j = truth.join(est.select("cycle", "resistance_ohm", "resistance_growth", "resistance_growth_std")
                   .rename({"resistance_ohm": "r_bmts"}), on="cycle", how="inner").sort("cycle")  # fmt: skip
    j = j.filter(pl.col("r_bmts").is_finite() & pl.col("resistance_growth").is_finite())
    r, rb = j["resistance_ohm"].to_numpy(), j["r_bmts"].to_numpy()
    g, g_std = j["resistance_growth"].to_numpy(), j["resistance_growth_std"].to_numpy()
    g_truth = r / np.median(r[:5])
    return (
        j.height,
        f"{np.median(rb / r):.2f}",
        f"{np.corrcoef(r, rb)[0, 1]:.3f}",
        f"{np.sqrt(np.mean((g - g_truth) ** 2)):.3f}",
        f"{np.mean(g[-5:]):.3f}",
        f"{np.mean(g_truth[-5:]):.3f}",
        f"{np.mean(np.abs(g - g_truth) <= 2 * g_std) * 100:.0f}",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-calce", action="store_true")
    a = ap.parse_args()
    print(machine_line())
    if not Path(SHARED_DATA).is_dir():
        raise SystemExit("../shared/data is not present")
    soc_tables()
    nasa_table()
    if not a.skip_calce:
        calce_table()


if __name__ == "__main__":
    main()
