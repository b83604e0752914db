"""How long the filter's voltage errors last (bmts.analytics.soc_persistence)."""

from __future__ import annotations

import numpy as np
import pytest
from test_ecm import true_model
from test_soc import drive

from bmts.analytics.ecm import simulate_voltage
from bmts.analytics.soc import SocFilter
from bmts.analytics.soc_persistence import InnovationPersistence, inflation


def _inflation(memory: np.ndarray, y_v: float, t_s: float, weight: float, rho_max: float) -> float:
    """The factor of a block ending at `t_s`."""
    return float(inflation(memory, y_v, t_s >= memory[0], weight, rho_max))


def test_white_innovations_are_not_inflated_and_lasting_ones_are() -> None:
    rng = np.random.default_rng(0)
    white, lasting = (np.array(InnovationPersistence(0.0).row()) for _ in range(2))
    for k in range(400):
        w = _inflation(white, float(rng.normal(0, 0.01)), 30.0 * k, 0.05, 0.95)
        # a model error wandering slowly about a level (an AR(1) with rho 0.9 around +20 mV)
        drift = 0.9 * (lasting[3] - 0.02) + 0.02 + float(rng.normal(0, 0.002))
        s = _inflation(lasting, drift, 30.0 * k, 0.05, 0.95)
    assert w < 1.6
    assert s == pytest.approx((1 + 0.95) / (1 - 0.95))  # capped: 39 blocks count as one
    assert _inflation(white, 0.05, 1e5, 0.05, 0.0) == 1.0  # off


def test_nothing_is_learnt_before_the_start_is_known() -> None:
    memory = np.array(InnovationPersistence(learn_from_s=1200.0).row())
    assert [_inflation(memory, 0.03, t, 0.1, 0.95) for t in (0.0, 600.0, 1199.0)] == [1.0, 1.0, 1.0]
    assert memory[1] == 0.0
    assert _inflation(memory, 0.03, 1200.0, 0.1, 0.95) == 1.0  # the first one learnt has no predecessor yet
    assert _inflation(memory, 0.03, 1230.0, 0.1, 0.95) > 1.0
    p = InnovationPersistence(*memory.tolist())
    assert InnovationPersistence.from_dict(p.to_dict()) == p


def test_the_filter_learns_at_once_from_a_rest_or_a_borne_out_guess_and_late_from_a_wrong_one() -> None:
    # a drive that starts at rest: the rest voltage anchors SOC, so the innovations' persistence is the
    # model's; cut where driving starts, a guess the first minutes bear out is as good, while a wrong one's
    # first 20 min of innovations may be its own
    model = true_model()
    t, i = drive(seconds=3000.0, dt=1.0, seed=2)
    v, soc = simulate_voltage(true_model(r2_ohm=0.04), t, i, 0.95)
    rested = SocFilter(model, 0.95)
    rested.update(t, v, i)
    k = int(np.argmax(i != 0))
    cut = SocFilter(model, 0.65)
    cut.update(t[k:] - t[k], v[k:], i[k:])
    assert rested.persistence.learn_from_s == 0.0
    assert cut.persistence.learn_from_s == 1200.0
    borne_out = SocFilter(model, float(soc[k]))  # the right guess: the first minutes agree with it
    borne_out.update(t[k:] - t[k], v[k:], i[k:])
    assert borne_out.persistence.learn_from_s == 0.0
    assert rested.persistence.lag0 > 0.0 and cut.persistence.lag0 > 0.0
    early = SocFilter(model, 0.65)
    early.update(t[k : k + 1100] - t[k], v[k : k + 1100], i[k : k + 1100])  # 1100 s of 1 s samples
    assert early.persistence.lag0 == 0.0


def test_a_state_saved_before_the_persistence_existed_resumes_and_learns_it_anew() -> None:
    model = true_model()
    t, i = drive(seconds=600.0, dt=1.0, seed=3)
    v, _ = simulate_voltage(model, t, i, 0.9)
    f = SocFilter(model, 0.9)
    f.update(t, v, i)
    state = f.state()
    assert SocFilter.resume(model, state).persistence == f.persistence
    del state["persistence"]
    old = SocFilter.resume(model, state)
    assert old.persistence == InnovationPersistence(learn_from_s=float(t[-1]) + 1200.0)


def test_a_malformed_persistence_state_is_refused_with_a_value_error() -> None:
    # (the CLI turns it into a one-line "cannot resume" error)
    with pytest.raises(ValueError, match="persistence must be an object"):
        InnovationPersistence.from_dict([1.0])
    with pytest.raises(ValueError):
        InnovationPersistence.from_dict({"learn_from_s": "soon"})
