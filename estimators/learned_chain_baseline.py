"""Learned Chernoff baselines for per-step tilted rejection (LCB spec, "Learned baselines" and T6 on chains).

The baseline is ``b_t(y) = V̂_{t+1}(y) + λ γ_t(y) + c_t``: a small torch network ``γ_t`` on features of
``(y, t)`` (one head per step, bounded in ``[0, cap]``) plus a calibrated offset ``c_t``. Training uses
only the black-box kernel and runs from the top of the chain down, so each step sees parents from the
sampler it will serve:

1. Parents ``y ~ q̂_{t+1}`` are fresh runs of the chain with the baselines already fixed for steps > t
   (``per_step_rejection_sample(..., stop_at=t+1)``), split into a training and a held-out set.
2. **Fit** ``γ_t`` on training parents with k black-box children each, minimising the log of the expected
   proposal count subject to the δ-tail constraint (augmented Lagrangian, dual ascent on μ):
   ``log mean_i 1/Ẑ_b(y_i) + μ (τ̂/δ_train − 1)``, where ``Ẑ_b(y_i) = mean_j min(1, e^{u_ij − γ_i})``,
   ``u_ij = (V̂_t(x_ij) − V̂_{t+1}(y_i))/λ``, and ``τ̂`` estimates the tilted tail ``E_y P_{q_t(·|y)}(V_t > b(y))``
   with a smoothed indicator on a few children of the tilted kernel per training parent (drawn like the
   calibration children below). Untilted children alone see the tilted tail only through importance
   weights, which fail exactly where the tilt is strong (near the reward's boundary).
3. **Calibrate** ``c_t`` on the held-out parents, each with one child of the *tilted* kernel ``q_t(·|y)``
   (drawn by envelope rejection from the black box: exact, costly, counted as training queries): with
   residuals ``R_i = V̂_t(x_i) − V̂_{t+1}(y_i) − λγ_t(y_i)``, ``c_t`` is the order statistic ``R_(n−j*)``
   with ``j* = max{j : P(Bin(n, δ) ≤ j) ≤ η}``. Then ``P(P_pairs(R > c_t) > δ) ≤ η`` for any law of R
   (distribution-free binomial slack), i.e. with probability ≥ 1 − η over the held-out pairs,
   ``E_{y~q̂_{t+1}} P_{q_t(·|y)}(V_t > b_t(y)) ≤ δ``; by T2 per state this bounds T7's step term, and
   the path TV is ≤ (T + 1)δ with probability ≥ 1 − (T + 1)η (T6 on chains).

With exact soft values the calibration statement is exact. With learned values V̂ the kernel that the
sampler targets is ``∝ p e^{V̂/λ}``; T8 adds ``tanh(ε/2λ)`` per step for ``|V̂ − V| ≤ ε``.

The prior step has no parent: ``b_T = V̂_root + c_T`` with ``c_T`` calibrated the same way.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import binom

from primitives._checks import check_positive, check_unit_interval
from primitives.chain_samplers import EnvelopeBaseline, per_step_rejection_sample, step_rejection_sample
from primitives.diffusion import CountingKernel

__all__ = ["calibration_rank", "calibrate_offset", "LearnedChernoffBaseline", "TrainingReport",
           "train_learned_baseline", "StepFeatures", "fit_step_network"]


def calibration_rank(n: int, delta: float, eta: float) -> int:
    """``j* = max{j ≥ 0 : P(Bin(n, δ) ≤ j) ≤ η}``, or −1 when even j = 0 fails (n < log(1/η)/δ, roughly)."""
    delta = check_unit_interval("delta", delta)
    eta = check_unit_interval("eta", eta)
    if n < 1:
        return -1
    cdf = binom.cdf(np.arange(n + 1), n, delta)
    allowed = np.nonzero(cdf <= eta)[0]
    return int(allowed.max()) if allowed.size else -1


def calibrate_offset(residuals, delta: float, eta: float) -> float:
    """Offset c with ``P(P(R > c) > δ) ≤ η`` over i.i.d. residuals: the (j*+1)-th largest residual
    (``calibration_rank``); ``+inf`` when there are too few residuals for any guarantee.

    Proof: let ``u = inf{x : P(R > x) ≤ δ}``; then ``P(R ≥ u) ≥ δ``, and ``P(R > c) > δ`` forces
    ``c < u``, i.e. at most j* residuals are ``≥ u``: probability ``≤ P(Bin(n, δ) ≤ j*) ≤ η``.
    """
    residuals = np.sort(np.asarray(residuals, dtype=float).reshape(-1))
    if not np.isfinite(residuals).all():
        raise ValueError("residuals must be finite")
    rank = calibration_rank(residuals.size, delta, eta)
    if rank < 0:
        return math.inf
    return float(residuals[residuals.size - 1 - rank])


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


def _network(inputs: int, hidden: int) -> torch.nn.Module:
    network = torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, hidden),
                                  torch.nn.SiLU(), torch.nn.Linear(hidden, 1)).double()
    return network


def fit_step_network(features: torch.Tensor, log_ratios: torch.Tensor, *, delta_train: float, cap: float,
                     tilted_log_ratios: torch.Tensor | None = None, hidden: int = 32, iterations: int = 150,
                     learning_rate: float = 0.02, smoothing: float = 0.1, seed: int = 0,
                     initial: torch.nn.Module | None = None) -> tuple[torch.nn.Module, dict]:
    """Fit ``γ = cap·sigmoid(net(features))`` (in units of λ) on children's log-ratios
    ``u_ij = (V̂_t(x_ij) − V̂_{t+1}(y_i))/λ`` (shape (m, k)): minimise ``log mean_i 1/Ẑ_b(y_i)`` subject to
    the smoothed tilted tail ``τ̂ ≤ δ_train`` (dual ascent on the multiplier). ``τ̂`` averages
    ``sigmoid((u' − γ)/smoothing)`` over children ``x' ~ q_t(·|y)`` when ``tilted_log_ratios`` (m, k') are
    given (unbiased up to the smoothing), else it reweights the untilted children (self-normalised)."""
    torch.manual_seed(seed)
    network = initial if initial is not None else _network(features.shape[1], hidden)
    if initial is None:
        with torch.no_grad():
            network[-1].bias.fill_(math.log(1.0 / (cap - 1.0)) if cap > 1.0 else 0.0)  # γ ≈ 1 at start
    optimiser = torch.optim.Adam(network.parameters(), lr=learning_rate)
    weights = torch.softmax(log_ratios, -1)                     # self-normalised tilt per parent
    multiplier = 1.0
    history = {}
    for _ in range(iterations):
        gamma = cap * torch.sigmoid(network(features)[:, 0])
        log_accept = torch.clamp(log_ratios - gamma[:, None], max=0.0)
        log_zb = torch.logsumexp(log_accept, -1) - math.log(log_ratios.shape[1])
        log_proposals = torch.logsumexp(-log_zb, 0) - math.log(log_ratios.shape[0])
        if tilted_log_ratios is not None:
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


@dataclass
class TrainingReport:
    """What training spent and found: kernel draws (all of them, the model queries of training), offsets,
    calibration sizes and ranks, the training objective at the end of each step, wall time."""

    training_queries: int = 0
    offsets: dict[int, float] = field(default_factory=dict)
    ranks: dict[int, int] = field(default_factory=dict)
    calibration_pairs: int = 0
    delta: float = 0.0
    eta: float = 0.0
    history: dict[int, dict] = field(default_factory=dict)
    seconds: float = 0.0


class LearnedChernoffBaseline:
    """``b_t(y) = V̂_{t+1}(y) + λ γ_t(y) + c_t`` (``V̂_root + c_T`` at the prior), capped at ``sup V̂_t``."""

    def __init__(self, values, cap: float) -> None:
        self.values = values
        self.cap = cap
        self.networks: dict[int, torch.nn.Module] = {}
        self.features: dict[int, StepFeatures] = {}
        self.offsets: dict[int, float] = {}

    def gamma(self, parents: torch.Tensor, t: int, parent_values: torch.Tensor | None = None) -> torch.Tensor:
        """``γ_t(y)`` (units of λ); 0 at steps without a network."""
        if t not in self.networks:
            return torch.zeros(parents.shape[0], dtype=torch.float64, device=parents.device)
        if parent_values is None:
            parent_values = self.values(parents, t + 1)
        with torch.no_grad():
            return self.cap * torch.sigmoid(self.networks[t](self.features[t](parents, parent_values))[:, 0])

    def __call__(self, parents: torch.Tensor | None, t: int) -> torch.Tensor:
        lam = self.values.lam
        envelope = self.values.envelope(t)
        offset = self.offsets.get(t, math.inf)
        if parents is None:
            return torch.tensor(min(self.values.root() + offset, envelope), dtype=torch.float64)
        parent_values = self.values(parents, t + 1)
        b = parent_values + lam * self.gamma(parents, t, parent_values) + offset
        return torch.clamp(b, max=envelope)


def _tilted_children(kernel, parents, t, values, generator):
    """One child of ``q_t(·|y)`` per parent (or n prior draws of q_T): envelope rejection, exact."""
    envelope = torch.tensor([values.envelope(t)], dtype=torch.float64)
    children, _ = step_rejection_sample(kernel, parents, t, values, envelope, generator=generator)
    return children


def train_learned_baseline(kernel, values, *, delta: float, eta: float, train_parents: int = 2048,
                           children: int = 32, tilted_children: int = 2, calibration_pairs: int = 4000, cap: float = 6.0,
                           hidden: int = 32, iterations: int = 300, train_fraction: float = 0.4,
                           vocabulary: int | None = None, generator: torch.Generator | None = None,
                           log=None) -> tuple[LearnedChernoffBaseline, TrainingReport]:
    """Train and calibrate a ``LearnedChernoffBaseline`` step by step from the prior down (module docstring).

    ``delta``, ``eta``: per-step tail budget and failure probability (the path TV is then ≤ (T+1)δ with
    probability ≥ 1 − (T+1)η). ``vocabulary``: one-hot size for token states (masked chains).
    """
    delta = check_unit_interval("delta", delta)
    eta = check_unit_interval("eta", eta)
    cap = check_positive("cap", cap)
    lam = values.lam
    counting = kernel if isinstance(kernel, CountingKernel) else CountingKernel(kernel)
    start, clock = counting.draws, time.perf_counter()
    baseline = LearnedChernoffBaseline(values, cap)
    report = TrainingReport(delta=delta, eta=eta, calibration_pairs=calibration_pairs)
    steps = counting.steps
    # Prior step: b_T = V̂_root + c_T.
    prior_children, _ = step_rejection_sample(counting, None, steps, values, torch.tensor([values.envelope(steps)]),
                                              n=calibration_pairs, generator=generator)
    residuals = (values(prior_children, steps) - values.root()).cpu().numpy()
    baseline.offsets[steps] = calibrate_offset(residuals, delta, eta)
    report.offsets[steps], report.ranks[steps] = baseline.offsets[steps], calibration_rank(calibration_pairs, delta, eta)
    previous = None
    for t in reversed(range(steps)):
        fresh = per_step_rejection_sample(counting, values, baseline, train_parents + calibration_pairs,
                                          generator=generator, stop_at=t + 1).samples
        training, held_out = fresh[:train_parents], fresh[train_parents:]
        parent_values = values(training, t + 1)
        kids = counting.sample_children(training, t, children, generator)
        kid_values = values(kids.reshape(-1, *kids.shape[2:]), t).reshape(train_parents, children)
        log_ratios = (kid_values - parent_values[:, None]) / lam
        tilted_log_ratios = None
        if tilted_children > 0:
            repeated = training.repeat_interleave(tilted_children, 0)
            tilted = _tilted_children(counting, repeated, t, values, generator)
            tilted_log_ratios = ((values(tilted, t) - parent_values.repeat_interleave(tilted_children)) / lam
                                 ).reshape(train_parents, tilted_children)
        features = StepFeatures(training, parent_values, lam, vocabulary)
        network, history = fit_step_network(
            features(training, parent_values), log_ratios, delta_train=train_fraction * delta, cap=cap, hidden=hidden,
            tilted_log_ratios=tilted_log_ratios, iterations=iterations, seed=t,
            initial=None if previous is None else _copy(previous))
        baseline.networks[t], baseline.features[t] = network, features
        # Calibration on held-out parents with one tilted child each.
        tilted = _tilted_children(counting, held_out, t, values, generator)
        held_values = values(held_out, t + 1)
        residuals = (values(tilted, t) - held_values - lam * baseline.gamma(held_out, t, held_values)).cpu().numpy()
        baseline.offsets[t] = calibrate_offset(residuals, delta, eta)
        report.offsets[t], report.ranks[t], report.history[t] = baseline.offsets[t], calibration_rank(
            calibration_pairs, delta, eta), history
        previous = network
        if log is not None:
            log(f"step {t}: offset {baseline.offsets[t]:.3f}, tail {history['tail']:.4f}, "
                f"log N {history['log_proposals']:.3f}, training queries so far {counting.draws - start}")
    report.training_queries = counting.draws - start
    report.seconds = time.perf_counter() - clock
    return baseline, report


def _copy(network: torch.nn.Module) -> torch.nn.Module:
    clone = _network(network[0].in_features, network[0].out_features)
    clone.load_state_dict(network.state_dict())
    return clone
