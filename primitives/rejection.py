"""Tilted rejection sampling with a baseline (LCB spec, "Rejection with a baseline b").

Propose ``x ~ p`` and accept with ``a_b(x) = min(1, exp((r(x) − b)/λ))``, compared in log space
(``log U < min(0, (r − b)/λ)``, evaluated as ``r > b + λ log U``), so no weight is ever exponentiated. Accepted samples have law
``q_b = p·a_b / Z_b``; the proposals needed per accepted sample are geometric with mean
``N(b) = 1/Z_b``. With ``b ≥ ess sup r`` this is ideal rejection and ``q_b = q ∝ p·e^{r/λ}`` (T1).

The sampler is batched: each round draws a batch sized from the running acceptance rate, and the
proposal count is exact — proposals after the n-th acceptance are not counted, so the returned count
is a sum of n independent geometric variables, as the theorems assume.
"""
from __future__ import annotations

from dataclasses import dataclass
import math

import torch

from primitives._checks import check_finite_scalar, check_positive
from primitives.laws import BaseLaw
from primitives.rewards import Reward, as_reward

__all__ = ["RejectionResult", "rejection_sample", "ideal_rejection_sample", "log_acceptance"]


@dataclass(frozen=True)
class RejectionResult:
    """Accepted samples and the exact number of proposals (queries to p) used to get them."""

    samples: torch.Tensor
    proposals: int

    @property
    def accepted(self) -> int:
        return int(self.samples.shape[0])

    @property
    def proposals_per_sample(self) -> float:
        return self.proposals / max(self.accepted, 1)


def log_acceptance(rewards: torch.Tensor, lam: float, baseline: float) -> torch.Tensor:
    """``log a_b = min(0, (r − b)/λ)``."""
    return torch.clamp((rewards - baseline) / lam, max=0.0)


def rejection_sample(
    base: BaseLaw,
    reward: Reward,
    lam: float,
    baseline: float,
    n: int,
    *,
    generator: torch.Generator | None = None,
    max_batch: int = 1 << 21,
    max_proposals: int = 10**10,
) -> RejectionResult:
    """Draw ``n`` samples of ``q_b`` by rejection from ``base`` with baseline ``b``.

    Raises ``ValueError`` for λ ≤ 0, a non-finite baseline or a bad ``n``, and ``RuntimeError`` if
    more than ``max_proposals`` proposals would be needed (acceptance too small to finish).
    """
    lam = check_positive("lam", lam)
    baseline = check_finite_scalar("baseline", baseline)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    reward = as_reward(reward)
    kept: list[torch.Tensor] = []
    remaining, proposals, accepted_total = n, 0, 0
    while remaining > 0:
        # Acceptance-rate estimate with a pseudo-count, so an unlucky first batch cannot stall us.
        rate = (accepted_total + 1.0) / (proposals + 2.0)
        batch = int(min(max_batch, max(1024, math.ceil(1.2 * remaining / rate) + 64)))
        if proposals + batch > max_proposals:
            raise RuntimeError(
                f"rejection sampling needed more than max_proposals={max_proposals} proposals "
                f"(acceptance rate ≈ {rate:.3g}); raise the baseline or max_proposals"
            )
        x = base.sample(batch, generator=generator)
        rewards = reward(x)
        # log U < min(0, (r − b)/λ)  ⟺  r > b + λ log U, since log U ≤ 0: one fused threshold, no clamp.
        threshold = torch.rand(batch, generator=generator, device=rewards.device, dtype=rewards.dtype)
        accept = rewards > threshold.log_().mul_(lam).add_(baseline)
        hits = int(accept.sum())
        if hits >= remaining:
            last = int(torch.nonzero(accept)[remaining - 1])
            kept.append(x[: last + 1][accept[: last + 1]])
            proposals += last + 1
            accepted_total += remaining
            remaining = 0
        else:
            kept.append(x[accept])
            proposals += batch
            accepted_total += hits
            remaining -= hits
    if kept:
        samples = torch.cat(kept)
    else:
        samples = base.sample(0, generator=generator)
    return RejectionResult(samples=samples, proposals=proposals)


def ideal_rejection_sample(
    base: BaseLaw,
    reward: Reward,
    lam: float,
    n: int,
    *,
    envelope: float | None = None,
    generator: torch.Generator | None = None,
    **kwargs,
) -> RejectionResult:
    """Ideal rejection (T1): baseline = envelope ≥ ess sup r, so the output law is exactly q."""
    reward = as_reward(reward)
    if envelope is None:
        envelope = reward.sup
        if not math.isfinite(envelope):
            raise ValueError(
                f"envelope: reward {reward.name} has no known finite supremum; pass envelope= explicitly"
            )
    return rejection_sample(base, reward, lam, envelope, n, generator=generator, **kwargs)
