"""Exact T1–T5 quantities against independent routes: enumeration, adaptive quadrature, direct sums."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from scipy import integrate
from scipy.stats import norm

from estimators.exact import tilt_quantities as tq
from estimators.baselines import chernoff_baseline, subgaussian_baseline
from estimators.exact.tilted_law import TiltedLaw, reward_law
from estimators.exact.log_mgf import gaussian_quadratic_log_mgf, log_mgf
from estimators.exact.reward_law import DiscreteLaw, NormalMixtureLaw, normal_law
from primitives import Categorical, Gaussian, QuadraticReward
from tests.strategies import any_instance, deltas, finite_law, lams, mixture_linear


def _quadrature_expectation(law: NormalMixtureLaw, function, kinks=()) -> float:
    """Adaptive quadrature over the reward's density, split at the kinks and component means."""
    weights = np.exp(law.log_weights)
    density = lambda v: float(weights @ norm.pdf(v, law.means, law.stds))
    low = float((law.means - 40 * law.stds).min())
    high = float((law.means + 40 * law.stds).max())
    points = sorted({low, high, *[float(k) for k in kinks if low < k < high], *law.means.tolist()})
    return sum(integrate.quad(lambda v: density(v) * function(v), left, right, limit=400, epsabs=0, epsrel=1e-11)[0]
               for left, right in zip(points, points[1:]))


def _enumerate(law: DiscreteLaw, function) -> float:
    return float(np.sum(np.exp(law.log_probs) * np.array([function(v) for v in law.values])))


def _direct(law, function) -> float:
    return _enumerate(law, function) if isinstance(law, DiscreteLaw) else _quadrature_expectation(law, function)


