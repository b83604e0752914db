"""The current-sensor offset at rest: its pseudo-measurement, and the warning when it was never read."""

from __future__ import annotations

import numpy as np
import pytest
from test_ecm import true_model
from test_soc import drive

from bmts.analytics.ecm import simulate_voltage
from bmts.analytics.soc import SocConfig, SocFilter
from bmts.analytics.soc_offset import offset_note, rest_update


def test_a_rest_reading_is_the_offset() -> None:
    # nothing flows: a 30 mA reading is a 30 mA offset (the gain error cannot matter at so small a reading)
    x = np.array([0.5, 0.0, 0.0, 0.0, 0.0, 0.0])
    p = np.diag([1e-4, 1e-4, 1e-4, 0.1**2, 0.02**2, 1e-4])
    x_new, p_new = x.copy(), p.copy()
    rest_update(x_new, p_new, 0.03, 0.001**2, np.empty(6))
    assert x_new[3] == pytest.approx(0.03, abs=0.001)
    assert p_new[3, 3] < 0.01 * p[3, 3]
    assert np.array_equal(x_new[[0, 1, 2, 5]], x[[0, 1, 2, 5]])  # states it does not touch
    # the Kalman update of the measurement h = (0, 0, 0, -1, -reading, 0), written out
    h = np.array([0.0, 0.0, 0.0, -1.0, -0.03, 0.0])
    gain = p @ h / (h @ p @ h + 0.001**2)
    assert x_new == pytest.approx(x + gain * -(0.03 - x[3]), abs=1e-15)
    assert p_new == pytest.approx(p - np.outer(gain, h @ p), abs=1e-15)


def test_the_note_waits_until_the_offset_could_have_moved_soc_by_a_point() -> None:
    capacity_as = 3.0 * 3600.0  # 0.1 A for 1080 s is 1 % of 3 Ah
    assert offset_note(0.028, 1079.0, 0.1, capacity_as, 300.0) is None
    note = offset_note(0.028, 1080.0, 0.1, capacity_as, 300.0)
    assert note is not None and "no rest of 5 min in 0.3 h" in note and "(+28 mA)" in note
    off = offset_note(-0.0004, 4000.0, 0.1, capacity_as, 0.0)
    assert off is not None and "rest readings off" in off and "(+0 mA)" in off


def test_an_offset_never_read_at_rest_is_reported_once() -> None:
    # the blind filter's offset comes from the voltage alone: said once, when the time run could have moved
    # SOC by a point under the offset's prior spread (0.1 A for 720 s on this 2 Ah cell), not on every chunk
    model = true_model()
    t_drive, i_drive = drive(seconds=3000.0, seed=3)
    t = np.concatenate([np.arange(0.0, 900.0, 60.0), 900.0 + t_drive])
    i = 1.01 * np.concatenate([np.zeros(15), i_drive]) + 0.03
    v, _ = simulate_voltage(model, t, i, 0.9)

    def notes(config: SocConfig) -> tuple[list[list[str]], bool]:
        f = SocFilter(model, 0.9, config)
        chunks = [f.update(t[a:b], v[a:b], i[a:b]) for a, b in ((0, 8), (8, 16), (16, 20000), (20000, None))]
        return [[w for w in r.warnings if "offset" in w] for r in chunks], chunks[-1].offset_read_at_rest

    said, read = notes(SocConfig())
    assert said == [[], [], [], []] and read  # read at rest after 5 min: nothing to say
    said, read = notes(SocConfig(rest_offset_after_s=0.0))
    assert [len(s) for s in said] == [0, 1, 0, 0] and not read  # 420 s, then 840 s: said once
    assert "rest readings off" in said[1][0] and "mA" in said[1][0]
    # a resumed filter keeps what it has read: a filter that read the offset at rest says nothing later
    f = SocFilter(model, 0.9)
    f.update(t[:16], v[:16], i[:16])
    g = SocFilter.resume(model, f.state())
    assert g.update(t[16:], v[16:], i[16:]).offset_read_at_rest
