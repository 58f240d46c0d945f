"""Chain samplers against exact laws; per-state exact quantities against the single-step ones; the exact
propagated laws (ridge quadrature, enumeration) against independent routes; wrong variants; bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.special import ndtr

from estimators.exact import tilt_quantities as tq
from estimators.baselines import chernoff_baseline
from estimators.bounded_means import bounded_mean_upper_confidence, kl_upper_confidence
from estimators.chain_baselines import AnalyticGaussianBaseline, OracleChernoffBaseline
from estimators.exact.finite_chain_law import aligned_data_law, finite_sampler_law
from estimators.exact.chain_laws import StateLaws, kernel_value_laws, path_tv_terms
from estimators.exact.ridge_chain_law import UnsupportedRidge, ridge_sampler_law
from estimators.dkw import dkw_radius, ks_distance
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.exact.reward_law import DiscreteLaw
from primitives import GaussianMixture, StepReward
from primitives.chain_samplers import (EnvelopeBaseline, ExactSoftValues, OffsetBaseline, per_step_rejection_sample,
                                       step_rejection_sample, trajectory_rejection_sample, unaligned_sample)
from primitives.diffusion import GaussianMixtureDiffusion
from tests.conftest import STAT_ALPHA
from tiltproof.instances import chain as chain_instances
from tiltproof.core import chain_x0_statistics as x0_statistics


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


GMM3, GMM5, MASKED = chain_instances.chain_instance("gmm", 3.0), chain_instances.chain_instance("gmm", 5.0), chain_instances.chain_instance("masked", 5.0)
N = 4000


def _fits_q0(instance, samples) -> bool:
    statistic, threshold, _ = x0_statistics._x0_fit(instance, instance.x0_points(samples), STAT_ALPHA)
    return statistic <= threshold


# ---------------------------------------------------------------- x_0 laws of every sampler
def test_unaligned_sampler_has_the_data_law():
    diffusion = GMM3.chain
    result = unaligned_sample(diffusion, N, generator=_generator(1))
    assert result.queries == N * (diffusion.steps + 1) and result.kernel_draws == result.queries
    weights, means = diffusion.weights.numpy(), diffusion.means[:, 0].numpy()
    cdf = lambda y: (weights * ndtr(np.asarray(y)[:, None] - means)).sum(-1)
    assert ks_distance(result.samples[:, 0].numpy(), cdf) <= dkw_radius(N, STAT_ALPHA / 2)
    assert ks_distance(result.samples[:, 1].numpy(), ndtr) <= dkw_radius(N, STAT_ALPHA / 2)


@pytest.mark.parametrize("instance", [GMM3, MASKED], ids=lambda i: i.name)
def test_exact_samplers_have_the_aligned_law(instance):
    n = N if instance.kind == "gmm" else N // 2       # the masked kernel is the slower one
    trajectory = trajectory_rejection_sample(instance.chain, instance.reward, instance.lam, n, generator=_generator(2))
    ideal = per_step_rejection_sample(instance.chain, instance.values, EnvelopeBaseline(instance.values), n,
                                      generator=_generator(3))
    assert _fits_q0(instance, trajectory.samples) and _fits_q0(instance, ideal.samples)
    assert trajectory.queries == trajectory.details["chains"] * (instance.chain.steps + 1)
    assert ideal.queries == sum(ideal.step_queries) <= ideal.kernel_draws


@pytest.mark.parametrize("baseline", ["offset=0", "offset=1", "oracle-delta=0.1", "analytic"])
def test_clipped_gmm_samplers_have_their_exact_propagated_law(baseline):
    values = GMM5.values
    made = AnalyticGaussianBaseline(GMM5.chain, values, 0.1) if baseline == "analytic" else chain_instances.make_baseline(GMM5, baseline)
    law = ridge_sampler_law(GMM5.chain, values, made, spacing=0.04)
    assert law.tv_x0 <= law.path_bound + 2 * law.quadrature_error            # T7, exact sides
    n = N // 4 if baseline.startswith("oracle") else N   # the oracle solves a Chernoff problem per state
    result = per_step_rejection_sample(GMM5.chain, values, made, n, generator=_generator(4))
    assert ks_distance(result.samples[:, 0].numpy(), law.x0_cdf) <= dkw_radius(n, STAT_ALPHA) + law.quadrature_error


@pytest.mark.parametrize("baseline", ["offset=0", "oracle-delta=0.05"])
def test_clipped_masked_samplers_have_their_enumerated_law(baseline):
    made = chain_instances.make_baseline(MASKED, baseline)
    law = finite_sampler_law(MASKED.chain, MASKED.values, made)
    assert law.x0_probs.sum() == pytest.approx(1.0, abs=1e-12)
    n = 10_000
    result = per_step_rejection_sample(MASKED.chain, MASKED.values, made, n, generator=_generator(5))
    counts = np.bincount(MASKED.x0_points(result.samples).numpy(), minlength=law.x0_probs.size) / n
    assert 0.5 * np.abs(counts - law.x0_probs).sum() <= multinomial_tv_radius(n, STAT_ALPHA, probs=law.x0_probs)


def test_wrong_variants_are_rejected():
    """Accepting at 2λ, or an envelope below sup r, changes the x_0 law detectably."""
    wrong = chain_instances.wrong_temperature_chain_sampler(MASKED, EnvelopeBaseline(MASKED.values), N, _generator(6))
    assert not _fits_q0(MASKED, wrong.samples)
    low = trajectory_rejection_sample(MASKED.chain, MASKED.reward, MASKED.lam, N, envelope=2.0, generator=_generator(7))
    assert not _fits_q0(MASKED, low.samples)
    law = finite_sampler_law(MASKED.chain, MASKED.values, OffsetBaseline(MASKED.values, 0.0))
    q0 = aligned_data_law(MASKED.chain, MASKED.reward, MASKED.lam)
    assert 0.5 * np.abs(law.x0_probs - q0).sum() > 0.2     # clipping at b = V_{t+1} is far from exact


def test_ideal_laws_are_exact_by_propagation():
    law = finite_sampler_law(MASKED.chain, MASKED.values, EnvelopeBaseline(MASKED.values))
    np.testing.assert_allclose(law.x0_probs, aligned_data_law(MASKED.chain, MASKED.reward, MASKED.lam), atol=1e-12)
    ridge = ridge_sampler_law(GMM5.chain, GMM5.values, EnvelopeBaseline(GMM5.values))
    assert ridge.tv_x0 < 1e-6 and np.abs(ridge.step_terms).max() < 1e-9
    cdf = x0_statistics.ridge_projection_cdfs(GMM5)["x0"][0]
    grid = np.linspace(-12.0, 10.0, 200)
    assert np.abs(ridge.x0_cdf(grid) - cdf(grid)).max() < 1e-4


def test_ridge_quadrature_error_is_small_and_honest():
    baseline = OffsetBaseline(GMM5.values, 0.5)
    fine = ridge_sampler_law(GMM5.chain, GMM5.values, baseline, spacing=0.02)
    coarse = ridge_sampler_law(GMM5.chain, GMM5.values, baseline, spacing=0.04)
    assert abs(fine.tv_x0 - coarse.tv_x0) <= coarse.quadrature_error + 1e-9
    assert abs(fine.path_bound - coarse.path_bound) <= coarse.quadrature_error + 1e-9
    assert fine.quadrature_error < 1e-4 and coarse.quadrature_error < 1e-3


def test_ridge_law_refuses_what_it_cannot_reduce():
    class Lopsided:
        def __call__(self, parents, t):
            return torch.tensor(1.0) if parents is None else parents[:, 1]

    with pytest.raises(UnsupportedRidge, match="ridge coordinate"):
        ridge_sampler_law(GMM5.chain, GMM5.values, Lopsided())
    tilted = GaussianMixtureDiffusion(GaussianMixture([0.5, 0.5], [[1.0, 1.0], [-1.0, 0.0]], [np.eye(2)] * 2))
    values = ExactSoftValues(tilted, StepReward(2.0, [1.0, 0.0], -2.0), 1.0)
    with pytest.raises(UnsupportedRidge, match="factorise"):
        ridge_sampler_law(tilted, values, OffsetBaseline(values, 0.0))


def test_path_terms_at_visited_states_agree_with_the_propagated_terms():
    """T7's per-step terms estimated at the sampler's own states (as the experiment does) match the exact
    expectations from propagation (Hoeffding on [0, 1] per step, Bonferroni over steps)."""
    baseline = OffsetBaseline(GMM5.values, 0.5)
    law = ridge_sampler_law(GMM5.chain, GMM5.values, baseline)
    particles = 800
    result = per_step_rejection_sample(GMM5.chain, GMM5.values, baseline, particles, generator=_generator(8),
                                       record_states=True)
    terms = path_tv_terms(GMM5.chain, result.states, baseline, GMM5.values, spacing=0.1)
    radius = math.sqrt(math.log(2 * 21 / STAT_ALPHA) / (2 * particles))
    assert np.all(np.abs(terms.mean(1).numpy() - law.step_terms) <= radius + 1e-6)


# ---------------------------------------------------------------- per-state quantities
@settings(max_examples=20)
@given(st.integers(2, 12), st.floats(0.2, 5.0), st.floats(-2.0, 3.0), st.integers(0, 10**6))
def test_state_laws_match_the_single_step_quantities(size, lam, offset, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(scale=2.0, size=size)
    probs = rng.dirichlet(np.ones(size))
    law = DiscreteLaw(values=values, log_probs=np.log(probs))
    batch = StateLaws(torch.as_tensor(values)[None], torch.as_tensor(np.log(probs))[None], exact=True)
    baseline = tq.soft_value(law, lam) + offset
    assert float(batch.clip_mass(lam, baseline)[0]) == pytest.approx(tq.clip_mass(law, lam, baseline), abs=1e-12)
    assert float(batch.tv_to_target(lam, baseline)[0]) == pytest.approx(tq.tv_to_target(law, lam, baseline), abs=1e-12)
    assert float(batch.expected_proposals(lam, baseline)[0]) == pytest.approx(tq.expected_proposals(law, lam, baseline), rel=1e-12)
    assert float(batch.tail_q(lam, baseline)[0]) == pytest.approx(tq.tail_probability_q(law, lam, baseline), abs=1e-12)
    delta = 0.05
    grid_min = float(batch.chernoff_baseline(lam, delta)[0])
    exact = chernoff_baseline(law, lam, delta).value
    assert exact - 1e-9 <= grid_min <= exact + 0.02 * max(1.0, abs(exact))   # a grid minimum: valid, near optimal
    assert tq.tail_probability_q(law, lam, grid_min) <= delta + 1e-12


def test_oracle_baseline_keeps_every_state_within_delta():
    values = GMM5.values
    oracle = OracleChernoffBaseline(GMM5.chain, values, 0.05)
    parents = torch.tensor([[-8.0, 0.0], [-6.0, 1.0], [-3.0, 0.0], [0.0, 0.0], [4.0, -1.0]], dtype=torch.float64)
    for t in (0, 1, 5, 12):
        laws = kernel_value_laws(GMM5.chain, t, parents, values, spacing=0.05)
        b = oracle(parents, t)
        assert (laws.tv_to_target(1.0, b) <= laws.clip_mass(1.0, b) + 1e-9).all()
        assert (laws.clip_mass(1.0, b) <= 0.05 + 1e-6).all()
        assert (b >= values(parents, t + 1) - 1e-9).all()


def test_step_rejection_counts_are_geometric_with_the_exact_mean():
    parent = torch.tensor([[-1.0, 0.0]], dtype=torch.float64)
    laws = kernel_value_laws(GMM5.chain, 8, parent, GMM5.values)
    baseline = float(GMM5.values(parent, 9)[0]) + 1.0
    _, proposals = step_rejection_sample(GMM5.chain, parent.expand(20_000, -1), 8, GMM5.values, torch.tensor([baseline]),
                                         generator=_generator(9))
    from estimators.negative_binomial import negative_binomial_rate_interval

    low, high = negative_binomial_rate_interval(20_000, int(proposals.sum()), STAT_ALPHA)
    assert 1 / high <= float(laws.expected_proposals(1.0, baseline)[0]) <= 1 / low


# ---------------------------------------------------------------- bounded means
def test_kl_upper_confidence_independent_values():
    # All-zero sample: the binomial bound is exactly 1 − α^{1/n}.
    assert kl_upper_confidence(0.0, 50, 0.01) == pytest.approx(1 - 0.01 ** (1 / 50), rel=1e-9)
    assert kl_upper_confidence(0.3, 100, 0.05) > 0.3 and kl_upper_confidence(1.0, 10, 0.1) == 1.0
    values = np.random.default_rng(0).beta(0.5, 20, size=5000)
    assert values.mean() < bounded_mean_upper_confidence(values, 1e-3) < values.mean() + 0.02
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        bounded_mean_upper_confidence(np.array([0.5, 1.5]), 0.1)


# ---------------------------------------------------------------- bad input
def test_sampler_bad_input():
    values = GMM3.values
    with pytest.raises(ValueError, match="baseline returned"):
        per_step_rejection_sample(GMM3.chain, values, lambda parents, t: torch.zeros(3) if parents is not None else torch.tensor(9.0), 5)
    with pytest.raises(ValueError, match="stop_at"):
        per_step_rejection_sample(GMM3.chain, values, EnvelopeBaseline(values), 5, stop_at=21)
    with pytest.raises(ValueError, match="envelope"):
        trajectory_rejection_sample(GMM3.chain, values.reward, 1.0, 5, envelope=float("inf"))
    with pytest.raises(ValueError, match="lam"):
        trajectory_rejection_sample(GMM3.chain, values.reward, -1.0, 5)
    with pytest.raises(ValueError, match="n must"):
        unaligned_sample(GMM3.chain, -2)
    with pytest.raises(ValueError, match="offset"):
        OffsetBaseline(values, float("nan"))


def test_round_size_follows_the_device_and_never_changes_the_draws():
    """The default draws per round is the device's (millions on a GPU, 2^19 on the CPU); on the CPU the
    default and an explicit 2^19 are the same algorithm, so the same seed gives the same chain."""
    from primitives.chain_samplers import DEFAULT_MAX_BATCH, default_max_batch

    assert default_max_batch("cpu") == DEFAULT_MAX_BATCH["cpu"] == 1 << 19
    assert default_max_batch("cuda") > default_max_batch("cpu")
    runs = [per_step_rejection_sample(GMM3.chain, GMM3.values, EnvelopeBaseline(GMM3.values), 200,
                                      generator=_generator(4), max_batch=batch) for batch in (None, 1 << 19)]
    assert torch.equal(runs[0].samples, runs[1].samples) and runs[0].queries == runs[1].queries


def test_proposal_cap_is_enforced_without_reading_the_device():
    """A baseline far above every value would loop for ever; the cap (tracked on the host: every still-active
    parent has drawn the same children) stops it with the argument's name."""
    far = OffsetBaseline(GMM3.values, 60.0)
    with pytest.raises(RuntimeError, match="max_proposals=100"):
        per_step_rejection_sample(GMM3.chain, GMM3.values, far, 5, generator=_generator(1), max_proposals=100)
