"""Who may read which part of an EU battery passport: bmts's access-rights table and its selector matcher.

Regulation (EU) 2023/1542 Art. 77(2) splits passport data into what the public may read, what persons
with a legitimate interest (and the Commission) may read, and what only notified bodies, market
surveillance authorities and the Commission may read. `ACCESS` maps JSON path selectors of a passport
document (the seven BatteryPass v1.2 categories, Performance as in schema 1.2.1) to one of three levels.

Selector syntax: dot-separated keys from the category key; `[]` is every element of a list;
`[?key=value]` / `[?key!=value]` are the elements whose `key` equals / differs from `value` (`true`,
`false`, `null` and numbers are JSON literals, anything else a string). The most specific selector that
matches a value or one of its ancestors decides: more segments first, then more `[?...]` filters; equally
specific selectors that disagree resolve to the more restrictive level. A value no selector reaches is
withheld from everyone but authorities (`DEFAULT_LEVEL`): an unknown field fails closed.

The levels follow the BatteryPass data-attribute list v1.2 (its "legitimate interest and Commission"
rows are `legitimate_interest` here: the authority role sees them too). The test suite cross-checks this
table against that list so drift is caught.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

PUBLIC: Final = "public"
LEGITIMATE_INTEREST: Final = "legitimate_interest"
AUTHORITIES: Final = "authorities"
#: from least to most restricted
LEVELS: Final = (PUBLIC, LEGITIMATE_INTEREST, AUTHORITIES)
DEFAULT_LEVEL: Final = AUTHORITIES

#: role (as on the command line) -> levels it may read
ROLE_LEVELS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "public": frozenset({PUBLIC}),
        "legitimate_interest": frozenset({PUBLIC, LEGITIMATE_INTEREST}),
        "authority": frozenset(LEVELS),
    }
)
ROLES: Final = tuple(ROLE_LEVELS)

_GPI = "GeneralProductInformation"
_CF = "CarbonFootprint"
_CIRC = "Circularity"
_LAB = "Labels"
_MAT = "MaterialComposition"
_TECH = "Performance.batteryTechicalProperties"  # sic: the schema's spelling
_COND = "Performance.batteryCondition"
_SCDD = "SupplyChainDueDiligence"

ACCESS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # identity, manufacturer, dates: public; status and date of putting into service are not
        f"{_GPI}.batteryPassportIdentifier": PUBLIC,
        f"{_GPI}.productIdentifier": PUBLIC,
        f"{_GPI}.operatorInformation": PUBLIC,
        f"{_GPI}.manufacturerInformation": PUBLIC,
        f"{_GPI}.manufacturingPlace": PUBLIC,
        f"{_GPI}.manufacturingDate": PUBLIC,
        f"{_GPI}.puttingIntoService": LEGITIMATE_INTEREST,
        f"{_GPI}.warrentyPeriod": PUBLIC,
        f"{_GPI}.batteryCategory": PUBLIC,
        f"{_GPI}.batteryMass": PUBLIC,
        f"{_GPI}.batteryStatus": LEGITIMATE_INTEREST,
        # labels and conformity: public, except the test reports behind the declaration
        f"{_LAB}.labels[?labelingSubject=SeparateCollection]": PUBLIC,
        f"{_LAB}.labels[?labelingSubject=HazardousMaterial]": PUBLIC,
        f"{_LAB}.labels[?labelingSubject=CarbonFootPrint]": PUBLIC,
        f"{_LAB}.labels[?labelingSubject=ExtinguishingAgent]": PUBLIC,
        f"{_LAB}.labels[].labelingMeaning": PUBLIC,
        f"{_LAB}.declarationOfConformity": PUBLIC,
        f"{_LAB}.resultOfTestReport": AUTHORITIES,
        # carbon footprint: all public
        f"{_CF}.batteryCarbonFootprint": PUBLIC,
        f"{_CF}.carbonFootprintPerLifecycleStage[?lifecycleStage=RawMaterialExtraction]": PUBLIC,
        f"{_CF}.carbonFootprintPerLifecycleStage[?lifecycleStage=MainProduction]": PUBLIC,
        f"{_CF}.carbonFootprintPerLifecycleStage[?lifecycleStage=Distribution]": PUBLIC,
        f"{_CF}.carbonFootprintPerLifecycleStage[?lifecycleStage=Recycling]": PUBLIC,
        f"{_CF}.carbonFootprintPerformanceClass": PUBLIC,
        f"{_CF}.carbonFootprintStudy": PUBLIC,
        f"{_CF}.absoluteCarbonFootprint": PUBLIC,
        # due diligence: public
        f"{_SCDD}.supplyChainDueDiligenceReport": PUBLIC,
        f"{_SCDD}.thirdPartyAussurances": PUBLIC,
        f"{_SCDD}.supplyChainIndicies": PUBLIC,
        # composition: chemistry, critical raw materials (name, identifier, flag) and hazardous
        # substances are public; the detailed composition (other materials, every mass and location)
        # is for legitimate interest
        f"{_MAT}.batteryChemistry": PUBLIC,
        f"{_MAT}.batteryMaterials[?isCriticalRawMaterial=true]": PUBLIC,
        f"{_MAT}.batteryMaterials[?isCriticalRawMaterial!=true]": LEGITIMATE_INTEREST,
        f"{_MAT}.batteryMaterials[].batteryMaterialLocation": LEGITIMATE_INTEREST,
        f"{_MAT}.batteryMaterials[].batteryMaterialMass": LEGITIMATE_INTEREST,
        f"{_MAT}.hazardousSubstances": PUBLIC,
        f"{_MAT}.hazardousSubstances[].hazardousSubstanceImpact": PUBLIC,
        # circularity: manuals, spare parts and safety instructions for legitimate interest; recycled
        # and renewable content, extinguishing agent and end-of-life information public
        f"{_CIRC}.dismantlingAndRemovalInformation": LEGITIMATE_INTEREST,
        f"{_CIRC}.sparePartSources": LEGITIMATE_INTEREST,
        f"{_CIRC}.sparePartSources[].components": LEGITIMATE_INTEREST,
        f"{_CIRC}.safetyMeasures.safetyInstructions": LEGITIMATE_INTEREST,
        f"{_CIRC}.safetyMeasures.extinguishingAgent": PUBLIC,
        f"{_CIRC}.recycledContent[?recycledMaterial=Nickel]": PUBLIC,
        f"{_CIRC}.recycledContent[?recycledMaterial=Cobalt]": PUBLIC,
        f"{_CIRC}.recycledContent[?recycledMaterial=Lithium]": PUBLIC,
        f"{_CIRC}.recycledContent[?recycledMaterial=Lead]": PUBLIC,
        f"{_CIRC}.recycledContent[?recycledMaterial=Nickel].postConsumerShare": PUBLIC,
        f"{_CIRC}.recycledContent[?recycledMaterial=Cobalt].postConsumerShare": PUBLIC,
        f"{_CIRC}.recycledContent[?recycledMaterial=Lithium].postConsumerShare": PUBLIC,
        f"{_CIRC}.recycledContent[?recycledMaterial=Lead].postConsumerShare": PUBLIC,
        f"{_CIRC}.renewableContent": PUBLIC,
        f"{_CIRC}.endOfLifeInformation.wastePrevention": PUBLIC,
        f"{_CIRC}.endOfLifeInformation.separateCollection": PUBLIC,
        f"{_CIRC}.endOfLifeInformation.informationOnCollection": PUBLIC,
        # rated technical properties: public, except the expected lifetime and the fade/self-discharge
        # figures, which are for legitimate interest
        f"{_TECH}.ratedCapacity": PUBLIC,
        f"{_TECH}.ratedEnergy": PUBLIC,
        f"{_TECH}.minimumVoltage": PUBLIC,
        f"{_TECH}.maximumVoltage": PUBLIC,
        f"{_TECH}.nominalVoltage": PUBLIC,
        f"{_TECH}.originalPowerCapability": PUBLIC,
        f"{_TECH}.powerFade": LEGITIMATE_INTEREST,
        f"{_TECH}.ratedMaximumPower": PUBLIC,
        f"{_TECH}.cRate": PUBLIC,
        f"{_TECH}.powerCapabilityRatio": PUBLIC,
        f"{_TECH}.roundtripEfficiency": PUBLIC,
        f"{_TECH}.roundTripEfficiencyat50PerCentCycleLife": PUBLIC,
        f"{_TECH}.roundTripEfficiencyFade": LEGITIMATE_INTEREST,
        f"{_TECH}.initialSelfDischarge": LEGITIMATE_INTEREST,
        f"{_TECH}.initialInternalResistance": PUBLIC,
        f"{_TECH}.expectedLifetime": LEGITIMATE_INTEREST,
        f"{_TECH}.expectedNumberOfCycles": PUBLIC,
        f"{_TECH}.lifetimeReferenceTest": PUBLIC,
        f"{_TECH}.cRateLifeCycleTest": PUBLIC,
        f"{_TECH}.capacityThresholdForExhaustion": PUBLIC,
        f"{_TECH}.temperatureRangeIdleState": PUBLIC,
        f"{_TECH}.temperatureRangeIdleState.minimum": PUBLIC,
        f"{_TECH}.temperatureRangeIdleState.maximum": PUBLIC,
        # the battery's condition (state of health and use): legitimate interest, every member
        f"{_COND}.remainingCapacity": LEGITIMATE_INTEREST,
        f"{_COND}.capacityFade": LEGITIMATE_INTEREST,
        f"{_COND}.remainingEnergy": LEGITIMATE_INTEREST,
        f"{_COND}.stateOfCertifiedEnergy": LEGITIMATE_INTEREST,
        f"{_COND}.stateOfCharge": LEGITIMATE_INTEREST,
        f"{_COND}.remainingPowerCapability": LEGITIMATE_INTEREST,
        f"{_COND}.remainingRoundTripEnergyEfficiency": LEGITIMATE_INTEREST,
        f"{_COND}.currentSelfDischargingRate": LEGITIMATE_INTEREST,
        f"{_COND}.evolutionOfSelfDischarge": LEGITIMATE_INTEREST,
        f"{_COND}.internalResistanceIncrease": LEGITIMATE_INTEREST,
        f"{_COND}.numberOfFullCycles": LEGITIMATE_INTEREST,
        f"{_COND}.energyThroughput": LEGITIMATE_INTEREST,
        f"{_COND}.capacityThroughput": LEGITIMATE_INTEREST,
        f"{_COND}.temperatureInformation": LEGITIMATE_INTEREST,
        f"{_COND}.temperatureInformation.timeExtremeHighTemp": LEGITIMATE_INTEREST,
        f"{_COND}.temperatureInformation.timeExtremeLowTemp": LEGITIMATE_INTEREST,
        f"{_COND}.temperatureInformation.timeExtremeHighTempCharging": LEGITIMATE_INTEREST,
        f"{_COND}.temperatureInformation.timeExtremeLowTempCharging": LEGITIMATE_INTEREST,
        f"{_COND}.negativeEvents": LEGITIMATE_INTEREST,
    }
)


# ----------------------------------------------------------------------------- selectors
@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Each:
    """`[]` (no filter) or `[?key=value]` / `[?key!=value]`."""

    key: str | None = None
    equal: bool = True
    value: Any = None


Segment = Key | Each

_TOKEN = re.compile(r"\.?([A-Za-z_]\w*)|\[\]|\[\?([A-Za-z_]\w*)(!=|=)([^\]]*)\]")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def _literal(text: str) -> Any:
    if text in ("true", "false", "null") or _NUMBER.fullmatch(text):
        return json.loads(text)
    return text


def parse_selector(text: str) -> tuple[Segment, ...]:
    """`A.b[?c=true].d` -> (Key('A'), Key('b'), Each('c', True, True), Key('d'))."""
    segments: list[Segment] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad passport selector {text!r} at position {pos}")
        if m.group(1):
            segments.append(Key(m.group(1)))
        elif m.group(0) == "[]":
            segments.append(Each())
        else:
            segments.append(Each(m.group(2), m.group(3) == "=", _literal(m.group(4))))
        pos = m.end()
    return tuple(segments)


def _same(a: Any, b: Any) -> bool:
    """JSON equality that keeps `true` apart from `1`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Item:
    """A step into a list in a concrete path: the element's index and the element itself."""

    index: int
    value: Any


