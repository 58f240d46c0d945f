"""Design functions: each sample size reaches its power, each test keeps its level (exact binomial sums)."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, strategies as st
from scipy.stats import binom

from estimators.binomial import (binomial_rate_power, binomial_rejection_counts,
                                 min_discrepancy_of_binomial_rates_detectable, min_num_samples_for_binomial_rate_test,
                                 min_num_samples_for_binomial_upper_test)
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_dkw_cdf_test
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_multinomial,
                                       min_num_samples_for_multinomial_tv_test)
from estimators import design
from estimators.binomial import clopper_pearson_lower, clopper_pearson_upper

rates = st.floats(min_value=1e-3, max_value=0.5)
levels = st.sampled_from([1e-9, 1e-6, 1e-3, 0.05])


@given(rate=rates, trials=st.integers(min_value=20, max_value=200_000), alpha=levels)
def test_exact_rate_test_keeps_its_level(rate, trials, alpha):
    assert binomial_rate_power(trials, rate, rate, alpha=alpha) <= alpha * (1 + 1e-9)


@given(rate=rates, trials=st.integers(min_value=20, max_value=20_000), alpha=levels)
def test_rejection_counts_agree_with_clopper_pearson_inversion(rate, trials, alpha):
    """The critical counts (binomial quantiles) and the CP interval (beta quantiles) are one test."""
    k_low, k_high = binomial_rejection_counts(trials, rate, alpha)
    for count in {max(k_low, 0), k_low + 1, k_high - 1, min(k_high, trials)}:
        outside = not (clopper_pearson_lower(count, trials, alpha / 2) <= rate <= clopper_pearson_upper(count, trials, alpha / 2))
        assert outside == (count <= k_low or count >= k_high), (count, k_low, k_high)


@given(rate=st.floats(min_value=1e-3, max_value=0.3), relative=st.floats(min_value=0.1, max_value=0.8),
       upwards=st.booleans())
def test_designed_rate_sample_size_reaches_its_power(rate, relative, upwards):
    alternative = rate * (1 + relative) if upwards else rate * (1 - relative)
    n = min_num_samples_for_binomial_rate_test(rate, alternative, alpha=1e-6, beta=1e-3)
    assert binomial_rate_power(n, rate, alternative, alpha=1e-6) >= 1 - 1e-3
    # the companion maps n back to a detectable rate no farther than the designed one
    low, high = min_discrepancy_of_binomial_rates_detectable(n, rate, alpha=1e-6, beta=1e-3)
    assert (high <= alternative * (1 + 1e-6)) if upwards else (low >= alternative * (1 - 1e-6))


@given(threshold=st.floats(min_value=1e-3, max_value=0.2), factor=st.floats(min_value=1.5, max_value=4.0))
def test_one_sided_design_rejects_through_the_clopper_pearson_bound(threshold, factor):
    alternative = min(threshold * factor, 0.9)
    n = min_num_samples_for_binomial_upper_test(threshold, alternative, alpha=1e-6, beta=1e-3)
    # independent route: the count at the alternative's 1e-3 quantile already has CP lower bound > threshold
    count = int(binom.ppf(1e-3, n, alternative))
    assert clopper_pearson_lower(count, n, 1e-6) > threshold


@given(gap=st.floats(min_value=0.005, max_value=0.5), alpha=levels)
def test_dkw_and_multinomial_companions_invert_each_other(gap, alpha):
    n = min_num_samples_for_dkw_cdf_test(gap, alpha=alpha, beta=1e-3)
    assert min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=alpha, beta=1e-3) <= gap
    assert min_discrepancy_of_cdfs_detectable_by_dkw(max(n - 1, 1), alpha=alpha, beta=1e-3) > gap or n == 1
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    m = min_num_samples_for_multinomial_tv_test(gap, probs, alpha=alpha, beta=1e-3)
    assert min_gap_of_tvs_detectable_by_multinomial(m, probs, alpha=alpha, beta=1e-3) <= gap * (1 + 1e-12)


def test_infeasible_design_raises_instead_of_underpowering():
    import pytest

    with pytest.raises(ValueError, match="gap"):
        design.smallest_n(lambda n: False, limit=1024)
    with pytest.raises(ValueError, match="alternative_rate"):
        min_num_samples_for_binomial_rate_test(0.1, 0.1, alpha=1e-6, beta=1e-3)
    with pytest.raises(ValueError, match="rate"):
        min_num_samples_for_binomial_rate_test(1.5, 0.1, alpha=1e-6, beta=1e-3)


def test_scaling_is_inverse_square_in_the_gap():
    """n ∝ 1/gap² (DKW closed form): halving the gap multiplies n by 4 (± rounding)."""
    n1 = min_num_samples_for_dkw_cdf_test(0.02, alpha=1e-6, beta=1e-3)
    n2 = min_num_samples_for_dkw_cdf_test(0.01, alpha=1e-6, beta=1e-3)
    assert math.isclose(n2 / n1, 4.0, rel_tol=1e-3)
