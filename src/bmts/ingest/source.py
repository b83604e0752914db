"""Open any supported file as a stream of validated canonical frames."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from bmts.ingest.base import Reader, detect
from bmts.ingest.normalize import Normalizer, Summary
from bmts.schema import Repair


@dataclass
class Source:
    """One input file, its detected format, and (after iteration) what was accepted from it."""

    path: Path
    reader: Reader
    repairs: list[Repair] = field(default_factory=list)
    normalizer: Normalizer | None = None

    @property
    def summary(self) -> Summary:
        assert self.normalizer is not None, "iterate the source first"
        return self.normalizer.summary

    def attributes(self) -> dict[str, float]:
        """Facts the format defines for this file (e.g. the data set's end-of-discharge voltage)."""
        describe = getattr(self.reader, "attributes", None)
        return dict(describe(self.path)) if callable(describe) else {}

    def frames(self) -> Iterator[pl.DataFrame]:
        """Validated, repaired canonical frames, one block at a time (bounded memory)."""
        self.repairs.clear()
        self.normalizer = Normalizer(str(self.path), self.repairs)
        yield from self.normalizer.run(self.reader.read(self.path, self.repairs))


def open_source(path: str | Path) -> Source:
    """Detect the format of `path` by its content; raises DataError naming the file when unknown."""
    p = Path(path)
    return Source(p, detect(p))


def read_timeseries(path: str | Path, repairs: list[Repair] | None = None) -> pl.DataFrame:
    """The whole file as one canonical frame (BDF names, bmts sign convention). For files that fit in memory.
    What was repaired on the way in is appended to `repairs` when given."""
    source = open_source(path)
    frames = list(source.frames())
    if repairs is not None:
        repairs.extend(source.repairs)
    return pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]
