"""Quasi-rejection sampling (QRS; Eikema, Kruszewski, Dance, Elsahar & Dymetman, 2022).

QRS proposes ``x ~ p`` and accepts with ``min(1, P(x)/(β p(x)))`` for the unnormalised target
``P = p·e^{r/λ}``, i.e. with ``min(1, e^{r/λ}/β)``. This is rejection with baseline ``b = λ log β``
(LCB spec, "Rejection with a baseline"), so its output law is ``p_β = q_{λ log β}`` and, with
``Z_β = E_p[min(e^{r/λ}, β)]``, its acceptance rate is ``Z_β/β`` and ``TV(p_β, q) ≤ 1 − Z_β/Z`` (T2).

``percentile_beta`` sets β from a pilot sample so that the estimated acceptance rate is at least
``min_acceptance`` (the paper's recipe for choosing β by compute); the pilot queries are returned so
they can be charged to the method.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from primitives._checks import check_positive, check_unit_interval
from primitives.laws import BaseLaw
from primitives.rejection import RejectionResult, rejection_sample
from primitives.rewards import Reward, as_reward

__all__ = ["quasi_rejection_sample", "percentile_beta"]


def quasi_rejection_sample(base: BaseLaw, reward: Reward, lam: float, beta: float, n: int, *,
                           generator: torch.Generator | None = None) -> RejectionResult:
    """QRS with constant β > 0: accept with ``min(1, e^{r/λ}/β)``."""
    lam = check_positive("lam", lam)
    beta = check_positive("beta", beta)
    return rejection_sample(base, reward, lam, lam * math.log(beta), n, generator=generator)


def percentile_beta(base: BaseLaw, reward: Reward, lam: float, min_acceptance: float, *, pilot: int = 4096,
                    generator: torch.Generator | None = None) -> tuple[float, int]:
    """Largest β (among the pilot's weights) whose pilot acceptance rate ``mean(min(w, β))/β`` is at least
    ``min_acceptance``; returns ``(β, pilot queries)``. Works in log space: β = e^{ℓ/λ} for a pilot reward ℓ."""
    lam = check_positive("lam", lam)
    min_acceptance = check_unit_interval("min_acceptance", min_acceptance)
    rewards = np.sort(as_reward(reward)(base.sample(pilot, generator)).cpu().numpy())
    log_weights = rewards / lam
    best = log_weights[0]
    for level in log_weights[::-1]:  # from the largest β down: acceptance increases as β decreases
        acceptance = float(np.mean(np.exp(np.minimum(log_weights, level) - level)))
        if acceptance >= min_acceptance:
            best = level
            break
    return float(math.exp(best)) if best < 700 else math.inf, pilot
