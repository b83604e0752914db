"""A bmts cell model as a parameter set for PyBaMM's Thevenin equivalent-circuit model. Pure.

PyBaMM's `pybamm.equivalent_circuit.Thevenin` (two RC elements) computes, with its current I > 0 on
discharge, V = OCV(SoC) - R0 I + v1 + v2 and dv_j/dt = -v_j / (R_j C_j) - I R_j / (R_j C_j), where R0, R_j,
C_j are functions of (cell temperature [degC], current [A], SoC) and the OCV of SoC only. The mapping:

- R0, R1, R2 and C_j = tau_j / R_j become 2-D tables on (temperature, SoC) grids; the tables hold the
  small-current (linear) values. The temperature grid is the model's table temperatures plus 5 degC steps
  outside them down to -30 and up to 60 degC, with bmts's Arrhenius scaling, so the tables equal
  `CellModel.params` on every node (bilinear between them, which is exact within the fitted range).
- Butler-Volmer current shape: exact, since PyBaMM's R_j may depend on the current. With
  f(x) = asinh(x) / x, R_j(T, I, SoC) = R_j f(I / b) and C_j = C_j / f(I / b) make R_j I = R_j b asinh(I/b)
  with tau_j unchanged — bmts's RC equation. The file carries b as a table; the loader builds that
  expression. `current_shape="linear"` leaves it out (the small-current circuit).
- The OCV offset has no place: PyBaMM's OCV depends on SoC only (its entropic term enters only the heat).
  It is folded into the OCV at one reference temperature; its change with temperature is dropped, and
  the file states by how much it differs at the other fitted temperatures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bmts.analytics.ecm import CellModel
from bmts.schema import DataError, Issue

FORMAT = "bmts.pybamm-thevenin"
VERSION = 1
TEMPERATURE_LIMITS_CELSIUS = (-30.0, 60.0)
TEMPERATURE_STEP_CELSIUS = 5.0
SOC_MARGIN = 0.2
#: resistances are floored here so that C = tau / R stays finite (a fit may put an RC pair to zero)
MIN_RESISTANCE_OHM = 1e-6
#: without a thermal model in bmts, the cell is held at the ambient temperature by a huge thermal mass
ISOTHERMAL_MASS_J_PER_K = 1e9
T_INPUT, I_INPUT, SOC_INPUT = "Cell temperature [degC]", "Current [A]", "SoC"
RC_TABLES = ("R0 [Ohm]", "R1 [Ohm]", "C1 [F]", "R2 [Ohm]", "C2 [F]")
BV_TABLE = "Butler-Volmer scale [A]"
OCV_NAME = "Open-circuit voltage [V]"
CURRENT_SHAPES = ("butler-volmer", "linear")


def temperature_grid(model: CellModel) -> np.ndarray:
    """Table temperatures plus Arrhenius-extension nodes every 5 degC out to -30 / 60 degC."""
    lo, hi = model.temperature_range()
    cold_end, hot_end = TEMPERATURE_LIMITS_CELSIUS
    below = np.arange(lo - TEMPERATURE_STEP_CELSIUS, min(cold_end, lo) - 1e-9, -TEMPERATURE_STEP_CELSIUS)
    above = np.arange(hi + TEMPERATURE_STEP_CELSIUS, max(hot_end, hi) + 1e-9, TEMPERATURE_STEP_CELSIUS)
    temps = [t.cell_temperature_celsius for t in model.tables]
    return np.unique(np.round(np.concatenate([below, temps, above]), 6))


def soc_grid(model: CellModel) -> np.ndarray:
    """Every table's SOC points plus 0 and 1, and SOC_MARGIN beyond them: bmts holds a table's edge
    values outside it, and PyBaMM would extrapolate linearly past the last node."""
    socs = np.clip(np.concatenate([t.soc for t in model.tables]), 0.0, 1.0)
    edges = np.array([-SOC_MARGIN, 0.0, 1.0, 1.0 + SOC_MARGIN])
    return np.unique(np.round(np.concatenate([socs, edges]), 6))


def reference_temperature(model: CellModel, temperature_celsius: float | None) -> float:
    """The temperature at which the OCV offset is folded in: given, else the middle table's (what bmts
    uses when a file has no temperature)."""
    if temperature_celsius is not None:
        if not np.isfinite(temperature_celsius) or not -60.0 <= temperature_celsius <= 100.0:
            raise DataError(Issue("--temperature", f"not a cell temperature: {temperature_celsius}"))
        return float(temperature_celsius)
    tabs = sorted(model.tables, key=lambda t: t.cell_temperature_celsius)
    return float(tabs[len(tabs) // 2].cell_temperature_celsius)


def _table(temps: np.ndarray, socs: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    return {
        T_INPUT: [float(x) for x in temps],
        SOC_INPUT: [float(x) for x in socs],
        "values": [[float(f"{x:.7g}") for x in row] for row in values],
    }


def ocv_offset_spread_v(model: CellModel, reference_celsius: float) -> float:
    """Largest change of the OCV offset between the reference temperature and any fitted table (what
    folding it into a temperature-independent OCV gives up)."""
    socs = soc_grid(model)
    ref = model.params(socs, reference_celsius)["ocv_offset_v"]
    spread = [np.max(np.abs(t.at(socs)["ocv_offset_v"] - ref)) for t in model.tables]
    return float(max(spread))


def thevenin_parameters(
    model: CellModel,
    temperature_celsius: float | None = None,
    current_shape: str = "butler-volmer",
    thermal_mass_j_per_k: float | None = None,
    heat_transfer_w_per_k: float | None = None,
    source: str = "",
) -> dict[str, Any]:
    """The export document (`format: bmts.pybamm-thevenin`): PyBaMM parameter names to numbers and tables.

    Thermal: bmts has no thermal model, so by default the cell's thermal mass is huge (isothermal at the
    reference temperature, as bmts simulates). Given a thermal mass and a cell-to-ambient heat transfer
    coefficient, the cell is one lumped node cooled towards an ambient held by a huge jig mass."""
    if current_shape not in CURRENT_SHAPES:
        raise DataError(Issue("--current-shape", f"must be one of {', '.join(CURRENT_SHAPES)}"))
    if (thermal_mass_j_per_k is None) != (heat_transfer_w_per_k is None):
        raise DataError(Issue("thermal", "give both the thermal mass and the heat transfer coefficient"))
    for name, value in (("thermal mass", thermal_mass_j_per_k), ("heat transfer", heat_transfer_w_per_k)):
        if value is not None and not value > 0:
            raise DataError(Issue("thermal", f"{name} must be positive, got {value}"))
    ref_c = reference_temperature(model, temperature_celsius)
    temps, socs = temperature_grid(model), soc_grid(model)
    grid = [model.params(socs, float(t)) for t in temps]
    tables: dict[str, dict[str, Any]] = {}
    for j in ("0", "1", "2"):
        r = np.array([np.maximum(p[f"r{j}_ohm"], MIN_RESISTANCE_OHM) for p in grid])
        tables[f"R{j} [Ohm]"] = _table(temps, socs, r)
        if j != "0":
            tables[f"C{j} [F]"] = _table(temps, socs, np.array([p[f"tau{j}_s"] for p in grid]) / r)
    if current_shape == "butler-volmer":
        tables[BV_TABLE] = _table(temps, socs, np.array([p["bv_scale_a"] for p in grid]))
    ocv_soc = np.unique(np.concatenate([model.ocv.soc, socs]))  # exact for both piecewise-linear terms
    ocv_v = model.ocv(ocv_soc) + model.params(np.clip(ocv_soc, 0.0, 1.0), ref_c)["ocv_offset_v"]
    kelvin = ref_c + 273.15
    cap = float(model.capacity_ah)
    mass_j_per_k, transfer_w_per_k = ISOTHERMAL_MASS_J_PER_K, 1.0
    if thermal_mass_j_per_k is not None and heat_transfer_w_per_k is not None:
        mass_j_per_k, transfer_w_per_k = float(thermal_mass_j_per_k), float(heat_transfer_w_per_k)
    scalars: dict[str, float] = {
        "Cell capacity [A.h]": cap,
        "Nominal cell capacity [A.h]": cap,
        "Initial SoC": 0.5,
        "Initial temperature [K]": kelvin,
        "Ambient temperature [K]": kelvin,
        "Current function [A]": cap,
        "Upper voltage cut-off [V]": round(float(model.ocv(1.0)), 4),
        "Lower voltage cut-off [V]": round(float(model.ocv(0.0)), 4),
        "Element-1 initial overpotential [V]": 0.0,
        "Element-2 initial overpotential [V]": 0.0,
        "Entropic change [V/K]": 0.0,
        "Cell thermal mass [J/K]": mass_j_per_k,
        "Cell-jig heat transfer coefficient [W/K]": transfer_w_per_k,
        "Jig thermal mass [J/K]": ISOTHERMAL_MASS_J_PER_K,
        "Jig-air heat transfer coefficient [W/K]": 1.0,
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "pybamm_model": "pybamm.equivalent_circuit.Thevenin",
        "pybamm_options": {"number of rc elements": 2},
        "current_sign": "positive while discharging (PyBaMM's; bmts's is the opposite)",
        "scalars": scalars,
        "ocv": {SOC_INPUT: [float(x) for x in ocv_soc], "values": [round(float(x), 6) for x in ocv_v]},
        "tables": tables,
        "mapping": {
            "source": source,
            "current_shape": current_shape,
            "ocv_offset_reference_celsius": round(ref_c, 3),
            "ocv_offset_spread_v": round(ocv_offset_spread_v(model, ref_c), 6),
            "fitted_temperatures_celsius": [round(t.cell_temperature_celsius, 3) for t in model.tables],
            "thermal": "lumped cell to ambient"
            if mass_j_per_k < ISOTHERMAL_MASS_J_PER_K
            else "isothermal (no thermal model in bmts)",
        },
    }


def check_document(doc: object, where: str) -> dict[str, Any]:
    """The export document as written by `thevenin_parameters`, or a DataError naming the field."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DataError(Issue(where, f'not a bmts PyBaMM parameter file (expected "format": "{FORMAT}")'))
    if doc.get("version") != VERSION:
        raise DataError(Issue(where, f"unsupported version {doc.get('version')!r}", column="version"))
    for name in ("scalars", "ocv", "tables"):
        if not isinstance(doc.get(name), dict):
            raise DataError(Issue(where, f"missing field {name!r}", column=name))
    ocv = doc["ocv"]
    if len(ocv.get(SOC_INPUT) or []) < 2 or len(ocv.get("values") or []) != len(ocv[SOC_INPUT]):
        raise DataError(Issue(where, "'ocv' needs 'SoC' and as many 'values'", column="ocv"))
    optional = (BV_TABLE,) if BV_TABLE in doc["tables"] else ()
    for name in RC_TABLES + optional:
        table = doc["tables"].get(name)
        if not isinstance(table, dict):
            raise DataError(Issue(where, f"missing table {name!r}", column="tables"))
        try:
            shape = np.asarray(table["values"], dtype=float).shape
            size = (len(table[T_INPUT]), len(table[SOC_INPUT]))
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(Issue(where, f"table {name!r}: bad or missing {e}", column="tables")) from None
        if shape != size:
            raise DataError(Issue(where, f"table {name!r}: values are {shape}, axes {size}", column="tables"))
    return doc
