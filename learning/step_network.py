"""The per-step network γ_t of a learned chain baseline, its fits, and the other candidates model selection weighs.

``b_t(y) = V̂_{t+1}(y) + λ γ_t(y) + c_t`` (``learning.chain_baseline``): γ_t is a small torch network on
``StepFeatures`` of ``(y, t)``, bounded in ``[GAMMA_FLOOR, cap]`` (``gamma_of``). ``fit_step_network`` fits it
to the expected proposal count under the δ-constraint (augmented Lagrangian); ``fit_gamma_regression`` fits it
by least squares to per-parent empirical Chernoff offsets (``empirical_chernoff_gamma``, T3 per state);
``ConstantNetwork`` is γ ≡ 0 (the offset alone). ``validation_log_cost`` is the score model selection
(``learning.model_selection``) ranks them by.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from primitives._checks import check_unit_interval

__all__ = ["GAMMA_FLOOR", "StepFeatures", "gamma_of", "fit_step_network", "ConstantNetwork", "CHERNOFF_S_GRID",
           "empirical_chernoff_gamma", "fit_gamma_regression", "validation_log_cost", "copy_network"]

GAMMA_FLOOR = -2.0   # γ ∈ [GAMMA_FLOOR, cap] (units of λ): the baseline may sit below V̂_{t+1}(y)


class StepFeatures:
    """Features of a parent y at one step: the state (standardised; one-hot for token states) and
    ``V̂_{t+1}(y)/λ``, standardised with statistics frozen at training time."""

    def __init__(self, states: torch.Tensor, parent_values: torch.Tensor, lam: float, vocabulary: int | None) -> None:
        self.vocabulary, self.lam = vocabulary, lam
        raw = self._raw(states, parent_values)
        self.mean = raw.mean(0)
        self.scale = raw.std(0).clamp(min=1e-6)

    def _raw(self, states: torch.Tensor, parent_values: torch.Tensor) -> torch.Tensor:
        if self.vocabulary is not None:
            encoded = torch.nn.functional.one_hot(states.long(), self.vocabulary).reshape(states.shape[0], -1).double()
        else:
            encoded = states.double().reshape(states.shape[0], -1)
        return torch.cat([encoded, (parent_values.double() / self.lam)[:, None]], -1)

    def __call__(self, states: torch.Tensor, parent_values: torch.Tensor) -> torch.Tensor:
        return (self._raw(states, parent_values) - self.mean) / self.scale


def _network(inputs: int, hidden: int, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The step network, initialised on the CPU (from torch's seeded global generator, the same weights on
    every device) and moved to ``device``."""
    network = torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, hidden),
                                  torch.nn.SiLU(), torch.nn.Linear(hidden, 1)).double()
    return network.to(device)


def gamma_of(network: torch.nn.Module, features: torch.Tensor, cap: float) -> torch.Tensor:
    """``γ = floor + (cap − floor)·sigmoid(net(features))``."""
    return GAMMA_FLOOR + (cap - GAMMA_FLOOR) * torch.sigmoid(network(features)[:, 0])


def fit_step_network(features: torch.Tensor, log_ratios: torch.Tensor, *, delta_train: float, cap: float,
                     tilted_log_ratios: torch.Tensor | None = None, hidden: int = 32, iterations: int = 150,
                     learning_rate: float = 0.02, smoothing: float = 0.1, seed: int = 0, warmup: float = 0.5,
                     fine_tune: float = 1.0, constraint: str = "tail",
                     initial: torch.nn.Module | None = None) -> tuple[torch.nn.Module, dict]:
    """Fit ``γ`` (units of λ, see ``gamma_of``) on children's log-ratios ``u_ij = (V̂_t(x_ij) − V̂_{t+1}(y_i))/λ``
    (shape (m, k)): minimise the log of the expected proposal count ``log mean_i 1/Ẑ_b(y_i)`` subject to
    ``τ̂ ≤ δ_train`` (dual ascent on the multiplier). With ``constraint="tail"`` (default) ``τ̂`` is the
    smoothed tail ``sigmoid((u' − γ)/smoothing)`` averaged over children ``x' ~ q_t(·|y)``
    (``tilted_log_ratios``, (m, k')); with ``constraint="clip"`` it is the clipped mass
    ``(1 − e^{−(u' − γ)})_+`` (unbiased for ``E_y D/Z(y)``, but driven by one or two large tilted excesses at
    these δ, which made training erratic in our runs). Without tilted children the untilted ones are
    reweighted (self-normalised).

    For the first ``warmup`` fraction of iterations the objective is ``mean_i log(1/Ẑ_b(y_i))`` instead (then
    the stated objective, at ``fine_tune`` times the learning rate): the gradient of the log-mean is
    dominated by the few parents whose count is large whatever the baseline (their tilted mass sits on rare
    children), and the shared network then barely moves on, or undoes its fit of, the many cheap parents;
    the per-parent logs weigh every parent equally and learn the shape first."""
    torch.manual_seed(seed)
    network = initial if initial is not None else _network(features.shape[1], hidden, features.device)
    if initial is None:
        with torch.no_grad():
            network[-1].bias.fill_(math.log((1.0 - GAMMA_FLOOR) / (cap - 1.0)))     # γ = 1 at start
    optimiser = torch.optim.Adam(network.parameters(), lr=learning_rate)
    weights = torch.softmax(log_ratios, -1)                     # self-normalised tilt per parent
    multiplier = 1.0
    history = {}
    for iteration in range(iterations):
        gamma = gamma_of(network, features, cap)
        log_accept = torch.clamp(log_ratios - gamma[:, None], max=0.0)
        log_zb = torch.logsumexp(log_accept, -1) - math.log(log_ratios.shape[1])
        if iteration < warmup * iterations:
            log_proposals = (-log_zb).mean()
        else:
            if iteration == math.ceil(warmup * iterations) and fine_tune != 1.0:
                for group in optimiser.param_groups:
                    group["lr"] = fine_tune * learning_rate
            log_proposals = torch.logsumexp(-log_zb, 0) - math.log(log_ratios.shape[0])
        if constraint == "clip":
            # E_y D/Z(y) = E over tilted pairs of (1 − e^{−(u' − γ)})_+ (self-normalised without tilted children).
            excess = (tilted_log_ratios if tilted_log_ratios is not None else log_ratios) - gamma[:, None]
            clipped = -torch.expm1(-torch.clamp(excess, min=0.0))
            tail = clipped.mean() if tilted_log_ratios is not None else (weights * clipped).sum(-1).mean()
        elif tilted_log_ratios is not None:
            tail = torch.sigmoid((tilted_log_ratios - gamma[:, None]) / smoothing).mean()
        else:
            tail = (weights * torch.sigmoid((log_ratios - gamma[:, None]) / smoothing)).sum(-1).mean()
        violation = tail / delta_train - 1.0
        loss = log_proposals + multiplier * violation
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        multiplier = max(0.0, multiplier + 0.5 * float(violation.detach()))
        history = {"log_proposals": float(log_proposals.detach()), "tail": float(tail.detach()), "multiplier": multiplier}
    return network, history


