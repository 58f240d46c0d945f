"""Exact laws of the authors' DDPM-step mixture chain (``primitives.ddpm_chain``) by 1-D quadrature.

Written from the formula with numpy/scipy, independent of the torch kernel under test.

**Why one dimension suffices.** With every ``Σ_k = I`` and the means differing only along û, the weights
``w_k(y) ∝ π_k e^{−|y − √ā μ_k|²/2}`` depend on y only through ``s = ⟨û, y⟩`` (the orthogonal parts of
``|y − √ā μ_k|²`` are the same for every k and cancel in the softmax), and the orthogonal part of the score is
``√ā μ^⊥ − y^⊥`` whatever the weights. So the kernel factorises: ``s_t | s_{t+1} = y ~ N(m_t(y), β_t)`` with

    m_t(y) = (y + (1 − α_t)·Σ_k w_k(y)(√ā μ_k^s − y)) / √α_t,   ā = ᾱ[t + shift],  β_t = (1 − α_t)/α_t,

and ``x^⊥`` is an independent linear Gaussian chain (mean ``(α_t m + (1 − α_t)√ā μ^⊥)/√α_t``, variance
``α_t v + β_t``, from ``N(0, I)``). A reward of ``⟨u, x⟩`` (step, sigmoid) then makes every soft value a
function of s, and the aligned law ``q_0 ∝ p_0 e^{r/λ}`` the product of the tilted s-law and the untouched
orthogonal Gaussian.

**Quadrature.** A fine uniform grid on ``[−L, L]`` (spacing ``h``) and a quadrature sub-grid (every
``stride``-th node, spacing ``H = stride·h``):

* values, backwards: ``e^{V_{t+1}(y)/λ} = ∫ N(s; m_t(y), β_t) e^{V_t(s)/λ} ds`` by the trapezoid rule on the
  sub-grid, the mass of the kernel outside ``[−L, L]`` carried at the edge values (``V_t`` is flat there: r is
  constant beyond the threshold's neighbourhood), in log space; for a step reward at t = 0 exactly
  ``1 + (e^{B/λ} − 1) Φ((κ − m_0(y))/√β_0)``. ``V_t`` is tabulated on the fine grid and read by linear
  interpolation (error ≤ ``h²/8·max|V_t''|``, the second differences are reported as ``interpolation_error``);
* the chain's marginals, forwards: ``p_t(s) = ∫ p_{t+1}(y) N(s; m_t(y), β_t) dy`` on the sub-grid from
  ``p_T = N(0, 1)``; the x_0 CDF is exact given ``p_1``: ``P_0(s) = ∫ p_1(y) Φ((s − m_0(y))/√β_0) dy``;
* ``quadrature_error`` is the change of the root value and of the x_0 CDF when H is doubled (grid
  refinement). A second route: ``log Z`` forwards (``∫ p_0 e^{r/λ}``) and backwards (``E_{p_T} e^{V_T/λ}``)
  must agree (tested).

Trapezoid sums of Gaussian kernels with ``H ≤ √β_t/7`` are spectrally accurate for the smooth integrands of
t ≥ 1; the step's jump is only ever integrated in closed form.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import math

import numpy as np
import torch
from scipy.special import log_ndtr, logsumexp, ndtr

from primitives._checks import check_positive
from primitives.rewards import SigmoidReward, StepReward

__all__ = ["DdpmRidge", "DdpmExact", "DdpmSoftValues", "DdpmAlignedLaw"]

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class DdpmRidge:
    """The 1-D chain's data: α[0..T], ᾱ, the ridge means/weights and the orthogonal mean (numpy)."""

    alphas: np.ndarray
    log_weights: np.ndarray
    ridge_means: np.ndarray          # ⟨û, μ_k⟩
    orthogonal_mean: np.ndarray      # μ^⊥ (shared by every component), length d
    direction: np.ndarray            # û
    score_shift: int = 0

    @property
    def steps(self) -> int:
        return self.alphas.size - 1

    @cached_property
    def alpha_bars(self) -> np.ndarray:
        return np.cumprod(self.alphas)

    def beta(self, t: int) -> float:
        return float((1.0 - self.alphas[t]) / self.alphas[t])

    def mean(self, t: int, y: np.ndarray) -> np.ndarray:
        """``m_t(y)`` (module docstring) for an array of ridge coordinates y."""
        a_bar = float(self.alpha_bars[t + self.score_shift])
        centres = math.sqrt(a_bar) * self.ridge_means                        # (K,)
        diff = centres[None, :] - np.asarray(y, dtype=float)[..., None]      # (…, K)
        log_w = self.log_weights - 0.5 * diff * diff
        w = np.exp(log_w - logsumexp(log_w, axis=-1, keepdims=True))
        score = (w * diff).sum(-1)
        alpha = float(self.alphas[t])
        return (np.asarray(y, dtype=float) + (1.0 - alpha) * score) / math.sqrt(alpha)

    def orthogonal_x0(self) -> tuple[np.ndarray, float]:
        """Mean vector (⊥ û) and per-coordinate variance of ``x_0^⊥`` from ``x_T^⊥ ~ N(0, I)``."""
        mean, var = np.zeros_like(self.orthogonal_mean), 1.0
        for t in reversed(range(self.steps)):
            alpha, a_bar = float(self.alphas[t]), float(self.alpha_bars[t + self.score_shift])
            mean = (alpha * mean + (1.0 - alpha) * math.sqrt(a_bar) * self.orthogonal_mean) / math.sqrt(alpha)
            var = alpha * var + self.beta(t)
        return mean, var

    @classmethod
    def of(cls, chain, reward) -> "DdpmRidge":
        """From a ``MixtureScoreDDPM`` and a ridge reward; ``ValueError`` if the chain does not decouple."""
        u = chain.ridge_direction(reward)
        if u is None:
            raise ValueError("reward: the chain does not decouple along the reward's direction (needs Σ_k = I and "
                             "means that differ only along it)")
        u = u.cpu().numpy()
        means = chain.means.cpu().numpy()
        orthogonal = means[0] - (means[0] @ u) * u
        return cls(np.asarray(chain.alphas_np, dtype=float), chain.log_weights.cpu().numpy().astype(float),
                   means @ u, orthogonal, u, chain.score_shift)


