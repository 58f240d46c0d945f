"""Confidence bounds and baselines: coverage of the finite-sample bounds, validity of learned baselines."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.stats import binom

from estimators.exact import tilt_quantities as tq
from estimators.baselines import (chernoff_baseline, empirical_chernoff_baseline, plugin_chernoff_baseline,
                                  subgaussian_baseline)
from estimators.binomial import binomial_detectable_rate, clopper_pearson_lower, clopper_pearson_upper
from estimators.dkw import dkw_radius, ks_distance
from estimators.dkw import min_num_samples_for_dkw_cdf_test
from estimators.bounded_means import empirical_bernstein_radius
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.negative_binomial import negative_binomial_rate_interval
from estimators.exact.log_mgf import empirical_log_mgf
from estimators.exact.reward_law import DiscreteLaw
from tests.conftest import STAT_ALPHA


@given(st.integers(1, 200), st.floats(0.01, 0.99), st.floats(1e-6, 0.2))
def test_clopper_pearson_has_exact_coverage(trials, p, alpha):
    """P(p < lower) ≤ α, computed exactly by summing the binomial law (no sampling)."""
    ks = np.arange(trials + 1)
    lowers = np.array([clopper_pearson_lower(int(k), trials, alpha) for k in ks])
    uppers = np.array([clopper_pearson_upper(int(k), trials, alpha) for k in ks])
    pmf = binom.pmf(ks, trials, p)
    assert pmf[lowers > p].sum() <= alpha * (1 + 1e-6)
    assert pmf[uppers < p].sum() <= alpha * (1 + 1e-6)


@given(st.integers(1, 30), st.floats(0.05, 0.95), st.floats(1e-4, 0.2))
def test_negative_binomial_interval_has_exact_coverage(accepted, p, alpha):
    """Coverage of the inverse-sampling interval, by summing the negative-binomial law exactly."""
    from scipy.stats import nbinom

    failures = np.arange(0, int(nbinom.ppf(1 - 1e-12, accepted, p)) + 1)
    pmf = nbinom.pmf(failures, accepted, p)
    miss = 0.0
    for f, mass in zip(failures, pmf):
        low, high = negative_binomial_rate_interval(accepted, accepted + int(f), alpha)
        if not low <= p <= high:
            miss += mass
    assert miss <= alpha * (1 + 1e-6) + 1e-12


def test_dkw_min_num_samples_meets_the_gap():
    n = min_num_samples_for_dkw_cdf_test(0.03, alpha=1e-8, beta=1e-3)
    assert dkw_radius(n, 1e-8) + dkw_radius(n, 1e-3) <= 0.03 < dkw_radius(n - 1, 1e-8) + dkw_radius(n - 1, 1e-3)


def test_ks_distance_with_atoms_against_brute_force():
    values = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 2.0])
    atoms, probs = np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.3, 0.4])
    cdf = lambda y: np.array([probs[atoms <= v].sum() for v in np.atleast_1d(y)])
    left = lambda y: np.array([probs[atoms < v].sum() for v in np.atleast_1d(y)])
    grid = np.linspace(-1, 4, 5001)
    empirical = np.array([(values <= g).mean() for g in grid])
    assert math.isclose(ks_distance(values, cdf, left), np.abs(empirical - cdf(grid)).max(), abs_tol=1e-12)


def test_multinomial_radius_formula():
    assert math.isclose(multinomial_tv_radius(100, 0.01, probs=np.array([0.25, 0.75])),
                        0.5 * (0.05 + math.sqrt(0.0075)) + math.sqrt(math.log(100) / 200))


def test_binomial_power_is_above_threshold():
    rate = binomial_detectable_rate(500, 1e-6, 1e-3, 0.05)
    assert 0.05 < rate < 0.2


def test_empirical_bernstein_covers_bernoulli_mean():
    rng = np.random.default_rng(3)
    misses = 0
    for _ in range(200):
        values = (rng.random(300) < 0.1).astype(float)
        misses += values.mean() + empirical_bernstein_radius(values, 0.05) < 0.1
    # Binomial test of the miss rate against its nominal 5% at STAT_ALPHA: CP lower bound must be ≤ 0.05.
    assert clopper_pearson_lower(misses, 200, STAT_ALPHA) <= 0.05


def test_empirical_log_mgf_interval_contains_truth():
    law = DiscreteLaw(np.array([0.0, 1.0, 3.0]), np.log(np.array([0.5, 0.3, 0.2])))
    rng = np.random.default_rng(0)
    rewards = rng.choice([0.0, 1.0, 3.0], p=[0.5, 0.3, 0.2], size=20_000)
    estimate = empirical_log_mgf(rewards, 1.5, (0.0, 3.0), STAT_ALPHA)
    assert estimate.lower <= law.log_mgf(1.5) <= estimate.upper


@given(st.integers(0, 10_000))
def test_learned_baseline_is_capped_and_not_below_truth_often(seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=8)
    probs = rng.dirichlet(np.ones(8))
    law = DiscreteLaw(values, np.log(probs))
    rewards = rng.choice(values, p=probs, size=3000)
    learned = empirical_chernoff_baseline(rewards, 0.7, 0.2, 0.05, (values.min(), values.max()))
    assert learned.value <= values.max()
    assert tq.expected_proposals(law, 0.7, learned.value) <= tq.expected_proposals(law, 0.7, values.max()) * (1 + 1e-12)


def test_plugin_baseline_runs():
    assert math.isfinite(plugin_chernoff_baseline(np.array([0.0, 1.0, 2.0]), 1.0, 0.1).value)


@pytest.mark.parametrize("call, name", [
    (lambda: chernoff_baseline(DiscreteLaw(np.array([0.0]), np.array([0.0])), 1.0, 0.0), "delta"),
    (lambda: chernoff_baseline(DiscreteLaw(np.array([0.0]), np.array([0.0])), -1.0, 0.1), "lam"),
    (lambda: subgaussian_baseline(0.0, 1.0, 1.5), "delta"),
    (lambda: empirical_chernoff_baseline(np.array([0.0, 5.0]), 1.0, 0.1, 0.05, (0.0, 1.0)), "bounds"),
    (lambda: empirical_chernoff_baseline(np.array([0.0, 0.5]), 1.0, 0.1, 2.0, (0.0, 1.0)), "eta"),
    (lambda: clopper_pearson_lower(1, 10, 0.0), "alpha"),
])
def test_estimator_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
