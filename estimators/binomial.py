"""The exact binomial (Clopper–Pearson) tests of a rate, with their design companions (TFP style).

A count K of n i.i.d. draws in a set A is Bin(n, p), p = P(X ∈ A): acceptance rates, tail and exceedance
frequencies, rare-set frequencies of step rewards.

* **Bounds.** ``clopper_pearson_lower`` / ``clopper_pearson_upper``: the exact one-sided bounds at level α,
  ``Beta(α; k, n − k + 1)`` and ``Beta(1 − α; k + 1, n − k)`` quantiles, valid for every n.
* **Two-sided test** (``binomial_rate_test``): H₀ "p = p₀" is rejected when p₀ lies outside the
  Clopper–Pearson interval at α/2 per side. By the beta–binomial duality its rejection region is a pair of
  binomial quantiles (``binomial_rejection_counts``), so its power at a true rate p₁ is an exact binomial
  tail (``binomial_rate_power``, no normal approximation). Companions:
  ``min_num_samples_for_binomial_rate_test`` (n ∝ p(1 − p)(z_{α/2} + z_β)²/(p₁ − p₀)²) and
  ``min_discrepancy_of_binomial_rates_detectable``.
* **One-sided test** of H₀ "p ≤ p₀" (a clip-mass or exceedance claim): rejected when the level-α lower bound
  exceeds p₀. Companions: ``min_num_samples_for_binomial_upper_test`` (power at p₁ > p₀),
  ``min_num_samples_for_binomial_relative_upper_test`` (p₁ = p₀(1 + gap)) and
  ``min_rate_detectable_by_binomial_upper_test`` / ``binomial_detectable_rate`` (the smallest p₁ detected).
"""
from __future__ import annotations

from scipy.stats import beta as beta_dist
from scipy.stats import binom

from estimators.design import check_rate, smallest_n
from primitives._checks import check_unit_interval

__all__ = [
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "binomial_rate_test",
    "binomial_rejection_counts",
    "binomial_rate_power",
    "min_num_samples_for_binomial_rate_test",
    "min_discrepancy_of_binomial_rates_detectable",
    "min_num_samples_for_binomial_upper_test",
    "min_num_samples_for_binomial_relative_upper_test",
    "min_rate_detectable_by_binomial_upper_test",
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
    rate = check_rate("rate", rate)
    true_rate = float(true_rate)
    k_low, k_high = binomial_rejection_counts(int(trials), rate, check_unit_interval("alpha", alpha))
    below = float(binom.cdf(k_low, trials, true_rate)) if k_low >= 0 else 0.0
    above = float(binom.sf(k_high - 1, trials, true_rate)) if k_high <= trials else 0.0
    return below + above


def min_num_samples_for_binomial_rate_test(rate: float, alternative_rate: float, *, alpha: float,
                                           beta: float) -> int:
    """Smallest n at which the two-sided exact rate test rejects ``rate`` w.p. ≥ 1 − β when the truth is
    ``alternative_rate``. Scales as p(1 − p)(z_{α/2} + z_β)²/(p₁ − p₀)²."""
    rate = check_rate("rate", rate)
    alternative_rate = check_rate("alternative_rate", alternative_rate)
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

    rate = check_rate("rate", rate)
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
    threshold = check_rate("threshold", threshold)
    alternative_rate = check_rate("alternative_rate", alternative_rate)
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
    ``trials`` draws (``estimators.binomial.binomial_detectable_rate``; 1.0 when none is)."""
    return binomial_detectable_rate(int(trials), check_unit_interval("alpha", alpha),
                                    check_unit_interval("beta", beta), check_rate("threshold", threshold))


def min_num_samples_for_binomial_relative_upper_test(threshold: float, relative_gap: float, *, alpha: float,
                                                     beta: float, absolute_floor: float = 0.0) -> int:
    """n for the one-sided CP test of "p ≤ ``threshold``" to detect ``p = threshold·(1 + relative_gap)``
    (or ``threshold + absolute_floor`` when larger; capped halfway to 1) w.p. ≥ 1 − β. A bound is
    stated in relative terms because its useful precision scales with it (n ∝ 1/(threshold·gap²))."""
    threshold = check_rate("threshold", threshold)
    alternative = max(threshold * (1.0 + float(relative_gap)), threshold + float(absolute_floor))
    alternative = min(alternative, 0.5 * (1.0 + threshold))
    return min_num_samples_for_binomial_upper_test(threshold, alternative, alpha=alpha, beta=beta)
