"""KL alignment by planes (L1): exact laws on drawn instances, oracle-call accounting, wrong covers, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.special import logsumexp

from estimators.binomial import clopper_pearson_lower, clopper_pearson_upper
from estimators.projection_fit import multinomial_fit, min_num_samples_for_projection_ks_test, projection_fit_test
from primitives import (Categorical, ConvexLowRank, Gaussian, GaussianMixture, LogSumExpReward, MaxOfPlanes,
                        SquaredNormReward, kl_align, plane_cover)
from tests.conftest import STAT_ALPHA
from tests.strategies import seeds
from theorems import kl_net_clipping as clip
from theorems import kl_laplace_mixtures as l1d_mix
from theorems import linear_tilt_sufficiency as l1
from tiltproof.core.tractability_checks import mixture_projections, proposal_interval, ridge_projections, spd_matrix


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@st.composite
def planes_instances(draw, max_dim: int = 4, mixture: bool = False):
    d = draw(st.integers(1, max_dim))
    rng = np.random.default_rng(draw(seeds))
    if mixture:
        base = GaussianMixture([0.4, 0.6], rng.normal(size=(2, d)), np.stack([spd_matrix(rng, d) for _ in range(2)]))
    else:
        base = Gaussian(rng.normal(size=d), spd_matrix(rng, d))
    planes = draw(st.integers(1, 4))
    reward = MaxOfPlanes(rng.normal(size=(1, d)) * 0.7, rng.normal(size=(planes, 1)), rng.normal(size=planes))
    return base, reward, draw(st.floats(0.4, 3.0))


@settings(max_examples=6)
@given(st.one_of(planes_instances(), planes_instances(max_dim=3, mixture=True)))
def test_max_of_planes_output_is_q_kl(instance):
    """kl_align's output passes the projection fit against the exact ridge law (S and coordinates)."""
    base, reward, lam = instance
    law = l1.ridge_law_of(base, reward, lam)
    projections = ridge_projections(law, base.dim)
    n = min_num_samples_for_projection_ks_test(0.07, len(projections), alpha=STAT_ALPHA, beta=1e-3)
    result = kl_align(base, reward, lam, n, _generator(1))
    assert result.samples.shape == (n, base.dim) and result.route == "planes" and result.oracle_calls >= n
    assert not projection_fit_test(result.samples, projections, STAT_ALPHA).rejected


@settings(max_examples=6)
@given(planes_instances(max_dim=3))
def test_oracle_calls_match_sum_of_weights_over_z(instance):
    """ε = 0: expected calls per sample are exactly ΣW_i/Z; the negative-binomial interval must contain it."""
    base, reward, lam = instance
    law = l1.ridge_law_of(base, reward, lam)
    result = kl_align(base, reward, lam, 3000, _generator(2))
    expected = math.exp(logsumexp(result.details["log_weights"]) - law.log_normaliser)
    _, low, high = proposal_interval(result.accepted, result.oracle_calls, STAT_ALPHA)
    assert low <= expected * (1 + 1e-8) and expected <= high * (1 + 1e-8)
    assert expected <= reward.G.shape[0] * (1 + 1e-9)   # each W_i ≤ Z


@given(st.integers(3, 12), seeds, st.floats(0.3, 3.0))
def test_finite_law_output_is_q_kl(size, seed, lam):
    rng = np.random.default_rng(seed)
    base = Categorical(rng.dirichlet(np.ones(size)))
    reward = MaxOfPlanes([[1.0]], rng.normal(size=(3, 1)), rng.normal(size=3))
    probabilities = l1.categorical_exact(base, reward, lam)
    result = kl_align(base, reward, lam, 20_000, _generator(3))
    assert not multinomial_fit(result.samples[:, 0].numpy(), probabilities, STAT_ALPHA).rejected


@settings(max_examples=5)
@given(seeds, st.sampled_from([1, 2]), st.floats(0.3, 1.5))
def test_log_sum_exp_by_planes_and_by_laplace_mixture(seed, ratio, lam):
    """τ = mλ: the planes route (ε = τ log J) and the Laplace route both give the exact Gaussian mixture."""
    rng = np.random.default_rng(seed)
    d = 3
    base = Gaussian(rng.normal(size=d), spd_matrix(rng, d))
    reward = LogSumExpReward(rng.normal(size=(2, d)) * 0.5, rng.normal(size=(3, 2)), rng.normal(size=3),
                             temperature=ratio * lam)
    weights, means, covs = l1.lse_exact_law(base, reward, lam)
    directions = {f"x{j}": np.eye(d)[j] for j in range(d)}
    projections = mixture_projections(weights, means, covs, directions)
    n = min_num_samples_for_projection_ks_test(0.07, len(projections), alpha=STAT_ALPHA, beta=1e-3)
    planes = kl_align(base, reward, lam, n, _generator(4), route="planes")
    laplace = kl_align(base, reward, lam, n, _generator(5))
    assert planes.route == "planes" and laplace.route == "laplace mixture" and laplace.oracle_calls == n
    assert not projection_fit_test(planes.samples, projections, STAT_ALPHA / 2).rejected
    assert not projection_fit_test(laplace.samples, projections, STAT_ALPHA / 2).rejected


