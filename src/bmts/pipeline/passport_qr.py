"""Use case: the QR code that links a registered battery to its passport (payload and PNG/SVG image).

The passport identifier is the one in the battery's passport data
(`GeneralProductInformation.batteryPassportIdentifier`, what a reader of the passport sees), else the
registered `passport_id`. The resolver base URL comes from the caller (the CLI: `--resolver`, else
`$BMTS_PASSPORT_RESOLVER`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import segno

from bmts.analytics.passport_link import passport_link
from bmts.ingest.bdf_writer import atomic_path
from bmts.registry import Registry
from bmts.schema import DataError, Issue

#: QR error correction: M restores up to 15% of a damaged or dirty label
ERROR_CORRECTION = "M"
IMAGE_KINDS = {".png": "png", ".svg": "svg"}


@dataclass(frozen=True)
class PassportQr:
    identifier: str
    payload: str
    conflict: str | None = None  # set when the registered passport_id names another identifier


def passport_qr(registry: Registry, battery_id: str, resolver: str | None = None) -> PassportQr | None:
    """The battery's QR payload, or None when no passport identifier is registered for it."""
    battery = registry.get(battery_id)
    general = registry.passport_data(battery_id).get("GeneralProductInformation") or {}
    documented = general.get("batteryPassportIdentifier")
    identifier = documented if isinstance(documented, str) and documented else battery.passport_id
    if not identifier:
        return None
    conflict = None
    if battery.passport_id and battery.passport_id != identifier:
        conflict = (
            f"registered passport_id {battery.passport_id} differs from the passport data's "
            f"batteryPassportIdentifier {identifier}; the QR code uses the latter"
        )
    return PassportQr(identifier, passport_link(identifier, resolver), conflict)


def write_qr(payload: str, path: Path, scale: int = 8) -> Path:
    """Write the QR code of `payload` to `path` (.png or .svg), atomically, with the standard 4-module
    quiet zone."""
    kind = IMAGE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise DataError(Issue(str(path), "the QR image must be a .png or .svg file"))
    code = segno.make(payload, error=ERROR_CORRECTION, boost_error=False)
    with atomic_path(path) as tmp:
        code.save(str(tmp), kind=kind, scale=scale, border=4)
    return path