@given(finite_law(), lams, st.floats(-3, 3))
def test_finite_quantities_match_enumeration(instance, lam, baseline):
    base, reward = instance
    law = reward_law(base, reward)
    probs, values = base.probs.numpy(), reward.values
    weights = np.exp((values - values.max()) / lam)
    accept = np.minimum(1, np.exp((values - baseline) / lam))
    q = probs * weights / (probs @ weights)
    q_b = probs * accept / (probs @ accept)
    assert math.isclose(tq.log_clipped_partition(law, lam, baseline), math.log(probs @ accept), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(tq.tv_to_target(law, lam, baseline), 0.5 * np.abs(q - q_b).sum(), rel_tol=1e-7, abs_tol=1e-12)
    clipped = np.clip(1 - np.exp((baseline - values) / lam), 0, None)
    assert math.isclose(tq.clip_mass(law, lam, baseline), float(q @ clipped), rel_tol=1e-7, abs_tol=1e-12)


@given(mixture_linear(max_dim=2, max_components=3), st.floats(0.3, 5.0), st.floats(-2.0, 2.0))
def test_normal_mixture_quantities_match_quadrature(instance, lam, offset):
    base, reward = instance
    law = reward_law(base, reward)
    baseline = tq.soft_value(law, lam) + offset
    log_z = tq.log_partition(law, lam)
    z = _quadrature_expectation(law, lambda v: math.exp(v / lam - log_z))
    assert math.isclose(z, 1.0, rel_tol=1e-6)
    z_b = _quadrature_expectation(law, lambda v: min(1.0, math.exp((v - baseline) / lam)), [baseline])
    assert math.isclose(tq.log_clipped_partition(law, lam, baseline), math.log(z_b), rel_tol=1e-6, abs_tol=1e-8)
    clip = _quadrature_expectation(law, lambda v: math.exp(v / lam - log_z) * max(0.0, 1 - math.exp((baseline - v) / lam)), [baseline])
    assert math.isclose(tq.clip_mass(law, lam, baseline), clip, rel_tol=1e-5, abs_tol=1e-9)


@given(any_instance, lams, deltas)
def test_chernoff_chain_of_inequalities(instance, lam, delta):
    """T2–T3 exactly: TV(q_bδ, q) ≤ D/Z ≤ P_q(r > b_δ) ≤ δ, and T4's bracket for N(b_δ)."""
    base, reward = instance
    law = reward_law(base, reward)
    baseline = chernoff_baseline(law, lam, delta).value
    tv = tq.tv_to_target(law, lam, baseline)
    clip = tq.clip_mass(law, lam, baseline)
    tail = tq.tail_probability_q(law, lam, baseline)
    slack = 1e-9
    assert tv <= clip * (1 + 1e-7) + slack
    assert clip <= tail * (1 + 1e-7) + slack
    assert tail <= delta * (1 + 1e-7) + slack
    log_lower = (baseline - tq.soft_value(law, lam)) / lam
    log_n = tq.log_expected_proposals(law, lam, baseline)
    assert log_n >= log_lower - 1e-9 * max(1, abs(log_lower))
    assert log_n <= log_lower - math.log1p(-delta) + 1e-9 * max(1, abs(log_lower))


@given(any_instance, lams, st.floats(-2.0, 4.0))
def test_proposals_identity_and_log_space_complement(instance, lam, offset):
    """T4: N(b) = e^{(b−V)/λ}/(1 − D/Z), with 1 − D/Z computed as a log-ratio."""
    base, reward = instance
    law = reward_law(base, reward)
    baseline = tq.soft_value(law, lam) + offset * lam
    identity = (baseline - tq.soft_value(law, lam)) / lam - tq.log_unclipped_fraction(law, lam, baseline)
    assert math.isclose(tq.log_expected_proposals(law, lam, baseline), identity, rel_tol=1e-9, abs_tol=1e-9)
    complement = -math.expm1(tq.log_unclipped_fraction(law, lam, baseline))
    assert math.isclose(complement, tq.clip_mass(law, lam, baseline), rel_tol=1e-6, abs_tol=1e-12)


@given(any_instance, lams)
def test_ideal_rejection_identity(instance, lam):
    """T1: for b ≥ ess sup r, N(b) = e^{(b−V)/λ} and TV(q_b, q) = 0."""
    base, reward = instance
    law = reward_law(base, reward)
    if not math.isfinite(law.ess_sup):
        return
    envelope = law.ess_sup + 0.5
    assert math.isclose(tq.log_expected_proposals(law, lam, envelope), (envelope - tq.soft_value(law, lam)) / lam,
                        rel_tol=1e-9, abs_tol=1e-9)
    assert tq.tv_to_target(law, lam, envelope) <= 1e-12


@given(st.floats(-50, 50), st.floats(0.1, 10), lams, deltas)
def test_gaussian_closed_forms(mean, std, lam, delta):
    """T3/T4 Gaussian case: b_δ = E_q r + σ√(2 log 1/δ) and (b_δ−V)/λ = σ²/(2λ²) + (σ/λ)√(2 log 1/δ)."""
    law = normal_law(mean, std)
    baseline = chernoff_baseline(law, lam, delta).value
    mean_q = mean + std**2 / lam
    assert math.isclose(baseline, subgaussian_baseline(mean_q, std, delta), rel_tol=1e-7, abs_tol=1e-7)
    gap = std**2 / (2 * lam**2) + (std / lam) * math.sqrt(2 * math.log(1 / delta))
    assert math.isclose((baseline - tq.soft_value(law, lam)) / lam, gap, rel_tol=1e-6, abs_tol=1e-6)


def test_tilted_mean_and_std_of_normal():
    mean, std = normal_law(1.0, 2.0).tilted_mean_and_std(0.5)
    assert math.isclose(mean, 1.0 + 0.5 * 4.0) and math.isclose(std, 2.0)


@given(st.integers(1, 4), st.integers(0, 10_000), st.floats(-0.3, 0.3))
def test_gaussian_quadratic_log_mgf_against_quadrature(d, seed, t):
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=(d, d))
    Q = factor @ factor.T / d + 0.5 * np.eye(d)
    base = Gaussian(np.zeros(d), np.eye(d))
    reward = QuadraticReward(Q, rng.normal(size=d), 0.3)
    value = gaussian_quadratic_log_mgf(base, reward, t)
    # Independent route: eigen-decompose; each coordinate is a 1-D Gaussian integral.
    eigenvalues, vectors = np.linalg.eigh(Q)
    b_rotated = vectors.T @ reward.b
    if np.any(1 + t * eigenvalues <= 0):  # the integral diverges exactly when Σ⁻¹ + tQ is not PD
        assert value == math.inf
        return
    total = t * reward.c
    for eigenvalue, coefficient in zip(eigenvalues, b_rotated):
        curvature = 1 + t * eigenvalue
        centre = t * coefficient / curvature
        integrand = lambda x: math.exp(-0.5 * x * x + t * (-0.5 * eigenvalue * x * x + coefficient * x)
                                       - 0.5 * math.log(2 * math.pi))
        spread = 40 / math.sqrt(curvature)
        total += math.log(integrate.quad(integrand, centre - spread, centre + spread, points=[centre], limit=400)[0])
    assert math.isclose(value, total, rel_tol=1e-7, abs_tol=1e-9)


def test_gaussian_quadratic_log_mgf_diverges():
    base = Gaussian([0.0], [[1.0]])
    assert gaussian_quadratic_log_mgf(base, QuadraticReward([[1.0]], [0.0]), -2.0) == math.inf


