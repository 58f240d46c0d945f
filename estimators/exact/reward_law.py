"""Exact law of the reward R = r(X) under the base, X ~ p, and the tilted masses it determines.

Every single-step quantity of the LCB spec (T1–T5) depends on x only through r(x): the density
ratio ``q_b/q`` is a function of r, so TV, Z, Z_b, D and N(b) are integrals against the law of R.
A ``RewardLaw`` provides the two primitive integrals, in log space,

    log_mass_below(a, y) = log E_p[e^{aR} 1{R ≤ y}],   log_mass_above(a, y) = log E_p[e^{aR} 1{R > y}],

exactly: normal laws (Gaussian base, linear reward), normal mixtures (Gaussian-mixture base, linear
reward) and finite laws (finite bases; step rewards on Gaussian and mixture bases). Tilting a normal
by e^{aR} gives N(m + a s², s²) times e^{am + a²s²/2}, so the normal integrals are log-normal-CDFs.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
from scipy.special import log_ndtr

__all__ = ["RewardLaw", "NormalMixtureLaw", "DiscreteLaw", "normal_law", "logsumexp"]


def logsumexp(values, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """``log Σ e^{values}`` along ``axis`` with the max-shift (−inf where every term is −inf).

    A lean numpy version: the Chernoff minimisation calls it ~10⁵ times per registry build, where
    ``scipy.special.logsumexp``'s generality costs ~10× more per call.
    """
    values = np.asarray(values, dtype=float)
    peak = np.max(values, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        total = np.log(np.sum(np.exp(values - peak), axis=axis, keepdims=True)) + peak
    return total if keepdims else (np.squeeze(total, axis=axis) if axis is not None else total.reshape(()))



class RewardLaw:
    """Interface: exact tilted masses of a real random variable R."""

    ess_sup: float
    ess_inf: float

    def log_mass_below(self, a: float, y: float | np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def log_mass_above(self, a: float, y: float | np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def log_mgf(self, a: float) -> float:
        """``Λ(a) = log E e^{aR}``."""
        raise NotImplementedError  # pragma: no cover


@dataclass(frozen=True)
class NormalMixtureLaw(RewardLaw):
    """``R ~ Σ_k w_k N(m_k, s_k²)`` with all ``s_k > 0`` (log-weights for precision)."""

    log_weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray

    def __post_init__(self) -> None:
        if np.any(self.stds <= 0):
            raise ValueError("stds must be > 0 (a zero-variance reward is a DiscreteLaw)")

    @property
    def ess_sup(self) -> float:
        return math.inf

    @property
    def ess_inf(self) -> float:
        return -math.inf

    def _component_log_mgf(self, a: float) -> np.ndarray:
        return a * self.means + 0.5 * a * a * self.stds**2

    def _standardised(self, a: float, y: np.ndarray) -> np.ndarray:
        tilted_means = self.means + a * self.stds**2
        return (np.asarray(y, dtype=float)[..., None] - tilted_means) / self.stds

    def log_mgf(self, a: float) -> float:
        return float(logsumexp(self.log_weights + self._component_log_mgf(a)))

    def log_mass_below(self, a: float, y) -> np.ndarray:
        terms = self.log_weights + self._component_log_mgf(a) + log_ndtr(self._standardised(a, y))
        return logsumexp(terms, axis=-1)

    def log_mass_above(self, a: float, y) -> np.ndarray:
        terms = self.log_weights + self._component_log_mgf(a) + log_ndtr(-self._standardised(a, y))
        return logsumexp(terms, axis=-1)

    def tilted_mean_and_std(self, a: float) -> tuple[float, float]:
        """Mean and standard deviation of R under ``∝ e^{aR}·law`` (exact)."""
        log_w = self.log_weights + self._component_log_mgf(a)
        w = np.exp(log_w - logsumexp(log_w))
        tilted_means = self.means + a * self.stds**2
        mean = float(w @ tilted_means)
        second = float(w @ (self.stds**2 + tilted_means**2))
        return mean, math.sqrt(max(second - mean * mean, 0.0))


def normal_law(mean: float, std: float) -> NormalMixtureLaw:
    """``R ~ N(mean, std²)`` as a one-component mixture."""
    return NormalMixtureLaw(np.zeros(1), np.array([float(mean)]), np.array([float(std)]))


@dataclass(frozen=True)
class DiscreteLaw(RewardLaw):
    """``R`` takes ``values[i]`` with probability ``exp(log_probs[i])`` (ties allowed)."""

    values: np.ndarray
    log_probs: np.ndarray

    @property
    def ess_sup(self) -> float:
        return float(self.values[self.log_probs > -np.inf].max())

    @property
    def ess_inf(self) -> float:
        return float(self.values[self.log_probs > -np.inf].min())

    def log_mgf(self, a: float) -> float:
        return float(logsumexp(self.log_probs + a * self.values))

    def _masked(self, a: float, mask: np.ndarray) -> np.ndarray:
        terms = np.where(mask, self.log_probs + a * self.values, -np.inf)
        return logsumexp(terms, axis=-1)

    def log_mass_below(self, a: float, y) -> np.ndarray:
        return self._masked(a, self.values <= np.asarray(y, dtype=float)[..., None])

    def log_mass_above(self, a: float, y) -> np.ndarray:
        return self._masked(a, self.values > np.asarray(y, dtype=float)[..., None])
