"""The SOC filter's block loop, for one cell or for many cells logged on the same clock at once. Pure.

`soc.SocFilter` holds one cell's filter; this module runs the algebra of its blocks (`soc` describes the
filter). Everything that does not depend on the filter's state is computed for a whole chunk with NumPy
(`Blocks`); what does, block after block, is a loop compiled with Numba (`_kernel`): per block a few hundred
floating-point operations on a 6-state, which interpreted NumPy would pay for with a call per operation
(at 1 s logging a block holds only 30 samples). The cells of a pack are sampled together, so their blocks
have the same times and one call runs them all; one cell is the case of one row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bmts.analytics.compiled import compiled
from bmts.analytics.soc_config import SocConfig
from bmts.analytics.soc_offset import rest_update
from bmts.analytics.soc_persistence import inflation
from bmts.analytics.soc_tables import GRID, TANGENT_VAR, Lookup, grid_index


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
        cfg: SocConfig,
        capacity_as: np.ndarray,
    ) -> None:
        # blocks of at most block_samples and block_seconds, each as long as both allow
        los, his, starts, gaps = [], [], [], []
        lo, n = 0, t.size
        while lo < n:
            t_lo = float(t[lo])
            hi = lo + cfg.block_samples  # unless block_seconds end it earlier (t ascending):
            if hi > n or t[hi - 1] > t_lo + cfg.block_seconds:
                hi = min(int(t.searchsorted(t_lo + cfg.block_seconds, side="right")), hi)
            gap = t_lo - t_prev if t_lo - t_prev > cfg.block_seconds else 0.0
            los.append(lo)
            his.append(hi)
            starts.append(t_lo if gap > 0 else t_prev)
            gaps.append(gap)
            t_prev, lo = float(t[hi - 1]), hi
        self.count = len(los)
        self.lo, self.hi = np.array(los), np.array(his)
        self.lengths = self.hi - self.lo
        self.gap_s = np.array(gaps)  # the logging gap before each block (0: none)
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
        self.span_s = span
        self.end_s = t[self.hi - 1]
        adapt = 1.0 - np.exp(-span / cfg.adapt_s) if cfg.adapt_s > 0 else np.zeros(self.count)
        self.adapt_weight = adapt


@dataclass(frozen=True)
class Tables:
    """The look-up tables (`soc_tables.Lookup`) the cells use, stacked, and which one each cell uses in
    each block."""

    which: np.ndarray  # (blocks, K) index of the table each cell uses in each block
    rows: np.ndarray  # (tables, GRID, 8): ocv, slope, r0, r1, tau1, r2, tau2, scale (`Lookup.rows`)
    spread: np.ndarray  # (tables, GRID, 3)
    error_rel: np.ndarray  # (tables,)

    @classmethod
    def of(cls, lookups: Sequence[Lookup], which: np.ndarray) -> Tables:
        return cls(
            which,
            np.stack([u.rows for u in lookups]),
            np.stack([u.spread for u in lookups]),
            np.array([u.error_rel for u in lookups]),
        )


#: the settings the kernel reads, in its order (`SocConfig` fields)
_SETTINGS = (
    "soc_walk_per_s",
    "offset_walk_a",
    "bias_std_v",
    "bias_relax_soc",
    "model_error_v",
    "error_correlation_s",
    "adapt_s",
    "persistence_rho_max",
    "rest_offset_after_s",
    "rest_current_std_a",
    "interpolation_spread",
)


def run_blocks(
    s: FilterArrays,
    b: Blocks,
    tables: Tables,
    i: np.ndarray,
    capacity_as: np.ndarray,
    rest_a: np.ndarray,
    c: SocConfig,
) -> np.ndarray:
    """Run the blocks of K cells (state `s`, updated in place) and return each block's start SOC, offset,
    gain error and SOC std, (4, blocks, K). `i`: (K, n); `c`: the filters' shared configuration."""
    k_cells = capacity_as.size
    # each block's updated state and SOC variance (before it is propagated to the block's end)
    x_updated, soc_var = np.empty((b.count, k_cells, 6)), np.empty((b.count, k_cells))
    settings = tuple(float(getattr(c, name)) for name in _SETTINGS)
    _kernel(
        s.x,
        s.p,
        s.error_scale,
        s.rest_s,
        s.offset_rest_s,
        s.memory,
        b.lo,
        b.hi,
        b.gap_s,
        b.span_s,
        b.adapt_weight,
        b.end_s,
        b.v_sum,
        b.i_sum,
        b.i_abs_max,
        b.ds_db_sum,
        b.ds_dg_sum,
        b.ds_db_end,
        b.ds_dg_end,
        b.elapsed_s,
        b.dt_s,
        np.ascontiguousarray(i),
        np.ascontiguousarray(tables.which),
        tables.rows,
        tables.spread,
        tables.error_rel,
        capacity_as,
        rest_a,
        settings,
        x_updated,
        soc_var,
    )
    return np.stack(
        [x_updated[:, :, 0], x_updated[:, :, 3], x_updated[:, :, 4], np.sqrt(np.maximum(soc_var, 0.0))]
    )


