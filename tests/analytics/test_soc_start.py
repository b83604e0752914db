"""The initial SOC checked against the first minutes of a log (bmts.analytics.soc_start)."""

from __future__ import annotations

import numpy as np
import pytest
from test_ecm import CAP, true_model
from test_soc import drive, rmse

from bmts.analytics.ecm import CellModel, EcmTable, simulate_voltage
from bmts.analytics.ocv import OcvCurve
from bmts.analytics.soc import SocConfig, SocFilter, SocResult, estimate_soc
from bmts.analytics.soc_start import first_minutes_verdict
from bmts.analytics.soc_tables import SOC_GRID, Lookup

OFF = SocConfig(start_check_std=0.0)


@pytest.fixture(scope="module")
def cut() -> dict[str, np.ndarray]:
    """A drive from SOC 0.95 with BMS-grade sensors, cut where driving starts (no rest voltage to use)."""
    t, i = drive(seed=7)
    v, soc = simulate_voltage(true_model(), t, i, 0.95)
    v = v + np.random.default_rng(8).normal(0, 0.002, v.size)
    k = int(np.argmax(i != 0))
    return {"t": t[k:] - t[k], "v": v[k:], "i": 1.01 * i[k:] + 0.03, "soc": soc[k:]}


def start_notes(result: SocResult) -> list[str]:
    """The warnings but the offset's (these drives never rest: `test_soc_offset` covers that one)."""
    return [w for w in result.warnings if not w.startswith("the current sensor's offset")]


def test_a_guess_30_points_wrong_is_replaced_by_what_the_first_minutes_say(
    cut: dict[str, np.ndarray],
) -> None:
    model = true_model()
    checked = estimate_soc(cut["t"], cut["v"], cut["i"], model, initial_soc=0.65)
    unchecked = estimate_soc(cut["t"], cut["v"], cut["i"], model, initial_soc=0.65, config=OFF)
    first = cut["t"] < 600
    assert checked.soc[0] == pytest.approx(cut["soc"][0], abs=0.03)
    assert rmse(checked.soc[first], cut["soc"][first]) < 0.3 * rmse(unchecked.soc[first], cut["soc"][first])
    assert rmse(checked.soc[~first], cut["soc"][~first]) < 0.01
    assert len(start_notes(checked)) == 1 and "initial SOC 0.65 disagrees" in start_notes(checked)[0]


def test_a_guess_the_voltage_bears_out_is_kept(cut: dict[str, np.ndarray]) -> None:
    model = true_model()
    checked = estimate_soc(cut["t"], cut["v"], cut["i"], model, initial_soc=0.9)
    unchecked = estimate_soc(cut["t"], cut["v"], cut["i"], model, initial_soc=0.9, config=OFF)
    assert np.array_equal(checked.soc, unchecked.soc) and start_notes(checked) == []


def test_without_a_guess_the_first_minutes_set_the_start(cut: dict[str, np.ndarray]) -> None:
    est = estimate_soc(cut["t"], cut["v"], cut["i"], true_model())
    assert est.soc[0] == pytest.approx(cut["soc"][0], abs=0.03)
    assert start_notes(est) == [
        "no rest at the start and no initial SOC given: started from the first minutes' voltage"
    ]
    short = estimate_soc(cut["t"][:300], cut["v"][:300], cut["i"][:300], true_model())
    assert start_notes(short) == [
        "no rest at the start and no initial SOC given: started from the loaded voltage"
    ]


def test_a_first_chunk_shorter_than_a_minute_is_not_checked(cut: dict[str, np.ndarray]) -> None:
    # streaming in 30 s chunks: the check needs the first minute at once, so the filter converges alone
    model = true_model()
    t, v, i = cut["t"], cut["v"], cut["i"]
    f, g = SocFilter(model, 0.65), SocFilter(model, 0.65, OFF)
    for a in range(0, 3000, 300):  # 0.1 s samples: 30 s per chunk
        b = slice(a, a + 300)
        assert np.array_equal(f.update(t[b], v[b], i[b]).soc, g.update(t[b], v[b], i[b]).soc)


