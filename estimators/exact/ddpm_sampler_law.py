"""Exact law of per-step rejection on the DDPM mixture chain (T7's left side and terms), by 1-D quadrature.

Per-step rejection with baseline b moves a parent y to ``q̂_t(s|y) = N(s; m_t(y), β_t) a_t(s, y) / Z_b(y)``,
``a_t = min(1, e^{(V_t(s) − b_t(y))/λ})``. The baseline must depend on the ridge coordinate only (offset,
envelope and MSG baselines do; parents are placed on the ridge, ``x^⊥ = 0``), so per-step rejection acts on
the s-chain alone and ``TV(q̂_0, q_0)`` is the TV of the s-marginals (``estimators.exact.ddpm_law``).

Propagation on the quadrature sub-grid of ``DdpmExact`` (parents with mass below ``prune`` dropped), T7's
terms ``E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))`` as grid sums. At t = 0 with a step reward every parent's
kernel law of ``V_0 = r`` has two atoms with normal-CDF masses (exact), the x_0 CDF is exact given the parents'
masses, and ``TV(q̂_0, q_0)`` integrates each side of the jump on the fine grid. ``quadrature_error`` is the
change of the exact TV and of the summed terms when the sub-grid spacing is doubled, plus the discrepancy of
``log Z`` between the backward (values) and forward (marginals) routes (≈ 4e-7 at B = 5): the target kernels use
the backward route, the x_0 target the forward one, and at the ideal baseline every term is 0 up to this; plus ``method_floor``: the TV and terms computed for the exact
sampler ``b ≡ sup r`` (truly 0), which measures what the two routes leave (5e-8 at B = 1, 4e-7 at B = 5).
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
import torch
from scipy.special import logsumexp, ndtr

from estimators.exact.ddpm_law import DdpmExact, _log_kernel, _trapezoid_log_weights

__all__ = ["DdpmSamplerLaw", "ddpm_sampler_law"]


@dataclass(frozen=True)
class DdpmSamplerLaw:
    direction: np.ndarray
    step_terms: np.ndarray        # index t = 0..T (T: the prior step)
    tv_x0: float
    quadrature_error: float
    cdf_nodes: np.ndarray
    cdf_values: np.ndarray
    mean_proposals: np.ndarray    # E_{y~q̂_{t+1}} 1/Z_b(y) per step (index T: the prior step)
    parents: tuple = ()           # (ridge nodes, probabilities) of q̂_{t+1} used at step t, t = 0..T−1

    @property
    def path_bound(self) -> float:
        return float(self.step_terms.sum())

    def x0_cdf(self, s) -> np.ndarray:
        """The sampler's ``P(⟨û, x_0⟩ ≤ s)`` (interpolated from its exact values on the fine grid)."""
        return np.interp(np.asarray(s, dtype=float), self.cdf_nodes, self.cdf_values, left=0.0, right=1.0)


def _baseline(baseline, parents: np.ndarray | None, t: int, direction: np.ndarray) -> np.ndarray:
    if parents is None:
        return np.asarray(float(torch.as_tensor(baseline(None, t)).reshape(-1)[0]))
    states = torch.as_tensor(parents[:, None] * direction[None, :], dtype=torch.float64)
    return torch.as_tensor(baseline(states, t)).reshape(-1).double().cpu().numpy()


def _propagate(exact: DdpmExact, baseline, stride: int, prune: float):
    lam, ridge = exact.lam, exact.ridge
    grid = exact.fine[::stride]
    log_w = _trapezoid_log_weights(grid.size, exact.spacing * stride)
    steps = ridge.steps
    values = exact.lam * exact.log_values[:, ::stride]                       # V_t on the grid
    terms, proposals = np.zeros(steps + 1), np.zeros(steps + 1)
    parent_laws = [None] * steps
    # Prior: q̂_T ∝ φ · min(1, e^{(V_T − b_T)/λ}); q_T = φ e^{V_T/λ} / Z.
    log_prior = _log_kernel(grid, np.zeros(1), 1.0)[0]
    b_T = float(_baseline(baseline, None, steps, ridge.direction))
    log_accept = np.minimum(0.0, (values[steps] - b_T) / lam)
    log_zb = logsumexp(log_w + log_prior + log_accept)
    log_density = log_prior + log_accept - log_zb
    log_target = log_prior + values[steps] / lam - exact.log_root()
    terms[steps] = 0.5 * float(np.exp(log_w + np.logaddexp(log_density, log_target)).dot(
        np.abs(np.tanh(0.5 * (log_density - log_target)))))
    proposals[steps] = math.exp(-log_zb)
    for t in reversed(range(steps)):
        log_mass = log_w + log_density
        keep = log_mass > math.log(prune)
        parents, log_mass = grid[keep], log_mass[keep]
        mass = np.exp(log_mass - logsumexp(log_mass))
        parent_laws[t] = (parents, mass)
        b = _baseline(baseline, parents, t, ridge.direction)
        log_parent_value = exact.values_at(parents, t + 1) / lam
        means, var = ridge.mean(t, parents), ridge.beta(t)
        if t == 0 and exact.step:
            return (*_last_step(exact, parents, mass, b, log_parent_value, terms, proposals), parent_laws)
        log_k = _log_kernel(grid, means, var)                                  # (P, G)
        log_prop = log_k + np.minimum(0.0, (values[t][None, :] - b[:, None]) / lam)
        log_zb = logsumexp(log_w[None] + log_prop, axis=1)
        log_q_hat = log_prop - log_zb[:, None]
        log_q = log_k + values[t][None, :] / lam - log_parent_value[:, None]
        difference = np.exp(np.logaddexp(log_q_hat, log_q)) * np.abs(np.tanh(0.5 * (log_q_hat - log_q)))
        terms[t] = float(mass @ (0.5 * difference @ np.exp(log_w)))
        proposals[t] = float(mass @ np.exp(-log_zb))
        log_density = logsumexp(np.log(mass)[:, None] + log_q_hat, axis=0)
    # Smooth reward: x_0's density is log_density on the grid.
    log_target = exact._log_x0_density(grid) + values[0] / lam - exact.log_partition_forward()
    density, target = np.exp(log_density), np.exp(log_target)
    h = exact.spacing * stride
    tv = 0.5 * float(np.exp(log_w) @ np.abs(density - target))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * h * (density[1:] + density[:-1]))])
    return terms, tv, grid, cdf, proposals, parent_laws


