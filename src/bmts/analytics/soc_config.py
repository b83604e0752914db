"""The SOC filter's settings (`soc` describes the filter they tune)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SocConfig:
    """Every setting of the SOC filter with its default; the comments say what each is for."""

    block_samples: int = 256
    block_seconds: float = 30.0
    initial_soc_std: float = 0.10  # a given initial SOC is a guess with this standard deviation
    unknown_soc_std: float = 0.30
    rest_voltage_std_v: float = 0.010  # an initial rest voltage as OCV, this good
    offset_std_a: float = 0.10
    gain_std: float = 0.02
    model_error_v: float = 0.006  # voltage model error floor
    model_error_rel: float = 0.15  # plus this fraction of the overpotential (or the model's measured one)
    #: ... or this one where no long load measured it: a pulse-only table's median mismatch at long loads
    #: (the simulated cells' 19 tables 0.22, NMC/NCO 0.08-0.33, LFP 0.8-2.7; Panasonic 0.09 / 0.17 / 0.22
    #: at 25 / 10 / 0 degC: its pulse tests against its dis5 files)
    unmeasured_error_rel: float = 0.20
    error_correlation_s: float = 60.0
    adapt_s: float = 600.0  # memory of the innovation-based model-error scale (0: no adaptation)
    bias_std_v: float = 0.010  # stationary spread of the model-voltage bias (hysteresis, OCV shift); 0: off
    bias_relax_soc: float = 0.20  # the bias decorrelates over this charge throughput (fraction of capacity)
    soc_walk_per_s: float = 1e-7
    offset_walk_a: float = 2e-5  # A per sqrt(s)
    rest_current_c_rate: float = 0.02
    temperature_margin_c: float = 5.0
    #: compare a start that is not at rest with the first minutes' voltage (`soc_start`): a given initial SOC
    #: this many of its std from the voltage's own best start is replaced by what the voltage says; 0: off
    start_check_std: float = 2.0
    #: ... and only when it is this far off too: a start declared better known (a smaller `initial_soc_std`)
    #: narrows the prior, not the check, which is there for a wrong guess, not a cold model's error
    start_check_min_soc: float = 0.20
    #: after this long at rest (every reading below `rest_current_c_rate`), the reading is the current
    #: sensor's offset (nothing flows), trusted to `rest_current_std_a`; 0: off
    rest_offset_after_s: float = 300.0
    rest_current_std_a: float = 0.01
    #: the block innovations' lag-one correlation inflates the voltage's variance (`soc_persistence`), capped
    #: at this correlation ((1 + 0.95) / (1 - 0.95): 39 blocks count as one); 0: off
    persistence_rho_max: float = 0.95
    #: after a start neither at rest nor borne out by the first minutes it is learnt only this long after the
    #: start (a wrong start's innovations share a sign too, and the filter takes 10-20 min to converge)
    persistence_after_s: float = 1200.0
    #: the resistances' uncertainty between pulse sets enters the voltage's variance (`soc_tables`)
    interpolation_spread: bool = True
