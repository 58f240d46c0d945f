"""``estimators.step_costs``: trajectory rejection's expected queries and the identity that exact per-step
rejection at the envelope costs the same, checked on random finite chains by exact enumeration (an independent
route: backward soft values and forward aligned marginals by matrix products); the oracle per-parent baseline
against a brute-force scan of T2's D/Z; the benchmark's powered share test at its designed n."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.masked_lm_analysis import clopper_pearson, share_test
from estimators.step_costs import best_saving, oracle_parent_costs, trajectory_queries, two_level_log_partition
from tiltproof.byo.chain_reference import two_sample_sample_size


def _random_chain(seed: int, steps: int, size: int):
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.ones(size))
    kernels = [rng.dirichlet(np.ones(size) * 0.5, size=size) for _ in range(steps)]  # kernels[t][y, x] = p_t(x|y)
    reward_set = rng.random(size) < 0.3
    reward_set[0] = True
    return prior, kernels, reward_set


def _exact_envelope_cost(prior, kernels, reward_set, height: float, lam: float) -> tuple[float, float]:
    """(Σ_t E_{q_{t+1}} e^{(B − V_{t+1})/λ} + prior step's e^{B/λ}/Z, p_0(A)) by enumeration."""
    steps = len(kernels)
    values = [None] * (steps + 1)
    values[0] = height * reward_set.astype(float)
    for t in range(steps):
        values[t + 1] = lam * np.log(kernels[t] @ np.exp(values[t] / lam))
    log_z = lam * 0 + math.log(float(prior @ np.exp(values[steps] / lam)))
    marginal = prior * np.exp(values[steps] / lam - log_z)           # q_T
    cost = math.exp(height / lam - log_z)                           # prior step: acceptance Z e^{−B/λ}
    base = prior.copy()
    for t in reversed(range(steps)):
        cost += float(marginal @ np.exp((height - values[t + 1]) / lam))
        tilted = kernels[t] * np.exp(values[t][None, :] / lam - values[t + 1][:, None] / lam)
        marginal = marginal @ tilted
        base = base @ kernels[t]
    return cost, float(base @ reward_set)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), steps=st.integers(1, 4), height=st.floats(0.2, 6.0), lam=st.floats(0.3, 3.0))
def test_envelope_per_step_costs_trajectory_rejection_queries(seed, steps, height, lam):
    prior, kernels, reward_set = _random_chain(seed, steps, 5)
    exact, share = _exact_envelope_cost(prior, kernels, reward_set, height, lam)
    log_z = two_level_log_partition(share, height, lam)
    assert trajectory_queries(steps + 1, log_z, height, lam) == pytest.approx(exact, rel=1e-9)
    assert best_saving(log_z, height, lam) == pytest.approx(exact / (steps + 1), rel=1e-9)


def _brute_level(values: np.ndarray, lam: float, rate: float, grid: np.ndarray) -> float:
    """The first grid point c (increasing) with Σ_x q(x)(1 − e^{−(v − c)/λ})_+ ≤ rate, q ∝ e^{v/λ}."""
    weights = np.exp(values / lam) / np.exp(values / lam).sum()
    tv = np.clip(1 - np.exp(-(values[None, :] - grid[:, None]) / lam), 0, None) @ weights
    return float(grid[np.argmax(tv <= rate)])


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.3, 2.0), rate=st.floats(1e-3, 0.5))
def test_oracle_level_is_the_smallest_baseline_within_the_rate(seed, lam, rate):
    rng = np.random.default_rng(seed)
    rows = rng.normal(0, 1.5, size=(3, 12)) + rng.choice([0.0, 3.0], size=(3, 12), p=[0.8, 0.2])
    found = oracle_parent_costs(torch.tensor(rows), lam, rate)
    for i, row in enumerate(rows):
        grid = np.linspace(row.min(), row.max(), 2001)
        brute = _brute_level(row, lam, rate, grid)
        spacing = grid[1] - grid[0]
        assert abs(float(found["level"][i]) - brute) <= spacing + 1e-9 or brute == row.min()
        proposals = 1 / np.minimum(1, np.exp((row - float(found["level"][i])) / lam)).mean()
        assert float(found["proposals"][i]) == pytest.approx(proposals, rel=1e-9)
        assert float(found["envelope_proposals"][i]) == pytest.approx(np.exp(row.max() / lam) / np.exp(row / lam).mean(),
                                                                      rel=1e-9)
        assert 1.0 <= float(found["proposals"][i]) <= float(found["envelope_proposals"][i]) + 1e-9


def test_oracle_costs_refuse_bad_input():
    with pytest.raises(ValueError, match="child_values"):
        oracle_parent_costs(torch.zeros(4), 1.0, 0.01)
    with pytest.raises(ValueError, match="child_values"):
        oracle_parent_costs(torch.tensor([[0.0, float("nan")]]), 1.0, 0.01)
    with pytest.raises(ValueError, match="rate"):
        oracle_parent_costs(torch.zeros(2, 3), 1.0, 1.5)
    with pytest.raises(ValueError, match="lam"):
        oracle_parent_costs(torch.zeros(2, 3), 0.0, 0.1)
    with pytest.raises(ValueError, match="share"):
        two_level_log_partition(1.2, 3.0, 1.0)


def test_share_test_detects_the_designed_gap_and_passes_equal_shares():
    gap, alpha, beta = 0.10, 1e-3, 1e-3
    n = two_sample_sample_size(gap, alpha, beta)
    generator = torch.Generator().manual_seed(3)
    draw = lambda p: torch.rand(n, generator=generator) < p  # noqa: E731
    equal = share_test(draw(0.25), draw(0.25), alpha=alpha, beta=beta)
    apart = share_test(draw(0.20), draw(0.30), alpha=alpha, beta=beta)
    assert equal["detectable_difference"] <= gap
    assert equal["verdict"] == "pass"      # false fail w.p. ≤ α
    assert apart["verdict"] == "fail"      # false pass w.p. ≤ β (difference 0.10 = the designed gap)


def test_clopper_pearson_covers_its_share():
    low, high = clopper_pearson(23, 1000, 1e-3)
    assert low < 0.023 < high and 0 < low and high < 0.05
    assert clopper_pearson(0, 10, 0.05)[0] == 0.0 and clopper_pearson(10, 10, 0.05)[1] == 1.0
