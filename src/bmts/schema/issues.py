"""Precise descriptions of what is wrong with input data, and the repairs made to it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    """One problem found in input: where (file, row, column) and what."""

    file: str
    message: str
    row: int | None = None  # 1-based line (text files) or record number (binary files)
    column: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"


class DataError(Exception):
    """Input that cannot be accepted; carries the `Issue` that says why."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(str(issue))
        self.issue = issue


@dataclass(frozen=True)
class Repair:
    """A repairable problem that was fixed on import, kept with the data as provenance."""

    kind: str  # e.g. "time_reset", "duplicate_rows", "current_sign"
    detail: str
    rows: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "detail": self.detail, "rows": self.rows}


@dataclass
class Provenance:
    """Where a stored segment came from and what was done to it on the way in."""

    source_file: str
    reader: str
    repairs: list[Repair] = field(default_factory=list)
