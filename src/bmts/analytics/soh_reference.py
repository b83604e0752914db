"""Partial-window capacity calibrated on reference cells of the same type. Pure; fit / predict.

Window data alone leave two things open (see `soh.soh_from_windows`): the absolute scale (the first cycles
are taken as nominal) and how the charge outside the window changes as the cell ages (taken as constant:
right for a cell that loses its capacity inside the window, too high for one that fades uniformly). A cell
of the same type cycled fully through its life measures both: each of its full cycles gives the capacity and,
from the same cycle's charge, the window's charge. The capacity is regressed on it by least squares,

    capacity_ah = a + b * charged_ah

(`charged_ah`: the window's charge less the onset shortfall, `soh.window_features`), and the fit is applied
to a cell that has windows only. b = 1, a = the outside charge is the constant-outside model; a = 0, b =
capacity / window charge the uniform one: the references decide between them, and set the scale. A cycle
whose charge started inside the window lacks part of it and carries the unknown share as an extra
uncertainty, as in `soh`. (The voltage at half the window's charge was tried as a second feature on the
development cells: its coefficient changed sign with the reference set; see docs/state-estimation-log.md.)

Uncertainty (`predict(..., return_std=True)`): the fit's residual scatter, the prediction's own variance
(its leverage), and the cell-to-cell spread. With two or more reference cells that spread is measured: the
RMS error of each reference cell predicted by a fit on the others (leave one cell out), less the residual
scatter. Estimated from k cells, it is widened to a new cell's predictive spread (Student's t with k - 1
degrees of freedom, so that +-2 std is a 95 % interval: x 6.4 in variance for three cells, x 2.4 for five).
With one cell it cannot be measured, and is taken equal to the residual scatter; give two or more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

import numpy as np
import polars as pl
from scipy import stats

FEATURES = ("charged_ah",)
MIN_CYCLES = 10  # a reference cell contributes only if this many of its cycles have full and window data


def feature_matrix(features: pl.DataFrame, names: Sequence[str] = FEATURES) -> np.ndarray:
    """The design matrix (intercept first) of `soh.window_features` rows."""
    return np.column_stack([np.ones(features.height)] + [features[n].to_numpy().astype(float) for n in names])


def _least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(x, y, rcond=None)[0]


@dataclass
class WindowCapacityModel:
    """Capacity (Ah) from partial-window features, learned from reference cells' full cycles."""

    features: tuple[str, ...] = FEATURES
    coef_: np.ndarray = field(default_factory=lambda: np.zeros(0))
    residual_var_: float = float("nan")
    cell_var_: float = float("nan")
    n_cells_: int = 0
    _inv_gram: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)

    def fit(self, x: np.ndarray, capacity_ah: np.ndarray, groups: np.ndarray) -> WindowCapacityModel:
        """`x`: `feature_matrix` rows of the references' windows (`training_rows`); `capacity_ah`: the same
        cycles' full-cycle capacities; `groups`: which reference cell each row is from."""
        x, y, groups = np.asarray(x, float), np.asarray(capacity_ah, float), np.asarray(groups)
        ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y)
        x, y, groups = x[ok], y[ok], groups[ok]
        if y.size <= x.shape[1]:
            raise ValueError(f"{y.size} reference cycles cannot fit {x.shape[1]} coefficients")
        self.coef_ = _least_squares(x, y)
        self.residual_var_ = float(np.sum((y - x @ self.coef_) ** 2)) / (y.size - x.shape[1])
        self._inv_gram = np.linalg.pinv(x.T @ x)
        cells = np.unique(groups)
        self.n_cells_ = int(cells.size)
        held_out = []
        for cell in cells if cells.size > 1 else ():
            train = groups != cell
            held_out.append(np.mean((x[~train] @ _least_squares(x[train], y[train]) - y[~train]) ** 2))
        # the cell-to-cell spread beyond the residual scatter; unmeasurable with one cell (see the module)
        if held_out:
            k = cells.size
            spread = max(float(np.mean(held_out)) - self.residual_var_, 0.0)
            # a new cell's offset, its spread estimated from k cells: Student's t with k - 1 degrees of
            # freedom, widened so that +-2 std is its 95 % interval
            widen = float(stats.t.ppf(0.975, k - 1) / stats.norm.ppf(0.975)) ** 2 * (1.0 + 1.0 / k)
            self.cell_var_ = spread * widen
        else:
            self.cell_var_ = self.residual_var_
        return self

    @overload
    def predict(self, x: np.ndarray, return_std: Literal[False] = False) -> np.ndarray: ...
    @overload
    def predict(self, x: np.ndarray, return_std: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    def predict(self, x: np.ndarray, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Capacity (Ah) per `feature_matrix` row; with `return_std`, also its standard uncertainty."""
        if self.coef_.size == 0:
            raise ValueError("WindowCapacityModel is not fitted")
        x = np.asarray(x, float)
        mean = x @ self.coef_
        if not return_std:
            return mean
        leverage = np.einsum("ij,jk,ik->i", x, self._inv_gram, x)
        return mean, np.sqrt(self.residual_var_ * (1.0 + leverage) + self.cell_var_)


def training_rows(features: pl.DataFrame, full: pl.DataFrame) -> pl.DataFrame:
    """One reference cell's cycles with both a window (`soh.window_features`) and a full-cycle capacity
    (`cycle, capacity_ah`): the rows `WindowCapacityModel.fit` learns from. Charges that started inside
    the window are kept: the cells it is applied to have them too, late in life."""
    return features.join(full.select("cycle", "capacity_ah"), on="cycle", how="inner").drop_nulls(
        list(FEATURES)
    )