def _ridge_profile(reward, direction: np.ndarray):
    """r as a function of the ridge coordinate s (``r(x) = profile(⟨u, x⟩)``, ``⟨u, x⟩ = ‖u‖·s`` on û)."""
    if not isinstance(reward, (StepReward, SigmoidReward)):
        raise ValueError(f"reward must be a StepReward or SigmoidReward, got {type(reward).__name__}")
    u = np.asarray(reward.direction, dtype=float)
    norm = float(np.linalg.norm(u))
    if not np.allclose(u / norm, direction, atol=1e-12):
        raise ValueError("reward: its direction is not the chain's ridge direction")
    return (lambda s: reward.profile(norm * np.asarray(s, dtype=float))), norm


def _log_kernel(s: np.ndarray, means: np.ndarray, var: float) -> np.ndarray:
    """``log N(s_j; means_i, var)``, shape (len(means), len(s))."""
    d = s[None, :] - means[:, None]
    return -0.5 * d * d / var - 0.5 * (LOG_2PI + math.log(var))


def _trapezoid_log_weights(n: int, spacing: float) -> np.ndarray:
    w = np.full(n, math.log(spacing))
    w[0] = w[-1] = math.log(0.5 * spacing)
    return w


class DdpmExact:
    """Soft values, marginals and the aligned law of the DDPM chain for a ridge reward at temperature λ."""

    def __init__(self, ridge: DdpmRidge, reward, lam: float, *, half_width: float = 12.0, spacing: float = 0.0025,
                 stride: int = 8) -> None:
        self.ridge, self.reward, self.lam = ridge, reward, check_positive("lam", lam)
        self.profile, self._norm = _ridge_profile(reward, ridge.direction)
        self.step = isinstance(reward, StepReward)
        count = int(round(half_width / spacing))
        self.fine = np.arange(-count, count + 1) * spacing
        self.spacing, self.stride = spacing, int(stride)
        self.coarse = self.fine[:: self.stride]
        if (self.fine.size - 1) % self.stride:
            raise ValueError("stride must divide the number of fine intervals")
        self.coarse_log_w = _trapezoid_log_weights(self.coarse.size, spacing * self.stride)
        self.log_values = self._backward()                  # (T + 1, fine): V_t / λ
        self.log_marginals = self._forward()               # (T + 1, coarse): log p_t(s)

    # --------------------------------------------------------------- values
    def _step_zero(self, y: np.ndarray) -> np.ndarray:
        """``V_1(y)/λ`` for a step reward, exactly (two normal-CDF atoms)."""
        kappa, height = self.reward.threshold / self._norm, self.reward.height
        z = (kappa - self.ridge.mean(0, y)) / math.sqrt(self.ridge.beta(0))
        return np.logaddexp(log_ndtr(-z), height / self.lam + log_ndtr(z))

    def _integrate(self, t: int, y: np.ndarray, log_g: np.ndarray) -> np.ndarray:
        """``log ∫ N(s; m_t(y), β_t) g(s) ds`` with ``log g`` on the sub-grid; mass off the grid at the edges."""
        means, var = self.ridge.mean(t, y), self.ridge.beta(t)
        inside = logsumexp(self.coarse_log_w[None] + _log_kernel(self.coarse, means, var) + log_g[None], axis=1)
        std = math.sqrt(var)
        left = log_ndtr((self.coarse[0] - means) / std) + log_g[0]
        right = log_ndtr((means - self.coarse[-1]) / std) + log_g[-1]
        return np.logaddexp(inside, np.logaddexp(left, right))

    def _backward(self) -> np.ndarray:
        steps = self.ridge.steps
        out = np.empty((steps + 1, self.fine.size))
        out[0] = self.profile(self.fine) / self.lam
        for t in range(steps):
            if t == 0 and self.step:
                out[1] = self._step_zero(self.fine)
                continue
            log_g = out[t][:: self.stride]
            out[t + 1] = np.concatenate([self._integrate(t, block, log_g) for block in np.array_split(self.fine, 8)])
        return out

    def log_root(self) -> float:
        """``log Z = log E_{N(0,1)} e^{V_T/λ}`` (backward route; the root value is ``λ log Z``)."""
        log_p = _log_kernel(self.coarse, np.zeros(1), 1.0)[0]
        inside = logsumexp(self.coarse_log_w + log_p + self.log_values[-1][:: self.stride])
        edge = log_ndtr(self.coarse[0]) + np.logaddexp(self.log_values[-1][0], self.log_values[-1][-1])
        return float(np.logaddexp(inside, edge))

    def values_at(self, s: np.ndarray, t: int) -> np.ndarray:
        """``V_t(s)`` at ridge coordinates s (``V_0 = r`` exactly; t ≥ 1 by linear interpolation, edge values
        held beyond the grid)."""
        s = np.asarray(s, dtype=float)
        if t == 0:
            return self.profile(s)
        return self.lam * np.interp(s, self.fine, self.log_values[t])

    def interpolation_error(self) -> float:
        """``h²/8·max_t max|V_t''|`` from the second differences on the fine grid (linear interpolation)."""
        second = np.diff(self.lam * self.log_values[1:], 2, axis=1) / self.spacing**2
        return float(self.spacing**2 / 8.0 * np.abs(second).max())

    # --------------------------------------------------------------- marginals and the aligned law
    def _forward(self) -> np.ndarray:
        steps = self.ridge.steps
        out = np.empty((steps + 1, self.coarse.size))
        out[steps] = _log_kernel(self.coarse, np.zeros(1), 1.0)[0]
        for t in reversed(range(steps)):
            means = self.ridge.mean(t, self.coarse)
            log_k = _log_kernel(self.coarse, means, self.ridge.beta(t))           # (parents, children)
            out[t] = logsumexp((self.coarse_log_w + out[t + 1])[:, None] + log_k, axis=0)
        return out

    def x0_cdf(self, s) -> np.ndarray:
        """The chain's own ``P(⟨û, x_0⟩ ≤ s)``: ``∫ p_1(y) Φ((s − m_0(y))/√β_0) dy`` (exact given p_1)."""
        s = np.atleast_1d(np.asarray(s, dtype=float))
        mass = np.exp(self.coarse_log_w + self.log_marginals[1])
        means, std = self.ridge.mean(0, self.coarse), math.sqrt(self.ridge.beta(0))
        return np.clip((mass[None, :] * ndtr((s[:, None] - means[None, :]) / std)).sum(1) / mass.sum(), 0.0, 1.0)

    def log_partition_forward(self) -> float:
        """``log ∫ p_0 e^{r/λ}`` (forward route: p_1 pushed through the last kernel, r integrated exactly for a
        step reward, by the sub-grid otherwise)."""
        log_mass = self.coarse_log_w + self.log_marginals[1]
        log_mass = log_mass - logsumexp(log_mass)
        if self.step:
            return float(logsumexp(log_mass + self._step_zero(self.coarse)))
        return float(logsumexp(log_mass + self._integrate(0, self.coarse, self.profile(self.coarse) / self.lam)))

    def aligned_cdf(self, s) -> np.ndarray:
        """``q_0(⟨û, x_0⟩ ≤ s)`` with ``q_0 ∝ p_0 e^{r/λ}``: exact CDFs for a step reward; for a smooth reward
        the density ``p_0 e^{r/λ}/Z`` on the fine grid, integrated (trapezoid)."""
        s = np.atleast_1d(np.asarray(s, dtype=float))
        log_z = self.log_partition_forward()
        if self.step:
            kappa, a = self.reward.threshold / self._norm, self.reward.height / self.lam
            below = self.x0_cdf(np.minimum(s, kappa))
            above = np.clip(self.x0_cdf(s) - self.x0_cdf(np.array([kappa])), 0.0, None)
            return np.clip((math.exp(a) * below + above) * math.exp(-log_z), 0.0, 1.0)
        density = np.exp(self._log_x0_density(self.fine) + self.profile(self.fine) / self.lam - log_z)
        cumulative = np.concatenate([[0.0], np.cumsum(0.5 * self.spacing * (density[1:] + density[:-1]))])
        return np.clip(np.interp(s, self.fine, cumulative, left=0.0, right=1.0), 0.0, 1.0)

    def _log_x0_density(self, s: np.ndarray) -> np.ndarray:
        log_mass = self.coarse_log_w + self.log_marginals[1]
        log_mass = log_mass - logsumexp(log_mass)
        log_k = _log_kernel(s, self.ridge.mean(0, self.coarse), self.ridge.beta(0))
        return logsumexp(log_mass[:, None] + log_k, axis=0)

    def aligned_mass_below(self, threshold: float) -> float:
        """``q_0(⟨u, x_0⟩ < threshold)`` (the step reward's top atom when threshold = κ)."""
        return float(self.aligned_cdf(np.array([threshold / self._norm]))[0])


