"""Where partial-window SOH loses accuracy, on the development cells only (CALCE CS2_35, NASA B0005, B0006).

A cycle's capacity is the charge below the window + the window + the charge above it. The window-only
method (`bmts soh` on window-only data) takes the outside charge as constant. This script prints, per tenth
of life, that budget from the full data next to the window-only estimate's error, and the RMSE of simple
rules for the outside charge on the same windows: constant (bmts, with its onset correction), proportional
to the window (outside ages like the window), the midpoint of the two, and a stretch + shift fit of each
window against the first five (Q(V) = s Q_ref(V + delta) + c, capacity = s x nominal). "Best scale": RMSE after
one least-squares scale factor (the tracking error without the first-cycles-are-nominal assumption).
The held-out cells (CS2_36, B0007, B0018) are deliberately not read.
Usage: python benchmarks/soh_window_budget.py [--quick]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import polars as pl

from _common import SHARED_DATA, best_scale_pct, machine_line, markdown_table, rmse_pct
from bmts.analytics.soh import Window, soh_from_windows, window_charge
from bmts.pipeline import soh_state

CAL = 5  # the first cycles taken as nominal, as bmts does
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def columns(frame: pl.DataFrame, names: tuple[str, str, str, str]) -> Arrays:
    """(time s, voltage V, current A, cycle) of a frame."""
    t, v, i, c = (frame[n].to_numpy() for n in names)
    return t, v, i, c


def rmse_pp(est: np.ndarray, truth: np.ndarray, nominal: float) -> tuple[float, float]:
    """RMSE in pp of nominal, as it is and after the best single scale factor."""
    return rmse_pct(est / nominal, truth / nominal), best_scale_pct(est, truth, nominal)


def stretch_shift(
    t: np.ndarray, v: np.ndarray, i: np.ndarray, c: np.ndarray, ids: np.ndarray, win: Window
) -> np.ndarray:
    """Per cycle the stretch s of Q(V) = s Q_ref(V + delta) + c against the first five windows' median curve."""
    inside = (v >= win.v_low) & (v <= win.v_high) & (i > 0)
    curves = {}
    for k in ids:
        m = inside & (c == k)
        q = np.r_[0.0, np.cumsum(i[m][1:] * np.diff(t[m]))] / 3600.0
        vm = np.maximum.accumulate(v[m])
        u, first = np.unique(vm, return_index=True)
        curves[int(k)] = (u, q[first])
    grid = np.linspace(win.v_low, win.v_high, 301)
    with warnings.catch_warnings():  # grid points outside every reference window stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmedian(
            [np.interp(grid, *curves[int(k)], left=np.nan, right=np.nan) for k in ids[:CAL]], axis=0
        )
    ok = np.isfinite(ref)
    grid, ref = grid[ok], ref[ok]
    out = np.full(ids.size, np.nan)
    for n, k in enumerate(ids):
        u, q = curves[int(k)]
        best = np.inf
        for delta in np.arange(-0.05, 0.25, 0.002):
            m = (u + delta >= grid[0]) & (u + delta <= grid[-1])
            if m.sum() < 8:
                continue
            a = np.c_[np.interp(u[m] + delta, grid, ref), np.ones(m.sum())]
            sol, *_ = np.linalg.lstsq(a, q[m], rcond=None)
            r = float(np.mean((a @ sol - q[m]) ** 2))
            if r < best:
                best, out[n] = r, sol[0]
    return out


def rules(
    arrays: Arrays, nominal: float, win: Window, truth: dict[int, float], bmts: pl.DataFrame
) -> list[tuple[str, str, str, int]]:
    """RMSE and best-scale RMSE of each outside-charge rule on the window-only arrays."""
    t, v, i, c = arrays
    ids, ah, span, _ = window_charge(t, v, i, c, win)
    keep = (span >= 0.5) & (ah > 0)
    ids, ah = ids[keep], ah[keep]
    const = ah + nominal - np.median(ah[:CAL])
    prop = ah * nominal / np.median(ah[:CAL])
    s = stretch_shift(t, v, i, c, ids, win)
    est = dict(zip(bmts["cycle"].to_list(), bmts["capacity_ah"].to_list(), strict=True))
    table = {
        "constant (bmts, with onset)": np.array([est.get(int(k), np.nan) for k in ids]),
        "constant, no onset": const,
        "proportional": prop,
        "midpoint": 0.5 * (const + prop),
        "stretch + shift": s * nominal / np.median(s[:CAL]),
    }
    tr = np.array([truth.get(int(k), np.nan) for k in ids])
    rows = []
    for name, e in table.items():
        m = np.isfinite(e) & np.isfinite(tr)
        a, b = rmse_pp(e[m], tr[m], nominal)
        rows.append((name, f"{a:.2f}", f"{b:.2f}", int(m.sum())))
    return rows


