"""Long discharges between pulse sets correct the slow RC branch of a pulse-fitted table."""

from __future__ import annotations

import numpy as np
from test_ecm import CAP, true_model
from test_soc import drive, rmse

from bmts.analytics.ecm import CellModel, simulate_voltage
from bmts.analytics.long_load import LongLoads, correct_slow_branch, long_loads, min_load_s, relative_mismatch
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


def found_loads(cell: CellModel) -> LongLoads:
    t, i = long_load_profile()
    v, soc = simulate_voltage(cell, t, i, 1.0)
    return long_loads(t, v, i, soc, CAP, min_load_s(cell.tables[0]))


def test_long_loads_are_found_with_their_steady_overpotential() -> None:
    cell = true_model()
    t, i = long_load_profile()
    v, soc = simulate_voltage(cell, t, i, 1.0)
    found = long_loads(t, v, i, soc, CAP, 300.0)
    assert found.soc.size == 8
    assert np.allclose(found.duration_s, 1200.0, rtol=0.02)
    steady = -0.3 * CAP * (0.03 + 0.015 + 0.02 * (1 - np.exp(-1200 / 80)))
    assert np.allclose(found.overpotential_v, steady, atol=0.002)


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
    assert relative_mismatch(true_model().tables[0], found) < 0.01
    # twice the slow branch: the model's steady overpotential is 0.085 vs the cell's 0.065 ohm
    wrong = true_model(r2_ohm=0.04, bv_scale_a=0.5 * CAP).tables[0]
    strong = true_model(r2_ohm=0.04).tables[0]
    assert abs(relative_mismatch(strong, found) - 0.02 / 0.085) < 0.01
    assert relative_mismatch(wrong, found) > 0.2
    t, i = long_load_profile()
    v, soc = simulate_voltage(true_model(), t, i, 1.0)
    assert np.isnan(relative_mismatch(strong, long_loads(t[:5], v[:5], i[:5], soc[:5], CAP, 300.0)))
