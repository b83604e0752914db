"""Bulk registration from CSV is all-or-nothing and names the row at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmts.pipeline.registration import register_from_csv
from bmts.registry import Registry
from bmts.schema import DataError
from bmts.storage.database import create_engine, migrate

HEADER = "id,kind,category,chemistry,nominal_capacity_ah,manufactured_on,serial_number\n"


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    engine = create_engine(f"sqlite:///{tmp_path / 'r.sqlite'}")
    migrate(engine)
    return Registry(engine)


def test_rows_register_with_typed_fields(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "b.csv"
    path.write_text(HEADER + "C1,cell,ev,NMC,5.0,2024-03-01,S1\nC2,cell,ev,NMC,5.1,2024-03-02,S2\n")
    register_from_csv(registry, path)
    c2 = registry.get("C2")
    assert c2.nominal_capacity_ah == 5.1 and c2.manufactured_on.isoformat() == "2024-03-02"
    assert [e.kind for e in registry.history("C1")] == ["manufactured"]


@pytest.mark.parametrize(
    ("rows", "line", "message"),
    [
        ("C1,cell,ev,NMC,5.0,2024-03-01,S1\nC2,cell,ev,NMC,five,2024-03-02,S2\n", 3, "invalid value"),
        ("C1,cell,ev,NMC,5.0,2024-03-01,S1\nC2,cell,ev,NMC,5.0,2024-13-02,S2\n", 3, "invalid value"),
        ("C1,cell,ev,NMC,5.0,2024-03-01,S1\nC2,cell,ev,NMC,5.0,2024-03-02,S1\n", 3, "already used"),
        ("C1,cell,ev,NMC,5.0,2024-03-01,S1\nC1,cell,ev,NMC,5.0,2024-03-02,S2\n", None, "appears twice"),
        ("C1,brick,ev,NMC,5.0,2024-03-01,S1\n", 2, "unknown kind"),
    ],
)
def test_a_bad_row_registers_nothing(
    tmp_path: Path, registry: Registry, rows: str, line: int | None, message: str
) -> None:
    path = tmp_path / "b.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(DataError, match=message) as info:
        register_from_csv(registry, path)
    if line is not None:
        assert info.value.issue.row == line
    with pytest.raises(DataError, match="unknown battery"):
        registry.get("C1")
