"""Design functions for the chain and tractability claims (companions of ``estimators.design``).

* **Order-statistic calibration** (T6 on chains). An offset calibrated as the (j+1)-th largest of m i.i.d.
  residuals R with a continuous law exceeds the true (1 − δ)-quantile u (``P(R ≥ u) = δ``) unless at most
  j residuals reach u, so ``P(tail(offset) > δ) = P(Bin(m, p_u) ≤ j) = I_{1−p_u}(m − j, j + 1)`` (regularised
  incomplete beta) where ``p_u = P(R ≥ u)`` under the sampler that drew the residuals (δ when it is exact).
  ``exceedance_probability`` evaluates this Beta form (scipy's ``betainc``: independent of the calibration
  code, which works with binomial CDFs), ``tail_rate_for_exceedance`` inverts it, and
  ``min_num_residuals_for_calibration_test`` sizes the residual-level test "rate of {R ≥ u} ≥ p*" that
  detects an exceedance probability ``factor·η`` with probability ≥ 1 − β.
* **Negative-binomial mean** (proposal counts): ``min_num_accepted_for_relative_mean_test`` gives the
  number of accepted samples at which the exact two-sided negative-binomial interval (each side α/2)
  excludes a claimed mean ``1/p`` w.p. ≥ 1 − β when the true mean differs from it by the relative ``gap``
  (either direction); ``min_relative_gap_of_means_detectable`` is its inverse at a given count. Scaling:
  accepted ∝ (z_{α/2} + z_β)²(1 − p)/gap².
"""
from __future__ import annotations

import math

from scipy.optimize import brentq
from scipy.special import betainc
from scipy.stats import beta as beta_dist
from scipy.stats import nbinom

from estimators.design import min_num_samples_for_binomial_upper_test, smallest_n
from primitives._checks import check_unit_interval

__all__ = [
    "exceedance_probability",
    "largest_valid_rank",
    "tail_rate_for_exceedance",
    "min_num_residuals_for_calibration_test",
    "negative_binomial_mean_power",
    "min_num_accepted_for_relative_mean_test",
    "min_relative_gap_of_means_detectable",
    "min_gap_of_tvs_detectable_by_tv_lower_bound",
    "min_num_samples_for_tv_lower_bound_test",
]


def exceedance_probability(rank: int, pairs: int, tail_rate: float) -> float:
    """``P(Bin(pairs, tail_rate) ≤ rank) = I_{1−p}(pairs − rank, rank + 1)``: the probability that the offset
    of rank ``rank`` (0 = the largest residual) lies below the quantile u with ``P(R ≥ u) = tail_rate``."""
    if rank < 0:
        return 0.0
    if rank >= pairs:
        return 1.0
    return float(betainc(pairs - rank, rank + 1, 1.0 - tail_rate))


def largest_valid_rank(pairs: int, delta: float, eta: float) -> int:
    """The largest rank j with ``exceedance_probability(j, pairs, δ) ≤ η`` (−1 if none): the theorem's rank."""
    delta = check_unit_interval("delta", delta)
    eta = check_unit_interval("eta", eta)
    rank = -1
    while rank + 1 < pairs and exceedance_probability(rank + 1, pairs, delta) <= eta:
        rank += 1
    return rank


def tail_rate_for_exceedance(rank: int, pairs: int, exceedance: float) -> float:
    """The tail rate p with ``exceedance_probability(rank, pairs, p) = exceedance`` (decreasing in p)."""
    exceedance = check_unit_interval("exceedance", exceedance)
    return float(brentq(lambda p: exceedance_probability(rank, pairs, p) - exceedance, 1e-12, 1.0 - 1e-12,
                        xtol=1e-14))


def min_num_residuals_for_calibration_test(pairs: int, delta: float, eta: float, *, factor: float = 2.0,
                                           alpha: float, beta: float) -> int:
    """Residuals N for the one-sided exact test of "P(R ≥ u) ≥ p*" (p* = the tail rate at which the theorem's
    rank gives exceedance η) that rejects w.p. ≥ 1 − β when the residual sampler's tail rate gives exceedance
    ``factor·η``. The test is the Clopper–Pearson bound on the rate of {R < u} against 1 − p*."""
    rank = largest_valid_rank(pairs, delta, eta)
    if rank < 0:
        raise ValueError(f"pairs={pairs} too few for any guarantee at delta={delta}, eta={eta}")
    threshold = tail_rate_for_exceedance(rank, pairs, eta)
    alternative = tail_rate_for_exceedance(rank, pairs, min(factor * eta, 1.0 - 1e-9))
    return min_num_samples_for_binomial_upper_test(1.0 - threshold, 1.0 - alternative, alpha=alpha, beta=beta)


