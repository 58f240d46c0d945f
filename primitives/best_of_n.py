"""Best-of-N sampling: draw N proposals from p, return the one with the highest reward (theorem BoN).

Each output is the argmax of r over N independent draws ``X_1, …, X_N ~ p``. Ties are broken by the
*first* maximal draw. Because the draws are exchangeable and that rule looks only at positions, given
the selected reward level v the output is distributed as p conditioned on ``r(X) = v``; so the output
law has density ``(F(v)^N − F(v−)^N) / P_p(r = v)`` with respect to p on ``{r = v}``, where F is the
CDF of r(X) under p. For a continuous reward law that is ``N F(r(x))^{N−1}`` (``theorems.best_of_n``).

The sampler is batched: one call to ``base.sample`` per chunk of ``rows × N`` proposals, the reward on
the whole chunk, and a vectorised first-argmax per row. Samples stay on the base's device.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from primitives.laws import BaseLaw
from primitives.rewards import Reward, as_reward

__all__ = ["BestOfNResult", "best_of_n_sample", "first_argmax"]


@dataclass(frozen=True)
class BestOfNResult:
    """The selected samples, their rewards, and the number of proposals (queries to p) used: n·N."""

    samples: torch.Tensor
    rewards: torch.Tensor
    proposals: int


def _check_count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return value


def first_argmax(rewards: torch.Tensor) -> torch.Tensor:
    """Index of the first maximal entry of each row of ``rewards`` (shape ``(rows, N)``).

    Spelled out rather than relying on ``torch.argmax`` tie behaviour: among the maximal entries the
    score ``N − position`` is largest at the first one, and it is unique.
    """
    columns = rewards.shape[1]
    is_max = rewards == rewards.max(dim=1, keepdim=True).values
    score = is_max.to(torch.int64) * (columns - torch.arange(columns, device=rewards.device))
    return score.argmax(dim=1)


def best_of_n_sample(
    base: BaseLaw,
    reward: Reward,
    N: int,
    n: int,
    *,
    generator: torch.Generator | None = None,
    max_batch: int = 1 << 21,
) -> BestOfNResult:
    """Draw ``n`` best-of-``N`` samples: each is the first argmax of r over N fresh draws from ``base``.

    ``max_batch`` caps the proposals drawn per chunk (memory). Raises ``ValueError`` naming the
    argument for ``N < 1``, a negative or non-integer ``n``, or ``max_batch < 1``.
    """
    N = _check_count("N", N, 1)
    n = _check_count("n", n, 0)
    max_batch = _check_count("max_batch", max_batch, 1)
    reward = as_reward(reward)
    rows_per_chunk = max(1, max_batch // N)
    kept_samples: list[torch.Tensor] = []
    kept_rewards: list[torch.Tensor] = []
    remaining = n
    while remaining > 0:
        rows = min(rows_per_chunk, remaining)
        draws = base.sample(rows * N, generator=generator)
        values = reward(draws).reshape(rows, N)
        chosen = first_argmax(values)
        flat_index = torch.arange(rows, device=chosen.device) * N + chosen
        kept_samples.append(draws[flat_index])
        kept_rewards.append(values.reshape(-1)[flat_index])
        remaining -= rows
    if kept_samples:
        samples, rewards = torch.cat(kept_samples), torch.cat(kept_rewards)
    else:
        samples = base.sample(0, generator=generator)
        rewards = torch.empty(0, dtype=base.dtype, device=base.device)
    return BestOfNResult(samples=samples, rewards=rewards, proposals=n * N)
