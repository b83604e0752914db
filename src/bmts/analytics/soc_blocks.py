"""The SOC filter's block loop, for one cell or for many cells logged on the same clock at once. Pure.

`soc.SocFilter` holds one cell's filter; this module runs the algebra of its blocks (`soc` describes the
filter). The cells of a pack are sampled together, so their blocks have the same times: the loop then
runs once for all of them, every quantity an array over the cells, and its cost per block is shared by the
pack instead of paid by each cell (a block holds only 30 samples at 1 s logging, so the per-block cost is
most of the filter's). One cell is the case of one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bmts.analytics.soc_config import SocConfig
from bmts.analytics.soc_offset import rest_update
from bmts.analytics.soc_persistence import inflation
from bmts.analytics.soc_tables import GRID, TANGENT_VAR, Lookup, regression

#: the columns of `Lookup.rows` in the order the loop reads them: ocv, slope, r0, r1, r2, tau1, tau2, scale
_ROW_ORDER = [0, 1, 2, 3, 5, 4, 6, 7]


@dataclass
class FilterArrays:
    """The state of K filters, row k for cell k: x (K, 6) and p (K, 6, 6) as in `soc`, the covariance-
    matching scale, the rest time so far and the rest time the offset has been read over, and the
    innovation memory (K, 4) of `soc_persistence.inflation`."""

    x: np.ndarray
    p: np.ndarray
    error_scale: np.ndarray
    rest_s: np.ndarray
    offset_rest_s: np.ndarray
    memory: np.ndarray


class Blocks:
    """One chunk of K cells' samples on a shared clock `t`, cut into the filter's blocks, with everything
    in them that does not depend on the filter state, computed for the whole chunk at once so the per-block
    loop is left with the state's algebra. A block starts from the previous sample's time, or after a gap
    in the log from its own first sample. `v`, `i`: (K, n); `capacity_as`: (K,)."""

    def __init__(
        self,
        t: np.ndarray,
        v: np.ndarray,
        i: np.ndarray,
        t_prev: float,
        block_samples: int,
        block_seconds: float,
        adapt_s: float,
        capacity_as: np.ndarray,
    ) -> None:
        # blocks of at most block_samples and block_seconds, each as long as both allow
        los, his, starts, gaps = [], [], [], []
        lo, n = 0, t.size
        while lo < n:
            t_lo = float(t[lo])
            hi = lo + block_samples  # unless block_seconds end it earlier (t ascending):
            if hi > n or t[hi - 1] > t_lo + block_seconds:
                hi = min(int(t.searchsorted(t_lo + block_seconds, side="right")), hi)
            gap = t_lo - t_prev if t_lo - t_prev > block_seconds else 0.0
            los.append(lo)
            his.append(hi)
            starts.append(t_lo if gap > 0 else t_prev)
            gaps.append(gap)
            t_prev, lo = float(t[hi - 1]), hi
        self.count = len(los)
        self.lo, self.hi = np.array(los), np.array(his)
        self.lengths = self.hi - self.lo
        self.gap_s: list[float] = gaps
        start_s = np.array(starts)
        self.elapsed_s = t - np.repeat(start_s, self.lengths)  # time since the block's start
        self.dt_s = np.empty(n)
        np.subtract(t[1:], t[:-1], out=self.dt_s[1:])
        self.dt_s[self.lo] = t[self.lo] - start_s
        c = capacity_as[:, None]
        # SOC sensitivities inside each block: to the current offset (time / c) and gain (charge / c)
        self.ds_db = self.elapsed_s / -c
        self.ds_dg = np.cumsum(i * self.dt_s, axis=1)  # less the charge before each block
        before = np.concatenate([np.zeros((i.shape[0], 1)), self.ds_dg[:, self.lo[1:] - 1]], axis=1)
        self.ds_dg -= np.repeat(before, self.lengths, axis=1)
        self.ds_dg /= -c
        # per block (rows) and cell (columns)
        self.v_sum = np.add.reduceat(v, self.lo, axis=1).T.copy()
        self.i_sum = np.add.reduceat(i, self.lo, axis=1).T.copy()
        self.i_abs_max = np.maximum.reduceat(np.abs(i), self.lo, axis=1).T.copy()
        self.ds_db_sum = np.add.reduceat(self.ds_db, self.lo, axis=1).T.copy()
        self.ds_dg_sum = np.add.reduceat(self.ds_dg, self.lo, axis=1).T.copy()
        self.ds_db_end = self.ds_db[:, self.hi - 1].T.copy()
        self.ds_dg_end = self.ds_dg[:, self.hi - 1].T.copy()
        span = np.maximum(t[self.hi - 1] - start_s, 1e-3)
        self.span_s: list[float] = span.tolist()
        adapt = 1.0 - np.exp(-span / adapt_s) if adapt_s > 0 else np.zeros(self.count)
        self.adapt_weight: list[float] = adapt.tolist()


@dataclass(frozen=True)
class Tables:
    """The look-up tables (`soc_tables.Lookup`) the cells use, stacked, and which one each cell uses in
    each block."""

    which: np.ndarray  # (blocks, K) index of the table each cell uses in each block
    rows: np.ndarray  # (tables, GRID, 8): ocv, slope, r0, r1, r2, tau1, tau2, scale
    spread: np.ndarray  # (tables, GRID, 3)
    error_rel: np.ndarray  # (tables,)

    @classmethod
    def of(cls, lookups: Sequence[Lookup], which: np.ndarray) -> Tables:
        return cls(
            which,
            np.stack([u.rows for u in lookups])[:, :, _ROW_ORDER],
            np.stack([u.spread for u in lookups]),
            np.array([u.error_rel for u in lookups]),
        )


def run_blocks(
    s: FilterArrays,
    b: Blocks,
    tables: Tables,
    t: np.ndarray,
    i: np.ndarray,
    capacity_as: np.ndarray,
    rest_a: np.ndarray,
    c: SocConfig,
) -> np.ndarray:
    """Run the blocks of K cells (state `s`, updated in place) and return each block's start SOC, offset,
    gain error and SOC std, (4, blocks, K). `i`: (K, n); `c`: the filters' shared configuration."""
    k_cells = capacity_as.size
    x, p = s.x, s.p
    # each block's updated state and SOC variance (before it is propagated to the block's end)
    x_updated, soc_var = np.empty((b.count, k_cells, 6)), np.empty((b.count, k_cells))
    phi = np.broadcast_to(np.eye(6), (k_cells, 6, 6)).copy()
    h = np.ones((k_cells, 6))  # the measurement row (its last entry, the bias's, is 1)
    error_rel = tables.error_rel[tables.which]  # (blocks, K)
    # the random walks' variance per second, and whether each filter learns its innovations' persistence
    walk = np.array([c.soc_walk_per_s**2, 1e-8, 1e-8, c.offset_walk_a**2, 1e-12, 0.0])
    learning = t[b.hi - 1][:, None] >= s.memory[:, 0]
    relax_charge = capacity_as * c.bias_relax_soc
    for k, (lo, hi) in enumerate(zip(b.lo.tolist(), b.hi.tolist(), strict=True)):
        which = tables.which[k]
        gap, span = b.gap_s[k], b.span_s[k]
        if gap > 0:  # a gap in the log: the RC pairs relax, nothing flows
            row = tables.rows[which, _grid_index(x[:, 0])]
            x[:, 1:3] *= np.exp(-gap / row[:, 5:7])
            p[:, 0, 0] += c.soc_walk_per_s**2 * gap
        if c.rest_offset_after_s > 0:
            # (a gap in the log counts: the filter books nothing flowing in it)
            read_s = gap + span  # the time this block's reading stands for
            s.rest_s = np.where(b.i_abs_max[k] < rest_a, s.rest_s + read_s, 0.0)
            reading = s.rest_s >= c.rest_offset_after_s
            if reading.any():  # nothing flows: the reading is the offset, its variance per correlation time
                var = c.rest_current_std_a**2 * max(1.0, c.error_correlation_s / read_s)
                x_r, p_r = rest_update(x[reading], p[reading], b.i_sum[k, reading] / (hi - lo), var)
                x[reading], p[reading] = x_r, p_r
                s.offset_rest_s = s.offset_rest_s + np.where(reading, read_s, 0.0)
        soc = x[:, 0]
        grid = _grid_index(soc)
        row = tables.rows[which, grid]
        slope, r0, scale = row[:, 1], row[:, 2], row[:, 7]
        ocv0 = row[:, 0] + slope * (soc - grid / (GRID - 1))
        lin_var: np.ndarray | float = 0.0  # the linearisation's error variance (V^2)
        wide = np.flatnonzero(p[:, 0, 0] > TANGENT_VAR)  # a SOC spread wider than the tangent's window
        if wide.size:
            lin_var = np.zeros(k_cells)
            value, line_slope, residual, fitted = regression(
                tables.rows[which[wide], :, 0], soc[wide], p[wide, 0, 0]
            )
            wide = wide[fitted]
            ocv0[wide], slope[wide], lin_var[wide] = value[fitted], line_slope[fitted], residual[fitted]
        inv_m = 1.0 / (hi - lo)
        gain, offset = x[:, 4:5], x[:, 3:4]
        icor = i[:, lo:hi] * (1.0 - gain) - offset
        g = scale[:, None] * np.arcsinh(icor / scale[:, None])
        # the two RC pairs: v_j(t) = e_j (v_j(0) + R_j sum (1 - exp(-dt/tau_j)) g / e_j), (K, 2, m)
        r, neg_tau = row[:, 3:5, None], -row[:, 5:7, None]
        e = np.exp(b.elapsed_s[lo:hi] / neg_tau)
        v_rc = e * (
            x[:, 1:3, None]
            - r * np.add.accumulate(np.expm1(b.dt_s[lo:hi] / neg_tau) * g[:, None] / e, axis=2)
        )
        over = r0[:, None] * icor + v_rc[:, 0] + v_rc[:, 1]
        # the block's mean voltage residual: measured - (OCV + slope ds + overpotential + bias)
        ds_sum = b.ds_dg_sum[k] * (gain[:, 0] - 1.0) + b.ds_db_sum[k] * offset[:, 0]  # ds = cumsum(icor dt)/c
        y = (b.v_sum[k] - slope * ds_sum - np.add.reduce(over, axis=1)) * inv_m - ocv0 - x[:, 5]
        h[:, 0] = slope
        h[:, 1:3] = np.add.reduce(e, axis=2) * inv_m
        h[:, 3] = slope * b.ds_db_sum[k] * inv_m - r0
        h[:, 4] = (slope * b.ds_dg_sum[k] - r0 * b.i_sum[k]) * inv_m
        noise = c.model_error_v**2 + (error_rel[k] * np.add.reduce(np.abs(over), axis=1) * inv_m) ** 2
        if c.interpolation_spread:  # the resistances between two pulse sets
            rel = tables.spread[which, grid]
            v_abs = np.add.reduce(np.abs(v_rc), axis=2)
            spread = rel[:, 0] * np.abs(r0) * np.add.reduce(np.abs(icor), axis=1) + np.add.reduce(
                rel[:, 1:] * v_abs, axis=1
            )
            noise += (spread * inv_m) ** 2
        ph = np.matmul(p, h[:, :, None])[:, :, 0]
        hph = np.add.reduce(h * ph, axis=1)
        w = b.adapt_weight[k]
        if c.adapt_s > 0:  # covariance matching: innovations P and R don't explain
            excess = (y * y - hph - lin_var) / noise
            s.error_scale = np.maximum(1.0, (1.0 - w) * s.error_scale + w * excess)
        lasting = inflation(s.memory, y, learning[k], w, c.persistence_rho_max)
        r_meas = noise * s.error_scale * np.maximum(max(1.0, c.error_correlation_s / span), lasting) + lin_var
        gain_k = ph / (hph + r_meas)[:, None]
        dx = gain_k * y[:, None]
        p -= gain_k[:, :, None] * ph[:, None, :]
        updated = soc + dx[:, 0]
        if not ((updated >= 0.0) & (updated <= 1.0)).all():  # SOC is 0..1: project with the covariance
            over_bound = updated - np.minimum(np.maximum(updated, 0.0), 1.0)
            bounded = (over_bound != 0.0) & (p[:, 0, 0] > 0.0)
            dx[bounded] -= p[bounded, :, 0] * (over_bound[bounded] / p[bounded, 0, 0])[:, None]
        x += dx
        # the SOC inside the block follows from the updated state (filled in by the caller, for all blocks)
        x_updated[k], soc_var[k] = x, p[:, 0, 0]
        # propagate to the block end, the RC voltages with the update's correction
        e_end = e[:, :, -1]
        x[:, 1:3] = v_rc[:, :, -1] + e_end * dx[:, 1:3]
        x[:, 0] += b.ds_dg_end[k] * (x[:, 4] - 1.0) + b.ds_db_end[k] * x[:, 3]
        relax = np.exp(-(np.abs(icor) @ b.dt_s[lo:hi]) / relax_charge)
        x[:, 5] *= relax  # hysteresis-like decay
        phi[:, 0, 3], phi[:, 0, 4] = b.ds_db_end[k], b.ds_dg_end[k]
        phi[:, 1, 1], phi[:, 2, 2], phi[:, 5, 5] = e_end[:, 0], e_end[:, 1], relax
        p = phi @ p @ phi.transpose(0, 2, 1)
        p.reshape(k_cells, 36)[:, ::7] += walk * span  # the diagonal
        p[:, 5, 5] += c.bias_std_v**2 * (1.0 - relax**2)
    s.x, s.p = x, p
    return np.stack(
        [x_updated[:, :, 0], x_updated[:, :, 3], x_updated[:, :, 4], np.sqrt(np.maximum(soc_var, 0.0))]
    )


def _grid_index(soc: np.ndarray) -> np.ndarray:
    """The nearest SOC grid point of each SOC, clamped to the grid."""
    return np.minimum(np.maximum(np.rint(soc * (GRID - 1)), 0), GRID - 1).astype(np.intp)
