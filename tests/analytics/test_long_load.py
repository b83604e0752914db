"""Long discharges between pulse sets correct the slow RC branch of a pulse-fitted table and, where they
heat the cell, measure the warm-side activation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_ecm import CAP, true_model
from test_soc import drive, rmse

from bmts.analytics.ecm import CellModel, rc_response, simulate_voltage
from bmts.analytics.long_load import (
    LongLoads,
    correct_slow_branch,
    fit_warm_activation,
    long_loads,
    min_load_s,
    relative_mismatch,
)
from bmts.analytics.soc import estimate_soc


def long_load_profile(steps: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """From full: per step a 0.3C discharge of 20 min (10 s sampling) and a 30 min rest (60 s sampling)."""
    t_parts, i_parts, now = [np.arange(0.0, 600.0, 60.0)], [np.zeros(10)], 540.0
    for _ in range(steps):
        td = now + np.arange(10.0, 1200.0 + 1e-9, 10.0)
        tr = td[-1] + np.arange(60.0, 1800.0 + 1e-9, 60.0)
        t_parts += [td, tr]
        i_parts += [np.full(td.size, -0.3 * CAP), np.zeros(tr.size)]
        now = float(tr[-1])
    return np.concatenate(t_parts), np.concatenate(i_parts)


def found_loads(cell: CellModel, temp: np.ndarray | None = None) -> LongLoads:
    t, i = long_load_profile()
    v, soc = simulate_voltage(cell, t, i, 1.0) if temp is None else simulate_warming(cell, t, i, temp)
    return long_loads(t, v, i, soc, CAP, min_load_s(cell.tables[0]), temp)


def test_long_loads_are_found_with_their_steady_overpotential() -> None:
    cell = true_model()
    t, i = long_load_profile()
    v, soc = simulate_voltage(cell, t, i, 1.0)
    found = long_loads(t, v, i, soc, CAP, 300.0)
    assert found.soc.size == 8 == len(found.traces)
    assert np.allclose(found.duration_s, 1200.0, rtol=0.02)
    steady = -0.3 * CAP * (0.03 + 0.015 + 0.02 * (1 - np.exp(-1200 / 80)))
    assert np.allclose(found.overpotential_v, steady, atol=0.002)
    assert np.all(np.isnan(found.temperature_c))
    assert all(tr.current_a[0] == 0.0 and tr.current_a[-1] == -0.3 * CAP for tr in found.traces)


def test_a_tapering_load_is_not_a_long_load() -> None:
    t, i = long_load_profile(steps=2)
    loaded = np.flatnonzero(i < 0)
    i[loaded[loaded.size // 2 :]] *= np.linspace(1.0, 0.2, loaded.size - loaded.size // 2)  # a CV-like tail
    v, soc = simulate_voltage(true_model(), t, i, 1.0)
    assert long_loads(t, v, i, soc, CAP, 300.0).soc.size == 1


def test_slow_branch_is_corrected_and_soc_improves_on_a_drive() -> None:
    # the pulse fit got the slow branch twice too large (as the 10 degC Panasonic HPPC table against its
    # long discharges): the long loads bring R2 back, and SOC on a drive is then clearly better
    cell, wrong = true_model(), true_model(r2_ohm=0.04)
    table, n = correct_slow_branch(wrong.tables[0], found_loads(cell), CAP)
    assert n == 8
    assert np.allclose(table.params["r2_ohm"], 0.02, atol=0.002)
    fixed = true_model(r2_ohm=0.04)
    fixed.tables[0] = table
    td, idr = drive(seed=2)
    vd, sd = simulate_voltage(cell, td, idr, 0.95)
    vd = vd + np.random.default_rng(4).normal(0, 0.002, vd.size)
    ib = 1.012 * idr + 0.04
    before = rmse(estimate_soc(td, vd, ib, wrong, initial_soc=0.95).soc, sd)
    after = rmse(estimate_soc(td, vd, ib, fixed, initial_soc=0.95).soc, sd)
    assert after < 0.7 * before


def test_a_strongly_nonlinear_table_is_left_alone() -> None:
    wrong = true_model(r2_ohm=0.04, bv_scale_a=0.5 * CAP)
    table, n = correct_slow_branch(wrong.tables[0], found_loads(true_model()), CAP)
    assert n == 0 and table is wrong.tables[0]


def test_relative_mismatch_measures_the_model_against_the_long_loads() -> None:
    found = found_loads(true_model())
    assert relative_mismatch(true_model(), found, 25.0) < 0.01
    # twice the slow branch: the model's steady overpotential is 0.085 vs the cell's 0.065 ohm
    wrong = true_model(r2_ohm=0.04, bv_scale_a=0.5 * CAP)
    strong = true_model(r2_ohm=0.04)
    assert abs(relative_mismatch(strong, found, 25.0) - 0.02 / 0.085) < 0.01
    assert relative_mismatch(wrong, found, 25.0) > 0.2
    assert np.isnan(relative_mismatch(strong, found.subset(np.zeros(8, dtype=bool)), 25.0))


# --- the warm side: a cold cell with one table whose long loads heat it by ~10 K ---------------------------

REF_C = -10.0
WARM_K = 6000.0  # the true cell's warm-side activation (the model's default is 2400 K)


def cold_cell(warm_k: float | None = WARM_K) -> CellModel:
    """A strongly non-linear cell with one table at REF_C (as a cold pulse test gives)."""
    cell = true_model(bv_scale_a=0.5 * CAP)
    cell.tables[0] = replace(cell.tables[0], temperature_celsius=REF_C, cell_temperature_celsius=REF_C)
    cell.warm_activation_k = warm_k
    return cell


def heating(t: np.ndarray, i: np.ndarray, rise_k: float) -> np.ndarray:
    """Cell temperature that rises towards REF_C + rise_k while loaded and falls back in rests (600 s)."""
    return REF_C + rise_k * rc_response(t, (i != 0).astype(float), 600.0)


def simulate_warming(
    cell: CellModel, t: np.ndarray, i: np.ndarray, temp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The true cell's voltage and SOC from full with its parameters at every sample's temperature."""
    soc = 1.0 + np.cumsum(i * np.diff(t, prepend=t[:1])) / (3600.0 * CAP)
    p = {k: np.empty(t.size) for k in ("r0_ohm", "r1_ohm", "r2_ohm", "bv_scale_a", "ocv_offset_v")}
    for value in np.unique(temp):
        sel = temp == value
        at = cell.params(soc[sel], float(value))
        for k, arr in p.items():
            arr[sel] = at[k]
    g = p["bv_scale_a"] * np.arcsinh(i / p["bv_scale_a"])
    v1, v2 = rc_response(t, p["r1_ohm"] * g, 2.0), rc_response(t, p["r2_ohm"] * g, 80.0)
    return cell.ocv(soc) + p["ocv_offset_v"] + p["r0_ohm"] * i + v1 + v2, soc


