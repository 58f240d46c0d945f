"""Exact law of a per-step rejection sampler on a ridge-reducible Gaussian-mixture diffusion.

When the data law factorises along a unit vector û (``GaussianMixtureDiffusion.ridge_direction``), the
chain is ``x_t = (s_t, x_t^⊥)`` with ``s_t = ⟨û, x_t⟩`` a 1-D Gaussian-mixture diffusion and ``x^⊥``
an independent Gaussian chain whose law does not depend on the component. ``V_t`` depends on ``s``
only; if the baseline ``b_t(y)`` does too (offset, oracle and analytic baselines do; this is checked),
per-step rejection only acts on the s-chain, so the sampler's x_0 law is ``(law of s_0) ⊗ (law of x^⊥)``
and ``TV(q̂_0, q_0) = TV`` of the s-marginals.

On a uniform grid in s (spacing h, the step threshold κ a node) the sampler's marginal densities are
propagated exactly up to quadrature: ``q̂_t(s) = ∫ q̂_{t+1}(y) p_t(s|y) a_t(s,y) / Z_b(y) dy`` with
``a_t = min(1, e^{(V_t(s) − b_t(y))/λ})``, and T7's terms ``E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))`` are
grid sums. Step t = 0 with a step reward (``V_0 = r`` jumps at κ) uses exact normal-CDF masses for each
parent and integrates each side of κ separately. Trapezoid sums of Gaussian kernels are spectrally
accurate; the kinks of ``min(1, ·)`` make the error O(h²). ``quadrature_error`` is the change when h is
doubled (reported and added to tolerances).
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
import torch

from estimators.exact.chain_laws import kernel_value_laws
from primitives.diffusion import GaussianMixtureDiffusion
from primitives.rewards import StepReward

__all__ = ["RidgeSamplerLaw", "ridge_sampler_law", "UnsupportedRidge", "ridge_tail_q"]


class UnsupportedRidge(ValueError):
    """The instance or the baseline does not reduce to the ridge coordinate."""


@dataclass(frozen=True)
class RidgeSamplerLaw:
    """The sampler's exact s_0 law (as a CDF), T7's exact terms and the exact TV to q_0."""

    direction: np.ndarray
    grid: np.ndarray
    x0_density: np.ndarray          # sampler's s_0 density on the grid (left limit at κ on the left piece)
    target_density: np.ndarray
    step_terms: np.ndarray          # index t = 0..T (T: the prior step)
    tv_x0: float
    quadrature_error: float
    cdf_nodes: np.ndarray
    cdf_values: np.ndarray

    @property
    def path_bound(self) -> float:
        return float(self.step_terms.sum())

    def x0_cdf(self, s) -> np.ndarray:
        """The sampler's exact CDF of ``⟨û, x_0⟩`` (linear interpolation of the integrated density)."""
        return np.interp(np.asarray(s, dtype=float), self.cdf_nodes, self.cdf_values, left=0.0, right=1.0)


def _normal_pdf(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * (x - mean) ** 2 / var) / torch.sqrt(2 * math.pi * var)


def _trapezoid(values: torch.Tensor, h: float) -> torch.Tensor:
    return h * (values.sum(-1) - 0.5 * (values[..., 0] + values[..., -1]))


