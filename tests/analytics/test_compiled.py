"""Numba compilation in one place (bmts.analytics.compiled): cached where it can be, compiled anyway where not."""

from __future__ import annotations

import numpy as np

from bmts.analytics.compiled import compiled


def _total(a: np.ndarray) -> float:
    s = 0.0
    for x in a:
        s += x
    return s


def test_a_function_with_a_source_file_is_compiled_and_cached() -> None:
    fast = compiled(_total)
    assert fast(np.arange(5.0)) == 10.0
    assert fast._cache.__class__.__name__ != "NullCache"


def test_a_function_numba_cannot_cache_is_still_compiled() -> None:
    # a function without a source file (as from exec) has no cache location: Numba refuses cache=True
    namespace: dict[str, object] = {}
    exec("def total(a):\n    s = 0.0\n    for x in a:\n        s += x\n    return s\n", namespace)
    fast = compiled(namespace["total"])
    assert fast(np.arange(4.0)) == 6.0
    assert fast._cache.__class__.__name__ == "NullCache"