def deciles(budget: pl.DataFrame) -> pl.DataFrame:
    return (
        budget.drop_nulls()
        .sort("cycle")
        .with_columns((pl.int_range(pl.len()) * 10 // pl.len()).alias("tenth"))
        .group_by("tenth", maintain_order=True)
        .agg(pl.col("cycle").min().alias("from cycle"), pl.exclude("cycle").mean().round(3))
        .drop("tenth")
    )


def calce() -> None:
    cell, nominal, win = "CS2_35", 1.1, Window()
    frame = soh_state.stitched(sorted((SHARED_DATA / "calce_cs2" / cell).glob("*.xlsx")))
    summary = pl.read_csv(SHARED_DATA / "calce_cs2" / "capacity_summary_DERIVED.csv")
    truth = summary.filter(pl.col("battery_id") == f"calce-{cell}").select("cycle", "capacity_ah")
    cut = frame.filter(
        (pl.col("current_ampere") > 0) & pl.col("voltage_volt").is_between(win.v_low, win.v_high)
    )
    bmts = soh_state.soh_from_frame(cut, nominal, cell)
    rows = []
    for (k,), g in frame.sort("test_time_second").group_by("cycle", maintain_order=True):
        t, v, i = (
            g[n].to_numpy().astype(float) for n in ("test_time_second", "voltage_volt", "current_ampere")
        )
        dq = np.r_[0.0, np.diff(t)] * i / 3600.0  # each row closes its interval
        ch = i > 0
        if not ch.any() or not (ch & (v >= win.v_low)).any():
            continue
        entry = int(np.flatnonzero(ch & (v >= win.v_low))[0])
        start = int(np.flatnonzero(ch)[0])
        below = float(np.sum(dq[start + 1 : entry + 1][ch[start + 1 : entry + 1]]))
        above = float(np.sum(dq[ch & (v > win.v_high)]))
        rows.append((int(k), below, above))
    budget = pl.DataFrame(rows, schema=["cycle", "below", "above"], orient="row")
    budget = truth.join(budget, on="cycle").join(
        bmts.select("cycle", pl.col("capacity_ah").alias("bmts")), on="cycle"
    )
    arrays = columns(cut, ("test_time_second", "voltage_volt", "current_ampere", "cycle"))
    ids, ah, _, _ = window_charge(*arrays, win)
    budget = budget.join(pl.DataFrame({"cycle": ids.astype(np.int64), "window": ah}), on="cycle").select(
        "cycle", pl.col("capacity_ah").alias("truth"), "below", "window", "above",
        (pl.col("bmts") - pl.col("capacity_ah")).alias("bmts error"),
    )  # fmt: skip
    print(f"\n### CALCE {cell}, 3.8-4.1 V charge windows: budget per tenth of life (Ah)\n")
    tab = deciles(budget)
    print(markdown_table(tab.columns, tab.rows()))
    td = dict(zip(truth["cycle"].to_list(), truth["capacity_ah"].to_list(), strict=True))
    print(f"\n{cell} window-only rules (RMSE, pp of {nominal} Ah)\n")
    print(
        markdown_table(["outside charge", "RMSE", "best scale", "n"], rules(arrays, nominal, win, td, bmts))
    )


def nasa(cell: str) -> None:
    nominal, win = 2.0, Window(-3.9, -3.6)  # a discharge seen backwards is a charge
    folder = SHARED_DATA / "nasa_pcoe" / "data" / "discharge_data" / cell
    files = sorted(folder.glob("dis_*.csv"), key=lambda p: int(p.name.split("_")[1]))
    parts, rows, truth = [], [], {}
    for k, path in enumerate(files, start=1):
        f = pl.read_csv(path)
        t, v, i = (f[n].to_numpy().astype(float) for n in ("discharge_time", "voltage", "current"))
        truth[k] = float(path.stem.split("_cap_")[1])
        q = np.cumsum(np.where(i < -0.1, -i * np.r_[0.0, np.diff(t)], 0.0)) / 3600.0
        top, bottom = np.flatnonzero(v <= 3.9), np.flatnonzero(v <= 3.6)
        if top.size and bottom.size:
            rows.append((k, truth[k], q[top[0]], q[bottom[0]] - q[top[0]], q[-1] - q[bottom[0]]))
        parts.append(pl.DataFrame({"t": t, "v": -v, "i": -i, "c": np.full(t.size, k)}))
    p = pl.concat(parts)
    arrays = columns(p, ("t", "v", "i", "c"))
    bmts = soh_from_windows(*arrays, nominal, win)
    budget = pl.DataFrame(
        rows, schema=["cycle", "truth", "above 3.9 V", "window", "below 3.6 V"], orient="row"
    )
    budget = budget.join(bmts.select("cycle", pl.col("capacity_ah").alias("e")), on="cycle").with_columns(
        (pl.col("e") - pl.col("truth")).alias("bmts error")
    )
    print(f"\n### NASA {cell}, 3.9-3.6 V of each 2 A discharge: budget per tenth of life (Ah)\n")
    tab = deciles(budget.drop("e"))
    print(markdown_table(tab.columns, tab.rows()))
    print(f"\n{cell} window-only rules (RMSE, pp of {nominal} Ah)\n")
    print(
        markdown_table(
            ["outside charge", "RMSE", "best scale", "n"], rules(arrays, nominal, win, truth, bmts)
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="NASA B0005 only")
    a = ap.parse_args()
    print(machine_line())
    for cell in ("B0005",) if a.quick else ("B0005", "B0006"):
        nasa(cell)
    if not a.quick:
        calce()


if __name__ == "__main__":
    main()
