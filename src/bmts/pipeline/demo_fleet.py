"""The demo fleet's identities and life story: an EV with one pack, modules and the simulated cells."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from bmts.analytics.passport_sample import sample_static
from bmts.pipeline.sample_data import CellSpec
from bmts.registry import Battery, Registry
from bmts.schema import DataError

MADE = date(2025, 1, 6)
CELLS_PER_MODULE = 3
OPERATOR = "Demo Fleet Operator GmbH"
MANUFACTURER = "bmts Demo Cells AG"


def demo_static(battery_id: str, kind: str) -> dict[str, Any]:
    """Complete static passport data for a demo battery, as its manufacturer would register it."""
    return sample_static(battery_id, kind, "ev", MADE, put_into_service=_at(40).date())


def _at(days: int) -> datetime:
    return datetime.combine(MADE, datetime.min.time(), UTC) + timedelta(days=days)


def register_demo_fleet(registry: Registry, fleet: list[CellSpec], static: Any = None) -> bool:
    """Register vehicle, pack, modules and cells with their genealogy and events; False if already there.

    `static(battery_id, kind)` may return each battery's static passport data.
    """
    try:
        registry.get(fleet[0].cell_id)
        return False
    except DataError:
        pass
    modules = [
        f"demo-module-{m + 1:02d}" for m in range((len(fleet) + CELLS_PER_MODULE - 1) // CELLS_PER_MODULE)
    ]
    capacity = sum(c.capacity_ah for c in fleet[:CELLS_PER_MODULE])

    def battery(bid: str, kind: str, **kw: Any) -> Battery:
        data = static(bid, kind) if static else {}
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
        battery("demo-ev-01", "system", model="Demo EV"),
        battery(
            "demo-pack-01",
            "pack",
            model="DP-96S",
            serial_number="DP96S-000001",
            passport_id="urn:bmts:passport:demo-pack-01",
            nominal_capacity_ah=round(capacity, 3),
            nominal_voltage_v=3.65 * 96,
        ),
        *(battery(m, "module", model="DM-3P") for m in modules),
        *(
            battery(
                c.cell_id,
                "cell",
                model="DC-2500",
                serial_number=f"DC2500-{n + 1:06d}",
                nominal_capacity_ah=c.capacity_ah,
                nominal_voltage_v=3.65,
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
        registry.install("demo-pack-01", module, _at(3), MANUFACTURER, position=f"slot {n + 1}")
    registry.add_event(
        "demo-pack-01", "tested", _at(4), MANUFACTURER, {"test": "end-of-line", "result": "pass"}
    )
    registry.add_event("demo-pack-01", "shipped", _at(10), "Demo Logistics", {"to": "Demo EV assembly"})
    registry.install("demo-ev-01", "demo-pack-01", _at(20), "Demo EV assembly")
    registry.add_event("demo-pack-01", "put_into_service", _at(40), "Demo EV assembly")
    for bid in ("demo-ev-01", "demo-pack-01"):
        registry.add_event(bid, "ownership_transferred", _at(40), MANUFACTURER, {"to": OPERATOR})
    registry.add_event("demo-pack-01", "serviced", _at(220), "Demo Service Centre", {"work": "coolant check"})
    return True