def test_the_verdict_finds_the_start(cut: dict[str, np.ndarray]) -> None:
    model = true_model()
    rows = Lookup(model, None, 0.15, 0.2).rows[None]
    t, v, i = cut["t"], cut["v"], cut["i"]
    one = np.zeros(t.size, dtype=np.intp)
    args = (SOC_GRID, rows, one, t, v, i, model.capacity_ah * 3600.0, 0.65, 0.1, 0.006)
    verdict = first_minutes_verdict(*args, 60.0)
    assert verdict is not None
    assert verdict.best_soc == pytest.approx(0.95, abs=0.01)
    assert verdict.soc == pytest.approx(0.95, abs=0.02)
    assert verdict.model_error_v < 0.01 and verdict.ocv_slope_v > 0
    short = (SOC_GRID, rows, one, t[:500], v[:500], i[:500], model.capacity_ah * 3600.0, 0.65, 0.1, 0.006)
    assert first_minutes_verdict(*short, 60.0) is None  # 50 s: too little for a verdict
    gap = t.copy()
    gap[400:] += 120.0  # a logging gap after 40 s: the horizon ends there, too short for a verdict
    assert (
        first_minutes_verdict(
            SOC_GRID, rows, one, gap, v, i, model.capacity_ah * 3600.0, 0.65, 0.1, 0.006, 60.0
        )
        is None
    )


def test_a_contradicted_guess_does_not_pull_the_start_towards_itself() -> None:
    # a plateau cell (30 mV over the whole range, as LFP's middle): a few minutes from full say little, and a
    # 10 mV model error blurs that further. The guess 0.7 is contradicted (the best start is near full); a
    # Gaussian prior 3 sigma off would still pull the start towards it (0.78-0.83 here), so the start is
    # what the voltage says alone
    s = np.linspace(0.0, 1.0, 201)
    model = CellModel(
        OcvCurve(s, 3.30 + 0.03 * s - 0.4 * np.exp(-30 * s), np.zeros(201), CAP), CAP, true_model().tables
    )
    rows = Lookup(model, None, 0.15, 0.2).rows[None]
    for seed in range(3):
        t, i = drive(seconds=1800.0, dt=1.0, seed=seed)
        v, soc = simulate_voltage(model, t, i, 1.0)
        v = v + np.random.default_rng(seed).normal(0, 0.002, v.size) + 0.01 * np.sin(t / 60.0)
        k = int(np.argmax(i != 0))
        t, v, i, soc = t[k:] - t[k], v[k:], i[k:], soc[k:]
        one = np.zeros(t.size, dtype=np.intp)
        low, lower = (
            first_minutes_verdict(SOC_GRID, rows, one, t, v, i, CAP * 3600.0, guess, 0.1, 0.006, 60.0)
            for guess in (0.7, 0.6)
        )
        assert low is not None and lower is not None
        assert (low.free_soc, low.free_soc_std) == (lower.free_soc, lower.free_soc_std)  # no guess in it
        assert low.soc < low.free_soc - 0.05
        est = estimate_soc(t, v, i, model, initial_soc=0.7)
        assert f"started from {low.free_soc:.3g} +- {low.free_soc_std:.2g}" in est.warnings[0]
        assert est.soc[0] > 0.85


def warming_cell() -> CellModel:
    """Tables at -15 and 0 degC; the cold one's resistances three times the warm one's."""
    warm = true_model().tables[0]
    cold = {k: a * 3.0 if k in ("r0_ohm", "r1_ohm", "r2_ohm") else a for k, a in warm.params.items()}
    tables = [EcmTable(-15.0, -15.0, warm.soc, cold), EcmTable(0.0, 0.0, warm.soc, dict(warm.params))]
    return CellModel(true_model().ocv, true_model().capacity_ah, tables)


