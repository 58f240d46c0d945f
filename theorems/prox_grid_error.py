"""W1b: the grid reduction of the proximal transport oracle for a Lipschitz f(Ay) (tractability spec, W1b).

For ``r(y) = f(Ay)`` (A ∈ ℝ^{k×d} of full row rank, f L-Lipschitz, not concave) and the squared cost,
``max_y f(Ay) − (λ/2)‖y − x‖² = max_z Φ(z)``, ``Φ(z) = f(z) − (λ/2)(z − Ax)ᵀM(z − Ax)``, ``M = (AAᵀ)⁻¹`` (the
least-norm y with Ay = z). ``primitives.prox``'s grid route maximises Φ over a cubic grid of spacing h on
``[−R, R]^k`` around Ax.

**Constants (proved here, evaluated from (A, λ, R, h) in the claims — not taken from the code under test).**

* Radius: Φ(z*) ≥ Φ(Ax) gives ``(λ/2)‖M‖⁻¹‖z* − Ax‖² ≤ (λ/2)(z*−Ax)ᵀM(z*−Ax) ≤ f(z*) − f(Ax) ≤ L‖z* − Ax‖``, so
  ``‖z* − Ax‖ ≤ 2L/(λ λ_min(M)) = 2L‖A‖²/λ =: R``.
* First order: the grid point nearest z* is within ``δ = h√k/2``; on the ball of radius R + δ the penalty's
  gradient ``λM(z − Ax)`` has norm ≤ ``L_pen = λ‖M‖(R + δ)``, so ``error(h) ≤ (L + L_pen)·δ`` (the spec's
  ``O(L h √k)``; ``w1b.grid_vs_brute_force``, ``w1b.error_and_cost``).
* Second order (the tight claim ``w1b.second_order``): z* is an interior maximiser of the smooth Φ on ℝ^k, so
  ``∇Φ(z*) = 0`` and ``error(h) ≤ Φ(z*) − Φ(z_near) ≤ ½(H_f + λ‖M‖)δ²`` with ``H_f ≥ sup‖∇²f‖₂``. For the wave
  ``f(z) = 2 sin z₁ cos 1.5z₂ + 0.3z₁``: ``|f₁₁| ≤ 2``, ``|f₂₂| ≤ 4.5``, ``|f₁₂| ≤ 3``, so ``‖∇²f‖₂ ≤ ‖∇²f‖_F ≤ 6.5``.
  The error is therefore O(h²), not only O(h); the record reports the observed order (the log-slope of the error
  over h, …, h/8).

**Exact sides by an independent optimiser, for every k.** The best value is found in ℝ^d with a numpy
implementation of the objective: random search in the reachable ball (20 000 draws), then L-BFGS (scipy) from
the best candidates and from the grid's own point; any point's value is a lower bound on the maximum, so the
measured shortfall never overstates the grid's error.

Wrong variants: the identity metric in place of M; a local window (radius 1) in place of R.
"""
from __future__ import annotations

import math
from functools import lru_cache, partial

import numpy as np
import sympy
import torch
from scipy import optimize

from primitives.prox import LowRankReward, _grid_prox, solve_prox
from tiltproof.api import CheckContext, Claim, Evidence, Mutant, upper_bound_evidence, wrong_variant

MODULE = "prox_grid_error"

lam = sympy.Symbol("lambda", positive=True)
h_sym = sympy.Symbol("h", positive=True)
k_sym = sympy.Symbol("k", positive=True, integer=True)
L_sym = sympy.Symbol("L", positive=True)
pen_lipschitz = sympy.Symbol("L_pen", nonnegative=True)
hessian_sym = sympy.Symbol("H", nonnegative=True)            # H_f + λ‖M‖
GRID_ERROR = (L_sym + pen_lipschitz) * h_sym * sympy.sqrt(k_sym) / 2
SECOND_ORDER_ERROR = hessian_sym * (h_sym * sympy.sqrt(k_sym) / 2) ** 2 / 2


def _evaluate(expression: sympy.Expr, values: dict) -> float:
    return float(expression.subs(values).evalf())


