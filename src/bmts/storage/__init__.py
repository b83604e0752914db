"""Storage behind small protocols: metadata in SQLite (embedded default) or PostgreSQL, time series in Parquet."""

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
    """The store at `url`: a directory (embedded SQLite), file:// URL, or postgresql://... (metadata in
    PostgreSQL, time series under $BMTS_HOME); default $BMTS_HOME."""
    if url is None:
        return EmbeddedStore(default_home())
    text = str(url)
    if text.startswith("file://"):
        return EmbeddedStore(Path(text[len("file://") :]))
    if text.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        text = text.replace("postgres://", "postgresql://", 1)
        try:
            return EmbeddedStore(default_home(), database_url=text)
        except Exception as e:  # connection refused, bad credentials, unknown database
            where = text.split("@")[-1]
            raise DataError(Issue(where, f"cannot open the store: {str(e).splitlines()[0][:160]}")) from None
    if "://" in text:
        raise DataError(
            Issue(text.split("@")[-1], "unsupported store URL (use a directory or postgresql://...)")
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
