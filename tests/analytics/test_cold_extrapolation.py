"""Cell-model parameters colder than the coldest table: the Butler-Volmer scale by its own Arrhenius law,
the RC pairs' Tafel slope kept. Scored on a simulated cell whose true behaviour differs from that law."""

from __future__ import annotations

import numpy as np
import pytest
from test_ecm import CAP, ocv_curve
from test_soc import drive, rmse

from bmts.analytics import ecm
from bmts.analytics.ecm import CellModel, EcmTable, fit_activation, fit_bv_activation, simulate_voltage
from bmts.analytics.soc import estimate_soc

TEMPS = (25.0, 10.0, 0.0, -10.0)
#: the true cell (Panasonic-like): the exchange current falls faster than Arrhenius into the cold and the
#: pairs' Tafel slopes R_j * b fall too, so neither extrapolation law is exact
BV_A = (12.0, 3.2, 0.75, 0.15)
R1_TAFEL_V = (0.10, 0.055, 0.04, 0.03)
R2_TAFEL_V = (0.50, 0.19, 0.12, 0.08)


def table(k: int) -> EcmTable:
    soc = np.array([0.0, 0.5, 1.0])
    temp = TEMPS[k]
    b = BV_A[k]
    params = {
        "r0_ohm": 0.03 * ecm.arrhenius(temp, 25.0, 2400.0),
        "r1_ohm": R1_TAFEL_V[k] / b,
        "tau1_s": 2.0,
        "r2_ohm": R2_TAFEL_V[k] / b,
        "tau2_s": 80.0,
        "bv_scale_a": b,
        "ocv_offset_v": -0.01,
    }
    return EcmTable(temp, temp, soc, {key: np.full(3, v) for key, v in params.items()})


def model(indices: tuple[int, ...]) -> CellModel:
    tables = [table(k) for k in indices]
    return CellModel(ocv_curve(), CAP, tables, fit_activation(tables), fit_bv_activation(tables))


@pytest.fixture(scope="module")
def cold_drive() -> dict[str, np.ndarray]:
    t, i = drive(seconds=4000.0, seed=4)
    i = 0.3 * i  # a gentle drive: -0.9C..+0.3C in the cold
    v, soc = simulate_voltage(model((0, 1, 2, 3)), t, i, 0.95, -8.0)
    return {"t": t, "i": i, "v": v, "soc": soc}


def test_bv_activation_is_fitted_from_the_tables() -> None:
    warm = model((0, 1))
    assert warm.bv_activation_k == pytest.approx(np.log(12.0 / 3.2) / (1 / 283.15 - 1 / 298.15), rel=1e-6)
    assert model((1,)).bv_activation_k == ecm.DEFAULT_BV_ACTIVATION_K
    linear = table(0)
    linear.params["bv_scale_a"] = np.full(3, ecm.SCALE_BOUNDS[1])  # a pair fitted linear: no information
    assert fit_bv_activation([linear, table(1)]) == ecm.DEFAULT_BV_ACTIVATION_K


