"""The demo fleet's identities and life story: an EV with one pack, modules and the simulated cells.

The registered ratings agree with the genealogy: a module is its cells in parallel (1s3p), the pack and
the vehicle are the modules in series, so the passports of modules, pack and vehicle roll up the cells'
conditions with the layout their ratings give.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from bmts.analytics.passport_sample import CELL_NOMINAL_V, passport_identifier, sample_static
from bmts.pipeline.sample_data import CellSpec
from bmts.registry import Battery, Registry
from bmts.schema import DataError

MADE = date(2025, 1, 6)
CELLS_PER_MODULE = 3
OPERATOR = "Demo Fleet Operator GmbH"
MANUFACTURER = "bmts Demo Cells AG"
VEHICLE, PACK = "demo-ev-01", "demo-pack-01"


def demo_static(battery_id: str, kind: str, series: int = 1, parallel: int = 1) -> dict[str, Any]:
    """Complete static passport data for a demo battery of `series` x `parallel` cells, as its
    manufacturer would register it."""
    return sample_static(
        battery_id, kind, "ev", MADE, put_into_service=_at(40).date(), series=series, parallel=parallel
    )


def _at(days: int) -> datetime:
    return datetime.combine(MADE, datetime.min.time(), UTC) + timedelta(days=days)


def module_ids(fleet: list[CellSpec]) -> list[str]:
    """The demo modules' ids: one per `CELLS_PER_MODULE` cells."""
    return [
        f"demo-module-{m + 1:02d}" for m in range((len(fleet) + CELLS_PER_MODULE - 1) // CELLS_PER_MODULE)
    ]


def fleet_ids(fleet: list[CellSpec]) -> list[str]:
    """Every demo battery's id, from the vehicle down to the cells."""
    return [VEHICLE, PACK, *module_ids(fleet), *(c.cell_id for c in fleet)]


def register_demo_fleet(registry: Registry, fleet: list[CellSpec], static: Any = None) -> bool:
    """Register vehicle, pack, modules and cells with their genealogy and events; False if already there.

    `static(battery_id, kind, series=S, parallel=P)` may return each battery's static passport data.
    """
    try:
        registry.get(fleet[0].cell_id)
        return False
    except DataError:
        pass
    modules = module_ids(fleet)
    capacity = sum(c.capacity_ah for c in fleet[:CELLS_PER_MODULE])
    strings = (len(modules), CELLS_PER_MODULE)  # the pack: modules in series

    def battery(bid: str, kind: str, layout: tuple[int, int] = (1, 1), **kw: Any) -> Battery:
        data = static(bid, kind, series=layout[0], parallel=layout[1]) if static else {}
        return Battery(
            bid,
            kind=kind,
            category="ev",
            chemistry="NMC811/graphite",
            manufacturer=MANUFACTURER,
            manufactured_on=MADE,
            manufacturing_place="Dresden, Germany",
            passport_data=data or {},
            **kw,
        )

    batteries = [
        battery(VEHICLE, "system", strings, model="Demo EV"),
        battery(
            PACK,
            "pack",
            strings,
            model=f"DP-{strings[0]}S{strings[1]}P",
            serial_number="DP-000001",
            passport_id=passport_identifier(PACK),
            nominal_capacity_ah=round(capacity, 3),
            nominal_voltage_v=CELL_NOMINAL_V * strings[0],
        ),
        *(
            battery(
                m, "module", (1, len(fleet[k * CELLS_PER_MODULE : (k + 1) * CELLS_PER_MODULE])), model="DM-3P"
            )
            for k, m in enumerate(modules)
        ),
        *(
            battery(
                c.cell_id,
                "cell",
                model="DC-2500",
                serial_number=f"DC2500-{n + 1:06d}",
                nominal_capacity_ah=c.capacity_ah,
                nominal_voltage_v=CELL_NOMINAL_V,
                mass_kg=0.046,
            )
            for n, c in enumerate(fleet)
        ),
    ]
    registry.register_many(batteries, actor=MANUFACTURER)
    for n, cell in enumerate(fleet):
        registry.install(
            modules[n // CELLS_PER_MODULE], cell.cell_id, _at(2), MANUFACTURER, position=f"P{n % 3 + 1}"
        )
    for n, module in enumerate(modules):
        registry.install(PACK, module, _at(3), MANUFACTURER, position=f"slot {n + 1}")
    registry.add_event(PACK, "tested", _at(4), MANUFACTURER, {"test": "end-of-line", "result": "pass"})
    registry.add_event(PACK, "shipped", _at(10), "Demo Logistics", {"to": "Demo EV assembly"})
    registry.install(VEHICLE, PACK, _at(20), "Demo EV assembly")
    registry.add_event(PACK, "put_into_service", _at(40), "Demo EV assembly")
    for bid in (VEHICLE, PACK):
        registry.add_event(bid, "ownership_transferred", _at(40), MANUFACTURER, {"to": OPERATOR})
    registry.add_event(PACK, "serviced", _at(220), "Demo Service Centre", {"work": "coolant check"})
    return True
