"""Lint, format and type checks are part of the test suite, so one command checks everything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


TREES = [d for d in ("src", "tests", "benchmarks") if (ROOT / d).is_dir()]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint_is_clean() -> None:
    r = _run(str(BIN / "ruff"), "check", *TREES)
    assert r.returncode == 0, r.stdout


def test_ruff_format_is_applied() -> None:
    r = _run(str(BIN / "ruff"), "format", "--check", *TREES)
    assert r.returncode == 0, r.stdout


def test_mypy_is_clean() -> None:
    r = _run(str(BIN / "mypy"))
    assert r.returncode == 0, r.stdout
