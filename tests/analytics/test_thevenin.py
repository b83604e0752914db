"""The PyBaMM Thevenin export document: tables equal the bmts model on their nodes; bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from bmts.analytics.ecm import CellModel, EcmTable
from bmts.analytics.ocv import OcvCurve
from bmts.analytics.thevenin import (
    BV_TABLE,
    MIN_RESISTANCE_OHM,
    SOC_INPUT,
    T_INPUT,
    check_document,
    thevenin_parameters,
)
from bmts.schema import DataError


def two_temperature_model() -> CellModel:
    s = np.linspace(0, 1, 101)
    ocv = OcvCurve(s, 3.3 + 0.85 * s - 0.3 * np.exp(-10 * s), np.full(101, 0.01), 2.0)
    tables = []
    for temp, scale, offset in ((10.0, 2.0, -0.03), (25.0, 1.0, -0.01)):
        soc = np.array([0.1, 0.4, 0.9]) + (0.02 if temp > 20 else 0.0)
        params = {
            "r0_ohm": scale * np.array([0.04, 0.03, 0.035]),
            "r1_ohm": scale * np.array([0.02, 0.0, 0.01]),  # an RC pair fitted to zero at one SOC
            "tau1_s": np.full(3, 2.0 if temp > 20 else 3.0),
            "r2_ohm": scale * np.array([0.03, 0.02, 0.025]),
            "tau2_s": np.full(3, 60.0),
            "bv_scale_a": np.full(3, 5.0 / scale),
            "ocv_offset_v": np.array([offset, offset - 0.005, offset]),
        }
        tables.append(EcmTable(temp, temp + 0.5, soc, params))
    return CellModel(ocv, 2.0, tables, 3000.0)


def table(doc: dict, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = doc["tables"][name]
    return np.array(t[T_INPUT]), np.array(t[SOC_INPUT]), np.array(t["values"])


def test_tables_equal_the_model_on_every_node() -> None:
    model = two_temperature_model()
    doc = thevenin_parameters(model, 25.5)
    temps, socs, r1 = table(doc, "R1 [Ohm]")
    assert {10.5, 25.5} <= set(temps) and temps.min() <= -29 and temps.max() >= 55
    assert np.all(np.diff(temps) > 0) and socs[0] < 0 and socs[-1] > 1
    for k, temp in enumerate(temps):
        p = model.params(np.clip(socs, 0, 1), float(temp))
        assert np.allclose(table(doc, "R0 [Ohm]")[2][k], p["r0_ohm"], rtol=1e-6)
        assert np.allclose(r1[k], np.maximum(p["r1_ohm"], MIN_RESISTANCE_OHM), rtol=1e-6)
        c2 = table(doc, "C2 [F]")[2][k]
        assert np.allclose(c2 * table(doc, "R2 [Ohm]")[2][k], p["tau2_s"], rtol=1e-5)
        assert np.allclose(table(doc, BV_TABLE)[2][k], p["bv_scale_a"], rtol=1e-6)
    # Arrhenius outside the fitted range: 20 degC colder than the cold table is more resistive
    assert r1[0, -1] > r1[list(temps).index(10.5), -1] * 2


def test_ocv_offset_is_folded_in_at_the_reference_temperature() -> None:
    model = two_temperature_model()
    doc = thevenin_parameters(model, 25.5)
    soc, ocv = np.array(doc["ocv"][SOC_INPUT]), np.array(doc["ocv"]["values"])
    inside = (soc >= 0) & (soc <= 1)
    expected = model.ocv(soc[inside]) + model.params(soc[inside], 25.5)["ocv_offset_v"]
    assert np.allclose(ocv[inside], expected, atol=1e-6)
    assert doc["mapping"]["ocv_offset_spread_v"] == pytest.approx(0.02, abs=1e-3)  # -0.03 vs -0.01
    cold = thevenin_parameters(model)  # default: the middle table (of two, the warmer)
    assert cold["mapping"]["ocv_offset_reference_celsius"] == 25.5
    single = CellModel(model.ocv, 2.0, model.tables[1:], 3000.0)
    assert thevenin_parameters(single)["mapping"]["ocv_offset_spread_v"] == 0.0


def test_options_linear_and_thermal() -> None:
    model = two_temperature_model()
    linear = thevenin_parameters(model, current_shape="linear")
    assert BV_TABLE not in linear["tables"] and linear["mapping"]["current_shape"] == "linear"
    iso = thevenin_parameters(model)["scalars"]
    assert iso["Cell thermal mass [J/K]"] >= 1e9 and iso["Cell capacity [A.h]"] == 2.0
    lumped = thevenin_parameters(model, thermal_mass_j_per_k=45.0, heat_transfer_w_per_k=0.1)["scalars"]
    assert lumped["Cell thermal mass [J/K]"] == 45.0
    assert lumped["Cell-jig heat transfer coefficient [W/K]"] == 0.1
    assert lumped["Jig thermal mass [J/K]"] >= 1e9
    with pytest.raises(DataError, match="current-shape"):
        thevenin_parameters(model, current_shape="quadratic")
    with pytest.raises(DataError, match="both"):
        thevenin_parameters(model, thermal_mass_j_per_k=45.0)
    with pytest.raises(DataError, match="positive"):
        thevenin_parameters(model, thermal_mass_j_per_k=-1.0, heat_transfer_w_per_k=0.1)
    with pytest.raises(DataError, match="temperature"):
        thevenin_parameters(model, temperature_celsius=float("nan"))


def test_check_document_names_the_bad_field() -> None:
    doc = thevenin_parameters(two_temperature_model())
    assert check_document(doc, "p.json") is doc
    with pytest.raises(DataError, match=r"p\.json: not a bmts PyBaMM parameter file"):
        check_document({"format": "bmts.cell-model", "version": 1}, "p.json")
    with pytest.raises(DataError, match="version"):
        check_document({**doc, "version": 7}, "p.json")
    with pytest.raises(DataError, match="missing field 'tables'"):
        check_document({k: v for k, v in doc.items() if k != "tables"}, "p.json")
    tables = {k: v for k, v in doc["tables"].items() if k != "C2 [F]"}
    with pytest.raises(DataError, match=r"missing table 'C2 \[F\]'"):
        check_document({**doc, "tables": tables}, "p.json")
    short = {**doc["tables"]["R0 [Ohm]"], "values": doc["tables"]["R0 [Ohm]"]["values"][:-1]}
    with pytest.raises(DataError, match=r"table 'R0 \[Ohm\]': values are"):
        check_document({**doc, "tables": {**doc["tables"], "R0 [Ohm]": short}}, "p.json")
    bv = {**doc["tables"][BV_TABLE], SOC_INPUT: [0.5]}
    with pytest.raises(DataError, match=r"table 'Butler-Volmer scale \[A\]': values are"):
        check_document({**doc, "tables": {**doc["tables"], BV_TABLE: bv}}, "p.json")