def test_loads_that_heat_the_cell_recover_its_warm_activation_and_a_warmer_drive_improves() -> None:
    t, i = long_load_profile()
    found = found_loads(cold_cell(), heating(t, i, 12.0))
    assert np.all(found.temperature_c > REF_C + 9.0)  # each load ends ~10 K above the table
    model = cold_cell(warm_k=None)  # the fit: the same table, the default warm-side law
    fitted, n = fit_warm_activation(model, [found])
    assert n == 8
    assert fitted == pytest.approx(WARM_K, rel=0.05)
    # the model error with the loads at their own temperatures: ~0 with the fitted law, not with the default
    assert relative_mismatch(replace(model, warm_activation_k=fitted), found, REF_C) < 0.01
    assert relative_mismatch(model, found, REF_C) > 0.05
    td, idr = drive(seconds=2000.0, dt=0.5, seed=2)
    truth, _ = simulate_voltage(cold_cell(), td, idr, 0.95, REF_C + 8.0)  # the drive runs 8 K warmer
    before = rmse(simulate_voltage(model, td, idr, 0.95, REF_C + 8.0)[0], truth)
    after = rmse(
        simulate_voltage(replace(model, warm_activation_k=fitted), td, idr, 0.95, REF_C + 8.0)[0], truth
    )
    assert after < 0.2 * before


def test_loads_that_barely_heat_or_have_no_temperature_keep_the_default() -> None:
    t, i = long_load_profile()
    model = cold_cell(warm_k=None)
    mild = found_loads(cold_cell(), heating(t, i, 1.5))  # ends < MIN_WARM_EXCESS_K above the table
    assert fit_warm_activation(model, [mild]) == (None, 0)
    assert fit_warm_activation(model, [found_loads(cold_cell())]) == (None, 0)
    # a few loads that heated among many that did not: too few to fit
    warm = found_loads(cold_cell(), heating(t, i, 12.0))
    assert fit_warm_activation(model, [mild, warm.subset(np.arange(8) < 2)]) == (None, 2)


def test_loads_whose_heating_is_within_the_models_level_error_keep_the_default() -> None:
    # loads that end 2-3 K above a -10 degC table: the default law changes their overpotential by < 10 %,
    # less than the model's own level error, here resistances 10 % above the cell's; fitted from them, the
    # warm-side law would read that level error as a steep temperature dependence
    t, i = long_load_profile()
    found = found_loads(cold_cell(), heating(t, i, 3.0))
    assert np.all((found.temperature_c > REF_C + 2.0) & (found.temperature_c < REF_C + 2.9))
    high = cold_cell(warm_k=None)
    params = high.tables[0].params
    high.tables[0] = replace(
        high.tables[0], params={**params, **{k: 1.1 * params[k] for k in ("r0_ohm", "r1_ohm", "r2_ohm")}}
    )
    assert fit_warm_activation(high, [found]) == (None, 0)
    # the same loads heating 4-5 K change it by more: they fit the law
    warmer = found_loads(cold_cell(), heating(t, i, 5.5))
    fitted, n = fit_warm_activation(cold_cell(warm_k=None), [warmer])
    assert n == 8
    assert fitted == pytest.approx(WARM_K, rel=0.1)
