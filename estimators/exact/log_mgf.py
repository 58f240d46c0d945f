"""The reward's log-MGF under the base, ``Λ_p(t) = log E_p e^{t r(X)}`` (LCB spec, notation).

Exact where the law of r(X) is known (see ``estimators.exact.tilted_law``) and for a Gaussian base with a
quadratic reward ``r = −½xᵀQx + bᵀx + c``, where ``E e^{tr}`` is finite iff ``Σ⁻¹ + tQ ≻ 0`` and then

    Λ(t) = t c − ½ log det(Σ) − ½ log det(Σ⁻¹ + tQ) + ½ hᵀ(Σ⁻¹ + tQ)⁻¹h − ½ μᵀΣ⁻¹μ,  h = Σ⁻¹μ + t b.

Empirically, from base samples of a reward bounded in [lo, hi], with a confidence interval from the
empirical Bernstein bound on ``E e^{t(R − edge)} ∈ [0, 1]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from estimators.bounded_means import empirical_bernstein_radius
from primitives._checks import check_unit_interval
from primitives.laws import Gaussian
from primitives.rewards import QuadraticReward

__all__ = ["gaussian_quadratic_log_mgf", "log_mgf", "EmpiricalLogMGF", "empirical_log_mgf"]


def gaussian_quadratic_log_mgf(base: Gaussian, reward: QuadraticReward, t: float) -> float:
    """Exact ``Λ(t)`` for ``N(μ, Σ)`` and ``r = −½xᵀQx + bᵀx + c``; ``+inf`` where it diverges."""
    mean = base.mean.cpu().numpy()
    cov = base.cov.cpu().numpy()
    precision = np.linalg.inv(cov)
    tilted_precision = precision + t * reward.Q
    eigenvalues = np.linalg.eigvalsh(tilted_precision)
    if eigenvalues.min() <= 0:
        return math.inf
    h = precision @ mean + t * reward.b
    _, log_det_cov = np.linalg.slogdet(cov)
    _, log_det_tilted = np.linalg.slogdet(tilted_precision)
    quadratic = h @ np.linalg.solve(tilted_precision, h) - mean @ precision @ mean
    return float(t * reward.c - 0.5 * log_det_cov - 0.5 * log_det_tilted + 0.5 * quadratic)


def log_mgf(base, reward, t: float) -> float:
    """Exact ``Λ_p(t)``: the Gaussian–quadratic closed form, else through the exact reward law."""
    if isinstance(base, Gaussian) and isinstance(reward, QuadraticReward):
        return gaussian_quadratic_log_mgf(base, reward, t)
    from estimators.exact.tilted_law import reward_law

    return reward_law(base, reward).log_mgf(t)


@dataclass(frozen=True)
class EmpiricalLogMGF:
    """Point estimate of Λ(t) and a two-sided interval holding w.p. ≥ 1 − alpha."""

    estimate: float
    lower: float
    upper: float


def empirical_log_mgf(rewards: np.ndarray, t: float, bounds: tuple[float, float], alpha: float) -> EmpiricalLogMGF:
    """Estimate ``Λ(t)`` from base samples of a reward bounded in ``bounds``.

    ``Λ(t) = t·e + log E e^{t(R − e)}`` with ``e = hi`` for t ≥ 0 (``e = lo`` otherwise), so the mean
    is of values in [0, 1]; each side of the interval spends alpha/2 (empirical Bernstein).
    """
    alpha = check_unit_interval("alpha", alpha)
    rewards = np.asarray(rewards, dtype=float).reshape(-1)
    lower_edge, upper_edge = bounds
    if rewards.min() < lower_edge or rewards.max() > upper_edge:
        raise ValueError(f"rewards fall outside the stated bounds {bounds}")
    edge = upper_edge if t >= 0 else lower_edge
    values = np.exp(t * (rewards - edge))
    mean = float(values.mean())
    radius = empirical_bernstein_radius(values, alpha / 2.0)
    low = mean - radius
    return EmpiricalLogMGF(
        estimate=t * edge + math.log(mean),
        lower=t * edge + math.log(low) if low > 0 else -math.inf,
        upper=t * edge + math.log(min(mean + radius, 1.0)),
    )
