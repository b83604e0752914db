"""How long the SOC filter's voltage errors last, read off its own innovations. Pure.

The filter weighs each block's voltage as if the model's error decorrelated within `error_correlation_s`.
A model that is wrong the same way for tens of minutes — an overpotential scale off in the cold, an OCV
shift on a plateau — then pulls SOC along a little at every block, and the pulls add up. The innovations
show it: consecutive ones have the same sign. Their lag-one correlation rho, tracked with the
covariance-matching memory, says how many blocks carry one block's worth of information, and the
measurement variance is inflated by (1 + rho) / (1 - rho), the variance factor of the mean of an AR(1)
sequence. A wrong state gives same-signed innovations too, so after a start that is not known (a guess the
first minutes do not bear out, their verdict, or no guess) the correlation is learnt only once the filter
has had the time it needs to converge (`SocConfig.persistence_after_s`); from a rest voltage, or a guess
whose distance from the first minutes' best start is within the verdict's own spread, at once.
"""

from __future__ import annotations

from dataclasses import asdict, astuple, dataclass
from typing import Any

import numpy as np

from bmts.analytics.compiled import compiled


@dataclass
class InnovationPersistence:
    """Running second moments of the block innovations (V^2) and the time learning starts (filter time), as
    one filter keeps them between calls; `inflation` works on its `row`."""

    learn_from_s: float
    lag0: float = 0.0  # E[y_k^2]
    lag1: float = 0.0  # E[y_k y_(k-1)]
    last_v: float = 0.0  # the previous block's innovation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: object) -> InnovationPersistence:
        if not isinstance(d, dict):
            raise ValueError(f"persistence must be an object, not {d!r}")
        return cls(**{k: float(v) for k, v in d.items()})

    def row(self) -> tuple[float, ...]:
        """(learn_from_s, lag0, lag1, last_v): the row of `inflation`'s memory."""
        return astuple(self)


@compiled
def inflation(memory: np.ndarray, y_v: float, learning: bool, weight: float, rho_max: float) -> float:
    """Record a block's innovation `y_v` of one filter (with the memory's `weight`) and return the factor
    its measurement variance is to be inflated by (>= 1). `memory`: the filter's `InnovationPersistence.row`
    (4,), updated in place; `learning`: whether the block ends past its `learn_from_s`."""
    if not learning or rho_max <= 0.0:
        return 1.0
    memory[1] += weight * (y_v * y_v - memory[1])
    memory[2] += weight * (y_v * memory[3] - memory[2])
    memory[3] = y_v
    if memory[1] <= 0.0:
        return 1.0
    rho = min(max(memory[2] / memory[1], 0.0), rho_max)
    return (1.0 + rho) / (1.0 - rho)
