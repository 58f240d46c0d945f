"""The proximal transport oracle (W1): closed forms against cvxpy, the grid reduction against brute
force, W1-cost edge cases, the pushforward law, wrong variants and bad input."""
from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from estimators.projection_fit import min_num_samples_for_projection_ks_test, projection_fit_test
from primitives import (ConcaveExpressionReward, ConcaveQuadratic, Gaussian, LinearReward, LowRankReward, MaxOfPlanes,
                        QuadraticReward, prox, solve_prox, wasserstein_align)
from primitives.prox import grid_error_bound, grid_radius
from tests.conftest import STAT_ALPHA
from tests.strategies import seeds
from tiltproof.core.tractability_checks import mixture_projections, spd_matrix
from theorems.prox_oracle_tractability import quadratic_pushforward

lams = st.floats(0.2, 5.0)


@st.composite
def concave_quadratics(draw, max_dim: int = 5):
    d = draw(st.integers(1, max_dim))
    rank = draw(st.integers(0, d))
    rng = np.random.default_rng(draw(seeds))
    factor = rng.normal(size=(d, rank))
    return ConcaveQuadratic(factor @ factor.T, rng.normal(size=d)), torch.as_tensor(rng.normal(size=(3, d)))


@settings(max_examples=8)
@given(concave_quadratics(), lams)
def test_concave_quadratic_closed_form_matches_certified_cvxpy(instance, lam):
    """‖T_closed − y_cvx‖ ≤ √(2·gap/λ) (strong concavity), and the closed form solves ∇r(y) = λ(y − x)."""
    reward, x = instance
    closed = prox(reward, x, lam)
    solved = solve_prox(reward, x, lam, method="cvxpy")
    assert float((closed - solved.point).norm(dim=1).max()) <= solved.certificate["distance_bound"] + 1e-7
    residual = -closed @ torch.as_tensor(reward.Q) + torch.as_tensor(reward.b) - lam * (closed - x)
    assert float(residual.abs().max()) <= 1e-9 * (1 + float(closed.abs().max()) * (1 + lam))


@settings(max_examples=6)
@given(st.integers(1, 4), seeds, lams)
def test_linear_closed_form_matches_cvxpy(d, seed, lam):
    rng = np.random.default_rng(seed)
    reward, x = LinearReward(rng.normal(size=d)), torch.as_tensor(rng.normal(size=(2, d)))
    solved = solve_prox(reward, x, lam, method="cvxpy")
    assert torch.allclose(prox(reward, x, lam), x + torch.as_tensor(reward.theta) / lam)
    assert float((solved.point - prox(reward, x, lam)).norm(dim=1).max()) <= solved.certificate["distance_bound"] + 1e-7


@given(st.integers(1, 3), st.integers(1, 4), seeds, lams)
def test_max_of_planes_prox_is_optimal_against_the_grid(d, planes, seed, lam):
    """The best-of-planes closed form is the optimum: the certified grid never beats it by more than
    rounding, and comes within its own ε of it."""
    rng = np.random.default_rng(seed)
    A, G, c = rng.normal(size=(1, d)), rng.normal(size=(planes, 1)), rng.normal(size=planes)
    grid_reward = LowRankReward(A, lambda z: (z @ torch.as_tensor(G.T) + torch.as_tensor(c)).max(-1).values,
                                float(np.abs(G).max()))
    x = torch.as_tensor(rng.normal(size=(4, d)))
    closed = solve_prox(MaxOfPlanes(A, G, c), x, lam)
    grid = solve_prox(grid_reward, x, lam)
    assert float((grid.value - closed.value).max()) <= 1e-9 * (1 + float(closed.value.abs().max()))
    assert float((closed.value - grid.value).max()) <= grid.error_bound + 1e-9


