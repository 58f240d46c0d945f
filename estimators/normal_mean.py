"""Design of the two-sided normal mean test with a known scale (companions in ``estimators.design``'s style).

The test: n i.i.d. draws whose mean is exactly normal under the claim with standard deviation ``scale/√n``
(e.g. a linear statistic of a Gaussian law); it rejects "mean = m₀" when ``|X̄ − m₀| > z_{α/2}·scale/√n``.
Under a true mean ``m₀ ± g`` it rejects w.p. ≥ ``Φ(g√n/scale − z_{α/2})``, so it detects g w.p. ≥ 1 − β once
``g ≥ (z_{α/2} + z_β)·scale/√n``: ``n = ⌈((z_{α/2} + z_β)·scale/g)²⌉`` (n ∝ log(1/α)/g²).
"""
from __future__ import annotations

import math

from scipy.stats import norm

from primitives._checks import check_positive, check_unit_interval

__all__ = ["min_num_samples_for_normal_mean_test", "min_shift_of_normal_means_detectable"]


def min_num_samples_for_normal_mean_test(gap: float, scale: float, *, alpha: float, beta: float) -> int:
    """Smallest n at which the two-sided level-α normal mean test detects a mean off by ``gap`` w.p. ≥ 1 − β."""
    gap = check_positive("gap", gap)
    scale = check_positive("scale", scale)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    return max(1, int(math.ceil(((norm.isf(alpha / 2) + norm.isf(beta)) * scale / gap) ** 2)))


def min_shift_of_normal_means_detectable(n: int, scale: float, *, alpha: float, beta: float) -> float:
    """Smallest mean shift the two-sided level-α test detects w.p. ≥ 1 − β at n draws: (z_{α/2} + z_β)·scale/√n."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    scale = check_positive("scale", scale)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    return (norm.isf(alpha / 2) + norm.isf(beta)) * scale / math.sqrt(n)
