"""FK steering's normalising-constant estimate Ẑ (``SMCResult.log_normalizer``) and the TV bound built on it
(``benchmarks/peers_diffusion.py``): ``E[Ẑ 1{X = s}] = Z q(s)`` for every state s, with and without
resampling, so ``TV(π, q) ≤ E[(1 − Ẑ/Z)_+]``; checked on an enumerable chain."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.special import gammaln

from estimators.bounded_means import bounded_mean_upper_confidence
from estimators.bounded_means import empirical_bernstein_radius
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.exact.peer_laws import reward_tv, sir_reward_probabilities
from estimators.exact.reward_law import DiscreteLaw
from primitives import TableReward
from primitives.peers import fk_steering_sample
from tests.conftest import STAT_ALPHA
from tests.test_smc import REWARDS, FiniteChain

LAM = 1.0
SCALE = 0.5     # milder rewards than test_smc's, so the a-priori range of Ẑ/Z (below) is small


def _setup():
    chain = FiniteChain()
    rewards = SCALE * REWARDS
    exact = chain.soft_values(rewards, LAM)
    values = lambda states, t: torch.as_tensor(exact[t])[states]  # noqa: E731
    p0 = chain.marginal_x0()
    partition = float(p0 @ np.exp(rewards / LAM))
    return chain, exact, values, TableReward(rewards), rewards, p0, partition


def _ratio_range(chain, exact, partition) -> float:
    """A-priori bound on W = Ẑ/Z: each epoch's mean weight is at most the largest product of the
    potentials over that epoch's steps, so ``Ẑ ≤ max G_T · Π_t max_{y,x} G_t(y, x)``."""
    bound = math.exp(exact[chain.steps].max() / LAM)
    for t in range(chain.steps):
        bound *= math.exp((exact[t][None, :] - exact[t + 1][:, None]).max() / LAM)
    return bound / partition


def _weighted_frequency_covers(ratios, samples, target, width, alpha) -> list[bool]:
    """For each state s: is q(s) inside the two-sided empirical-Bernstein interval (level α, Bonferroni
    over states) on ``E[W 1{X = s}]`` from values scaled into [0, 1] by the a-priori range?"""
    share = alpha / (2 * target.size)
    covered = []
    for state, mass in enumerate(target):
        values = np.clip(ratios * (samples == state) / width, 0.0, 1.0)
        radius = empirical_bernstein_radius(values, share)
        covered.append(abs(values.mean() - mass / width) <= radius)
    return covered


@pytest.mark.parametrize("ess_threshold", [0.0, 0.9, 1.0])
def test_normalizer_weights_the_output_to_the_tilted_law(ess_threshold):
    chain, exact, values, reward, rewards, p0, partition = _setup()
    target = p0 * np.exp(rewards / LAM) / partition
    result = fk_steering_sample(chain, values, reward, LAM, 4, 100_000, ess_threshold=ess_threshold,
                                generator=torch.Generator().manual_seed(11))
    ratios = np.exp(result.log_normalizer.numpy()) / partition
    width = _ratio_range(chain, exact, partition)
    assert ratios.max() <= width * (1 + 1e-9)
    if ess_threshold > 0:
        assert result.resamplings > 0
    assert all(_weighted_frequency_covers(ratios, result.samples.numpy(), target, width, STAT_ALPHA))


def test_a_normalizer_missing_the_resampling_factors_is_rejected():
    """The wrong variant (Ẑ = final mean weight only, forgetting the mean weights at resampling times)
    fails the same check: the check can fail."""
    chain, exact, values, reward, rewards, p0, partition = _setup()
    target = p0 * np.exp(rewards / LAM) / partition
    result = fk_steering_sample(chain, values, reward, LAM, 4, 100_000, ess_threshold=1.0,
                                generator=torch.Generator().manual_seed(12))
    wrong = torch.logsumexp(result.final_log_weights, dim=1) - math.log(4)
    ratios = np.exp(wrong.numpy()) / partition
    width = _ratio_range(chain, exact, partition)
    assert not all(_weighted_frequency_covers(ratios, result.samples.numpy(), target, width, STAT_ALPHA))


def _exact_sir_deficit(p0, rewards, particles) -> float:
    """E[(1 − W)_+] for trajectory SIR (no resampling): W = mean_i e^{r(x_i)/λ} / Z over M iid x_i ~ p_0,
    by enumerating the multinomial counts."""
    partition = float(p0 @ np.exp(rewards / LAM))
    total = 0.0
    k = p0.size
    for bars in itertools.combinations(range(particles + k - 1), k - 1):
        counts = np.diff((-1, *bars, particles + k - 1)) - 1
        log_pmf = gammaln(particles + 1) - gammaln(counts + 1).sum() + float(counts @ np.log(p0))
        ratio = float(counts @ np.exp(rewards / LAM)) / (particles * partition)
        total += math.exp(log_pmf) * max(0.0, 1.0 - ratio)
    return total


@pytest.mark.parametrize("particles", [2, 4, 8])
def test_tv_bound_holds_exactly_without_resampling(particles):
    """Without resampling FK steering is trajectory SIR, whose TV to q is enumerable: the bound
    E[(1 − W)_+] dominates it (exact), and the sampled mean of (1 − W)_+ matches the enumerated one."""
    chain, exact, values, reward, rewards, p0, partition = _setup()
    order = np.argsort(rewards)
    law = DiscreteLaw(rewards[order], np.log(p0[order]))
    _, sir = sir_reward_probabilities(law, LAM, particles)
    target = (p0 * np.exp(rewards / LAM) / partition)[order]
    bound = _exact_sir_deficit(p0, rewards, particles)
    assert reward_tv(sir, target) <= bound + 1e-12
    result = fk_steering_sample(chain, values, reward, LAM, particles, 40_000, ess_threshold=0.0,
                                generator=torch.Generator().manual_seed(13 + particles))
    deficit = np.clip(1.0 - np.exp(result.log_normalizer.numpy()) / partition, 0.0, 1.0)
    upper = bounded_mean_upper_confidence(deficit, STAT_ALPHA / 2)
    lower = 1.0 - bounded_mean_upper_confidence(1.0 - deficit, STAT_ALPHA / 2)
    assert lower <= bound <= upper


def test_tv_bound_is_above_the_sampled_tv_with_resampling():
    """With resampling the law is not enumerable; the bound's upper confidence limit must still exceed a
    lower confidence limit on the true TV (multinomial)."""
    chain, exact, values, reward, rewards, p0, partition = _setup()
    target = p0 * np.exp(rewards / LAM) / partition
    n = 100_000
    result = fk_steering_sample(chain, values, reward, LAM, 2, n, ess_threshold=1.0,
                                generator=torch.Generator().manual_seed(14))
    deficit = np.clip(1.0 - np.exp(result.log_normalizer.numpy()) / partition, 0.0, 1.0)
    observed = np.bincount(result.samples.numpy(), minlength=target.size) / n
    tv_lower = reward_tv(observed, target) - multinomial_tv_radius(n, STAT_ALPHA / 2, support_size=target.size)
    assert tv_lower <= bounded_mean_upper_confidence(deficit, STAT_ALPHA / 2)
    assert tv_lower > 0  # M = 2 is visibly biased, so the comparison is not vacuous
