"""Soft best-of-n sampling (Verdun et al., "Soft Best-of-n Sampling for Model Alignment", 2025): the code under test.

Draw ``X_1, …, X_n`` i.i.d. from a finite base law ``p`` and return ``X_I`` with
``P(I = i | X_{1:n}) ∝ e^{r(X_i)/λ}``. As ``n → ∞`` the output law tends to the tilted law
``π_λ ∝ p·e^{r/λ}``; at ``n = 1`` it is ``p``; as ``λ → 0`` it is best-of-n.
"""
from __future__ import annotations

import torch

__all__ = ["soft_best_of_n_sample"]


def soft_best_of_n_sample(probs: torch.Tensor, rewards: torch.Tensor, lam: float, n: int, size: int,
                          generator: torch.Generator, *, device: str | torch.device = "cpu") -> torch.Tensor:
    """``size`` independent soft best-of-``n`` outputs (category indices, shape ``(size,)``), batched.

    ``probs``: the base law over K categories; ``rewards``: r on the K categories; ``lam`` > 0 the temperature.
    """
    if not lam > 0:
        raise ValueError(f"lam must be > 0, got {lam!r}")
    if n < 1 or size < 1:
        raise ValueError(f"n and size must be ≥ 1, got n={n!r}, size={size!r}")
    probs = torch.as_tensor(probs, dtype=torch.float64, device=device)
    rewards = torch.as_tensor(rewards, dtype=torch.float64, device=device)
    if probs.ndim != 1 or probs.shape != rewards.shape:
        raise ValueError(f"probs and rewards must be vectors of one length, got {tuple(probs.shape)} and "
                         f"{tuple(rewards.shape)}")
    draws = torch.multinomial(probs.expand(size, -1), n, replacement=True, generator=generator)  # (size, n)
    logits = rewards[draws] / lam
    selection = torch.softmax(logits, dim=1)  # log space: stable for any reward scale
    chosen = torch.multinomial(selection, 1, generator=generator).squeeze(1)
    return draws.gather(1, chosen[:, None]).squeeze(1)
