"""Exact diffusion chains: schedules, reverse kernels, posteriors and soft values against independent
routes (Bayes with the forward densities, direct quadrature / enumeration over x_0), and bad input."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.special import logsumexp, ndtr
from scipy.stats import multivariate_normal

from estimators.dkw import dkw_radius, ks_distance
from primitives import GaussianMixture, LinearReward, QuadraticReward, StepReward
from primitives.chain_samplers import ExactSoftValues, unaligned_sample
from primitives.diffusion import CountingKernel, GaussianMixtureDiffusion, check_schedule, reference_schedule
from primitives.masked_diffusion import MaskedDiffusion, SequenceSetReward, reference_masked_diffusion
from tests.conftest import STAT_ALPHA


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


REFERENCE = GaussianMixture([0.95, 0.05], [[5.0, 0.0], [-5.0, 0.0]], [np.eye(2), np.eye(2)])
# A mixture with nothing aligned: three components, full covariances (no ridge reduction applies).
GENERAL = GaussianMixture([0.5, 0.3, 0.2], [[1.0, -1.0], [-2.0, 0.5], [0.0, 3.0]],
                          [[[1.0, 0.3], [0.3, 0.6]], [[0.5, -0.2], [-0.2, 1.2]], [[2.0, 0.0], [0.0, 0.4]]])
SHORT = np.array([0.9, 0.7, 0.5, 0.3])


# ---------------------------------------------------------------- schedule
def test_reference_schedule_is_the_formula():
    n, c, delta_s = 20, 4.0, 0.02
    rate = c * math.log(n) / n
    expected = [1.0 - rate * min(delta_s * (1.0 + rate) ** t, 1.0) for t in range(n)]
    np.testing.assert_allclose(reference_schedule(), expected, rtol=0, atol=1e-15)
    diffusion = GaussianMixtureDiffusion(REFERENCE)
    assert diffusion.steps == 20
    np.testing.assert_allclose(diffusion.alpha_bars_np[-1], np.prod(expected), rtol=1e-12)


@pytest.mark.parametrize("alphas", [[0.5, 1.0], [0.0, 0.5], [0.5, -0.1], [0.5, float("nan")], [[0.5, 0.5]], []])
def test_schedule_outside_unit_interval_is_refused(alphas):
    with pytest.raises(ValueError, match="alphas"):
        GaussianMixtureDiffusion(REFERENCE, alphas)
    with pytest.raises(ValueError, match="alphas"):
        check_schedule(alphas)


def test_bad_reference_schedule_arguments():
    with pytest.raises(ValueError, match="c log n / n"):
        reference_schedule(n=20, c=10.0)
    with pytest.raises(ValueError, match="n must"):
        reference_schedule(n=1)


# ---------------------------------------------------------------- GMM: kernels and posteriors against Bayes
def _forward_log_density(diffusion, t, x_t, x_next):
    """log N(x_{t+1}; √α_t x_t, (1−α_t) I): the forward step, written independently."""
    alpha = diffusion.alphas_np[t]
    return multivariate_normal(np.zeros(diffusion.dim), (1 - alpha) * np.eye(diffusion.dim)).logpdf(
        x_next - math.sqrt(alpha) * x_t)


def _kernel_log_density(diffusion, t, parent, x):
    log_w, means, covs = diffusion.reverse_kernel(t, torch.as_tensor(parent[None]))
    terms = [float(log_w[0, k]) + multivariate_normal(means[0, k].numpy(), covs[k].numpy()).logpdf(x)
             for k in range(diffusion.components)]
    return logsumexp(terms)


@pytest.mark.parametrize("mixture", [REFERENCE, GENERAL], ids=["reference", "general"])
def test_reverse_kernel_is_bayes_of_the_forward_step(mixture):
    """p_t(x|y) p_{t+1}(y) = p_t(x) N(y; √α_t x, (1−α_t)I) at random points (exact to 1e-9)."""
    diffusion = GaussianMixtureDiffusion(mixture, SHORT)
    rng = np.random.default_rng(1)
    for t in range(diffusion.steps):
        for _ in range(3):
            x, y = rng.normal(scale=2.0, size=2), rng.normal(scale=2.0, size=2)
            left = _kernel_log_density(diffusion, t, y, x) + float(diffusion.marginal(t + 1).log_prob(torch.tensor(np.array([y]))))
            right = float(diffusion.marginal(t).log_prob(torch.tensor(np.array([x])))) + _forward_log_density(diffusion, t, x, y)
            assert left == pytest.approx(right, abs=1e-9)


def test_posterior_is_bayes_of_the_forward_process():
    diffusion = GaussianMixtureDiffusion(GENERAL, SHORT)
    rng = np.random.default_rng(2)
    for t in range(1, diffusion.steps + 1):
        a_bar = diffusion.alpha_bars_np[t]
        y = rng.normal(size=2)
        log_w, means, covs = diffusion.posterior(t, torch.tensor(np.array([y])))
        for _ in range(3):
            x0 = rng.normal(scale=2.0, size=2)
            posterior = logsumexp([float(log_w[0, k]) + multivariate_normal(means[0, k].numpy(), covs[k].numpy()).logpdf(x0)
                                   for k in range(3)])
            bayes = (float(GENERAL.log_prob(torch.tensor(np.array([x0]))))
                     + multivariate_normal(math.sqrt(a_bar) * x0, (1 - a_bar) * np.eye(2)).logpdf(y)
                     - float(diffusion.marginal(t).log_prob(torch.tensor(np.array([y])))))
            assert posterior == pytest.approx(bayes, abs=1e-9)


def test_reverse_chain_marginals_match_the_forward_process():
    """Run the black-box reverse chain from p_T; every x_t has the forward marginal p_t (DKW, STAT_ALPHA)."""
    diffusion = GaussianMixtureDiffusion(GENERAL, SHORT)
    n = 20_000
    result = unaligned_sample(diffusion, n, generator=_generator(3), record_states=True)
    tests = (diffusion.steps + 1) * 2
    for t, states in enumerate(result.states):
        marginal = diffusion.marginal(t)
        for j in range(2):
            weights = marginal.weights.numpy()
            means, stds = marginal.means[:, j].numpy(), np.sqrt(marginal.covs[:, j, j].numpy())
            cdf = lambda y, w=weights, m=means, s=stds: (w * ndtr((np.asarray(y)[:, None] - m) / s)).sum(-1)
            assert ks_distance(states[:, j].numpy(), cdf) <= dkw_radius(n, STAT_ALPHA / tests), (t, j)


def test_prior_matches_the_forward_marginal_of_the_data():
    """Forward-simulate x_T from x_0 ~ p_0 (independent of the marginal formula) and compare."""
    diffusion = GaussianMixtureDiffusion(GENERAL, SHORT)
    generator = _generator(4)
    x = GENERAL.sample(20_000, generator)
    for alpha in SHORT:
        x = math.sqrt(alpha) * x + math.sqrt(1 - alpha) * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    prior = diffusion.sample_prior(20_000, _generator(5))
    for j in range(2):
        from scipy.stats import ks_2samp

        assert ks_2samp(x[:, j].numpy(), prior[:, j].numpy()).pvalue > STAT_ALPHA


# ---------------------------------------------------------------- GMM soft values
def _grid_expectation(diffusion, t, parents, values_fn, spacing=0.08, width=9.0):
    atoms = diffusion.kernel_atoms(t, parents, spacing=spacing, width=width)
    m, count, d = atoms.atoms.shape
    v = values_fn(atoms.atoms.reshape(-1, d), t).reshape(m, count)
    return torch.logsumexp(atoms.log_probs + v, -1)


@settings(max_examples=8)
@given(st.floats(0.3, 4.0), st.integers(0, 3), st.integers(0, 10**6))
def test_soft_value_identity_by_quadrature(lam, t, seed):
    """E_{p_t(·|y)} e^{V_t/λ} = e^{V_{t+1}(y)/λ}: 2-D tensor quadrature, no ridge (general mixture)."""
    diffusion = GaussianMixtureDiffusion(GENERAL, SHORT)
    rng = np.random.default_rng(seed)
    for reward in (LinearReward([0.4, -0.7], 0.3), QuadraticReward([[0.5, 0.1], [0.1, 0.3]], [0.2, -0.1], 0.4)):
        values = ExactSoftValues(diffusion, reward, lam)
        parents = torch.as_tensor(rng.normal(scale=2.0, size=(3, 2)))
        lhs = _grid_expectation(diffusion, t, parents, lambda x, s: values(x, s) / lam)
        rhs = values(parents, t + 1) / lam
        np.testing.assert_allclose(lhs.numpy(), rhs.numpy(), atol=1e-7)


@pytest.mark.parametrize("height", [1.0, 7.0])
def test_soft_value_identity_step_reward_along_the_ridge(height):
    diffusion = GaussianMixtureDiffusion(REFERENCE)
    reward = StepReward(height, [1.0, 0.0], -7.0)
    values = ExactSoftValues(diffusion, reward, 1.0)
    direction = diffusion.ridge_direction(reward)
    assert direction is not None and diffusion.ridge_direction(LinearReward([1.0, 1.0])) is None
    parents = torch.tensor([[-9.0, 0.3], [-7.0, 1.0], [-5.0, -2.0], [0.0, 0.0], [5.0, 0.0]], dtype=torch.float64)
    for t in range(1, diffusion.steps):
        atoms = diffusion.kernel_atoms(t, parents, spacing=0.02, direction=direction)
        v = values(atoms.atoms.reshape(-1, 2), t).reshape(parents.shape[0], -1)
        lhs = torch.logsumexp(atoms.log_probs + v, -1)
        np.testing.assert_allclose(lhs.numpy(), (values(parents, t + 1)).numpy(), atol=1e-8)
    # t = 0: V_0 = r has two atoms with normal-CDF masses; the identity is then exact.
    log_hit = diffusion.step_hit_log_probability(0, parents, reward)
    lhs = torch.logaddexp(log_hit + height, torch.log(-torch.expm1(log_hit)))
    np.testing.assert_allclose(lhs.numpy(), values(parents, 1).numpy(), atol=1e-12)
    # root: E_{p_T} e^{V_T} = Z.
    atoms = diffusion.kernel_atoms(diffusion.steps, None, spacing=0.02, direction=direction)
    root = torch.logsumexp(atoms.log_probs + values(atoms.atoms.reshape(-1, 2), diffusion.steps).reshape(1, -1), -1)
    assert float(root) == pytest.approx(values.root(), abs=1e-9)


@pytest.mark.parametrize("t", [3, 4])
def test_soft_value_against_direct_integration_over_x0(t):
    """V_t(y) = λ log ∫ p_0(x_0) N(y; √ᾱ_t x_0, (1−ᾱ_t)I) e^{r(x_0)/λ} dx_0 / p_t(y), on a 2-D grid."""
    diffusion = GaussianMixtureDiffusion(GENERAL, SHORT)
    lam = 0.7
    a_bar = diffusion.alpha_bars_np[t]
    axis = np.linspace(-12, 12, 961)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    log_p0 = GENERAL.log_prob(torch.as_tensor(grid)).numpy()
    for reward in (StepReward(2.5, [0.6, -0.8], 0.4), LinearReward([0.3, 0.2]),
                   QuadraticReward([[0.4, 0.0], [0.0, 0.2]], [0.1, 0.3], -0.2)):
        r = reward(torch.as_tensor(grid)).numpy()
        for y in ([0.5, -0.2], [-1.5, 1.0]):
            y = np.array(y)
            log_noise = multivariate_normal(np.zeros(2), (1 - a_bar) * np.eye(2)).logpdf(y - math.sqrt(a_bar) * grid)
            numerator = logsumexp(log_p0 + log_noise + r / lam)
            denominator = logsumexp(log_p0 + log_noise)
            direct = lam * (numerator - denominator)
            exact = float(diffusion.soft_value(torch.tensor(np.array([y])), t, reward, lam)[0])
            assert exact == pytest.approx(direct, abs=2e-4)


def test_soft_values_extreme_temperatures_are_finite():
    diffusion = GaussianMixtureDiffusion(REFERENCE)
    reward = StepReward(7.0, [1.0, 0.0], -7.0)
    states = torch.tensor([[-30.0, 0.0], [0.0, 0.0], [30.0, 5.0]], dtype=torch.float64)
    for lam in (1e-3, 1e3):
        for t in range(1, diffusion.steps + 1):
            values = diffusion.soft_value(states, t, reward, lam)
            assert torch.isfinite(values).all() and (values >= -1e-9).all() and (values <= 7.0 + 1e-9).all()


def test_gmm_bad_input():
    diffusion = GaussianMixtureDiffusion(REFERENCE)
    reward = StepReward(1.0, [1.0, 0.0], 0.0)
    for lam in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="lam"):
            diffusion.soft_value(torch.zeros(1, 2), 3, reward, lam)
        with pytest.raises(ValueError, match="lam"):
            ExactSoftValues(diffusion, reward, lam)
    with pytest.raises(ValueError, match="t must"):
        diffusion.reverse_kernel(20, torch.zeros(1, 2))
    with pytest.raises(ValueError, match="parents"):
        diffusion.sample_children(torch.zeros(3), 0, 1)
    with pytest.raises(ValueError, match="dimension"):
        diffusion.soft_value(torch.zeros(1, 2), 2, StepReward(1.0, [1.0, 0.0, 0.0], 0.0), 1.0)
    with pytest.raises(ValueError, match="diverges"):
        diffusion.soft_value(torch.zeros(1, 2), 2, QuadraticReward(-np.eye(2) * 5, [0.0, 0.0]), 0.1)
    with pytest.raises(ValueError, match="mixture"):
        GaussianMixtureDiffusion("not a mixture")


# ---------------------------------------------------------------- the black-box interface
class _BrokenKernel:
    steps, state_shape = 2, (2,)

    def __init__(self, wrong: str) -> None:
        self.wrong = wrong

    def sample_prior(self, n, generator=None):
        return torch.zeros(n, 3) if self.wrong == "prior" else torch.zeros(n, 2)

    def sample_children(self, parents, t, n_children, generator=None):
        if self.wrong == "children":
            return torch.zeros(parents.shape[0], 2)
        if self.wrong == "nan":
            return torch.full((parents.shape[0], n_children, 2), float("nan"))
        return torch.zeros(parents.shape[0], n_children, 2)


@pytest.mark.parametrize("wrong, call", [("prior", "sample_prior"), ("children", "sample_children"),
                                         ("nan", "sample_children")])
def test_kernel_returning_the_wrong_shape_is_refused(wrong, call):
    kernel = CountingKernel(_BrokenKernel(wrong))
    with pytest.raises(ValueError, match=call):
        if call == "sample_prior":
            kernel.sample_prior(4)
        else:
            kernel.sample_children(torch.zeros(4, 2), 0, 3)
    with pytest.raises(ValueError, match=call):
        unaligned_sample(_BrokenKernel(wrong), 4)


def test_counting_kernel_counts_every_draw_and_rejects_non_kernels():
    kernel = CountingKernel(GaussianMixtureDiffusion(REFERENCE, SHORT))
    x = kernel.sample_prior(7)
    kernel.sample_children(x, 3, 5)
    assert kernel.prior_draws == 7 and kernel.child_draws == [0, 0, 0, 35] and kernel.draws == 42
    with pytest.raises(ValueError, match="ChainKernel"):
        CountingKernel(object())


# ---------------------------------------------------------------- masked diffusion
def _small_masked() -> tuple[MaskedDiffusion, SequenceSetReward]:
    sequences = np.array(list(itertools.product(range(3), repeat=3)))
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(len(sequences)))
    return MaskedDiffusion(sequences, probs, 3), SequenceSetReward(2.5, sequences[[0, 13, 26]])


def test_masked_kernels_sum_to_one_and_are_bayes_of_the_forward_masking():
    """p_t(x|y) p_{t+1}(y) = p_t(x) p(y|x) with p(y|x) = 1/(L−t) for each single extra mask (exact)."""
    chain, _ = _small_masked()
    for t in range(chain.steps):
        parents, parent_probs = chain.level_states(t + 1)
        table = chain.kernel_probabilities(t, parents)
        np.testing.assert_allclose(table.sum((1, 2)).numpy(), 1.0, atol=1e-12)
        children, child_probs = chain.level_states(t)
        lookup = {tuple(s.tolist()): float(p) for s, p in zip(children, child_probs)}
        for parent, parent_prob, row in zip(parents, parent_probs, table):
            for i in range(chain.length):
                for v in range(chain.vocabulary_size):
                    if parent[i] != chain.mask:
                        assert row[i, v] == 0
                        continue
                    child = parent.clone()
                    child[i] = v
                    forward = lookup.get(tuple(child.tolist()), 0.0) / (chain.length - t)
                    assert float(row[i, v]) * float(parent_prob) == pytest.approx(forward, abs=1e-14)


def test_masked_reverse_chain_marginals_match_the_forward_process():
    """Pushing the prior through the enumerated kernels gives the forward marginals p_t exactly."""
    chain, _ = _small_masked()
    states, probs = chain.sample_prior(1), torch.ones(1, dtype=torch.float64)
    for t in reversed(range(chain.steps)):
        table = chain.kernel_probabilities(t, states)
        atoms = chain.kernel_atoms(t, states).atoms
        mass = (probs[:, None] * table.reshape(states.shape[0], -1)).reshape(-1)
        flat = atoms.reshape(-1, chain.length)
        totals: dict[tuple, float] = {}
        for state, value in zip(flat[mass > 0], mass[mass > 0]):
            totals[tuple(state.tolist())] = totals.get(tuple(state.tolist()), 0.0) + float(value)
        expected_states, expected_probs = chain.level_states(t)
        assert len(totals) == expected_states.shape[0]
        for state, prob in zip(expected_states, expected_probs):
            assert totals[tuple(state.tolist())] == pytest.approx(float(prob), abs=1e-14)
        states = torch.as_tensor(list(totals.keys()))
        probs = torch.as_tensor(list(totals.values()), dtype=torch.float64)


def test_masked_soft_values_by_brute_force_and_the_identity():
    chain, reward = _small_masked()
    lam = 0.8
    sequences, probs = chain.sequences.numpy(), chain.probs.numpy()
    rewards = reward(chain.sequences).numpy()
    for t in range(1, chain.steps + 1):
        states, _ = chain.level_states(t)
        values = chain.soft_value(states, t, reward, lam).numpy()
        for state, value in zip(states.numpy(), values):
            consistent = np.all((state == chain.mask) | (state == sequences), axis=1)
            brute = lam * math.log((probs[consistent] * np.exp(rewards[consistent] / lam)).sum() / probs[consistent].sum())
            assert value == pytest.approx(brute, abs=1e-12)
        # identity E_{p_{t-1}(·|y)} e^{V_{t-1}/λ} = e^{V_t(y)/λ}, exact by enumeration
        atoms = chain.kernel_atoms(t - 1, states)
        v = chain.soft_value(atoms.atoms.reshape(-1, chain.length), t - 1, reward, lam).reshape(states.shape[0], -1)
        v = torch.where(torch.isneginf(atoms.log_probs), torch.zeros_like(v), v)
        lhs = torch.logsumexp(atoms.log_probs + v / lam, -1)
        np.testing.assert_allclose(lhs.numpy(), values / lam, atol=1e-12)


def test_masked_reference_instance():
    chain, rare = reference_masked_diffusion()
    assert chain.length == 6 and chain.vocabulary_size == 8 and chain.sequences.shape[0] == 512
    mass = float(chain.probs[chain.data_index(torch.as_tensor(rare))].sum())
    assert 1e-3 < mass < 1e-2 and rare.shape[0] >= 2


def test_masked_bad_input():
    chain, reward = _small_masked()
    with pytest.raises(ValueError, match="exactly 2 masked"):
        chain.sample_children(chain.sample_prior(2), 1, 1)
    with pytest.raises(ValueError, match="lam"):
        chain.soft_value(chain.sample_prior(1), 3, reward, 0.0)
    with pytest.raises(ValueError, match="tokens"):
        chain.soft_value(torch.full((1, 3), 9), 3, reward, 1.0)
    with pytest.raises(ValueError, match="vocabulary_size"):
        MaskedDiffusion(np.zeros((1, 2), dtype=int), [1.0], 9)
    with pytest.raises(ValueError, match="length"):
        MaskedDiffusion(np.zeros((1, 7), dtype=int), [1.0], 2)
    with pytest.raises(ValueError, match="distinct"):
        MaskedDiffusion(np.zeros((2, 2), dtype=int), [0.5, 0.5], 2)
    with pytest.raises(ValueError, match="probs"):
        MaskedDiffusion(np.array([[0], [1]]), [0.5, 0.6], 2)