def claim_radius(A: np.ndarray, lipschitz: float, lam_value: float) -> float:
    """R = 2L‖A‖²/λ (module docstring)."""
    return 2 * lipschitz * float(np.linalg.norm(A, 2)) ** 2 / lam_value


def metric_norm(A: np.ndarray) -> float:
    return float(np.linalg.norm(np.linalg.inv(A @ A.T), 2))


def penalty_lipschitz(A: np.ndarray, lam_value: float, radius: float, delta: float) -> float:
    """L_pen = λ‖(AAᵀ)⁻¹‖(R + δ)."""
    return lam_value * metric_norm(A) * (radius + delta)


# ---------------------------------------------------------------- instances
def _bump_torch(z: torch.Tensor) -> torch.Tensor:
    s = z[:, 0]
    return torch.sin(2 * s) + 3 * torch.exp(-((s - 2.5) ** 2))


def _bump_numpy(z: np.ndarray) -> np.ndarray:
    s = z[..., 0]
    return np.sin(2 * s) + 3 * np.exp(-((s - 2.5) ** 2))


BUMP_LIPSCHITZ = 2.0 + 3 * math.sqrt(2) * math.exp(-0.5)   # |f'| ≤ 2 + 3·max|2u e^{−u²}|


@lru_cache(maxsize=None)
def bump_instance():
    A = np.array([[1.2, -0.4, 0.7]])
    reward = LowRankReward(A, _bump_torch, BUMP_LIPSCHITZ, name="sine-bump")
    unit = A[0] / np.linalg.norm(A[0])
    points = np.outer(np.linspace(-3.0, 3.0, 8) / np.linalg.norm(A[0]), unit)
    points += np.random.default_rng(5003).normal(size=points.shape) * 0.3
    return reward, 1.0, torch.as_tensor(points)


def _wave_torch(z: torch.Tensor) -> torch.Tensor:
    return 2 * torch.sin(z[:, 0]) * torch.cos(1.5 * z[:, 1]) + 0.3 * z[:, 0]


def _wave_numpy(z: np.ndarray) -> np.ndarray:
    return 2 * np.sin(z[..., 0]) * np.cos(1.5 * z[..., 1]) + 0.3 * z[..., 0]


WAVE_LIPSCHITZ = 2 * math.sqrt(1 + 1.5**2) + 0.3
WAVE_HESSIAN = 6.5                                          # ‖∇²f‖₂ ≤ ‖∇²f‖_F ≤ √(2² + 4.5² + 2·3²)


@lru_cache(maxsize=None)
def wave_instance():
    rng = np.random.default_rng(5004)
    A = rng.normal(size=(2, 5)) * 0.6
    reward = LowRankReward(A, _wave_torch, WAVE_LIPSCHITZ, name="wave")
    return reward, 1.5, torch.as_tensor(rng.normal(size=(6, 5)))


