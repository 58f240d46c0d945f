"""Feynman–Kac steering: sequential Monte Carlo over a diffusion chain with value potentials.

Target: ``q(x_{0:T}) ∝ p(x_{0:T}) e^{r(x_0)/λ}`` (LCB spec, "Diffusion chains"). Each of n independent
systems carries K particles. At the prior step ``x_T ~ p_T`` with log-weight ``V̂_T(x_T)/λ``; at step
t = T−1, …, 0 each particle moves by the base kernel ``x_t ~ p_t(·|x_{t+1})`` (one query) and its
log-weight gains the incremental potential ``(V̂_t(x_t) − V̂_{t+1}(x_{t+1}))/λ``; at t = 0 the value is
the reward itself, ``V̂_0 = r``. The potentials telescope, so a particle that is never resampled carries
exactly ``r(x_0)/λ`` (weights *carry over* between resampling times). Before each move, a system whose
effective sample size ``(Σw)²/Σw²`` falls below ``ess_threshold·K`` is resampled multinomially and its
weights reset to equal. The output of a system is one particle drawn by its final weights.

With ``ess_threshold = 0`` no system ever resamples and the method is SIR over whole trajectories
(``primitives.peers.resampling``) with weights ``e^{r(x_0)/λ}``. Queries: ``K·(T + 1)`` per output.

Each system also returns its normalising-constant estimate ``log_normalizer = log Ẑ``, the product over
its resampling times of the mean weight (``(1/K) Σ_i w_i`` just before resampling) and of the final mean
weight. Because the potentials telescope to ``e^{r(x_0)/λ}``, ``E[Ẑ f(X)] = E_p[e^{r(x_0)/λ} f(x_{0:T})]``
for the system's output X and every bounded f (the standard unbiasedness of the SMC estimate of the
unnormalised Feynman–Kac measure, also with ESS-triggered resampling; proof in
``benchmarks/peers_diffusion.py``); in particular ``E Ẑ = Z = E_p e^{r/λ}`` whatever potentials V̂ are used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from primitives._checks import check_positive
from primitives.rewards import Reward, as_reward

__all__ = ["SMCResult", "fk_steering_sample"]


@dataclass(frozen=True)
class SMCResult:
    samples: torch.Tensor          # (n, *state_shape): one x_0 per system
    queries: int                   # kernel draws: n·K·(T + 1)
    resamplings: int               # number of (system, step) resampling events
    final_log_weights: torch.Tensor  # (n, K) log-weights at t = 0 before the output draw (unnormalised)
    final_states: torch.Tensor       # (n, K, *state_shape): the particles those weights belong to
    log_normalizer: torch.Tensor | None = None  # (n,) log Ẑ per system (module docstring)

    @property
    def queries_per_sample(self) -> float:
        return self.queries / max(self.samples.shape[0], 1)


def _resample(states: torch.Tensor, log_weights: torch.Tensor, rows: torch.Tensor, generator) -> tuple:
    """Multinomial resampling of the systems flagged in ``rows`` (states are (n, K, …))."""
    if not bool(rows.any()):
        return states, log_weights, 0
    probabilities = torch.softmax(log_weights[rows], dim=1)
    chosen = torch.multinomial(probabilities, probabilities.shape[1], replacement=True, generator=generator)
    states = states.clone()
    log_weights = log_weights.clone()
    selected = states[rows]
    states[rows] = torch.gather(selected, 1, chosen.view(*chosen.shape, *([1] * (selected.ndim - 2))).expand_as(selected))
    log_weights[rows] = 0.0
    return states, log_weights, int(rows.sum())


def fk_steering_sample(kernel, values: Callable[[torch.Tensor, int], torch.Tensor], reward: Reward, lam: float,
                       particles: int, n: int, *, generator: torch.Generator | None = None,
                       ess_threshold: float = 0.5) -> SMCResult:
    """n outputs of FK steering with K = ``particles`` particles each.

    ``kernel`` is the black-box chain (``steps``, ``state_shape``, ``sample_prior(m, g)``,
    ``sample_children(parents, t, 1, g)``); ``values(states, t)`` is V̂_t (exact or learned) for t ≥ 1.
    """
    lam = check_positive("lam", lam)
    if not isinstance(particles, int) or particles < 1:
        raise ValueError(f"particles must be a positive integer, got {particles!r}")
    if not 0.0 <= float(ess_threshold) <= 1.0:
        raise ValueError(f"ess_threshold must lie in [0, 1], got {ess_threshold!r}")
    reward = as_reward(reward)
    steps, shape = int(kernel.steps), tuple(kernel.state_shape)
    flat = kernel.sample_prior(n * particles, generator)
    log_weights = (values(flat, steps) / lam).reshape(n, particles).to(torch.float64)
    states = flat.reshape(n, particles, *shape)
    resamplings = 0
    log_particles = math.log(particles)
    log_normalizer = torch.zeros(n, dtype=torch.float64, device=log_weights.device)
    for t in range(steps - 1, -1, -1):
        weights = torch.softmax(log_weights, dim=1)
        ess = 1.0 / (weights**2).sum(dim=1)
        rows = ess < ess_threshold * particles
        log_normalizer = log_normalizer + torch.where(
            rows, torch.logsumexp(log_weights, dim=1) - log_particles, torch.zeros_like(log_normalizer))
        states, log_weights, count = _resample(states, log_weights, rows, generator)
        resamplings += count
        parents = states.reshape(n * particles, *shape)
        children = kernel.sample_children(parents, t, 1, generator).reshape(n * particles, *shape)
        previous = values(parents, t + 1)
        current = reward(children) if t == 0 else values(children, t)
        log_weights = log_weights + ((current - previous) / lam).reshape(n, particles).to(torch.float64)
        states = children.reshape(n, particles, *shape)
    choice = torch.multinomial(torch.softmax(log_weights, dim=1), 1, generator=generator).reshape(n)
    samples = states[torch.arange(n, device=choice.device), choice]
    log_normalizer = log_normalizer + torch.logsumexp(log_weights, dim=1) - log_particles
    return SMCResult(samples=samples, queries=n * particles * (steps + 1), resamplings=resamplings,
                     final_log_weights=log_weights, final_states=states, log_normalizer=log_normalizer)
