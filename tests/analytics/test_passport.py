"""EU battery passport: every assembled view validates with the independent acceptance validator, no
restricted value reaches a role that may not read it, and our access table agrees with the BatteryPass
attribute list (both read from ../shared at run time, never copied)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from bmts.analytics import cycle_summary
from bmts.analytics.condition import BatteryCondition, NegativeEvent, battery_condition
from bmts.analytics.passport import (
    CATEGORIES,
    assemble_passport,
    condition_inputs,
    filter_for_role,
)
from bmts.analytics.passport_access import ACCESS, Item, governing_level
from bmts.analytics.passport_sample import LAYOUT, passport_identifier, sample_static
from bmts.pipeline.sample_data import CellSpec, simulate_cell
from bmts.schema import DataError
from passport_checks import (
    ATTRIBUTES,
    ROLES,
    VALIDATOR,
    is_valid,
    restricted_values,
    validate,
    withheld_texts,
)

AS_OF = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
#: (battery id, kind, battery category): the demo batteries
BATTERIES = (
    ("demo-cell-01", "cell", "ev"),
    ("demo-module-01", "module", "ev"),
    ("demo-pack-01", "pack", "ev"),
    ("ess-pack-07", "pack", "stationary"),
    ("lmt-cell-02", "cell", "lmt"),
    ("ind-module-03", "module", "industrial"),
)

needs_shared = pytest.mark.skipif(
    not VALIDATOR.is_file(), reason="../shared/acceptance/passport is not present"
)


def _scaled(cycles: pl.DataFrame, frame: pl.DataFrame, kind: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tables of a battery of `kind` made of identical simulated cells (s in series, p in parallel)."""
    s, p = LAYOUT[kind]
    cycles = cycles.with_columns(
        pl.col("charge_capacity_ah", "discharge_capacity_ah", "deep_discharge_capacity_ah") * p,
        pl.col("charge_energy_wh", "discharge_energy_wh") * (s * p),
        pl.col("min_voltage_volt", "max_voltage_volt") * s,
        pl.col("dc_resistance_ohm") * (s / p),
    )
    frame = frame.with_columns(pl.col("voltage_volt") * s, pl.col("current_ampere") * p)
    return cycles, frame


@pytest.fixture(scope="module")
def simulated() -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = simulate_cell(CellSpec("passport-cell", capacity_ah=2.5, fade_per_cycle=0.002), cycles=12, seed=7)
    return cycle_summary(frame), frame


def _condition(
    static: dict[str, Any], kind: str, simulated: tuple[pl.DataFrame, pl.DataFrame]
) -> BatteryCondition:
    cycles, frame = _scaled(*simulated, kind)
    accident = NegativeEvent(
        "accident", "kerb strike, housing inspected, no damage", datetime(2025, 1, 2, tzinfo=UTC)
    )
    return battery_condition(
        cycles,
        **condition_inputs(static),
        as_of=AS_OF,
        component="cell" if kind == "cell" else "module" if kind == "module" else "pack",
        timeseries=frame,
        self_discharge_percent_per_month=1.9,
        events=[accident],
    )


