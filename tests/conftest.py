"""Shared fixtures: small generated data (runs anywhere) and the path to ../shared/data when present."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bmts.pipeline.sample_data import CellSpec, simulate_cell
from shared_location import SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cell_frame() -> pl.DataFrame:
    """Five simulated CC-CV cycles of a 2.5 Ah cell, canonical columns."""
    return simulate_cell(CellSpec("t-cell", capacity_ah=2.5), cycles=5, seed=1)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BMTS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
