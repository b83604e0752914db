"""Partial-window capacity calibrated on reference cells, on simulated cycling that fades uniformly: the
case where the constant-outside assumption of the uncalibrated window method is furthest off."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from test_soh import NOMINAL, cycling, windowed

from bmts.analytics.soh import Window, soh_from_full_cycles, soh_from_windows, window_features
from bmts.analytics.soh_reference import WindowCapacityModel, feature_matrix, training_rows


def reference_rows(fade: float, name: str) -> pl.DataFrame:
    t, v, i, c, _ = cycling(n=40, fade=fade)
    full = soh_from_full_cycles(t, i, c, NOMINAL, voltage_v=v)
    return training_rows(window_features(t, v, i, c, Window()), full).with_columns(cell=pl.lit(name))


def fitted(*fades: float) -> WindowCapacityModel:
    rows = pl.concat([reference_rows(f, f"ref-{k}") for k, f in enumerate(fades)])
    return WindowCapacityModel().fit(
        feature_matrix(rows), rows["capacity_ah"].to_numpy(), rows["cell"].to_numpy()
    )


def test_reference_cells_calibrate_a_uniformly_fading_cell_the_constant_model_misses() -> None:
    # the windowed cell fades at a rate between the references'; it loses capacity outside the window too
    t, v, i, c, caps = cycling(n=40, fade=0.005)
    windows = windowed(t, v, i, c)
    plain = soh_from_windows(*windows, NOMINAL)
    referenced = soh_from_windows(*windows, NOMINAL, calibration=fitted(0.004, 0.006))
    assert set(referenced["method"]) == {"partial_window_reference"}
    truth = caps[referenced["cycle"].to_numpy() - 1]
    error = referenced["capacity_ah"].to_numpy() - truth
    plain_error = plain["capacity_ah"].to_numpy() - caps[plain["cycle"].to_numpy() - 1]
    assert np.sqrt(np.mean(error**2)) < 0.005 * NOMINAL < np.sqrt(np.mean(plain_error**2))
    assert np.all(np.abs(error) <= 2 * referenced["capacity_std_ah"].to_numpy())


def test_reference_fit_learns_the_uniform_fade() -> None:
    # uniform fade: the window is a fixed share of the capacity, capacity = window charge / share
    model = fitted(0.004, 0.006)
    t, v, i, c, caps = cycling(n=3, fade=0.0)
    share = window_features(*windowed(t, v, i, c), Window())["charged_ah"].mean() / caps.mean()
    assert model.coef_[0] == pytest.approx(0.0, abs=0.01)
    assert model.coef_[1] == pytest.approx(1.0 / share, rel=0.02)


def test_cell_to_cell_spread_is_measured_with_two_references_and_assumed_with_one() -> None:
    two, one = fitted(0.004, 0.006), fitted(0.004)
    assert two.n_cells_ == 2 and one.n_cells_ == 1
    assert one.cell_var_ == one.residual_var_
    x = feature_matrix(pl.DataFrame({"charged_ah": [0.3, 0.5]}))
    mean, std = two.predict(x, return_std=True)
    assert mean.shape == std.shape == (2,) and np.all(std > 0)
    assert np.array_equal(two.predict(x), mean)


def test_fit_and_predict_refuse_what_they_cannot_do() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        WindowCapacityModel().predict(np.ones((1, 2)))
    with pytest.raises(ValueError, match="cannot fit"):
        WindowCapacityModel().fit(np.ones((2, 2)), np.ones(2), np.zeros(2))


def test_training_rows_are_the_cycles_with_a_window_and_a_full_capacity() -> None:
    features = pl.DataFrame(
        {"cycle": [1, 2, 3], "charged_ah": [0.5, 0.4, None], "entered": [True, False, True]}
    )
    full = pl.DataFrame({"cycle": [1, 2, 3], "capacity_ah": [1.0, 0.9, 0.8]})
    assert training_rows(features, full.head(2))["cycle"].to_list() == [1, 2]
    assert training_rows(features, full)["cycle"].to_list() == [1, 2]
