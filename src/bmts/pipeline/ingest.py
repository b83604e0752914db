"""Use case: import files into a store, one all-or-nothing segment per file, idempotently."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bmts.ingest import open_source
from bmts.ingest.telemetry import is_telemetry
from bmts.schema import DataError, Issue
from bmts.storage import SegmentMeta, Store

_DIGITS = re.compile(r"(\d+)")


@dataclass
class IngestResult:
    """What happened to one file."""

    path: str
    battery_id: str
    status: str  # "imported", "unchanged" (already stored) or "failed"
    rows: int = 0
    reader: str = ""
    message: str = ""
    repairs: list[dict[str, object]] = field(default_factory=list)


def natural_key(path: str | Path) -> list[object]:
    """Sort key so that dis_2 comes before dis_10."""
    return [int(p) if p.isdigit() else p.lower() for p in _DIGITS.split(str(path))]


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and every non-hidden file below directories named, in natural order."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = [
                f
                for f in p.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            ]
            files.extend(sorted(found, key=natural_key))
        else:
            files.append(p)
    return files


def default_battery_id(path: Path) -> str:
    """File name without its extensions (BDF style names keep their double underscores)."""
    return path.name.split(".")[0] or path.name


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ingest_file(store: Store, path: Path, battery_id: str) -> IngestResult:
    """Import one file as one segment of `battery_id`; bad input leaves nothing behind."""
    if not path.exists():
        raise DataError(Issue(str(path), "no such file"))
    if is_telemetry(path):
        raise DataError(
            Issue(
                str(path),
                "pack telemetry (pack_id, cell_id columns), not one cell's file: bmts soc and bmts soh read it"
                " cell by cell",
            )
        )
    sha = file_sha256(path)
    known = store.find_source(battery_id, sha)
    if known is not None:
        return IngestResult(str(path), battery_id, "unchanged", known.rows, known.reader, "already imported")
    source = open_source(path)
    writer = store.begin_segment(battery_id)
    try:
        for frame in source.frames():
            writer.write(frame)
    except BaseException:
        writer.abort()
        raise
    summary = source.summary
    repairs = [r.as_dict() for r in source.repairs]
    record = writer.commit(
        SegmentMeta(
            source_path=str(path.resolve()),
            source_sha256=sha,
            content_sha256=summary.content_sha256,
            reader=source.reader.name,
            rows=summary.rows,
            first_time_second=summary.first_time_second,
            last_time_second=summary.last_time_second,
            start_unix_second=summary.start_unix_second,
            repairs=repairs,
            attributes=source.attributes(),
        )
    )
    if record is None:
        return IngestResult(
            str(path),
            battery_id,
            "unchanged",
            summary.rows,
            source.reader.name,
            "the same measurements are already stored (from another file)",
        )
    return IngestResult(str(path), battery_id, "imported", summary.rows, source.reader.name, repairs=repairs)


def ingest_paths(
    store: Store,
    paths: Iterable[str | Path],
    battery_id: str | None = None,
    progress: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Import every file under `paths`; a bad file is reported and skipped, the good ones still import."""
    results = []
    for path in expand_paths(paths):
        bid = battery_id or default_battery_id(path)
        try:
            result = ingest_file(store, path, bid)
        except DataError as e:
            result = IngestResult(str(path), bid, "failed", message=str(e.issue))
        results.append(result)
        if progress is not None:
            progress(result)
    return results
