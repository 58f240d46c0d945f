"""Designs of the P1 telescoping interval and of the W1d mean-reward test (deterministic: no sampling)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate
from scipy.stats import norm

from estimators.normal_mean import min_num_samples_for_normal_mean_test, min_shift_of_normal_means_detectable
from estimators.bridge_log_partition import (BridgeMoments, bridge_end_deviations, gaussian_mixture_bridge_moments,
                                             min_gap_of_log_partitions_detectable_by_bridge,
                                             min_num_samples_for_bridge_log_partition_test)
from theorems import diffusion_tilt_oracle as p1

levels = st.sampled_from([1e-9, 1e-6, 1e-3])


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(0, 2**31 - 1), st.floats(-2.0, 2.0))
def test_bridge_moments_match_quadrature(components, seed, log_c):
    """The closed forms (normal CDFs) against adaptive quadrature of min(1, c e^y)^k over the mixture density."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(components))
    means, scales = rng.normal(size=components), rng.uniform(0.3, 1.5, size=components)
    density = lambda y: float(np.sum(weights * norm.pdf(y, means, scales)))
    quad = lambda f: integrate.quad(lambda y: f(y) * density(y), -40, 40, points=[-log_c], limit=400,
                                    epsabs=1e-13)[0]
    moments = gaussian_mixture_bridge_moments(weights, means, scales, weights, means, scales, log_c)
    numerator = quad(lambda y: min(1.0, math.exp(log_c + y)))
    denominator = quad(lambda y: min(1.0, math.exp(-log_c - y)))
    assert math.isclose(moments.numerator_mean, numerator, rel_tol=1e-7, abs_tol=1e-10)
    assert math.isclose(moments.denominator_mean, denominator, rel_tol=1e-7, abs_tol=1e-10)
    second = quad(lambda y: min(1.0, math.exp(2 * (log_c + y))))
    assert math.isclose(moments.numerator_variance, second - numerator**2, rel_tol=1e-6, abs_tol=1e-10)


@settings(max_examples=15, deadline=None)
@given(st.floats(0.05, 1.0), levels, st.floats(0.2, 0.8), st.floats(0.01, 0.2))
def test_bridge_design_reaches_its_gap(gap, alpha, mean, variance):
    moments = [BridgeMoments(mean, variance * mean * (1 - mean) / 0.25, mean, variance * mean * (1 - mean) / 0.25)] * 2
    n = min_num_samples_for_bridge_log_partition_test(gap, moments, alpha=alpha, beta=1e-3)
    assert min_gap_of_log_partitions_detectable_by_bridge(moments, n, alpha=alpha, beta=1e-3) <= gap
    below, above = bridge_end_deviations(moments, n, alpha=alpha, beta=1e-3)
    assert 0 < below and 0 < above
    if n > 64:   # and n is the smallest such size (up to the bisection's lattice)
        assert min_gap_of_log_partitions_detectable_by_bridge(moments, n - 1, alpha=alpha, beta=1e-3) > gap


@given(st.floats(1e-3, 10.0), st.floats(0.1, 10.0), levels)
def test_normal_mean_design_reaches_its_gap(gap, scale, alpha):
    n = min_num_samples_for_normal_mean_test(gap, scale, alpha=alpha, beta=1e-3)
    assert min_shift_of_normal_means_detectable(n, scale, alpha=alpha, beta=1e-3) <= gap * (1 + 1e-12)
    if n > 1:
        assert min_shift_of_normal_means_detectable(n - 1, scale, alpha=alpha, beta=1e-3) > gap
    # the stated power is the exact normal power of the test at that shift
    z = norm.isf(alpha / 2)
    assert norm.cdf(gap * math.sqrt(n) / scale - z) >= 1 - 1e-3 - 1e-12


def test_telescoping_bridge_is_exact_at_the_population_pilot():
    """With an exact oracle the bridge's limit is log Z(θ) (the identity the interval rests on), and the design's
    code-path variant (an oracle tilting by 0.75θ) is biased by more than the detectable gap."""
    diffusion, theta = p1.diffusion_instance()
    theta = p1.TELESCOPING_SCALE * theta
    exact = diffusion.mixture.log_partition(theta)
    _, limit = p1.bridge_moments(diffusion.mixture, theta, p1.TELESCOPING_STEPS)
    assert math.isclose(limit, exact, rel_tol=1e-10)
    plan = p1.telescoping_design(1e-9, 1e-3)
    assert plan["detectable_gap"] <= p1.TELESCOPING_GAP
    _, wrong = p1.bridge_moments(diffusion.mixture, theta, p1.TELESCOPING_STEPS, p1.WRONG_TILT_SCALE)
    assert abs(wrong - exact) > p1.TELESCOPING_GAP
    assert 0 < plan["detectable_relative_tilt_error"] < 1 - p1.WRONG_TILT_SCALE


@pytest.mark.parametrize("change, message", [
    (dict(scales_below=[0.0]), "scales_below"),
    (dict(scales_above=[-1.0]), "scales_above"),
    (dict(weights_below=[0.7]), "weights_below"),
    (dict(means_above=[float("nan")]), "means_above"),
    (dict(weights_above=[0.5, 0.5]), "weights_above, means_above and scales_above"),
    (dict(log_c=float("inf")), "log_c"),
])
def test_bridge_moments_refuse_bad_mixtures_naming_the_argument(change, message):
    arguments = dict(weights_below=[1.0], means_below=[0.0], scales_below=[1.0], weights_above=[1.0],
                     means_above=[0.5], scales_above=[1.0], log_c=0.1)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        gaussian_mixture_bridge_moments(**{**arguments, **change})


def test_negative_widening_is_refused():
    with pytest.raises(ValueError, match="widening"):
        bridge_end_deviations([BridgeMoments(0.5, 0.1, 0.5, 0.1)], 1000, alpha=1e-6, beta=1e-3, widening=-0.1)
