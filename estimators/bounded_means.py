"""Confidence bounds on, and tests of, the mean of variables in [0, 1] (T7's expected per-step terms), with
the design companions of the one-sided KL test.

* ``hoeffding_radius`` and ``empirical_bernstein_radius`` (Maurer & Pontil 2009): two-sided radii for a mean
  of variables in a known range / in [0, 1].

* ``kl_upper_confidence``: Hoeffding's (1963, Thm 1) Chernoff bound for [0, 1]-valued variables,
  ``P(X̄ ≤ μ − ε) ≤ exp(−n·kl(μ − ε ‖ μ))`` (a [0,1] variable's MGF is dominated by the Bernoulli with the
  same mean), inverted: ``UCB = sup{μ ≥ X̄ : n·kl(X̄ ‖ μ) ≤ log(1/α)}``. Tight when the mean is small.
* ``bounded_mean_upper_confidence``: the smaller of that and the empirical Bernstein bound
  (``empirical_bernstein_radius``), each at α/2.
* **The one-sided KL test of a per-step mean against δ** (``assert_step_mean_at_most_by_kl``; the per-step
  δ of ``estimators.per_step_delta``): reject "E X ≤ δ" when ``X̄ ≥ c``, ``n·kl(c ‖ δ) = log(1/α)``
  (``step_mean_threshold``). By Chernoff–Hoeffding ``P(X̄ ≥ c) ≤ e^{−n kl(c ‖ μ)}``, and ``kl(c ‖ μ)``
  decreases in μ on [0, c], so the false-fail rate is ≤ α. Power: if ``E X = δ + g > c`` the lower tail gives
  ``P(X̄ < c) ≤ e^{−n kl(c ‖ δ + g)}``, ≤ β when ``n·kl(c ‖ δ+g) ≥ log(1/β)``
  (``min_num_samples_for_step_mean_test``, ``min_excess_of_step_mean_detectable``: n ∝ log(1/α)/(gap²/δ) for
  small δ). Terms above 1 are clipped: ``E min(X, 1) ≤ E X``. ``estimators.step_mean_certificate.step_mean_tests``
  runs it on every step (Bonferroni) beside the betting certificate.
"""
from __future__ import annotations

import math

import numpy as np

from estimators.design import smallest_n
from primitives._checks import check_positive, check_unit_interval

__all__ = ["bernoulli_kl", "kl_upper_confidence", "bounded_mean_upper_confidence", "hoeffding_radius",
           "empirical_bernstein_radius", "step_mean_threshold", "assert_step_mean_at_most_by_kl",
           "min_num_samples_for_step_mean_test", "min_excess_of_step_mean_detectable"]


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


def hoeffding_radius(n: int, width: float, alpha: float) -> float:
    """One-sided Hoeffding radius for the mean of n variables in an interval of length ``width``."""
    alpha = check_unit_interval("alpha", alpha)
    return width * math.sqrt(math.log(1.0 / alpha) / (2.0 * n))


def empirical_bernstein_radius(values: np.ndarray, alpha: float) -> float:
    """One-sided empirical Bernstein radius (Maurer & Pontil 2009, Thm 4) for values in [0, 1].

    With probability ≥ 1 − α: ``E X ≤ mean + √(2 V_n log(2/α)/n) + 7 log(2/α)/(3(n−1))``
    (and symmetrically for the lower side), where ``V_n`` is the unbiased sample variance.
    """
    alpha = check_unit_interval("alpha", alpha)
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    if n < 2:
        raise ValueError("empirical Bernstein needs at least 2 values")
    if values.min() < 0.0 or values.max() > 1.0:
        raise ValueError("empirical Bernstein needs values in [0, 1]")
    variance = float(values.var(ddof=1))
    log_term = math.log(2.0 / alpha)
    return math.sqrt(2.0 * variance * log_term / n) + 7.0 * log_term / (3.0 * (n - 1))


def step_mean_threshold(n: int, delta: float, alpha: float) -> float:
    """``c > δ`` with ``n·kl(c ‖ δ) = log(1/α)`` (1.0 if none below 1: the test cannot reject)."""
    delta, alpha = check_unit_interval("delta", delta), check_unit_interval("alpha", alpha)
    if isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    level = math.log(1.0 / alpha) / n
    if bernoulli_kl(1.0, delta) <= level:
        return 1.0
    low, high = delta, 1.0
    for _ in range(80):
        middle = 0.5 * (low + high)
        if bernoulli_kl(middle, delta) < level:
            low = middle
        else:
            high = middle
    return high


def assert_step_mean_at_most_by_kl(terms, delta: float, *, alpha: float) -> dict:
    """Test ``E X ≤ δ`` from i.i.d. terms (clipped to [0, 1]): ``exceeds`` is True when ``X̄ ≥ c`` (module
    docstring; false-fail rate ≤ α). Also the upper confidence bound at α (valid for terms in [0, 1])."""
    delta, alpha = check_unit_interval("delta", delta), check_unit_interval("alpha", alpha)
    terms = np.asarray(terms, dtype=float).reshape(-1)
    if terms.size < 2 or not np.isfinite(terms).all() or terms.min() < -1e-12:
        raise ValueError("terms must hold at least 2 finite values ≥ 0")
    clipped = np.clip(terms, 0.0, 1.0)
    threshold = step_mean_threshold(terms.size, delta, alpha)
    mean = float(clipped.mean())
    return {"mean": float(terms.mean()), "clipped_mean": mean, "threshold": threshold, "exceeds": mean >= threshold,
            "upper_confidence": bounded_mean_upper_confidence(clipped, alpha), "n": int(terms.size),
            "terms_above_one": int((terms > 1.0).sum())}


def _detects(n: int, delta: float, gap: float, alpha: float, beta: float) -> bool:
    threshold = step_mean_threshold(n, delta, alpha)
    alternative = delta + gap
    return threshold < alternative and n * bernoulli_kl(threshold, alternative) >= math.log(1.0 / beta)


def min_num_samples_for_step_mean_test(delta: float, gap: float, *, alpha: float, beta: float) -> int:
    """Smallest n at which a per-step mean ``δ + gap`` is rejected w.p. ≥ 1 − β (false fail ≤ α)."""
    delta = check_unit_interval("delta", delta)
    gap = check_positive("gap", gap)
    if delta + gap >= 1.0:
        raise ValueError(f"gap must satisfy δ + gap < 1, got δ = {delta!r}, gap = {gap!r}")
    alpha, beta = check_unit_interval("alpha", alpha), check_unit_interval("beta", beta)
    return smallest_n(lambda n: _detects(n, delta, gap, alpha, beta), start=2)


def min_excess_of_step_mean_detectable(n: int, delta: float, *, alpha: float, beta: float) -> float | None:
    """Smallest excess g over δ (a per-step mean δ + g) rejected w.p. ≥ 1 − β with n terms; None if none < 1 − δ."""
    delta = check_unit_interval("delta", delta)
    alpha, beta = check_unit_interval("alpha", alpha), check_unit_interval("beta", beta)
    if not _detects(n, delta, (1.0 - delta) * (1 - 1e-12), alpha, beta):
        return None
    low, high = 0.0, 1.0 - delta
    for _ in range(60):
        middle = 0.5 * (low + high)
        if _detects(n, delta, middle, alpha, beta):
            high = middle
        else:
            low = middle
    return high
