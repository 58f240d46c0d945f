"""Exactly computable laws: the reward's law under p, and the laws q and q_b themselves.

``reward_law(base, reward)`` gives the exact law of ``R = r(X)``, ``X ~ p``:

* Gaussian ``N(μ, Σ)`` with ``r = ⟨θ,x⟩ + o``: ``R ~ N(⟨θ,μ⟩ + o, θᵀΣθ)``;
* Gaussian mixture with a linear reward: the mixture of those normals;
* Gaussian or mixture with ``r = B·1{⟨u,x⟩ < κ}``: two atoms, ``P(R = B) = Σ_k π_k Φ((κ − ⟨u,μ_k⟩)/√(uᵀΣ_ku))``;
* ``Categorical`` with any reward: the finite table ``(r(i), p_i)``.

``TiltedLaw(base, reward, lam, baseline)`` is the law ``q_b ∝ p·min(1, e^{(r−b)/λ})``
(``baseline=None``: the target ``q ∝ p·e^{r/λ}``) with exact CDFs of the reward and of every
coordinate. For a reward of one linear statistic ``S = ⟨u, X⟩`` the weight is piecewise
``C·e^{βS}`` on intervals of S; tilting a Gaussian component by ``e^{βS}`` keeps ``(S, X_j)``
jointly Gaussian with means shifted by ``β·Cov(·, S)``, so each piece contributes
``C·e^{βm_S + β²s_S²/2}·P(S' ∈ piece, X_j' ≤ y)``, a bivariate normal probability.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
from scipy.special import log_ndtr, logsumexp
from scipy.stats import multivariate_normal

from estimators.exact.reward_law import DiscreteLaw, NormalMixtureLaw, RewardLaw
from estimators.exact import tilt_quantities as tq
from primitives._checks import check_finite_scalar, check_positive
from primitives.laws import Categorical, Gaussian, GaussianMixture
from primitives.rewards import LinearReward, Reward, StepReward, as_reward

__all__ = ["reward_law", "TiltedLaw", "UnsupportedInstance"]


class UnsupportedInstance(ValueError):
    """The claimed law of this (base, reward) pair is not exactly computable here."""


def _components(base) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log-weights, means (K, d), covs (K, d, d)) of a Gaussian or a mixture, as numpy."""
    if isinstance(base, Gaussian):
        return (np.zeros(1), base.mean.cpu().numpy()[None], base.cov.cpu().numpy()[None])
    if isinstance(base, GaussianMixture):
        with np.errstate(divide="ignore"):
            log_weights = np.log(base.weights.cpu().numpy())
        return (log_weights, base.means.cpu().numpy(), base.covs.cpu().numpy())
    raise UnsupportedInstance(f"base {base!r} is not a Gaussian or a Gaussian mixture")


def reward_law(base, reward: Reward) -> RewardLaw:
    """Exact law of ``r(X)`` under ``X ~ base``; raises ``UnsupportedInstance`` elsewhere."""
    reward = as_reward(reward)
    if isinstance(base, Categorical):
        values = reward(base.support).cpu().numpy().astype(float)
        with np.errstate(divide="ignore"):
            log_probs = np.log(base.probs.cpu().numpy())
        return DiscreteLaw(values=values, log_probs=log_probs)
    if isinstance(base, (Gaussian, GaussianMixture)) and isinstance(reward, (LinearReward, StepReward)):
        log_weights, means, covs = _components(base)
        u = reward.direction
        if u.shape[0] != means.shape[1]:
            raise ValueError(f"reward direction has length {u.shape[0]} but the base has dimension {means.shape[1]}")
        statistic_means = means @ u
        statistic_stds = np.sqrt(np.einsum("i,kij,j->k", u, covs, u))
        if isinstance(reward, LinearReward):
            return NormalMixtureLaw(log_weights, statistic_means + reward.offset, statistic_stds)
        standardised = (reward.threshold - statistic_means) / statistic_stds
        log_hit = float(logsumexp(log_weights + log_ndtr(standardised)))
        log_miss = float(logsumexp(log_weights + log_ndtr(-standardised)))
        return DiscreteLaw(values=np.array([0.0, reward.height]), log_probs=np.array([log_miss, log_hit]))
    raise UnsupportedInstance(
        f"no exact reward law for base {base!r} with reward {getattr(reward, 'name', reward)!r}; "
        "supported: Categorical with any reward; Gaussian or GaussianMixture with LinearReward or StepReward"
    )


@dataclass(frozen=True)
class _Piece:
    """On ``low < S ≤ high`` the weight is ``exp(log_constant + slope·S)``."""

    low: float
    high: float
    slope: float
    log_constant: float


def _ridge_pieces(reward: Reward, lam: float, baseline: float | None) -> list[_Piece]:
    a = 1.0 / lam
    if isinstance(reward, LinearReward):
        if baseline is None:
            return [_Piece(-math.inf, math.inf, a, a * reward.offset)]
        kink = baseline - reward.offset
        return [_Piece(-math.inf, kink, a, a * (reward.offset - baseline)), _Piece(kink, math.inf, 0.0, 0.0)]
    if isinstance(reward, StepReward):
        kappa = reward.threshold
        # 1{S < κ}: the pieces are (−∞, κ) and [κ, ∞); the boundary has probability zero.
        if baseline is None:
            return [_Piece(-math.inf, kappa, 0.0, a * reward.height), _Piece(kappa, math.inf, 0.0, 0.0)]
        return [
            _Piece(-math.inf, kappa, 0.0, min(0.0, a * (reward.height - baseline))),
            _Piece(kappa, math.inf, 0.0, min(0.0, -a * baseline)),
        ]
    raise UnsupportedInstance(f"reward {reward.name!r} is not a function of one linear statistic")


