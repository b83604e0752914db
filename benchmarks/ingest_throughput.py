"""Ingest throughput of bmts next to the raw CSV -> Parquet ceiling measured in the same run.

    python benchmarks/ingest_throughput.py [--quick] [--size-mb 1000] [--repeat 2] [--no-real]

Part 1 — a generated BDF CSV (default ~1 GB, cached under benchmarks/_work/): the full bmts path
`bmts.ingest_paths(bmts.open_store(tmp), [file], battery_id=...)` (format detection, file SHA-256,
streaming validation and repair, content hash, Parquet write, SQLite commit) against
  * DuckDB  `COPY (SELECT * FROM read_csv(f)) TO 'x.parquet' (FORMAT parquet, COMPRESSION zstd)`
  * Polars  `pl.scan_csv(f).sink_parquet(...)` (zstd, Polars' default)
which only parse and re-encode: the ceiling for any CSV -> Parquet importer on this machine.
The file is read once beforehand so every contender reads it from the page cache; contenders run
interleaved, `--repeat` times, and the best time of each is reported. Target: bmts >= 50% of the faster
ceiling.

Part 2 — the real files in ../shared/data (skipped when absent): CALCE Arbin .xlsx (CS2_35), the
Panasonic 18650PF drive cycles (.mat), bdf_reference/*.bdf.csv and NASA PCoE B0005 (one CSV per
discharge): rows/s and MB/s of the input files; for the CSV sets also DuckDB's COPY of the same files.

Prints markdown tables; never asserts on time.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb
import polars as pl

import bmts
from _common import (
    MB,
    SHARED_DATA,
    WORK,
    disk_usage_bytes,
    fmt,
    fmt_int,
    generated_csv,
    machine_line,
    markdown_table,
    warm_page_cache,
    write_bdf_csv,
)


@dataclass
class Run:
    name: str
    seconds: float
    median: float
    rows: int
    output_bytes: int


def _scratch() -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="ingest-", dir=WORK))


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def bmts_ingest(paths: list[Path], battery_id: str | None) -> tuple[int, int]:
    """Ingest into a fresh store; (rows stored, store bytes). Raises if a file fails."""
    home = _scratch()
    try:
        results = bmts.ingest_paths(bmts.open_store(home), paths, battery_id=battery_id)
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise RuntimeError(f"bmts refused {failed[0].path}: {failed[0].message}")
        return sum(r.rows for r in results if r.status == "imported"), disk_usage_bytes(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def duckdb_copy(paths: list[Path]) -> tuple[int, int]:
    """Each CSV to its own zstd Parquet file with DuckDB (all cores); (rows, output bytes)."""
    out = _scratch()
    try:
        con = duckdb.connect()
        rows = 0
        for n, path in enumerate(paths):
            target = out / f"{n}.parquet"
            result = con.execute(
                f"COPY (SELECT * FROM read_csv('{_sql_path(path)}')) "
                f"TO '{_sql_path(target)}' (FORMAT parquet, COMPRESSION zstd)"
            ).fetchone()
            rows += int(result[0]) if result else 0
        con.close()
        return rows, disk_usage_bytes(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def polars_sink(paths: list[Path]) -> tuple[int, int]:
    """Each CSV to its own Parquet file with Polars' streaming engine; (rows, output bytes)."""
    out = _scratch()
    try:
        for n, path in enumerate(paths):
            pl.scan_csv(path).sink_parquet(out / f"{n}.parquet")
        rows = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in out.glob("*.parquet"))
        return int(rows), disk_usage_bytes(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def warm_up() -> None:
    """Load the reader plugins and the engines once, so no run pays for imports."""
    tiny = WORK / "warmup.bdf.csv"
    if not tiny.exists():
        write_bdf_csv(tiny, 200_000)
    bmts_ingest([tiny], "warm-up")
    duckdb_copy([tiny])
    polars_sink([tiny])


def interleaved(contenders: dict[str, Callable[[], tuple[int, int]]], repeat: int) -> list[Run]:
    """Run the contenders in turn, `repeat` rounds; best and median time of each."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    last: dict[str, tuple[int, int]] = {}
    for _ in range(max(1, repeat)):
        for name, fn in contenders.items():
            gc.collect()
            started = time.perf_counter()
            last[name] = fn()
            elapsed = time.perf_counter() - started
            times[name].append(elapsed)
            print(f"  {name}: {elapsed:.2f} s", file=sys.stderr, flush=True)
    return [
        Run(name, min(values), statistics.median(values), last[name][0], last[name][1])
        for name, values in times.items()
    ]


def generated_part(size_mb: float, repeat: int) -> None:
    path, meta = generated_csv(size_mb)
    size = path.stat().st_size
    warm_page_cache([path])
    print(
        f"\n## Generated BDF CSV: {path.name}, {size / MB:,.0f} MB, {meta['rows']:,} rows, "
        f"{meta['cycles']:,} cycles (best of {repeat})\n"
    )
    runs = interleaved(
        {
            "bmts ingest_paths": lambda: bmts_ingest([path], "generated"),
            "DuckDB COPY read_csv → Parquet": lambda: duckdb_copy([path]),
            "Polars scan_csv → sink_parquet": lambda: polars_sink([path]),
        },
        repeat,
    )
    ceiling = min(r.seconds for r in runs[1:])
    rows = []
    for r in runs:
        rows.append(
            [
                r.name,
                fmt(r.seconds, 2),
                fmt(r.median, 2),
                fmt(size / MB / r.seconds, 1),
                fmt_int(r.rows / r.seconds),
                fmt(r.output_bytes / MB, 1),
                f"{ceiling / r.seconds:.0%}",
            ]
        )
    print(
        markdown_table(
            ["path", "best s", "median s", "MB/s", "rows/s", "output MB", "vs faster ceiling"],
            rows,
        )
    )
    bmts_run = runs[0]
    print(
        f"\nbmts / faster ceiling = {ceiling / bmts_run.seconds:.0%} (target >= 50%); "
        f"rows stored {bmts_run.rows:,} of {meta['rows']:,} generated."
    )


def real_sets(data: Path) -> list[tuple[str, list[Path], str | None, bool]]:
    """(label, input paths, battery id or None for one per file, is CSV) for the sets present."""
    sets: list[tuple[str, list[Path], str | None, bool]] = []
    calce = data / "calce_cs2" / "CS2_35"
    if calce.is_dir():
        sets.append(("CALCE CS2_35, Arbin .xlsx", sorted(calce.glob("*.xlsx")), "calce-CS2_35", False))
    pana = data / "panasonic_18650pf"
    if pana.is_dir():
        drive = sorted(p for p in pana.glob("*/*/*.mat") if p.parent.name.lower().startswith("drive"))
        if drive:
            sets.append(("Panasonic 18650PF drive cycles, .mat", drive, "panasonic-18650pf", False))
    bdf = sorted((data / "bdf_reference").glob("*.bdf.csv"))
    if bdf:
        sets.append(("bdf_reference, .bdf.csv (Basytec, Maccor)", bdf, None, True))
    nasa = data / "nasa_pcoe" / "data" / "discharge_data" / "B0005"
    if nasa.is_dir():
        sets.append(
            ("NASA PCoE B0005, one CSV per discharge", sorted(nasa.glob("*.csv")), "nasa-B0005", True)
        )
    return sets


def real_part(repeat: int) -> None:
    if not SHARED_DATA.is_dir():
        print(f"\n(skipped the real data sets: {SHARED_DATA} is absent)")
        return
    sets = real_sets(SHARED_DATA)
    print(f"\n## Real data sets in {SHARED_DATA} (best of {repeat})\n")
    rows = []
    for label, paths, battery_id, is_csv in sets:
        size = sum(p.stat().st_size for p in paths)
        warm_page_cache(paths)
        print(f"{label}: {len(paths)} files", file=sys.stderr, flush=True)
        contenders: dict[str, Callable[[], tuple[int, int]]] = {
            "bmts": partial(bmts_ingest, paths, battery_id)
        }
        if is_csv:
            contenders["duckdb"] = partial(duckdb_copy, paths)
        runs = {r.name: r for r in interleaved(contenders, repeat)}
        b = runs["bmts"]
        d = runs.get("duckdb")
        rows.append(
            [
                label,
                len(paths),
                fmt(size / MB, 1),
                fmt_int(b.rows),
                fmt(b.seconds, 2),
                fmt_int(b.rows / b.seconds),
                fmt(size / MB / b.seconds, 1),
                fmt(size / MB / d.seconds, 1) if d else "-",
                f"{d.seconds / b.seconds:.0%}" if d else "-",
            ]
        )
    print(
        markdown_table(
            [
                "data set",
                "files",
                "input MB",
                "rows stored",
                "bmts s",
                "bmts rows/s",
                "bmts MB/s",
                "DuckDB COPY MB/s",
                "bmts / DuckDB",
            ],
            rows,
        )
    )
    print(
        "\nMB are the input files' bytes (xlsx and MAT are compressed containers, so rows/s is the"
        " comparable figure); DuckDB only parses and re-encodes, bmts also validates, hashes and commits."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 MB generated file, one round (< 2 min)")
    parser.add_argument("--size-mb", type=float, default=None, help="generated CSV size (default 1000)")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per contender (default 2)")
    parser.add_argument("--no-real", action="store_true", help="skip the ../shared/data sets")
    parser.add_argument("--no-generated", action="store_true", help="skip the generated file")
    args = parser.parse_args(argv)
    size_mb = args.size_mb or (100.0 if args.quick else 1000.0)
    repeat = args.repeat or (1 if args.quick else 2)

    print("# bmts ingest throughput\n")
    print(machine_line())
    warm_up()
    if not args.no_generated:
        generated_part(size_mb, repeat)
    if not args.no_real:
        real_part(repeat)


if __name__ == "__main__":
    main()
