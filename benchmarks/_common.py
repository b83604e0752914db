"""Helpers shared by the benchmark scripts: paths, the generated BDF CSV, timing and markdown tables.

Nothing here asserts on time: every script prints bmts's figures next to a reference measured in the
same run, so a slow or noisy machine shows up in both columns and the ratio stays meaningful.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
#: scratch space for generated inputs and throwaway environments (git-ignored)
WORK = BENCH / "_work"
#: the public data sets, never copied into the repository: $BMTS_SHARED/data, else the first shared/data beside
#: the checkout or one of its parent folders (as tests/shared_location.py finds it)
SHARED_DATA = (
    Path(os.environ["BMTS_SHARED"]) / "data"
    if os.environ.get("BMTS_SHARED")
    else next(
        (
            p / "shared" / "data"
            for p in Path(__file__).resolve().parents[1:]
            if (p / "shared" / "data").is_dir()
        ),
        Path(__file__).resolve().parents[2] / "shared" / "data",
    )
)

MB = 1e6  # throughput is quoted in decimal megabytes of input file

BDF_HEADER = [
    "test_time_second",
    "voltage_volt",
    "current_ampere",
    "cycle_count",
    "step_count",
    "temperature_t1_celsius",
]
#: bump when the generator changes so cached files are rebuilt
GENERATOR_VERSION = 1


# -- generated input ---------------------------------------------------------------------------------


def _ocv(soc: np.ndarray) -> np.ndarray:
    """The same NMC/graphite-like open-circuit voltage as bmts.pipeline.sample_data."""
    s = np.minimum(soc, 1.0)
    return 3.3 + 0.85 * s - 0.3 * np.exp(-10 * s) + 0.05 * np.exp(-(1 - s) * 25)


def cycle_template(capacity_ah: float = 2.5, r_ohm: float = 0.035, dt: float = 1.0) -> tuple[np.ndarray, ...]:
    """One lab cycle sampled every `dt` s: CC charge 0.5C to 4.2 V, CV to C/20, rest 10 min,
    CC discharge 1C to 2.8 V, rest 10 min. Returns (time from 0, voltage, current, step 1..5)."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    # CC charge from empty
    i_ch = 0.5 * capacity_ah
    t = np.arange(dt, 3 * 3600 + dt, dt)
    soc = 0.02 + i_ch * t / 3600 / capacity_ah
    v = _ocv(soc) + i_ch * r_ohm * (1 - 0.4 * np.exp(-t / 60))
    n = int(np.argmax(v >= 4.2)) + 1 if np.any(v >= 4.2) else t.size
    parts.append((t[:n], np.minimum(v[:n], 4.2), np.full(n, i_ch), 1))
    soc_top = float(soc[n - 1])
    # CV hold: current decays exponentially to C/20
    tau = 900.0
    t = np.arange(dt, tau * np.log(i_ch / (capacity_ah / 20)) + dt, dt)
    i = i_ch * np.exp(-t / tau)
    soc_top += float(np.sum(i) * dt / 3600 / capacity_ah)
    parts.append((t, np.full(t.size, 4.2), i, 2))
    # rest: relaxation towards OCV
    t = np.arange(dt, 600 + dt, dt)
    top = float(_ocv(np.array([soc_top]))[0])
    parts.append((t, top + (4.2 - top) * np.exp(-t / 120), np.zeros(t.size), 3))
    # CC discharge 1C to 2.8 V
    t = np.arange(dt, 1.2 * 3600 + dt, dt)
    soc = soc_top - capacity_ah * t / 3600 / capacity_ah
    v = _ocv(soc) - capacity_ah * r_ohm * (1 - 0.4 * np.exp(-t / 60))
    n = int(np.argmax(v <= 2.8)) + 1 if np.any(v <= 2.8) else t.size
    parts.append((t[:n], v[:n], np.full(n, -capacity_ah), 4))
    bottom = float(_ocv(np.array([soc[n - 1]]))[0])
    # rest
    t = np.arange(dt, 600 + dt, dt)
    parts.append((t, bottom + (float(v[n - 1]) - bottom) * np.exp(-t / 120), np.zeros(t.size), 5))
    times, volts, amps, steps, offset = [], [], [], [], 0.0
    for t, v, i, step in parts:
        times.append(t + offset)
        volts.append(v)
        amps.append(i)
        steps.append(np.full(t.size, step, dtype=np.int64))
        offset = float(times[-1][-1])
    return np.concatenate(times), np.concatenate(volts), np.concatenate(amps), np.concatenate(steps)


