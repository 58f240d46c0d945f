"""Sample-vs-exact-law statistics: goodness of fit and lower confidence bounds on TV.

Both work on the projections of a sample on which the claimed law is exactly computable: the law of
the reward r(X) and each coordinate X_j (continuous bases), or the whole finite law (categorical bases).

* ``fit_test``: H₀ "the sample has the claimed law". Continuous: the largest of the T projection KS
  distances against ``ε_DKW(α/T)`` (Bonferroni). Finite: ``TV(p̂_n, q)`` against
  ``½Σ√(q_i/n) + √(log(1/α)/(2n))``. The detectable gap (power ≥ 1 − β) is reported in the same units.
* ``tv_lower_confidence``: ``TV(P, q) ≥ KS(projection)`` for every projection, so
  ``max_t KS_t(P̂_n, q) − ε_DKW(α/T)`` is a lower confidence bound on ``TV(P, q)``; for finite laws
  ``TV(p̂_n, q) − ½√(K/n) − √(log(1/α)/(2n))`` is one.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
import torch

from estimators.dkw import dkw_radius, ks_distance
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.exact.tilted_law import TiltedLaw

__all__ = ["FitResult", "TVBound", "fit_test", "tv_lower_confidence", "fit_sample_size", "projection_count"]


def _as_numpy(samples) -> np.ndarray:
    if isinstance(samples, torch.Tensor):
        return samples.detach().cpu().numpy()
    return np.asarray(samples)


def projection_count(law: TiltedLaw) -> int:
    """Number of projections tested: the reward plus each coordinate (1 for finite laws)."""
    return 1 if law.is_finite else 1 + law.dim


def _check_shape(samples: np.ndarray, law: TiltedLaw) -> np.ndarray:
    if law.is_finite:
        if samples.ndim != 1:
            raise ValueError(f"samples of a finite law must have shape (n,), got {samples.shape}")
        if np.any(samples != np.round(samples)) or samples.min() < 0 or samples.max() >= law.base.size:
            raise ValueError(f"samples of a finite law must be integers in [0, {law.base.size - 1}]")
        return samples.astype(np.int64)
    if samples.ndim == 1 and law.dim == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[1] != law.dim:
        raise ValueError(f"samples must have shape (n, {law.dim}), got {samples.shape}")
    if not np.isfinite(samples).all():
        raise ValueError("samples contain non-finite values")
    return samples.astype(float)


def _projection_distances(samples: np.ndarray, law: TiltedLaw) -> dict[str, float]:
    rewards = law.reward(torch.as_tensor(samples, device=law.base.device, dtype=law.base.dtype)).cpu().numpy()
    distances = {
        "reward": ks_distance(rewards, law.reward_cdf, law.reward_cdf_left if law.reward_has_atoms else None)
    }
    for j in range(law.dim):
        distances[f"x{j}"] = ks_distance(samples[:, j], lambda y, j=j: law.coordinate_cdf(j, y))
    return distances


def _empirical_tv(samples: np.ndarray, probs: np.ndarray) -> float:
    counts = np.bincount(samples, minlength=probs.size) / samples.size
    return 0.5 * float(np.abs(counts - probs).sum())


@dataclass(frozen=True)
class FitResult:
    statistic: float
    threshold: float
    n: int
    detectable_gap: float
    rejected: bool
    name: str
    per_projection: dict[str, float]


def fit_test(samples, law: TiltedLaw, alpha: float, beta: float = 1e-3) -> FitResult:
    """Test H₀ "samples ~ law" at level ``alpha``."""
    samples = _check_shape(_as_numpy(samples), law)
    n = samples.shape[0]
    if law.is_finite:
        probs = law.finite_probabilities()
        statistic = _empirical_tv(samples, probs)
        threshold = multinomial_tv_radius(n, alpha, probs=probs)
        power_radius = multinomial_tv_radius(n, beta, support_size=probs.size)
        return FitResult(statistic, threshold, n, threshold + power_radius, statistic > threshold,
                         "multinomial TV(p̂_n, q) vs ½Σ√(q_i/n) + √(log(1/α)/2n)", {"tv": statistic})
    tests = projection_count(law)
    distances = _projection_distances(samples, law)
    statistic = max(distances.values())
    threshold = dkw_radius(n, alpha / tests)
    return FitResult(statistic, threshold, n, threshold + dkw_radius(n, beta), statistic > threshold,
                     f"max of {tests} projection KS distances vs DKW ε(α/{tests})", distances)


def fit_sample_size(law: TiltedLaw, gap: float, alpha: float, beta: float = 1e-3) -> int:
    """Smallest n whose ``fit_test`` detects a gap ``gap`` (KS, or TV for finite laws) w.p. ≥ 1 − β."""
    n = 64
    while True:
        if law.is_finite:
            probs = law.finite_probabilities()
            detectable = multinomial_tv_radius(n, alpha, probs=probs) + multinomial_tv_radius(
                n, beta, support_size=probs.size)
        else:
            detectable = dkw_radius(n, alpha / projection_count(law)) + dkw_radius(n, beta)
        if detectable <= gap:
            return n
        n = int(math.ceil(n * 1.05))


@dataclass(frozen=True)
class TVBound:
    estimate: float
    lower: float
    n: int
    detectable_gap: float
    name: str


def tv_lower_confidence(samples, target: TiltedLaw, alpha: float, beta: float = 1e-3) -> TVBound:
    """Lower confidence bound (level α) on the TV between the samples' law and ``target``."""
    samples = _check_shape(_as_numpy(samples), target)
    n = samples.shape[0]
    if target.is_finite:
        probs = target.finite_probabilities()
        estimate = _empirical_tv(samples, probs)
        radius = multinomial_tv_radius(n, alpha, support_size=probs.size)
        power = multinomial_tv_radius(n, beta, support_size=probs.size)
        return TVBound(estimate, max(estimate - radius, 0.0), n, radius + power,
                       "TV(p̂_n, q) − ½√(K/n) − √(log(1/α)/2n)")
    tests = projection_count(target)
    estimate = max(_projection_distances(samples, target).values())
    radius = dkw_radius(n, alpha / tests)
    return TVBound(estimate, max(estimate - radius, 0.0), n, radius + dkw_radius(n, beta),
                   f"max projection KS − DKW ε(α/{tests}) (KS ≤ TV)")
