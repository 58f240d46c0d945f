"""Learned Chernoff baselines for per-step tilted rejection (LCB spec, "Learned baselines" and T6 on chains).

The baseline is ``b_t(y) = V̂_{t+1}(y) + λ γ_t(y) + c_t``: a small torch network ``γ_t`` on features of
``(y, t)`` (one head per step, bounded in ``[−2, cap]``) plus a calibrated offset ``c_t``. Training uses
only the black-box kernel and runs from the top of the chain down, so each step sees parents from the
sampler it will serve:

1. Parents ``y ~ q̂_{t+1}`` are fresh runs of the chain with the baselines already fixed for steps > t
   (``per_step_rejection_sample(..., stop_at=t+1)``), split into a training and a held-out set.
2. **Fit** ``γ_t`` on training parents with k black-box children each, minimising the log of the expected
   proposal count subject to the δ-constraint (augmented Lagrangian, dual ascent on μ):
   ``log mean_i 1/Ẑ_b(y_i) + μ (τ̂/δ_train − 1)``, where ``Ẑ_b(y_i) = mean_j min(1, e^{u_ij − γ_i})``,
   ``u_ij = (V̂_t(x_ij) − V̂_{t+1}(y_i))/λ``, and ``τ̂`` estimates the clipped mass ``E_y D/Z(y)`` (or the
   tilted tail) on a few children of the tilted kernel per training parent (drawn like the calibration
   children below). Untilted children alone see the tilted tail only through importance
   weights, which fail exactly where the tilt is strong (near the reward's boundary).
3. **Calibrate** ``c_t`` on the held-out parents, each with one child of the *tilted* kernel ``q_t(·|y)``
   (drawn by envelope rejection from the black box: exact, costly, counted as training queries), with
   residuals ``R_i = V̂_t(x_i) − V̂_{t+1}(y_i) − λγ_t(y_i)``. Default (``calibration="tail"``): ``c_t`` is the
   order statistic ``R_(n−j*)``, ``j* = max{j : P(Bin(n, δ) ≤ j) ≤ η}``, which bounds the tail
   ``P_q(V_t > b) ≥ D/Z`` distribution-free. Alternative (``calibration="clip"``, spec T6's clipping mass
   directly): ``W_i(c) = (1 − e^{−(R_i − c)/λ})_+ ∈ [0, 1]`` has mean ``E_y D/Z(y)`` at ``b = b_θ + c``, and
   ``c_t`` comes from a fixed-sequence test over a fixed grid of offsets with a KL/Bernstein upper
   confidence bound at level η (``calibrate_clip_offset``). Either way, with probability ≥ 1 − η over the
   held-out pairs,
   ``E_{y~q̂_{t+1}} D/Z(y) ≤ δ``; by T2 per state this bounds T7's step term, and the path TV is
   ≤ (T + 1)δ with probability ≥ 1 − (T + 1)η (T6 on chains).

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

from estimators.offset_calibration import calibrate_clip_offset, calibrate_offset, calibration_rank, point_offset
from learning.model_selection import select_network, selection_candidates
from learning.step_network import ConstantNetwork, StepFeatures, copy_network, fit_step_network, gamma_of
from primitives._checks import check_positive, check_unit_interval
from primitives.chain_samplers import per_step_rejection_sample, step_rejection_sample
from primitives.diffusion import CountingKernel

__all__ = ["LearnedChernoffBaseline", "TrainingReport", "LearnedSoftValues", "fit_soft_values", "train_learned_baseline",
           "train_selected_baseline"]


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
    validation_costs: list[float] = field(default_factory=list)   # queries/sample of each training (selection)
    selected_training: int = 0
    path_tests: list = field(default_factory=list)        # path calibration (learning.path_calibration)
    base_offsets: dict[int, float] = field(default_factory=dict)


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
            return gamma_of(self.networks[t], self.features[t](parents, parent_values), self.cap)

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
    envelope = torch.tensor([values.envelope(t)], dtype=torch.float64, device=parents.device)
    children, _ = step_rejection_sample(kernel, parents, t, values, envelope, generator=generator)
    return children


def train_learned_baseline(kernel, values, *, delta: float, eta: float, train_parents: int = 2048,
                           children: int = 32, tilted_children: int = 2, calibration_pairs: int = 4000, cap: float = 6.0,
                           hidden: int = 32, iterations: int = 300, learning_rate: float = 0.02,
                           smoothing: float = 0.1, train_fraction: float = 0.4, calibration: str = "tail",
                           training_constraint: str = "tail", selection_pairs: int = 0, fresh_candidates: int = 0,
                           vocabulary: int | None = None, generator: torch.Generator | None = None,
                           log=None) -> tuple[LearnedChernoffBaseline, TrainingReport]:
    """Train and calibrate a ``LearnedChernoffBaseline`` step by step from the prior down (module docstring).

    ``delta``, ``eta``: per-step tail budget and failure probability (the path TV is then ≤ (T+1)δ with
    probability ≥ 1 − (T+1)η). ``vocabulary``: one-hot size for token states (masked chains).

    **Model selection** (``selection_pairs > 0``): one fit of the shared network can land badly on the few
    parents that dominate the expected count, and a single step's bad fit then dominates the chain's cost.
    Each step then fits several candidates — the network warm-started from the step above, ``fresh_candidates``
    freshly initialised networks (other seeds; none by default: without the warm start's curriculum they fit
    worse in our runs), γ ≡ constant (``b = V̂_{t+1} + c``), a network regressed on per-parent empirical
    Chernoff offsets (``empirical_chernoff_gamma``), and the stated objective fitted from that regression —
    and keeps the one
    with the smallest estimated count ``validation_log_cost`` on ``selection_pairs`` further parents, each
    candidate with its own offset estimated on those parents' tilted children by the same rule without
    confidence slack (``point_offset``: a ranking criterion; the guarantee comes only from calibration). The
    selection parents are drawn independently of the calibration parents, so the chosen network is a
    function of data independent of the calibration pairs and the calibration guarantee holds for it
    unchanged (no union bound over candidates is needed). Every draw is counted in ``training_queries``.
    """
    delta = check_unit_interval("delta", delta)
    eta = check_unit_interval("eta", eta)
    cap = check_positive("cap", cap)
    if isinstance(selection_pairs, bool) or not isinstance(selection_pairs, int) or selection_pairs < 0:
        raise ValueError(f"selection_pairs must be a non-negative integer, got {selection_pairs!r}")
    lam = values.lam
    counting = kernel if isinstance(kernel, CountingKernel) else CountingKernel(kernel)
    start, clock = counting.draws, time.perf_counter()
    baseline = LearnedChernoffBaseline(values, cap)
    report = TrainingReport(delta=delta, eta=eta, calibration_pairs=calibration_pairs)
    steps = counting.steps
    # Prior step: b_T = V̂_root + c_T.
    prior_children, _ = step_rejection_sample(counting, None, steps, values, torch.tensor([values.envelope(steps)], device=counting.device),
                                              n=calibration_pairs, generator=generator)
    if calibration not in ("clip", "tail"):
        raise ValueError(f"calibration must be 'clip' or 'tail', got {calibration!r}")

    def calibrate(residuals: np.ndarray) -> float:
        if calibration == "tail":
            return calibrate_offset(residuals, delta, eta)
        return calibrate_clip_offset(residuals, lam, delta, eta)

    def estimate_offset(residuals: np.ndarray) -> float:
        """The same rule without confidence slack (for ranking candidates only, never for the guarantee)."""
        return point_offset(residuals, lam, delta, calibration)

    residuals = (values(prior_children, steps) - values.root()).cpu().numpy()
    baseline.offsets[steps] = calibrate(residuals)
    report.offsets[steps], report.ranks[steps] = baseline.offsets[steps], calibration_rank(calibration_pairs, delta, eta)
    previous = None
    for t in reversed(range(steps)):
        fresh = per_step_rejection_sample(counting, values, baseline, train_parents + calibration_pairs + selection_pairs,
                                          generator=generator, stop_at=t + 1).samples
        training = fresh[:train_parents]
        held_out = fresh[train_parents:train_parents + calibration_pairs]
        selection = fresh[train_parents + calibration_pairs:]
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

        def fit(seed: int, initial):
            return fit_step_network(
                features(training, parent_values), log_ratios, delta_train=train_fraction * delta, cap=cap,
                hidden=hidden, tilted_log_ratios=tilted_log_ratios, iterations=iterations,
                learning_rate=learning_rate, smoothing=smoothing, constraint=training_constraint, seed=seed,
                initial=initial)

        network, history = fit(t, None if previous is None else copy_network(previous))
        baseline.features[t] = features
        if selection_pairs > 0:
            candidates = selection_candidates(fit, (network, history), features(training, parent_values), log_ratios,
                                              level=delta, cap=cap, hidden=hidden, iterations=iterations,
                                              learning_rate=learning_rate, seed=t, fresh=fresh_candidates)
            network, history, _ = select_network(candidates, baseline, counting, values, selection, t, children,
                                                 _tilted_children, estimate_offset, generator)
        baseline.networks[t] = network
        # Calibration on held-out parents with one tilted child each.
        tilted = _tilted_children(counting, held_out, t, values, generator)
        held_values = values(held_out, t + 1)
        residuals = (values(tilted, t) - held_values - lam * baseline.gamma(held_out, t, held_values)).cpu().numpy()
        baseline.offsets[t] = calibrate(residuals)
        report.offsets[t], report.ranks[t], report.history[t] = baseline.offsets[t], calibration_rank(
            calibration_pairs, delta, eta), history
        if not isinstance(network, ConstantNetwork):
            previous = network
        if log is not None:
            log(f"step {t}: offset {baseline.offsets[t]:.3f}, tail {history.get('tail', math.nan):.4f}, "
                f"log N {history.get('log_proposals', math.nan):.3f}, selected {history.get('selected', 'warm_start')}, "
                f"training queries so far {counting.draws - start}")
    report.training_queries = counting.draws - start
    report.seconds = time.perf_counter() - clock
    return baseline, report


def train_selected_baseline(kernel, values, *, delta: float, eta: float, trainings: int = 2,
                            validation_samples: int = 2000, generator: torch.Generator | None = None,
                            **training) -> tuple[LearnedChernoffBaseline, TrainingReport]:
    """Train ``trainings`` baselines (``train_learned_baseline``, each at failure probability ``η/trainings``)
    and keep the one whose sampler spends the fewest kernel queries on ``validation_samples`` fresh runs.

    Why: one training's cost varies a lot with its data (a rare region where γ comes out too low forces a
    large calibrated offset at every state of that step). Guarantee: each candidate's calibration fails with
    probability ≤ (T + 1)η/trainings, so all of them hold together with probability ≥ 1 − (T + 1)η
    (union bound), and then so does the chosen one, whatever the validation runs say. Every kernel draw of
    every training and of the validation runs is counted in ``training_queries``.
    """
    if isinstance(trainings, bool) or not isinstance(trainings, int) or trainings < 1:
        raise ValueError(f"trainings must be a positive integer, got {trainings!r}")
    eta = check_unit_interval("eta", eta)
    counting = kernel if isinstance(kernel, CountingKernel) else CountingKernel(kernel)
    start, clock = counting.draws, time.perf_counter()
    best, best_cost, costs, chosen = None, math.inf, [], 0
    for index in range(trainings):
        baseline, report = train_learned_baseline(counting, values, delta=delta, eta=eta / trainings,
                                                  generator=generator, **training)
        cost = per_step_rejection_sample(counting, values, baseline, validation_samples,
                                         generator=generator).queries_per_sample
        costs.append(cost)
        if cost < best_cost:
            best, best_cost, best_report, chosen = baseline, cost, report, index
    best_report.training_queries = counting.draws - start
    best_report.seconds = time.perf_counter() - clock
    best_report.eta = eta
    best_report.validation_costs, best_report.selected_training = costs, chosen
    return best, best_report


class LearnedSoftValues:
    """``V̂_t``: one small network per step t ≥ 1 (``V̂_0 = r`` is known), clamped to ``[inf r, sup r]``
    (the true V_t lies there, so clamping only shrinks the error); ``root`` is ``λ log`` of the Monte Carlo
    mean of ``e^{V̂_T/λ}`` over prior draws. ``exact`` is False: a sampler using these targets
    ``∝ p e^{V̂/λ}``, within ``tanh(ε/2λ)`` of the exact kernel per step when ``|V̂ − V| ≤ ε`` (T8)."""

    exact = False

    def __init__(self, reward, lam: float, low: float, high: float, vocabulary: int | None,
                 features=None) -> None:
        self.reward, self.lam, self.low, self.high, self.vocabulary = reward, lam, low, high, vocabulary
        self.features = features          # optional states -> (m, f) features replacing the raw encoding
        self.networks: dict[int, torch.nn.Module] = {}
        self.means: dict[int, torch.Tensor] = {}
        self.scales: dict[int, torch.Tensor] = {}
        self._root = 0.0

    def _encode(self, states: torch.Tensor) -> torch.Tensor:
        if self.features is not None:
            return self.features(states).double()
        if self.vocabulary is not None:
            return torch.nn.functional.one_hot(states.long(), self.vocabulary).reshape(states.shape[0], -1).double()
        return states.double().reshape(states.shape[0], -1)

    def __call__(self, states: torch.Tensor, t: int) -> torch.Tensor:
        if t == 0:
            return self.reward(states).double()
        with torch.no_grad():
            raw = self.networks[t]((self._encode(states) - self.means[t]) / self.scales[t])[:, 0]
        return torch.clamp(raw, self.low, self.high)

    def root(self) -> float:
        return self._root

    def envelope(self, t: int) -> float:
        return self.high


def fit_soft_values(kernel, reward, lam: float, *, parents: int = 2048, children: int = 32, iterations: int = 400,
                    hidden: int = 64, learning_rate: float = 0.01, vocabulary: int | None = None, features=None,
                    generator: torch.Generator | None = None) -> tuple[LearnedSoftValues, int]:
    """Fit ``V̂_t`` for t = 1..T by soft Bellman regression on black-box draws, bottom-up:
    parents ``y`` from the base chain's marginal at step t, targets ``λ log mean_j e^{V̂_{t−1}(x_j)/λ}``
    over k children ``x_j ~ p_{t−1}(·|y)`` (a consistent estimate of ``V_t(y)``), least squares.
    Returns the values and the kernel draws spent. Coverage follows the base chain: where the base
    chain rarely goes (the reward's rare region) the fit is loose, which T8 accounts for. ``features``
    (states -> (m, f)) replaces the one-hot/raw encoding of the states (e.g. ``KeywordReward.features``)."""
    from primitives.chain_samplers import unaligned_sample

    lam = check_positive("lam", lam)
    counting = kernel if isinstance(kernel, CountingKernel) else CountingKernel(kernel)
    start = counting.draws
    if not (math.isfinite(reward.sup)):
        raise ValueError("fit_soft_values needs a reward with a finite supremum (to bound V̂)")
    states = unaligned_sample(counting, parents, generator=generator, record_states=True).states
    low = float(torch.min(reward(states[0]))) if not hasattr(reward, "height") else min(0.0, float(reward.height))
    values = LearnedSoftValues(reward, lam, low, float(reward.sup), vocabulary, features)
    for t in range(1, counting.steps + 1):
        y = states[t]
        kids = counting.sample_children(y, t - 1, children, generator)
        kid_values = values(kids.reshape(-1, *kids.shape[2:]), t - 1).reshape(parents, children)
        targets = lam * (torch.logsumexp(kid_values / lam, -1) - math.log(children))
        encoded = values._encode(y)
        values.means[t], values.scales[t] = encoded.mean(0), encoded.std(0).clamp(min=1e-6)
        inputs = (encoded - values.means[t]) / values.scales[t]
        torch.manual_seed(t)
        network = torch.nn.Sequential(torch.nn.Linear(inputs.shape[1], hidden), torch.nn.SiLU(),
                                      torch.nn.Linear(hidden, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, 1)
                                      ).double().to(inputs.device)
        optimiser = torch.optim.Adam(network.parameters(), lr=learning_rate)
        for _ in range(iterations):
            loss = ((network(inputs)[:, 0] - targets) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        values.networks[t] = network
    prior = counting.sample_prior(parents * children, generator)
    values._root = lam * (float(torch.logsumexp(values(prior, counting.steps) / lam, 0)) - math.log(prior.shape[0]))
    return values, counting.draws - start
