"""Exact sides of the tractability claims (ridge laws, gridded KS) and the L1/W1/P1 claims themselves."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate
from scipy.stats import norm

from estimators.dkw import ks_distance
from estimators.projection_fit import GridCDF, ks_lower_bound
from estimators.exact.ridge_law import RidgeTiltedLaw
from primitives import Gaussian, GaussianMixture
from tests.conftest import STAT_ALPHA
from tests.strategies import seeds
from theorems import diffusion_tilt_oracle as p1
from theorems import kl_laplace_mixtures as l1d_mix
from theorems import kl_net_clipping as l1a_clip
from theorems import kl_nonconvexity as l1c
from theorems import kl_oracle_calls as l1b
from theorems import kl_partition_error as l1d
from theorems import linear_tilt_sufficiency as l1
from theorems import prox_grid_error as w1b
from theorems import prox_oracle_tractability as w1
from tiltproof.core.tractability_checks import spd_matrix
from tiltproof.core.framework import run_claim
from tiltproof.core.registry import all_claims, select_claims


@settings(max_examples=8)
@given(seeds, st.floats(-2.0, 2.0))
def test_ridge_law_with_a_linear_weight_is_the_gaussian_tilt(seed, beta):
    """g(s) = βs: q = N(μ + βΣa, Σ) (closed form), so every projection CDF is a normal CDF."""
    rng = np.random.default_rng(seed)
    d = 3
    mean, cov, a = rng.normal(size=d), spd_matrix(rng, d), rng.normal(size=d)
    law = RidgeTiltedLaw(Gaussian(mean, cov), a, lambda s: beta * np.asarray(s), abs(beta))
    tilted_mean = mean + beta * cov @ a
    for u in (a, np.eye(d)[0], np.eye(d)[2]):
        cdf = law.statistic_cdf() if u is a else law.projection_cdf(u, points=400)
        exact = norm.cdf(cdf.grid, tilted_mean @ u, math.sqrt(u @ cov @ u))
        assert np.abs(cdf.values - exact).max() <= cdf.error + 1e-12
    assert law.log_normaliser == pytest.approx(beta * mean @ a + 0.5 * beta**2 * a @ cov @ a, abs=1e-9)


def test_ridge_law_against_adaptive_quadrature_on_a_kinked_mixture():
    """|s|/λ on a two-component mixture: S's CDF and a coordinate's CDF against scipy.quad of the density."""
    base = GaussianMixture([0.3, 0.7], [[-1.0, 0.5], [1.5, 0.0]], [np.eye(2) * 0.6, [[1.0, 0.4], [0.4, 0.8]]])
    a, lam = np.array([0.8, -0.6]), 0.7
    law = RidgeTiltedLaw(base, a, lambda s: np.abs(s) / lam, 1 / lam, breakpoints=[0.0])
    weights, means, covs = base.weights.numpy(), base.means.numpy(), base.covs.numpy()
    s_means, s_sds = means @ a, np.sqrt(np.einsum("i,kij,j->k", a, covs, a))
    density = lambda s: float(weights @ norm.pdf(s, s_means, s_sds)) * math.exp(abs(s) / lam)
    total = integrate.quad(density, -30, 30, points=[0.0], limit=400, epsabs=1e-13)[0]
    statistic = law.statistic_cdf()
    for y in (-2.0, -0.3, 0.0, 1.1, 3.0):
        index = int(np.argmin(np.abs(statistic.grid - y)))
        y_grid = statistic.grid[index]
        expected = integrate.quad(density, -30, y_grid, points=[0.0] if y_grid > 0 else None, limit=400, epsabs=1e-13)[0] / total
        assert abs(statistic.values[index] - expected) <= statistic.error + 1e-9
    u = np.array([0.0, 1.0])
    projection = law.projection_cdf(u, points=300)
    cross = np.einsum("i,kij,j->k", u, covs, a)
    slopes, taus = cross / s_sds**2, np.sqrt(np.einsum("i,kij,j->k", u, covs, u) - cross**2 / s_sds**2)
    for index in (40, 150, 260):
        y = projection.grid[index]
        integrand = lambda s: sum(weights[k] * norm.pdf(s, s_means[k], s_sds[k]) * math.exp(abs(s) / lam)
                                  * norm.cdf((y - means[k] @ u - slopes[k] * (s - s_means[k])) / taus[k]) for k in range(2))
        expected = integrate.quad(integrand, -30, 30, points=[0.0], limit=400, epsabs=1e-13)[0] / total
        assert abs(projection.values[index] - expected) <= projection.error + 1e-9


@given(seeds, st.integers(50, 2000), st.integers(5, 400))
def test_gridded_ks_is_a_lower_bound_within_one_bracket(seed, n, points):
    rng = np.random.default_rng(seed)
    samples = rng.normal(0.2, 1.1, size=n)
    grid = np.linspace(-5, 5, points)
    cdf = GridCDF(grid, norm.cdf(grid), 0.0)
    exact = ks_distance(samples, norm.cdf)
    lower = ks_lower_bound(samples, cdf)
    assert lower <= exact + 1e-12
    assert exact <= lower + cdf.bracket + 1e-12


def test_every_tractability_theorem_has_two_wrong_variants():
    modules = (p1, l1, l1a_clip, l1b, l1c, l1d_mix, l1d, w1, w1b)
    claims = [claim for module in modules for claim in module.claims()]
    theorems = {claim.theorem for claim in claims}
    assert theorems == {"P1", "L1a", "L1b", "L1c", "L1d", "W1a", "W1b", "W1c", "W1d"}
    counts: dict[str, int] = {}
    for mutant in [mutant for module in modules for mutant in module.mutants()]:
        assert mutant.claim.id.split("#")[0] in {claim.id for claim in claims}
        counts[mutant.theorem] = counts.get(mutant.theorem, 0) + 1
    assert all(counts.get(theorem, 0) >= 2 for theorem in theorems), counts


FAST = select_claims(all_claims(), r"^(w1[abcd]\.|l1c\.|l1d\.(laplace|hubbard|partition_error_tight)|l1b\.oracle_calls/smooth-norm/k=[12],d=4|p1\.score)")


@pytest.mark.parametrize("claim", FAST, ids=lambda claim: claim.id)
def test_fast_tractability_claims_pass(claim):
    record = run_claim(claim, alpha=STAT_ALPHA)
    assert record.verdict == "pass", record.message
