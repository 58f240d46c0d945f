"""The exact negative-binomial tests of an acceptance rate from proposal counts, with their design companions.

A sampler that proposes until its k-th acceptance leaves F = proposals − k failures, F ~ NB(k, p), and
``P_p(F ≤ f) = I_p(k, f + 1)``. ``negative_binomial_rate_interval`` inverts this exactly (each side α/2): the
interval for p, hence for the expected proposal count N = 1/p. By the beta–NB duality the test "p = p₀"
rejects iff F is outside a pair of NB quantiles, so its power at a true rate is an exact NB tail.

* **Rate test** in users' units, the relative error of N = 1/p: ``negative_binomial_rate_power`` (two-sided
  or one side), ``min_num_accepts_for_negative_binomial_rate_test`` and
  ``min_relative_error_of_proposals_detectable_by_negative_binomial``.
* **Mean test** (``negative_binomial_mean_power``, the two-sided interval excluding a claimed mean 1/p):
  ``min_num_accepted_for_relative_mean_test`` gives the number of accepted samples at which it excludes the
  claimed mean w.p. ≥ 1 − β when the true mean differs by the relative ``gap`` (either direction);
  ``min_relative_gap_of_means_detectable`` is its inverse. Scaling: accepted ∝ (z_{α/2} + z_β)²(1 − p)/gap².
"""
from __future__ import annotations

import math

from scipy.stats import beta as beta_dist
from scipy.stats import nbinom

from estimators.design import check_rate, smallest_n
from primitives._checks import check_unit_interval

__all__ = [
    "negative_binomial_rate_interval",
    "negative_binomial_rate_power",
    "min_num_accepts_for_negative_binomial_rate_test",
    "min_relative_error_of_proposals_detectable_by_negative_binomial",
    "negative_binomial_mean_power",
    "min_num_accepted_for_relative_mean_test",
    "min_relative_gap_of_means_detectable",
]


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
    rate = check_rate("rate", rate)
    true_rate = check_rate("true_rate", true_rate)
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
    rate = check_rate("rate", rate)
    relative_error = check_rate("relative_error", relative_error)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    alternatives = _relative_alternatives(rate, relative_error, side)
    return smallest_n(lambda k: all(negative_binomial_rate_power(k, rate, p, alpha=alpha, side=side) >= 1.0 - beta
                                    for p in alternatives))


def min_relative_error_of_proposals_detectable_by_negative_binomial(accepted: int, rate: float, *, alpha: float,
                                                                    beta: float, side: str = "two-sided") -> float:
    """Smallest relative error of N = 1/p (each tested direction) the NB test detects w.p. ≥ 1 − β with
    k = ``accepted`` acceptances (bisection, rounded up). 1.0 when no error below 100 % is detected."""
    rate = check_rate("rate", rate)
    detects = lambda error: all(negative_binomial_rate_power(accepted, rate, p, alpha=alpha, side=side) >= 1.0 - beta
                                for p in _relative_alternatives(rate, error, side))
    if not detects(0.999):
        return 1.0
    low, high = 0.0, 0.999
    while high - low > 1e-4:
        middle = 0.5 * (low + high)
        low, high = (low, middle) if detects(middle) else (middle, high)
    return high


def negative_binomial_mean_power(accepted: int, claimed_mean: float, true_mean: float, *, alpha: float) -> float:
    """Exact probability that the two-sided NB interval (α/2 per side) from ``accepted`` successes excludes
    the claimed acceptance rate 1/``claimed_mean`` when the true rate is 1/``true_mean``."""
    if claimed_mean < 1.0 or true_mean < 1.0:
        raise ValueError("means of proposal counts must be ≥ 1")
    f_low, f_high = _nb_critical_failures(int(accepted), 1.0 / claimed_mean, check_unit_interval("alpha", alpha),
                                          "two-sided")
    rate = 1.0 / true_mean
    below = float(nbinom.cdf(f_low, accepted, rate)) if f_low >= 0 else 0.0
    return below + float(nbinom.sf(f_high - 1, accepted, rate))


def min_num_accepted_for_relative_mean_test(claimed_mean: float, gap: float, *, alpha: float, beta: float) -> int:
    """Smallest accepted count at which true means ``(1 ± gap)·claimed_mean`` are both rejected w.p. ≥ 1 − β."""
    gap = check_unit_interval("gap", gap)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    sides = [claimed_mean * (1.0 + gap)] + ([claimed_mean * (1.0 - gap)] if claimed_mean * (1.0 - gap) >= 1.0 else [])
    return smallest_n(lambda a: all(negative_binomial_mean_power(a, claimed_mean, m, alpha=alpha) >= 1.0 - beta
                                    for m in sides))


def min_relative_gap_of_means_detectable(accepted: int, claimed_mean: float, *, alpha: float, beta: float) -> float:
    """Smallest relative gap g (both directions, where 1 − g keeps the mean ≥ 1) detected w.p. ≥ 1 − β."""
    def detected(g: float) -> bool:
        sides = [claimed_mean * (1.0 + g)] + ([claimed_mean * (1.0 - g)] if claimed_mean * (1.0 - g) >= 1.0 else [])
        return all(negative_binomial_mean_power(accepted, claimed_mean, m, alpha=alpha) >= 1.0 - beta for m in sides)

    low, high = 0.0, 1.0
    while not detected(high):
        high *= 2.0
        if high > 1e6:
            return math.inf
    for _ in range(40):
        middle = 0.5 * (low + high)
        low, high = (low, middle) if detected(middle) else (middle, high)
    return high
