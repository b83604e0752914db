"""ECM identification: a simulated HPPC test of a known cell model is fitted back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from bmts.analytics.ecm import CellModel, EcmTable, fit_ecm_table, pulse_sets, rc_response, simulate_voltage
from bmts.analytics.ocv import OcvCurve
from bmts.pipeline.sample_lab import hppc_current
from bmts.schema import DataError

CAP = 2.0
TRUE = {"r0_ohm": 0.03, "r1_ohm": 0.015, "tau1_s": 2.0, "r2_ohm": 0.02, "tau2_s": 80.0, "bv_scale_a": 1e3}


def ocv_curve() -> OcvCurve:
    s = np.linspace(0, 1, 201)
    v = 3.3 + 0.85 * s - 0.3 * np.exp(-10 * s) + 0.05 * np.exp(-(1 - s) * 25)
    return OcvCurve(s, v, np.zeros(201), CAP)


def true_model(
    offset: float = -0.01, soc: Sequence[float] = (0.0, 0.5, 1.0), **changes: float | Sequence[float]
) -> CellModel:
    """The reference cell: one 25 degC table at `soc`, its parameters TRUE unless changed (a value for all
    points or one per point)."""
    n = len(soc)
    params = {
        k: np.broadcast_to(np.asarray(changes.get(k, v), dtype=float), n).copy() for k, v in TRUE.items()
    }
    params["ocv_offset_v"] = np.full(n, offset)
    return CellModel(ocv_curve(), CAP, [EcmTable(25.0, 25.0, np.asarray(soc, dtype=float), params)])


def hppc_profile(levels: int = 6) -> tuple[np.ndarray, np.ndarray]:
    return hppc_current(CAP, levels)


def test_rc_response_matches_the_recursion_across_gaps() -> None:
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.05, 2, 3000))
    t[1500:] += 1e5
    i = rng.normal(0, 1, 3000)
    for tau in (0.1, 1.0, 50.0):
        x, ref = 0.2, np.empty(3000)
        for k in range(3000):
            a = np.exp(-(t[k] - t[k - 1]) / tau) if k else 1.0
            x = a * x + (1 - a) * i[k]
            ref[k] = x
        assert np.max(np.abs(rc_response(t, i, tau, 0.2) - ref)) < 1e-12


def test_fit_recovers_the_simulated_parameters() -> None:
    model = true_model()
    t, i = hppc_profile()
    v, soc = simulate_voltage(model, t, i, 1.0)
    v = v + np.random.default_rng(1).normal(0, 0.0005, v.size)
    assert len(pulse_sets(t, i)) == 6
    table = fit_ecm_table(t, v, i, soc, model.ocv, 25.0, 25.0, "sim")
    assert table.soc.size == 6
    p = table.params
    assert np.median(p["r0_ohm"]) == pytest.approx(TRUE["r0_ohm"], rel=0.05)
    assert np.median(p["r1_ohm"]) == pytest.approx(TRUE["r1_ohm"], rel=0.15)
    assert np.median(p["r2_ohm"]) == pytest.approx(TRUE["r2_ohm"], rel=0.15)
    assert p["tau1_s"][0] == pytest.approx(TRUE["tau1_s"], rel=0.25)
    assert p["tau2_s"][0] == pytest.approx(TRUE["tau2_s"], rel=0.25)
    assert np.median(p["ocv_offset_v"]) == pytest.approx(-0.01, abs=0.003)
    assert np.all(table.rmse_v < 0.002)


def test_butler_volmer_scale_is_identified_in_the_cold() -> None:
    model = true_model(bv_scale_a=2.0, r1_ohm=0.08)
    t, i = hppc_profile(levels=3)
    v, soc = simulate_voltage(model, t, i, 1.0)
    table = fit_ecm_table(t, v, i, soc, model.ocv, 0.0, 0.0)
    assert table.params["bv_scale_a"][0] == pytest.approx(2.0, rel=0.3)
    assert np.median(table.params["r1_ohm"]) == pytest.approx(0.08, rel=0.2)


def test_model_json_round_trip_and_temperature_handling() -> None:
    cold = true_model(r0_ohm=0.06).tables[0]
    cold.temperature_celsius = cold.cell_temperature_celsius = 0.0
    model = true_model()
    model.tables.append(cold)
    again = CellModel.from_dict(model.to_dict())
    assert np.isnan(again.model_error_rel(10.0))  # not measured: the filter uses its configured weight
    model.tables[0].model_error_rel, cold.model_error_rel = 0.1, 0.3
    again = CellModel.from_dict(model.to_dict())
    assert again.model_error_rel(12.5) == pytest.approx(0.2)
    assert again.model_error_rel(-20.0) == pytest.approx(0.3) and again.model_error_rel(None) == 0.1
    assert again.params(0.5, 12.5)["r0_ohm"] == pytest.approx(0.045)
    colder = again.params(0.5, -10.0)["r0_ohm"]
    assert colder > 0.06  # Arrhenius beyond the coldest table
    with pytest.raises(DataError, match="not a bmts cell model"):
        CellModel.from_dict({"format": "other"})
    broken = model.to_dict()
    broken["ecm"] = []
    with pytest.raises(DataError, match="no 'ecm' tables"):
        CellModel.from_dict(broken)


def test_a_file_without_pulses_is_refused() -> None:
    t = np.arange(0, 7200.0, 10.0)
    with pytest.raises(DataError, match="no current pulses"):
        fit_ecm_table(
            t, np.full(t.size, 3.7), np.full(t.size, -1.0), np.linspace(1, 0.2, t.size), ocv_curve(), 25, 25
        )
