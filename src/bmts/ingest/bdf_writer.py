"""Write canonical time series as Battery Data Format files (CSV with preferred labels, or Parquet)."""

from __future__ import annotations

import contextlib
import gzip
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from bmts.schema import TIMESERIES


def to_bdf_frame(frame: pl.DataFrame, labels: bool = True) -> pl.DataFrame:
    """Canonical columns first in vocabulary order, renamed to preferred labels if `labels`."""
    known = [name for name in TIMESERIES if name in frame.columns]
    extra = [c for c in frame.columns if c not in TIMESERIES]
    out = frame.select(known + extra)
    return out.rename({n: TIMESERIES[n].label for n in known}) if labels else out


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path`, moved onto it only if the block succeeds. The block creates the
    file, so it gets the usual permissions (the user's umask), not a private temporary file's."""
    target = Path(path)
    tmp = target.parent / f".bmts-{uuid.uuid4().hex[:12]}-{target.name}"
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bdf(frame: pl.DataFrame, path: str | Path, labels: bool = True) -> Path:
    """Write `frame` to `path` (.bdf.csv, .bdf.gz/.csv.gz or .bdf.parquet), atomically."""
    out = to_bdf_frame(frame, labels)
    name = Path(path).name.lower()
    with atomic_path(path) as tmp:
        if name.endswith(".parquet"):
            out.write_parquet(tmp, compression="zstd")
        elif name.endswith(".gz"):
            with gzip.open(tmp, "wb") as fh:
                fh.write(out.write_csv().encode())
        else:
            out.write_csv(tmp)
    return Path(path)


def write_frame(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write a result table atomically: Parquet for a .parquet name, else CSV."""
    with atomic_path(path) as tmp:
        if str(path).lower().endswith(".parquet"):
            frame.write_parquet(tmp)
        else:
            frame.write_csv(tmp)
    return Path(path)
