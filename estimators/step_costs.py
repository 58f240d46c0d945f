r"""Expected queries per sample of per-step rejection, and how far any per-step baseline can go.

Counting: every sampler pays one kernel query per proposal at each of the T + 1 steps (the prior draw
included), so the unaligned chain costs ``Q₀ = T + 1`` per sample. Write ``Z = E_p e^{r(x_0)/λ}``.

**Trajectory rejection (T1).** Whole chains accepted with ``e^{(r − B)/λ}``, ``B = sup r``: acceptance
``Z e^{−B/λ}``, so ``E[queries per sample] = Q₀ e^{B/λ}/Z`` (``trajectory_queries``).

**Ideal per-step rejection at the envelope is no cheaper (identity).** With exact values and the constant
baseline ``b_t ≡ B``, step t from parent y accepts with ``E_p[e^{V_t/λ} | y] e^{−B/λ} = e^{(V_{t+1}(y) − B)/λ}``
and costs ``e^{(B − V_{t+1}(y))/λ}`` proposals. Under the aligned chain ``q_{t+1}(y) = p_{t+1}(y)
e^{V_{t+1}(y)/λ}/Z``, so ``E_q[e^{−V_{t+1}/λ}] = 1/Z`` and each step costs ``e^{B/λ}/Z`` in expectation:
``Q₀ e^{B/λ}/Z`` in all, exactly trajectory rejection's. Savings need a baseline that depends on the parent.

**The floor.** A per-step sampler makes at least one proposal per step, so its queries per sample are
``≥ Q₀`` and its saving over trajectory rejection is at most ``e^{B/λ}/Z`` (``best_saving``). For a two-level
reward ``r = B·1_A``, ``Z = 1 + π(e^{B/λ} − 1)`` with ``π = p_0(A)`` (``two_level_log_partition``).

**The oracle per-parent baseline at a TV rate.** A baseline allowed per-step TV ``ρ`` at parent y (T2:
``TV = D/Z(y) = Σ_x q(x|y) (1 − e^{−(V_t(x) − c)/λ})_+``, ``q(·|y) ∝ p(·|y) e^{V_t/λ}``) is best at the smallest
c with ``D/Z(y) ≤ ρ``; it then costs ``1 / E_p[min(1, e^{(V_t − c)/λ}) | y]`` proposals. ``oracle_parent_costs``
computes both from K children drawn from ``p(·|y)`` (their values, weighted by ``e^{V_t/λ}``): a Monte-Carlo
estimate of what the best parent-dependent baseline with path TV ``(T + 1)ρ`` (T7) can cost; a learned,
calibrated baseline (``learning.path_calibration``) cannot beat it at the same ``ρ`` per step.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from primitives._checks import check_positive, check_unit_interval

__all__ = ["two_level_log_partition", "trajectory_queries", "best_saving", "oracle_parent_costs",
           "oracle_step_costs"]

BISECTIONS = 60


def two_level_log_partition(share: float, height: float, lam: float) -> float:
    """``log Z = log(1 + π(e^{B/λ} − 1))`` for ``r = B·1_A``, ``π = p_0(A)`` (log-space)."""
    share = float(share)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be a probability in [0, 1], got {share!r}")
    lam = check_positive("lam", lam)
    height = check_positive("height", height)
    return float(np.logaddexp(math.log1p(-share) if share < 1 else -math.inf,
                              math.log(share) + height / lam if share > 0 else -math.inf))


def trajectory_queries(queries_per_chain: float, log_partition: float, height: float, lam: float) -> float:
    """``Q₀ e^{B/λ}/Z``: expected queries per accepted sample of trajectory rejection (and, by the identity in
    the module docstring, of exact per-step rejection at the envelope B)."""
    queries_per_chain = check_positive("queries_per_chain", queries_per_chain)
    lam = check_positive("lam", lam)
    return queries_per_chain * math.exp(height / lam - log_partition)


def best_saving(log_partition: float, height: float, lam: float) -> float:
    """``e^{B/λ}/Z``: the largest factor by which any per-step sampler (≥ 1 proposal per step) can undercut
    trajectory rejection's expected queries."""
    lam = check_positive("lam", lam)
    return math.exp(height / lam - log_partition)


