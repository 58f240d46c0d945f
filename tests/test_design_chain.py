"""Design functions of ``estimators.offset_calibration``, ``estimators.negative_binomial`` and
``estimators.multinomial_tv`` (deterministic: they never run the code under test) and the
chain T6 check's power beyond the registered seed (slow)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom, nbinom

from estimators.binomial import clopper_pearson_upper
from estimators.negative_binomial import negative_binomial_rate_interval
from estimators.offset_calibration import (exceedance_probability, largest_valid_rank,
                                           min_num_residuals_for_calibration_test, tail_rate_for_exceedance)
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_tv_lower_bound,
                                       min_num_samples_for_tv_lower_bound_test)
from estimators.negative_binomial import (min_num_accepted_for_relative_mean_test,
                                          min_relative_gap_of_means_detectable, negative_binomial_mean_power)
from estimators.offset_calibration import calibration_rank
from theorems import chain_learned_baseline as t6
from tiltproof.core.framework import run_claim
from tests.conftest import STAT_ALPHA


@given(st.integers(5, 400), st.integers(0, 30), st.floats(0.001, 0.5))
def test_beta_form_is_the_binomial_cdf(pairs, rank, rate):
    rank = min(rank, pairs - 1)
    assert abs(exceedance_probability(rank, pairs, rate) - binom.cdf(rank, pairs, rate)) < 1e-10


@given(st.integers(20, 600), st.floats(0.01, 0.3), st.floats(0.001, 0.3))
def test_largest_valid_rank_agrees_with_the_calibration_code(pairs, delta, eta):
    assert largest_valid_rank(pairs, delta, eta) == calibration_rank(pairs, delta, eta)


def test_tail_rate_inverts_the_exceedance():
    for rank, pairs, exceedance in ((3, 200, 0.02), (0, 400, 0.04), (9, 200, 0.5)):
        rate = tail_rate_for_exceedance(rank, pairs, exceedance)
        assert abs(exceedance_probability(rank, pairs, rate) - exceedance) < 1e-10


@pytest.mark.parametrize("pairs,delta,eta", [(200, 0.05, 0.02), (400, 0.01, 0.02)])
def test_residual_design_detects_twice_eta(pairs, delta, eta):
    """At the designed N, the exact probability that the CP upper bound on P(R ≥ u) falls below p* (the
    test's rejection) is ≥ 1 − β when the rate gives exceedance 2η, and ≤ α at p*."""
    alpha, beta = 1e-8, 1e-3
    n = min_num_residuals_for_calibration_test(pairs, delta, eta, alpha=alpha, beta=beta)
    rank = largest_valid_rank(pairs, delta, eta)
    threshold = tail_rate_for_exceedance(rank, pairs, eta)
    alternative = tail_rate_for_exceedance(rank, pairs, 2 * eta)
    # largest count k whose CP upper bound is below p*: the rejection region is {count ≤ k}
    low, high = 0, n
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if clopper_pearson_upper(middle, n, alpha) < threshold else (low, middle)
    assert clopper_pearson_upper(low, n, alpha) < threshold <= clopper_pearson_upper(low + 1, n, alpha)
    assert binom.cdf(low, n, alternative) >= 1 - beta
    assert binom.cdf(low, n, threshold) <= alpha


@pytest.mark.parametrize("mean,gap", [(7.8, 0.1), (140.0, 0.1), (2.0, 0.3)])
def test_negative_binomial_design(mean, gap):
    alpha, beta = 6e-9, 1e-3
    accepted = min_num_accepted_for_relative_mean_test(mean, gap, alpha=alpha, beta=beta)
    assert negative_binomial_mean_power(accepted, mean, mean * (1 + gap), alpha=alpha) >= 1 - beta
    assert negative_binomial_mean_power(accepted, mean, mean, alpha=alpha) <= alpha * (1 + 1e-6)
    assert min_relative_gap_of_means_detectable(accepted, mean, alpha=alpha, beta=beta) <= gap * (1 + 1e-6)
    assert negative_binomial_mean_power(accepted - 1, mean, mean * (1 + gap), alpha=alpha) < 1 - beta or \
        negative_binomial_mean_power(accepted - 1, mean, mean * (1 - gap), alpha=alpha) < 1 - beta


def test_negative_binomial_power_matches_the_interval():
    """The critical failure counts are those at which ``negative_binomial_rate_interval`` excludes the rate."""
    accepted, mean, alpha = 300, 5.0, 1e-3
    rate = 1 / mean
    power = negative_binomial_mean_power(accepted, mean, mean * 1.2, alpha=alpha)
    total = 0.0
    for failures in range(0, 6000):
        low, high = negative_binomial_rate_interval(accepted, accepted + failures, alpha)
        if not low <= rate <= high:
            total += nbinom.pmf(failures, accepted, 1 / (mean * 1.2))
    assert abs(total - power) < 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("mutant", t6.mutants(), ids=lambda mutant: mutant.name)
def test_chain_t6_wrong_variants_fail_at_many_seeds(mutant):
    """Power is a property of the design: every T6 wrong variant fails at each of 12 seeds."""
    verdicts = [run_claim(mutant.claim, alpha=STAT_ALPHA, seed=seed).verdict for seed in range(1, 13)]
    assert verdicts == ["fail"] * 12, verdicts


@given(st.floats(0.01, 0.5), st.integers(2, 600))
def test_tv_lower_bound_design_companions_agree(gap, support):
    n = min_num_samples_for_tv_lower_bound_test(gap, support, alpha=1e-8, beta=1e-3)
    assert min_gap_of_tvs_detectable_by_tv_lower_bound(n, support, alpha=1e-8, beta=1e-3) <= gap
    assert min_gap_of_tvs_detectable_by_tv_lower_bound(n - 1, support, alpha=1e-8, beta=1e-3) > gap or n == 1


def test_exact_calls_integral_matches_its_closed_form_floor():
    """On the smooth-norm instance the net covers f within ε everywhere, so E[calls] = e^{ε/λ}ΣW/Z: the k-dim
    integral (spherical quadrature) must agree with the 1-D radial Z to quadrature precision."""
    import math

    from estimators.exact.plane_calls import expected_planes_calls
    from theorems import kl_oracle_calls as l1b

    for k in (1, 2):
        _, reward, lam = l1b.complexity_instance(k, 4)
        cover = l1b.plane_cover(reward, l1b.COMPLEXITY_EPS)
        exact = expected_planes_calls(cover.slopes, cover.intercepts, l1b._radial_f, epsilon=cover.epsilon, lam=lam)
        Z, _, error = l1b.radial_quantities(k)
        floor = math.exp(l1b.COMPLEXITY_EPS / lam + exact.log_total_weight) / Z
        assert abs(exact.value / floor - 1) <= 1e-9 + error + exact.relative_error
        # One plane covers f nowhere but near its tangent point: the min clips, so E[calls] exceeds the floor.
        clipped = expected_planes_calls(cover.slopes[:1], cover.intercepts[:1], l1b._radial_f, epsilon=cover.epsilon,
                                        lam=lam)
        clipped_floor = math.exp(l1b.COMPLEXITY_EPS / lam + clipped.log_total_weight) / Z
        assert clipped.value > clipped_floor * (1 + 1e-3)


def test_chain_t6_on_a_degenerate_design_is_an_error(monkeypatch):
    """δ = 0.05 at t = 2 puts u on R's atom at 0 (V underflows deep in the 0.95 component): the exact form does
    not apply, so the claim must be an error, not evidence."""
    monkeypatch.setitem(t6.DESIGNS, "constant", (2, 0.05, 200, 1))
    claim = [claim for claim in t6.claims() if claim.id.endswith("constant")][0]
    record = run_claim(claim, alpha=STAT_ALPHA)
    assert record.verdict == "error" and "continuous" in record.message
