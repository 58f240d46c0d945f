"""A two-sided Bernstein test of a bounded mean with a known variance bound, and its design companions.

For i.i.d. X_i ∈ [0, R] with mean μ and variance ≤ σ², Bernstein's inequality gives, per side,
``P(X̄ − μ ≥ ε) ≤ exp(−nε²/(2σ² + 2Rε/3))``; solving for the level a gives the radius
``ε(σ², R, n, a) = RL/(3n) + √((RL/(3n))² + 2σ²L/n)``, ``L = log(1/a)``.

* ``assert_mean_equal_by_bernstein``: H₀ "E X = μ₀" is rejected when ``|X̄ − μ₀| > ε(σ₀², R, n, α/2)``,
  with σ₀² a variance bound valid under H₀ (always ``μ₀(R − μ₀)``, the largest variance of a [0, R]
  variable with mean μ₀; a caller may pass a tighter bound it can prove). False-fail rate ≤ α.
* Power: if E X = μ₁ with |μ₁ − μ₀| = g, the test accepts only if X̄ falls back by ``g − ε₀`` towards μ₀,
  which has probability ≤ β once ``g ≥ ε₀ + ε(σ₁², R, n, β)`` with ``σ₁² = μ₁(R − μ₁)`` (Bernstein again,
  with the only variance bound known under the alternative). ``min_gap_of_means_detectable_by_bernstein``
  is the smallest such g over both directions; ``min_num_samples_for_bernstein_mean_test`` the smallest n
  at which a gap g is detected. Scaling: n ∝ (√(2σ₀² log(2/α)) + √(2σ₁² log(1/β)))²/g² + O(R log/g).
"""
from __future__ import annotations

import math

import numpy as np

from estimators.design import smallest_n
from primitives._checks import check_positive, check_unit_interval

__all__ = ["bernstein_radius", "assert_mean_equal_by_bernstein", "min_gap_of_means_detectable_by_bernstein",
           "min_num_samples_for_bernstein_mean_test"]


def _largest_variance(mean: float, span: float) -> float:
    return max(0.0, min(mean, span)) * max(0.0, span - mean)


def bernstein_radius(variance: float, span: float, n: int, level: float) -> float:
    """``ε`` with ``exp(−nε²/(2σ² + 2Rε/3)) = level`` (one side)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    log_term = math.log(1.0 / check_unit_interval("level", level))
    linear = span * log_term / (3.0 * n)
    return linear + math.sqrt(linear * linear + 2.0 * max(variance, 0.0) * log_term / n)


def _check_mean(mean: float, span: float) -> tuple[float, float]:
    span = check_positive("span", span)
    mean = float(mean)
    if not 0.0 <= mean <= span:
        raise ValueError(f"mean must lie in [0, span={span:g}], got {mean!r}")
    return mean, span


def assert_mean_equal_by_bernstein(values, mean: float, span: float, *, alpha: float,
                                   variance: float | None = None) -> tuple[bool, float, float]:
    """Two-sided test of "E X = mean" for i.i.d. values in [0, span]: (holds, |X̄ − mean|, radius ε₀)."""
    mean, span = _check_mean(mean, span)
    alpha = check_unit_interval("alpha", alpha)
    values = np.asarray(values, dtype=float)
    if values.size < 1 or not np.all(np.isfinite(values)):
        raise ValueError("values must be a non-empty array of finite numbers")
    bound = _largest_variance(mean, span) if variance is None else min(float(variance), _largest_variance(mean, span))
    radius = bernstein_radius(bound, span, values.size, alpha / 2.0)
    distance = abs(float(values.mean()) - mean)
    return distance <= radius, distance, radius


def _detects(n: int, mean: float, span: float, gap: float, alpha: float, beta: float, variance: float | None) -> bool:
    null = _largest_variance(mean, span) if variance is None else min(variance, _largest_variance(mean, span))
    radius = bernstein_radius(null, span, n, alpha / 2.0)
    for alternative in (mean + gap, mean - gap):
        if not 0.0 <= alternative <= span:
            continue                       # that direction cannot happen for a [0, span] variable
        if gap < radius + bernstein_radius(_largest_variance(alternative, span), span, n, beta):
            return False
    return True


def min_gap_of_means_detectable_by_bernstein(n: int, mean: float, span: float, *, alpha: float, beta: float,
                                             variance: float | None = None) -> float:
    """Smallest |E X − mean| the two-sided test at ``alpha`` detects w.p. ≥ 1 − β (either direction)."""
    mean, span = _check_mean(mean, span)
    alpha, beta = check_unit_interval("alpha", alpha), check_unit_interval("beta", beta)
    low, high = 0.0, span
    if not _detects(n, mean, span, high, alpha, beta, variance):
        return math.inf
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (low, middle) if _detects(n, mean, span, middle, alpha, beta, variance) else (middle, high)
    return high


def min_num_samples_for_bernstein_mean_test(gap: float, mean: float, span: float, *, alpha: float, beta: float,
                                            variance: float | None = None) -> int:
    """Smallest n at which the two-sided Bernstein test detects |E X − mean| ≥ ``gap`` w.p. ≥ 1 − β."""
    mean, span = _check_mean(mean, span)
    gap = check_positive("gap", gap)
    alpha, beta = check_unit_interval("alpha", alpha), check_unit_interval("beta", beta)
    return smallest_n(lambda n: _detects(n, mean, span, gap, alpha, beta, variance))