class DdpmSoftValues:
    """The exact ``V_t`` of the DDPM chain as torch-batched soft values (``primitives.chain_samplers.SoftValues``)."""

    exact = True

    def __init__(self, exact: DdpmExact, device: str | torch.device = "cpu") -> None:
        self.exact_law, self.reward, self.lam = exact, exact.reward, exact.lam
        self.device = torch.device(device)
        self._direction = torch.as_tensor(exact.ridge.direction, dtype=torch.float64, device=self.device)
        self._grid = torch.as_tensor(exact.fine, dtype=torch.float64, device=self.device)
        self._table = torch.as_tensor(exact.lam * exact.log_values, dtype=torch.float64, device=self.device)
        self._root = exact.lam * exact.log_root()

    def __call__(self, states: torch.Tensor, t: int) -> torch.Tensor:
        states = states.to(device=self.device, dtype=torch.float64)
        if t == 0:
            return self.reward(states)
        s = states @ self._direction
        grid, h = self._grid, float(self._grid[1] - self._grid[0])
        position = torch.clamp((s - grid[0]) / h, 0.0, grid.numel() - 1.0)
        low = torch.clamp(position.floor().long(), max=grid.numel() - 2)
        frac = position - low
        row = self._table[t]
        return row[low] * (1.0 - frac) + row[low + 1] * frac

    def root(self) -> float:
        return self._root

    def envelope(self, t: int) -> float:
        """``sup V_t``: ``sup r`` at t = 0, else the tabulated maximum (V_t is monotone in s and flat beyond the
        grid, so the table's maximum is the supremum up to the interpolation error)."""
        return float(self.reward.sup) if t == 0 else float(self._table[t].max())


