"""Storage behind small protocols; the embedded SQLite + Parquet store is the default."""

from __future__ import annotations

import os
from pathlib import Path

from bmts.schema import DataError, Issue
from bmts.storage.embedded import EmbeddedStore
from bmts.storage.protocols import BatteryRecord, SegmentMeta, SegmentRecord, SegmentWriter, Store


def default_home() -> Path:
    """$BMTS_HOME, else ~/.local/share/bmts (per user)."""
    env = os.environ.get("BMTS_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bmts"


def open_store(url: str | Path | None = None) -> EmbeddedStore:
    """The store at `url`: a directory path or file:// URL (embedded store); default $BMTS_HOME."""
    if url is None:
        return EmbeddedStore(default_home())
    text = str(url)
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        raise DataError(
            Issue(
                text.split("@")[-1],
                "this store URL scheme is not supported by this version; "
                "use a directory for the embedded store",
            )
        )
    return EmbeddedStore(Path(text))


__all__ = [
    "BatteryRecord",
    "EmbeddedStore",
    "SegmentMeta",
    "SegmentRecord",
    "SegmentWriter",
    "Store",
    "default_home",
    "open_store",
]
