"""The linear-tilt oracle (exact families, telescoping log Z) and the diffusion query-shift tilt."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy import integrate
from scipy.stats import norm

from estimators.projection_fit import multinomial_fit, min_num_samples_for_projection_ks_test, projection_fit_test
from primitives import (Categorical, ExactScoreMixtureDiffusion, ExactTiltOracle, Gaussian, GaussianMixture,
                        ScoreTiltOracle)
from estimators.bridge_log_partition import telescoping_log_partition
from tests.conftest import STAT_ALPHA
from tests.strategies import seeds
from tiltproof.core.tractability_checks import mixture_projections, spd_matrix


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@st.composite
def mixtures(draw, max_dim: int = 3, max_components: int = 3):
    d = draw(st.integers(1, max_dim))
    k = draw(st.integers(1, max_components))
    rng = np.random.default_rng(draw(seeds))
    base = GaussianMixture(rng.dirichlet(np.ones(k)), rng.normal(scale=2, size=(k, d)),
                           np.stack([spd_matrix(rng, d) for _ in range(k)]))
    return base, rng.normal(size=d)


@given(mixtures(), st.booleans())
def test_log_partition_rows_match_the_laws(instance, single_component):
    """Vectorised oracle log Z equals each law's own ``log_partition`` (independent code path)."""
    base, theta = instance
    if single_component:
        base = Gaussian(base.means[0], base.covs[0])
    oracle = ExactTiltOracle(base)
    rows = torch.as_tensor(np.stack([theta, -0.5 * theta, np.zeros_like(theta)]))
    values = oracle.log_partition(rows).numpy()
    np.testing.assert_allclose(values, [base.log_partition(row) for row in rows], rtol=1e-12, atol=1e-12)
    assert oracle.partition_queries == 3 and oracle.calls == 0


@settings(max_examples=6)
@given(mixtures())
def test_rows_sample_their_own_tilts(instance):
    """Half the rows tilt by θ, half by −θ: the sample is the 50/50 mixture of the two exact tilts."""
    base, theta = instance
    oracle = ExactTiltOracle(base)
    first, second = base.tilt(theta), base.tilt(-theta)
    weights = np.concatenate([0.5 * first.weights.numpy(), 0.5 * second.weights.numpy()])
    means = np.concatenate([first.means.numpy(), second.means.numpy()])
    covs = np.concatenate([first.covs.numpy(), second.covs.numpy()])
    directions = {f"x{j}": np.eye(base.dim)[j] for j in range(base.dim)}
    projections = mixture_projections(weights, means, covs, directions)
    n = min_num_samples_for_projection_ks_test(0.06, len(projections), alpha=STAT_ALPHA, beta=1e-3)
    rows = torch.as_tensor(np.repeat(np.stack([theta, -theta]), [n // 2, n - n // 2], axis=0))
    samples = oracle.sample_rows(rows, _generator(1))
    assert oracle.calls == n and samples.shape == (n, base.dim)
    assert not projection_fit_test(samples, projections, STAT_ALPHA).rejected


@given(st.integers(2, 10), seeds, st.floats(-2.0, 2.0))
def test_categorical_oracle_is_a_softmax(size, seed, theta):
    rng = np.random.default_rng(seed)
    base = Categorical(rng.dirichlet(np.ones(size)))
    oracle = ExactTiltOracle(base)
    scores = np.log(base.probs.numpy()) + theta * np.arange(size)
    probabilities = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    assert math.isclose(float(oracle.log_partition([[theta]])[0]), base.log_partition(theta), rel_tol=1e-12, abs_tol=1e-12)
    samples = oracle.sample(torch.tensor([theta]), 20_000, _generator(2))
    assert samples.shape == (20_000, 1)
    assert not multinomial_fit(samples[:, 0].numpy(), probabilities, STAT_ALPHA).rejected


@settings(max_examples=5)
@given(mixtures(max_dim=2))
def test_telescoping_interval_covers_exact_log_partition(instance):
    base, theta = instance
    oracle = ExactTiltOracle(base)
    estimate = telescoping_log_partition(oracle, theta, steps=3, samples_per_step=3000, alpha=STAT_ALPHA,
                                         generator=_generator(3))
    exact = base.log_partition(theta)
    assert estimate.lower <= exact <= estimate.upper
    assert estimate.calls == 4 * 3000 and oracle.calls == 4 * 3000


@given(mixtures(max_dim=3), st.sampled_from([0.01, 0.3, 1.0, 4.0, 9.0]))
def test_query_shift_is_the_tilted_marginal_score(instance, t):
    """θ/α_t + s_t(y + σ_t²θ/α_t) = ∇ log p_{θ,t} (autograd of the exact tilted marginal)."""
    base, theta = instance
    diffusion = ExactScoreMixtureDiffusion(base)
    marginal = diffusion.marginal(t, theta)
    y = marginal.sample(50, _generator(4)).requires_grad_(True)
    reference = torch.autograd.grad(marginal.log_prob(y).sum(), y)[0]
    shifted = diffusion.tilted_score(y.detach(), t, torch.as_tensor(theta))
    assert torch.allclose(shifted, reference, rtol=1e-8, atol=1e-8 * (1 + float(reference.abs().max())))


def test_initial_tv_bound_dominates_the_exact_tv():
    """Pinsker-per-component bound ≥ TV(N(0,1), p_{θ,T}) by quadrature (1-D), at several horizons."""
    base = GaussianMixture([0.3, 0.7], [[-3.0], [2.0]], [[[0.5]], [[1.5]]])
    theta = np.array([0.7])
    for horizon in (1.0, 2.0, 4.0):
        diffusion = ExactScoreMixtureDiffusion(base, horizon=horizon)
        law = diffusion.marginal(horizon, theta)
        weights, means, stds = law.weights.numpy(), law.means.numpy()[:, 0], np.sqrt(law.covs.numpy()[:, 0, 0])
        tv, error = integrate.quad(lambda y: 0.5 * abs(float(weights @ norm.pdf(y, means, stds)) - norm.pdf(y)),
                                   -40, 40, limit=400, epsabs=1e-12)
        assert tv <= diffusion.initial_tv_bound(theta) + error


def test_score_oracle_counts_calls_and_reports_its_errors():
    base = GaussianMixture([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.5]], [np.eye(2) * 0.5, np.eye(2)])
    oracle = ScoreTiltOracle(ExactScoreMixtureDiffusion(base, steps=16))
    samples = oracle.sample_rows(torch.zeros(100, 2, dtype=torch.float64), _generator(5))
    assert samples.shape == (100, 2) and oracle.calls == 100
    assert 0 < oracle.max_displacement < 0.05 and 0 < oracle.tv_bound(np.zeros(2)) < 1e-3


def test_oracle_refuses_bad_input():
    oracle = ExactTiltOracle(Gaussian([0.0, 0.0], np.eye(2)))
    with pytest.raises(ValueError, match="thetas must have shape"):
        oracle.sample_rows(torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="thetas must contain only finite"):
        oracle.log_partition([[float("nan"), 0.0]])
    with pytest.raises(ValueError, match="base must be"):
        ExactTiltOracle("not a law")
    with pytest.raises(ValueError, match="steps"):
        telescoping_log_partition(oracle, [0.1, 0.1], steps=0)
    with pytest.raises(ValueError, match="n must be"):
        oracle.sample([0.0, 0.0], -1)
