"""Exact per-state quantities of per-step tilted rejection (LCB spec T7: "each step's term obeys T2–T3
with r replaced by V_t and V by V_{t+1}(y)").

For a parent y at step t the step is a single-step problem: base ``p_t(·|y)``, reward ``V_t``, soft value
``V_{t+1}(y)`` (the soft-value identity ``E_{p_t(·|y)} e^{V_t/λ} = e^{V_{t+1}(y)/λ}``). ``StateLaws`` holds,
for a batch of m parents, the law of ``V̂_t(X)``, ``X ~ p_t(·|y)``, as a finite law per row (values
``(m, A)``, log-probabilities ``(m, A)``), and computes in log space, batched:

* ``log_mgf(a)``, ``log_partition`` (``= V_{t+1}(y)/λ`` for exact values), ``log_clipped_partition(b)``;
* ``expected_proposals(b) = 1/Z_b``; ``clip_mass(b) = D/Z``; ``tail_q(y) = P_q(R > y)``;
* ``tv_to_target(b)``: ``½ Σ |q_i − q_{b,i}|``, where the target uses the exact values (``target_values``)
  and the sampler the (possibly learned) ``V̂``;
* ``chernoff_baseline(δ)``: ``min_s [Λ(1/λ+s) − Λ(1/λ) + log(1/δ)]/s`` over a fixed s grid (each s is a
  valid Chernoff bound, so the grid minimum is a valid baseline), capped at the largest atom.

``kernel_value_laws(chain, t, parents, values)`` builds them: by enumeration of the kernel's support for
finite chains (exact), by the quadrature rule of ``GaussianMixtureDiffusion.kernel_atoms`` for the
Gaussian mixture (along the ridge direction when the values depend on one coordinate; error estimated by
halving the spacing), and exactly (two atoms, normal CDFs) for a step reward at t = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
import torch

from primitives._checks import check_positive, check_unit_interval
from primitives.diffusion import GaussianMixtureDiffusion
from primitives.rewards import StepReward

__all__ = ["StateLaws", "kernel_value_laws", "DEFAULT_S_GRID", "path_tv_terms"]

DEFAULT_S_GRID = tuple(float(s) for s in np.geomspace(1e-3, 1e3, 31))


def _difference(log_larger: torch.Tensor, log_smaller: torch.Tensor) -> torch.Tensor:
    """``e^{a} − e^{b}`` for ``b ≤ a`` (clipped at 0), keeping relative precision."""
    gap = torch.clamp(log_smaller - log_larger, max=0.0)
    out = torch.exp(log_larger) * -torch.expm1(gap)
    return torch.where(torch.isneginf(log_larger), torch.zeros_like(out), torch.clamp(out, min=0.0))


@dataclass(frozen=True)
class StateLaws:
    """Per-parent finite laws of ``R = V̂_t(X)``; ``target_values`` (default ``values``) are the exact V_t."""

    values: torch.Tensor
    log_probs: torch.Tensor
    exact: bool = False
    target_values: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.values.shape != self.log_probs.shape or self.values.ndim != 2:
            raise ValueError(f"values and log_probs must both have shape (m, A), got {tuple(self.values.shape)} "
                             f"and {tuple(self.log_probs.shape)}")

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    @property
    def _target(self) -> torch.Tensor:
        return self.values if self.target_values is None else self.target_values

    def _masked(self, values: torch.Tensor) -> torch.Tensor:
        # Atoms of probability zero may carry any value; keep them out of every product.
        return torch.where(torch.isneginf(self.log_probs), torch.zeros_like(values), values)

    def log_mgf(self, a: float, target: bool = False) -> torch.Tensor:
        values = self._masked(self._target if target else self.values)
        return torch.logsumexp(self.log_probs + a * values, -1)

    def log_partition(self, lam: float, target: bool = True) -> torch.Tensor:
        return self.log_mgf(1.0 / check_positive("lam", lam), target=target)

    def _baseline(self, baseline) -> torch.Tensor:
        b = torch.as_tensor(baseline, dtype=self.values.dtype, device=self.values.device).reshape(-1)
        return b.expand(self.size) if b.shape[0] == 1 else b

    def log_clipped_partition(self, lam: float, baseline) -> torch.Tensor:
        lam = check_positive("lam", lam)
        b = self._baseline(baseline)
        return torch.logsumexp(self.log_probs + torch.clamp((self._masked(self.values) - b[:, None]) / lam, max=0.0), -1)

    def expected_proposals(self, lam: float, baseline) -> torch.Tensor:
        """``N(b) = 1/Z_b`` per parent."""
        return torch.exp(-self.log_clipped_partition(lam, baseline))

    def clip_mass(self, lam: float, baseline) -> torch.Tensor:
        """``D/Z = 1 − e^{b/λ} Z_b / Z`` (exact values) per parent."""
        b = self._baseline(baseline)
        log_unclipped = b / lam + self.log_clipped_partition(lam, b) - self.log_partition(lam, target=False)
        return -torch.expm1(torch.clamp(log_unclipped, max=0.0))

    def tail_q(self, lam: float, threshold) -> torch.Tensor:
        """``P_q(V_t > threshold)`` under the exact tilted kernel ``q_t(·|y)``."""
        y = self._baseline(threshold)
        target = self._masked(self._target)
        scores = torch.where(self._masked(self.values) > y[:, None], self.log_probs + target / lam,
                             torch.full_like(target, -math.inf))
        return torch.exp(torch.logsumexp(scores, -1) - self.log_partition(lam))

    def tv_to_target(self, lam: float, baseline) -> torch.Tensor:
        """``TV(q̂_t(·|y), q_t(·|y)) = ½ Σ_i |q_i − q_{b,i}|`` per parent."""
        lam = check_positive("lam", lam)
        b = self._baseline(baseline)
        log_q = self.log_probs + self._masked(self._target) / lam - self.log_partition(lam)[:, None]
        log_qb = (self.log_probs + torch.clamp((self._masked(self.values) - b[:, None]) / lam, max=0.0)
                  - self.log_clipped_partition(lam, b)[:, None])
        larger, smaller = torch.maximum(log_q, log_qb), torch.minimum(log_q, log_qb)
        return 0.5 * _difference(larger, smaller).sum(-1)

    def ess_sup(self) -> torch.Tensor:
        values = torch.where(torch.isneginf(self.log_probs), torch.full_like(self.values, -math.inf), self.values)
        return values.max(-1).values

    def chernoff_baseline(self, lam: float, delta: float, s_grid: tuple[float, ...] = DEFAULT_S_GRID,
                          refine: int = 9) -> torch.Tensor:
        """``b_δ(y) = min_{s ∈ grid} [Λ_y(1/λ+s) − Λ_y(1/λ) + log(1/δ)]/s``, capped at the largest atom (T3)."""
        lam = check_positive("lam", lam)
        delta = check_unit_interval("delta", delta)
        a = 1.0 / lam
        values = self._masked(self.values)
        grid = torch.as_tensor(s_grid, dtype=values.dtype, device=values.device)
        rows = max(1, (1 << 23) // max(1, values.shape[1] * grid.shape[0]))
        best = []
        log_ratio = math.log(float(grid[1] / grid[0])) if grid.shape[0] > 1 else 0.0
        local = torch.linspace(-log_ratio, log_ratio, refine, dtype=values.dtype, device=values.device) if refine else None

        def objective(value_block, log_prob_block, base, s):                       # s: (S,) or (rows, S)
            s_rows = s if s.ndim == 2 else s[None, :].expand(value_block.shape[0], -1)
            exponents = log_prob_block[:, :, None] + value_block[:, :, None] * (a + s_rows)[:, None, :]
            return (torch.logsumexp(exponents, 1) - base[:, None] + math.log(1.0 / delta)) / s_rows

        for value_block, log_prob_block in zip(torch.split(values, rows), torch.split(self.log_probs, rows)):
            base = torch.logsumexp(log_prob_block + a * value_block, -1)
            coarse = objective(value_block, log_prob_block, base, grid)
            value, index = coarse.min(-1)
            if local is not None:
                # Every s > 0 gives a valid bound: refine around the coarse minimiser, keep the smaller.
                s_local = grid[index][:, None] * torch.exp(local)[None, :]
                value = torch.minimum(value, objective(value_block, log_prob_block, base, s_local).min(-1).values)
            best.append(value)
        return torch.minimum(torch.cat(best), self.ess_sup())


def _exact_step_reward(values) -> StepReward | None:
    reward = getattr(values, "reward", None)
    return reward if getattr(values, "exact", False) and isinstance(reward, StepReward) else None


def kernel_value_laws(chain, t: int, parents: torch.Tensor | None, values, *, spacing: float = 0.05,
                      width: float = 8.0, direction: torch.Tensor | None | str = "auto",
                      target=None) -> StateLaws:
    """Law of ``V̂_t(X)`` under ``p_t(·|y)`` for each parent (``parents=None``, ``t = T``: under ``p_T``).

    ``target``: the exact soft values when ``values`` is learned (defaults to ``values``).
    """
    target = values if target is None else target
    if isinstance(chain, GaussianMixtureDiffusion) or getattr(chain, "ridge_reducible", False):
        step_reward = _exact_step_reward(values)
        if t == 0 and step_reward is not None and target is values:
            # V_0 = r = B·1{⟨u,x⟩ < κ}: two atoms with normal-CDF masses (exact).
            log_hit = chain.step_hit_log_probability(0, parents, step_reward)
            log_miss = torch.log(-torch.expm1(log_hit))
            rows = log_hit.shape[0]
            atom_values = torch.tensor([0.0, step_reward.height], dtype=chain.dtype, device=chain.device).expand(rows, 2)
            return StateLaws(atom_values.contiguous(), torch.stack([log_miss, log_hit], -1), exact=True)
        if direction == "auto":
            reward = getattr(values, "reward", None)
            direction = chain.ridge_direction(reward) if reward is not None and getattr(values, "exact", False) else None
        atoms = chain.kernel_atoms(t, parents, spacing=spacing, width=width, direction=direction)
    else:
        atoms = chain.kernel_atoms(t, parents)
    m, count = atoms.log_probs.shape
    flat = atoms.atoms.reshape(m * count, *atoms.atoms.shape[2:])
    sampler_values = values(flat, t).reshape(m, count)
    target_values = None if target is values else target(flat, t).reshape(m, count)
    return StateLaws(sampler_values, atoms.log_probs, exact=atoms.exact, target_values=target_values)


def path_tv_terms(chain, states: list[torch.Tensor], baseline, values, *, target=None, particles: int | None = None,
                  spacing: float = 0.05, chunk: int = 2048) -> torch.Tensor:
    """T7's per-step terms at the sampler's own visited states: ``τ[t, i] = TV(q̂_t(·|y_i), q_t(·|y_i))`` with
    ``y_i = x_{t+1}`` of particle i (row T: the prior step, the same for every particle). Shape (T+1, n)."""
    steps = chain.steps
    lam = values.lam
    n = states[0].shape[0] if particles is None else min(particles, states[0].shape[0])
    terms = torch.zeros(steps + 1, n, dtype=torch.float64)
    prior_law = kernel_value_laws(chain, steps, None, values, spacing=spacing, target=target)
    terms[steps] = float(prior_law.tv_to_target(lam, baseline(None, steps))[0])
    for t in range(steps):
        parents = states[t + 1][:n]
        pieces = []
        for block in torch.split(parents, chunk):
            laws = kernel_value_laws(chain, t, block, values, spacing=spacing, target=target)
            pieces.append(laws.tv_to_target(lam, baseline(block, t)).cpu())
        terms[t] = torch.cat(pieces)
    return terms
