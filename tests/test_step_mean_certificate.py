"""The betting certificate of a per-step mean (``estimators.step_mean_certificate``): the bound is the infimum it
claims, covers the mean at its level, reaches the designed power on its design class, its design companions invert
each other, and it needs fewer terms than the KL bound where the terms sit below δ."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from estimators.bounded_means import kl_upper_confidence
from estimators.binomial import clopper_pearson_lower, clopper_pearson_upper
from estimators.step_mean_certificate import (min_num_samples_for_step_mean_certificate,
                                              min_slack_of_step_mean_certifiable, step_mean_upper_confidence_by_betting)
from tests.conftest import STAT_ALPHA


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=200), alpha=st.floats(1e-10, 0.5))
def test_bound_is_the_smallest_mean_whose_capital_reaches_one_over_alpha(values, alpha):
    upper = step_mean_upper_confidence_by_betting(values, alpha=alpha)
    x = np.asarray(values)
    capital = lambda m: float(np.log1p(m - x).sum())
    if upper < 1.0:
        assert capital(upper) >= math.log(1 / alpha)
        assert capital(upper * (1 - 1e-9) - 1e-15) < math.log(1 / alpha)
    else:
        assert capital(1.0 - 1e-12) < math.log(1 / alpha)


@pytest.mark.parametrize("law", ["bernoulli", "beta"])
def test_bound_covers_the_mean_at_its_level(law):
    rng, alpha, reps, n, mean = np.random.default_rng(4), 0.05, 1500, 40, 0.1
    draws = (rng.random((reps, n)) < mean).astype(float) if law == "bernoulli" else rng.beta(0.5, 4.5, (reps, n))
    misses = sum(step_mean_upper_confidence_by_betting(row, alpha=alpha) < mean for row in draws)
    assert clopper_pearson_lower(misses, reps, STAT_ALPHA) <= alpha


def test_designed_n_certifies_its_class_with_the_stated_power():
    """The design's worst case: terms on {0, δ} with mean δ − s (the chord bound is equality there)."""
    rng, delta, slack, alpha, beta, reps = np.random.default_rng(5), 0.1, 0.05, 1e-6, 0.05, 400
    n = min_num_samples_for_step_mean_certificate(delta, slack, alpha=alpha, beta=beta)
    draws = delta * (rng.random((reps, n)) >= slack / delta)
    certified = sum(step_mean_upper_confidence_by_betting(row, alpha=alpha) <= delta for row in draws)
    assert clopper_pearson_upper(certified, reps, STAT_ALPHA) >= 1 - beta


@settings(max_examples=25, deadline=None)
@given(delta=st.floats(1e-4, 0.5), fraction=st.floats(0.05, 1.0))
def test_design_companions_invert_each_other(delta, fraction):
    n = min_num_samples_for_step_mean_certificate(delta, fraction * delta, alpha=1e-8, beta=1e-3)
    assert min_slack_of_step_mean_certifiable(n, delta, alpha=1e-8, beta=1e-3) <= fraction * delta * (1 + 1e-9)
    assert n >= math.log(1e8) / math.log1p(delta)          # the floor: log(1/α)/δ terms even when all are 0


def test_betting_certifies_small_terms_where_the_kl_bound_does_not():
    """The oracle's regime: every term ≤ δ, mean 0.15δ, at the betting design for slack 0.75δ."""
    rng, delta, alpha = np.random.default_rng(6), 1e-3, 1e-8
    n = min_num_samples_for_step_mean_certificate(delta, 0.75 * delta, alpha=alpha, beta=1e-3)
    terms = rng.uniform(0.0, 0.3 * delta, n)
    assert step_mean_upper_confidence_by_betting(terms, alpha=alpha) <= delta < kl_upper_confidence(terms.mean(), n, alpha)


@pytest.mark.parametrize("call, name", [
    (lambda: step_mean_upper_confidence_by_betting([0.5, 1.5], alpha=0.1), "terms"),
    (lambda: step_mean_upper_confidence_by_betting([0.5], alpha=0.0), "alpha"),
    (lambda: min_num_samples_for_step_mean_certificate(0.1, 0.2, alpha=0.1, beta=0.1), "slack"),
    (lambda: min_num_samples_for_step_mean_certificate(1.0, 0.2, alpha=0.1, beta=0.1), "delta"),
    (lambda: min_slack_of_step_mean_certifiable(0, 0.1, alpha=0.1, beta=0.1), "n"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