def _last_step(exact: DdpmExact, parents, mass, b, log_parent_value, terms, proposals):
    """t = 0 with a step reward: two exact atoms per parent (module docstring)."""
    lam, ridge = exact.lam, exact.ridge
    kappa, height = exact.reward.threshold / exact._norm, exact.reward.height
    means, std = ridge.mean(0, parents), math.sqrt(ridge.beta(0))
    hit = ndtr((kappa - means) / std)
    a_in, a_out = np.exp(np.minimum(0.0, (height - b) / lam)), np.exp(np.minimum(0.0, -b / lam))
    z_b = hit * a_in + (1.0 - hit) * a_out
    q_in = np.exp(np.log(np.maximum(hit, 1e-300)) + height / lam - log_parent_value)
    terms[0] = float(mass @ np.abs(q_in - hit * a_in / z_b))
    proposals[0] = float(mass @ (1.0 / z_b))
    fine = exact.fine
    left, right = fine[fine <= kappa], fine[fine >= kappa]
    log_z = exact.log_partition_forward()

    def side(points, accept, reward_value):
        kernel = np.exp(_log_kernel(points, means, ridge.beta(0)))               # (P, n)
        sampler = (mass * accept / z_b) @ kernel
        target = np.exp(exact._log_x0_density(points) + reward_value / lam - log_z)
        return sampler, target

    s_left, t_left = side(left, a_in, height)
    s_right, t_right = side(right, a_out, 0.0)
    h = exact.spacing

    def trapezoid(v):
        return h * (v.sum() - 0.5 * (v[0] + v[-1]))

    tv = 0.5 * float(trapezoid(np.abs(s_left - t_left)) + trapezoid(np.abs(s_right - t_right)))
    weights = mass / z_b
    nodes = fine

    def cdf(s):
        below = ndtr((np.minimum(s, kappa)[:, None] - means[None]) / std) * a_in
        above = np.clip(ndtr((s[:, None] - means[None]) / std) - ndtr((kappa - means[None]) / std), 0.0, None) * a_out
        return (below + above) @ weights

    values = np.concatenate([cdf(block) for block in np.array_split(nodes[::4], 8)])
    return terms, tv, nodes[::4], values, proposals


_FLOORS: dict[int, float] = {}


def _envelope(level: float):
    def baseline(parents, t):
        b = torch.tensor(level, dtype=torch.float64)
        return b if parents is None else b.expand(parents.shape[0])
    return baseline


def method_floor(exact: DdpmExact, prune: float = 1e-14) -> float:
    """The computed ``TV(q̂_0, q_0)`` plus the summed terms of the exact sampler ``b ≡ sup r`` (truly 0 by T1):
    the numerical floor of the two routes, added to every law's ``quadrature_error`` (cached per ``exact``)."""
    key = id(exact)
    if key not in _FLOORS:
        terms, tv, *_ = _propagate(exact, _envelope(float(exact.reward.sup)), exact.stride, prune)
        _FLOORS[key] = float(tv + terms.sum())
    return _FLOORS[key]


def ddpm_sampler_law(exact: DdpmExact, baseline, *, prune: float = 1e-14) -> DdpmSamplerLaw:
    """Exact (quadrature) law of per-step rejection with ``baseline`` on the DDPM ridge (module docstring)."""
    terms, tv, nodes, cdf, proposals, parent_laws = _propagate(exact, baseline, exact.stride, prune)
    coarse_terms, coarse_tv, *_ = _propagate(exact, baseline, 2 * exact.stride, prune)
    route = abs(exact.log_root() - exact.log_partition_forward())
    error = abs(tv - coarse_tv) + abs(float(terms.sum()) - float(coarse_terms.sum())) + route + method_floor(exact, prune)
    return DdpmSamplerLaw(exact.ridge.direction, terms, tv, error, nodes, np.clip(cdf, 0.0, 1.0), proposals,
                          tuple(parent_laws))