@settings(max_examples=5)
@given(seeds, st.floats(1.0, 4.0))
def test_hubbard_stratonovich_gives_the_gaussian_tilt(seed, lam):
    """½‖Lx‖² on N(μ, Σ): q_KL = N(Σ'Σ⁻¹μ, Σ'), Σ' = (Σ⁻¹ − LᵀL/λ)⁻¹ (closed form, independent route)."""
    rng = np.random.default_rng(seed)
    d = 3
    base = Gaussian(rng.normal(size=d), spd_matrix(rng, d) * 0.5)
    reward = SquaredNormReward(rng.normal(size=(2, d)) * 0.4)
    mixture = GaussianMixture([1.0], base.mean[None], base.cov[None])
    weights, means, covs = l1d_mix.hubbard_exact_law(mixture, reward, lam)
    projections = mixture_projections(weights, means, covs, {f"x{j}": np.eye(d)[j] for j in range(d)})
    n = min_num_samples_for_projection_ks_test(0.07, len(projections), alpha=STAT_ALPHA, beta=1e-3)
    result = kl_align(base, reward, lam, n, _generator(6))
    assert result.route == "hubbard-stratonovich" and result.oracle_calls == n
    assert not projection_fit_test(result.samples, projections, STAT_ALPHA).rejected


def test_tiny_lambda_stays_finite_and_picks_planes_in_log_space():
    """λ = 1e-3 with |⟨a,x⟩|: tilts of size 1/λ; the side P(S > 0) matches the exact plane weights."""
    base = Gaussian([0.3, -0.2], [[1.0, 0.2], [0.2, 0.5]])
    reward = MaxOfPlanes([[1.0, 0.5]], [[1.0], [-1.0]], [0.0, 0.0])
    lam = 1e-3
    result = kl_align(base, reward, lam, 4000, _generator(7))
    assert torch.isfinite(result.samples).all()
    log_w = result.details["log_weights"]
    positive = math.exp(log_w[0] - logsumexp(log_w))
    hits = int(((result.samples @ torch.tensor([1.0, 0.5], dtype=torch.float64)) > 0).sum())
    assert clopper_pearson_lower(hits, 4000, STAT_ALPHA) <= positive <= clopper_pearson_upper(hits, 4000, STAT_ALPHA)


def test_dropped_plane_is_refused_or_rejected():
    """A cover missing a plane is invalid: strict mode refuses it; without the check, the law is rejected."""
    base, reward, lam = l1.abs_instance()
    cover = plane_cover(reward).drop(1)
    with pytest.raises(ValueError, match="plane cover is invalid"):
        kl_align(base, reward, lam, 100, _generator(8), cover=cover)
    law = l1.ridge_law_of(base, reward, lam)
    projections = ridge_projections(law, base.dim)[:2]
    result = kl_align(base, reward, lam, 3000, _generator(9), cover=cover, strict=False)
    assert projection_fit_test(result.samples, projections, STAT_ALPHA).rejected


def test_net_cover_is_valid_and_counted():
    base, reward, lam = clip.net_instance()
    cover = plane_cover(reward, clip.NET_EPS)
    bound = (2 * clip.NET_L * clip.NET_RADIUS / clip.NET_EPS + 2) ** 1
    assert cover.size <= bound and cover.epsilon == clip.NET_EPS
    # every net point's nearest plane is within ε of f on a fine grid of the ball (checked directly)
    z = torch.linspace(clip.NET_S0 - clip.NET_RADIUS, clip.NET_S0 + clip.NET_RADIUS, 2001, dtype=torch.float64)[:, None]
    planes = z @ torch.as_tensor(cover.slopes).T + torch.as_tensor(cover.intercepts)
    f = clip._net_f(z)
    assert float((f - planes.max(1).values).max()) <= clip.NET_EPS + 1e-12
    assert float((planes - f[:, None]).max()) <= 1e-12


def test_non_convex_f_is_refused():
    wiggly = ConvexLowRank([[1.0, 0.0]], lambda z: torch.sin(3 * z[:, 0]), lambda z: 3 * torch.cos(3 * z[:, :1]), 3.0, 2.0)
    with pytest.raises(ValueError, match="not convex"):
        kl_align(Gaussian([0.0, 0.0], np.eye(2)), wiggly, 1.0, 10, epsilon=0.5)


@pytest.mark.parametrize("A", [[[1.0, 2.0], [2.0, 4.0]], [[0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
def test_a_without_full_row_rank_is_refused(A):
    with pytest.raises(ValueError, match="A must have full row rank"):
        MaxOfPlanes(A, np.ones((2, np.asarray(A).shape[0])), [0.0, 1.0])
    with pytest.raises(ValueError, match="A must have full row rank"):
        ConvexLowRank(A, lambda z: z.sum(-1), lambda z: torch.ones_like(z), 1.0, 1.0)


def test_kl_align_refuses_bad_input():
    base = Gaussian([0.0, 0.0], np.eye(2))
    reward = MaxOfPlanes([[1.0, 0.0]], [[1.0], [-1.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="lam"):
        kl_align(base, reward, 0.0, 10)
    with pytest.raises(ValueError, match="n must be"):
        kl_align(base, reward, 1.0, -2)
    with pytest.raises(ValueError, match="dimension"):
        kl_align(Gaussian([0.0, 0.0, 0.0], np.eye(3)), reward, 1.0, 10)
    with pytest.raises(ValueError, match="log_partitions must have one entry per plane"):
        kl_align(base, reward, 1.0, 10, log_partitions=[0.0])
    with pytest.raises(ValueError, match="epsilon"):
        kl_align(base, ConvexLowRank([[1.0, 0.0]], lambda z: z[:, 0].abs(), lambda z: torch.sign(z), 1.0, 1.0), 1.0, 10)
    with pytest.raises(ValueError, match="too small"):
        kl_align(base, SquaredNormReward([[3.0, 0.0]]), 1.0, 10)
    with pytest.raises(ValueError, match="route"):
        kl_align(base, reward, 1.0, 10, route="magic")
