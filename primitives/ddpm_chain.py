"""The LCB authors' Gaussian-mixture chain: a DDPM step driven by the exact mixture score
(``shared/spec/paper-fidelity.md`` §1), as a black-box ``ChainKernel``.

Schedule (``authors_schedule``; n = 20, c = 4, δ_s = 0.02): with ``ρ = c·log n / n``,
``α[i] = 1 − ρ·min(δ_s (1 + ρ)^{i+1}, 1)`` for i = 0..n−1, then ``α[0] := 1 − δ_s``; ``ᾱ[i] = α[0]⋯α[i]``.

Chain: n states ``x_{n−1}, …, x_0`` and T = n − 1 transitions. ``x_T ~ N(0, I)``; for t = T−1, …, 0 and
parent ``y = x_{t+1}``::

    x_t = (y + (1 − α[t])·∇log p_{ᾱ[t]}(y)) / √α[t] + √β_t·ξ,    β_t = (1 − α[t]) / α[t],  ξ ~ N(0, I),

where ``p_ā`` is the law of ``√ā X_0 + √(1 − ā) ε`` for the data mixture ``X_0 ~ Σ_k π_k N(μ_k, Σ_k)``, i.e.
``p_ā = Σ_k π_k N(√ā μ_k, S_k)``, ``S_k = ā Σ_k + (1 − ā) I``, whose score is
``∇log p_ā(y) = Σ_k w_k(y) S_k^{-1}(√ā μ_k − y)``, ``w_k(y) ∝ π_k N(y; √ā μ_k, S_k)``. The score is taken at
``ᾱ[t]``, the level of the state being produced (``score_shift = 1`` takes it at ``ᾱ[t+1]``: a deliberately
wrong kernel, the noise-level bug). α[T] is never used as a step. This is not the posterior reverse kernel of
the forward process: the chain's own x_0 marginal (``estimators.exact.ddpm_law``) is the base law of the claims.

Ridge structure (``ridge_direction``): if every ``Σ_k = I`` and the means differ only along a unit vector û,
then ``|y − √ā μ_k|²`` differs across k only through ``s = ⟨û, y⟩`` so ``w_k`` depends on s alone, and the
score's component orthogonal to û is ``√ā μ^⊥ − y^⊥`` (linear, the same for every k). Hence ``s_t`` is a 1-D
Markov chain with Gaussian kernel ``N(m_t(s), β_t)`` and ``x^⊥`` an independent linear Gaussian chain.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from primitives._checks import check_positive
from primitives.diffusion import (KernelAtoms, _check_count, adopt_mixture, check_schedule, check_step,
                                  mixture_chain_states)
from primitives.laws import GaussianMixture
from primitives.rewards import Reward, StepReward, as_reward

__all__ = ["authors_schedule", "MixtureScoreDDPM", "authors_ddpm_chain"]


def authors_schedule(n: int = 20, c: float = 4.0, delta_s: float = 0.02) -> np.ndarray:
    """``α[0..n−1]``: ``α[i] = 1 − ρ min(δ_s(1+ρ)^{i+1}, 1)``, ``ρ = c log n / n``, then ``α[0] = 1 − δ_s``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer ≥ 2, got {n!r}")
    c = check_positive("c", c)
    delta_s = check_positive("delta_s", delta_s)
    if delta_s >= 1.0:
        raise ValueError(f"delta_s must lie in (0, 1), got {delta_s!r}")
    rate = c * math.log(n) / n
    if rate >= 1.0:
        raise ValueError(f"c log n / n must be < 1 for α ∈ (0, 1), got {rate:.4g}")
    i = np.arange(n, dtype=float)
    alphas = 1.0 - rate * np.minimum(delta_s * (1.0 + rate) ** (i + 1.0), 1.0)
    alphas[0] = 1.0 - delta_s
    return alphas


