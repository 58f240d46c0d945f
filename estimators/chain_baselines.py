"""State-dependent baselines ``b_t(y)`` for per-step tilted rejection (LCB spec, "Diffusion chains").

* ``OracleChernoffBaseline``: ``b_t(y) = V_{t+1}(y) + offset_δ(y)``, the exact Chernoff baseline of the
  per-state law of ``V_t(X)``, ``X ~ p_t(·|y)`` (T3 per state: ``TV(q̂_t(·|y), q_t(·|y)) ≤ δ`` for every y).
  ``Λ_y(1/λ) = V_{t+1}(y)/λ``, so ``b_δ(y) − V_{t+1}(y) = min_s [Λ_y(1/λ+s) − V_{t+1}(y)/λ + log(1/δ)]/s``.
  It uses the exact kernel (an oracle no black-box sampler has); finite chains enumerate, the Gaussian
  mixture uses the quadrature law of ``estimators.exact.chain_laws``.
* ``AnalyticGaussianBaseline`` (Gaussian-mixture diffusion): the Gaussian-concentration form
  ``b_t(y) = V_{t+1}(y) + σ_t(y)²/(2λ) + σ_t(y)√(2 log(1/δ))`` — T4's Gaussian gap — with the local
  concentration scale ``σ_t(y) = max_k ‖C_t^{k 1/2} ∇V_t(m_t^k(y))‖`` over the kernel's components
  (a Lipschitz function of ``N(m, C)`` is ``L²‖C‖``-sub-Gaussian; here L is the gradient at the
  component mean). Capped at the envelope ``sup V_t``. It is a closed form, not a certificate: its
  per-step TV is whatever T7's exact terms say. For a step reward at t = 0 (``V_0 = r`` has no
  gradient) the per-state law is two atoms in closed form and its exact Chernoff baseline is used.
"""
from __future__ import annotations

import math

import torch

from primitives.small_linalg import quadratic_forms

from estimators.exact.chain_laws import DEFAULT_S_GRID, kernel_value_laws
from primitives._checks import check_positive, check_unit_interval
from primitives.diffusion import GaussianMixtureDiffusion
from primitives.rewards import StepReward

__all__ = ["OracleChernoffBaseline", "AnalyticGaussianBaseline"]


class OracleChernoffBaseline:
    """``b_t(y) = V_{t+1}(y) +`` its exact per-state Chernoff offset at level δ."""

    def __init__(self, chain, values, delta: float, *, spacing: float = 0.2, chunk: int = 4096,
                 s_grid: tuple[float, ...] = DEFAULT_S_GRID) -> None:
        self.chain = chain
        self.values = values
        self.delta = check_unit_interval("delta", delta)
        self.spacing = check_positive("spacing", spacing)
        self.chunk = int(chunk)
        self.s_grid = s_grid

    def __call__(self, parents: torch.Tensor | None, t: int) -> torch.Tensor:
        lam = self.values.lam
        if parents is None:
            laws = kernel_value_laws(self.chain, self.chain.steps, None, self.values, spacing=self.spacing)
            return laws.chernoff_baseline(lam, self.delta, self.s_grid)[0]
        if not parents.is_floating_point() and parents.shape[0] > 1:
            # Token states repeat (a masked chain has few states per level): compute each distinct state once.
            distinct, inverse = torch.unique(parents, dim=0, return_inverse=True)
            if distinct.shape[0] < parents.shape[0]:
                return self(distinct, t)[inverse]
        pieces = []
        for block in torch.split(parents, self.chunk):
            laws = kernel_value_laws(self.chain, t, block, self.values, spacing=self.spacing)
            pieces.append(laws.chernoff_baseline(lam, self.delta, self.s_grid))
        return torch.cat(pieces) if pieces else torch.empty(0, dtype=torch.float64)


class AnalyticGaussianBaseline:
    """Gaussian-concentration baseline for ``GaussianMixtureDiffusion`` with exact values (module docstring)."""

    def __init__(self, diffusion: GaussianMixtureDiffusion, values, delta: float, *, weight_floor: float = 1e-12) -> None:
        if not isinstance(diffusion, GaussianMixtureDiffusion):
            raise ValueError("diffusion must be a GaussianMixtureDiffusion")
        self.diffusion = diffusion
        self.values = values
        self.delta = check_unit_interval("delta", delta)
        self.log_floor = math.log(check_positive("weight_floor", weight_floor))

    def _gap(self, sigma: torch.Tensor) -> torch.Tensor:
        lam = self.values.lam
        return sigma**2 / (2.0 * lam) + sigma * math.sqrt(2.0 * math.log(1.0 / self.delta))

    def _scale(self, t: int, log_weights: torch.Tensor, means: torch.Tensor, covs: torch.Tensor) -> torch.Tensor:
        m, k, d = means.shape
        points = means.reshape(m * k, d).detach().clone().requires_grad_(True)
        with torch.enable_grad():
            value = self.values(points, t)
            (gradient,) = torch.autograd.grad(value.sum(), points)
        gradient = gradient.reshape(m, k, d)
        variance = quadratic_forms(gradient, covs)
        variance = torch.where(log_weights >= self.log_floor, variance, torch.zeros_like(variance))
        return torch.sqrt(torch.clamp(variance, min=0.0)).max(-1).values

    def __call__(self, parents: torch.Tensor | None, t: int) -> torch.Tensor:
        lam = self.values.lam
        diffusion = self.diffusion
        envelope = self.values.envelope(t)
        if parents is None:
            sigma = self._scale(t, diffusion.log_weights[None], diffusion.marginal_means[t][None], diffusion.marginal_covs[t])
            return torch.clamp(self.values.root() + self._gap(sigma)[0], max=envelope)
        if t == 0 and isinstance(getattr(self.values, "reward", None), StepReward):
            laws = kernel_value_laws(diffusion, 0, parents, self.values)
            return laws.chernoff_baseline(lam, self.delta)
        log_weights, means, covs = diffusion.reverse_kernel(t, parents)
        sigma = self._scale(t, log_weights, means, covs)
        return torch.clamp(self.values(parents, t + 1) + self._gap(sigma), max=envelope)
