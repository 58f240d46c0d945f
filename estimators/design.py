"""Design functions: sample sizes from (α, β, gap), and the gap a given n detects (TFP style).

Every statistical test in tiltproof ships two deterministic companions that never run the code
under test (TFP ``statistical_testing``'s ``min_num_samples_for_…`` / ``min_discrepancy_…`` pattern):

* ``min_num_samples_for_<test>(gap, …, alpha, beta)``: the smallest n at which the level-α test
  rejects, with probability ≥ 1 − β, every truth at distance ≥ ``gap`` from the claim;
* ``min_<discrepancy>_detectable_by_<test>(n, …, alpha, beta)``: the smallest such distance at n.

``alpha`` is the false-fail rate the test may spend (its share of a budget); ``beta`` the false-pass
rate at the designed gap. Both default nowhere: callers state them. Scaling: n ∝ log(1/α)/gap² for the
DKW and multinomial tests, n ∝ p(1 − p)(z_α + z_β)²/gap² for a binomial rate.

Tests covered:

* **binomial rate, two-sided, exact** (``binomial_rate_test``): H₀ "P(X ∈ A) = p₀" from the count of n
  draws in A; rejects when p₀ lies outside the Clopper–Pearson interval at α/2 per side. Its power at a
  true rate p₁ is an exact binomial tail (no normal approximation): the rare-set frequency test used
  for step rewards, acceptance rates and exceedance counts.
* **binomial rate, one-sided** (``min_num_samples_for_binomial_upper_test``): H₀ "p ≤ p₀" (e.g. a
  clip-mass or exceedance claim), power at p₁ > p₀.
* **DKW** (CDF sup distance): threshold ``ε(n, α) = √(log(2/α)/2n)``; detects KS ≥ ε(n, α) + ε(n, β).
* **negative binomial, exact** (``negative_binomial_rate_power``): proposals counted until the k-th
  acceptance; the failures F are NB(k, p) and ``estimators.confidence.negative_binomial_rate_interval``
  inverts ``P_p(F ≤ f) = I_p(k, f + 1)``, so its rejection region is a pair of NB quantiles and the
  power at a true rate is an exact NB tail. Users' units: the relative error of N = 1/p.
* **multinomial TV**: threshold ``½Σ√(q_i/n) + √(log(1/α)/2n)``; detects TV ≥ threshold + ½√(K/n)
  + √(log(1/β)/2n).

``detectable_parameter_error`` turns a gap in the statistic's units into the user's units (a relative
λ error, a baseline offset) through an exactly computable signal curve.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.stats import binom

from estimators.confidence import (clopper_pearson_lower, clopper_pearson_upper, dkw_radius,
                                   multinomial_tv_radius)
from primitives._checks import check_unit_interval

__all__ = [
    "MAX_DESIGN_SAMPLES",
    "binomial_rate_test",
    "binomial_rate_power",
    "binomial_rejection_counts",
    "min_num_samples_for_binomial_rate_test",
    "min_discrepancy_of_binomial_rates_detectable",
    "min_num_samples_for_binomial_upper_test",
    "min_num_samples_for_dkw_cdf_test",
    "min_discrepancy_of_cdfs_detectable_by_dkw",
    "min_num_samples_for_multinomial_tv_test",
    "min_gap_of_tvs_detectable_by_multinomial",
    "negative_binomial_rate_power",
    "min_num_accepts_for_negative_binomial_rate_test",
    "min_relative_error_of_proposals_detectable_by_negative_binomial",
    "min_num_samples_for_binomial_relative_upper_test",
    "min_rate_detectable_by_binomial_upper_test",
    "smallest_n",
    "detectable_parameter_error",
]

MAX_DESIGN_SAMPLES = 10**9
"""Sample sizes beyond this are reported as infeasible (``smallest_n`` raises) rather than searched."""


def _check_rate(name: str, rate: float) -> float:
    rate = float(rate)
    if not (0.0 < rate < 1.0) or not math.isfinite(rate):
        raise ValueError(f"{name} must lie in (0, 1), got {rate!r}")
    return rate


def smallest_n(detects: Callable[[int], bool], *, start: int = 16, limit: int = MAX_DESIGN_SAMPLES) -> int:
    """Smallest n ≥ ``start`` with ``detects(n)``, for a property monotone in n up to lattice effects.

    Doubling then bisection; the returned n is verified (``detects(n)`` holds). Raises ``ValueError``
    when no n ≤ ``limit`` detects, so a design never silently returns an underpowered size.
    """
    high = max(int(start), 1)
    while not detects(high):
        if high >= limit:
            raise ValueError(f"no sample size ≤ {limit:.3g} reaches the requested power; widen the gap")
        high = min(2 * high, limit)
    low = max(high // 2, 1)
    if detects(low):
        return low
    while high - low > 1:
        middle = (low + high) // 2
        if detects(middle):
            high = middle
        else:
            low = middle
    return high


# -- binomial rate ------------------------------------------------------------------------------------

def binomial_rate_test(successes: int, trials: int, rate: float, *, alpha: float) -> tuple[bool, tuple[float, float]]:
    """Two-sided exact test of H₀ "the success probability is ``rate``": (rejected, CP interval).

    The interval is Clopper–Pearson with α/2 per side, so ``P_{H₀}(reject) ≤ α`` exactly.
    """
    alpha = check_unit_interval("alpha", alpha)
    low = clopper_pearson_lower(successes, trials, alpha / 2.0)
    high = clopper_pearson_upper(successes, trials, alpha / 2.0)
    return not (low <= rate <= high), (low, high)


def binomial_rejection_counts(trials: int, rate: float, alpha: float) -> tuple[int, int]:
    """(k_low, k_high): the test rejects iff count ≤ k_low or count ≥ k_high (exact CP inversion).

    CP's lower bound exceeds p₀ iff P_{p₀}(K ≥ k) ≤ α/2, and its upper bound falls below p₀ iff
    P_{p₀}(K ≤ k) ≤ α/2 (the beta–binomial duality), so the critical counts are binomial quantiles.
    """
    k_high = int(binom.isf(alpha / 2.0, trials, rate)) + 1          # smallest k with P(K ≥ k) ≤ α/2
    while k_high > 0 and binom.sf(k_high - 2, trials, rate) <= alpha / 2.0:
        k_high -= 1
    while binom.sf(k_high - 1, trials, rate) > alpha / 2.0:
        k_high += 1
    k_low = int(binom.ppf(alpha / 2.0, trials, rate)) - 1           # largest k with P(K ≤ k) ≤ α/2
    while k_low + 1 <= trials and binom.cdf(k_low + 1, trials, rate) <= alpha / 2.0:
        k_low += 1
    while k_low >= 0 and binom.cdf(k_low, trials, rate) > alpha / 2.0:
        k_low -= 1
    return k_low, k_high


def binomial_rate_power(trials: int, rate: float, true_rate: float, *, alpha: float) -> float:
    """Exact probability that ``binomial_rate_test`` at level α rejects when the true rate is ``true_rate``."""
    rate = _check_rate("rate", rate)
    true_rate = float(true_rate)
    k_low, k_high = binomial_rejection_counts(int(trials), rate, check_unit_interval("alpha", alpha))
    below = float(binom.cdf(k_low, trials, true_rate)) if k_low >= 0 else 0.0
    above = float(binom.sf(k_high - 1, trials, true_rate)) if k_high <= trials else 0.0
    return below + above


def min_num_samples_for_binomial_rate_test(rate: float, alternative_rate: float, *, alpha: float,
                                           beta: float) -> int:
    """Smallest n at which the two-sided exact rate test rejects ``rate`` w.p. ≥ 1 − β when the truth is
    ``alternative_rate``. Scales as p(1 − p)(z_{α/2} + z_β)²/(p₁ − p₀)²."""
    rate = _check_rate("rate", rate)
    alternative_rate = _check_rate("alternative_rate", alternative_rate)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    if alternative_rate == rate:
        raise ValueError("alternative_rate must differ from rate")
    return smallest_n(lambda n: binomial_rate_power(n, rate, alternative_rate, alpha=alpha) >= 1.0 - beta)


def min_discrepancy_of_binomial_rates_detectable(trials: int, rate: float, *, alpha: float,
                                                 beta: float) -> tuple[float, float]:
    """(p₁⁻, p₁⁺): the true rates below/above ``rate`` that the test at n = ``trials`` rejects w.p. 1 − β.

    The rates closer to ``rate`` than these are not reliably detected; a side with no such rate is 0
    (below) or 1 (above).
    """
    from scipy.optimize import brentq

    rate = _check_rate("rate", rate)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    gap = lambda p: binomial_rate_power(trials, rate, p, alpha=alpha) - (1.0 - beta)
    upper = 1.0 if gap(1.0 - 1e-15) < 0 else float(brentq(gap, rate, 1.0 - 1e-15, xtol=1e-12 * rate))
    lower = 0.0 if gap(1e-300) < 0 else float(brentq(gap, 1e-300, rate, xtol=1e-12 * rate))
    return lower, upper


def min_num_samples_for_binomial_upper_test(threshold: float, alternative_rate: float, *, alpha: float,
                                            beta: float) -> int:
    """Smallest n at which the one-sided Clopper–Pearson test of "p ≤ ``threshold``" rejects w.p. ≥ 1 − β
    when p = ``alternative_rate`` > threshold (rejects when the level-α lower bound exceeds the threshold,
    i.e. when the count reaches the binomial (1 − α) critical value under p = threshold)."""
    threshold = _check_rate("threshold", threshold)
    alternative_rate = _check_rate("alternative_rate", alternative_rate)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    if alternative_rate <= threshold:
        raise ValueError("alternative_rate must exceed threshold")

    def detects(n: int) -> bool:
        critical = int(binom.isf(alpha, n, threshold)) + 1
        while critical > 0 and binom.sf(critical - 2, n, threshold) <= alpha:
            critical -= 1
        while binom.sf(critical - 1, n, threshold) > alpha:
            critical += 1
        return critical <= n and float(binom.sf(critical - 1, n, alternative_rate)) >= 1.0 - beta

    return smallest_n(detects)


def min_rate_detectable_by_binomial_upper_test(trials: int, threshold: float, *, alpha: float,
                                               beta: float) -> float:
    """Smallest true rate that the one-sided CP test of "p ≤ ``threshold``" rejects w.p. ≥ 1 − β at
    ``trials`` draws (``estimators.confidence.binomial_detectable_rate``; 1.0 when none is)."""
    from estimators.confidence import binomial_detectable_rate

    return binomial_detectable_rate(int(trials), check_unit_interval("alpha", alpha),
                                    check_unit_interval("beta", beta), _check_rate("threshold", threshold))


def min_num_samples_for_binomial_relative_upper_test(threshold: float, relative_gap: float, *, alpha: float,
                                                     beta: float, absolute_floor: float = 0.0) -> int:
    """n for the one-sided CP test of "p ≤ ``threshold``" to detect ``p = threshold·(1 + relative_gap)``
    (or ``threshold + absolute_floor`` when larger; capped halfway to 1) w.p. ≥ 1 − β. A bound is
    stated in relative terms because its useful precision scales with it (n ∝ 1/(threshold·gap²))."""
    threshold = _check_rate("threshold", threshold)
    alternative = max(threshold * (1.0 + float(relative_gap)), threshold + float(absolute_floor))
    alternative = min(alternative, 0.5 * (1.0 + threshold))
    return min_num_samples_for_binomial_upper_test(threshold, alternative, alpha=alpha, beta=beta)


# -- negative binomial (proposal counts) ----------------------------------------------------------------

_SIDES = ("two-sided", "rate-above", "rate-below")


def _nb_critical_failures(accepted: int, rate: float, alpha: float, side: str) -> tuple[int, int]:
    """(f_low, f_high): ``negative_binomial_rate_interval`` rejects the rate iff F ≤ f_low or F ≥ f_high.

    Its lower end exceeds p₀ iff ``P_{p₀}(F ≤ f) < α_side`` and its upper end falls below p₀ iff
    ``P_{p₀}(F ≥ f) < α_side`` (the beta–NB duality), with α_side = α/2 two-sided and α one-sided
    (``rate-above``: only the rejection "p > p₀", i.e. few failures; ``rate-below``: only many failures).
    """
    from scipy.stats import nbinom

    side_alpha = alpha / 2.0 if side == "two-sided" else alpha
    f_low, f_high = -1, math.inf
    if side in ("two-sided", "rate-above"):
        f_low = int(nbinom.ppf(side_alpha, accepted, rate))
        while f_low >= 0 and nbinom.cdf(f_low, accepted, rate) >= side_alpha:
            f_low -= 1
        while nbinom.cdf(f_low + 1, accepted, rate) < side_alpha:
            f_low += 1
    if side in ("two-sided", "rate-below"):
        f_high = int(nbinom.isf(side_alpha, accepted, rate)) + 1
        while f_high > 1 and nbinom.sf(f_high - 2, accepted, rate) < side_alpha:
            f_high -= 1
        while nbinom.sf(f_high - 1, accepted, rate) >= side_alpha:
            f_high += 1
    return f_low, f_high


def negative_binomial_rate_power(accepted: int, rate: float, true_rate: float, *, alpha: float,
                                 side: str = "two-sided") -> float:
    """Exact probability that the NB interval test of "acceptance rate = ``rate``" (k = ``accepted``
    acceptances) rejects when the true rate is ``true_rate``. ``side``: ``two-sided`` (identity, α/2 a
    side), ``rate-above`` (rejects only rates above: a claim "N ≥ 1/rate") or ``rate-below`` ("N ≤ 1/rate")."""
    from scipy.stats import nbinom

    if side not in _SIDES:
        raise ValueError(f"side must be one of {_SIDES}, got {side!r}")
    rate = _check_rate("rate", rate)
    true_rate = _check_rate("true_rate", true_rate)
    f_low, f_high = _nb_critical_failures(int(accepted), rate, check_unit_interval("alpha", alpha), side)
    below = float(nbinom.cdf(f_low, accepted, true_rate)) if f_low >= 0 else 0.0
    above = float(nbinom.sf(f_high - 1, accepted, true_rate)) if math.isfinite(f_high) else 0.0
    return below + above


def _relative_alternatives(rate: float, relative_error: float, side: str) -> list[float]:
    """True rates whose N = 1/p is off by ``relative_error`` in the direction(s) the test must see."""
    larger_n, smaller_n = rate / (1.0 + relative_error), min(rate / (1.0 - relative_error), 1.0 - 1e-12) \
        if relative_error < 1.0 else 1.0 - 1e-12
    return {"two-sided": [larger_n, smaller_n], "rate-above": [smaller_n], "rate-below": [larger_n]}[side]


def min_num_accepts_for_negative_binomial_rate_test(rate: float, relative_error: float, *, alpha: float,
                                                    beta: float, side: str = "two-sided") -> int:
    """Smallest number of acceptances k at which the NB test detects an N = 1/p off by ``relative_error``
    (in each direction the side tests) w.p. ≥ 1 − β. Scales as (1 − p)(z_α + z_β)²/relative_error²."""
    rate = _check_rate("rate", rate)
    relative_error = _check_rate("relative_error", relative_error)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    alternatives = _relative_alternatives(rate, relative_error, side)
    return smallest_n(lambda k: all(negative_binomial_rate_power(k, rate, p, alpha=alpha, side=side) >= 1.0 - beta
                                    for p in alternatives))


def min_relative_error_of_proposals_detectable_by_negative_binomial(accepted: int, rate: float, *, alpha: float,
                                                                    beta: float, side: str = "two-sided") -> float:
    """Smallest relative error of N = 1/p (each tested direction) the NB test detects w.p. ≥ 1 − β with
    k = ``accepted`` acceptances (bisection, rounded up). 1.0 when no error below 100 % is detected."""
    rate = _check_rate("rate", rate)
    detects = lambda error: all(negative_binomial_rate_power(accepted, rate, p, alpha=alpha, side=side) >= 1.0 - beta
                                for p in _relative_alternatives(rate, error, side))
    if not detects(0.999):
        return 1.0
    low, high = 0.0, 0.999
    while high - low > 1e-4:
        middle = 0.5 * (low + high)
        low, high = (low, middle) if detects(middle) else (middle, high)
    return high


# -- DKW ----------------------------------------------------------------------------------------------

def min_discrepancy_of_cdfs_detectable_by_dkw(n: int, *, alpha: float, beta: float) -> float:
    """Smallest sup |F − F₀| that the level-α DKW test detects w.p. ≥ 1 − β: ε(n, α) + ε(n, β)."""
    return dkw_radius(n, alpha) + dkw_radius(n, beta)


def min_num_samples_for_dkw_cdf_test(gap: float, *, alpha: float, beta: float) -> int:
    """Smallest n with ``min_discrepancy_of_cdfs_detectable_by_dkw(n) ≤ gap`` (closed form)."""
    gap = _check_rate("gap", gap)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    root = math.sqrt(math.log(2.0 / alpha) / 2.0) + math.sqrt(math.log(2.0 / beta) / 2.0)
    return int(math.ceil((root / gap) ** 2))


# -- multinomial TV -----------------------------------------------------------------------------------

def min_gap_of_tvs_detectable_by_multinomial(n: int, probs, *, alpha: float, beta: float) -> float:
    """Smallest TV(P, q) the multinomial TV test detects w.p. ≥ 1 − β at n draws.

    Under P the empirical TV to q is ≥ TV(P, q) − TV(p̂_n, P), and ``TV(p̂_n, P) ≤ ½√(K/n) +
    √(log(1/β)/2n)`` w.p. ≥ 1 − β (Cauchy–Schwarz on the unknown P); so TV(P, q) ≥ threshold(α) +
    that radius is rejected.
    """
    probs = np.asarray(probs, dtype=float)
    return multinomial_tv_radius(n, alpha, probs=probs) + multinomial_tv_radius(n, beta, support_size=probs.size)


def min_num_samples_for_multinomial_tv_test(gap: float, probs, *, alpha: float, beta: float) -> int:
    """Smallest n with ``min_gap_of_tvs_detectable_by_multinomial(n) ≤ gap`` (the gap scales as 1/√n)."""
    gap = _check_rate("gap", gap)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    probs = np.asarray(probs, dtype=float)
    scale = min_gap_of_tvs_detectable_by_multinomial(1, probs, alpha=alpha, beta=beta)
    return max(1, int(math.ceil((scale / gap) ** 2)))


# -- user units ---------------------------------------------------------------------------------------

def detectable_parameter_error(signal: Callable[[float], float], detectable: float, *, largest: float,
                               tolerance: float = 1e-4) -> float | None:
    """Smallest parameter error s ∈ (0, ``largest``] whose exact signal reaches ``detectable``.

    ``signal(s)`` is the statistic's population discrepancy (KS distance, rate difference, TV) between
    the claimed law and the law a sampler with error s has; it must be increasing in s on the range.
    Returns None when even ``largest`` is not detected. Bisection to ``tolerance`` (rounded up, so the
    reported error is detected).
    """
    if signal(largest) < detectable:
        return None
    low, high = 0.0, float(largest)
    while high - low > tolerance * max(1.0, high):
        middle = 0.5 * (low + high)
        if signal(middle) >= detectable:
            high = middle
        else:
            low = middle
    return high