# -- negative-binomial mean ---------------------------------------------------------------------------

def _failure_critical(accepted: int, rate: float, alpha: float) -> tuple[int, int]:
    """(f_low, f_high): the exact NB interval excludes ``rate`` iff failures ≤ f_low or ≥ f_high.

    The interval's lower end is the α/2 quantile of Beta(a, f + 1), above ``rate`` iff
    ``P(Beta(a, f+1) ≤ rate) < α/2``; its upper end, the 1 − α/2 quantile of Beta(a, f), below ``rate``
    iff ``P(Beta(a, f) ≥ rate) < α/2``. Both are monotone in f; found by bisection on f.
    """
    def excluded_high(f: int) -> bool:        # rate above the interval: too many failures
        return f > 0 and float(beta_dist.sf(rate, accepted, f)) < alpha / 2.0

    def excluded_low(f: int) -> bool:         # rate below the interval: too few failures
        return float(beta_dist.cdf(rate, accepted, f + 1)) < alpha / 2.0

    mean = accepted * (1.0 - rate) / rate
    spread = 50.0 * math.sqrt(accepted * (1.0 - rate)) / rate + 50
    low, high = 0, int(mean + spread)
    while not excluded_high(high):
        high *= 2
    f_high_lo, f_high_hi = int(mean), high    # smallest f excluded_high
    if excluded_high(f_high_lo):
        f_high_lo = 0
    while f_high_hi - f_high_lo > 1:
        middle = (f_high_lo + f_high_hi) // 2
        f_high_lo, f_high_hi = (f_high_lo, middle) if excluded_high(middle) else (middle, f_high_hi)
    if not excluded_low(0):
        return -1, f_high_hi
    low, high = 0, max(int(mean), 1)         # largest f excluded_low
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if excluded_low(middle) else (low, middle)
    return low, f_high_hi


def negative_binomial_mean_power(accepted: int, claimed_mean: float, true_mean: float, *, alpha: float) -> float:
    """Exact probability that the two-sided NB interval (α/2 per side) from ``accepted`` successes excludes
    the claimed acceptance rate 1/``claimed_mean`` when the true rate is 1/``true_mean``."""
    if claimed_mean < 1.0 or true_mean < 1.0:
        raise ValueError("means of proposal counts must be ≥ 1")
    f_low, f_high = _failure_critical(int(accepted), 1.0 / claimed_mean, check_unit_interval("alpha", alpha))
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


# -- TV lower bound from a multinomial sample of an unknown law -----------------------------------------

def min_gap_of_tvs_detectable_by_tv_lower_bound(n: int, support: int, *, alpha: float, beta: float) -> float:
    """Smallest excess of TV(P, q) over a bound that the test "TV(p̂_n, q) − ½√(K/n) − √(log(1/α)/2n) > bound"
    detects w.p. ≥ 1 − β for an unknown P on K atoms: both radii use Cauchy–Schwarz (P unknown), so the
    gap is ``√(K/n) + √(log(1/α)/2n) + √(log(1/β)/2n)``."""
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    return (math.sqrt(support) + math.sqrt(math.log(1 / alpha) / 2) + math.sqrt(math.log(1 / beta) / 2)) / math.sqrt(n)


def min_num_samples_for_tv_lower_bound_test(gap: float, support: int, *, alpha: float, beta: float) -> int:
    """Smallest n with ``min_gap_of_tvs_detectable_by_tv_lower_bound(n) ≤ gap`` (closed form, n ∝ 1/gap²)."""
    gap = check_unit_interval("gap", gap)
    return int(math.ceil((min_gap_of_tvs_detectable_by_tv_lower_bound(1, support, alpha=alpha, beta=beta) / gap) ** 2))
