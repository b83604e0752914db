"""Static passport data for demo batteries: what a manufacturer of an NMC811/graphite EV battery would
register, in BatteryPass v1.2 shape per category. Pure and deterministic: the same arguments give the
same document.

The demo battery is built from the 2.5 Ah cylindrical cell that `bmts.pipeline.sample_data` simulates
(3.65 V nominal, 2.8-4.2 V): a module is 12s24p, a pack (or a system) 8 modules in series (96s24p,
60 Ah, 350 V, 21 kWh). Masses, materials and carbon footprint scale with the energy. The manufacturer,
addresses and web addresses are fictitious (`.example` domains).

Conventions (see ../shared/batterypass/README.md): passport identifier `urn:bmts:<32 hex digits>`
(a UUID derived from the battery id); manufacturing date `YYYY-MM-01T00:00:00Z`; warranty end
`YYYY--MM`; the carbon footprint per lifecycle stage as a share of the total in %; the carbon
footprint per functional unit in kgCO2e per kWh of total energy delivered over the service life.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

#: namespace of the demo passport identifiers (a fixed, bmts-chosen UUID)
PASSPORT_NAMESPACE = uuid.UUID("5d7f3c1e-8a4b-4f60-9c2d-1b6e0a9f4c37")

CELL_CAPACITY_AH = 2.5
CELL_NOMINAL_V, CELL_MIN_V, CELL_MAX_V = 3.65, 2.8, 4.2
CELL_MASS_KG = 0.0465
CELL_RESISTANCE_OHM = 0.035
#: (series, parallel) cells of each kind
LAYOUT = {"cell": (1, 1), "module": (12, 24), "pack": (96, 24), "system": (96, 24)}
#: cell mass / battery mass (housing, busbars, cooling, BMS)
GRAVIMETRIC_FRACTION = {"cell": 1.0, "module": 0.82, "pack": 0.68, "system": 0.68}

#: name, CAS number, critical raw material (EU CRMA 2024/1252 Annex II), where, kg per kWh
MATERIALS: tuple[tuple[str, str, bool, str, float], ...] = (
    ("Lithium", "7439-93-2", True, "Cathode", 0.098),
    ("Nickel", "7440-02-0", True, "Cathode", 0.62),
    ("Cobalt", "7440-48-4", True, "Cathode", 0.078),
    ("Manganese", "7439-96-5", True, "Cathode", 0.072),
    ("Natural graphite", "7782-42-5", True, "Anode", 0.96),
    ("Copper", "7440-50-8", True, "Anode current collector", 0.55),
    ("Aluminium", "7429-90-5", True, "Cathode current collector and housing", 0.83),
    ("Lithium hexafluorophosphate", "21324-40-3", False, "Electrolyte", 0.034),
    ("Ethylene carbonate", "96-49-1", False, "Electrolyte", 0.19),
    ("Ethyl methyl carbonate", "623-53-0", False, "Electrolyte", 0.26),
    ("Polyvinylidene fluoride", "24937-79-9", False, "Electrode binder", 0.045),
)
#: name, CAS number, hazard class, hazard statements (CLP), where
HAZARDOUS: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    (
        "Lithium hexafluorophosphate",
        "21324-40-3",
        "AcuteToxicity",
        (
            "H301: Toxic if swallowed",
            "H314: Causes severe skin burns and eye damage",
            "H372: Causes damage to organs through prolonged or repeated exposure",
        ),
        "Electrolyte",
    ),
    (
        "Ethylene carbonate",
        "96-49-1",
        "EyeDamageOrIrritation",
        (
            "H302: Harmful if swallowed",
            "H319: Causes serious eye irritation",
            "H373: May cause damage to organs through prolonged or repeated exposure",
        ),
        "Electrolyte",
    ),
)
#: kgCO2e per kWh of rated energy, by lifecycle stage (cradle to grave, grid-mix cell production)
CARBON_KG_PER_KWH = {
    "RawMaterialExtraction": 41.8,
    "MainProduction": 20.9,
    "Distribution": 1.3,
    "Recycling": 3.4,
}
#: recycled content (pre-consumer %, post-consumer %)
RECYCLED = {"Nickel": (3.0, 1.5), "Cobalt": (6.5, 4.0), "Lithium": (1.2, 0.4)}

_MAKER = "Aurora Cell Works GmbH"
_WEB = "https://passport.aurora-cells.example"


def _address(street: str, postal: str, country: str = "DE") -> dict[str, str]:
    return {"addressCountry": country, "postalCode": postal, "streetAddress": street}


def _round(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


def _stage_shares() -> dict[str, float]:
    """Share of each lifecycle stage in %, to 0.1, summing to exactly 100 (the largest takes the rest)."""
    total = sum(CARBON_KG_PER_KWH.values())
    shares = {stage: round(100 * kg / total, 1) for stage, kg in CARBON_KG_PER_KWH.items()}
    largest = max(shares, key=lambda k: shares[k])
    shares[largest] = round(100 - sum(v for k, v in shares.items() if k != largest), 1)
    return shares


def passport_identifier(battery_id: str) -> str:
    """`urn:bmts:<32 lowercase hex digits>`, the same for the same battery id."""
    return f"urn:bmts:{uuid.uuid5(PASSPORT_NAMESPACE, battery_id).hex}"


def sample_static(
    battery_id: str,
    kind: str = "pack",
    category: str = "ev",
    manufactured: date = date(2024, 5, 14),
    *,
    put_into_service: date | None = None,
    status: str = "Original",
    warranty_years: int = 8,
    series: int | None = None,
    parallel: int | None = None,
    cell_capacity_ah: float = CELL_CAPACITY_AH,
    expected_cycles: int = 2000,
) -> dict[str, Any]:
    """Complete static passport data of a demo NMC811 battery of `kind` (cell, module, pack, system)
    and battery category `category` (ev, lmt, industrial, stationary)."""
    if kind not in LAYOUT:
        raise ValueError(f"kind must be one of {', '.join(LAYOUT)}")
    s, p = LAYOUT[kind]
    s, p = series or s, parallel or p
    capacity_ah = cell_capacity_ah * p
    nominal_v, min_v, max_v = CELL_NOMINAL_V * s, CELL_MIN_V * s, CELL_MAX_V * s
    energy_kwh = capacity_ah * nominal_v / 1000
    cells_kg = CELL_MASS_KG * s * p * cell_capacity_ah / CELL_CAPACITY_AH
    mass_kg = cells_kg / GRAVIMETRIC_FRACTION[kind]
    resistance = CELL_RESISTANCE_OHM * s / p * (1.0 if kind == "cell" else 1.12)
    max_power_w = 3.0 * capacity_ah * nominal_v
    docs = f"{_WEB}/{kind}"
    slug = battery_id.lower()
    warranty_end = manufactured.replace(year=manufactured.year + warranty_years)

    general: dict[str, Any] = {
        "productIdentifier": battery_id,
        "batteryPassportIdentifier": passport_identifier(battery_id),
        "batteryCategory": category,
        "manufacturerInformation": {
            "contactName": _MAKER,
            "postalAddress": _address("Zellenring 12, Salzgitter", "38239"),
            "identifier": "4069991000012",
            "webAddress": f"{_WEB}/",
        },
        "operatorInformation": {
            "contactName": "Lumen Fleet Services B.V.",
            "postalAddress": _address("Stationsplein 45, Utrecht", "3511 ED", "NL"),
            "identifier": "8712345000007",
            "webAddress": "https://fleet.lumen-mobility.example/",
        },
        "manufacturingDate": f"{manufactured:%Y-%m}-01T00:00:00Z",
        "manufacturingPlace": _address("Batteriestrasse 3, Salzgitter", "38239"),
        "warrentyPeriod": f"{warranty_end:%Y}--{warranty_end:%m}",
        "batteryMass": _round(mass_kg),
        "batteryStatus": status,
    }
    if put_into_service is None and category in ("lmt", "stationary"):
        put_into_service = manufactured + timedelta(days=75)
    if put_into_service is not None:
        general["puttingIntoService"] = f"{put_into_service:%Y-%m-%d}T00:00:00Z"

    stages = sum(CARBON_KG_PER_KWH.values())
    lifetime_energy_kwh = energy_kwh * expected_cycles * 0.8  # 80% mean depth of discharge
    carbon = {
        "batteryCarbonFootprint": _round(stages * energy_kwh / lifetime_energy_kwh),
        "carbonFootprintPerLifecycleStage": [
            {"lifecycleStage": stage, "carbonFootprint": share} for stage, share in _stage_shares().items()
        ],
        "carbonFootprintPerformanceClass": "B",
        "carbonFootprintStudy": f"{_WEB}/carbon-footprint-study-2024.pdf",
        "absoluteCarbonFootprint": _round(stages * energy_kwh / 1000),
    }
    circularity = {
        "dismantlingAndRemovalInformation": [
            {
                "documentType": "DismantlingManual",
                "mimeType": "application/pdf",
                "documentURL": f"{docs}/dismantling.pdf",
            },
            {
                "documentType": "RemovalManual",
                "mimeType": "application/pdf",
                "documentURL": f"{docs}/removal.pdf",
            },
            {
                "documentType": "BillOfMaterial",
                "mimeType": "text/csv",
                "documentURL": f"{docs}/bill-of-material.csv",
            },
        ],
        "sparePartSources": [
            {
                "nameOfSupplier": "Aurora Service Parts GmbH",
                "addressOfSupplier": _address("Ersatzteilweg 8, Braunschweig", "38112"),
                "emailAddressOfSupplier": "spares@service.aurora-cells.example",
                "supplierWebAddress": "https://service.aurora-cells.example/",
                "components": [
                    {"partName": "Battery module 12s24p", "partNumber": "ACW-MOD-1224-B"},
                    {"partName": "Battery management system", "partNumber": "ACW-BMS-96-3"},
                    {"partName": "Main contactor", "partNumber": "ACW-CTR-400"},
                ],
            }
        ],
        "recycledContent": [
            {"recycledMaterial": m, "preConsumerShare": pre, "postConsumerShare": post}
            for m, (pre, post) in RECYCLED.items()
        ],
        "renewableContent": 1.5,
        "safetyMeasures": {
            "safetyInstructions": f"{docs}/safety-instructions.pdf",
            "extinguishingAgent": ["Water in large quantities", "Class D extinguishing powder"],
        },
        "endOfLifeInformation": {
            "wastePrevention": f"{_WEB}/end-of-life/waste-prevention",
            "separateCollection": f"{_WEB}/end-of-life/separate-collection",
            "informationOnCollection": f"{_WEB}/end-of-life/take-back",
        },
    }
    labels = {
        "declarationOfConformity": f"{docs}/eu-declaration-of-conformity.pdf",
        "resultOfTestReport": f"{docs}/test-reports/{slug}.pdf",
        "labels": [
            {
                "labelingSubject": "SeparateCollection",
                "labelingSymbol": f"{_WEB}/symbols/crossed-out-bin.svg",
                "labelingMeaning": {"en": "Collect separately; do not dispose of with household waste."},
            },
            {
                "labelingSubject": "CarbonFootPrint",
                "labelingSymbol": f"{_WEB}/symbols/carbon-class-b.svg",
                "labelingMeaning": {"en": "Carbon footprint performance class B."},
            },
            {
                "labelingSubject": "ExtinguishingAgent",
                "labelingSymbol": f"{_WEB}/symbols/extinguishing-agent.svg",
                "labelingMeaning": {"en": "Extinguish with plenty of water or class D powder."},
            },
        ],
    }
    materials = [
        {
            "batteryMaterialName": name,
            "batteryMaterialIdentifier": cas,
            "isCriticalRawMaterial": critical,
            "batteryMaterialMass": _round(kg_per_kwh * energy_kwh),
            "batteryMaterialLocation": {"componentName": where},
        }
        for name, cas, critical, where, kg_per_kwh in MATERIALS
    ]
    share = {name: kg * energy_kwh / mass_kg * 100 for name, _, _, _, kg in MATERIALS}
    composition = {
        "batteryChemistry": {
            "shortName": "NMC811",
            "clearName": "Lithium nickel manganese cobalt oxide (8:1:1) cathode, graphite anode",
        },
        "batteryMaterials": materials,
        "hazardousSubstances": [
            {
                "hazardousSubstanceName": name,
                "hazardousSubstanceIdentifier": cas,
                "hazardousSubstanceClass": hazard,
                "hazardousSubstanceConcentration": _round(share[name], 3),
                "hazardousSubstanceImpact": list(impact),
                "hazardousSubstanceLocation": {"componentName": where},
            }
            for name, cas, hazard, impact, where in HAZARDOUS
        ],
    }
    resistances = [{"batteryComponent": "cell", "ohmicResistance": CELL_RESISTANCE_OHM}]
    if kind != "cell":
        level = "module" if kind == "module" else "pack"
        resistances.append({"batteryComponent": level, "ohmicResistance": _round(resistance)})
    technical = {
        "ratedCapacity": _round(capacity_ah),
        "ratedEnergy": _round(energy_kwh),
        "nominalVoltage": _round(nominal_v),
        "minimumVoltage": _round(min_v),
        "maximumVoltage": _round(max_v),
        "originalPowerCapability": [
            {"atSoC": 80, "powerCapabilityAt": _round(0.85 * max_power_w)},
            {"atSoC": 20, "powerCapabilityAt": _round(0.55 * max_power_w)},
        ],
        "ratedMaximumPower": _round(max_power_w),
        "cRate": 2.0,
        "powerCapabilityRatio": 2.0,
        "roundtripEfficiency": 95.5,
        "roundTripEfficiencyat50PerCentCycleLife": 93.8,
        "roundTripEfficiencyFade": 1.8,
        "powerFade": 9.0,
        "initialSelfDischarge": 1.5,
        "initialInternalResistance": resistances,
        "expectedLifetime": 10,
        "expectedNumberOfCycles": expected_cycles,
        "lifetimeReferenceTest": f"{_WEB}/cycle-life-test-iec-62660-1.pdf",
        "cRateLifeCycleTest": 1.0,
        "capacityThresholdForExhaustion": 70,
        "temperatureRangeIdleState": {"minimum": -20, "maximum": 55},
    }
    due_diligence = {
        "supplyChainDueDiligenceReport": f"{_WEB}/due-diligence-report-2024.pdf",
        "thirdPartyAussurances": f"{_WEB}/irma-assurance-2024.pdf",
        "supplyChainIndicies": 0.78,
    }
    return {
        "GeneralProductInformation": general,
        "CarbonFootprint": carbon,
        "Circularity": circularity,
        "Labels": labels,
        "MaterialComposition": composition,
        "Performance": {"batteryTechicalProperties": technical},
        "SupplyChainDueDiligence": due_diligence,
    }