def test_the_verdict_follows_a_cell_warming_through_its_first_minutes() -> None:
    # a cold cell self-heats by kelvins in its first minutes; the model taken at the first sample's
    # temperature throughout would read the falling overpotential as a different start
    model = warming_cell()
    t, i = drive(seconds=900.0, dt=1.0, seed=4)
    k = int(np.argmax(i != 0))
    t, i = t[k:] - t[k], i[k:]
    temperature = np.minimum(-15.0 + t / 20.0, 0.0)  # -15 -> 0 degC in the first 5 min
    soc = 0.9 + np.cumsum(i * np.diff(t, prepend=t[:1])) / (3600.0 * model.capacity_ah)
    v = np.empty(t.size)  # the reference: the model at each sample's temperature, RC pairs stepped exactly
    x1 = x2 = 0.0
    for n in range(t.size):
        p = model.params(soc[n], float(temperature[n]))
        dt = t[n] - t[n - 1] if n else 0.0
        x1 = x1 * np.exp(-dt / p["tau1_s"]) + (1 - np.exp(-dt / p["tau1_s"])) * i[n]
        x2 = x2 * np.exp(-dt / p["tau2_s"]) + (1 - np.exp(-dt / p["tau2_s"])) * i[n]
        ocv = model.ocv(soc[n]) + p["ocv_offset_v"]
        v[n] = ocv + p["r0_ohm"] * i[n] + p["r1_ohm"] * x1 + p["r2_ohm"] * x2
    f = SocFilter(model, 0.6)
    keys = np.round(temperature * 2) / 2
    unique, which = np.unique(keys, return_inverse=True)
    rows = np.stack([f._lookup(float(u)).rows for u in unique])
    cap_as = model.capacity_ah * 3600.0
    tracked = first_minutes_verdict(SOC_GRID, rows, which, t, v, i, cap_as, 0.6, 0.1, 0.006, 60.0)
    frozen = first_minutes_verdict(SOC_GRID, rows, 0 * which, t, v, i, cap_as, 0.6, 0.1, 0.006, 60.0)
    assert tracked is not None and frozen is not None
    assert tracked.best_soc == pytest.approx(0.9, abs=0.006) and tracked.model_error_v < 0.01
    # frozen at -15 degC, the model misses by tens of mV and the start by a grid step or more
    assert frozen.model_error_v > 0.04 and abs(frozen.best_soc - 0.9) > 0.006
    est = estimate_soc(t, v, i, model, temperature, initial_soc=0.6)  # the filter passes the trace on
    assert est.soc[0] == pytest.approx(0.9, abs=0.03)


def test_a_start_declared_known_is_held_through_a_model_error_in_the_first_minutes(
    cut: dict[str, np.ndarray],
) -> None:
    # the model over-predicts the overpotential near full six-fold (a pulse test's top set, as in the cold):
    # a guess held to +-10 points is pulled along by it, a start declared known to +-1 point is not
    f = 6.0
    model = true_model(
        soc=(0.0, 0.5, 0.85, 1.0), r0_ohm=[0.03, 0.03, 0.03, f * 0.03], r2_ohm=[0.02] * 3 + [f * 0.02]
    )
    first = cut["t"] < 1200
    guess, known = (
        estimate_soc(
            cut["t"], cut["v"], cut["i"], model, initial_soc=0.95, config=SocConfig(initial_soc_std=std)
        )
        for std in (0.10, 0.01)
    )
    assert known.soc_std[0] < guess.soc_std[0]
    assert rmse(known.soc[first], cut["soc"][first]) < 0.85 * rmse(guess.soc[first], cut["soc"][first])
    assert start_notes(known) == []


def test_a_start_declared_known_but_30_points_wrong_is_still_replaced(cut: dict[str, np.ndarray]) -> None:
    # the check is for a wrong start (a stale SOC, another cell's): declared spread or not, 30 points is wrong
    est = estimate_soc(
        cut["t"], cut["v"], cut["i"], true_model(), initial_soc=0.65, config=SocConfig(initial_soc_std=0.01)
    )
    assert est.soc[0] == pytest.approx(cut["soc"][0], abs=0.03)
    assert "initial SOC 0.65 disagrees" in start_notes(est)[0]


def test_a_model_whose_time_constants_change_with_soc_is_run_from_each_start_with_its_own() -> None:
    # a hand-made model's slow pair from 40 s when empty to 160 s when full: every candidate start takes the
    # time constants of its own SOC (as the forward model takes them at its start), and the right one fits
    model = true_model(tau2_s=(40.0, 80.0, 160.0), r2_ohm=0.04)
    t, i = drive(seconds=600.0, dt=1.0, seed=5)
    k = int(np.argmax(i != 0))
    t, i = t[k:] - t[k], i[k:]
    v, _ = simulate_voltage(model, t, i, 0.8)
    which = np.zeros(t.size, dtype=np.intp)
    own, frozen = (
        first_minutes_verdict(
            SOC_GRID,
            np.stack([SocFilter(m, 0.6)._lookup(None).rows]),
            which,
            t,
            v,
            i,
            CAP * 3600.0,
            0.6,
            0.1,
            1e-9,
            60.0,
        )
        for m in (model, true_model(r2_ohm=0.04))  # the same cell with the slow pair's 80 s everywhere
    )
    assert own is not None and frozen is not None
    assert own.best_soc == pytest.approx(0.8, abs=0.003) and own.model_error_v < 1e-6  # the model itself
    assert frozen.model_error_v > 0.002
