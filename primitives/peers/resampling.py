"""Sampling-importance-resampling (SIR), the single-step case of SMC.

Draw M candidates ``x_1..x_M ~ p``, weight ``w_i = e^{r(x_i)/λ}`` (normalised with logsumexp), and
resample one index by the multinomial law of the weights. The output law π_M is not q for finite M;
with ``ρ = E_p[w²]/(E_p w)²`` it satisfies ``TV(π_M, q) ≤ ρ/M`` (claim ``sir.tv_bound``, proved in
``theorems.peer_guarantees``), so SIR is consistent as M → ∞. M queries per output sample.
"""
from __future__ import annotations

import torch

from primitives._checks import check_positive
from primitives.laws import BaseLaw
from primitives.rejection import RejectionResult
from primitives.rewards import Reward, as_reward

__all__ = ["sir_sample"]


def sir_sample(base: BaseLaw, reward: Reward, lam: float, particles: int, n: int, *,
               generator: torch.Generator | None = None, chunk: int = 1 << 20) -> RejectionResult:
    """n independent SIR draws, each from its own ``particles`` candidates (batched over draws)."""
    lam = check_positive("lam", lam)
    if not isinstance(particles, int) or particles < 1:
        raise ValueError(f"particles must be a positive integer, got {particles!r}")
    reward = as_reward(reward)
    outputs = []
    per_chunk = max(1, chunk // particles)
    for start in range(0, n, per_chunk):
        rows = min(per_chunk, n - start)
        candidates = base.sample(rows * particles, generator)
        log_weights = (reward(candidates) / lam).reshape(rows, particles)
        probabilities = torch.softmax(log_weights, dim=1)
        chosen = torch.multinomial(probabilities, 1, generator=generator).reshape(rows)
        index = torch.arange(rows, device=chosen.device) * particles + chosen
        outputs.append(candidates[index])
    samples = torch.cat(outputs) if outputs else base.sample(0, generator)
    return RejectionResult(samples=samples, proposals=n * particles)