def _ridge_points(s: torch.Tensor, direction: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    return s[:, None] * direction[None, :] + offset[None, :]


def _single_pass(diffusion: GaussianMixtureDiffusion, values, baseline, direction: torch.Tensor,
                 offset: torch.Tensor, spacing: float, low: float, high: float, kappa: float | None,
                 prune: float) -> tuple:
    to = dict(device=diffusion.device, dtype=diffusion.dtype)
    lam = values.lam
    anchor = 0.0 if kappa is None else kappa
    first, last = math.floor((low - anchor) / spacing), math.ceil((high - anchor) / spacing)
    grid = anchor + spacing * torch.arange(first, last + 1, **to)
    points = _ridge_points(grid, direction, offset)
    steps = diffusion.steps
    weights = torch.full_like(grid, spacing)
    weights[0] = weights[-1] = 0.5 * spacing
    terms = np.zeros(steps + 1)
    u = direction

    def one_dimensional(log_w, means, covs):
        return torch.softmax(log_w, -1), means @ u, torch.einsum("i,kij,j->k", u, covs, u)

    # Prior step: q̂_T ∝ p_T(s) min(1, e^{(V_T(s) − b_T)/λ}).
    w, m, v = one_dimensional(diffusion.log_weights[None], diffusion.marginal_means[steps][None], diffusion.marginal_covs[steps])
    prior = (w[:, :, None] * _normal_pdf(grid[None, None, :], m[:, :, None], v[None, :, None])).sum(1)[0]
    value_T = values(points, steps)
    b_T = float(baseline(None, steps))
    accept = torch.exp(torch.clamp((value_T - b_T) / lam, max=0.0))
    sampler_density = prior * accept / _trapezoid(prior * accept, spacing)
    target = prior * torch.exp(value_T / lam - values.root() / lam)
    terms[steps] = 0.5 * float(_trapezoid(torch.abs(sampler_density - target), spacing))
    density = sampler_density
    step_reward = getattr(values, "reward", None) if getattr(values, "exact", False) else None
    for t in reversed(range(steps)):
        keep = density * spacing > prune
        parents_s = grid[keep]
        parent_mass = (density * weights)[keep]
        parents = _ridge_points(parents_s, direction, offset)
        b = baseline(parents, t).reshape(-1).to(**to)
        log_w, means, covs = diffusion.reverse_kernel(t, parents)
        w, m, v = one_dimensional(log_w, means, covs)
        kernel = (w[:, :, None] * _normal_pdf(grid[None, None, :], m[:, :, None], v[None, :, None])).sum(1)  # (P, G)
        if t == 0 and isinstance(step_reward, StepReward):
            laws = kernel_value_laws(diffusion, 0, parents, values)            # two exact atoms
            terms[0] = float((parent_mass * laws.tv_to_target(lam, b)).sum())
            log_zb = laws.log_clipped_partition(lam, b)
            a_in = torch.exp(torch.clamp((step_reward.height - b) / lam, max=0.0) - log_zb)
            a_out = torch.exp(torch.clamp(-b / lam, max=0.0) - log_zb)
            left = grid <= kappa
            right = grid >= kappa
            x0_left = (parent_mass[:, None] * kernel[:, left] * a_in[:, None]).sum(0)
            x0_right = (parent_mass[:, None] * kernel[:, right] * a_out[:, None]).sum(0)
            data = (diffusion.weights[:, None] * _normal_pdf(grid[None, :], (diffusion.means @ u)[:, None],
                                                             torch.einsum("i,kij,j->k", u, diffusion.covs, u)[:, None])).sum(0)
            log_z = values.root() / lam
            target_left = data[left] * math.exp(step_reward.height / lam - log_z)
            target_right = data[right] * math.exp(-log_z)
            tv = 0.5 * float(_trapezoid(torch.abs(x0_left - target_left), spacing)
                             + _trapezoid(torch.abs(x0_right - target_right), spacing))
            cdf_left = torch.cumsum(0.5 * spacing * (x0_left[1:] + x0_left[:-1]), 0)
            cdf_right = float(cdf_left[-1]) + torch.cumsum(0.5 * spacing * (x0_right[1:] + x0_right[:-1]), 0)
            nodes = torch.cat([grid[left], grid[right][1:]])
            cdf = torch.cat([torch.zeros(1, **to), cdf_left, cdf_right])
            sampler_x0 = torch.cat([x0_left, x0_right[1:]])
            target_x0 = torch.cat([target_left, target_right[1:]])
            return (grid.cpu().numpy(), sampler_x0.cpu().numpy(), target_x0.cpu().numpy(), terms, tv,
                    nodes.cpu().numpy(), cdf.cpu().numpy())
        value_t = values(points, t)                                                 # (G,)
        accept = torch.exp(torch.clamp((value_t[None, :] - b[:, None]) / lam, max=0.0))
        proposal = kernel * accept
        z_b = _trapezoid(proposal, spacing)
        tilted = kernel * torch.exp(value_t[None, :] / lam - (values(parents, t + 1) / lam)[:, None])
        step_tv = 0.5 * _trapezoid(torch.abs(tilted - proposal / z_b[:, None]), spacing)
        terms[t] = float((parent_mass * step_tv).sum())
        density = (parent_mass[:, None] * proposal / z_b[:, None]).sum(0)
    raise UnsupportedRidge("ridge_sampler_law needs a step reward (its t = 0 step is integrated exactly)")


def ridge_sampler_law(diffusion: GaussianMixtureDiffusion, values, baseline, *, spacing: float = 0.02,
                      prune: float = 1e-13) -> RidgeSamplerLaw:
    """Exact (quadrature) law of per-step rejection along the ridge; see the module docstring."""
    reward = getattr(values, "reward", None)
    if not getattr(values, "exact", False) or not isinstance(reward, StepReward):
        raise UnsupportedRidge("ridge_sampler_law needs exact soft values of a step reward")
    direction = diffusion.ridge_direction(reward)
    if direction is None:
        raise UnsupportedRidge("the diffusion does not factorise along the reward's direction")
    u = direction
    norm = float(np.linalg.norm(reward.direction))
    kappa = reward.threshold / norm
    perpendicular = diffusion.means[0] - (diffusion.means[0] @ u) * u
    # The baseline must depend on the parent only through ⟨û, y⟩: probe with a shifted orthogonal part.
    probe_s = torch.linspace(-6.0, 6.0, 7, dtype=diffusion.dtype, device=diffusion.device)
    other = torch.randn(diffusion.dim, generator=torch.Generator(device=diffusion.device).manual_seed(0),
                        dtype=diffusion.dtype, device=diffusion.device)
    other = other - (other @ u) * u
    for t in (0, diffusion.steps // 2, diffusion.steps - 1):
        a = baseline(_ridge_points(probe_s, u, perpendicular), t)
        b = baseline(_ridge_points(probe_s, u, perpendicular + other), t)
        if not torch.allclose(a, b, rtol=1e-10, atol=1e-10):
            raise UnsupportedRidge("the baseline depends on the parent beyond its ridge coordinate ⟨û, y⟩")
    means_s = (diffusion.means @ u).cpu().numpy()
    stds_s = np.sqrt(torch.einsum("i,kij,j->k", u, diffusion.covs, u).cpu().numpy())
    low = min(float((means_s - 10 * stds_s).min()), -10.0, kappa - 5.0)
    high = max(float((means_s + 10 * stds_s).max()), 10.0, kappa + 5.0)
    fine = _single_pass(diffusion, values, baseline, u, perpendicular, spacing, low, high, kappa, prune)
    coarse = _single_pass(diffusion, values, baseline, u, perpendicular, 2 * spacing, low, high, kappa, prune)
    error = max(abs(fine[4] - coarse[4]), abs(float(fine[3].sum()) - float(coarse[3].sum())))
    grid, x0, target, terms, tv, nodes, cdf = fine
    return RidgeSamplerLaw(direction=u.cpu().numpy(), grid=grid, x0_density=x0, target_density=target,
                           step_terms=terms, tv_x0=tv, quadrature_error=error, cdf_nodes=nodes, cdf_values=cdf)


def ridge_tail_q(diffusion: GaussianMixtureDiffusion, values, t: int, parents: torch.Tensor, baselines: torch.Tensor,
                 *, nodes: int = 4001, width: float = 12.0) -> torch.Tensor:
    """``P_{q_t(·|y)}(V_t(X) > b(y))`` per parent, for exact values of a step reward ``B·1{⟨u,x⟩ < κ}``, B > 0.

    ``V_t`` is then non-increasing along û (the Gaussian noise has a monotone likelihood ratio, so
    ``P(⟨u,x_0⟩ < κ | x_t)`` falls as ``⟨û, x_t⟩`` grows), hence ``{V_t > b} = {s < s*}`` with ``s*`` found by
    bisection, and ``P_q(s < s*) = Σ_k w_k ∫_{−∞}^{s*} N(s; m_k, v_k) e^{(V_t(s) − V_{t+1}(y))/λ} ds`` is a
    trapezoid sum of a smooth integrand ending exactly at s* (error O(h²), h = 2·width/nodes std units).
    """
    reward = getattr(values, "reward", None)
    if not getattr(values, "exact", False) or not isinstance(reward, StepReward) or reward.height <= 0 or t < 1:
        raise UnsupportedRidge("ridge_tail_q needs exact values of a step reward with B > 0, and t ≥ 1")
    u = diffusion.ridge_direction(reward)
    if u is None:
        raise UnsupportedRidge("the diffusion does not factorise along the reward's direction")
    lam = values.lam
    perpendicular = diffusion.means[0] - (diffusion.means[0] @ u) * u
    to = dict(dtype=diffusion.dtype, device=diffusion.device)
    b = torch.as_tensor(baselines, **to).reshape(-1)
    m = parents.shape[0]
    low = torch.full((m,), -60.0, **to)
    high = torch.full((m,), 60.0, **to)
    for _ in range(44):                               # V_t(low) ≥ b > V_t(high) is kept (width 120·2^−44)
        middle = 0.5 * (low + high)
        above = values(_ridge_points(middle, u, perpendicular), t) > b
        low, high = torch.where(above, middle, low), torch.where(above, high, middle)
    crossing = low
    log_w, means, covs = diffusion.reverse_kernel(t, parents)
    weights = torch.softmax(log_w, -1)
    centres, stds = means @ u, torch.sqrt(torch.einsum("i,kij,j->k", u, covs, u))
    parent_values = values(parents, t + 1)
    total = torch.zeros(m, **to)
    fraction = torch.linspace(0.0, 1.0, nodes, **to)
    for k in range(diffusion.components):
        top = torch.clamp((crossing - centres[:, k]) / stds[k], min=-width, max=width)      # (m,)
        z = -width + (top + width)[:, None] * fraction[None, :]                                 # (m, nodes)
        s = centres[:, k, None] + stds[k] * z
        v = values(_ridge_points(s.reshape(-1), u, perpendicular), t).reshape(m, nodes)
        integrand = torch.exp(-0.5 * z * z + (v - parent_values[:, None]) / lam) / math.sqrt(2 * math.pi)
        step = (top + width) / (nodes - 1)
        total = total + weights[:, k] * step * (integrand.sum(-1) - 0.5 * (integrand[:, 0] + integrand[:, -1]))
    never = b >= values.envelope(t)
    return torch.where(never, torch.zeros_like(total), torch.clamp(total, 0.0, 1.0))