Step = str | Item


def _segment_matches(segment: Segment, step: Step) -> bool:
    if isinstance(segment, Key):
        return isinstance(step, str) and step == segment.name
    if not isinstance(step, Item):
        return False
    if segment.key is None:
        return True
    element = step.value
    has = isinstance(element, dict) and segment.key in element
    equal = has and _same(element[segment.key], segment.value)
    return equal if segment.equal else not equal


def _specificity(segments: tuple[Segment, ...]) -> tuple[int, int]:
    return len(segments), sum(1 for s in segments if isinstance(s, Each) and s.key is not None)


def _index(table: Mapping[str, str]) -> Mapping[str, tuple[tuple[tuple[Segment, ...], str], ...]]:
    by_category: dict[str, list[tuple[tuple[Segment, ...], str]]] = {}
    for text, level in table.items():
        if level not in LEVELS:
            raise ValueError(f"unknown access level {level!r} for {text!r}")
        segments = parse_selector(text)
        first = segments[0]
        assert isinstance(first, Key)
        by_category.setdefault(first.name, []).append((segments, level))
    return MappingProxyType({k: tuple(v) for k, v in by_category.items()})


_SELECTORS: Final = _index(ACCESS)


def governing_level(path: Sequence[Step], table: Mapping[str, str] | None = None) -> str:
    """Access level of the value at `path` (category key first; list steps as `Item`)."""
    index = _SELECTORS if table is None else _index(table)
    if not path or not isinstance(path[0], str):
        return DEFAULT_LEVEL
    best: tuple[int, int] | None = None
    level = DEFAULT_LEVEL
    for segments, candidate in index.get(path[0], ()):
        if len(segments) > len(path):
            continue
        if all(_segment_matches(s, p) for s, p in zip(segments, path, strict=False)):
            spec = _specificity(segments)
            if best is None or spec > best:
                best, level = spec, candidate
            elif spec == best and LEVELS.index(candidate) > LEVELS.index(level):
                level = candidate
    return level


def visible(path: Sequence[Step], role: str) -> bool:
    """Whether `role` may read the value at `path`."""
    return governing_level(path) in ROLE_LEVELS[role]
