"""Exact Chernoff (Cramér) tail bounds for a sum of independent geometric variables with known rates, the
two-sided acceptance region they give, and its power against a miscounting counter.

``X = Σ_i G_i``, ``G_i ~ Geom(p_i)`` on {1, 2, …} (proposals until the first acceptance). Its cumulant
generating function is ``K(θ) = Σ_i [log p_i + θ − log(1 − (1 − p_i)e^θ)]`` for ``θ < −log(1 − p_min)``, with
``K'(θ) = Σ_i 1/(1 − (1 − p_i)e^θ)`` (increasing; ``K'(0) = μ = Σ 1/p_i``). Markov's inequality on ``e^{θX}``
gives ``P(X ≥ x) ≤ e^{−I(x)}`` (x ≥ μ) and ``P(X ≤ x) ≤ e^{−I(x)}`` (x ≤ μ) with the rate function
``I(x) = sup_θ [θx − K(θ)] = θ*x − K(θ*)``, ``K'(θ*) = x`` (found by bisection). Janson's (2018) bounds
(``tiltproof.byo.chain.janson_interval``) are this bound with every rate replaced by the smallest, so the
region here is never wider, and far narrower when the rates spread.

* ``geometric_sum_interval(rates, alpha)``: ``[lo, hi]`` with ``I(lo) = I(hi) = log(2/α)``, so a correct
  count falls outside with probability ≤ α.
* ``count_error_rejection_bound(rates, alpha, factor)``: a counter reporting ``factor·X`` is inside the
  region with probability at most ``e^{−I(lo/factor)}`` (factor < 1) or ``e^{−I(hi/factor)}`` (factor > 1).
* ``min_relative_count_error_detectable(rates, alpha, beta)``: the ε such that counters off by ``1 − ε'``
  and ``1 + ε'`` are both rejected w.p. ≥ 1 − β for any ε' above ε (by that bound). Attained (ε' = ε
  included) except when ``Π p_i ≥ β`` sets the ``1 + ε`` side: there ε is an infimum — at ε itself
  ``hi/(1 + ε) = m`` and ``X = m`` (probability ``Π p_i ≥ β``) still lands inside.
"""
from __future__ import annotations

import math

import numpy as np

from primitives._checks import check_positive, check_unit_interval

__all__ = ["geometric_sum_rate_function", "geometric_sum_interval", "count_error_rejection_bound",
           "min_relative_count_error_detectable"]


def _rates(rates) -> np.ndarray:
    rates = np.asarray(rates, dtype=float).reshape(-1)
    if rates.size == 0 or not np.all((rates > 0.0) & (rates <= 1.0)):
        raise ValueError("rates must be a non-empty array of acceptance probabilities in (0, 1]")
    return rates


