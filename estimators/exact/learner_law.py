"""The exact law of the learned Chernoff baseline on a two-point reward law (T6's learner, enumerated).

``estimators.baselines.empirical_chernoff_baseline`` is a symmetric function of its n training rewards. When the
reward takes only its two bounds ``lo`` (probability 1 − p) and ``hi`` (probability p), a training is summarised
by ``K ~ Bin(n, p)``, the count of ``hi``: every per-s mean ``M̂_t = (K + (n − K)e^{−t(hi−lo)})/n`` and unbiased
variance ``V̂_t = n/(n−1)·p̂(1 − p̂)(1 − e^{−t(hi−lo)})²`` (p̂ = K/n) is a closed form of K, and so is the learned
baseline ``b̂(K)``. ``two_point_learned_baselines`` evaluates that closed form for every K at once (numpy, written
from the learner's definition: Maurer–Pontil radius ``√(2V̂ log(2/a)/n) + 7 log(2/a)/(3(n−1))`` at the union share
``a = η/(2|grid|)``, candidates ``hi + (log UCB(M_{1/λ+s}) − log LCB(M_{1/λ}) + log(1/δ))/s``, capped at ``hi``), without
calling the learner; with the binomial pmf it gives the learner's exact law (``two_point_learner_law``) and
the exact probability of any event of b̂, e.g. T6's certificate failure ``P(b̂ < b_δ)``
(``certificate_failure_probability``). The same closed form with the learner's slack perturbed — the radius
scaled (``radius_scale``) or the union over the grid dropped (``bound_count``) — gives the law of those wrong
learners, so a check can be designed against them exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from primitives._checks import check_positive, check_unit_interval

__all__ = ["TwoPointLearnerLaw", "two_point_learned_baselines", "two_point_learner_law",
           "certificate_failure_probability", "ks_distance_between_laws"]


def two_point_learned_baselines(n: int, lam: float, delta: float, eta: float, bounds: tuple[float, float],
                                s_grid: tuple[float, ...], *, radius_scale: float = 1.0,
                                bound_count: int | None = None) -> np.ndarray:
    """``b̂(K)`` for K = 0..n ones (rewards at ``bounds[1]``) among n two-point training rewards.

    ``s_grid``: a non-empty grid of finite s > 0 (each candidate divides by s); ``bound_count``: the union's
    size (a positive integer; None: ``2·|s_grid|``); ``radius_scale`` > 0 scales the radius."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer ≥ 2, got {n!r}")
    lam = check_positive("lam", lam)
    delta = check_unit_interval("delta", delta)
    eta = check_unit_interval("eta", eta)
    lower, upper = float(bounds[0]), float(bounds[1])
    if not lower < upper:
        raise ValueError(f"bounds must satisfy lower < upper, got {bounds!r}")
    try:
        s_grid = tuple(float(s) for s in s_grid)
    except (TypeError, ValueError):
        raise ValueError(f"s_grid must be a non-empty grid of finite numbers s > 0, got {s_grid!r}") from None
    if not s_grid or not all(math.isfinite(s) and s > 0.0 for s in s_grid):
        raise ValueError(f"s_grid must be a non-empty grid of finite numbers s > 0, got {s_grid!r}")
    if bound_count is not None and (isinstance(bound_count, bool) or not isinstance(bound_count, (int, np.integer))
                                    or bound_count < 1):
        raise ValueError(f"bound_count must be a positive integer or None, got {bound_count!r}")
    radius_scale = check_positive("radius_scale", radius_scale)
    share = eta / (2.0 * len(s_grid) if bound_count is None else float(bound_count))
    log_term = math.log(2.0 / share)
    fraction = np.arange(n + 1, dtype=float) / n
    width = upper - lower

    def mean_and_radius(t: float) -> tuple[np.ndarray, np.ndarray]:
        low_value = math.exp(-t * width)
        mean = fraction + (1.0 - fraction) * low_value
        variance = n / (n - 1.0) * fraction * (1.0 - fraction) * (1.0 - low_value) ** 2
        radius = np.sqrt(2.0 * variance * log_term / n) + 7.0 * log_term / (3.0 * (n - 1))
        return mean, radius_scale * radius

    a = 1.0 / lam
    base_mean, base_radius = mean_and_radius(a)
    base_lcb = base_mean - base_radius
    usable = base_lcb > 0.0
    safe_lcb = np.where(usable, base_lcb, 1.0)
    best = np.full(n + 1, upper)
    for s in s_grid:
        mean, radius = mean_and_radius(a + s)
        ucb = np.minimum(mean + radius, 1.0)
        candidate = upper + (np.log(ucb) - np.log(safe_lcb) + math.log(1.0 / delta)) / s
        best = np.where(usable & (candidate < best), candidate, best)
    return best


@dataclass(frozen=True)
class TwoPointLearnerLaw:
    """The law of b̂: sorted distinct values and their probabilities (K's binomial pmf, merged on ties)."""

    values: np.ndarray
    probabilities: np.ndarray

    def cdf(self, y, tolerance: float = 1e-9) -> np.ndarray:
        """``P(b̂ ≤ y)``, values within ``tolerance`` (relative) of y counted as equal to it (float agreement)."""
        y = np.asarray(y, dtype=float)
        cumulative = np.concatenate([[0.0], np.cumsum(self.probabilities)])
        return cumulative[np.searchsorted(self.values, y + tolerance * np.maximum(1.0, np.abs(y)), side="right")]

    def cdf_left(self, y, tolerance: float = 1e-9) -> np.ndarray:
        """``P(b̂ < y)`` with the same tolerance."""
        y = np.asarray(y, dtype=float)
        cumulative = np.concatenate([[0.0], np.cumsum(self.probabilities)])
        return cumulative[np.searchsorted(self.values, y - tolerance * np.maximum(1.0, np.abs(y)), side="left")]


def two_point_learner_law(n: int, p: float, lam: float, delta: float, eta: float, bounds: tuple[float, float],
                          s_grid: tuple[float, ...], **slack) -> TwoPointLearnerLaw:
    """The exact law of b̂ over trainings of n rewards equal to ``bounds[1]`` w.p. p (else ``bounds[0]``)."""
    p = check_unit_interval("p", p)
    baselines = two_point_learned_baselines(n, lam, delta, eta, bounds, s_grid, **slack)
    pmf = binom.pmf(np.arange(n + 1), n, p)
    order = np.argsort(baselines, kind="stable")
    values, start = np.unique(baselines[order], return_index=True)
    return TwoPointLearnerLaw(values, np.add.reduceat(pmf[order], start))


def certificate_failure_probability(law: TwoPointLearnerLaw, target: float) -> float:
    """``P(b̂ < target)`` exactly (T6's certificate event at ``target = b_δ``)."""
    return float(law.probabilities[law.values < target - 1e-12 * max(1.0, abs(target))].sum())


def ks_distance_between_laws(first: TwoPointLearnerLaw, second: TwoPointLearnerLaw) -> float:
    """``sup_y |F₁(y) − F₂(y)|`` of two discrete laws (attained at their atoms, from the right)."""
    points = np.union1d(first.values, second.values)
    return float(np.max(np.abs(first.cdf(points, 0.0) - second.cdf(points, 0.0))))
