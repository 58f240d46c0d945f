"""The Chernoff region of a sum of geometric variables (estimators.geometric_sums) against the sum's exact law
(the convolution of the geometric pmfs, computed here) and a simulation; bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from estimators.geometric_sums import (count_error_rejection_bound, geometric_sum_interval,
                                       geometric_sum_rate_function, min_relative_count_error_detectable)
from tests.conftest import STAT_ALPHA

ALPHA = 1e-3


def _exact_pmf(rates: np.ndarray, length: int) -> np.ndarray:
    """``P(X = x)`` for x = 0..length−1, X = Σ Geom(p_i) on {1, 2, …}: the convolution of the pmfs
    ``p(1 − p)^{k−1}``, truncated at ``length`` (the truncation drops only mass above ``length − 1``)."""
    pmf = np.zeros(length)
    pmf[0] = 1.0
    support = np.arange(length)
    for p in rates:
        geometric = np.where(support >= 1, p * (1.0 - p) ** np.maximum(support - 1, 0), 0.0)
        pmf = np.convolve(pmf, geometric)[:length]
    return pmf


def _tails(pmf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P(X ≤ x)`` and ``P(X ≥ x)`` for x = 0..length−1, each summed from its own end (no 1 − cdf rounding)."""
    return np.cumsum(pmf), np.cumsum(pmf[::-1])[::-1]


def _mass_inside(pmf: np.ndarray, low: float, high: float) -> float:
    """``P(low ≤ X ≤ high)`` (X integer)."""
    return float(pmf[max(math.ceil(low), 0):math.floor(high) + 1].sum())


@pytest.fixture(scope="module")
def spread_rates():
    """200 acceptance probabilities spread over [0.2, 1] (μ ≈ 400) and the exact pmf of their sum."""
    rates = np.random.default_rng(11).uniform(0.2, 1.0, size=200)
    return rates, _exact_pmf(rates, 2000)


def test_region_and_rate_function_bound_the_exact_law(spread_rates):
    """Each side of the level-α region holds ≤ α/2 of the exact law, and ``e^{−I(x)}`` bounds both tails at
    points on either side of μ; the miss-rate bound of a miscounting counter bounds its exact miss rate."""
    rates, pmf = spread_rates
    at_most, at_least = _tails(pmf)
    mean = float(np.sum(1 / rates))
    assert at_most[-1] > 1 - 1e-12                               # the truncation drops nothing that matters
    low, high = geometric_sum_interval(rates, ALPHA)
    assert rates.size <= low < mean < high
    assert at_most[math.ceil(low) - 1] <= ALPHA / 2 and at_least[math.floor(high) + 1] <= ALPHA / 2
    for x in np.linspace(rates.size + 1, 2 * mean, 9).round().astype(int):
        bound = math.exp(-geometric_sum_rate_function(rates, x))
        assert (at_most[x] if x <= mean else at_least[x]) <= bound * (1 + 1e-9)
    for factor in (0.8, 0.95, 1.05, 1.2):
        assert _mass_inside(pmf, low / factor, high / factor) <= count_error_rejection_bound(rates, ALPHA, factor) * (1 + 1e-9)


def test_detectable_count_error_is_caught_at_its_stated_rate(spread_rates):
    rates, pmf = spread_rates
    low, high = geometric_sum_interval(rates, ALPHA)
    beta = 1e-3
    epsilon = min_relative_count_error_detectable(rates, ALPHA, beta)
    assert epsilon is not None
    for factor in (1 - epsilon, 1 + epsilon):
        assert _mass_inside(pmf, low / factor, high / factor) <= beta


def test_the_plus_side_is_an_infimum_when_the_all_ones_count_is_likely():
    """50 rates of 0.99: ``Π p_i ≈ 0.6 ≥ β``, so ε = hi/m − 1. At ε the counter (1 + ε)X still lands inside
    whenever X = m; at any ε above it never does."""
    rates = np.full(50, 0.99)
    pmf = _exact_pmf(rates, 400)
    beta = 1e-3
    low, high = geometric_sum_interval(rates, ALPHA)
    epsilon = min_relative_count_error_detectable(rates, ALPHA, beta)
    assert epsilon is not None and math.isclose(epsilon, high / rates.size - 1, rel_tol=1e-12)
    at = 1 + epsilon
    assert _mass_inside(pmf, low / at, high / at * (1 + 1e-12)) >= float(np.prod(rates)) > beta
    above = 1 + epsilon * (1 + 1e-6)
    assert _mass_inside(pmf, low / above, high / above) == 0.0
    assert count_error_rejection_bound(rates, ALPHA, above) == 0.0


def test_simulated_sums_fall_outside_the_region_at_most_at_its_level(spread_rates):
    """An independent route: 20 000 simulated sums; under the claim the count outside is at most Bin(20 000, α),
    so more than its (1 − STAT_ALPHA)-quantile rejects."""
    rates, _ = spread_rates
    low, high = geometric_sum_interval(rates, ALPHA)
    draws = 20_000
    sums = np.random.default_rng(12).geometric(rates[None, :], size=(draws, rates.size)).sum(1)
    outside = int(np.sum((sums < low) | (sums > high)))
    assert outside <= binom.isf(STAT_ALPHA, draws, ALPHA)


@pytest.mark.parametrize("call, name", [
    (lambda: geometric_sum_interval([], ALPHA), "rates"),
    (lambda: geometric_sum_interval([0.5, 1.5], ALPHA), "rates"),
    (lambda: geometric_sum_interval([0.5], 0.0), "alpha"),
    (lambda: count_error_rejection_bound([0.5], ALPHA, 0.0), "factor"),
    (lambda: count_error_rejection_bound([0.5], ALPHA, -1.1), "factor"),
    (lambda: count_error_rejection_bound([0.5], ALPHA, math.nan), "factor"),
    (lambda: min_relative_count_error_detectable([0.5], ALPHA, 0.0), "beta"),
    (lambda: min_relative_count_error_detectable([0.5], ALPHA, 1e-3, largest=0.0), "largest"),
    (lambda: min_relative_count_error_detectable([0.5], ALPHA, 1e-3, largest=1.5), "largest"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
