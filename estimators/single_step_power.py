"""Designed power for the single-step sampler check: which statistic, how many samples, what it detects.

A user's single-step sampler claims the law ``q_b ∝ p·min(1, e^{(r−b)/λ})`` (``q ∝ p e^{r/λ}`` for
``b = None``). The errors a real implementation makes move it inside the same family: a wrong
temperature gives ``q_{b}`` at ``λ' = λ(1 ± ε)``, a miscalibrated baseline gives ``q_{b'}``, a sampler
that never tilts gives p. Each alternative's law is exactly computable, so the **signal** of a
statistic against it — its population value under the alternative — is exact, and n follows from the
test's design functions (``estimators.binomial``, ``estimators.dkw``, ``estimators.multinomial_tv``).

The statistic is the tightest valid one for the claimed law:

* ``rate`` — the reward law has atoms on a continuous base (a step reward ``r = B·1{⟨u,x⟩ < κ}``):
  given which atom R hits, every law of the family is p restricted to that event (the weight is constant
  on it), so the count of draws with ``R = max atom`` is sufficient against every family alternative.
  Exact two-sided binomial test; signal ``|q'(A) − q(A)|``. (KS on r(X) spends a DKW radius
  ``√(log(2/α)/2n)`` where the binomial spends ``√(q(A)(1 − q(A)))`` times less.)
* ``multinomial`` — a finite base: TV(p̂_n, q) against ``½Σ√(q_i/n) + √(log(1/α)/2n)``; signal
  ``TV(q', q)`` (exact).
* ``ks`` — a continuous reward law: KS on r(X) with DKW; signal ``sup_y |F_{q'}(y) − F_q(y)|`` evaluated
  on a grid (a lower bound on the supremum, so the design errs towards more samples).
"""
from __future__ import annotations

import functools
from typing import Literal

import numpy as np

from estimators.binomial import min_discrepancy_of_binomial_rates_detectable, min_num_samples_for_binomial_rate_test
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_dkw_cdf_test
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_multinomial,
                                       min_num_samples_for_multinomial_tv_test)
from estimators import design
from estimators.exact.tilted_law import TiltedLaw
from estimators.exact.reward_law import DiscreteLaw, NormalMixtureLaw

__all__ = ["StatisticKind", "statistic_kind", "rate_event_value", "event_rate", "signal", "alternative_law",
           "untilted_law", "samples_to_detect", "detected_at", "smallest_detected_error"]

StatisticKind = Literal["rate", "multinomial", "ks"]

UNTILTED_LAMBDA = 1e30
"""λ standing for "no tilt": ``e^{r/λ}`` is 1 to double precision for any finite reward."""


def statistic_kind(law: TiltedLaw) -> StatisticKind:
    if law.is_finite:
        return "multinomial"
    if isinstance(law.law, DiscreteLaw):
        return "rate"
    return "ks"


def rate_event_value(law: TiltedLaw) -> float:
    """The reward atom whose frequency the ``rate`` statistic counts: the largest one."""
    return float(law.law.ess_sup)


def event_rate(law: TiltedLaw, value: float) -> float:
    """``P(R = value)`` under ``law`` for an atom ``value`` (``P(R ≤ value) − P(R < value)``)."""
    point = np.array([value])
    return float(law.reward_cdf(point)[0] - law.reward_cdf_left(point)[0])


def alternative_law(claimed: TiltedLaw, *, lam: float | None = None, baseline: float | None | str = "same") -> TiltedLaw:
    """The claimed law with λ and/or b replaced (``baseline="same"`` keeps the claimed one)."""
    return TiltedLaw(claimed.base, claimed.reward, claimed.lam if lam is None else lam,
                     claimed.baseline if baseline == "same" else baseline)


def untilted_law(claimed: TiltedLaw) -> TiltedLaw:
    """p itself (a sampler that forgets to tilt), as a member of the family."""
    return TiltedLaw(claimed.base, claimed.reward, UNTILTED_LAMBDA, None)


