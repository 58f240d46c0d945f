"""The proximal transport oracle and Wasserstein alignment (tractability spec, W1).

``prox(reward, x, lam, cost)`` returns ``T(x) ∈ argmax_y r(y) − λ c(x, y)`` with
``c = ½‖x − y‖²`` (``cost="sq"``) or ``c = ‖x − y‖`` (``cost="w1"``); ``solve_prox`` also returns
the value and a certificate. ``wasserstein_align`` draws ``x ~ p`` and outputs ``T(x)``: for any
coupling ``E[r(Y) − λc(X,Y)] ≤ E_p φ``, ``φ(x) = sup_y r(y) − λc(x,y)``, with equality for
``Y = T(X)``, so ``q_W = T_#p`` (one oracle call per sample).

Routes (``method="auto"`` picks the first that applies):

* **closed form** — ``LinearReward`` ``⟨b,y⟩ + o``: sq ``T(x) = x + b/λ``; w1 ``T(x) = x`` if
  ``‖b‖ ≤ λ`` (for ``‖b‖ = λ`` the maximisers form a ray from x; x is returned), unbounded if
  ``‖b‖ > λ``. ``QuadraticReward``/``ConcaveQuadratic`` ``−½yᵀQy + bᵀy + c`` with sq cost:
  ``T(x) = (Q + λI)⁻¹(λx + b)`` whenever ``Q + λI ≻ 0`` (the objective is then strongly concave), and
  unbounded when ``Q + λI`` has a negative eigenvalue. ``MaxOfPlanes``: the prox of a maximum is the
  best of the planes' proxes (sq: ``x + Aᵀg_i/λ`` with value ``ℓ_i(Ax) + ‖Aᵀg_i‖²/(2λ)``; w1: x if every
  ``‖Aᵀg_i‖ ≤ λ``, else unbounded).
* **cvxpy** — any reward whose concave cvxpy expression is known (``LinearReward``,
  ``QuadraticReward`` with Q ⪰ 0, ``ConcaveExpressionReward``). DCP concavity is checked first: a
  non-concave reward raises ``ValueError``. The certificate is the duality gap: Clarabel's dual
  objective bounds the optimum from above, so ``gap = dual bound − F(y)`` with ``F(y)`` re-evaluated
  here in float64; for sq cost strong concavity gives ``‖y − T(x)‖ ≤ √(2·gap/λ)``. An unbounded
  problem raises ``ValueError``.
* **grid** — ``LowRankReward`` ``f(Ay)`` with f L-Lipschitz (non-concave allowed). Reaching ``Ay = z``
  from x costs at least ``½(z − Ax)ᵀM(z − Ax)``, ``M = (AAᵀ)⁻¹`` (sq; w1: ``√((z−Ax)ᵀM(z−Ax))``),
  attained by ``y = x + AᵀM(z − Ax)``; so the oracle is the k-dimensional problem
  ``max_z f(z) − λ·pen(z − Ax)``. Its maximiser lies within ``R = 2L‖A‖²/λ`` of Ax (sq: the objective
  at distance ρ is at most ``f(Ax) + Lρ − λρ²/(2‖A‖²)``), or ``R = ‖A‖·osc/λ`` for w1 when f's
  oscillation osc is known (w1 with ``L‖A‖ < λ``: ``T(x) = x``). A grid of spacing h on ``[−R, R]^k``
  has a point within ``δ = h√k/2`` of the maximiser, so the objective error is at most
  ``ε = (L + Lip(pen on the ball))·δ`` = ``O(L h √k)``, at ``(2R/h + 1)^k`` evaluations of f plus
  ``O(dk)`` per point: exponential in k, polynomial in d.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import math

import numpy as np
import torch

from primitives._checks import check_positive
from primitives.planes import LowDimensionalReward, MaxOfPlanes
from primitives.rewards import LinearReward, QuadraticReward, Reward

__all__ = [
    "ConcaveQuadratic", "ConcaveExpressionReward", "LowRankReward", "ProxResult", "prox", "solve_prox",
    "WassersteinAlignResult", "wasserstein_align", "transport_cost",
]

COSTS = ("sq", "w1")


class ConcaveQuadratic(QuadraticReward):
    """``r(y) = −½yᵀQy + bᵀy + c`` with ``Q ⪰ 0`` (checked): a concave quadratic reward."""

    def __init__(self, Q, b, c: float = 0.0) -> None:
        super().__init__(Q, b, c)
        smallest = float(np.linalg.eigvalsh(self.Q).min())
        if smallest < -1e-12 * max(1.0, float(np.abs(self.Q).max())):
            raise ValueError(f"Q must be positive semi-definite for a concave quadratic (smallest eigenvalue {smallest:.3g})")
        self.name = "concave-quadratic"


class ConcaveExpressionReward(Reward):
    """A reward given twice: ``expression(y)`` builds its cvxpy expression on a cvxpy variable/affine
    expression of length ``dim``, ``evaluate(x)`` computes it on a ``(n, dim)`` torch batch."""

    def __init__(self, dim: int, expression: Callable, evaluate: Callable[[torch.Tensor], torch.Tensor],
                 name: str = "cvxpy-expression") -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if not callable(expression) or not callable(evaluate):
            raise ValueError("expression and evaluate must be callables")
        self.dim, self.expression, self.evaluate, self.name = dim, expression, evaluate, name

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        return self.evaluate(x)


class LowRankReward(LowDimensionalReward):
    """``r(y) = f(Ay)`` with f L-Lipschitz on ℝ^k (any shape); ``oscillation`` = sup f − inf f if known."""

    def __init__(self, A, f: Callable[[torch.Tensor], torch.Tensor], lipschitz: float,
                 oscillation: float | None = None, name: str = "low-rank") -> None:
        super().__init__(A)
        if not callable(f):
            raise ValueError("f must be a callable on (m, k) tensors")
        self.f = f
        self.lipschitz = check_positive("lipschitz", lipschitz)
        self.oscillation = None if oscillation is None else check_positive("oscillation", oscillation)
        self.name = name

    def profile(self, z: torch.Tensor) -> torch.Tensor:
        return self.f(z).reshape(-1)


@dataclass(frozen=True)
class ProxResult:
    """``point``: T(x) (shape of x); ``value``: ``r(T(x)) − λc(x, T(x))`` per point; ``certificate``:
    how optimality is known (closed form, duality gap, grid error bound); ``error_bound``: an upper
    bound on ``φ(x) − value`` (0 for closed forms)."""

    point: torch.Tensor
    value: torch.Tensor
    method: str
    error_bound: float
    certificate: dict = field(default_factory=dict)


def _check_cost(cost: str) -> str:
    if cost not in COSTS:
        raise ValueError(f"cost must be 'sq' (½‖x−y‖²) or 'w1' (‖x−y‖), got {cost!r}")
    return cost


def transport_cost(x: torch.Tensor, y: torch.Tensor, cost: str) -> torch.Tensor:
    """``c(x, y)`` row-wise."""
    difference = y - x
    if _check_cost(cost) == "sq":
        return 0.5 * (difference**2).sum(-1)
    return torch.linalg.norm(difference, dim=-1)


def _reward_dim(reward: Reward) -> int | None:
    if isinstance(reward, LinearReward):
        return reward.theta.shape[0]
    if isinstance(reward, QuadraticReward):
        return reward.b.shape[0]
    if isinstance(reward, (LowDimensionalReward, ConcaveExpressionReward)):
        return reward.dim
    return getattr(reward, "dim", None)


def _as_points(x, dim: int | None) -> tuple[torch.Tensor, bool]:
    tensor = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=float))
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float64)
    single = tensor.ndim == 1
    batch = tensor[None, :] if single else tensor
    if batch.ndim != 2:
        raise ValueError(f"x must be a point (d,) or a batch (n, d), got shape {tuple(tensor.shape)}")
    if dim is not None and batch.shape[1] != dim:
        raise ValueError(f"x must have dimension {dim} to match the reward, got shape {tuple(tensor.shape)}")
    if not torch.isfinite(batch).all():
        raise ValueError("x must contain only finite values")
    return batch, single


def _unbounded(what: str) -> ValueError:
    return ValueError(f"unbounded prox: sup_y r(y) − λc(x, y) = +∞ ({what}); no maximiser exists")


def _objective(reward: Reward, x: torch.Tensor, y: torch.Tensor, lam: float, cost: str) -> torch.Tensor:
    return reward(y) - lam * transport_cost(x, y, cost)


# ---------------------------------------------------------------------------- closed forms
def _closed_linear(reward: LinearReward, x: torch.Tensor, lam: float, cost: str) -> torch.Tensor:
    b = torch.as_tensor(reward.theta, dtype=x.dtype, device=x.device)
    if cost == "sq":
        return x + b / lam
    norm = float(np.linalg.norm(reward.theta))
    if norm > lam * (1 + 1e-12):
        raise _unbounded(f"W1 cost with a linear reward of slope ‖b‖ = {norm:.6g} > λ = {lam:.6g}")
    return x.clone()


def _closed_quadratic(reward: QuadraticReward, x: torch.Tensor, lam: float) -> torch.Tensor:
    system = reward.Q + lam * np.eye(reward.Q.shape[0])
    smallest = float(np.linalg.eigvalsh(system).min())
    if smallest < -1e-12 * max(1.0, lam):
        raise _unbounded(f"Q + λI has the negative eigenvalue {smallest:.3g}: the reward is not concave and grows "
                         "faster than the transport cost along it")
    if smallest <= 1e-12 * max(1.0, lam):
        raise ValueError("Q + λI is singular: the prox objective is not strictly concave (flat or unbounded "
                         "direction); no unique maximiser")
    right = lam * x + torch.as_tensor(reward.b, dtype=x.dtype, device=x.device)
    return torch.linalg.solve(torch.as_tensor(system, dtype=x.dtype, device=x.device), right.T).T


def _closed_planes(reward: MaxOfPlanes, x: torch.Tensor, lam: float, cost: str) -> torch.Tensor:
    directions = torch.as_tensor(reward.G @ reward.A, dtype=x.dtype, device=x.device)   # (N, d): Aᵀg_i
    if cost == "w1":
        norms = torch.linalg.norm(directions, dim=1)
        if float(norms.max()) > lam * (1 + 1e-12):
            raise _unbounded(f"W1 cost with a plane of slope ‖Aᵀg_i‖ = {float(norms.max()):.6g} > λ = {lam:.6g}")
        return x.clone()
    intercepts = torch.as_tensor(reward.c, dtype=x.dtype, device=x.device)
    values = x @ directions.T + intercepts + (directions**2).sum(-1) / (2 * lam)   # (n, N)
    best = values.argmax(dim=1)
    return x + directions[best] / lam


# ---------------------------------------------------------------------------- cvxpy
def _cvxpy_expression(reward: Reward, y):
    import cvxpy as cp

    if isinstance(reward, LinearReward):
        return reward.theta @ y + reward.offset
    if isinstance(reward, QuadraticReward):
        if float(np.linalg.eigvalsh(reward.Q).min()) < -1e-12 * max(1.0, float(np.abs(reward.Q).max())):
            raise ValueError(f"reward {reward.name} is not concave (Q is not positive semi-definite); the convex "
                             "(cvxpy) prox path needs a concave reward")
        return -0.5 * cp.quad_form(y, cp.psd_wrap(reward.Q)) + reward.b @ y + reward.c
    if isinstance(reward, ConcaveExpressionReward):
        return reward.expression(y)
    raise ValueError(f"reward {getattr(reward, 'name', reward)!r} has no cvxpy expression: use LinearReward, "
                     "a concave QuadraticReward or ConcaveExpressionReward")


def _cvxpy_prox(reward: Reward, x: torch.Tensor, lam: float, cost: str) -> ProxResult:
    import cvxpy as cp

    d = x.shape[1]
    variable = cp.Variable(d)
    anchor = cp.Parameter(d)
    expression = _cvxpy_expression(reward, variable)
    if not expression.is_concave():
        raise ValueError(f"reward {getattr(reward, 'name', reward)!r} is not concave (cvxpy's DCP analysis cannot "
                         "certify concavity); the convex prox path needs a concave reward — use LowRankReward "
                         "(grid reduction) for a non-concave f(Ay)")
    penalty = 0.5 * cp.sum_squares(variable - anchor) if cost == "sq" else cp.norm(variable - anchor, 2)
    problem = cp.Problem(cp.Maximize(expression - lam * penalty))
    points, gaps, residuals = [], [], []
    for row in x.detach().cpu().numpy():
        anchor.value = row
        data, chain, inverse = problem.get_problem_data(cp.CLARABEL, solver_opts={})
        raw = chain.solve_via_data(problem, data)
        problem.unpack_results(raw, chain, inverse)
        if problem.status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
            raise _unbounded(f"the solver certifies unboundedness (status {problem.status})")
        if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or variable.value is None:
            raise RuntimeError(f"cvxpy could not solve the prox problem (status {problem.status})")
        offset = -problem.value - raw.obj_val        # problem.value = −(obj_val + offset) for a Maximize
        dual_bound = -(raw.obj_val_dual + offset)    # the dual objective bounds the maximum from above
        y = torch.as_tensor(variable.value, dtype=x.dtype, device=x.device)[None]
        attained = float(_objective(reward, torch.as_tensor(row, dtype=x.dtype)[None], y, lam, cost))
        points.append(y[0])
        gaps.append(max(dual_bound - attained, 0.0))
        residuals.append(max(float(raw.r_prim), float(raw.r_dual)))
    point = torch.stack(points)
    gap = float(max(gaps)) if gaps else 0.0
    certificate = {"duality_gap": gap, "solver": "CLARABEL",
                   "max_residual": float(max(residuals)) if residuals else 0.0}
    if cost == "sq":
        certificate["distance_bound"] = math.sqrt(2 * gap / lam)
    return ProxResult(point, _objective(reward, x, point, lam, cost), "cvxpy", gap, certificate)


# ---------------------------------------------------------------------------- grid reduction
def grid_radius(reward: LowRankReward, lam: float, cost: str) -> float | None:
    """Radius (Euclidean, in z = Ay space) of the ball around Ax holding the maximiser; ``None`` when
    ``T(x) = x`` (w1 with ``L‖A‖ < λ``)."""
    norm_A = float(np.linalg.norm(reward.A, 2))
    L = reward.lipschitz
    if cost == "sq":
        radius = 2 * L * norm_A**2 / lam
        if reward.oscillation is not None:
            radius = min(radius, math.sqrt(2 * reward.oscillation / lam) * norm_A)
        return radius
    if L * norm_A < lam:
        return None
    if reward.oscillation is None:
        raise ValueError(f"possibly unbounded prox: W1 cost with L‖A‖ = {L * norm_A:.6g} ≥ λ = {lam:.6g} and no bound "
                         "on f's oscillation (pass oscillation= to LowRankReward)")
    return norm_A * reward.oscillation / lam


def grid_error_bound(reward: LowRankReward, lam: float, cost: str, spacing: float, radius: float) -> float:
    """``ε = (L + Lip(pen))·δ``, ``δ = h√k/2``: objective error of the grid reduction."""
    k = reward.k
    delta = spacing * math.sqrt(k) / 2
    metric = np.linalg.inv(reward.A @ reward.A.T)
    norm_metric = float(np.linalg.norm(metric, 2))
    if cost == "sq":
        penalty_lipschitz = lam * norm_metric * (radius + delta)
    else:
        penalty_lipschitz = lam * math.sqrt(norm_metric)
    return (reward.lipschitz + penalty_lipschitz) * delta


def _grid_prox(reward: LowRankReward, x: torch.Tensor, lam: float, cost: str, spacing: float | None,
               radius_scale: float = 1.0, metric: np.ndarray | None = None) -> ProxResult:
    radius = grid_radius(reward, lam, cost)
    if radius is None:
        return ProxResult(x.clone(), _objective(reward, x, x, lam, cost), "grid", 0.0,
                          {"reason": "w1 with L‖A‖ < λ: T(x) = x", "evaluations": 0})
    radius *= radius_scale
    k = reward.k
    if spacing is None:
        per_axis = max(9, int(round(4096 ** (1.0 / k))))
        spacing = 2 * radius / (per_axis - 1)
    spacing = check_positive("grid_spacing", spacing)
    count = int(math.ceil(radius / spacing))
    spacing = radius / count                        # the grid includes ±R exactly
    if (2 * count + 1) ** k > 5_000_000:
        raise ValueError(f"grid_spacing={spacing:.3g} needs {(2 * count + 1) ** k} points in k={k}; raise it")
    axis = torch.arange(-count, count + 1, dtype=x.dtype, device=x.device) * spacing
    offsets = torch.stack(torch.meshgrid(*([axis] * k), indexing="ij"), dim=-1).reshape(-1, k)   # (G, k)
    metric_np = np.linalg.inv(reward.A @ reward.A.T) if metric is None else metric
    metric_t = torch.as_tensor(metric_np, dtype=x.dtype, device=x.device)
    quadratic = ((offsets @ metric_t) * offsets).sum(-1)
    penalty = lam * (0.5 * quadratic if cost == "sq" else torch.sqrt(torch.clamp(quadratic, min=0.0)))
    A_t = torch.as_tensor(reward.A, dtype=x.dtype, device=x.device)
    centres = x @ A_t.T                                                                     # (n, k)
    best_offsets = torch.empty_like(centres)
    rows = max(1, (1 << 22) // offsets.shape[0])
    for start in range(0, x.shape[0], rows):
        block = centres[start:start + rows]
        values = reward.profile((block[:, None, :] + offsets[None]).reshape(-1, k)).reshape(block.shape[0], -1)
        best_offsets[start:start + rows] = offsets[(values - penalty[None]).argmax(dim=1)]
    point = x + best_offsets @ metric_t @ A_t
    error = grid_error_bound(reward, lam, cost, spacing, radius)
    certificate = {"radius": radius, "spacing": spacing, "evaluations_per_point": int(offsets.shape[0]),
                   "grid_error_bound": error}
    return ProxResult(point, _objective(reward, x, point, lam, cost), "grid", error, certificate)


# ---------------------------------------------------------------------------- public API
def solve_prox(reward: Reward, x, lam: float, cost: str = "sq", *, method: str = "auto",
               grid_spacing: float | None = None) -> ProxResult:
    """``argmax_y r(y) − λc(x, y)`` with its value and certificate (module docstring for the routes).

    ``x``: a point ``(d,)`` or a batch ``(n, d)``. ``method``: ``"auto"``, ``"closed"``, ``"cvxpy"`` or
    ``"grid"``. Raises ``ValueError`` for an unbounded problem, a non-concave reward on the convex
    (cvxpy) path, x of the wrong dimension, λ ≤ 0 or an unknown cost/method.
    """
    lam = check_positive("lam", lam)
    cost = _check_cost(cost)
    if method not in ("auto", "closed", "cvxpy", "grid"):
        raise ValueError(f"method must be 'auto', 'closed', 'cvxpy' or 'grid', got {method!r}")
    batch, single = _as_points(x, _reward_dim(reward))
    result = _dispatch(reward, batch, lam, cost, method, grid_spacing)
    if single:
        return ProxResult(result.point[0], result.value[0], result.method, result.error_bound, result.certificate)
    return result


def _dispatch(reward, x, lam, cost, method, grid_spacing) -> ProxResult:
    closed = None
    if method in ("auto", "closed"):
        if isinstance(reward, LinearReward):
            closed = _closed_linear(reward, x, lam, cost)
        elif isinstance(reward, QuadraticReward) and cost == "sq":
            closed = _closed_quadratic(reward, x, lam)
        elif isinstance(reward, MaxOfPlanes):
            closed = _closed_planes(reward, x, lam, cost)
        elif method == "closed":
            raise ValueError(f"no closed-form prox for reward {reward.name!r} with cost {cost!r}")
    if closed is not None:
        return ProxResult(closed, _objective(reward, x, closed, lam, cost), "closed", 0.0, {"exact": True})
    if method == "grid" or (method == "auto" and isinstance(reward, LowRankReward)):
        if not isinstance(reward, LowRankReward):
            raise ValueError(f"the grid reduction needs a LowRankReward f(Ay) with a Lipschitz constant, got {reward.name!r}")
        return _grid_prox(reward, x, lam, cost, grid_spacing)
    return _cvxpy_prox(reward, x, lam, cost)


def prox(reward: Reward, x, lam: float, cost: str = "sq", *, method: str = "auto",
         grid_spacing: float | None = None) -> torch.Tensor:
    """``T(x) = argmax_y r(y) − λc(x, y)`` (same shape as x); see ``solve_prox`` for the certificate."""
    return solve_prox(reward, x, lam, cost, method=method, grid_spacing=grid_spacing).point


@dataclass(frozen=True)
class WassersteinAlignResult:
    """Samples ``T(x_i)`` of ``q_W = T_#p``, their sources ``x_i ~ p``, and the prox calls used."""

    samples: torch.Tensor
    sources: torch.Tensor
    oracle_calls: int
    method: str
    error_bound: float
    certificate: dict = field(default_factory=dict)


def wasserstein_align(base, reward: Reward, lam: float, n: int, cost: str = "sq",
                      generator: torch.Generator | None = None, *, method: str = "auto",
                      grid_spacing: float | None = None) -> WassersteinAlignResult:
    """n samples of ``q_W = T_#p`` (one prox call per sample); ``error_bound`` bounds each point's
    objective gap, hence ``E_p φ − E[r(Y) − λc(X, Y)]``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    lam = check_positive("lam", lam)
    sources = base.sample(int(n), generator)
    if sources.ndim == 1:
        sources = sources.to(torch.float64)[:, None]
    result = solve_prox(reward, sources, lam, cost, method=method, grid_spacing=grid_spacing)
    return WassersteinAlignResult(result.point, sources, int(n), result.method, result.error_bound, result.certificate)
