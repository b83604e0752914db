"""The command line as a user runs it: exit codes, one-line errors, no tracebacks, --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl

from bmts.ingest import write_bdf

BMTS = [sys.executable, "-c", "from bmts.services.cli.main import run; run()"]


def bmts(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"BMTS_HOME": str(home), "PATH": "/usr/bin:/bin", "COLUMNS": "120"}
    return subprocess.run([*BMTS, *args], capture_output=True, text=True, env=env, timeout=300)


def test_demo_ingest_cycles_and_list(tmp_path: Path, cell_frame: pl.DataFrame) -> None:
    home = tmp_path / "home"
    demo = bmts("demo", "--cells", "3", "--cycles", "12", home=home)
    assert demo.returncode == 0, demo.stderr
    assert "demo-cell-03" in demo.stdout
    listed = {b["id"]: b for b in json.loads(bmts("battery", "list", "--json", home=home).stdout)}
    assert {"demo-cell-01", "demo-cell-02", "demo-cell-03", "demo-pack-01", "demo-ev-01"} <= set(listed)
    assert listed["demo-cell-03"]["parent_id"] == "demo-module-01"
    assert listed["demo-pack-01"]["parent_id"] == "demo-ev-01"
    assert {"id", "kind", "chemistry", "parent_id"} <= set(listed["demo-cell-01"])
    verify = bmts("ledger", "verify", home=home)
    assert verify.returncode == 0 and "ledger ok" in verify.stdout
    path = write_bdf(cell_frame, tmp_path / "c.bdf.csv")
    assert bmts("ingest", str(path), "--battery-id", "c", home=home).returncode == 0
    out = tmp_path / "cycles.csv"
    assert bmts("cycles", "c", "-o", str(out), home=home).returncode == 0
    table = pl.read_csv(out)
    assert table.height == 5 and table["discharge_capacity_ah"][1] > 2.0


def test_bad_input_is_one_line_and_nothing_is_stored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = tmp_path / "broken.bdf.csv"
    bad.write_text("Test Time / s,Voltage / V,Current / A\n0,3.7,-1\n1,3.7\n")
    result = bmts("ingest", str(bad), home=home)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "broken.bdf.csv" in lines[0] and "row 3" in lines[0]
    assert "Traceback" not in result.stderr
    assert json.loads(bmts("battery", "list", "--json", home=home).stdout) == []
    unknown = bmts("cycles", "nobody", home=home)
    assert unknown.returncode == 1 and "nobody" in unknown.stderr and "Traceback" not in unknown.stderr