def _reward_grid(claimed: TiltedLaw, other: TiltedLaw) -> np.ndarray:
    law = claimed.law
    assert isinstance(law, NormalMixtureLaw)
    centres = [law.means]
    for tilted in (claimed, other):
        centres.append(law.means + law.stds**2 / tilted.lam)
    centres = np.concatenate(centres)
    spread = 12.0 * float(law.stds.max())
    grid = np.linspace(centres.min() - spread, centres.max() + spread, 801)
    for tilted in (claimed, other):
        if tilted.baseline is not None:
            grid = np.concatenate([grid, [tilted.baseline]])
    return np.sort(grid)


def signal(claimed: TiltedLaw, other: TiltedLaw, kind: StatisticKind) -> float:
    """Population value of the statistic's discrepancy when the sampler's law is ``other``."""
    if kind == "multinomial":
        return 0.5 * float(np.abs(claimed.finite_probabilities() - other.finite_probabilities()).sum())
    if kind == "rate":
        value = rate_event_value(claimed)
        return abs(event_rate(other, value) - event_rate(claimed, value))
    grid = _reward_grid(claimed, other)
    return float(np.max(np.abs(claimed.reward_cdf(grid) - other.reward_cdf(grid))))


def samples_to_detect(claimed: TiltedLaw, other: TiltedLaw, kind: StatisticKind, *, alpha: float,
                      beta: float) -> int | None:
    """Smallest n at which the level-α statistic rejects ``claimed`` w.p. ≥ 1 − β under ``other``
    (None when the two laws coincide for this statistic)."""
    if kind == "rate":
        value = rate_event_value(claimed)
        rate, other_rate = event_rate(claimed, value), event_rate(other, value)
        if not (0.0 < rate < 1.0) or abs(other_rate - rate) <= 1e-12 * rate:
            return None
        other_rate = min(max(other_rate, 1e-300), 1.0 - 1e-16)
        return min_num_samples_for_binomial_rate_test(rate, other_rate, alpha=alpha, beta=beta)
    gap = signal(claimed, other, kind)
    if gap <= 1e-12:
        return None
    gap = min(gap, 1.0 - 1e-12)
    if kind == "multinomial":
        return min_num_samples_for_multinomial_tv_test(gap, claimed.finite_probabilities(), alpha=alpha,
                                                              beta=beta)
    return min_num_samples_for_dkw_cdf_test(gap, alpha=alpha, beta=beta)


@functools.lru_cache(maxsize=256)
def _binomial_detectable(n: int, rate: float, alpha: float, beta: float) -> tuple[float, float]:
    """``min_discrepancy_of_binomial_rates_detectable``, cached: it does not depend on the alternative,
    and the user-unit power bisects over alternatives at one n (dozens of root finds otherwise)."""
    return min_discrepancy_of_binomial_rates_detectable(n, rate, alpha=alpha, beta=beta)


def detected_at(n: int, claimed: TiltedLaw, other: TiltedLaw, kind: StatisticKind, *, alpha: float,
                beta: float) -> float:
    """≥ 0 iff the test at n detects ``other`` w.p. ≥ 1 − β (a margin in the statistic's units)."""
    if kind == "rate":
        value = rate_event_value(claimed)
        rate, other_rate = event_rate(claimed, value), event_rate(other, value)
        low, high = _binomial_detectable(int(n), float(rate), float(alpha), float(beta))
        return max(other_rate - high, low - other_rate)
    if kind == "multinomial":
        threshold = min_gap_of_tvs_detectable_by_multinomial(n, claimed.finite_probabilities(), alpha=alpha,
                                                                    beta=beta)
    else:
        threshold = min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=alpha, beta=beta)
    return signal(claimed, other, kind) - threshold


def smallest_detected_error(n: int, claimed: TiltedLaw, kind: StatisticKind, make_other, *, largest: float,
                            alpha: float, beta: float) -> float | None:
    """Smallest error s ∈ (0, largest] with ``make_other(s)`` detected at n (None if even ``largest`` is not)."""
    return design.detectable_parameter_error(
        lambda s: detected_at(n, claimed, make_other(s), kind, alpha=alpha, beta=beta), 0.0, largest=largest,
        tolerance=2e-4)