def _log_miss(rates: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log1p(-np.minimum(rates, 1.0))        # log(1 − p) (−inf for p = 1)


def _cgf(log_miss: np.ndarray, log_rate: np.ndarray, theta: float) -> float:
    return float(np.sum(log_rate + theta - np.log(-np.expm1(log_miss + theta))))


def _cgf_slope(log_miss: np.ndarray, theta: float) -> float:
    return float(np.sum(1.0 / -np.expm1(log_miss + theta)))


def geometric_sum_rate_function(rates, x: float) -> float:
    """``I(x) = sup_θ [θx − K(θ)]`` for ``X = Σ Geom(p_i)`` (+inf below the minimum ``X ≥ m``)."""
    rates = _rates(rates)
    log_miss, log_rate = _log_miss(rates), np.log(rates)
    mean, count = float(np.sum(1.0 / rates)), rates.size
    x = float(x)
    if x < count:
        return math.inf
    if x == mean:
        return 0.0
    if x > mean:
        low, high = 0.0, -float(np.max(log_miss))      # K' → ∞ as θ → −log(1 − p_min)
        if not math.isfinite(high):                     # every rate is 1: X = m exactly
            return math.inf
    else:
        low, high = -1.0, 0.0
        while _cgf_slope(log_miss, low) > x:
            low *= 2.0
            if low < -1e6:
                break
    for _ in range(200):
        middle = 0.5 * (low + high)
        if _cgf_slope(log_miss, middle) < x:
            low = middle
        else:
            high = middle
        if high - low <= 1e-15 * max(1.0, abs(high)):
            break
    theta = low if x > mean else high                   # stay inside the domain
    return max(0.0, theta * x - _cgf(log_miss, log_rate, theta))


def _solve(rates: np.ndarray, level: float, side: str) -> float:
    """The x on ``side`` of μ with ``I(x) = level``. Along θ the curve is ``x = K'(θ)``, ``I = θK'(θ) − K(θ)``,
    and ``dI/dθ = θK''(θ)``: I grows with |θ| on each side, so one bisection in θ finds it. Below μ, I tends to
    ``I(m) = −Σ log p_i`` as θ → −∞; a level above that returns m (no count below m exists)."""
    log_miss, log_rate = _log_miss(rates), np.log(rates)
    count = rates.size

    def rate_at(theta: float) -> float:
        return theta * _cgf_slope(log_miss, theta) - _cgf(log_miss, log_rate, theta)

    if side == "upper":
        top = -float(np.max(log_miss))
        if not math.isfinite(top):
            return float(count)                     # every rate is 1: X = m exactly
        low, high = 0.0, top
        for _ in range(200):
            middle = 0.5 * (low + high)
            low, high = (middle, high) if rate_at(middle) < level else (low, middle)
            if high - low <= 1e-13 * top:
                break
        return _cgf_slope(log_miss, high)
    if -float(np.sum(log_rate)) <= level:
        return float(count)
    low, high = -1.0, 0.0
    while rate_at(low) < level:
        low *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        low, high = (low, middle) if rate_at(middle) < level else (middle, high)
        if high - low <= 1e-13 * max(1.0, abs(low)):
            break
    return _cgf_slope(log_miss, low)


def geometric_sum_interval(rates, alpha: float) -> tuple[float, float]:
    """Acceptance region ``[lo, hi]`` for ``Σ Geom(p_i)`` at level α (α/2 per side, Chernoff)."""
    rates = _rates(rates)
    level = math.log(2.0 / check_unit_interval("alpha", alpha))
    return _solve(rates, level, "lower"), _solve(rates, level, "upper")


def count_error_rejection_bound(rates, alpha: float, factor: float) -> float:
    """Upper bound on P(``factor·X`` lands in the level-α region), i.e. on the miss rate against a counter
    off by ``factor`` > 0 (1 when the bound is trivial)."""
    rates = _rates(rates)
    factor = check_positive("factor", factor)
    low, high = geometric_sum_interval(rates, alpha)
    mean = float(np.sum(1.0 / rates))
    edge = low / factor if factor < 1.0 else high / factor   # the count needed to land inside
    if (factor < 1.0 and edge <= mean) or (factor > 1.0 and edge >= mean) or factor == 1.0:
        return 1.0
    return min(1.0, math.exp(-geometric_sum_rate_function(rates, edge)))


def min_relative_count_error_detectable(rates, alpha: float, beta: float, *, largest: float = 0.9) -> float | None:
    """The least ε with ``count_error_rejection_bound(1 ± ε') ≤ β`` for every ε' > ε (for ε' = ε too, except
    on the ``1 + ε`` side when ``Π p_i ≥ β``: module docstring); None if it exceeds ``largest`` ∈ (0, 1)."""
    rates = _rates(rates)
    beta = check_unit_interval("beta", beta)
    largest = check_unit_interval("largest", largest)
    low, high = geometric_sum_interval(rates, alpha)
    target = math.log(1.0 / beta)
    # A counter (1 − ε)X lands inside only if X ≥ lo/(1 − ε): probability ≤ β once lo/(1 − ε) ≥ the point where
    # I = log(1/β) above μ. A counter (1 + ε)X needs X ≤ hi/(1 + ε): probability ≤ β once hi/(1 + ε) is at or below
    # the point where I = log(1/β) below μ; when no such point exists (Π p_i ≥ β, ``_solve`` returns m) once
    # hi/(1 + ε) is below m (probability 0): for any ε above hi/m − 1, not at it (X = m still lands inside).
    upper_edge = _solve(rates, target, "upper")
    lower_edge = _solve(rates, target, "lower")
    epsilon = max(1.0 - low / upper_edge, high / lower_edge - 1.0)
    return epsilon if epsilon <= largest else None
