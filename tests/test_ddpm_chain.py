"""The authors' DDPM-step chain (``primitives.ddpm_chain``) and its exact side (``estimators.exact.ddpm_law``,
``estimators.exact.ddpm_sampler_law``) against independent routes: the score by finite differences of the mixture
density (scipy), the kernel's moments by sampling, log Z forwards vs backwards, grid refinement, the soft-value
identity by Monte Carlo through the torch kernel, and bad input."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.stats import chi2, multivariate_normal, norm

from estimators.exact.ddpm_law import DdpmExact, DdpmRidge
from estimators.exact.ddpm_sampler_law import ddpm_sampler_law
from primitives import GaussianMixture
from primitives.ddpm_chain import MixtureScoreDDPM, authors_ddpm_chain, authors_schedule
from primitives.diffusion import CountingKernel
from primitives.rewards import SigmoidReward, StepReward
from tests.conftest import STAT_ALPHA
from tiltproof.instances.chain import chain_instance, ddpm_exact, make_baseline
from tiltproof.byo.chain import resolve_chain_instance

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_schedule_is_the_papers_formula():
    alphas = authors_schedule()
    rate = 4 * math.log(20) / 20
    assert alphas.size == 20 and alphas[0] == pytest.approx(0.98)
    for i in range(1, 20):
        assert alphas[i] == pytest.approx(1 - rate * min(0.02 * (1 + rate) ** (i + 1), 1.0), rel=1e-14)
    assert authors_ddpm_chain().steps == 19


def _log_noised_density(y: np.ndarray, a_bar: float) -> float:
    return math.log(0.95 * multivariate_normal.pdf(y, [5 * math.sqrt(a_bar), 0.0], np.eye(2))
                    + 0.05 * multivariate_normal.pdf(y, [-5 * math.sqrt(a_bar), 0.0], np.eye(2)))


@settings(max_examples=20, deadline=None)
@given(st.floats(-8, 8), st.floats(-3, 3), st.integers(0, 18), st.integers(0, 1))
def test_kernel_mean_uses_the_score_at_the_stated_level(y0, y1, t, shift):
    chain = authors_ddpm_chain(score_shift=shift)
    y = np.array([y0, y1])
    a_bar = float(np.cumprod(authors_schedule())[t + shift])
    h = 1e-5
    score = np.array([(_log_noised_density(y + h * e, a_bar) - _log_noised_density(y - h * e, a_bar)) / (2 * h)
                      for e in np.eye(2)])
    alpha = authors_schedule()[t]
    expected = (y + (1 - alpha) * score) / math.sqrt(alpha)
    got = chain.kernel_mean(t, torch.as_tensor(y[None], dtype=torch.float64))[0].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_children_are_gaussian_around_the_mean():
    chain = authors_ddpm_chain()
    parents = torch.tensor([[-2.0, 0.5], [3.0, -1.0]], dtype=torch.float64)
    t, n = 9, 4000
    children = chain.sample_children(parents, t, n, torch.Generator().manual_seed(1))
    z = ((children - chain.kernel_mean(t, parents)[:, None]) / chain.kernel_std(t)).reshape(-1).numpy()
    # Σ z² ~ χ²(4n) under the kernel: two-sided at STAT_ALPHA.
    total = float((z * z).sum())
    assert chi2.ppf(STAT_ALPHA / 2, z.size) <= total <= chi2.ppf(1 - STAT_ALPHA / 2, z.size)
    counted = CountingKernel(chain)
    counted.sample_children(parents, 0, 3)
    assert counted.draws == 6


@pytest.fixture(scope="module")
def exact5():
    return ddpm_exact(5.0, 1.0)


def test_log_partition_forward_and_backward_routes_agree(exact5):
    assert abs(exact5.log_root() - exact5.log_partition_forward()) < 1e-5
    assert exact5.interpolation_error() < 1e-3


def test_grid_refinement_changes_little(exact5):
    coarse = DdpmExact(exact5.ridge, exact5.reward, 1.0, stride=16)
    assert abs(coarse.log_root() - exact5.log_root()) < 1e-6
    s = np.linspace(-10, 10, 41)
    assert np.abs(coarse.x0_cdf(s) - exact5.x0_cdf(s)).max() < 1e-6


def test_soft_value_identity_through_the_torch_kernel(exact5):
    """``E_{x ~ p_t(·|y)} e^{V_t(x)/λ} = e^{V_{t+1}(y)/λ}`` by Monte Carlo with the kernel under test (CLT
    interval at STAT_ALPHA, the function bounded in [1, e^B])."""
    values = chain_instance("ddpm", 5.0).values
    chain = authors_ddpm_chain()
    parents = torch.tensor([[-6.5, 0.0], [-3.0, 1.0]], dtype=torch.float64)
    n = 100_000
    for t in (1, 6):
        kids = chain.sample_children(parents, t, n, torch.Generator().manual_seed(t))
        g = torch.exp(values(kids.reshape(-1, 2), t)).reshape(2, n)
        mean, sd = g.mean(1).numpy(), g.std(1).numpy()
        radius = norm.ppf(1 - STAT_ALPHA / 4) * sd / math.sqrt(n) + 1e-3 * mean
        target = torch.exp(values(parents, t + 1)).numpy()
        assert np.all(np.abs(mean - target) <= radius)


def test_ideal_baseline_law_is_exact_and_offset_obeys_t7(exact5):
    instance = chain_instance("ddpm", 5.0)
    ideal = ddpm_sampler_law(exact5, make_baseline(instance, "ideal"))
    assert ideal.tv_x0 <= 2 * ideal.quadrature_error + 1e-9
    offset = ddpm_sampler_law(exact5, make_baseline(instance, "offset=1"))
    assert 0.0 < offset.tv_x0 <= offset.path_bound + offset.quadrature_error
    assert offset.mean_proposals.sum() < ideal.mean_proposals.sum()


def test_sigmoid_reward_exact_side_routes_agree():
    reward = SigmoidReward(3.0, [1.0, 0.0], -8.0, 2.0)
    exact = DdpmExact(DdpmRidge.of(authors_ddpm_chain(), reward), reward, 1.0)
    assert abs(exact.log_root() - exact.log_partition_forward()) < 1e-5
    assert exact.aligned_cdf(np.array([30.0]))[0] == pytest.approx(1.0, abs=1e-6)


def test_instance_is_registered():
    instance = resolve_chain_instance("gmm-ddpm-B5")
    assert instance.kind == "ddpm" and instance.chain.steps == 19
    law = instance.x0_target()
    assert 0.0 < law.top_mass < 1.0
    assert float(law.reward_cdf(np.array([5.0]))[0]) == 1.0


def test_bad_input():
    mixture = GaussianMixture([0.5, 0.5], [[1.0, 0.0], [-1.0, 0.0]], [np.eye(2), np.eye(2)])
    with pytest.raises(ValueError, match="score_shift"):
        MixtureScoreDDPM(mixture, score_shift=2)
    with pytest.raises(ValueError, match="mixture"):
        MixtureScoreDDPM("not a mixture")
    with pytest.raises(ValueError, match="n must"):
        authors_schedule(n=1)
    with pytest.raises(ValueError, match="reward"):
        DdpmRidge.of(authors_ddpm_chain(), StepReward(1.0, [0.0, 1.0], 0.0))
    skew = GaussianMixture([0.5, 0.5], [[1.0, 0.0], [-1.0, 0.0]], [2 * np.eye(2), np.eye(2)])
    assert MixtureScoreDDPM(skew).ridge_direction(StepReward(1.0, [1.0, 0.0], 0.0)) is None
    with pytest.raises(ValueError, match="steepness"):
        SigmoidReward(1.0, [1.0, 0.0], 0.0, steepness=0.0)
    with pytest.raises(ValueError, match="n"):
        authors_ddpm_chain().sample_prior(-1)
    wrong = dataclasses.replace(DdpmRidge.of(authors_ddpm_chain(), StepReward(1.0, [1.0, 0.0], -7.0)), score_shift=1)
    assert wrong.mean(0, np.array([1.0])) != DdpmRidge.of(authors_ddpm_chain(), StepReward(1.0, [1.0, 0.0], -7.0)).mean(0, np.array([1.0]))


def test_check_chain_sampler_runs_on_the_ddpm_instance():
    """``check_chain_sampler(…, "gmm-ddpm-B5")`` as on gmm-ref: per-step rejection at offset 1 declared; the
    T7 certificate's point estimate (a mean of the exact per-particle path sums ∈ [0, T + 1], Hoeffding at
    STAT_ALPHA) must agree with the exact path bound of the propagated law."""
    from primitives.chain_samplers import per_step_rejection_sample
    from tiltproof.byo.chain import check_chain_sampler

    instance = chain_instance("ddpm", 5.0)
    baseline = make_baseline(instance, "offset=1")

    def sampler(kernel, n, generator):
        return per_step_rejection_sample(kernel, instance.values, baseline, n, generator=generator, record_states=True)

    record = check_chain_sampler(sampler, "gmm-ddpm-B5", budget=0.3, baseline=baseline, n=2000, audit_particles=1000)
    assert record.verdict in ("pass", "uncertified"), record.message
    exact = ddpm_sampler_law(ddpm_exact(5.0, 1.0), baseline).path_bound
    particles, steps = 1000, 20
    radius = steps * math.sqrt(math.log(2 / STAT_ALPHA) / (2 * particles))
    assert abs(record.certificates[0].estimate - exact) <= radius
    with pytest.raises(ValueError, match="instance"):
        check_chain_sampler(sampler, "gmm-ddpm-Bx", budget=0.1)