def test_colder_than_the_tables_the_voltage_is_closer_than_with_one_arrhenius_law(
    cold_drive: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    warm = model((0, 1))  # 25 and 10 degC only, the drive at -8 degC
    t, i, truth = cold_drive["t"], cold_drive["i"], cold_drive["v"]
    new = rmse(simulate_voltage(warm, t, i, 0.95, -8.0)[0], truth)
    monkeypatch.setattr(ecm, "TAFEL_C_RATE", 0.0)  # the single law (resistances like R0)
    old = rmse(simulate_voltage(warm, t, i, 0.95, -8.0)[0], truth)
    assert new < 0.6 * old


def test_colder_than_the_tables_soc_is_better(
    cold_drive: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    warm = model((0, 1))
    t, i, v, soc = (cold_drive[k] for k in ("t", "i", "v", "soc"))
    v_bms = v + np.random.default_rng(5).normal(0, 0.002, v.size)
    i_bms = 1.01 * i + 0.03
    temp = np.full(t.size, -8.0)
    new = rmse(estimate_soc(t, v_bms, i_bms, warm, temp, 0.95).soc, soc)
    monkeypatch.setattr(ecm, "TAFEL_C_RATE", 0.0)
    old = rmse(estimate_soc(t, v_bms, i_bms, warm, temp, 0.95).soc, soc)
    assert new < 0.8 * old


def test_a_few_kelvin_warmer_or_linear_tables_keep_the_single_law() -> None:
    cold = model((1, 2))
    above = cold.params(0.5, 13.0)  # within TAFEL_WARM_ABOVE_C of the 10 degC table
    scale = ecm.arrhenius(13.0, 10.0, cold.activation_k)
    for key in ("r0_ohm", "r1_ohm", "r2_ohm"):
        assert above[key] == pytest.approx(table(1).params[key][1] * scale)
    assert above["bv_scale_a"] == pytest.approx(3.2 / scale)
    linear = model((0,))  # 25 degC alone: its scale (6C) is not identified by the pulses
    below = linear.params(0.5, 10.0)
    scale = ecm.arrhenius(10.0, 25.0, linear.activation_k)
    assert below["r1_ohm"] == pytest.approx(table(0).params["r1_ohm"][1] * scale)


def test_far_warmer_than_a_cold_table_the_tafel_slope_is_kept_from_a_few_kelvin_on() -> None:
    cold = model((1, 2))
    edge = ecm.TAFEL_WARM_ABOVE_C + 10.0
    at_edge, above = cold.params(0.5, edge), cold.params(0.5, 30.0)
    bv = ecm.arrhenius(30.0, edge, cold.bv_activation_k)
    assert above["bv_scale_a"] == pytest.approx(at_edge["bv_scale_a"] / bv)
    assert above["r0_ohm"] == pytest.approx(
        table(1).params["r0_ohm"][1] * ecm.arrhenius(30.0, 10.0, cold.activation_k)
    )
    for key in ("r1_ohm", "r2_ohm"):  # R_j b proportional to the absolute temperature
        assert above[key] * above["bv_scale_a"] == pytest.approx(
            at_edge[key] * at_edge["bv_scale_a"] * (30.0 + 273.15) / (edge + 273.15)
        )


def test_far_warmer_than_a_one_table_cold_model_the_voltage_is_closer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the -10 degC table alone, a drive at 10 degC (a cold-start drive that warms, or a one-temperature lab):
    # 26 against 62 mV (at 25 degC 18 vs 62; the 0 degC table at 15 / 25 degC 9 vs 27, 19 vs 31 mV)
    t, i = drive(seconds=4000.0, seed=6)
    truth, _ = simulate_voltage(model((0, 1, 2, 3)), t, i, 0.95, 10.0)
    cold = model((3,))
    new = rmse(simulate_voltage(cold, t, i, 0.95, 10.0)[0], truth)
    monkeypatch.setattr(ecm, "TAFEL_WARM_ABOVE_C", np.inf)  # the single law all the way
    old = rmse(simulate_voltage(cold, t, i, 0.95, 10.0)[0], truth)
    assert new < 0.5 * old


def test_the_bv_activation_is_saved_and_old_files_load() -> None:
    warm = model((0, 1))
    again = CellModel.from_dict(warm.to_dict())
    assert again.bv_activation_k == pytest.approx(warm.bv_activation_k, abs=0.1)
    old = warm.to_dict()
    del old["bv_activation_temperature_k"]
    assert CellModel.from_dict(old).bv_activation_k == ecm.DEFAULT_BV_ACTIVATION_K


def test_a_fitted_warm_activation_sets_the_warm_side_only_and_is_saved() -> None:
    cold = model((1, 2))
    cold.warm_activation_k = 6000.0
    above, below = cold.params(0.5, 30.0), cold.params(0.5, -5.0)
    scale = ecm.arrhenius(30.0, 10.0, 6000.0)
    for key in ("r0_ohm", "r1_ohm", "r2_ohm"):
        assert above[key] == pytest.approx(table(1).params[key][1] * scale)
    assert above["bv_scale_a"] == pytest.approx(3.2 / scale)
    assert below["r0_ohm"] == pytest.approx(
        table(2).params["r0_ohm"][1] * ecm.arrhenius(-5.0, 0.0, cold.activation_k)
    )
    again = CellModel.from_dict(cold.to_dict())
    assert again.warm_activation_k == pytest.approx(6000.0)
    assert "warm_activation_temperature_k" not in model((1, 2)).to_dict()
    assert CellModel.from_dict(model((1, 2)).to_dict()).warm_activation_k is None
