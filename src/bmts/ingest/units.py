"""Header parsing for 'Quantity / unit' labels and conversion to the canonical BDF units."""

from __future__ import annotations

import re

from bmts.schema import LABEL_TO_NAME, TIMESERIES

# unit -> (canonical unit, scale, offset): canonical = value * scale + offset
_UNITS: dict[str, tuple[str, float, float]] = {
    "v": ("V", 1.0, 0.0),
    "mv": ("V", 1e-3, 0.0),
    "kv": ("V", 1e3, 0.0),
    "a": ("A", 1.0, 0.0),
    "ma": ("A", 1e-3, 0.0),
    "ua": ("A", 1e-6, 0.0),
    "µa": ("A", 1e-6, 0.0),
    "s": ("s", 1.0, 0.0),
    "ms": ("s", 1e-3, 0.0),
    "min": ("s", 60.0, 0.0),
    "h": ("s", 3600.0, 0.0),
    "ah": ("Ah", 1.0, 0.0),
    "mah": ("Ah", 1e-3, 0.0),
    "ma.h": ("Ah", 1e-3, 0.0),
    "a.h": ("Ah", 1.0, 0.0),
    "wh": ("Wh", 1.0, 0.0),
    "mwh": ("Wh", 1e-3, 0.0),
    "kwh": ("Wh", 1e3, 0.0),
    "w.h": ("Wh", 1.0, 0.0),
    "w": ("W", 1.0, 0.0),
    "mw": ("W", 1e-3, 0.0),
    "kw": ("W", 1e3, 0.0),
    "degc": ("degC", 1.0, 0.0),
    "°c": ("degC", 1.0, 0.0),
    "c": ("degC", 1.0, 0.0),
    "k": ("degC", 1.0, -273.15),
    "ohm": ("ohm", 1.0, 0.0),
    "mohm": ("ohm", 1e-3, 0.0),
    "ω": ("ohm", 1.0, 0.0),
    "mω": ("ohm", 1e-3, 0.0),
    "pa": ("Pa", 1.0, 0.0),
    "kpa": ("Pa", 1e3, 0.0),
    "1": ("1", 1.0, 0.0),
    "-": ("1", 1.0, 0.0),
}
_LABEL = re.compile(r"^\s*(.+?)\s*/\s*(\S+)\s*$")
_BASE_TO_NAME = {label.split(" / ")[0]: name for label, name in LABEL_TO_NAME.items()}


class UnitError(ValueError):
    """A header whose quantity is known but whose unit cannot be converted."""


def resolve_header(field: str) -> tuple[str, float, float] | None:
    """Map a BDF header (machine name or 'Label / unit') to (canonical name, scale, offset).

    None for a header outside the vocabulary; UnitError for a known quantity in an unknown unit.
    """
    key = field.strip()
    if key in TIMESERIES:
        return key, 1.0, 0.0
    if key.lower() in LABEL_TO_NAME:
        return LABEL_TO_NAME[key.lower()], 1.0, 0.0
    m = _LABEL.match(key)
    if not m:
        return None
    base, unit = m.group(1).lower(), m.group(2).lower()
    name = _BASE_TO_NAME.get(base)
    if name is None:
        return None
    target = TIMESERIES[name].unit
    conv = _UNITS.get(unit)
    if conv is None or conv[0] != target:
        raise UnitError(f"unit {m.group(2)!r} of {field!r} cannot be converted to {target}")
    return name, conv[1], conv[2]