@compiled
def _kernel(
    # the K filters' state, updated in place (`FilterArrays`)
    x: np.ndarray,
    p: np.ndarray,
    error_scale: np.ndarray,
    rest_s: np.ndarray,
    offset_rest_s: np.ndarray,
    memory: np.ndarray,
    # per block: first and past-last sample, gap before it, span, adaptation weight, end time (`Blocks`)
    lo_k: np.ndarray,
    hi_k: np.ndarray,
    gap_k: np.ndarray,
    span_k: np.ndarray,
    adapt_k: np.ndarray,
    t_end_k: np.ndarray,
    # per block and cell (`Blocks`)
    v_sum: np.ndarray,
    i_sum: np.ndarray,
    i_abs_max: np.ndarray,
    ds_db_sum: np.ndarray,
    ds_dg_sum: np.ndarray,
    ds_db_end: np.ndarray,
    ds_dg_end: np.ndarray,
    # per sample: time since the block's start, time step; current per cell and sample
    elapsed_s: np.ndarray,
    dt_s: np.ndarray,
    i: np.ndarray,
    # the look-up tables (`Tables`), the cells' capacities and rest currents, the settings (`_SETTINGS`)
    which: np.ndarray,
    rows: np.ndarray,
    spread: np.ndarray,
    error_rel: np.ndarray,
    capacity_as: np.ndarray,
    rest_a: np.ndarray,
    settings: tuple[float, ...],
    # out: each block's updated state and SOC variance
    x_updated: np.ndarray,
    soc_var: np.ndarray,
) -> None:
    """`run_blocks`, compiled: for each block, for each cell, the filter's algebra (`soc` describes it)."""
    (
        soc_walk,
        offset_walk,
        bias_std,
        bias_relax_soc,
        model_error_v,
        error_correlation_s,
        adapt_s,
        rho_max,
        rest_after_s,
        rest_std_a,
        interpolation_spread,
    ) = settings
    last = GRID - 1
    h = np.empty(6)
    ph = np.empty(6)
    dx = np.empty(6)
    q = np.empty((6, 6))
    for k in range(lo_k.size):
        lo, hi, gap, span, w = lo_k[k], hi_k[k], gap_k[k], span_k[k], adapt_k[k]
        m = hi - lo
        inv_m = 1.0 / m
        for j in range(x.shape[0]):
            xj, pj, u = x[j], p[j], which[k, j]
            if gap > 0:  # a gap in the log: the RC pairs relax, nothing flows
                row = rows[u, grid_index(xj[0], last)]
                xj[1] *= math.exp(-gap / row[4])
                xj[2] *= math.exp(-gap / row[6])
                pj[0, 0] += soc_walk * soc_walk * gap
            if rest_after_s > 0:
                # (a gap in the log counts: the filter books nothing flowing in it)
                read_s = gap + span  # the time this block's reading stands for
                rest_s[j] = rest_s[j] + read_s if i_abs_max[k, j] < rest_a[j] else 0.0
                if rest_s[j] >= rest_after_s:  # nothing flows: the reading is the offset
                    var = rest_std_a * rest_std_a * max(1.0, error_correlation_s / read_s)
                    rest_update(xj, pj, i_sum[k, j] / m, var, ph)
                    offset_rest_s[j] += read_s
            soc = xj[0]
            grid = grid_index(soc, last)
            row = rows[u, grid]
            ocv0, slope, r0, r1, r2 = row[0] + row[1] * (soc - grid / last), row[1], row[2], row[3], row[5]
            tau1, tau2, scale = row[4], row[6], row[7]
            lin_var = 0.0  # the linearisation's error variance (V^2)
            if pj[0, 0] > TANGENT_VAR:  # a SOC spread wider than the tangent's window: linearise over it
                fitted, value, line_slope, residual = _regression(rows[u, :, 0], soc, pj[0, 0], last)
                if fitted:
                    ocv0, slope, lin_var = value, line_slope, residual
            gain, offset, v1, v2 = xj[4], xj[3], xj[1], xj[2]
            # the block's samples: the RC pairs as exponential sums, v_j(t) = e_j (v_j(0) + R_j sum(...) / e_j)
            acc1 = acc2 = 0.0
            over_sum = over_abs = e1_sum = e2_sum = icor_abs = v1_abs = v2_abs = charge_abs = 0.0
            e1 = e2 = v1_t = v2_t = 0.0
            for n in range(lo, hi):
                icor = i[j, n] * (1.0 - gain) - offset
                g = scale * math.asinh(icor / scale)
                e1 = math.exp(elapsed_s[n] / -tau1)
                e2 = math.exp(elapsed_s[n] / -tau2)
                acc1 += math.expm1(dt_s[n] / -tau1) * g / e1
                acc2 += math.expm1(dt_s[n] / -tau2) * g / e2
                v1_t = e1 * (v1 - r1 * acc1)
                v2_t = e2 * (v2 - r2 * acc2)
                over = r0 * icor + v1_t + v2_t
                over_sum += over
                over_abs += abs(over)
                e1_sum += e1
                e2_sum += e2
                icor_abs += abs(icor)
                v1_abs += abs(v1_t)
                v2_abs += abs(v2_t)
                charge_abs += abs(icor) * dt_s[n]
            # the block's mean voltage residual: measured - (OCV + slope ds + overpotential + bias)
            ds_sum = ds_dg_sum[k, j] * (gain - 1.0) + ds_db_sum[k, j] * offset  # ds = cumsum(icor dt) / c
            y = (v_sum[k, j] - slope * ds_sum - over_sum) * inv_m - ocv0 - xj[5]
            h[0], h[1], h[2] = slope, e1_sum * inv_m, e2_sum * inv_m
            h[3] = slope * ds_db_sum[k, j] * inv_m - r0
            h[4] = (slope * ds_dg_sum[k, j] - r0 * i_sum[k, j]) * inv_m
            h[5] = 1.0
            noise = model_error_v * model_error_v + (error_rel[u] * over_abs * inv_m) ** 2
            if interpolation_spread:  # the resistances are not known between two pulse sets
                rel = spread[u, grid]
                noise += ((rel[0] * abs(r0) * icor_abs + rel[1] * v1_abs + rel[2] * v2_abs) * inv_m) ** 2
            hph = 0.0
            for a in range(6):
                ph[a] = 0.0
                for col in range(6):
                    ph[a] += pj[a, col] * h[col]
                hph += h[a] * ph[a]
            if adapt_s > 0:  # covariance matching: innovations larger than P and R explain
                excess = (y * y - hph - lin_var) / noise
                error_scale[j] = max(1.0, (1.0 - w) * error_scale[j] + w * excess)
            lasting = inflation(memory[j], y, t_end_k[k] >= memory[j, 0], w, rho_max)
            r_meas = noise * error_scale[j] * max(1.0, error_correlation_s / span, lasting) + lin_var
            for a in range(6):
                dx[a] = ph[a] / (hph + r_meas) * y
                for col in range(6):
                    pj[a, col] -= ph[a] / (hph + r_meas) * ph[col]
            updated = soc + dx[0]
            over_bound = updated - min(max(updated, 0.0), 1.0)
            if over_bound != 0.0 and pj[0, 0] > 0.0:  # SOC is 0..1: project with the state's covariance
                along = over_bound / pj[0, 0]
                for a in range(6):
                    dx[a] -= pj[a, 0] * along
            for a in range(6):
                xj[a] += dx[a]
                x_updated[k, j, a] = xj[a]
            soc_var[k, j] = pj[0, 0]
            # propagate to the block end, the RC voltages with the update's correction
            xj[1] = v1_t + e1 * dx[1]
            xj[2] = v2_t + e2 * dx[2]
            d3, d4 = ds_db_end[k, j], ds_dg_end[k, j]
            xj[0] += d4 * (xj[4] - 1.0) + d3 * xj[3]
            relax = math.exp(-charge_abs / (capacity_as[j] * bias_relax_soc))
            xj[5] *= relax  # hysteresis-like decay
            # p = phi p phi': SOC takes up offset (d3) and gain (d4), the RC pairs and the bias decay
            for col in range(6):
                q[0, col] = pj[0, col] + d3 * pj[3, col] + d4 * pj[4, col]
                q[1, col], q[2, col] = e1 * pj[1, col], e2 * pj[2, col]
                q[3, col], q[4, col], q[5, col] = pj[3, col], pj[4, col], relax * pj[5, col]
            for a in range(6):
                pj[a, 0] = q[a, 0] + d3 * q[a, 3] + d4 * q[a, 4]
                pj[a, 1], pj[a, 2] = e1 * q[a, 1], e2 * q[a, 2]
                pj[a, 3], pj[a, 4], pj[a, 5] = q[a, 3], q[a, 4], relax * q[a, 5]
            pj[0, 0] += soc_walk * soc_walk * span
            pj[1, 1] += 1e-8 * span
            pj[2, 2] += 1e-8 * span
            pj[3, 3] += offset_walk * offset_walk * span
            pj[4, 4] += 1e-12 * span
            pj[5, 5] += bias_std * bias_std * (1.0 - relax * relax)


