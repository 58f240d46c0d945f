"""Designed power of ``check_chain_sampler``'s x_0 and query-count tests, in the user's units.

The x_0 test (``tiltproof.core.chain_x0_statistics.x0_tv_lower`` at the test's α share) rejects "TV(x_0, q_0) ≤ budget"
when any of its lower bounds on TV exceeds the budget: the rare-event mass ``q_0(r = B)`` outside its exact
Clopper–Pearson interval (α/4 per side), and on the GMM the three exact projection KS distances (reward,
ridge x_1, orthogonal x_2; DKW at α/6 each), on the masked chain the multinomial TV over the 512 sequences
(α/2). Violations each part must detect with probability ≥ 1 − β, and the n they need:

1. **Rare-event mass** off by ``gap`` beyond the budget (either side): the exact one-sided binomial design
   (``tiltproof.byo.chain._rare_event_design``).
2. **A projection** (GMM): a projection's CDF off by ``FIT_GAP`` = 0.05 in KS beyond the budget:
   ``min_num_samples_for_dkw_cdf_test(FIT_GAP, α/6, β)``; in user units, the orthogonal coordinate's scale off
   by a factor 1 ± s (``KS(N(0,1), N(0,(1±s)²))``, exact, the sup over a grid — a lower bound, so the stated s
   is detected). **The sequence law** (masked): TV off by ``MASKED_TV_GAP`` = 0.2 beyond the budget
   (``min_num_samples_for_tv_lower_bound_test`` at α/2).
3. **Temperature**: an exact sampler at λ(1 ± ε). Both instances' rewards take two values (0 and B on A),
   so ``q_0^λ(A) = e^{B/λ}p(A)/(1 + (e^{B/λ} − 1)p(A))`` and ``TV(q_0^λ, q_0^{λ'}) = |q_0^{λ'}(A) − q_0^λ(A)|``:
   the rare-event part alone rejects it w.p. ≥ 1 − β once the alternative mass passes the binomial test's
   detectable rate (exact), and the other parts can only add rejections, so the smallest such ε is a valid
   statement of the whole test's power. It is reported, not designed for: at a budget ≥ TV(q_0^λ, q_0^{1.1λ})
   a 10 % temperature error is no violation at all.

The query-count test's power (a counter off by a factor 1 ± ε) is exact Chernoff for sums of geometric
variables at the visited states (``estimators.geometric_sums``).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from estimators.design import detectable_parameter_error
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_dkw_cdf_test
from estimators.binomial import min_rate_detectable_by_binomial_upper_test
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_tv_lower_bound,
                                       min_num_samples_for_tv_lower_bound_test)
from tiltproof.core.chain_x0_statistics import FIT_GAP, MASKED_TV_GAP

__all__ = ["rare_event_mass", "tilted_mass", "projection_design", "projection_power", "lambda_error_power",
           "orthogonal_scale_error_power", "x0_power"]

GMM_PROJECTIONS = 6        # x0_tv_lower's DKW share: α/6 per projection


def rare_event_mass(instance) -> float:
    """``q_0(r = B)`` at the instance's λ (exact)."""
    target = instance.x0_target()
    return 1.0 - float(target.reward_cdf_left(np.array([instance.height]))[0])


def _logit(probability: float, name: str) -> float:
    if not 0.0 < probability < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {probability!r}")
    return math.log(probability) - math.log1p(-probability)


def _expit(log_odds: float) -> float:
    """``1/(1 + e^{−z})`` without overflow for either sign of z."""
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1.0 + odds)


def tilted_mass(base_mass: float, height: float, lam: float) -> float:
    """``e^{B/λ}p/(1 + (e^{B/λ} − 1)p)``, the aligned mass of the rare set at temperature λ, in log-odds:
    ``logit q = B/λ + logit p`` (no overflow for B/λ > 709). ``ValueError`` for p outside (0, 1)."""
    return _expit(height / lam + _logit(base_mass, "base_mass"))


def _base_mass(instance) -> float:
    """``p_0(A)`` recovered from the exact ``q_0(A)`` (the inverse of ``tilted_mass``: logit p = logit q − B/λ)."""
    return _expit(_logit(rare_event_mass(instance), "q_0(A)") - instance.height / instance.lam)