class ConstantNetwork(torch.nn.Module):
    """The γ ≡ constant candidate (``b_t(y) = V̂_{t+1}(y) + c_t``): the offset alone carries the baseline."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.zeros(features.shape[0], 1, dtype=features.dtype, device=features.device)


CHERNOFF_S_GRID = tuple(float(s) for s in np.geomspace(0.05, 20.0, 40))


def empirical_chernoff_gamma(log_ratios: torch.Tensor, delta: float,
                             s_grid: tuple[float, ...] = CHERNOFF_S_GRID) -> torch.Tensor:
    """Per-parent Chernoff offsets (units of λ) of the tilted tail from base children alone (T3 per state):
    with ``U_ij = (V̂_t(x_ij) − V̂_{t+1}(y_i))/λ`` and ``Λ̂_i(a) = log mean_j e^{a U_ij}``, the tilted empirical
    law has ``log E_q̂ e^{sU} = Λ̂_i(1 + s) − Λ̂_i(1)``, so ``P_q̂(U > g) ≤ δ`` at
    ``g_i = min_s [Λ̂_i(1 + s) − Λ̂_i(1) + log(1/δ)]/s``. A noisy per-parent regression target: the network
    fitted to it learns the *shape* of the oracle's per-state Chernoff offset from black-box draws only; its
    level is then set by calibration."""
    delta = check_unit_interval("delta", delta)
    grid = torch.tensor(s_grid, dtype=log_ratios.dtype, device=log_ratios.device)
    count = math.log(log_ratios.shape[1])
    base = torch.logsumexp(log_ratios, -1) - count                                        # Λ̂(1)
    shifted = torch.logsumexp((1.0 + grid)[None, :, None] * log_ratios[:, None, :], -1) - count   # (m, S)
    return ((shifted - base[:, None] + math.log(1.0 / delta)) / grid[None, :]).min(-1).values


def fit_gamma_regression(features: torch.Tensor, targets: torch.Tensor, *, cap: float, hidden: int = 32,
                         iterations: int = 300, learning_rate: float = 0.02, seed: int = 0) -> torch.nn.Module:
    """Least squares of ``γ(y)`` (``gamma_of``) onto per-parent targets clamped to ``[GAMMA_FLOOR, cap]``."""
    torch.manual_seed(seed)
    network = _network(features.shape[1], hidden, features.device)
    targets = torch.clamp(targets, GAMMA_FLOOR, cap)
    optimiser = torch.optim.Adam(network.parameters(), lr=learning_rate)
    for _ in range(iterations):
        loss = ((gamma_of(network, features, cap) - targets) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return network


def validation_log_cost(gamma: torch.Tensor, offset: float, log_ratios: torch.Tensor, lam: float) -> float:
    """``log mean_i 1/Ẑ_b(y_i)`` at ``b = V̂_{t+1} + λγ + c``: the estimated log expected proposal count of a
    candidate on validation parents, ``Ẑ_b(y_i) = mean_j min(1, e^{u_ij − γ_i − c/λ})`` over base children."""
    if not math.isfinite(offset):
        return math.inf
    log_accept = torch.clamp(log_ratios - gamma[:, None] - offset / lam, max=0.0)
    log_zb = torch.logsumexp(log_accept, -1) - math.log(log_ratios.shape[1])
    return float(torch.logsumexp(-log_zb, 0) - math.log(log_ratios.shape[0]))


def copy_network(network: torch.nn.Module) -> torch.nn.Module:
    clone = _network(network[0].in_features, network[0].out_features, network[0].weight.device)
    clone.load_state_dict(network.state_dict())
    return clone