# ---------------------------------------------------------------- the independent optimiser
def independent_max(A: np.ndarray, f_numpy, x: np.ndarray, lam_value: float, radius_y: float, rng: np.random.Generator,
                    starts: tuple[np.ndarray, ...] = (), draws: int = 20_000, polish: int = 5) -> float:
    """Best objective ``f(Ay) − (λ/2)‖y − x‖²`` found in ℝ^d: random search in the reachable ball, then L-BFGS
    from the best candidates and from ``starts``. Every value is attained, hence a lower bound on the max."""
    d = x.shape[0]

    def objective(y):
        return float(f_numpy((A @ y)[None])[0]) - lam_value * 0.5 * float(np.sum((y - x) ** 2))

    directions = rng.normal(size=(draws, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    candidates = x + directions * radius_y * rng.uniform(size=(draws, 1)) ** (1.0 / d)
    values = f_numpy(candidates @ A.T) - lam_value * 0.5 * np.sum((candidates - x) ** 2, axis=1)
    best = -math.inf
    for start in [*candidates[np.argsort(values)[-polish:]], *starts]:
        result = optimize.minimize(lambda y: -objective(y), start, method="L-BFGS-B")
        best = max(best, -float(result.fun), objective(start))
    return best


def _values_at(A: np.ndarray, f_numpy, points: np.ndarray, x: np.ndarray, lam_value: float) -> np.ndarray:
    """The objective at the prox's points, re-evaluated with the numpy implementation."""
    return f_numpy(points @ A.T) - lam_value * 0.5 * np.sum((points - x) ** 2, axis=1)


def _reach(A: np.ndarray, radius: float) -> float:
    """Radius in y-space of {y: ‖Ay − Ax‖ ≤ R} ∩ (least-norm y): R·√‖M‖."""
    return radius * math.sqrt(metric_norm(A))


def _references(reward, f_numpy, x: np.ndarray, lam_value: float, radius: float, rng, starts: np.ndarray) -> np.ndarray:
    return np.array([independent_max(reward.A, f_numpy, point, lam_value, _reach(reward.A, radius), rng, (start,))
                     for point, start in zip(x, starts)])


# ---------------------------------------------------------------- checks
def check_grid_vs_brute_force(context: CheckContext, prox_fn=None) -> Evidence:
    reward, lam_value, x = bump_instance()
    result = prox_fn(reward, x, lam_value) if prox_fn else solve_prox(reward, x, lam_value, method="grid")
    radius = claim_radius(reward.A, reward.lipschitz, lam_value)
    spacing = result.certificate["spacing"]
    y, points = result.point.numpy(), x.numpy()
    grid_values = _values_at(reward.A, _bump_numpy, y, points, lam_value)
    brute = _references(reward, _bump_numpy, points, lam_value, radius, np.random.default_rng(context.seed), y)
    shortfall = float(np.max(brute - grid_values))
    delta = spacing * math.sqrt(reward.k) / 2
    bound = _evaluate(GRID_ERROR, {L_sym: reward.lipschitz, h_sym: spacing, k_sym: reward.k,
                                   pen_lipschitz: penalty_lipschitz(reward.A, lam_value, radius, delta)})
    return upper_bound_evidence(
        statistic="max over 8 points of (best value of an independent d-dimensional optimiser − grid value), both "
                  "with a numpy objective, against (L + L_pen)h√k/2 with L_pen = λ‖(AAᵀ)⁻¹‖(R + h√k/2), R = 2L‖A‖²/λ",
        bound=bound, exact=shortfall, empirical=None, lower_confidence=None, n=len(brute), detectable_gap=0.0,
        details={"grid_values": grid_values.tolist(), "brute_force_values": brute.tolist(), "radius": radius,
                 "evaluations_per_point": result.certificate["evaluations_per_point"]},
        units="objective units (deterministic: any excess over the bound fails)")


def _spacing_sweep(reward, x, lam_value, radius, prox_fn, levels: int):
    coarse = radius / 20
    rows = []
    for level in range(levels):
        spacing = coarse / 2**level
        result = prox_fn(reward, x, lam_value, spacing) if prox_fn else _grid_prox(reward, x, lam_value, "sq", spacing)
        rows.append((result, spacing))
    return rows


def check_error_and_cost(context: CheckContext, prox_fn=None) -> Evidence:
    reward, lam_value, x = wave_instance()
    k, points = reward.k, x.numpy()
    radius = claim_radius(reward.A, reward.lipschitz, lam_value)
    rows_out, reasons, worst_ratio = [], [], 0.0
    sweep = _spacing_sweep(reward, x, lam_value, radius, prox_fn, 3)
    finest = sweep[-1][0].point.numpy()
    reference = _references(reward, _wave_numpy, points, lam_value, radius, np.random.default_rng(context.seed), finest)
    for result, requested in sweep:
        count = result.certificate["evaluations_per_point"]
        expected_count = (2 * math.ceil(radius / requested - 1e-12) + 1) ** k
        used = result.certificate["spacing"]
        delta = used * math.sqrt(k) / 2
        bound = _evaluate(GRID_ERROR, {L_sym: reward.lipschitz, h_sym: used, k_sym: k,
                                       pen_lipschitz: penalty_lipschitz(reward.A, lam_value, radius, delta)})
        shortfall = float((reference - _values_at(reward.A, _wave_numpy, result.point.numpy(), points, lam_value)).max())
        worst_ratio = max(worst_ratio, shortfall / bound)
        rows_out.append({"spacing": used, "evaluations": count, "shortfall": shortfall, "bound": bound})
        if count != expected_count:
            reasons.append(f"h={used:.3g}: {count} evaluations, expected (2⌈R/h⌉+1)^k = {expected_count}")
        if shortfall > bound * (1 + 1e-9):
            reasons.append(f"h={used:.3g}: shortfall {shortfall:.4g} > ε(h) = {bound:.4g}")
    return Evidence(
        holds=not reasons, statistic="suboptimality against an independent d-dimensional optimiser (numpy objective, "
                                     "random search + L-BFGS), for h, h/2, h/4, against ε(h) = (L + L_pen)·h√k/2 "
                                     "from (A, λ, R); evaluation counts against (2⌈R/h⌉+1)^k",
        bound=1.0, exact=worst_ratio, empirical=None, n=len(rows_out), margin=1.0 - worst_ratio,
        detectable_gap=0.0, detectable_gap_units="ratio shortfall/ε(h) (deterministic)",
        message="; ".join(reasons), details={"rows": rows_out, "radius": radius, "k": k, "d": reward.dim})


def check_second_order(context: CheckContext, prox_fn=None) -> Evidence:
    """The tight claim: error(h) ≤ ½(H_f + λ‖M‖)(h√k/2)² at h, …, h/8, and the observed order in h."""
    reward, lam_value, x = wave_instance()
    k, points = reward.k, x.numpy()
    radius = claim_radius(reward.A, reward.lipschitz, lam_value)
    sweep = _spacing_sweep(reward, x, lam_value, radius, prox_fn, 4)
    finest = sweep[-1][0].point.numpy()
    reference = _references(reward, _wave_numpy, points, lam_value, radius, np.random.default_rng(context.seed), finest)
    curvature = WAVE_HESSIAN + lam_value * metric_norm(reward.A)
    rows, reasons, worst_ratio = [], [], 0.0
    for result, _ in sweep:
        used = result.certificate["spacing"]
        bound = _evaluate(SECOND_ORDER_ERROR, {hessian_sym: curvature, h_sym: used, k_sym: k})
        shortfall = float((reference - _values_at(reward.A, _wave_numpy, result.point.numpy(), points, lam_value)).max())
        worst_ratio = max(worst_ratio, shortfall / bound)
        rows.append({"spacing": used, "shortfall": shortfall, "bound": bound})
        if shortfall > bound * (1 + 1e-9) + 1e-10:
            reasons.append(f"h={used:.3g}: shortfall {shortfall:.4g} > ½(H_f + λ‖M‖)δ² = {bound:.4g}")
    errors = np.array([max(row["shortfall"], 1e-300) for row in rows])
    spacings = np.array([row["spacing"] for row in rows])
    order = float(np.polyfit(np.log(spacings), np.log(errors), 1)[0])
    return Evidence(
        holds=not reasons,
        statistic="suboptimality (independent optimiser) for h, h/2, h/4, h/8 against the second-order bound "
                  "½(H_f + λ‖(AAᵀ)⁻¹‖)(h√k/2)²; observed order = log-slope of the error in h",
        bound=1.0, exact=worst_ratio, empirical=order, n=len(rows), margin=1.0 - worst_ratio,
        detectable_gap=0.0, detectable_gap_units="ratio shortfall/second-order bound (deterministic)",
        message="; ".join(reasons),
        details={"rows": rows, "observed_order": order, "curvature": curvature, "radius": radius})


# ---------------------------------------------------------------- registration
def claims() -> list[Claim]:
    def claim(claim_id, title, statement, expression, instance, check, parameters):
        return Claim(id=claim_id, theorem="W1b", module=MODULE, title=title, statement=statement,
                     bound_expression=expression, instance=instance, hypotheses=(), check=check, parameters=parameters)

    wave = r"$f(z)=2\sin z_1\cos 1.5z_2+0.3z_1$, $A\in\mathbb R^{2\times5}$, $\lambda=1.5$"
    return [
        claim("w1b.grid_vs_brute_force/sine-bump-d3-k1/lam=1", "grid reduction vs brute force",
              r"\max_y r(y)-\tfrac\lambda2\|y-x\|^2 - \text{grid value} \le (L+L_{\mathrm{pen}})\,h\sqrt k/2",
              GRID_ERROR, r"$r=f(Ay)$, $f(z)=\sin 2z+3e^{-(z-2.5)^2}$, $A\in\mathbb R^{1\times3}$, $\lambda=1$",
              check_grid_vs_brute_force, {"lambda": 1.0, "k": 1, "d": 3}),
        claim("w1b.error_and_cost/wave-d5-k2/lam=1.5", "grid error O(Lh√k) at cost (2R/h+1)^k",
              r"\text{error}(h) \le (L+L_{\mathrm{pen}})\,h\sqrt k/2,\quad \#\text{evaluations} = (2\lceil R/h\rceil+1)^k",
              GRID_ERROR, wave, check_error_and_cost, {"lambda": 1.5, "k": 2, "d": 5}),
        claim("w1b.second_order/wave-d5-k2/lam=1.5", "grid error is second order in h",
              r"\text{error}(h) \le \tfrac12(H_f+\lambda\|(AA^\top)^{-1}\|)\,(h\sqrt k/2)^2",
              SECOND_ORDER_ERROR, wave, check_second_order, {"lambda": 1.5, "k": 2, "d": 5, "H_f": WAVE_HESSIAN}),
    ]


def _identity_metric_prox(reward, x, lam_value, spacing=None):
    return _grid_prox(reward, x, lam_value, "sq", spacing, metric=np.eye(reward.k))


def _local_window_prox(reward, x, lam_value, spacing=None):
    """Wrong: a local search (window of radius 1 around Ax) in place of the ball of radius 2L‖A‖²/λ."""
    from primitives.prox import grid_radius

    return _grid_prox(reward, x, lam_value, "sq", spacing, radius_scale=1.0 / grid_radius(reward, lam_value, "sq"))


def mutants() -> list[Mutant]:
    registered = claims()

    def variant(claim_id, check, suffix):
        return wrong_variant(registered, claim_id, check, suffix)

    return [
        Mutant("grid-identity-metric", "W1b", "grid reduction with ‖z − Ax‖² in place of (z−Ax)ᵀ(AAᵀ)⁻¹(z−Ax)",
               variant("w1b.grid_vs_brute_force/sine-bump-d3-k1/lam=1",
                       partial(check_grid_vs_brute_force, prox_fn=_identity_metric_prox), "identity-metric")),
        Mutant("grid-local-window", "W1b", "a local search (radius 1 around Ax) instead of the radius 2L‖A‖²/λ",
               variant("w1b.grid_vs_brute_force/sine-bump-d3-k1/lam=1",
                       partial(check_grid_vs_brute_force, prox_fn=_local_window_prox), "local-window")),
        Mutant("grid-identity-metric-k2", "W1b", "the identity metric on the k = 2 wave: the error stops shrinking in h",
               variant("w1b.second_order/wave-d5-k2/lam=1.5", partial(check_second_order, prox_fn=_identity_metric_prox),
                       "identity-metric")),
        Mutant("grid-local-window-k2", "W1b", "a local window on the k = 2 wave, checked against ε(h)",
               variant("w1b.error_and_cost/wave-d5-k2/lam=1.5", partial(check_error_and_cost, prox_fn=_local_window_prox),
                       "local-window")),
    ]


def proofs():
    """W1b's proof as data (``theorems/proofs/prox_grid_error.py``; imported lazily: it imports this module)."""
    from theorems.proofs.prox_grid_error import proofs as declared

    return declared()
