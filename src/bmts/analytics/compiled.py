"""Numba compilation of the few loops NumPy cannot vectorise well (the SOC filter's), in one place. Pure.

Compiled machine code is cached next to the source, or in the user's cache directory, so a process loads it
instead of compiling (2-3 s); where neither can be written (a read-only installation without a home
directory) Numba refuses to cache, and the loop is then compiled in each process rather than failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from numba import njit

P = ParamSpec("P")
R = TypeVar("R")


def compiled(function: Callable[P, R]) -> Callable[P, R]:
    """`function` compiled by Numba (nopython mode), cached where a cache can be written."""
    try:
        return njit(cache=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(function)
