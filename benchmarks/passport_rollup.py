"""Passport assembly of a pack without telemetry of its own, whose condition is rolled up from its cells.

Registers a pack of `--modules` modules in series, each `--parallel` cells in parallel, simulates and
ingests every cell (`--cycles` cycles), then times the pack's authority passport (genealogy walk, every
cell's condition from its telemetry, the rollup, assembly and role filter). The reference beside it, in the
same run, is the sum of the cells' own passports (the same telemetry read once per cell): their ratio is
what the walk and the rollup add. The pure rollup of the cells' conditions is timed on its own too.

    python benchmarks/passport_rollup.py                     # 8 x 16 = 128 cells, 8 cycles each
    python benchmarks/passport_rollup.py --modules 12 --parallel 24 --cycles 4
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from bmts.analytics.condition_rollup import Constituent, infer_layout, rollup_condition
from bmts.analytics.passport_sample import sample_static
from bmts.ingest import write_bdf
from bmts.pipeline.ingest import ingest_paths
from bmts.pipeline.passport import battery_passport, condition_of, ratings_of
from bmts.pipeline.sample_data import sample_fleet, simulate_cell
from bmts.registry import Battery, Registry
from bmts.storage import EmbeddedStore

MADE = date(2025, 1, 6)
PACK = "bench-pack"


def _build(home: Path, modules: int, parallel: int, cycles: int) -> tuple[EmbeddedStore, list[str]]:
    store = EmbeddedStore(home)
    registry = Registry(store.engine)
    fleet = sample_fleet(modules * parallel)
    module_ids = [f"bench-module-{m + 1:02d}" for m in range(modules)]

    def battery(bid: str, kind: str, series: int, par: int) -> Battery:
        static = sample_static(bid, kind, "ev", MADE, series=series, parallel=par)
        return Battery(bid, kind=kind, category="ev", manufactured_on=MADE, passport_data=static)

    registry.register_many(
        [
            battery(PACK, "pack", modules, parallel),
            *(battery(m, "module", 1, parallel) for m in module_ids),
            *(battery(c.cell_id, "cell", 1, 1) for c in fleet),
        ]
    )
    installed = datetime(2025, 1, 8, tzinfo=UTC)
    for n, cell in enumerate(fleet):
        registry.install(module_ids[n // parallel], cell.cell_id, installed)
    for module in module_ids:
        registry.install(PACK, module, installed)
    paths = []
    for n, spec in enumerate(fleet):
        paths.append(write_bdf(simulate_cell(spec, cycles, seed=n), home / f"{spec.cell_id}.bdf.parquet"))
    ingest_paths(store, paths)
    return store, [c.cell_id for c in fleet]


def _median_s(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=8)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        store, cells = _build(Path(tmp), args.modules, args.parallel, args.cycles)
        setup_s = time.perf_counter() - start
        pack_s = _median_s(lambda: battery_passport(store, PACK, "authority"), args.repeat)
        cells_s = _median_s(lambda: [battery_passport(store, c, "authority") for c in cells], args.repeat)

        registry = Registry(store.engine)
        now = datetime.now(UTC)
        parts = []
        for c in cells:  # the cells directly under the pack: the rollup of one level of 128 constituents
            battery, static = registry.get(c), registry.passport_data(c)
            rating, _ = ratings_of(battery, static)
            parts.append(Constituent(c, condition_of(store, registry, battery, static, now), rating))
        pack_rating, pack_inputs = ratings_of(registry.get(PACK), registry.passport_data(PACK))
        layout = infer_layout(len(parts), pack_rating, [p.rating for p in parts])
        rollup_s = _median_s(
            lambda: rollup_condition(
                parts,
                layout,
                rated_capacity_ah=pack_inputs["rated_capacity_ah"],
                rated_energy_wh=pack_inputs["rated_energy_wh"],
            ),
            max(args.repeat, 20),
        )
    print(f"setup (simulate, write, ingest {len(cells)} cells): {setup_s:.1f} s\n")
    print(
        "| cells | cycles/cell | pack passport s | sum of cell passports s | pack / cells | rollup alone ms |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {len(cells)} ({args.modules}x{args.parallel}) | {args.cycles} | {pack_s:.2f} | {cells_s:.2f} "
        f"| {pack_s / cells_s:.2f} | {rollup_s * 1000:.2f} |"
    )


if __name__ == "__main__":
    main()