def write_bdf_csv(path: Path, target_bytes: int, seed: int = 0, cycles_per_block: int = 32) -> dict[str, int]:
    """Write a BDF CSV (machine-readable header) of about `target_bytes`: realistic 1 s cycling data with
    sensor noise, slow capacity fade and a counting cycle and step column. Blocks of cycles are built
    with NumPy and appended with Polars' CSV writer, so ~1 GB takes well under a minute."""
    rng = np.random.default_rng(seed)
    t0, v0, i0, s0 = cycle_template()
    period = float(t0[-1])
    per_cycle = t0.size
    tmp = path.with_suffix(".partial")
    rows = cycles = written = 0
    with open(tmp, "wb") as fh:
        while written < target_bytes:
            k = cycles_per_block
            n = k * per_cycle
            cyc = np.repeat(np.arange(cycles + 1, cycles + k + 1, dtype=np.int64), per_cycle)
            fade = 1.0 - 2e-4 * (cyc - 1)  # the cell loses a little capacity and gains resistance
            t = np.tile(t0, k) + np.repeat(np.arange(cycles, cycles + k) * period, per_cycle)
            i = np.tile(i0, k)
            v = np.tile(v0, k) + (1 - fade) * 0.5 * np.sign(i) * 0.035 * np.abs(i)
            v = v + rng.normal(0.0, 5e-4, n)
            i = i * np.where(i != 0, fade, 1.0) + rng.normal(0.0, 2e-4, n) * (i != 0)
            temp = 25.0 + 0.02 * i**2 * 40 + rng.normal(0.0, 0.05, n)
            frame = pl.DataFrame(
                {
                    "test_time_second": t,
                    "voltage_volt": np.round(v, 5),
                    "current_ampere": np.round(i, 5),
                    "cycle_count": cyc,
                    "step_count": np.tile(s0, k) + 5 * (cyc - 1),
                    "temperature_t1_celsius": np.round(temp, 3),
                }
            )
            frame.write_csv(fh, include_header=rows == 0)
            rows += n
            cycles += k
            written = fh.tell()
    os.replace(tmp, path)
    return {"rows": rows, "cycles": cycles, "bytes": written}


def generated_csv(size_mb: float, seed: int = 0) -> tuple[Path, dict[str, int]]:
    """The cached generated BDF CSV of about `size_mb` MB under benchmarks/_work (built when missing)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"generated_{round(size_mb)}MB_seed{seed}.bdf.csv"
    meta_path = path.with_name(path.name + ".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == GENERATOR_VERSION and meta.get("bytes") == path.stat().st_size:
            return path, meta
    print(f"generating {path.name} (~{size_mb:.0f} MB) ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    meta = write_bdf_csv(path, int(size_mb * MB), seed)
    meta["version"] = GENERATOR_VERSION
    meta_path.write_text(json.dumps(meta))
    print(f"  generated in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return path, meta


def warm_page_cache(paths: Iterable[Path]) -> None:
    """Flush pending writes, then read the files once so every contender reads them from the page cache."""
    os.sync()
    for p in paths:
        with open(p, "rb") as fh:
            while fh.read(16 << 20):
                pass


def disk_usage_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


# -- timing --------------------------------------------------------------------------------------------


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """(best, median, last result) wall-clock seconds of `repeat` calls."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        elapsed, result = timed(fn)
        times.append(elapsed)
    return min(times), float(np.median(times)), result


# -- output --------------------------------------------------------------------------------------------


def rmse_pct(a: np.ndarray, b: np.ndarray) -> float:
    """RMSE of two fractions (SOC, SOH) in percent (points)."""
    return float(np.sqrt(np.mean((a - b) ** 2)) * 100)


def within_two_sigma_pct(est: np.ndarray, std: np.ndarray, truth: np.ndarray) -> float:
    """Share (%) of the samples whose error is within two reported standard deviations: ~95 % when the
    estimator's uncertainty is honest, less when it is over-confident."""
    return float(np.mean(np.abs(est - truth) <= 2.0 * std) * 100)


def best_scale_pct(est: np.ndarray, truth: np.ndarray, nominal: float) -> float:
    """RMSE (% of nominal) after the one scale factor that fits the estimate to the truth best (least squares):
    how well a partial estimate tracks the fade, apart from the absolute scale (first cycles taken as nominal)
    that window-only data cannot see. A diagnostic that uses the truth, not an estimate."""
    scale = float(np.sum(est * truth) / np.sum(est * est))
    return rmse_pct(est * scale / nominal, truth / nominal)


def bms_sensors(
    case: str, seed: int, current_a: np.ndarray, voltage_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The acceptance check's BMS-grade sensors for one case: a current offset of 20-50 mA and a gain error
    of 0.5-1.5 % (either sign), 2 mV voltage noise, drawn from (seed, crc32 of the case name)."""
    rng = np.random.default_rng([seed, zlib.crc32(case.encode())])
    offset = rng.uniform(0.02, 0.05) * rng.choice([-1, 1])
    gain = 1 + rng.uniform(0.005, 0.015) * rng.choice([-1, 1])
    return gain * current_a + offset, voltage_v + rng.normal(0, 0.002, voltage_v.size)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub markdown table; numbers right-aligned."""
    body = [[str(c) for c in r] for r in rows]
    align = ["---:" if body and all(_numeric(r[k]) for r in body) else "---" for k in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _numeric(text: str) -> bool:
    t = text.replace(",", "").replace("%", "").replace("x", "").replace("×", "").strip()
    try:
        float(t)
    except ValueError:
        return t in ("", "-", "n/a")
    return True


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def fmt_int(value: float | None) -> str:
    return "n/a" if value is None else f"{round(value):,}"


def machine_line() -> str:
    """Date, CPU and library versions, printed at the top of every benchmark."""
    import duckdb
    import pyarrow

    import bmts

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs ({cpu}) · "
        f"Python {platform.python_version()} · bmts {bmts.__version__} · polars {pl.__version__} · "
        f"pyarrow {pyarrow.__version__} · duckdb {duckdb.__version__} · numpy {np.__version__}"
    )


def bmts_cli() -> str:
    """The installed `bmts` command of the running interpreter's environment."""
    beside = Path(sys.executable).parent / "bmts"
    if beside.exists():
        return str(beside)
    found = shutil.which("bmts")
    if found:
        return found
    raise SystemExit("the bmts command is not installed (pip install -e . in the project venv)")


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
