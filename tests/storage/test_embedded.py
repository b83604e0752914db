"""The embedded store: staged writes are invisible until committed; duplicates are refused atomically."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from bmts.storage import EmbeddedStore, SegmentMeta


def _meta(source: str = "s1", content: str = "c1") -> SegmentMeta:
    return SegmentMeta(
        source_path=source,
        source_sha256=source,
        content_sha256=content,
        reader="bdf",
        rows=3,
        first_time_second=0.0,
        last_time_second=2.0,
        start_unix_second=None,
    )


FRAME = pl.DataFrame(
    {"test_time_second": [0.0, 1.0, 2.0], "voltage_volt": [3.7] * 3, "current_ampere": [-1.0] * 3}
)


def test_commit_publishes_and_abort_leaves_nothing(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    w = store.begin_segment("b1")
    w.write(FRAME)
    w.abort()
    assert store.batteries() == [] and not list((tmp_path / "timeseries").rglob("*.parquet"))
    w = store.begin_segment("b1")
    w.write(FRAME)
    record = w.commit(_meta())
    assert record is not None and store.read_segment(record).equals(FRAME)
    assert [b.id for b in store.batteries()] == ["b1"]


def test_same_content_twice_is_stored_once(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)

    def attempt(n: int) -> bool:
        w = store.begin_segment("b1")
        w.write(FRAME)
        return w.commit(_meta(f"s{n}", "same-content")) is not None

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(8)))
    assert sum(results) == 1
    assert len(store.segments("b1")) == 1
    assert len(list((tmp_path / "timeseries").rglob("*.parquet"))) == 1
