"""The LCB authors' analytic per-step baseline "MSG" (``shared/spec/paper-fidelity.md`` §3), for a
Gaussian-mixture data law ``Σ_k π_k N(μ_k, Σ_k)``, an L_r-Lipschitz reward and a DDPM-step chain
(``primitives.ddpm_chain``; its step t produces x_t at noise level ``ᾱ_t = ᾱ[t]``).

Per component k at level ᾱ_t:
``Σ_t^k = ᾱ_t Σ_k + (1 − ᾱ_t) I``, ``A_t^k = √ᾱ_t Σ_k (Σ_t^k)^{-1}``,
``μ_{0|t}^k(x) = μ_k + A_t^k (x − √ᾱ_t μ_k)``, ``Σ_{0|t}^k = Σ_k − ᾱ_t Σ_k (Σ_t^k)^{-1} Σ_k``,
``γ_t^k(x) ∝ π_k N(x; √ᾱ_t μ_k, Σ_t^k)``;

* the authors' value bound ``φ_t(x) = λ log Σ_k γ_t^k(x) exp(r(μ_{0|t}^k(x))/λ + L_r² M(Σ_{0|t}^k)/(2λ²))``, M the
  spectral norm (default) or the trace; ``mean_correction=True`` adds ``L_r √tr Σ_{0|t}^k / λ`` in the
  exponent (``E r(X) ≤ r(μ) + L_r E|X − μ| ≤ r(μ) + L_r √tr Σ`` for any L_r-Lipschitz r; the authors' form
  ``E r(X) ≤ r(μ)`` needs r concave);
* ``L_φ = L_r max_k ‖A_t^k‖₂`` (authors), or a given per-step constant (``lipschitz=[…]``);
* ``b_t(y) = φ_t(μ_{t|t+1}(y)) + radius_scale · L_φ √(2 β_t log(1/δ))`` with ``μ_{t|t+1}(y)`` the DDPM step's
  mean and ``β_t = (1 − α_t)/α_t`` its variance (``radius_scale = 1``: the authors'; ½ is a wrong variant).

At the prior step (``parents=None``) the baseline is ``−∞``, i.e. acceptance ``min(1, e^{+∞}) = 1``: MSG does not
tilt x_T (as the authors' samplers); the untilted prior's TV is a separate term.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from primitives._checks import check_positive, check_unit_interval

__all__ = ["MSGBaseline"]


class MSGBaseline:
    """``b_t(y)`` of the MSG construction (module docstring); callable as a ``ChainBaseline``."""

    def __init__(self, chain, reward, lam: float, delta: float, *, lipschitz_reward: float | None = None,
                 norm: str = "spectral", mean_correction: bool = False, radius_scale: float = 1.0,
                 lipschitz: Sequence[float] | None = None) -> None:
        for attribute in ("kernel_mean", "alphas_np", "means", "covs", "log_weights"):
            if not hasattr(chain, attribute):
                raise ValueError(f"chain must be a MixtureScoreDDPM-like chain; it lacks {attribute!r}")
        self.chain, self.reward = chain, reward
        self.lam = check_positive("lam", lam)
        self.delta = check_unit_interval("delta", delta)
        if lipschitz_reward is None:
            lipschitz_reward = getattr(reward, "lipschitz", None)
        if lipschitz_reward is None:
            raise ValueError("lipschitz_reward: the reward has no Lipschitz constant; give one")
        self.lipschitz_reward = check_positive("lipschitz_reward", lipschitz_reward)
        if norm not in ("spectral", "trace"):
            raise ValueError(f"norm must be 'spectral' or 'trace', got {norm!r}")
        self.norm, self.mean_correction = norm, bool(mean_correction)
        self.radius_scale = check_positive("radius_scale", radius_scale)
        steps = chain.steps
        if lipschitz is not None and len(lipschitz) != steps:
            raise ValueError(f"lipschitz must give one constant per step (T = {steps}), got {len(lipschitz)}")
        self._given_lipschitz = None if lipschitz is None else [check_positive("lipschitz", v) for v in lipschitz]
        self.alpha_bars = torch.cumprod(torch.as_tensor(chain.alphas_np, dtype=chain.dtype, device=chain.device), 0)
        self._levels = [self._level(float(a)) for a in self.alpha_bars[:steps]]

    def _level(self, a_bar: float) -> dict:
        covs = self.chain.covs
        eye = torch.eye(covs.shape[-1], dtype=covs.dtype, device=covs.device)
        noised = a_bar * covs + (1.0 - a_bar) * eye
        precision = torch.linalg.inv(noised)
        gain = math.sqrt(a_bar) * covs @ precision                                            # A_t^k
        posterior = covs - a_bar * covs @ precision @ covs                                     # Σ_{0|t}^k
        posterior = 0.5 * (posterior + posterior.transpose(-1, -2))
        eigen = torch.linalg.eigvalsh(posterior)
        size = eigen[..., -1] if self.norm == "spectral" else eigen.sum(-1)
        lr = self.lipschitz_reward
        log_extra = lr * lr * size / (2.0 * self.lam**2)
        if self.mean_correction:
            log_extra = log_extra + lr * torch.sqrt(torch.clamp(eigen.sum(-1), min=0.0)) / self.lam
        return {"a_bar": a_bar, "precision": precision, "gain": gain, "log_det": torch.linalg.slogdet(noised)[1],
                "log_extra": log_extra, "lipschitz": lr * float(torch.linalg.matrix_norm(gain, ord=2).max())}

    def lipschitz_constant(self, t: int) -> float:
        """``L_φ`` at step t (authors: ``L_r max_k ‖A_t^k‖₂``)."""
        return self._given_lipschitz[t] if self._given_lipschitz is not None else self._levels[t]["lipschitz"]

    def phi(self, states: torch.Tensor, t: int) -> torch.Tensor:
        """``φ_t(x)`` for each row x, shape (m,)."""
        level = self._levels[t]
        a_bar, means = level["a_bar"], self.chain.means
        centred = states[:, None, :] - math.sqrt(a_bar) * means[None]                         # (m, K, d)
        pulled = torch.einsum("kij,mkj->mki", level["precision"], centred)
        log_gamma = self.chain.log_weights - 0.5 * (centred * pulled).sum(-1) - 0.5 * level["log_det"]
        log_gamma = log_gamma - torch.logsumexp(log_gamma, -1, keepdim=True)
        posterior_means = means[None] + torch.einsum("kij,mkj->mki", level["gain"], centred)  # μ_{0|t}^k(x)
        m, k, d = posterior_means.shape
        rewards = self.reward(posterior_means.reshape(m * k, d)).reshape(m, k)
        return self.lam * torch.logsumexp(log_gamma + rewards / self.lam + level["log_extra"], -1)

    def radius(self, t: int) -> float:
        """``radius_scale · L_φ √(2 β_t log(1/δ))``."""
        alpha = float(self.chain.alphas_np[t])
        beta = (1.0 - alpha) / alpha
        return self.radius_scale * self.lipschitz_constant(t) * math.sqrt(2.0 * beta * math.log(1.0 / self.delta))

    def __call__(self, parents: torch.Tensor | None, t: int) -> torch.Tensor:
        if parents is None:
            return torch.tensor(-math.inf, dtype=torch.float64)
        return self.phi(self.chain.kernel_mean(t, parents), t) + self.radius(t)
