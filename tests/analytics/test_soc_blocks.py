"""Many cells' SOC filters run together on one clock (bmts.analytics.soc_blocks via soc.update_together)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_ecm import true_model
from test_soc import drive

from bmts.analytics.ecm import simulate_voltage
from bmts.analytics.soc import SocConfig, SocFilter, update_together

STARTS, FADES = (0.95, 0.9, 0.8, 0.7), (1.0, 0.97, 0.95, 0.9)  # the cells' start SOC and capacity fade


def pack(seconds: float = 3000.0) -> dict[str, np.ndarray]:
    """Four series cells on one 1 s clock: own start SOC, capacity, noise and temperature (one with none
    logged, one warming); the pack current with the sensor's offset; a 5 min logging gap in a long rest;
    and the cells' true SOC."""
    model = true_model()
    t, i = drive(seconds=seconds, dt=1.0, seed=4)
    i[(t >= 1100.0) & (t < 1600.0)] = 0.0
    rng = np.random.default_rng(2)
    v, soc = (
        np.array(a)
        for a in zip(
            *(
                simulate_voltage(replace(model, capacity_ah=model.capacity_ah * f), t, i, s)
                for s, f in zip(STARTS, FADES, strict=True)
            ),
            strict=True,
        )
    )
    v += rng.normal(0.0, 0.002, v.shape)
    temps = np.array(
        [np.full(t.size, 25.0), np.full(t.size, np.nan), 20.0 + t / 600.0, np.full(t.size, 15.0)]
    )
    keep = (t < 1200.0) | (t >= 1500.0)
    i_bms = np.tile(1.01 * i + 0.03, (4, 1))
    return {"t": t[keep], "v": v[:, keep], "i": i_bms[:, keep], "temps": temps[:, keep], "soc": soc[:, keep]}


def filters(guesses: tuple[float | None, ...]) -> list[SocFilter]:
    model = true_model()
    return [
        SocFilter(replace(model, capacity_ah=model.capacity_ah * f), g)
        for g, f in zip(guesses, FADES, strict=True)
    ]


@pytest.mark.parametrize("guesses", [STARTS, (None, 0.6, None, 0.7)])
def test_cells_run_together_are_each_as_alone(guesses: tuple[float | None, ...]) -> None:
    p = pack()
    t, half = p["t"], p["t"].size // 2
    alone, together = filters(guesses), filters(guesses)
    for chunk in (slice(0, half), slice(half, None)):  # streaming: the second chunk continues the first
        joint = update_together(together, t[chunk], p["v"][:, chunk], p["i"][:, chunk], p["temps"][:, chunk])
        for k, f in enumerate(alone):
            temps = p["temps"][k, chunk]
            single = f.update(
                t[chunk], p["v"][k, chunk], p["i"][k, chunk], None if np.isnan(temps).all() else temps
            )
            assert joint[k].soc == pytest.approx(single.soc, abs=1e-12)
            assert joint[k].soc_std == pytest.approx(single.soc_std, abs=1e-12)
            assert joint[k].warnings == single.warnings
            assert joint[k].offset_read_at_rest == single.offset_read_at_rest
    for a, b in zip(alone, together, strict=True):
        assert np.allclose(a.x, b.x, rtol=0, atol=1e-12) and a.t_last == b.t_last
        assert a.state().keys() == b.state().keys()


def test_the_cells_keep_their_own_soc_apart() -> None:
    # four cells, four starts and capacities: each filter follows its own cell, not the pack's mean
    p = pack()
    joint = update_together(filters(STARTS), p["t"], p["v"], p["i"], p["temps"])
    for k, r in enumerate(joint):
        assert np.sqrt(np.mean((r.soc - p["soc"][k]) ** 2)) < 0.01
    assert joint[0].offset_read_at_rest  # the rest in which the log has its gap is read as the offset


def test_filters_that_did_not_stop_together_are_refused() -> None:
    p = pack(600.0)
    ahead, fresh = filters((0.9, 0.9, 0.9, 0.9))[:2]
    ahead.update(p["t"][:10], p["v"][0, :10], p["i"][0, :10])
    with pytest.raises(ValueError, match="last time"):
        update_together([ahead, fresh], p["t"][10:], p["v"][:2, 10:], p["i"][:2, 10:])
    other = SocFilter(true_model(), 0.9, SocConfig(block_seconds=10.0))
    with pytest.raises(ValueError, match="configuration"):
        update_together([fresh, other], p["t"], p["v"][:2], p["i"][:2])


def test_a_packs_filters_share_their_tables_and_each_still_warns() -> None:
    # one model with each cell's capacity: its tables are tabulated once; a filter of other settings keeps
    # its own; the table's temperature, outside the model's range, is still reported by every filter
    model = true_model()
    first, second = filters((0.9, 0.9, 0.9, 0.9))[:2]
    assert second.share_lookups(first)
    assert not SocFilter(model, 0.9, SocConfig(model_error_v=0.01)).share_lookups(first)
    assert not SocFilter(replace(model, activation_k=1000.0), 0.9).share_lookups(first)
    p = pack(600.0)
    cold = np.full(p["t"].size, -10.0)
    first.update(p["t"], p["v"][0], p["i"][0], cold)
    result = second.update(p["t"], p["v"][1], p["i"][1], cold)
    assert second._lookups is first._lookups and list(first._lookups) == [-10.0]
    assert any("-10..-10 degC is more than 5 degC outside" in w for w in result.warnings)
