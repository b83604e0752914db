"""The SOC filter's look-up tables: what the filter reads between two pulse sets."""

from __future__ import annotations

import numpy as np
from test_ecm import true_model

from bmts.analytics.soc_tables import GRID, Lookup, grid_index


def test_the_spread_between_two_sets_is_half_their_step_in_the_middle_and_zero_at_them() -> None:
    table = Lookup(true_model(soc=[0.2, 0.6, 1.0], r2_ohm=[0.02, 0.02, 0.06]), 25.0, 0.15, 0.2)
    r0, r1, r2 = table.spread[[grid_index(s, GRID - 1) for s in (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)]].T
    assert np.all(r0 == 0.0) and np.all(r1 == 0.0)  # the same at every set: known in between
    # outside the sets, at them and between equal ones: zero; halfway to a step of 0.04 ohm: 0.02 / R2 there
    assert np.allclose(r2[[0, 1, 2, 3, 5]], 0.0)
    assert np.isclose(r2[4], 0.5 * 0.04 / 0.04)
    assert 0.0 < table.spread[grid_index(0.65, GRID - 1), 2] * 0.025 < 0.02  # in ohm, nearer a set: smaller


def test_the_model_error_is_the_measured_one_above_the_floor_and_a_prior_where_nothing_measured_it() -> None:
    from dataclasses import replace

    model = true_model()

    def measured(error: float) -> float:
        tables = [replace(t, model_error_rel=error) for t in model.tables]
        return Lookup(replace(model, tables=tables), 25.0, 0.15, 0.2).error_rel

    assert Lookup(model, 25.0, 0.15, 0.2).error_rel == 0.2  # no long load measured it
    assert measured(0.05) == 0.15 and measured(0.3) == 0.3
