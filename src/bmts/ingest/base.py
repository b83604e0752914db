"""The reader plugin interface and format detection.

A reader turns one file into canonical time-series chunks: Polars frames whose columns are BDF
machine-readable names (`bmts.schema.TIMESERIES`), in SI-ish BDF units, with bmts's sign
convention (current > 0 = charging). Readers are found through the ``bmts.readers`` entry-point
group, built-ins included, so a third-party package adds a cycler format without touching bmts.
Detection is by content: every reader scores the file's first bytes; the extension only breaks ties
and catches mislabelled files.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import polars as pl

from bmts.schema import DataError, Issue, Repair

HEAD_BYTES = 64 * 1024
ENTRY_POINT_GROUP = "bmts.readers"


@dataclass
class Chunk:
    """A block of canonical rows, with the file row of its first row for error messages."""

    frame: pl.DataFrame
    first_row: int | None = None  # 1-based line/record number in the source of frame's first row


@runtime_checkable
class Reader(Protocol):
    """One cycler or data-set format."""

    name: ClassVar[str]
    #: lower-case file endings this format uses, e.g. (".csv",) or (".bdf.parquet",)
    extensions: ClassVar[tuple[str, ...]]

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence 0..1 that `path`, whose first bytes are `head`, is in this format."""
        ...

    def read(self, path: Path, repairs: list[Repair]) -> Iterator[Chunk]:
        """Yield canonical chunks; append any repair made to `repairs`; raise DataError on bad input."""
        ...

    # Optional: ``attributes(path) -> dict[str, float]`` for facts the format defines, such as
    # ``end_of_discharge_voltage_volt`` (the voltage the data set's own capacity figure stops at).


@cache
def registered_readers() -> dict[str, Reader]:
    """All registered readers by name (entry-point group ``bmts.readers``)."""
    found: dict[str, Reader] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = ep.load()()
        except Exception as e:  # a broken plugin must not take the other formats down with it
            warnings.warn(f"bmts reader plugin {ep.name!r} failed to load: {e}", RuntimeWarning, stacklevel=2)
    return found


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower() if len(path.suffixes) > 1 else path.suffix.lower()


def owns_extension(reader: Reader, path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(ext) for ext in reader.extensions)


def detect(path: Path) -> Reader:
    """The reader for `path`, chosen by content; DataError naming the file when none fits."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as e:
        raise DataError(Issue(str(path), f"cannot open: {e.strerror or e}")) from None
    if not head:
        raise DataError(Issue(str(path), "empty file"))
    scored = sorted(
        (
            (r.sniff(path, head) + (0.01 if owns_extension(r, path) else 0.0), r)
            for r in registered_readers().values()
        ),
        key=lambda item: item[0],
        reverse=True,
    )
    score, best = scored[0] if scored else (0.0, None)
    if best is None or score < 0.2:
        raise DataError(Issue(str(path), "unknown format: no bmts reader recognises this content"))
    claimed = [r for r in registered_readers().values() if owns_extension(r, path)]
    if claimed and best not in claimed:
        raise DataError(
            Issue(
                str(path), f"content is {best.name} data but the name says {_suffix(path)}: rename the file"
            )
        )
    return best
