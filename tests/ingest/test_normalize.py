"""Property tests of the streaming normaliser: whatever the chunking, time comes out monotonic, restarts
are repaired, duplicates dropped, and the content hash depends on the data, not on how it was cut."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from bmts.ingest import Chunk
from bmts.ingest.normalize import Normalizer
from bmts.schema import Repair


def _frame(times: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "test_time_second": times,
            "voltage_volt": 3.6 + 0.1 * np.sin(times / 50.0),
            "current_ampere": np.where(times % 200 < 100, -1.0, 1.0),
        }
    )


def _normalise(frame: pl.DataFrame, cuts: list[int]) -> tuple[pl.DataFrame, Normalizer, list[Repair]]:
    bounds = sorted({0, frame.height, *[c % max(frame.height, 1) for c in cuts]})
    chunks = [Chunk(frame.slice(a, b - a), a + 2) for a, b in itertools.pairwise(bounds)]
    repairs: list[Repair] = []
    norm = Normalizer("mem.csv", repairs)
    return pl.concat(list(norm.run(chunks))), norm, repairs


@settings(max_examples=60, deadline=None)
@given(
    pieces=st.lists(st.integers(5, 80), min_size=1, max_size=5),
    dt=st.floats(0.1, 30.0),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_restarted_time_comes_out_monotonic(pieces: list[int], dt: float, cuts: list[int]) -> None:
    """A test logged in pieces whose clock restarts at 0 is repaired into one increasing time axis."""
    times = np.concatenate([np.arange(n) * dt for n in pieces])
    out, norm, repairs = _normalise(_frame(times), cuts)
    t = out["test_time_second"].to_numpy()
    assert out.height == times.size
    assert np.all(np.diff(t) > 0)
    restarts = sum(r.rows for r in repairs if r.kind == "time_reset")
    assert restarts == len(pieces) - 1
    assert norm.summary.rows == times.size


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(5, 300),
    dup=st.lists(st.integers(0, 10_000), max_size=10),
    cuts=st.lists(st.integers(), max_size=5),
)
def test_duplicates_dropped_and_hash_independent_of_chunking(n: int, dup: list[int], cuts: list[int]) -> None:
    frame = _frame(np.arange(n, dtype=float))
    rows = sorted(set(d % n for d in dup))
    with_dups = pl.concat([frame, frame[rows]]).sort("test_time_second", maintain_order=True)
    clean, norm_a, repairs = _normalise(with_dups, cuts)
    assert clean.equals(frame)
    assert sum(r.rows for r in repairs if r.kind == "duplicate_rows") == len(rows)
    _, norm_b, _ = _normalise(frame, [])
    assert norm_a.summary.content_sha256 == norm_b.summary.content_sha256