class MixtureScoreDDPM:
    """DDPM-step chain with the exact mixture score (module docstring). ``alphas``: α[0..n−1] (default
    ``authors_schedule()``, T = n − 1 = 19 transitions); ``score_shift``: 0 (correct) or 1 (score at
    ``ᾱ[t+1]``, wrong)."""

    ridge_reducible = True

    def __init__(self, mixture: GaussianMixture, alphas=None, *, score_shift: int = 0,
                 device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> None:
        to = adopt_mixture(self, mixture, device, dtype)
        if score_shift not in (0, 1):
            raise ValueError(f"score_shift must be 0 or 1, got {score_shift!r}")
        self.alphas_np = check_schedule(authors_schedule() if alphas is None else alphas)
        if self.alphas_np.size < 2:
            raise ValueError("alphas must have at least 2 entries (n states, n − 1 transitions)")
        self.steps = int(self.alphas_np.size) - 1
        self.score_shift = int(score_shift)
        self.alpha_bars_np = np.cumprod(self.alphas_np)
        self.betas_np = (1.0 - self.alphas_np) / self.alphas_np
        eye = torch.eye(self.dim, **to)
        self._noised_precisions, self._noised_log_dets = [], []
        for a_bar in self.alpha_bars_np:
            S = a_bar * self.covs + (1.0 - a_bar) * eye
            self._noised_precisions.append(torch.linalg.inv(S))
            self._noised_log_dets.append(torch.linalg.slogdet(S)[1])

    # ------------------------------------------------------------------ the kernel's formula
    def score_level(self, t: int) -> int:
        """Index i of the ``ᾱ[i]`` at which step t's score is taken (t, or t + 1 for the wrong kernel)."""
        return check_step(t, self.steps) + self.score_shift

    def score(self, states: torch.Tensor, level: int) -> torch.Tensor:
        """``∇log p_{ᾱ[level]}(y)`` for each row y, shape (m, d)."""
        a_bar = float(self.alpha_bars_np[level])
        centred = math.sqrt(a_bar) * self.means[None] - states[:, None, :]                     # (m, K, d)
        pulled = torch.einsum("kij,mkj->mki", self._noised_precisions[level], centred)        # S_k^{-1}(√ā μ_k − y)
        log_w = self.log_weights - 0.5 * (centred * pulled).sum(-1) - 0.5 * self._noised_log_dets[level]
        w = torch.softmax(log_w, -1)
        return (w[..., None] * pulled).sum(1)

    def kernel_mean(self, t: int, parents: torch.Tensor) -> torch.Tensor:
        """``(y + (1 − α[t]) ∇log p_{ᾱ[level]}(y)) / √α[t]``, shape (m, d)."""
        alpha = float(self.alphas_np[check_step(t, self.steps)])
        parents = self._check_states("parents", parents)
        return (parents + (1.0 - alpha) * self.score(parents, self.score_level(t))) / math.sqrt(alpha)

    def kernel_std(self, t: int) -> float:
        """``√β_t = √((1 − α[t]) / α[t])`` (isotropic)."""
        return math.sqrt(float(self.betas_np[check_step(t, self.steps)]))

    _check_states = mixture_chain_states

    # ------------------------------------------------------------------ black-box kernel
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``x_T ~ N(0, I)``."""
        n = _check_count("n", n)
        return torch.randn(n, self.dim, generator=generator, device=self.device, dtype=self.dtype)

    def sample_children(self, parents: torch.Tensor, t: int, n_children: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        n_children = _check_count("n_children", n_children)
        mean = self.kernel_mean(t, parents)
        noise = torch.randn(mean.shape[0], n_children, self.dim, generator=generator, device=self.device,
                            dtype=self.dtype)
        return mean[:, None, :] + self.kernel_std(t) * noise

    # ------------------------------------------------------------------ exact structure (for the audits)
    def ridge_direction(self, reward: Reward) -> torch.Tensor | None:
        """û with every law depending on the tilt only through ``⟨û, x⟩`` (module docstring), or None."""
        reward = as_reward(reward)
        direction = getattr(reward, "direction", None)
        if direction is None or len(direction) != self.dim:
            return None
        u = torch.as_tensor(np.asarray(direction, dtype=float), device=self.device, dtype=self.dtype)
        u = u / torch.linalg.norm(u)
        eye = torch.eye(self.dim, device=self.device, dtype=self.dtype)
        if float((self.covs - eye).abs().max()) > 1e-12:
            return None
        differences = self.means - self.means[:1]
        off_ridge = differences - (differences @ u)[:, None] * u[None]
        return u if float(off_ridge.abs().max()) <= 1e-12 * max(1.0, float(self.means.abs().max())) else None

    def kernel_atoms(self, t: int, parents: torch.Tensor | None, *, spacing: float = 0.05, width: float = 8.0,
                     direction: torch.Tensor | None = None) -> KernelAtoms:
        """Quadrature law of ``p_t(·|y) = N(m_t(y), β_t I)`` (``parents=None``, t = T: of ``N(0, I)``):
        normalised Gaussian weights on ``z ∈ [−width, width]`` step ``spacing`` along ``direction`` (only
        that coordinate is discretised: exact for functions of ``⟨û, x⟩``), else a tensor grid."""
        spacing = check_positive("spacing", spacing)
        width = check_positive("width", width)
        if parents is None:
            if check_step(t, self.steps, allow_prior=True) != self.steps:
                raise ValueError("parents=None is only meaningful for the prior step t = T")
            means, std = torch.zeros(1, self.dim, device=self.device, dtype=self.dtype), 1.0
        else:
            means, std = self.kernel_mean(t, parents), self.kernel_std(t)
        to = dict(device=self.device, dtype=self.dtype)
        count = int(round(width / spacing))
        z = torch.arange(-count, count + 1, **to) * spacing
        log_node = -0.5 * z * z
        log_node = log_node - torch.logsumexp(log_node, 0)
        m = means.shape[0]
        if direction is not None:
            u = direction.to(**to)
            atoms = means[:, None, :] + (std * z)[None, :, None] * u
            return KernelAtoms(atoms, log_node[None].expand(m, -1).contiguous(), exact=False)
        grids = torch.meshgrid(*([z] * self.dim), indexing="ij")
        nodes = torch.stack([g.reshape(-1) for g in grids], -1)
        log_nodes = sum(torch.meshgrid(*([log_node] * self.dim), indexing="ij")).reshape(-1)
        atoms = means[:, None, :] + std * nodes[None]
        return KernelAtoms(atoms, log_nodes[None].expand(m, -1).contiguous(), exact=False)

    def step_hit_log_probability(self, t: int, parents: torch.Tensor | None, reward: StepReward) -> torch.Tensor:
        """``log P(⟨u, X⟩ < κ)`` under ``p_t(·|y)`` (exact, a normal CDF), shape (m,)."""
        u = torch.as_tensor(np.asarray(reward.direction, dtype=float), device=self.device, dtype=self.dtype)
        if parents is None:
            means, std = torch.zeros(1, self.dim, device=self.device, dtype=self.dtype), 1.0
        else:
            means, std = self.kernel_mean(t, parents), self.kernel_std(t)
        scale = std * float(torch.linalg.norm(u))
        return torch.special.log_ndtr((reward.threshold - means @ u) / scale)

    def __repr__(self) -> str:
        return f"MixtureScoreDDPM(K={self.weights.shape[0]}, d={self.dim}, T={self.steps}, score_shift={self.score_shift})"


def authors_ddpm_chain(device: str | torch.device = "cpu", *, score_shift: int = 0) -> MixtureScoreDDPM:
    """The authors' chain: 0.95 N((5, 0), I) + 0.05 N((−5, 0), I), ``authors_schedule()`` (T = 19)."""
    mixture = GaussianMixture([0.95, 0.05], [[5.0, 0.0], [-5.0, 0.0]], [np.eye(2), np.eye(2)], device=device)
    return MixtureScoreDDPM(mixture, score_shift=score_shift, device=device)
