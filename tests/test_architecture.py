"""The layer contract in pyproject.toml holds, and the public API is what __all__ says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import bmts

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: " in result.stdout and " broken" in result.stdout


def test_public_api_is_explicit() -> None:
    assert sorted(bmts.__all__) == sorted(
        [
            "__version__",
            "read_timeseries",
            "write_bdf",
            "cycle_summary",
            "open_store",
            "ingest_paths",
            "battery_cycles",
            "battery_curves",
            "DataError",
            "Issue",
        ]
    )
    for name in bmts.__all__:
        assert hasattr(bmts, name), name


def test_every_module_is_small() -> None:
    for path in (ROOT / "src" / "bmts").rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 500, path


def test_importing_bmts_has_no_side_effects(tmp_path: Path) -> None:
    code = "import bmts, bmts.services.cli.main, os; print(sorted(os.listdir('.')))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