def _tv_at(values: torch.Tensor, level: torch.Tensor, lam: float) -> torch.Tensor:
    """T2's ``D/Z(y) = Σ_x w(x) (1 − e^{−(v − c)/λ})_+``, ``w ∝ e^{v/λ}``, per row: ``Σ_{v>c}(e^{v/λ} − e^{c/λ})/Σ e^{v/λ}``."""
    top = values.max(-1, keepdim=True).values
    weights = torch.exp((values - top) / lam)
    excess = (weights - torch.exp((level[:, None] - top) / lam)).clamp(min=0.0)
    return excess.sum(-1) / weights.sum(-1)


def _proposals_at(values: torch.Tensor, level: torch.Tensor, lam: float) -> torch.Tensor:
    """``1 / E_p[min(1, e^{(v − c)/λ})]`` per row (the children are draws from p(·|y))."""
    return 1.0 / torch.exp(((values - level[:, None]) / lam).clamp(max=0.0)).mean(-1)


def oracle_parent_costs(child_values: torch.Tensor, lam: float, rate: float) -> dict[str, torch.Tensor]:
    """Per parent (row of ``child_values``, shape (m, K): ``V_t`` of K children drawn from ``p(·|y)``):

    * ``level`` — the smallest c with ``D/Z(y) ≤ rate`` under the children's tilted empirical law (bisection;
      ``D/Z`` decreases in c, is 0 at ``max v`` and any c ≤ ``min v`` accepts every proposal);
    * ``proposals`` — the expected proposals at that level, ``1/mean min(1, e^{(v − c)/λ})``;
    * ``envelope_proposals`` — the exact per-parent envelope ``c = max v`` (the sampled max, so a lower bound on
      the true per-parent envelope's cost): ``e^{max v/λ}/mean e^{v/λ}``.
    """
    if not isinstance(child_values, torch.Tensor) or child_values.dim() != 2 or child_values.shape[1] < 1:
        raise ValueError(f"child_values must be an (m, K) tensor, got {getattr(child_values, 'shape', child_values)!r}")
    if not bool(torch.isfinite(child_values).all()):
        raise ValueError("child_values must be finite")
    lam = check_positive("lam", lam)
    rate = check_unit_interval("rate", rate)
    values = child_values.to(torch.float64)
    low, high = values.min(-1).values, values.max(-1).values
    feasible_low = _tv_at(values, low, lam) <= rate
    for _ in range(BISECTIONS):
        middle = (low + high) / 2
        ok = _tv_at(values, middle, lam) <= rate
        high = torch.where(ok, middle, high)
        low = torch.where(ok, low, middle)
    level = torch.where(feasible_low, values.min(-1).values, high)
    envelope = values.max(-1).values
    return {"level": level, "proposals": _proposals_at(values, level, lam),
            "envelope_proposals": _proposals_at(values, envelope, lam)}


def oracle_step_costs(kernel, values, path_states: list[torch.Tensor], *, children: int, rate: float,
                      generator: torch.Generator | None = None) -> dict[str, list[float]]:
    """Mean oracle costs per step t = 0..T over the parents ``path_states[t + 1]`` (states of a chain targeted by
    ``values``, e.g. ``per_step_rejection_sample(…, record_states=True).states``); the prior step (t = T) uses
    ``children`` prior draws as one parent. Returns per-step lists ``proposals`` and ``envelope_proposals``."""
    if isinstance(children, bool) or not isinstance(children, int) or children < 2:
        raise ValueError(f"children must be an integer ≥ 2, got {children!r}")
    steps = kernel.steps
    if len(path_states) != steps + 1:
        raise ValueError(f"path_states must hold the T + 1 = {steps + 1} states of a path, got {len(path_states)}")
    lam = values.lam
    found: dict[str, list[float]] = {"proposals": [0.0] * (steps + 1), "envelope_proposals": [0.0] * (steps + 1)}
    for t in range(steps + 1):
        if t == steps:
            kids = kernel.sample_prior(children, generator)[None]
        else:
            kids = kernel.sample_children(path_states[t + 1], t, children, generator)
        flat = values(kids.reshape(-1, *kids.shape[2:]), t).reshape(kids.shape[0], kids.shape[1])
        costs = oracle_parent_costs(flat, lam, rate)
        for key in found:
            found[key][t] = float(costs[key].mean())
    return found
