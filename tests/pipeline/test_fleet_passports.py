"""Passports of the demo fleet: every battery (vehicle, pack, modules, cells) and every role validates with the
independent acceptance validator and is role-clean; modules, pack and vehicle, which have no telemetry of
their own, get the condition rolled up from the cells installed at the as-of date."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bmts.ingest import write_bdf
from bmts.pipeline.demo import run_demo
from bmts.pipeline.demo_fleet import PACK, VEHICLE, demo_static, fleet_ids, register_demo_fleet
from bmts.pipeline.ingest import ingest_paths
from bmts.pipeline.passport import battery_passport
from bmts.pipeline.sample_data import CellSpec, sample_fleet, simulate_cell
from bmts.registry import Battery, Registry
from bmts.storage import EmbeddedStore
from passport_checks import ROLES, VALIDATOR, is_valid, restricted_values, validate

needs_shared = pytest.mark.skipif(not VALIDATOR.is_file(), reason="../shared/acceptance/passport is missing")
CELLS = 6
#: what an EV passport's batteryCondition must hold (attributes_v1.2.json, mandatory for ev)
EV_MANDATORY = (
    "capacityFade",
    "stateOfCertifiedEnergy",
    "stateOfCharge",
    "internalResistanceIncrease",
    "numberOfFullCycles",
    "temperatureInformation",
    "negativeEvents",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[EmbeddedStore, dict[tuple[str, str], Any]]:
    store = EmbeddedStore(tmp_path_factory.mktemp("demo") / "home")
    report = run_demo(store, cells=CELLS, cycles=12)
    documents = {}
    for path in map(Path, report.passports):
        battery_id, role, _ = path.name.rsplit(".", 2)
        documents[battery_id, role] = json.loads(path.read_text(encoding="utf-8"))
    return store, documents


def _condition(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["Performance"]["batteryCondition"]


def test_the_demo_writes_every_batterys_passports(demo: tuple[EmbeddedStore, dict[Any, Any]]) -> None:
    _, documents = demo
    ids = fleet_ids(sample_fleet(CELLS))
    assert len(ids) == 1 + 1 + 2 + CELLS
    assert set(documents) == {(b, r) for b in ids for r in ROLES}


@needs_shared
@pytest.mark.parametrize("role", ROLES)
def test_every_demo_passport_validates_and_is_role_clean(
    demo: tuple[EmbeddedStore, dict[Any, Any]], role: str, tmp_path: Path
) -> None:
    _, documents = demo
    for battery_id in fleet_ids(sample_fleet(CELLS)):
        doc = documents[battery_id, role]
        result = validate(doc, role, tmp_path)
        assert is_valid(result), (battery_id, result.stdout)
        assert restricted_values(doc, documents[battery_id, "authority"], role) == [], battery_id
        if role != "public":
            assert set(EV_MANDATORY) <= set(_condition(doc)), battery_id
        else:
            assert "batteryCondition" not in doc.get("Performance", {})


def test_the_rollup_follows_the_genealogy(demo: tuple[EmbeddedStore, dict[Any, Any]]) -> None:
    _, documents = demo

    def value(battery_id: str, member: str) -> float:
        entry = _condition(documents[battery_id, "authority"])[member]
        return float(next(v for k, v in entry.items() if k.endswith("Value")))

    cells = {f"demo-module-0{m + 1}": [f"demo-cell-0{3 * m + k + 1}" for k in range(3)] for m in range(2)}
    modules = {m: sum(value(c, "remainingCapacity") for c in cs) for m, cs in cells.items()}
    for module, capacity in modules.items():  # 3 cells in parallel: capacities add up
        assert value(module, "remainingCapacity") == pytest.approx(capacity, rel=1e-5)
    # 2 modules in series: the weaker one limits; the vehicle holds the pack
    assert value(PACK, "remainingCapacity") == pytest.approx(min(modules.values()), rel=1e-5)
    assert value(VEHICLE, "remainingCapacity") == pytest.approx(value(PACK, "remainingCapacity"), rel=1e-5)
    every_cell = [c for cs in cells.values() for c in cs]
    assert value(PACK, "energyThroughput") == pytest.approx(
        sum(value(c, "energyThroughput") for c in every_cell), rel=1e-4
    )
    hottest = max(
        _condition(documents[c, "authority"])["temperatureInformation"]["timeExtremeHighTemp"]
        for c in every_cell
    )
    assert (
        _condition(documents[PACK, "authority"])["temperatureInformation"]["timeExtremeHighTemp"] == hottest
    )
    latest = max(_condition(documents[c, "authority"])["capacityFade"]["lastUpdate"] for c in every_cell)
    assert _condition(documents[PACK, "authority"])["capacityFade"]["lastUpdate"] == latest


def _small_fleet(tmp_path: Path, cycles: int = 6) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path / "home")
    fleet = sample_fleet(3)
    register_demo_fleet(Registry(store.engine), fleet, demo_static)
    paths = [
        write_bdf(simulate_cell(s, cycles, seed=n), tmp_path / f"{s.cell_id}.bdf.csv")
        for n, s in enumerate(fleet)
    ]
    ingest_paths(store, paths)
    return store


def test_the_constituents_installed_at_the_as_of_date_count(tmp_path: Path) -> None:
    store = _small_fleet(tmp_path)
    registry = Registry(store.engine)
    registry.register(
        Battery(
            "spare-cell",
            kind="cell",
            category="ev",
            manufactured_on=datetime(2025, 1, 6).date(),
            passport_data=demo_static("spare-cell", "cell"),
        ),
    )
    swap = datetime(2025, 6, 1, tzinfo=UTC)
    registry.replace("demo-module-01", "demo-cell-02", "spare-cell", swap, "workshop", "cell swap")
    before = battery_passport(store, "demo-module-01", "authority", datetime(2025, 5, 1, tzinfo=UTC))
    after = battery_passport(store, "demo-module-01", "authority", datetime(2025, 7, 1, tzinfo=UTC))
    assert "remainingCapacity" in _condition(before)
    # the spare cell has no telemetry yet: the module's capacity is unknown, not made up from two cells
    assert "remainingCapacity" not in _condition(after) and "temperatureInformation" in _condition(after)
    assert "batteryCondition" not in battery_passport(
        store, PACK, "authority", datetime(2025, 1, 8, tzinfo=UTC)
    ).get("Performance", {})  # before any module was installed in it


def test_a_pack_with_its_own_telemetry_uses_it(tmp_path: Path) -> None:
    store = _small_fleet(tmp_path, cycles=6)
    rolled = _condition(battery_passport(store, PACK, "authority"))["numberOfFullCycles"]
    own = simulate_cell(CellSpec(PACK, capacity_ah=7.5), cycles=2, seed=9)
    ingest_paths(store, [write_bdf(own, tmp_path / "pack.bdf.csv")], PACK)
    measured = _condition(battery_passport(store, PACK, "authority"))["numberOfFullCycles"]
    assert rolled["numberOfFullCyclesValue"] == pytest.approx(6, abs=1)
    assert measured["numberOfFullCyclesValue"] == pytest.approx(2, abs=0.5)
