"""Column vocabularies of bmts tables, with units, dtype, requirement, monotonicity and sign convention.

Time series use the Battery Data Format (BDF) machine-readable names and preferred labels
(Battery Data Alliance). Sign convention everywhere in bmts: current > 0 while charging,
current < 0 while discharging; readers convert other conventions on import.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Monotonic(Enum):
    """How a column is allowed to evolve from one row to the next."""

    NONE = "none"
    NON_DECREASING = "non_decreasing"


@dataclass(frozen=True)
class Column:
    """One column of a bmts table: what it is, in which unit, and the rules its values obey."""

    name: str
    label: str
    unit: str
    dtype: str  # "float64", "int64" or "string"
    required: bool = False
    monotonic: Monotonic = Monotonic.NONE
    description: str = ""
    sign: str = ""  # sign convention, where the quantity is signed


CURRENT_SIGN = "positive while charging, negative while discharging"


def _c(name: str, label: str, unit: str, dtype: str = "float64", **kw: object) -> Column:
    return Column(name=name, label=label, unit=unit, dtype=dtype, **kw)  # type: ignore[arg-type]


#: The canonical time-series columns (one row per sample of one cell).
TIMESERIES_COLUMNS: tuple[Column, ...] = (
    _c(
        "test_time_second",
        "Test Time / s",
        "s",
        required=True,
        monotonic=Monotonic.NON_DECREASING,
        description="time since the start of the test",
    ),
    _c("voltage_volt", "Voltage / V", "V", required=True, description="cell terminal voltage"),
    _c("current_ampere", "Current / A", "A", required=True, sign=CURRENT_SIGN, description="cell current"),
    _c("unix_time_second", "Unix Time / s", "s", description="seconds since 1970-01-01 UTC"),
    _c("cycle_count", "Cycle Count / 1", "1", "int64", description="the cycler's cycle counter"),
    _c("step_count", "Step Count / 1", "1", "int64", description="monotonically increasing step counter"),
    _c("step_id", "Step ID / 1", "1", "int64", description="schedule step number (Arbin Step_Index)"),
    _c("step_index", "Step Index / 1", "1", "int64", description="position of the sample within its step"),
    _c("step_time_second", "Step Time / s", "s", description="time since the start of the step"),
    _c("ambient_temperature_celsius", "Ambient Temperature / degC", "degC"),
    *(_c(f"temperature_t{i}_celsius", f"Surface Temperature T{i} / degC", "degC") for i in range(1, 6)),
    _c("charging_capacity_ah", "Charging Capacity / Ah", "Ah", description="cycler's charge counter"),
    _c(
        "discharging_capacity_ah", "Discharging Capacity / Ah", "Ah", description="cycler's discharge counter"
    ),
    _c("step_capacity_ah", "Step Capacity / Ah", "Ah"),
    _c("net_capacity_ah", "Net Capacity / Ah", "Ah", sign=CURRENT_SIGN),
    _c("cumulative_capacity_ah", "Cumulative Capacity / Ah", "Ah"),
    _c("charging_energy_wh", "Charging Energy / Wh", "Wh"),
    _c("discharging_energy_wh", "Discharging Energy / Wh", "Wh"),
    _c("step_energy_wh", "Step Energy / Wh", "Wh"),
    _c("net_energy_wh", "Net Energy / Wh", "Wh", sign=CURRENT_SIGN),
    _c("cumulative_energy_wh", "Cumulative Energy / Wh", "Wh"),
    _c("power_watt", "Power / W", "W", sign=CURRENT_SIGN),
    _c("internal_resistance_ohm", "Internal Resistance / ohm", "ohm"),
    _c("ambient_pressure_pa", "Ambient Pressure / Pa", "Pa"),
    _c("applied_pressure_pa", "Applied Pressure / Pa", "Pa"),
    _c("record_index", "Record Index / 1", "1", "int64", description="the cycler's own row number"),
)

TIMESERIES = {c.name: c for c in TIMESERIES_COLUMNS}
REQUIRED_TIMESERIES = tuple(c.name for c in TIMESERIES_COLUMNS if c.required)
LABEL_TO_NAME = {c.label.lower(): c.name for c in TIMESERIES_COLUMNS}

#: Per-cycle summary produced by cycle analysis (`bmts cycles`).
CYCLE_COLUMNS: tuple[Column, ...] = (
    _c(
        "cycle",
        "Cycle / 1",
        "1",
        "int64",
        required=True,
        monotonic=Monotonic.NON_DECREASING,
        description="cycle number across all files of the battery",
    ),
    _c("source_cycle", "Source Cycle / 1", "1", "int64", description="the cycle counter in the source file"),
    _c("source_file", "Source File", "", "string"),
    _c("start_time_second", "Start Time / s", "s", description="test time at the first sample of the cycle"),
    _c("duration_second", "Duration / s", "s"),
    _c("charge_capacity_ah", "Charge Capacity / Ah", "Ah", required=True),
    _c("discharge_capacity_ah", "Discharge Capacity / Ah", "Ah", required=True),
    _c("charge_energy_wh", "Charge Energy / Wh", "Wh", required=True),
    _c("discharge_energy_wh", "Discharge Energy / Wh", "Wh", required=True),
    _c(
        "coulombic_efficiency",
        "Coulombic Efficiency / 1",
        "1",
        required=True,
        description="discharge capacity / charge capacity of the same cycle",
    ),
    _c("energy_efficiency", "Energy Efficiency / 1", "1"),
    _c("min_voltage_volt", "Minimum Voltage / V", "V"),
    _c("max_voltage_volt", "Maximum Voltage / V", "V"),
    _c("mean_temperature_celsius", "Mean Temperature / degC", "degC"),
    _c("max_temperature_celsius", "Maximum Temperature / degC", "degC"),
    _c(
        "dc_resistance_ohm",
        "DC Resistance / ohm",
        "ohm",
        description="median |dV/dI| over the current steps of the cycle",
    ),
    _c(
        "deep_discharge_capacity_ah",
        "Deep Discharge Capacity / Ah",
        "Ah",
        description="Ah discharged below the end-of-discharge voltage, where the data set defines one",
    ),
)

#: Per-cycle discharge curves Q(V) on a fixed voltage grid (the SPEC discharge-curves table).
DISCHARGE_CURVE_COLUMNS: tuple[Column, ...] = (
    _c("battery_id", "Battery ID", "", "string", required=True),
    _c("cycle", "Cycle / 1", "1", "int64", required=True),
    _c("voltage_v", "Voltage / V", "V", required=True),
    _c(
        "discharge_capacity_ah",
        "Discharge Capacity / Ah",
        "Ah",
        required=True,
        description="Ah discharged since the start of the discharge when the voltage first reached voltage_v",
    ),
)

#: Capacity history (SPEC input for RUL).
CAPACITY_HISTORY_COLUMNS: tuple[Column, ...] = (
    _c("battery_id", "Battery ID", "", "string", required=True),
    _c("cycle", "Cycle / 1", "1", "int64", required=True),
    _c("capacity_ah", "Capacity / Ah", "Ah", required=True),
    _c("ah_throughput", "Ah Throughput / Ah", "Ah"),
    _c("temperature_celsius", "Temperature / degC", "degC"),
)

#: Pack / fleet telemetry (SPEC input): a long table, one row per cell per sample; other columns are allowed.
TELEMETRY_COLUMNS: tuple[Column, ...] = (
    _c("pack_id", "Pack ID", "", "string", required=True),
    _c("cell_id", "Cell ID", "", "string", required=True),
    _c(
        "unix_time_second",
        "Unix Time / s",
        "s",
        required=True,
        monotonic=Monotonic.NON_DECREASING,
        description="seconds since 1970-01-01 UTC; increasing within each cell",
    ),
    _c("voltage_volt", "Voltage / V", "V", required=True, description="cell voltage"),
    _c(
        "current_ampere",
        "Current / A",
        "A",
        required=True,
        sign=CURRENT_SIGN,
        description="the pack current (series cells share it)",
    ),
    _c("temperature_celsius", "Temperature / degC", "degC", required=True, description="cell temperature"),
)