@compiled
def _regression(ocv: np.ndarray, soc: float, var: float, last: int) -> tuple[bool, float, float, float]:
    """The OCV's regression line on SOC ~ N(soc, var) truncated to the grid (0..1), within 4 sigma: (whether
    there was a spread to fit, else the tangent stands; its value at `soc`; its slope; the OCV's residual
    variance about it, V^2). `ocv`: the table's OCV on the SOC grid."""
    at, half = soc * last, 4.0 * math.sqrt(var) * last  # in grid steps
    lo, hi = max(math.floor(at - half), 0), min(math.ceil(at + half) + 1, last + 1)
    if hi - lo < 3:
        return False, 0.0, 0.0, 0.0
    w_sum = mean_s = mean_ocv = 0.0
    w = np.empty(hi - lo)
    for n in range(lo, hi):
        s_n = n / last
        w[n - lo] = math.exp((s_n - soc) ** 2 / (-2.0 * var))
        w_sum += w[n - lo]
    for n in range(lo, hi):
        w[n - lo] /= w_sum
        mean_s += w[n - lo] * (n / last)
        mean_ocv += w[n - lo] * ocv[n]
    var_s = cov = var_ocv = 0.0
    for n in range(lo, hi):
        ds, docv = n / last - mean_s, ocv[n] - mean_ocv
        var_s += w[n - lo] * ds * ds
        cov += w[n - lo] * ds * docv
        var_ocv += w[n - lo] * docv * docv
    if var_s <= 0.0:
        return False, 0.0, 0.0, 0.0
    slope = cov / var_s
    residual = max(var_ocv - slope * slope * var_s, 0.0)
    # the line through the mean (E ocv at E soc), evaluated at the state's SOC
    return True, mean_ocv + slope * (soc - mean_s), max(slope, 0.05), residual