def _bivariate_probability(low: float, high: float, y: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``P(low < S ≤ high, X ≤ y)`` for ``(S, X) ~ N(mean, cov)``, vectorised over y."""
    s_std, x_std = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
    correlation = cov[0, 1] / (s_std * x_std)
    if abs(correlation) > 1.0 - 1e-9:
        # X is an affine function of S: X = mean_x + slope (S − mean_s); intersect the intervals.
        slope = cov[0, 1] / cov[0, 0]
        threshold = mean[0] + (y - mean[1]) / slope
        if slope > 0:
            upper = np.minimum(high, threshold)
            lower = np.full_like(y, low, dtype=float)
        else:
            upper = np.full_like(y, high, dtype=float)
            lower = np.maximum(low, threshold)
        from scipy.special import ndtr

        return np.clip(ndtr((upper - mean[0]) / s_std) - ndtr((lower - mean[0]) / s_std), 0.0, 1.0)
    from scipy.special import ndtr

    def joint_cdf(s_edge: float) -> np.ndarray:
        if s_edge == math.inf:
            return ndtr((y - mean[1]) / x_std)
        if s_edge == -math.inf:
            return np.zeros_like(y, dtype=float)
        points = np.column_stack([np.full_like(y, s_edge, dtype=float), y])
        values = multivariate_normal(mean=mean, cov=cov).cdf(points)
        return np.atleast_1d(values)

    return np.clip(joint_cdf(high) - joint_cdf(low), 0.0, 1.0)


class TiltedLaw:
    """The law claimed for a sampler: ``q_b`` (baseline given) or ``q`` (``baseline=None``)."""

    def __init__(self, base, reward, lam: float, baseline: float | None = None) -> None:
        self.base = base
        self.reward = as_reward(reward)
        self.lam = check_positive("lam", lam)
        self.baseline = None if baseline is None else check_finite_scalar("baseline", baseline)
        self.law = reward_law(base, self.reward)
        self.is_finite = isinstance(base, Categorical)
        self.dim = 1 if self.is_finite else int(base.dim)

    # --- the reward's law under the claimed law ---
    def reward_cdf(self, y) -> np.ndarray:
        return tq.reward_cdf(self.law, self.lam, self.baseline, y)

    def reward_cdf_left(self, y) -> np.ndarray:
        return tq.reward_cdf(self.law, self.lam, self.baseline, y, strict=True)

    @property
    def reward_has_atoms(self) -> bool:
        return isinstance(self.law, DiscreteLaw)

    # --- coordinates ---
    def finite_probabilities(self) -> np.ndarray:
        """Exact probabilities of each category under the claimed law (finite bases only)."""
        if not self.is_finite:
            raise UnsupportedInstance("finite_probabilities needs a Categorical base")
        values = self.law.values
        a = 1.0 / self.lam
        if self.baseline is None:
            log_weights = a * values
        else:
            log_weights = np.minimum(0.0, a * (values - self.baseline))
        scores = self.law.log_probs + log_weights
        return np.exp(scores - logsumexp(scores))

    def coordinate_cdf(self, j: int, y, *, strict: bool = False) -> np.ndarray:
        """Exact ``P(X_j ≤ y)`` (``P(X_j < y)`` with ``strict``) under the claimed law."""
        y = np.atleast_1d(np.asarray(y, dtype=float))
        if self.is_finite:
            cumulative = np.concatenate([[0.0], np.cumsum(self.finite_probabilities())])
            index = np.floor(y).astype(int) + 1
            if strict:
                index = np.ceil(y).astype(int)
            return np.clip(cumulative[np.clip(index, 0, cumulative.size - 1)], 0.0, 1.0)
        log_weights, means, covs = _components(self.base)
        pieces = _ridge_pieces(self.reward, self.lam, self.baseline)
        u = self.reward.direction
        log_terms, normaliser_terms = [], []
        for log_weight, mean, cov in zip(log_weights, means, covs):
            cov_su = cov @ u
            s_mean, s_var = float(mean @ u), float(u @ cov_su)
            for piece in pieces:
                log_scale = log_weight + piece.log_constant + piece.slope * s_mean + 0.5 * piece.slope**2 * s_var
                joint_mean = np.array([s_mean + piece.slope * s_var, mean[j] + piece.slope * cov_su[j]])
                joint_cov = np.array([[s_var, cov_su[j]], [cov_su[j], cov[j, j]]])
                s_std = math.sqrt(s_var)
                from scipy.special import ndtr

                mass = ndtr((piece.high - joint_mean[0]) / s_std) - ndtr((piece.low - joint_mean[0]) / s_std)
                normaliser_terms.append(log_scale + math.log(mass) if mass > 0 else -math.inf)
                probability = _bivariate_probability(piece.low, piece.high, y, joint_mean, joint_cov)
                with np.errstate(divide="ignore"):
                    log_terms.append(log_scale + np.log(probability))
        log_normaliser = logsumexp(normaliser_terms)
        return np.clip(np.exp(logsumexp(np.stack(log_terms), axis=0) - log_normaliser), 0.0, 1.0)

    def log_normaliser(self) -> float:
        """``log Z`` (target) or ``log Z_b`` (clipped), from the exact reward law."""
        if self.baseline is None:
            return tq.log_partition(self.law, self.lam)
        return tq.log_clipped_partition(self.law, self.lam, self.baseline)
