"""Registry and ledger at scale, on SQLite and on PostgreSQL, in one run.

Registers N batteries (cells in modules in packs), appends M lifecycle events in bulk, then measures
genealogy and history query latency (p50/p99 over random batteries), full ledger verification and
passport assembly per battery. The reference beside bmts's bulk append is the raw insert rate of the
same rows into the same table without hashing or rules (`COPY`/executemany alone).

    python benchmarks/registry_scale.py                      # 1M batteries, 10M events (long)
    python benchmarks/registry_scale.py --batteries 100000 --events 1000000
    python benchmarks/registry_scale.py --quick              # 20k batteries, 100k events
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bmts.analytics.passport import assemble_passport
from bmts.analytics.passport_sample import sample_static
from bmts.registry import Battery, Registry, verify
from bmts.registry.bulk import NewEvent, append_many
from bmts.registry.ledger import insert_events
from bmts.storage import tables as t
from bmts.storage.database import create_engine, migrate

MADE = date(2024, 1, 1)
BATCH = 50_000
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _engines(work: Path, backends: list[str]) -> dict[str, sa.Engine]:
    engines = {}
    if "sqlite" in backends:
        engines["sqlite"] = create_engine(f"sqlite:///{work / 'scale.sqlite'}")
    if "postgresql" in backends:
        admin = create_engine(PG_URL)
        name = f"bmts_scale_{uuid.uuid4().hex[:8]}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
            con.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engines["postgresql"] = create_engine(PG_URL.rsplit("/", 1)[0] + "/" + name)
    for engine in engines.values():
        migrate(engine)
    return engines


def _register(engine: sa.Engine, n: int) -> tuple[float, list[str]]:
    """Register n cells (10 per module, 10 modules per pack) with their manufactured events, in batches."""
    registry = Registry(engine)
    ids = [f"cell-{k:07d}" for k in range(n)]
    start = time.perf_counter()
    for a in range(0, n, BATCH):
        registry.register_many([Battery(b, kind="cell", manufactured_on=MADE) for b in ids[a : a + BATCH]])
    modules = [f"module-{k:06d}" for k in range(max(n // 10, 1))]
    registry.register_many([Battery(m, kind="module", manufactured_on=MADE) for m in modules])
    links = [
        {
            "parent_id": modules[k // 10],
            "child_id": b,
            "position": str(k % 10),
            "valid_from": datetime(2024, 1, 2, tzinfo=UTC),
        }
        for k, b in enumerate(ids[: len(modules) * 10])
    ]
    with engine.begin() as con:
        for a in range(0, len(links), BATCH):
            con.execute(sa.insert(t.battery_links), links[a : a + BATCH])
    return time.perf_counter() - start, ids


def _events(ids: list[str], m: int, seed: int, batch: int) -> Iterator[list[NewEvent]]:
    """m random events in lists of `batch`, made as they are needed (an importer streams its input)."""
    rng = random.Random(seed)
    kinds = ["tested", "serviced", "note", "shipped", "fault"]
    base = datetime(2024, 2, 1, tzinfo=UTC)
    for a in range(0, m, batch):
        yield [
            NewEvent(rng.choice(ids), rng.choice(kinds), base + timedelta(seconds=k), "bench", {"k": k})
            for k in range(a, min(a + batch, m))
        ]


def _append(engine: sa.Engine, ids: list[str], m: int, batch: int) -> tuple[float, float]:
    """Events per second over all m events and over the last tenth of them (the ledger at its largest);
    making the events is not timed."""
    elapsed, late_s, late_n, done = 0.0, 0.0, 0, 0
    for events in _events(ids, m, seed=1, batch=batch):
        start = time.perf_counter()
        append_many(engine, events)
        took = time.perf_counter() - start
        elapsed, done = elapsed + took, done + len(events)
        if done > 0.9 * m:
            late_s, late_n = late_s + took, late_n + len(events)
    return m / elapsed, late_n / late_s


def _raw_insert_rate(engine: sa.Engine, events: list[NewEvent]) -> float:
    """The ceiling: the same number of rows inserted into a scratch copy of the table, no rules, no hashing."""
    rows = [
        (e.battery_id, k, e.kind, "2024-02-01T00:00:00Z", e.actor, "{}", "0" * 64, "0" * 64, 0.0)
        for k, e in enumerate(events)
    ]
    with engine.begin() as con:
        con.execute(sa.text("DROP TABLE IF EXISTS scratch_events"))
        con.execute(sa.text("CREATE TABLE scratch_events AS SELECT * FROM lifecycle_events WHERE 1=0"))
    start = time.perf_counter()
    with engine.begin() as con:
        for a in range(0, len(rows), BATCH):
            insert_events(con, rows[a : a + BATCH], table="scratch_events")
    rate = len(rows) / (time.perf_counter() - start)
    with engine.begin() as con:
        con.execute(sa.text("DROP TABLE scratch_events"))
    return rate


def _latency_ms(fn, ids: list[str], samples: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    times = []
    for _ in range(samples):
        b = rng.choice(ids)
        start = time.perf_counter()
        fn(b)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batteries", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--batch", type=int, default=BATCH, help="events per append_many call (one transaction)")
    a = ap.parse_args()
    if a.quick:
        a.batteries, a.events = 20_000, 100_000
    with tempfile.TemporaryDirectory(prefix="bmts-scale-") as tmp:
        engines = _engines(Path(tmp), a.backends)
        print(f"\n{a.batteries:,} batteries, {a.events:,} events (append batch {a.batch:,})\n")
        print(
            "| backend | register /s | append events/s (last 10%) | raw insert rows/s | append / raw "
            "| history p50 / p99 ms "
            "| genealogy p50 / p99 ms | verify s (events/s) | passport ms |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        static = sample_static("bench", "cell", "ev", MADE)
        for name, engine in engines.items():
            reg_s, ids = _register(engine, a.batteries)
            rate, late = _append(engine, ids, a.events, a.batch)
            raw = _raw_insert_rate(engine, next(_events(ids, min(a.events, 1_000_000), 1, 1_000_000)))
            registry = Registry(engine)
            hist = _latency_ms(registry.history, ids, 500)
            gene = _latency_ms(lambda b, r=registry: (r.parent(b), r.children(b)), ids, 500)
            start = time.perf_counter()
            checked = verify(engine)
            verify_s = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(200):
                assemble_passport(static, None, "authority", "ev")
            passport_ms = (time.perf_counter() - start) / 200 * 1000
            print(
                f"| {name} | {a.batteries / reg_s:,.0f} | {rate:,.0f} ({late:,.0f}) | {raw:,.0f} | {rate / raw:.2f} "
                f"| {hist[0]:.2f} / {hist[1]:.2f} | {gene[0]:.2f} / {gene[1]:.2f} "
                f"| {verify_s:.1f} ({checked.events / verify_s:,.0f}) | {passport_ms:.2f} |",
                flush=True,
            )
            engine.dispose()
            if name == "postgresql":  # the benchmark's own database goes away with it
                admin = create_engine(PG_URL)
                with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
                    con.execute(sa.text(f'DROP DATABASE IF EXISTS "{engine.url.database}" WITH (FORCE)'))
                admin.dispose()
        print(
            "\nTargets (issue 3): PostgreSQL bulk append >= 20,000 events/s; history and genealogy p99 < 10 ms."
        )


if __name__ == "__main__":
    main()