def projection_design(instance, alpha: float, beta: float) -> int:
    """n at which the projection part detects its violation (module docstring, item 2) w.p. ≥ 1 − β."""
    if instance.kind != "masked":
        return min_num_samples_for_dkw_cdf_test(FIT_GAP, alpha=alpha / GMM_PROJECTIONS, beta=beta)
    return min_num_samples_for_tv_lower_bound_test(MASKED_TV_GAP, instance.chain.sequences.shape[0],
                                                   alpha=alpha / 2, beta=beta)


def projection_power(instance, n: int, alpha: float, beta: float) -> float:
    """The projection part's detectable excess over the budget at n (KS on the GMM, TV on the masked chain)."""
    if instance.kind != "masked":
        return min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=alpha / GMM_PROJECTIONS, beta=beta)
    return min_gap_of_tvs_detectable_by_tv_lower_bound(n, instance.chain.sequences.shape[0], alpha=alpha / 2, beta=beta)


def _detectable_masses(n: int, mass: float, budget: float, alpha: float, beta: float) -> tuple[float | None, float | None]:
    """Alternative masses the rare-event part rejects w.p. ≥ 1 − β: (≥ upper, ≤ lower); None where impossible."""
    upper = lower = None
    if mass + budget < 1.0:
        rate = min_rate_detectable_by_binomial_upper_test(n, mass + budget, alpha=alpha / 4, beta=beta)
        upper = rate if rate < 1.0 else None
    if mass - budget > 0.0:
        rate = min_rate_detectable_by_binomial_upper_test(n, 1.0 - (mass - budget), alpha=alpha / 4, beta=beta)
        lower = 1.0 - rate if rate < 1.0 else None
    return upper, lower


def lambda_error_power(instance, n: int, budget: float, alpha: float, beta: float) -> dict[str, float | None]:
    """Smallest ε such that an exact sampler at λ(1 − ε) (``lambda_too_low``) or λ(1 + ε) (``lambda_too_high``)
    is rejected w.p. ≥ 1 − β, and the larger of the two (``lambda_relative_error``); None when not detectable
    (λ(1 − ε) for ε ≤ 0.99, λ(1 + ε) for ε ≤ 100)."""
    mass, base, lam, height = rare_event_mass(instance), _base_mass(instance), instance.lam, instance.height
    upper, lower = _detectable_masses(n, mass, budget, alpha, beta)
    too_low = too_high = None
    if upper is not None:
        too_low = detectable_parameter_error(lambda e: tilted_mass(base, height, lam * (1.0 - e)) - mass,
                                             upper - mass, largest=0.99)
    if lower is not None:
        too_high = detectable_parameter_error(lambda e: mass - tilted_mass(base, height, lam * (1.0 + e)),
                                              mass - lower, largest=100.0)
    both = None if too_low is None or too_high is None else max(too_low, too_high)
    return {"lambda_relative_error": both, "lambda_too_low": too_low, "lambda_too_high": too_high}


def _scale_ks(scale: float) -> float:
    y = np.linspace(0.0, 12.0, 24_001)
    return float(np.abs(ndtr(y) - ndtr(y / scale)).max())


def orthogonal_scale_error_power(n: int, budget: float, alpha: float, beta: float) -> float | None:
    """Smallest s such that x_2's scale off by 1 + s and by 1 − s are both rejected w.p. ≥ 1 − β (GMM)."""
    needed = budget + min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=alpha / GMM_PROJECTIONS, beta=beta)
    wider = detectable_parameter_error(lambda s: _scale_ks(1.0 + s), needed, largest=10.0)
    narrower = detectable_parameter_error(lambda s: _scale_ks(1.0 - s), needed, largest=0.99)
    return None if wider is None or narrower is None else max(wider, narrower)


def x0_power(instance, n: int, budget: float, alpha: float, beta: float) -> dict[str, float | None]:
    """The x_0 test's power at n in user units (module docstring): the projection part's detectable excess
    (``projection_ks_beyond_budget`` on the GMM, ``sequence_tv_beyond_budget`` on the masked chain), the
    temperature errors, and on the GMM the orthogonal scale error."""
    power: dict[str, float | None] = {}
    if instance.kind != "masked":
        power["projection_ks_beyond_budget"] = projection_power(instance, n, alpha, beta)
        power["orthogonal_scale_relative_error"] = orthogonal_scale_error_power(n, budget, alpha, beta)
    else:
        power["sequence_tv_beyond_budget"] = projection_power(instance, n, alpha, beta)
    power.update(lambda_error_power(instance, n, budget, alpha, beta))
    return power
