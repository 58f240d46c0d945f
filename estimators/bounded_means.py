"""Upper confidence bounds on the mean of variables in [0, 1] (used for T7's expected per-step terms).

* ``kl_upper_confidence``: Hoeffding's (1963, Thm 1) Chernoff bound for [0, 1]-valued variables,
  ``P(X̄ ≤ μ − ε) ≤ exp(−n·kl(μ − ε ‖ μ))`` (a [0,1] variable's MGF is dominated by the Bernoulli with the
  same mean), inverted: ``UCB = sup{μ ≥ X̄ : n·kl(X̄ ‖ μ) ≤ log(1/α)}``. Tight when the mean is small.
* ``bounded_mean_upper_confidence``: the smaller of that and the empirical Bernstein bound
  (``estimators.confidence.empirical_bernstein_radius``), each at α/2.
"""
from __future__ import annotations

import math

import numpy as np

from estimators.confidence import empirical_bernstein_radius
from primitives._checks import check_unit_interval

__all__ = ["bernoulli_kl", "kl_upper_confidence", "bounded_mean_upper_confidence"]


def bernoulli_kl(p: float, q: float) -> float:
    """``kl(p ‖ q) = p log(p/q) + (1−p) log((1−p)/(1−q))`` with the conventions 0 log 0 = 0."""
    p = min(max(p, 0.0), 1.0)
    q = min(max(q, 1e-300), 1.0 - 1e-16)
    out = 0.0
    if p > 0:
        out += p * math.log(p / q)
    if p < 1:
        out += (1 - p) * math.log((1 - p) / (1 - q))
    return out


def kl_upper_confidence(mean: float, n: int, alpha: float) -> float:
    """``sup{μ ∈ [mean, 1] : n·kl(mean ‖ μ) ≤ log(1/α)}`` by bisection (60 halvings)."""
    alpha = check_unit_interval("alpha", alpha)
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    mean = min(max(float(mean), 0.0), 1.0)
    level = math.log(1.0 / alpha) / n
    low, high = mean, 1.0
    if bernoulli_kl(mean, high) <= level:
        return 1.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        if bernoulli_kl(mean, middle) <= level:
            low = middle
        else:
            high = middle
    return high


def bounded_mean_upper_confidence(values, alpha: float) -> float:
    """Upper confidence bound (level α) on ``E X`` from i.i.d. values in [0, 1]."""
    alpha = check_unit_interval("alpha", alpha)
    values = np.asarray(values, dtype=float).reshape(-1)
    if values.size < 2:
        raise ValueError("need at least 2 values")
    if values.min() < -1e-12 or values.max() > 1 + 1e-12:
        raise ValueError("values must lie in [0, 1]")
    values = np.clip(values, 0.0, 1.0)
    mean = float(values.mean())
    kl = kl_upper_confidence(mean, values.size, alpha / 2)
    bernstein = mean + empirical_bernstein_radius(values, alpha / 2)
    return min(kl, bernstein, 1.0)