def test_log_mgf_dispatch_uses_exact_reward_law():
    base = Categorical([0.5, 0.5])
    from primitives import TableReward

    assert math.isclose(log_mgf(base, TableReward([0.0, 1.0]), 2.0), math.log(0.5 + 0.5 * math.e**2))


def test_extreme_lambda_and_large_shift_stay_finite():
    """λ = 1e-3 with a mean shift in the thousands: finite, and equal to the closed forms."""
    lam, mean, std = 1e-3, 3000.0, 1.0
    law = reward_law(Gaussian([mean], [[std**2]]), __import__("primitives").LinearReward([1.0]))
    log_z = tq.log_partition(law, lam)
    assert math.isclose(log_z, mean / lam + std**2 / (2 * lam**2), rel_tol=1e-12)
    baseline = chernoff_baseline(law, lam, 1e-3).value
    assert math.isclose(baseline, mean + std**2 / lam + std * math.sqrt(2 * math.log(1e3)), rel_tol=1e-9)
    for quantity in (tq.clip_mass(law, lam, baseline), tq.tv_to_target(law, lam, baseline),
                     tq.log_expected_proposals(law, lam, baseline), tq.tail_probability_q(law, lam, baseline)):
        assert math.isfinite(quantity)
    assert tq.tv_to_target(law, lam, baseline) <= tq.clip_mass(law, lam, baseline) <= 1e-3
    # A baseline far below V: everything is clipped, N → 1 and TV → 1, still finite.
    assert math.isclose(tq.expected_proposals(law, lam, 0.0), 1.0, rel_tol=1e-12)
    assert 0.999 < tq.tv_to_target(law, lam, 0.0) <= 1.0


def test_large_lambda_is_untilted():
    law = normal_law(0.0, 1.0)
    assert tq.tv_to_target(law, 1e6, 0.0) < 1e-5
    assert math.isfinite(tq.log_partition(law, 1e6))


@given(mixture_linear(max_dim=1, max_components=4), st.floats(0.3, 5.0), st.floats(-1.5, 3.0))
def test_closed_forms_agree_with_one_dimensional_quadrature(instance, lam, offset):
    """The normal-CDF closed forms against ``QuadratureTilt`` in x-space, within its stated error."""
    from estimators.exact.quadrature import QuadratureTilt

    base, reward = instance
    law = reward_law(base, reward)
    baseline = tq.soft_value(law, lam) + offset * lam
    kink = (baseline - reward.offset) / float(reward.theta[0])
    quadrature = QuadratureTilt(base, reward, lam, width=14.0, kinks=[kink])
    log_z = quadrature.log_partition()
    assert abs(log_z.value - tq.log_partition(law, lam)) <= log_z.error + 1e-9
    z_b = quadrature.clipped_partition(baseline)
    assert abs(z_b.value - math.exp(tq.log_clipped_partition(law, lam, baseline))) <= z_b.error + 1e-9
    clip = quadrature.clip_mass(baseline)
    assert abs(clip.value - tq.clip_mass(law, lam, baseline)) <= clip.error + 1e-8
    tv = quadrature.total_variation(baseline)
    assert abs(tv.value - tq.tv_to_target(law, lam, baseline)) <= tv.error + 1e-8


def test_quadrature_handles_a_non_monotone_reward():
    """A quadratic reward on a 1-D mixture: T2's chain TV ≤ D/Z holds on the quadrature route."""
    from estimators.exact.quadrature import QuadratureTilt
    from primitives import GaussianMixture

    base = GaussianMixture([0.6, 0.4], [[-2.0], [3.0]], [[[1.0]], [[0.5]]])
    reward = QuadraticReward([[1.0]], [0.5], 1.0)
    quadrature = QuadratureTilt(base, reward, 0.7)
    tv, clip = quadrature.total_variation(0.5), quadrature.clip_mass(0.5)
    assert 0 < tv.value <= clip.value + tv.error + clip.error


def test_tilted_law_cdfs_stay_finite_at_extreme_lambda():
    """λ = 1e-3 and a mean in the thousands: q = N(3000 + 1000, 1); its CDF at the mean is ½."""
    from primitives import LinearReward

    base = Gaussian([3000.0], [[1.0]])
    law = TiltedLaw(base, LinearReward([1.0]), 1e-3, None)
    assert math.isclose(float(law.coordinate_cdf(0, [4000.0])[0]), 0.5, abs_tol=1e-9)
    assert math.isclose(float(law.reward_cdf(np.array([4000.0]))[0]), 0.5, abs_tol=1e-9)
    clipped = TiltedLaw(base, LinearReward([1.0]), 1e-3, 3990.0)
    values = clipped.coordinate_cdf(0, np.array([3000.0, 3990.0, 5000.0]))
    assert np.all(np.isfinite(values)) and values[-1] == 1.0