@pytest.fixture(scope="module")
def documents(simulated: tuple[pl.DataFrame, pl.DataFrame]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for battery_id, kind, category in BATTERIES:
        static = sample_static(battery_id, kind, category, date(2024, 5, 14))
        condition = _condition(static, kind, simulated)
        for role in ROLES:
            out[battery_id, role] = assemble_passport(static, condition, role, category)
    return out


@needs_shared
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("battery_id", [b[0] for b in BATTERIES])
def test_every_view_validates(
    documents: dict[tuple[str, str], dict[str, Any]], battery_id: str, role: str, tmp_path: Path
) -> None:
    result = validate(documents[battery_id, role], role, tmp_path)
    assert is_valid(result), result.stdout


@needs_shared
@pytest.mark.parametrize("role", ROLES)
def test_a_battery_without_telemetry_yet(role: str, tmp_path: Path) -> None:
    doc = assemble_passport(sample_static("new-pack", "pack", "ev"), None, role, "ev")
    assert "batteryCondition" not in doc.get("Performance", {})
    result = validate(doc, role, tmp_path)
    if role == "public":
        assert result.returncode == 0, result.stdout
    else:  # the battery's condition is unknown, not made up: only it is missing
        violations = [line for line in result.stdout.splitlines() if line.startswith("VIOLATION")]
        assert violations and all("Performance.batteryCondition" in line for line in violations)


@needs_shared
@pytest.mark.parametrize("role", ["public", "legitimate_interest"])
def test_no_restricted_value_reaches_the_role(
    documents: dict[tuple[str, str], dict[str, Any]], role: str
) -> None:
    for battery_id, _, _ in BATTERIES:
        full = documents[battery_id, "authority"]
        assert withheld_texts(full, role)  # there is something to withhold
        assert restricted_values(documents[battery_id, role], full, role) == [], battery_id


def test_views_are_projections_of_the_authority_view(
    documents: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for battery_id, _, _ in BATTERIES:
        full = documents[battery_id, "authority"]
        for role in ROLES:
            assert filter_for_role(full, role) == documents[battery_id, role]
        public, legit = documents[battery_id, "public"], documents[battery_id, "legitimate_interest"]
        assert "batteryStatus" not in public["GeneralProductInformation"]
        assert "batteryCondition" not in public["Performance"]
        assert "expectedLifetime" not in public["Performance"]["batteryTechicalProperties"]
        assert all("batteryMaterialMass" not in m for m in public["MaterialComposition"]["batteryMaterials"])
        assert all(m["isCriticalRawMaterial"] for m in public["MaterialComposition"]["batteryMaterials"])
        agents = full["Circularity"]["safetyMeasures"]["extinguishingAgent"]
        assert public["Circularity"]["safetyMeasures"] == {"extinguishingAgent": agents}
        assert "resultOfTestReport" not in legit["Labels"] and "resultOfTestReport" in full["Labels"]
        assert legit["Performance"]["batteryCondition"] == full["Performance"]["batteryCondition"]
        assert "null" not in json.dumps(public) + json.dumps(legit)


@needs_shared
def test_access_table_agrees_with_the_attribute_list() -> None:
    attributes = json.loads(ATTRIBUTES.read_text(encoding="utf-8"))["attributes"]
    ours = {"public": "public", "legitimate_interest": "legitimate_interest", "authorities": "authorities"}
    ours["legitimate_interest_and_commission"] = "legitimate_interest"
    listed = set()
    for attribute in attributes:
        for path in attribute["json_paths"]:
            listed.add(path)
            assert ACCESS.get(path) == ours[attribute["access"]], (attribute["no"], path)
    assert set(ACCESS) == listed


def test_the_most_specific_selector_decides() -> None:
    critical = {"batteryMaterialName": "Cobalt", "isCriticalRawMaterial": True, "batteryMaterialMass": 7.0}
    other = {"batteryMaterialName": "Ethylene carbonate", "isCriticalRawMaterial": False}
    materials = ("MaterialComposition", "batteryMaterials")
    assert governing_level((*materials, Item(0, critical), "batteryMaterialName")) == "public"
    assert governing_level((*materials, Item(0, critical), "batteryMaterialMass")) == "legitimate_interest"
    assert governing_level((*materials, Item(1, other), "batteryMaterialName")) == "legitimate_interest"
    assert (
        governing_level(("Circularity", "safetyMeasures", "extinguishingAgent", Item(0, "Water"))) == "public"
    )
    assert governing_level(("Circularity", "safetyMeasures", "safetyInstructions")) == "legitimate_interest"
    assert governing_level(("Labels", "resultOfTestReport")) == "authorities"
    assert governing_level(("GeneralProductInformation", "somethingNew")) == "authorities"  # fails closed
    # equally specific selectors that disagree: the more restrictive wins
    table = {"A.b[?x=1]": "public", "A.b[?y=2]": "legitimate_interest"}
    assert governing_level(("A", "b", Item(0, {"x": 1, "y": 2}), "z"), table) == "legitimate_interest"


def test_documents_are_deterministic_and_ordered(simulated: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    static = sample_static("demo-pack-01", "pack", "ev")
    condition = _condition(static, "pack", simulated)
    shuffled = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(static.items()))}
    a = assemble_passport(static, condition, "authority", "ev")
    b = assemble_passport(shuffled, condition, "authority", "ev")
    assert json.dumps(a) == json.dumps(b)
    assert list(a) == [c for c in CATEGORIES if c in a] and len(a) == 7
    assert list(a["GeneralProductInformation"]) == sorted(a["GeneralProductInformation"])
    assert static == sample_static("demo-pack-01", "pack", "ev")  # the input is not modified


def test_empty_categories_are_dropped() -> None:
    static: dict[str, Any] = {"GeneralProductInformation": {"batteryStatus": "Original"}}
    static["SupplyChainDueDiligence"] = {}
    static["Performance"] = {"batteryCondition": {"stateOfCharge": {"stateOfChargeValue": 50.0}}}
    assert assemble_passport(static, None, "public", "lmt") == {
        "GeneralProductInformation": {"batteryCategory": "lmt"}
    }


def test_errors_name_the_field_never_the_value() -> None:
    static = sample_static("demo-pack-01", "pack", "ev")
    static["Circularity"]["safetyMeasures"]["safetyInstructions"] = float("nan")
    with pytest.raises(DataError) as error:
        assemble_passport(static, None, "public", "ev")
    assert "Circularity.safetyMeasures.safetyInstructions" in str(error.value)
    assert "nan" not in str(error.value).lower().replace("finite", "")
    secret = sample_static("demo-pack-01", "pack", "ev")
    secret["MaterialComposition"]["batteryMaterials"][0]["batteryMaterialMass"] = {1, 2}
    with pytest.raises(DataError, match=r"batteryMaterials\[0\]\.batteryMaterialMass") as error:
        assemble_passport(secret, None, "public", "ev")
    assert "{1, 2}" not in str(error.value)
    with pytest.raises(DataError, match="batteryCategory"):
        assemble_passport(static, None, "public", "stationary")
    with pytest.raises(DataError, match="Passport"):
        assemble_passport({"Passport": {}}, None, "public", "ev")
    with pytest.raises(DataError, match="role"):
        assemble_passport({}, None, "everyone", "ev")


def test_sample_data_is_plausible() -> None:
    pack = sample_static("demo-pack-01", "pack", "ev", date(2024, 5, 14))
    tech = pack["Performance"]["batteryTechicalProperties"]
    assert tech["ratedCapacity"] == 60 and tech["nominalVoltage"] == pytest.approx(350.4)
    assert tech["ratedEnergy"] == pytest.approx(60 * 350.4 / 1000, rel=1e-3)
    mass = pack["GeneralProductInformation"]["batteryMass"]
    materials = sum(m["batteryMaterialMass"] for m in pack["MaterialComposition"]["batteryMaterials"])
    assert (
        0.3 * mass < materials < mass
    )  # materials are part of the battery, with housing and cooling besides
    stages = pack["CarbonFootprint"]["carbonFootprintPerLifecycleStage"]
    assert sum(s["carbonFootprint"] for s in stages) == pytest.approx(100.0)
    assert re.fullmatch(r"urn:bmts:[0-9a-f]{32}", passport_identifier("demo-pack-01"))
    assert passport_identifier("demo-pack-01") != passport_identifier("demo-pack-02")
    assert pack["GeneralProductInformation"]["warrentyPeriod"] == "2032--05"
    assert condition_inputs(pack)["voltage_limits"] == pytest.approx((268.8, 403.2))
