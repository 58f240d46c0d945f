"""Base laws, rewards and the rejection samplers: exact densities, sampled laws, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.stats import multivariate_normal

from estimators.exact.tilted_law import TiltedLaw, reward_law
from estimators.exact.tilt_quantities import soft_value
from estimators.law_tests import fit_sample_size, fit_test
from primitives import (Categorical, Gaussian, GaussianMixture, LinearReward, QuadraticReward, StepReward,
                        TableReward, as_reward, ideal_rejection_sample, rejection_sample)
from tests.conftest import STAT_ALPHA
from tests.strategies import any_instance, gaussian_linear, mixture_linear


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_gaussian_log_prob_matches_scipy():
    mean, cov = np.array([0.5, -1.0]), np.array([[2.0, 0.3], [0.3, 0.5]])
    law = Gaussian(mean, cov)
    x = law.sample(50, _generator())
    np.testing.assert_allclose(law.log_prob(x).numpy(), multivariate_normal(mean, cov).logpdf(x.numpy()), rtol=1e-10)


def test_mixture_log_prob_matches_scipy():
    law = GaussianMixture([0.3, 0.7], [[0.0], [4.0]], [[[1.0]], [[0.25]]])
    x = law.sample(40, _generator())
    expected = np.log(0.3 * multivariate_normal(0.0, 1.0).pdf(x.numpy()) + 0.7 * multivariate_normal(4.0, 0.25).pdf(x.numpy()))
    np.testing.assert_allclose(law.log_prob(x).numpy(), expected, rtol=1e-10)


@given(st.one_of(gaussian_linear(max_dim=4), mixture_linear(max_dim=3)), st.floats(0.2, 5.0))
def test_linear_tilt_is_the_target(instance, lam):
    """``base.tilt(θ/λ)`` has law q ∝ p e^{⟨θ,x⟩/λ}: goodness of fit at STAT_ALPHA."""
    base, reward = instance
    claimed = TiltedLaw(base, reward, lam, None)
    tilted = base.tilt(reward.theta / lam)
    n = fit_sample_size(claimed, 0.05, STAT_ALPHA)
    assert not fit_test(tilted.sample(n, _generator(1)), claimed, STAT_ALPHA).rejected


@settings(max_examples=12)  # each example is a full goodness-of-fit run; the exact tests cover more instances
@given(any_instance, st.floats(0.3, 5.0), st.floats(-1.0, 2.0))
def test_rejection_sampler_outputs_q_b(instance, lam, offset):
    """The batched sampler's output has law q_b (T2), on drawn instances, at STAT_ALPHA."""
    base, reward = instance
    baseline = soft_value(reward_law(base, reward), lam) + offset * lam
    claimed = TiltedLaw(base, reward, lam, baseline)
    n = fit_sample_size(claimed, 0.05, STAT_ALPHA)
    result = rejection_sample(base, reward, lam, baseline, n, generator=_generator(2))
    assert result.accepted == n and result.proposals >= n
    assert not fit_test(result.samples, claimed, STAT_ALPHA).rejected


def test_rejection_is_deterministic_for_a_seed():
    base, reward = Gaussian([0.0], [[1.0]]), LinearReward([1.0])
    first = rejection_sample(base, reward, 0.5, 2.0, 1000, generator=_generator(7))
    second = rejection_sample(base, reward, 0.5, 2.0, 1000, generator=_generator(7))
    assert first.proposals == second.proposals and torch.equal(first.samples, second.samples)


def test_proposal_count_stops_at_the_last_acceptance():
    """Every proposal is accepted when b ≤ inf r: the count is exactly n, not a whole batch."""
    base = Categorical([0.5, 0.5])
    result = rejection_sample(base, TableReward([1.0, 2.0]), 1.0, 0.0, 1234, generator=_generator())
    assert result.proposals == 1234 and result.proposals_per_sample == 1.0


def test_ideal_rejection_needs_a_finite_envelope():
    with pytest.raises(ValueError, match="envelope"):
        ideal_rejection_sample(Gaussian([0.0], [[1.0]]), LinearReward([1.0]), 1.0, 10)


def test_float32_sampling_works():
    base = Gaussian([0.0, 1.0], np.eye(2), dtype=torch.float32)
    result = rejection_sample(base, LinearReward([1.0, 0.0]), 1.0, 1.0, 100, generator=_generator())
    assert result.samples.dtype == torch.float32 and result.accepted == 100


def test_quadratic_reward_value_and_sup():
    reward = QuadraticReward([[2.0]], [1.0], 0.5)
    x = torch.tensor([[0.0], [0.5]], dtype=torch.float64)
    np.testing.assert_allclose(reward(x).numpy(), [0.5, -0.25 + 0.5 + 0.5])
    assert math.isclose(reward.sup, 0.25 + 0.5)


def test_step_reward_and_plain_callable():
    step = StepReward(3.0, [1.0, 0.0], 0.0)
    x = torch.tensor([[-1.0, 5.0], [1.0, 5.0]], dtype=torch.float64)
    assert step(x).tolist() == [3.0, 0.0] and step.sup == 3.0
    wrapped = as_reward(lambda points: points[:, 0] ** 2)
    assert wrapped(x).tolist() == [1.0, 1.0]


# ------------------------------------------------------------------ bad input names the argument
@pytest.mark.parametrize("lam", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_lambda(lam):
    with pytest.raises(ValueError, match="lam"):
        rejection_sample(Gaussian([0.0], [[1.0]]), LinearReward([1.0]), lam, 0.0, 10)


def test_non_finite_baseline():
    with pytest.raises(ValueError, match="baseline"):
        rejection_sample(Gaussian([0.0], [[1.0]]), LinearReward([1.0]), 1.0, float("inf"), 10)


def test_mismatched_shapes():
    with pytest.raises(ValueError, match=r"cov must have shape \(2, 2\)"):
        Gaussian([0.0, 0.0], np.eye(3))
    with pytest.raises(ValueError, match="covs"):
        GaussianMixture([0.5, 0.5], [[0.0], [1.0]], np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="x must have shape"):
        LinearReward([1.0, 2.0])(torch.zeros(3, 3, dtype=torch.float64))


def test_invalid_covariance_and_probabilities():
    with pytest.raises(ValueError, match="cov must be positive definite"):
        Gaussian([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="probs"):
        Categorical([0.5, 0.6])
    with pytest.raises(ValueError, match="weights"):
        GaussianMixture([0.5, -0.5], [[0.0], [1.0]], [[[1.0]], [[1.0]]])


def test_unknown_device():
    with pytest.raises(ValueError, match="device"):
        Gaussian([0.0], [[1.0]], device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            Gaussian([0.0], [[1.0]], device="cuda")


def test_reward_returning_nan_is_refused():
    nan_reward = as_reward(lambda points: torch.full((points.shape[0],), float("nan"), dtype=points.dtype))
    with pytest.raises(ValueError, match="non-finite"):
        rejection_sample(Gaussian([0.0], [[1.0]]), nan_reward, 1.0, 0.0, 10)


def test_bad_sample_count():
    with pytest.raises(ValueError, match="n must be"):
        rejection_sample(Gaussian([0.0], [[1.0]]), LinearReward([1.0]), 1.0, 0.0, -3)
