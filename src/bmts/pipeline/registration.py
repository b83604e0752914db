"""Use cases of the registry: bulk registration from CSV, battery records from user input."""

from __future__ import annotations

import csv
import json
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

from bmts.registry import Battery, Registry
from bmts.schema import DataError, Issue

FLOAT_FIELDS = {"nominal_capacity_ah", "nominal_energy_wh", "nominal_voltage_v", "rated_power_w", "mass_kg"}
TEXT_FIELDS = (
    {f.name for f in fields(Battery)} - FLOAT_FIELDS - {"manufactured_on", "passport_data", "parent_id"}
)


def battery_from_fields(values: dict[str, Any], where: str, row: int | None = None) -> Battery:
    """A Battery from text fields (CSV cells or CLI options); DataError naming the field otherwise."""
    unknown = set(values) - TEXT_FIELDS - FLOAT_FIELDS - {"manufactured_on", "passport_data"}
    if unknown:
        raise DataError(Issue(where, f"unknown field(s): {', '.join(sorted(unknown))}", row))
    kwargs: dict[str, Any] = {}
    for name, raw in values.items():
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        text = raw.strip() if isinstance(raw, str) else raw
        try:
            if name in FLOAT_FIELDS:
                kwargs[name] = float(text)
            elif name == "manufactured_on":
                kwargs[name] = text if isinstance(text, date) else date.fromisoformat(str(text))
            elif name == "passport_data":
                kwargs[name] = text if isinstance(text, dict) else json.loads(text)
            else:
                kwargs[name] = str(text)
        except (ValueError, json.JSONDecodeError) as e:
            raise DataError(Issue(where, f"invalid value {str(raw)[:40]!r}: {e}", row, name)) from None
    if "id" not in kwargs:
        raise DataError(Issue(where, "battery id is missing", row, "id"))
    return Battery(**kwargs)


def register_from_csv(registry: Registry, path: Path, actor: str = "bmts") -> list[Battery]:
    """Register every row of a CSV (header = Battery field names) in one transaction: all rows or none."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = [(n, row) for n, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(Issue(str(path), f"unreadable CSV: {e}")) from None
    if not rows:
        raise DataError(Issue(str(path), "no batteries in the file"))
    batteries = []
    for n, row in rows:
        if None in row:
            raise DataError(Issue(str(path), "more fields than header columns", n))
        battery = battery_from_fields(dict(row), str(path), n)
        batteries.append(battery)
    line_of = {b.id: n for (n, _), b in zip(rows, batteries, strict=True)}
    try:
        registry.register_many(batteries, actor)
    except DataError as e:
        raise DataError(
            Issue(
                str(path),
                f"battery {e.issue.file}: {e.issue.message}",
                line_of.get(e.issue.file),
                e.issue.column,
            )
        ) from None
    return batteries