class DdpmAlignedLaw:
    """``q_0`` of the DDPM chain for ``check_chain_sampler`` and the x_0 claims: the reward's two-atom law (step
    reward), the ridge coordinate's exact CDF and the orthogonal Gaussian."""

    def __init__(self, exact: DdpmExact) -> None:
        self.exact = exact
        mean, var = exact.ridge.orthogonal_x0()
        self.orthogonal_mean, self.orthogonal_std = mean, math.sqrt(var)
        self.top_mass = exact.aligned_mass_below(exact.reward.threshold) if exact.step else None

    def reward_cdf(self, y) -> np.ndarray:
        """``P_q(r(x_0) ≤ y)`` for the step reward (atoms 0 and B)."""
        y = np.atleast_1d(np.asarray(y, dtype=float))
        height = self.exact.reward.height
        return np.where(y >= height, 1.0, np.where(y >= 0.0, 1.0 - self.top_mass, 0.0))

    def reward_cdf_left(self, y) -> np.ndarray:
        """``P_q(r(x_0) < y)``."""
        y = np.atleast_1d(np.asarray(y, dtype=float))
        height = self.exact.reward.height
        return np.where(y > height, 1.0, np.where(y > 0.0, 1.0 - self.top_mass, 0.0))

    def ridge_cdf(self, s) -> np.ndarray:
        return self.exact.aligned_cdf(s)

    def orthogonal_cdf(self, y) -> np.ndarray:
        """CDF of the coordinate orthogonal to û (d = 2: ``⟨(−û_2, û_1), x_0⟩``), Gaussian."""
        u = self.exact.ridge.direction
        if u.size != 2:
            raise ValueError("orthogonal_cdf needs d = 2")
        centre = float(self.orthogonal_mean @ np.array([-u[1], u[0]]))
        return ndtr((np.asarray(y, dtype=float) - centre) / self.orthogonal_std)
