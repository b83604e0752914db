"""Export a bmts cell model for PyBaMM's Thevenin ECM, load it as `pybamm.ParameterValues`, simulate.

PyBaMM is optional (`pip install bmts[sim]`): it is imported only inside `load_pybamm_parameters` and
`simulate_thevenin`; exporting needs nothing but bmts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmts.analytics.thevenin import (
    BV_TABLE,
    OCV_NAME,
    RC_TABLES,
    SOC_INPUT,
    T_INPUT,
    check_document,
    thevenin_parameters,
)
from bmts.ingest.bdf_writer import atomic_path
from bmts.pipeline.state import load_model, read_json
from bmts.schema import DataError, Issue

if TYPE_CHECKING:
    import pybamm

#: asinh(x)/x is evaluated at sqrt(x^2 + eps^2) so it is smooth and finite at zero current
_BV_EPS = 1e-6


def export_pybamm_parameters(
    model_path: str | Path,
    output: str | Path,
    temperature_celsius: float | None = None,
    current_shape: str = "butler-volmer",
    thermal_mass_j_per_k: float | None = None,
    heat_transfer_w_per_k: float | None = None,
) -> dict[str, Any]:
    """Write the PyBaMM parameter file for the cell model at `model_path`; returns the document."""
    model = load_model(model_path)
    doc = thevenin_parameters(
        model,
        temperature_celsius,
        current_shape,
        thermal_mass_j_per_k,
        heat_transfer_w_per_k,
        source=Path(model_path).name,
    )
    with atomic_path(output) as tmp:
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def read_parameter_document(path: str | Path) -> dict[str, Any]:
    return check_document(read_json(path), str(path))


def _bv_factor(current: Any, scale: Any) -> Any:
    import pybamm

    x = pybamm.sqrt((current / scale) ** 2 + _BV_EPS**2)
    return pybamm.arcsinh(x) / x


def load_pybamm_parameters(path: str | Path) -> pybamm.ParameterValues:
    """`pybamm.ParameterValues` for `pybamm.equivalent_circuit.Thevenin(options={"number of rc
    elements": 2})` from a file written by `bmts cell-model export --to pybamm`."""
    try:
        import pybamm
    except ImportError:
        raise DataError(Issue(str(path), "PyBaMM is not installed (pip install 'bmts[sim]')")) from None
    doc = read_parameter_document(path)
    ocv = doc["ocv"]
    ocv_soc, ocv_v = np.asarray(ocv[SOC_INPUT], dtype=float), np.asarray(ocv["values"], dtype=float)
    tables = doc["tables"]
    bv = tables.get(BV_TABLE)

    def grid(name: str) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        table = tables[name]
        axes = (np.asarray(table[T_INPUT], dtype=float), np.asarray(table[SOC_INPUT], dtype=float))
        return axes, np.asarray(table["values"], dtype=float)

    def lookup(name: str, exponent: int) -> Any:
        axes, values = grid(name)
        bv_axes, bv_values = grid(BV_TABLE) if bv is not None and exponent else (axes, values)

        def function(temperature: Any, current: Any, soc: Any) -> Any:
            value = pybamm.Interpolant(axes, values, (temperature, soc), name=name)
            if bv is None or not exponent:
                return value
            scale = pybamm.Interpolant(bv_axes, bv_values, (temperature, soc), name=BV_TABLE)
            return value * _bv_factor(current, scale) ** exponent

        return function

    values: dict[str, Any] = dict(doc["scalars"])
    values[OCV_NAME] = lambda soc: pybamm.Interpolant(ocv_soc, ocv_v, soc, name=OCV_NAME)
    for name in RC_TABLES:  # R_j times f(I/b), C_j divided by it: tau_j = R_j C_j is unchanged
        values[name] = lookup(name, 0 if name == "R0 [Ohm]" else (1 if name[0] == "R" else -1))
    return pybamm.ParameterValues(values)


def _held_current(t: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots of a linear interpolant equal to bmts's zero-order hold (i[k] over (t[k-1], t[k]])."""
    dt = np.diff(t)
    ramp = min(1e-3, 0.01 * float(dt.min()))
    x = np.empty(2 * dt.size)
    x[0::2], x[1::2] = t[:-1] + ramp, t[1:]
    x[0] = t[0]
    return x, np.repeat(i[1:], 2)


def simulate_thevenin(
    parameters: pybamm.ParameterValues,
    t: np.ndarray,
    i: np.ndarray,
    initial_soc: float,
    temperature_celsius: float | None = None,
    keep_limits: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(terminal voltage, SoC) of PyBaMM's two-RC Thevenin model at the samples `t` for a bmts-signed
    current (> 0 charging) held between samples, from rest at `initial_soc`. Unless `keep_limits`, the
    voltage cut-offs and the SoC 0/1 events are lifted so the whole profile runs (as in bmts)."""
    import pybamm

    t = np.asarray(t, dtype=float)
    i = np.asarray(i, dtype=float)
    if t.size < 2 or np.any(np.diff(t) <= 0):
        raise DataError(Issue("current profile", "needs at least two samples with increasing time"))
    x, y = _held_current(t - t[0], i)
    pv = parameters.copy()
    update: dict[str, Any] = {
        "Current function [A]": pybamm.Interpolant(x, -y, pybamm.t, interpolator="linear"),
        "Initial SoC": float(initial_soc),
    }
    if temperature_celsius is not None:
        update["Initial temperature [K]"] = update["Ambient temperature [K]"] = temperature_celsius + 273.15
    if not keep_limits:
        update["Upper voltage cut-off [V]"], update["Lower voltage cut-off [V]"] = 100.0, -100.0
    pv.update(update)
    model = pybamm.equivalent_circuit.Thevenin(options={"number of rc elements": 2})
    if not keep_limits:
        model.events = [e for e in model.events if "SoC" not in e.name]
    solver = pybamm.IDAKLUSolver(rtol=1e-8, atol=1e-8)
    sim = pybamm.Simulation(model, parameter_values=pv, solver=solver)
    # stop at every change of the current: an adaptive step grown over a rest would step over a pulse
    changes = np.flatnonzero(np.diff(i[1:]) != 0)
    stops = np.unique(np.r_[0.0, (t - t[0])[1:][changes], x[1:][2 * changes + 1], t[-1] - t[0]])
    solution = sim.solve(t_eval=stops, t_interp=t - t[0])
    rel = t - t[0]
    return np.asarray(solution["Voltage [V]"](rel)), np.asarray(solution["SoC"](rel))
