"""Finite-sample confidence bounds used by the claim checks (claims spec, "Error budget").

Every function takes the error probability ``alpha`` it is allowed to spend and returns a bound that
holds with probability ≥ 1 − alpha for any sample size (no asymptotics):

* Clopper–Pearson (exact binomial) bounds for acceptance rates and tail frequencies;
* the exact negative-binomial interval for an acceptance rate observed as "n accepts took M proposals";
* DKW with Massart's constant for 1-D CDFs: ``P(sup|F_n − F| > ε) ≤ 2 e^{−2nε²}``;
* multinomial TV: ``E TV(p̂_n, p) ≤ ½ Σ √(p_i/n)`` plus McDiarmid ``√(log(1/α)/(2n))``;
* Hoeffding and the empirical Bernstein bound of Maurer & Pontil (2009) for means in [0, 1].
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import beta as beta_dist

from primitives._checks import check_unit_interval

__all__ = [
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "negative_binomial_rate_interval",
    "dkw_radius",
    "dkw_sample_size",
    "dkw_detectable_gap",
    "ks_distance",
    "multinomial_tv_radius",
    "hoeffding_radius",
    "empirical_bernstein_radius",
    "binomial_detectable_rate",
]


def _check_counts(successes: int, trials: int) -> None:
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"successes must lie in [0, trials], got successes={successes}, trials={trials}")


def clopper_pearson_lower(successes: int, trials: int, alpha: float) -> float:
    """One-sided lower bound on a binomial proportion: ``P(p < bound) ≤ alpha``."""
    alpha = check_unit_interval("alpha", alpha)
    _check_counts(successes, trials)
    if successes == 0:
        return 0.0
    return float(beta_dist.ppf(alpha, successes, trials - successes + 1))


def clopper_pearson_upper(successes: int, trials: int, alpha: float) -> float:
    """One-sided upper bound on a binomial proportion: ``P(p > bound) ≤ alpha``."""
    alpha = check_unit_interval("alpha", alpha)
    _check_counts(successes, trials)
    if successes == trials:
        return 1.0
    return float(beta_dist.ppf(1.0 - alpha, successes + 1, trials - successes))


def negative_binomial_rate_interval(accepted: int, proposals: int, alpha: float) -> tuple[float, float]:
    """Exact two-sided interval for an acceptance probability p from inverse sampling.

    Sampling stopped at the ``accepted``-th success after ``proposals`` trials, so the failures
    ``F = proposals − accepted`` are negative binomial and ``P(F ≤ f) = I_p(accepted, f + 1)``.
    Each side spends ``alpha/2``.
    """
    alpha = check_unit_interval("alpha", alpha)
    if accepted < 1 or proposals < accepted:
        raise ValueError(f"need 1 ≤ accepted ≤ proposals, got accepted={accepted}, proposals={proposals}")
    failures = proposals - accepted
    lower = float(beta_dist.ppf(alpha / 2.0, accepted, failures + 1))
    upper = 1.0 if failures == 0 else float(beta_dist.ppf(1.0 - alpha / 2.0, accepted, failures))
    return lower, upper


def dkw_radius(n: int, alpha: float) -> float:
    """``ε = √(log(2/α)/(2n))``: ``P(sup_y |F_n(y) − F(y)| > ε) ≤ α`` (DKW–Massart)."""
    alpha = check_unit_interval("alpha", alpha)
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * n))


def dkw_detectable_gap(n: int, alpha: float, beta: float) -> float:
    """Smallest KS distance from the claimed law that a level-α DKW test detects w.p. ≥ 1 − β."""
    return dkw_radius(n, alpha) + dkw_radius(n, beta)


def dkw_sample_size(gap: float, alpha: float, beta: float) -> int:
    """Smallest n with ``dkw_detectable_gap(n, alpha, beta) ≤ gap``."""
    if not (0.0 < gap < 1.0):
        raise ValueError(f"gap must lie in (0, 1), got {gap!r}")
    root = math.sqrt(math.log(2.0 / alpha) / 2.0) + math.sqrt(math.log(2.0 / beta) / 2.0)
    return int(math.ceil((root / gap) ** 2))


def ks_distance(samples: np.ndarray, cdf, cdf_left=None) -> float:
    """``sup_y |F_n(y) − F(y)|`` exactly, for a claimed CDF F that may have atoms.

    ``cdf(y) = P(Y ≤ y)`` and ``cdf_left(y) = P(Y < y)`` (omit for a continuous F). Between
    consecutive sample points F_n is constant and F monotone, so the supremum is attained at a sample
    point, from the right (``F_n(y) − F(y)``) or from the left (``F(y−) − F_n(y−)``); atoms of F at
    non-sample points are covered because F_n is constant across them.
    """
    values = np.sort(np.asarray(samples, dtype=float).reshape(-1))
    n = values.shape[0]
    if n == 0:
        raise ValueError("samples must be non-empty")
    points = np.unique(values)
    right_empirical = np.searchsorted(values, points, side="right") / n
    left_empirical = np.searchsorted(values, points, side="left") / n
    right_claimed = np.asarray(cdf(points), dtype=float)
    left_claimed = right_claimed if cdf_left is None else np.asarray(cdf_left(points), dtype=float)
    # Also the side of each point not attained by a sample: F_n(y−) vs F(y−) and F_n(y) vs F(y).
    return float(
        max(np.max(np.abs(right_empirical - right_claimed)), np.max(np.abs(left_empirical - left_claimed)))
    )


def multinomial_tv_radius(n: int, alpha: float, probs: np.ndarray | None = None, support_size: int | None = None) -> float:
    """Upper bound on ``TV(p̂_n, p)`` w.p. ≥ 1 − α: ``½ Σ √(p_i/n) + √(log(1/α)/(2n))``.

    Without ``probs``, Cauchy–Schwarz gives ``½ Σ √p_i ≤ ½ √K`` for a support of size K.
    """
    alpha = check_unit_interval("alpha", alpha)
    if probs is not None:
        expectation = 0.5 * float(np.sum(np.sqrt(np.asarray(probs, dtype=float) / n)))
    elif support_size is not None:
        expectation = 0.5 * math.sqrt(support_size / n)
    else:
        raise ValueError("pass probs or support_size")
    return expectation + math.sqrt(math.log(1.0 / alpha) / (2.0 * n))


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


def binomial_detectable_rate(trials: int, alpha: float, beta: float, threshold: float) -> float:
    """Smallest true proportion p that a level-α Clopper–Pearson test of "p ≤ threshold" rejects
    with probability ≥ 1 − β from ``trials`` draws (the test's power, in rate units)."""
    from scipy.optimize import brentq
    from scipy.stats import binom

    low, high = 0, trials + 1
    while low < high:  # smallest k whose lower bound exceeds the threshold
        middle = (low + high) // 2
        if middle <= trials and clopper_pearson_lower(middle, trials, alpha) > threshold:
            high = middle
        else:
            low = middle + 1
    critical = low
    if critical > trials:
        return 1.0
    power = lambda p: float(binom.sf(critical - 1, trials, p)) - (1.0 - beta)
    if power(1.0) < 0:
        return 1.0
    return float(brentq(power, threshold, 1.0)) if power(threshold) < 0 else threshold
