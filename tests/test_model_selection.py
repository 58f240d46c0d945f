"""The one model selection both trainers use (``learning.model_selection``): the candidates it weighs and the
choice it makes, on a small enumerable masked chain."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from learning.chain_baseline import LearnedChernoffBaseline
from learning.model_selection import select_network, selection_candidates
from learning.step_network import ConstantNetwork, StepFeatures, validation_log_cost
from primitives.chain_samplers import (EnvelopeBaseline, ExactSoftValues, per_step_rejection_sample,
                                       step_rejection_sample)
from primitives.diffusion import CountingKernel
from primitives.masked_diffusion import MaskedDiffusion, SequenceSetReward

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CAP, STEP = 3.0, 1


class Logit(torch.nn.Module):
    """γ ≡ constant: ``gamma_of`` maps the logit ``value`` to ``floor + (cap − floor)·sigmoid(value)``."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.full((features.shape[0], 1), self.value, dtype=features.dtype)


def _exact_tilted_children(kernel, parents, t, values, generator):
    envelope = torch.tensor([values.envelope(t)], dtype=torch.float64)
    return step_rejection_sample(kernel, parents, t, values, envelope, generator=generator)[0]


@pytest.fixture(scope="module")
def setting():
    sequences = np.array(list(itertools.product(range(3), repeat=3)))
    probs = np.random.default_rng(7).dirichlet(np.ones(len(sequences)))
    chain, reward = MaskedDiffusion(sequences, probs, 3), SequenceSetReward(3.0, sequences[[0, 13]])
    values = ExactSoftValues(chain, reward, 1.0)
    kernel = CountingKernel(chain)
    parents = per_step_rejection_sample(kernel, values, EnvelopeBaseline(values), 300,
                                        generator=torch.Generator().manual_seed(1), stop_at=STEP + 1).samples
    baseline = LearnedChernoffBaseline(values, CAP)
    baseline.features[STEP] = StepFeatures(parents, values(parents, STEP + 1), 1.0, chain.mask + 1)
    return kernel, values, parents, baseline


CANDIDATES = [("high", Logit(4.0), {}), ("constant", ConstantNetwork(), {}), ("low", Logit(-4.0), {})]


@settings(max_examples=6, deadline=None)
@given(order=st.permutations(range(len(CANDIDATES))))
def test_at_a_fixed_offset_the_smallest_gamma_wins_whatever_the_order(setting, order):
    """At one offset for every candidate the estimated cost ``log mean 1/Ẑ_b`` increases with γ (each
    acceptance ``min(1, e^{u − γ − c/λ})`` decreases in γ), so the lowest γ must be chosen, in any order."""
    kernel, values, parents, baseline = setting
    candidates = [CANDIDATES[i] for i in order]
    network, history, offset = select_network(candidates, baseline, kernel, values, parents, STEP, 8,
                                              _exact_tilted_children, lambda residuals: 0.5,
                                              torch.Generator().manual_seed(2))
    assert history["selected"] == "low" and offset == 0.5
    scores = history["selection_scores"]
    assert scores["low"] < scores["constant"] < scores["high"]


def test_the_chosen_offset_and_score_are_the_chosen_candidates(setting):
    """The returned offset is the estimate from the chosen candidate's own residuals, and its score is
    ``validation_log_cost`` at that offset (recomputed here from fresh draws of the same generator)."""
    kernel, values, parents, baseline = setting
    quantile = lambda residuals: float(np.quantile(residuals, 0.9))
    network, history, offset = select_network(CANDIDATES, baseline, kernel, values, parents, STEP, 8,
                                              _exact_tilted_children, quantile, torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(3)
    parent_values = values(parents, STEP + 1)
    kids = kernel.sample_children(parents, STEP, 8, generator)
    log_ratios = values(kids.reshape(-1, *kids.shape[2:]), STEP).reshape(parents.shape[0], 8) - parent_values[:, None]
    tilted = values(_exact_tilted_children(kernel, parents, STEP, values, generator), STEP)
    baseline.networks[STEP] = network
    gamma = baseline.gamma(parents, STEP, parent_values)
    assert offset == quantile((tilted - parent_values - gamma).numpy())
    assert history["selection_scores"][history["selected"]] == pytest.approx(
        validation_log_cost(gamma, offset, log_ratios, 1.0), rel=1e-12)
    assert history["selection_scores"][history["selected"]] == min(history["selection_scores"].values())


def test_candidates_are_warm_fresh_constant_regression_and_refit():
    calls = []

    def fit(seed, initial):
        calls.append((seed, initial))
        return Logit(float(len(calls))), {"seed": seed}

    inputs = torch.randn(40, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    log_ratios = torch.randn(40, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    candidates = selection_candidates(fit, (Logit(0.0), {"warm": True}), inputs, log_ratios, level=0.05, cap=CAP,
                                      hidden=4, iterations=3, learning_rate=0.01, seed=7, fresh=2)
    assert [name for name, _, _ in candidates] == ["warm_start", "fresh_0", "fresh_1", "constant",
                                                  "chernoff_regression", "chernoff_regression_refit"]
    assert [seed for seed, _ in calls] == [1007, 2007, 7] and calls[0][1] is None and calls[1][1] is None
    regression, refit_start = candidates[4][1], calls[2][1]
    assert refit_start is not regression
    assert all(torch.equal(a, b) for a, b in zip(regression.state_dict().values(), refit_start.state_dict().values()))
    assert isinstance(candidates[3][1], ConstantNetwork) and candidates[0][2] == {"warm": True}