@settings(max_examples=8)
@given(seeds, st.floats(0.5, 3.0))
def test_grid_reduction_within_its_bound_of_brute_force(seed, lam):
    """d = 2, k = 1, non-concave f: a dense 2-D search (any point is ≤ the max) never beats the grid by
    more than the grid's certified ε."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(1, 2))
    frequency, phase = rng.uniform(0.5, 3.0), rng.uniform(0, 2 * np.pi)
    reward = LowRankReward(A, lambda z: torch.sin(frequency * z[:, 0] + phase), frequency)
    x = torch.as_tensor(rng.normal(size=(3, 2)))
    solved = solve_prox(reward, x, lam)
    radius_y = grid_radius(reward, lam, "sq") / float(np.linalg.norm(A))
    axis = np.linspace(-radius_y, radius_y, 801)
    offsets = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    for point, value in zip(x.numpy(), solved.value.numpy()):
        candidates = point + offsets
        brute = np.max(np.sin(frequency * candidates @ A[0] + phase) - lam * 0.5 * np.sum(offsets**2, axis=1))
        assert brute - value <= solved.error_bound + 1e-12


def test_grid_error_shrinks_linearly_in_h():
    """ε(h) = (L + Lip(pen))·h√k/2 is linear in h and the cost (2⌈R/h⌉+1)^k grows like (R/h)^k."""
    reward = LowRankReward(np.array([[1.0, 0.5, 0.0], [0.0, 1.0, -0.3]]), lambda z: torch.sin(z).sum(-1), math.sqrt(2))
    x = torch.zeros(1, 3, dtype=torch.float64)
    radius = grid_radius(reward, 1.0, "sq")
    results = [solve_prox(reward, x, 1.0, grid_spacing=radius / m) for m in (8, 16, 32)]
    errors = [r.error_bound for r in results]
    assert errors[0] > errors[1] > errors[2] and errors[1] / errors[2] == pytest.approx(2.0, rel=0.05)
    assert [r.certificate["evaluations_per_point"] for r in results] == [(2 * m + 1) ** 2 for m in (8, 16, 32)]
    assert grid_error_bound(reward, 1.0, "sq", radius / 8, radius) == pytest.approx(errors[0])


@given(st.integers(1, 4), seeds, st.floats(0.05, 0.95), st.floats(1.05, 5.0))
def test_w1_cost_with_linear_reward(d, seed, inside, outside):
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    lam = 1.3
    x = torch.as_tensor(rng.normal(size=(3, d)))
    assert torch.equal(prox(LinearReward(inside * lam * direction), x, lam, "w1"), x)
    with pytest.raises(ValueError, match="unbounded"):
        prox(LinearReward(outside * lam * direction), x, lam, "w1")
    with pytest.raises(ValueError, match="unbounded"):
        prox(MaxOfPlanes(direction[None], [[outside * lam], [0.0]], [0.0, 1.0]), x, lam, "w1")


def test_w1_cost_with_concave_reward_by_cvxpy():
    """min of planes (concave) under W1 cost: cvxpy solves it; with a steep plane it reports unboundedness."""
    G, c = np.array([[0.5, 0.0], [-0.2, 0.3]]), np.array([0.0, 0.4])
    gentle = ConcaveExpressionReward(2, lambda y: cp.min(G @ y + c),
                                     lambda x: (x @ torch.as_tensor(G.T) + torch.as_tensor(c)).min(-1).values)
    x = torch.tensor([[0.2, -0.1], [1.0, 2.0]], dtype=torch.float64)
    solved = solve_prox(gentle, x, 1.0, "w1")
    assert solved.method == "cvxpy" and solved.certificate["duality_gap"] < 1e-6
    # every plane has slope < λ = 1, so no move can pay: T(x) = x up to the certificate
    assert float((solved.point - x).norm(dim=1).max()) <= solved.certificate["duality_gap"] / (1.0 - 0.5) + 1e-7
    steep = ConcaveExpressionReward(2, lambda y: 3.0 * y[0], lambda x: 3.0 * x[:, 0])
    with pytest.raises(ValueError, match="unbounded"):
        solve_prox(steep, x, 1.0, "w1")


@settings(max_examples=4)
@given(concave_quadratics(max_dim=3), st.floats(0.3, 3.0))
def test_wasserstein_align_pushes_a_gaussian_forward(instance, lam):
    reward, _ = instance
    rng = np.random.default_rng(int(lam * 1000))
    d = reward.b.shape[0]
    base = Gaussian(rng.normal(size=d), spd_matrix(rng, d))
    mean_w, cov_w, _ = quadratic_pushforward(base, reward, lam)
    projections = mixture_projections([1.0], mean_w[None], cov_w[None], {f"x{j}": np.eye(d)[j] for j in range(d)})
    n = min_num_samples_for_projection_ks_test(0.07, len(projections), alpha=STAT_ALPHA, beta=1e-3)
    result = wasserstein_align(base, reward, lam, n, generator=torch.Generator().manual_seed(1))
    assert result.oracle_calls == n and result.samples.shape == (n, d)
    assert not projection_fit_test(result.samples, projections, STAT_ALPHA).rejected


def test_wrong_lambda_in_the_prox_is_rejected():
    rng = np.random.default_rng(7)
    base = Gaussian(rng.normal(size=2), spd_matrix(rng, 2))
    reward = ConcaveQuadratic(np.diag([1.0, 0.2]), rng.normal(size=2))
    mean_w, cov_w, _ = quadratic_pushforward(base, reward, 0.5)
    projections = mixture_projections([1.0], mean_w[None], cov_w[None], {"x0": np.eye(2)[0], "x1": np.eye(2)[1]})
    wrong = wasserstein_align(base, reward, 1.0, 5000, generator=torch.Generator().manual_seed(2))
    assert projection_fit_test(wrong.samples, projections, STAT_ALPHA).rejected


def test_prox_refuses_bad_input():
    x = torch.zeros(2, 3, dtype=torch.float64)
    u = np.array([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="not concave"):
        prox(QuadraticReward(-np.outer(u, u), np.zeros(3)), x, 1.0, method="cvxpy")
    with pytest.raises(ValueError, match="not concave"):
        prox(ConcaveExpressionReward(3, lambda y: cp.norm(y), lambda z: z.norm(dim=-1)), x, 1.0)
    with pytest.raises(ValueError, match="unbounded"):
        prox(QuadraticReward(-3.0 * np.outer(u, u), np.zeros(3)), x, 1.0)
    with pytest.raises(ValueError, match="singular"):
        prox(QuadraticReward(-np.outer(u, u), np.zeros(3)), x, 1.0)
    with pytest.raises(ValueError, match="x must have dimension 3"):
        prox(LinearReward(u), torch.zeros(2, 4, dtype=torch.float64), 1.0)
    with pytest.raises(ValueError, match="cost"):
        prox(LinearReward(u), x, 1.0, cost="w2")
    with pytest.raises(ValueError, match="method"):
        prox(LinearReward(u), x, 1.0, method="newton")
    with pytest.raises(ValueError, match="lam"):
        prox(LinearReward(u), x, -1.0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        ConcaveQuadratic(-np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="A must have full row rank"):
        LowRankReward([[1.0, 1.0, 0.0], [2.0, 2.0, 0.0]], lambda z: z.sum(-1), 1.0)
    with pytest.raises(ValueError, match="possibly unbounded"):
        prox(LowRankReward([[1.0, 0.0, 0.0]], lambda z: torch.sin(3 * z[:, 0]), 3.0), x, 1.0, "w1")
    with pytest.raises(ValueError, match="no cvxpy expression"):
        prox(LowRankReward([[1.0, 0.0, 0.0]], lambda z: z[:, 0], 1.0), x, 1.0, method="cvxpy")
