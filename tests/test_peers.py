"""Peer samplers against their own known behaviour on exact instances."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from scipy.stats import binom

from estimators.binomial import clopper_pearson_lower
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.negative_binomial import negative_binomial_rate_interval
from estimators.exact.tilted_law import TiltedLaw, reward_law
from estimators.law_tests import fit_sample_size, fit_test
from estimators.exact.peer_laws import (best_of_n_reward_probabilities, reward_tv, rso_reward_probabilities,
                                        sir_reward_probabilities, target_reward_probabilities)
from primitives import Categorical, GaussianMixture, StepReward, TableReward
from primitives.peers import percentile_beta, quasi_rejection_sample, rso_sample, sir_sample
from tests.conftest import STAT_ALPHA
from tests.strategies import any_instance, finite_law


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


@given(any_instance, st.floats(0.3, 3.0))
def test_qrs_with_beta_above_the_envelope_is_exact(instance, lam):
    base, reward = instance
    law = reward_law(base, reward)
    if not math.isfinite(law.ess_sup):
        return
    beta = math.exp(law.ess_sup / lam) * 1.5
    target = TiltedLaw(base, reward, lam, None)
    n = fit_sample_size(target, 0.05, STAT_ALPHA)
    result = quasi_rejection_sample(base, reward, lam, beta, n, generator=_generator(4))
    assert not fit_test(result.samples, target, STAT_ALPHA).rejected


def _two_atom_instance():
    base = GaussianMixture([0.95, 0.05], [[5.0], [-5.0]], [[[1.0]], [[1.0]]])
    return base, StepReward(5.0, [1.0], -7.0)


def _hit_rate_interval(samples, reward, alpha):
    hits = int((reward(samples) > 0).sum())
    n = samples.shape[0]
    return clopper_pearson_lower(hits, n, alpha / 2), 1 - clopper_pearson_lower(n - hits, n, alpha / 2)


@pytest.mark.parametrize("particles", [4, 64])
def test_sir_hit_rate_matches_the_binomial_formula(particles):
    """Independent route for a two-atom law: π(B) = Σ_k Bin(k; M, p) k e^{B/λ} / (k e^{B/λ} + M − k)."""
    base, reward = _two_atom_instance()
    law = reward_law(base, reward)
    p_hit = math.exp(law.log_probs[1])
    hits = np.arange(particles + 1)
    formula = float(binom.pmf(hits, particles, p_hit) @ (hits * math.e**5 / (hits * math.e**5 + particles - hits)))
    _, enumerated = sir_reward_probabilities(law, 1.0, particles)
    assert math.isclose(enumerated[1], formula, rel_tol=1e-10)
    result = sir_sample(base, reward, 1.0, particles, 40_000, generator=_generator(1))
    low, high = _hit_rate_interval(result.samples, reward, STAT_ALPHA)
    assert low <= formula <= high and result.proposals == 40_000 * particles


@given(finite_law(max_size=5), st.floats(0.3, 3.0), st.integers(1, 6))
def test_sir_law_on_finite_laws(instance, lam, particles):
    base, reward = instance
    law = reward_law(base, reward)
    values, claimed = sir_reward_probabilities(law, lam, particles)
    assert math.isclose(claimed.sum(), 1.0, rel_tol=1e-12)
    n = 20_000
    samples = sir_sample(base, reward, lam, particles, n, generator=_generator(2)).samples
    observed = np.array([(reward(samples).numpy() == v).mean() for v in values])
    assert reward_tv(observed, claimed) <= multinomial_tv_radius(n, STAT_ALPHA, probs=claimed)


def test_sir_converges_to_the_target():
    base, reward = _two_atom_instance()
    law = reward_law(base, reward)
    _, target = target_reward_probabilities(law, 1.0)
    distances = [reward_tv(sir_reward_probabilities(law, 1.0, m)[1], target) for m in (8, 64, 512, 4096)]
    assert all(later < earlier for earlier, later in zip(distances, distances[1:])) and distances[-1] < 0.01


@pytest.mark.parametrize("candidates", [16, 256])
def test_rso_hit_rate_matches_enumeration(candidates):
    base, reward = _two_atom_instance()
    _, claimed = rso_reward_probabilities(reward_law(base, reward), 1.0, candidates)
    result = rso_sample(base, reward, 1.0, candidates, 40_000, generator=_generator(3))
    low, high = _hit_rate_interval(result.samples, reward, STAT_ALPHA)
    assert low <= claimed[1] <= high


def test_rso_is_biased_for_finite_candidates_and_not_for_many():
    base, reward = _two_atom_instance()
    law = reward_law(base, reward)
    _, target = target_reward_probabilities(law, 1.0)
    assert reward_tv(rso_reward_probabilities(law, 1.0, 16)[1], target) > 0.1
    assert reward_tv(rso_reward_probabilities(law, 1.0, 4096)[1], target) < 1e-3


def test_best_of_n_enumeration_matches_cdf_power():
    law = reward_law(Categorical([0.2, 0.3, 0.5]), TableReward([1.0, 0.0, 2.0]))
    values, probs = best_of_n_reward_probabilities(law, 3)
    cdf = np.array([0.3, 0.5, 1.0])  # of the sorted values 0, 1, 2
    np.testing.assert_allclose(probs, cdf**3 - np.concatenate([[0], cdf[:-1]]) ** 3)


def test_percentile_beta_keeps_the_minimum_acceptance():
    """The β chosen on a pilot gives an acceptance rate ≥ the target (up to pilot noise) when run."""
    base, reward = Categorical([0.5, 0.3, 0.2]), TableReward([0.0, 1.0, 3.0])
    beta, pilot = percentile_beta(base, reward, 0.5, 0.3, pilot=20_000, generator=_generator(5))
    result = quasi_rejection_sample(base, reward, 0.5, beta, 20_000, generator=_generator(6))
    low, high = negative_binomial_rate_interval(result.accepted, result.proposals, STAT_ALPHA)
    exact = float(np.array([0.5, 0.3, 0.2]) @ np.minimum(np.exp(np.array([0, 1, 3]) / 0.5), beta)) / beta
    assert low <= exact <= high and exact >= 0.3 - 0.05 and pilot == 20_000


@pytest.mark.parametrize("call, name", [
    (lambda base, reward: quasi_rejection_sample(base, reward, 1.0, 0.0, 5), "beta"),
    (lambda base, reward: sir_sample(base, reward, 1.0, 0, 5), "particles"),
    (lambda base, reward: rso_sample(base, reward, -1.0, 4, 5), "lam"),
    (lambda base, reward: percentile_beta(base, reward, 1.0, 1.5), "min_acceptance"),
])
def test_peer_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call(Categorical([0.5, 0.5]), TableReward([0.0, 1.0]))
