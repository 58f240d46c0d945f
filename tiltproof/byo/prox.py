"""Bring your own proximal transport oracle: check ``T(x) = argmax_y r(y) − λc(x, y)`` against a certified optimum.

``check_prox(prox_fn, reward, lam, cost, points=… | base=…)`` calls ``prox_fn`` on a batch of points x
(``prox_fn(x)`` with x an ``(n, d)`` float64 tensor, or ``prox_fn(reward, x, lam, cost)`` — the signature
of ``primitives.prox.prox`` / ``solve_prox``, detected from the callable's required arguments) and
compares the user's objective ``F(x, y) = r(y) − λc(x, y)`` (``c = ½‖x − y‖²`` for ``"sq"``, ``‖x − y‖``
for ``"w1"``) with a reference optimum computed here, by its own route:

* **closed forms** (certificate gap 0): ``LinearReward`` (sq: ``φ(x) = r(x) + ‖b‖²/(2λ)``; w1: ``φ = r(x)``
  when ``‖b‖ ≤ λ``), ``MaxOfPlanes`` (sq: the prox of a max is the best plane's prox,
  ``φ = max_i ℓ_i(Ax) + ‖Aᵀg_i‖²/(2λ)``; w1: ``φ = r(x)`` when every ``‖Aᵀg_i‖ ≤ λ``);
* **strongly concave quadratic** (sq, ``M = Q + λI ≻ 0``): ``y = M⁻¹(λx + b)`` solved in numpy, with the
  gradient certificate ``φ − F(y) ≤ ‖∇F(y)‖²/(2μ)``, ``μ = λ_min(M)`` (F is μ-strongly concave);
* **concave rewards cvxpy can express** (``ConcaveExpressionReward``, concave quadratics with w1): the
  Clarabel solution and its duality gap (``primitives.prox``'s convex route);
* **Lipschitz low-rank ``f(Ay)``** (``LowRankReward``, non-concave allowed): the k-dimensional grid reduction
  at a spacing 4× finer than ``primitives.prox``'s default, certified error ``(L + Lip(pen))·h√k/2``.

With ``L(x)`` the attained reference value and ``gap(x)`` its certificate (``φ(x) ≤ L(x) + gap(x)``):

* ``fail`` — some x has ``L(x) − F(x, y_user) > tolerance`` (the user's point is worse than a point we
  attain by more than the tolerance, in objective units), or the user's point is non-finite. Certain,
  not statistical: φ ≥ L, so such a point is suboptimal by more than the tolerance;
* ``uncertified`` — not refuted, but ``L + gap − F(x, y_user) > tolerance`` somewhere (the reference is
  too loose to certify the claim);
* ``pass`` — every x is certified within the tolerance.

Power in user units: ``objective_error`` (= tolerance: any point worse than that fails), ``point_error``
(strongly concave objectives: a point at distance δ from T(x) loses ≥ μδ²/2), ``lambda_relative_error``
(the smallest s such that a prox computed at ``λ(1 ± s)`` fails, from the reference route at those λ on
up to 32 of the points, 4 where the reference is solved) and, when the points are drawn from ``base``,
``wrong_mass``: an oracle wrong on a set of p-mass ≥ this is met by some point w.p. ≥ 1 − β
(``estimators.region_detection``).
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from estimators.design import detectable_parameter_error
from estimators.region_detection import min_mass_of_regions_detectable, min_num_points_for_region_detection
from primitives._checks import check_positive
from primitives.planes import MaxOfPlanes
from primitives.prox import ConcaveExpressionReward, LowRankReward, grid_radius, solve_prox
from primitives.rewards import LinearReward, QuadraticReward, Reward
from tiltproof.byo.common import (NOT_REPRODUCIBLE, BadOutput, ImplementationRaised, call_user, check_alpha_beta,
                                     check_seed_device, error_record,
                                     seeded)
from tiltproof.byo.families import Family, verify_by_factory
from tiltproof.byo.verification import Certificate, TestOutcome, VerificationRecord, settle_verdict

__all__ = ["check_prox"]

_ROUNDING = 1e-9            # relative float64 slack on objective values
_POWER_POINTS = 32          # points used for the λ-power curve (a subset: the stated power is conservative)
_POWER_POINTS_SOLVED = 4    # the same where each reference point is a solve (cvxpy, grid)
_GRID_REFINEMENT = 4        # the reference grid is this many times finer than primitives.prox's default


@dataclass(frozen=True)
class _Reference:
    """Attained values L(x), certified ``gap(x) ≥ φ(x) − L(x)``, points, and the strong concavity μ of F."""

    value: np.ndarray
    gap: np.ndarray
    point: np.ndarray
    route: str
    strong_concavity: float | None


def _reward_dim(reward: Reward) -> int | None:
    if isinstance(reward, LinearReward):
        return reward.theta.shape[0]
    if isinstance(reward, QuadraticReward):
        return reward.b.shape[0]
    return getattr(reward, "dim", None)


def _objective(reward: Reward, x: torch.Tensor, y: torch.Tensor, lam: float, cost: str) -> np.ndarray:
    difference = y - x
    cost_value = 0.5 * (difference**2).sum(-1) if cost == "sq" else torch.linalg.norm(difference, dim=-1)
    return (reward(y) - lam * cost_value).detach().cpu().numpy()


def _unbounded(what: str) -> ValueError:
    return ValueError(f"lam is too small for this reward: sup_y r(y) − λc(x, y) = +∞ ({what}); no prox exists")


def _reference(reward: Reward, x: torch.Tensor, lam: float, cost: str) -> _Reference:
    n = x.shape[0]
    zeros = np.zeros(n)
    if isinstance(reward, (LinearReward, MaxOfPlanes)):
        if isinstance(reward, LinearReward):
            slopes, intercepts = reward.theta[None, :], np.array([reward.offset])
        else:
            slopes, intercepts = reward.G @ reward.A, reward.c
        norms = np.linalg.norm(slopes, axis=1)
        if cost == "w1":
            if norms.max() > lam * (1 + 1e-12):
                raise _unbounded(f"W1 cost with a slope of norm {norms.max():.6g} > λ = {lam:.6g}")
            return _Reference(reward(x).cpu().numpy(), zeros, x.cpu().numpy(), "closed form (T(x) = x)", None)
        values = x.cpu().numpy() @ slopes.T + intercepts + norms**2 / (2 * lam)          # (n, N)
        best = values.argmax(axis=1)
        concavity = lam if isinstance(reward, LinearReward) else None
        return _Reference(values.max(axis=1), zeros, x.cpu().numpy() + slopes[best] / lam, "closed form", concavity)
    if isinstance(reward, QuadraticReward) and cost == "sq":
        system = reward.Q + lam * np.eye(reward.Q.shape[0])
        mu = float(np.linalg.eigvalsh(system).min())
        if mu <= 1e-12 * max(1.0, lam):
            raise _unbounded(f"Q + λI has smallest eigenvalue {mu:.3g} ≤ 0")
        points = np.linalg.solve(system, (lam * x.cpu().numpy() + reward.b).T).T
        gradient = -(points @ reward.Q) + reward.b - lam * (points - x.cpu().numpy())
        y = torch.as_tensor(points, dtype=x.dtype, device=x.device)
        return _Reference(_objective(reward, x, y, lam, cost), (gradient**2).sum(-1) / (2 * mu), points,
                          "linear solve + gradient certificate", mu)
    if isinstance(reward, LowRankReward):
        radius = grid_radius(reward, lam, cost)
        if radius is None:
            return _Reference(reward(x).cpu().numpy(), zeros, x.cpu().numpy(), "grid (T(x) = x: w1 with L‖A‖ < λ)",
                              None)
        per_axis = max(9, int(round(4096 ** (1.0 / reward.k)))) * _GRID_REFINEMENT
        while (per_axis + 1) ** reward.k > 400_000 and per_axis > 9:
            per_axis //= 2
        result = solve_prox(reward, x, lam, cost, method="grid", grid_spacing=2 * radius / (per_axis - 1))
        return _Reference(result.value.cpu().numpy(), np.full(n, result.error_bound), result.point.cpu().numpy(),
                          "grid reduction", None)
    if isinstance(reward, (ConcaveExpressionReward, QuadraticReward, LinearReward)):
        result = solve_prox(reward, x, lam, cost, method="cvxpy")
        values = _objective(reward, x, result.point, lam, cost)
        slack = 1e-7 * (1.0 + np.abs(values))   # solver residuals on the dual bound
        return _Reference(values, result.certificate["duality_gap"] + slack, result.point.cpu().numpy(),
                          "cvxpy (Clarabel) + duality gap", lam if cost == "sq" else None)
    raise ValueError(f"reward {getattr(reward, 'name', reward)!r} has no certified prox here: use LinearReward, "
                     "MaxOfPlanes, QuadraticReward (Q + λI ≻ 0), ConcaveExpressionReward or LowRankReward")


def _bind(prox_fn: Callable, reward: Reward, lam: float, cost: str) -> Callable[[torch.Tensor], Any]:
    try:
        parameters = inspect.signature(prox_fn).parameters.values()
    except (TypeError, ValueError):
        return prox_fn
    required = [p for p in parameters if p.default is inspect.Parameter.empty
                and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    if len(required) >= 3:
        return lambda x: prox_fn(reward, x, lam, cost)
    return prox_fn


def _user_points(output: Any, n: int, dim: int) -> np.ndarray:
    if not isinstance(output, (torch.Tensor, np.ndarray)) and hasattr(output, "point"):
        output = output.point
    try:
        array = output.detach().cpu().numpy() if isinstance(output, torch.Tensor) else np.asarray(output, dtype=float)
        array = array.astype(float)
    except (TypeError, ValueError):
        raise BadOutput(f"prox_fn must return a numeric ({n}, {dim}) tensor or array, "
                        f"got {type(output).__name__}") from None
    if array.ndim == 1 and n == 1 and array.shape[0] == dim:
        array = array[None, :]
    if array.shape != (n, dim):
        raise BadOutput(f"prox_fn returned shape {array.shape} for {n} points in ℝ^{dim}; expected ({n}, {dim})")
    return array


def _user_values(reward: Reward, x: torch.Tensor, y: np.ndarray, lam: float, cost: str) -> np.ndarray:
    """F(x, y) per point; −∞ where y is not finite (an infeasible answer)."""
    values = np.full(y.shape[0], -math.inf)
    finite = np.isfinite(y).all(axis=1)
    if finite.any():
        rows = torch.as_tensor(np.nonzero(finite)[0])
        answers = torch.as_tensor(y[finite], dtype=x.dtype, device=x.device)
        values[finite] = _objective(reward, x[rows], answers, lam, cost)
    return values


def _points(points, base, reward: Reward, wrong_mass: float, beta: float, seed: int,
            device) -> tuple[torch.Tensor, bool]:
    dim = _reward_dim(reward)
    if points is None:
        if base is None or not callable(getattr(base, "sample", None)):
            raise ValueError("points must be given (an (n, d) array of x's), or base= a law to draw them from")
        n = min_num_points_for_region_detection(wrong_mass, beta=beta)
        drawn = base.sample(n, seeded(seed, device))
        if drawn.ndim != 2 or not drawn.is_floating_point():
            raise ValueError(f"base must be a law on ℝ^d (samples of shape (n, d)), got samples of shape "
                             f"{tuple(drawn.shape)}")
        array, random = drawn.to(torch.float64), True
    else:
        try:
            raw = points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else points
            array = torch.as_tensor(np.asarray(raw, dtype=float), device=device)
        except (TypeError, ValueError):
            raise ValueError(f"points must be a numeric (n, d) array, got {points!r}") from None
        if array.ndim == 1:
            array = array[None, :]
        random = False
    if array.ndim != 2 or array.shape[0] < 1 or (dim is not None and array.shape[1] != dim):
        raise ValueError(f"points must have shape (n, {dim}), got {tuple(array.shape)}")
    if not torch.isfinite(array).all():
        raise ValueError("points must contain only finite values")
    return array, random


def _lambda_signal(reward: Reward, x: torch.Tensor, lam: float, cost: str, reference: _Reference):
    """s ↦ the smaller, over λ(1 ± s), of the largest shortfall L(x) − F(x, T_{λ(1±s)}(x)) beyond rounding."""
    count = min(x.shape[0], _POWER_POINTS if reference.route.startswith(("closed", "linear")) else _POWER_POINTS_SOLVED)
    subset, attained = x[:count], reference.value[:count]
    rounding = _ROUNDING * np.maximum(1.0, np.abs(attained))

    def signal(s: float) -> float:
        worst = []
        for scale in (1 + s, 1 - s):
            try:
                other = _reference(reward, subset, lam * scale, cost)
            except ValueError:
                worst.append(math.inf)
                continue
            y = torch.as_tensor(other.point, dtype=x.dtype, device=x.device)
            worst.append(float(np.max(attained - _objective(reward, subset, y, lam, cost) - rounding)))
        return min(worst)

    return signal


def check_prox(prox_fn: Callable, reward: Reward, lam: float, cost: str = "sq", *, points=None, base=None,
               tolerance: float = 1e-6, alpha: float = 1e-6, beta: float = 1e-3, seed: int = 0,
               device: str | torch.device = "cpu", wrong_mass: float = 0.01,
               batched: bool = True) -> VerificationRecord:
    """Check a prox oracle against a certified optimum at ``points`` (or at points drawn from ``base``).

    ``tolerance``: the objective shortfall the oracle is allowed (objective units, e.g. its own grid or
    solver error). ``wrong_mass``: with ``base``, the number of drawn points is sized so that an oracle
    wrong on a set of p-mass ≥ ``wrong_mass`` is met w.p. ≥ 1 − β. ``batched=False`` calls ``prox_fn``
    one ``(d,)`` point at a time. ``alpha`` is unused by the (deterministic) comparisons and kept for a
    uniform interface; every verdict here is certain given the points.
    """
    if not callable(prox_fn):
        raise ValueError(f"prox_fn must be a callable prox_fn(x) or prox_fn(reward, x, lam, cost), got {prox_fn!r}")
    if not isinstance(reward, Reward):
        raise ValueError(f"reward must be a primitives Reward (LinearReward, ConcaveQuadratic, …), got {reward!r}")
    lam = check_positive("lam", lam)
    if cost not in ("sq", "w1"):
        raise ValueError(f"cost must be 'sq' (½‖x−y‖²) or 'w1' (‖x−y‖), got {cost!r}")
    tolerance = check_positive("tolerance", tolerance)
    alpha, beta = check_alpha_beta(alpha, beta)
    seed, device = check_seed_device(seed, device)
    wrong_mass = check_positive("wrong_mass", wrong_mass)
    if wrong_mass >= 1.0:
        raise ValueError(f"wrong_mass must lie in (0, 1), got {wrong_mass!r}")
    x, random = _points(points, base, reward, wrong_mass, beta, seed, device)
    n, dim = x.shape
    reference = _reference(reward, x, lam, cost)                       # raises before calling the user
    call = _bind(prox_fn, reward, lam, cost)
    instance = (f"{getattr(reward, 'name', 'reward')}, λ={lam:g}, cost={cost}, {n} points "
                f"({'drawn from base' if random else 'given'})")
    try:
        if batched:
            answer = _user_points(call_user("prox_fn", call, x.clone()), n, dim)
            again = _user_points(call_user("prox_fn", call, x[:8].clone()), min(n, 8), dim)
        else:
            answer = np.concatenate([_user_points(call_user("prox_fn", call, x[i].clone()), 1, dim) for i in range(n)])
            again = _user_points(call_user("prox_fn", call, x[0].clone()), 1, dim)
    except (ImplementationRaised, BadOutput) as raised:
        return error_record("prox", instance, alpha=alpha, beta=beta, seed=seed, message=str(raised),
                            details={"reference_route": reference.route})
    user = _user_values(reward, x, answer, lam, cost)
    rounding = _ROUNDING * np.maximum(1.0, np.abs(reference.value))
    shortfall = reference.value - user - rounding
    suboptimality = reference.value + reference.gap - user - rounding
    worst = int(np.argmax(shortfall))
    infeasible = int((~np.isfinite(user)).sum())
    test = TestOutcome(
        name="objective vs certified optimum", statistic="max_x L(x) − F(x, y_user) (L: attained reference value)",
        value=float(shortfall[worst]), threshold=tolerance, n=n, alpha=0.0, detectable_gap=tolerance,
        gap_units="objective units (deterministic)", rejected=bool(shortfall[worst] > tolerance),
        details={"worst_point": x[worst].cpu().tolist(), "user_point": answer[worst].tolist(),
                 "reference_point": reference.point[worst].tolist(), "non_finite_answers": infeasible})
    certificate = Certificate(name="suboptimality φ(x) − F(x, y_user) (reference value + its gap)",
                              upper_confidence=float(np.max(suboptimality)), budget=tolerance, alpha=0.0,
                              estimate=float(shortfall[worst]),
                              details={"reference_route": reference.route,
                                       "max_reference_gap": float(reference.gap.max())})
    power: dict[str, float | None] = {"objective_error": tolerance}
    if reference.strong_concavity is not None:
        slack = tolerance + float(rounding.max()) + float(reference.gap.max())
        power["point_error"] = math.sqrt(2.0 * slack / reference.strong_concavity)
    power["lambda_relative_error"] = detectable_parameter_error(
        _lambda_signal(reward, x, lam, cost, reference), tolerance * (1 + 1e-9) + 1e-300, largest=0.9, tolerance=1e-4)
    warnings: list[str] = []
    if power["lambda_relative_error"] is None:
        warnings.append("no λ error below 90 % changes the prox's objective beyond the tolerance at these points "
                        "(e.g. w1 cost with slopes ≤ λ, where T(x) = x for every such λ)")
    if random:
        power["wrong_mass"] = min_mass_of_regions_detectable(n, beta=beta)
    # the prox takes no generator: the reproducibility check is the same call twice on the same points
    not_reproducible = not np.array_equal(again, answer[:again.shape[0]], equal_nan=True)
    if not_reproducible:
        warnings.append(NOT_REPRODUCIBLE.replace("two equally seeded draws differed", "two calls on the same points "
                                                 "differed"))
    verdict, meaning, _ = settle_verdict((test,), (certificate,), budget=tolerance)
    if verdict == "fail":
        message = (f"the prox is suboptimal by {shortfall[worst]:.4g} > tolerance {tolerance:.3g} at x = "
                   f"{np.array2string(x[worst].cpu().numpy(), precision=3)}"
                   + (f"; {infeasible} answers are non-finite" if infeasible else ""))
    elif verdict == "uncertified":
        message = (f"not refuted, but the reference certificate ({reference.route}) is too loose to certify "
                   "the tolerance")
    else:
        message = ""
    return VerificationRecord(family="prox", instance=instance, verdict=verdict, alpha=alpha, beta=beta, seed=seed,
                              tests=(test,), certificates=(certificate,), power=power, warnings=tuple(warnings),
                              message=message, details={"reference_route": reference.route}, pass_meaning=meaning,
                              not_reproducible=not_reproducible)


FAMILY = Family(name="prox", summary="a prox oracle's objective against a certified optimum", check="check_prox",
                assertion="assert_prox", verify=verify_by_factory("prox"))
