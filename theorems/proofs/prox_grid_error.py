"""W1b's proof as data (issue 22): the grid reduction of the proximal oracle for ``r = f(Ay)``
(``theorems.prox_grid_error``, whose docstring carries the proof).

``Φ(z) = f(z) − (λ/2)(z − Ax)ᵀM(z − Ax)``, ``M = (AAᵀ)⁻¹``, z* its maximiser, ``R = 2L‖A‖²/λ``, a grid of spacing h
around Ax, ``δ = h√k/2``, ``z_near`` the grid point nearest z*. Steps:

1. ``lift_feasible`` / 2. ``lift_cost`` / 3. ``lift_minimal`` — ``y = x + AᵀM(z − Ax)`` has ``Ay = z``,
   ``‖y − x‖² = (z − Ax)ᵀM(z − Ax)``, and no ``y + v`` (v ∈ ker A) is closer to x;
4. ``metric_eigen`` — ``λ_min(M) = 1/‖A‖₂²``;
5. ``radius`` — ``‖z* − Ax‖ ≤ R`` (``Φ(z*) ≥ Φ(Ax)`` and ``(λ/2)λ_min(M)ρ² ≤ Lρ``);
6. ``nearest_grid`` — ``√(k(h/2)²) = h√k/2`` (symbolic);
7. ``first_order_error`` — ``Φ(z*) − Φ(z_near) ≤ (L + λ‖M‖(R + δ))δ``;
8. ``hessian_bound`` — ``‖∇²f‖₂ ≤ H_f`` (on a grid covering a period of f);
9. ``second_order_error`` — ``Φ(z*) − Φ(z_near) ≤ ½(H_f + λ‖M‖)δ²`` (∇Φ(z*) = 0).

z* by brute force, independent of ``primitives.prox``: a dense grid over the box ``Ax ± (R + 1)`` (k ≤ 2), refined
twice around its best point (every value is attained, so the measured error is never overstated by more than the
refinement's resolution, below 1e-9 here). Instances: the registered ``sine-bump-d3-k1/lam=1`` (H_f = 10:
``|f''| ≤ 4 + 3·max|4u² − 2|e^{−u²}``) and ``wave-d5-k2/lam=1.5`` (H_f = 6.5) at spacings R/20 and R/80; the
search draws 1-D ``f(z) = a sin(ωz) + cz`` (L = |a|ω + |c|, H_f = |a|ω²) with random A, λ, x. Wrong steps: the
identity metric (``‖y − x‖² = ‖z − Ax‖²``, the module's mutant) and a local window of radius 1 in place of R.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np
import sympy

from tiltproof.proofs.model import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "GridCase"]

BUMP_HESSIAN = 10.0     # |f''| ≤ 4|sin 2s| + 3|4u² − 2|e^{−u²} ≤ 4 + 6


@dataclass(frozen=True, eq=False)
class GridCase:
    A: np.ndarray
    f: Callable[[np.ndarray], np.ndarray]       # (..., k) → (...)
    hessian: Callable[[np.ndarray], np.ndarray]  # (..., k) → (..., k, k)
    lipschitz: float
    hessian_bound: float
    lam: float
    points: np.ndarray
    spacings_over_radius: tuple[float, ...] = (1 / 20, 1 / 80)
    period: tuple[float, ...] = ()
    cache: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return self.A.shape[0]


def _metric(case: GridCase) -> np.ndarray:
    return np.linalg.inv(case.A @ case.A.T)


def _radius(case: GridCase) -> float:
    return 2 * case.lipschitz * float(np.linalg.norm(case.A, 2)) ** 2 / case.lam


def _phi(case: GridCase, z: np.ndarray, centre: np.ndarray) -> np.ndarray:
    diff = z - centre
    return case.f(z) - 0.5 * case.lam * np.einsum("...i,ij,...j->...", diff, _metric(case), diff)


def _box(centre: np.ndarray, half: float, count: int) -> np.ndarray:
    axes = [np.linspace(c - half, c + half, count) for c in centre]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(centre))


def _maximisers(case: GridCase) -> np.ndarray:
    """z* for every point, by a dense grid and two refinements (independent of the code under test)."""
    if "zstar" not in case.cache:
        out = []
        half = _radius(case) + 1.0
        count = 200_001 if case.k == 1 else 801
        for x in case.points:
            centre = case.A @ x
            grid = _box(centre, half, count)
            best = grid[np.argmax(_phi(case, grid, centre))]
            step = 2 * half / (count - 1)
            for _ in range(2):
                grid = _box(best, 2 * step, 401 if case.k == 1 else 81)
                best = grid[np.argmax(_phi(case, grid, centre))]
                step = 4 * step / (400 if case.k == 1 else 80)
            out.append(best)
        case.cache["zstar"] = np.array(out)
    return case.cache["zstar"]


def _errors(case: GridCase) -> tuple[np.ndarray, np.ndarray]:
    """(Φ(z*) − Φ(z_near), δ) for every spacing × point."""
    zstar, R = _maximisers(case), _radius(case)
    errors, deltas = [], []
    for fraction in case.spacings_over_radius:
        h = fraction * R
        for x, z in zip(case.points, zstar):
            centre = case.A @ x
            near = centre + h * np.round((z - centre) / h)
            errors.append(float(_phi(case, z, centre) - _phi(case, near, centre)))
            deltas.append(h * math.sqrt(case.k) / 2)
    return np.array(errors), np.array(deltas)


# ---------------------------------------------------------------- steps
def _lift(case: GridCase):
    rng = np.random.default_rng(24)
    z = (case.A @ case.points.T).T + rng.normal(size=(len(case.points), case.k)) * 2
    y = case.points + (case.A.T @ _metric(case) @ (z - (case.A @ case.points.T).T).T).T
    return z, y


def _lift_feasible(instance):
    case = instance.payload
    z, y = _lift(case)
    return Sides((case.A @ y.T).T, z, 1e-10)


def _lift_cost(instance, identity: bool = False):
    case = instance.payload
    z, y = _lift(case)
    diff = z - (case.A @ case.points.T).T
    metric = np.eye(case.k) if identity else _metric(case)
    return Sides(((y - case.points) ** 2).sum(1), np.einsum("ni,ij,nj->n", diff, metric, diff), 1e-10)


def _lift_minimal(instance):
    case = instance.payload
    z, y = _lift(case)
    _, _, vt = np.linalg.svd(case.A)
    null = vt[case.k:]
    if null.shape[0] == 0:
        return None
    v = np.random.default_rng(25).normal(size=(len(y), null.shape[0])) @ null
    return Sides(((y - case.points) ** 2).sum(1), ((y + v - case.points) ** 2).sum(1), 1e-10)


def _metric_eigen(instance):
    case = instance.payload
    return Sides(float(np.linalg.eigvalsh(_metric(case)).min()), 1 / float(np.linalg.norm(case.A, 2)) ** 2, 1e-12)


def _radius_step(instance, window: float | None = None):
    case = instance.payload
    zstar = _maximisers(case)
    distance = np.linalg.norm(zstar - (case.A @ case.points.T).T, axis=1)
    bound = window if window is not None else _radius(case)
    return Sides(distance, np.full(distance.shape, bound), 1e-6)


def _first_order(instance):
    case = instance.payload
    errors, deltas = _errors(case)
    pen = case.lam * float(np.linalg.norm(_metric(case), 2)) * (_radius(case) + deltas)
    return Sides(errors, (case.lipschitz + pen) * deltas, 1e-9)


def _hessian_bound(instance):
    case = instance.payload
    if case.period:
        axes = [np.linspace(0, p, 301) for p in case.period]
        z = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, case.k)
    else:                        # not periodic: the reachable boxes around every Ax
        z = np.concatenate([_box(case.A @ x, _radius(case) + 1, 2001 if case.k == 1 else 201) for x in case.points])
    norms = np.linalg.norm(case.hessian(z), ord=2, axis=(-2, -1))
    return Sides(float(norms.max()), case.hessian_bound, 1e-12)


def _second_order(instance):
    case = instance.payload
    errors, deltas = _errors(case)
    curvature = case.hessian_bound + case.lam * float(np.linalg.norm(_metric(case), 2))
    return Sides(errors, 0.5 * curvature * deltas**2, 1e-9)


def _steps(lift_cost=_lift_cost, radius=_radius_step) -> tuple[Step, ...]:
    h, k = sympy.symbols("h k", positive=True)
    return (
        Step("lift_feasible", r"y=x+A^\top M(z-Ax) \Rightarrow Ay=z", "=", "algebra", numeric=_lift_feasible),
        Step("lift_cost", r"\|y-x\|^2 = (z-Ax)^\top M(z-Ax),\ M=(AA^\top)^{-1}", "=", "algebra", numeric=lift_cost),
        Step("lift_minimal", r"\|y-x\|^2 \le \|y+v-x\|^2,\ v\in\ker A", "≤", "algebra", numeric=_lift_minimal,
             text="$y-x$ lies in the row space of $A$, orthogonal to $\\ker A$."),
        Step("metric_eigen", r"\lambda_{\min}(M) = 1/\|A\|_2^2", "=", "identity", numeric=_metric_eigen),
        Step("radius", r"\|z^*-Ax\| \le R = 2L\|A\|^2/\lambda", "≤", "Cauchy–Schwarz", numeric=radius,
             text="$\\Phi(z^*)\\ge\\Phi(Ax)$ gives $\\tfrac\\lambda2\\lambda_{\\min}(M)\\rho^2\\le L\\rho$."),
        Step("nearest_grid", r"\min_{g\in\text{grid}}\|z^*-g\| \le \sqrt{k(h/2)^2} = h\sqrt k/2 = \delta", "=", "algebra",
             lhs=sympy.sqrt(k * (h / 2) ** 2), rhs=h * sympy.sqrt(k) / 2),
        Step("first_order_error", r"\Phi(z^*)-\Phi(z_{\mathrm{near}}) \le \big(L+\lambda\|M\|(R+\delta)\big)\delta", "≤",
             "monotonicity", numeric=_first_order, text="$\\Phi$ is Lipschitz on the ball of radius $R+\\delta$."),
        Step("hessian_bound", r"\|\nabla^2 f\|_2 \le H_f", "≤", "hypothesis", numeric=_hessian_bound),
        Step("second_order_error", r"\Phi(z^*)-\Phi(z_{\mathrm{near}}) \le \tfrac12(H_f+\lambda\|M\|)\delta^2", "≤", "calculus",
             numeric=_second_order, text="Taylor at the interior maximiser, where $\\nabla\\Phi(z^*)=0$."),
    )


# ---------------------------------------------------------------- instances
def _bump_hessian(z):
    s = z[..., 0]
    u = s - 2.5
    return (-4 * np.sin(2 * s) + 3 * np.exp(-u * u) * (4 * u * u - 2))[..., None, None]


def _wave_hessian(z):
    a, b = z[..., 0], z[..., 1]
    h11 = -2 * np.sin(a) * np.cos(1.5 * b)
    h22 = -4.5 * np.sin(a) * np.cos(1.5 * b)
    h12 = -3 * np.cos(a) * np.sin(1.5 * b)
    return np.stack([np.stack([h11, h12], -1), np.stack([h12, h22], -1)], -2)


@lru_cache(maxsize=None)
def _registered() -> tuple[ProofInstance, ...]:
    from theorems.prox_grid_error import (BUMP_LIPSCHITZ, WAVE_HESSIAN, WAVE_LIPSCHITZ, _bump_numpy, _wave_numpy,
                                          bump_instance, wave_instance)

    reward, lam_value, x = bump_instance()
    bump = GridCase(reward.A, _bump_numpy, _bump_hessian, BUMP_LIPSCHITZ, BUMP_HESSIAN, lam_value, x.numpy(),
                    period=())
    reward2, lam2, x2 = wave_instance()
    wave = GridCase(reward2.A, _wave_numpy, _wave_hessian, WAVE_LIPSCHITZ, WAVE_HESSIAN, lam2, x2.numpy(),
                    period=(2 * math.pi, 4 * math.pi / 3))
    return (ProofInstance("sine-bump-d3-k1/lam=1", {"lambda": lam_value, "k": 1}, bump),
            ProofInstance("wave-d5-k2/lam=1.5", {"lambda": lam2, "k": 2}, wave))


def _strategy():
    from hypothesis import strategies as st

    def build(d, amplitude, omega, slope, lam, seed):
        rng = np.random.default_rng(seed)
        A = rng.normal(size=(1, d))
        A *= rng.uniform(0.5, 1.5) / np.linalg.norm(A)
        f = lambda z: amplitude * np.sin(omega * z[..., 0]) + slope * z[..., 0]
        hessian = lambda z: (-amplitude * omega**2 * np.sin(omega * z[..., 0]))[..., None, None]
        case = GridCase(A, f, hessian, abs(amplitude) * omega + abs(slope), abs(amplitude) * omega**2, lam,
                        rng.normal(size=(3, d)) * 2, period=(2 * math.pi / omega,))
        return ProofInstance(f"sine-d{d}/a={amplitude:.3g},w={omega:.3g},c={slope:.3g},lam={lam:.3g},seed={seed}",
                             {"lambda": lam, "k": 1}, case)
    return st.builds(build, st.integers(2, 3), st.floats(-2.0, 2.0).filter(lambda a: abs(a) > 0.05),
                     st.floats(0.5, 3.0), st.floats(-0.5, 0.5), st.floats(0.5, 2.0), st.integers(0, 2**16))


def proofs() -> list[Proof]:
    identity = _steps(lift_cost=lambda inst: _lift_cost(inst, identity=True))[1]
    identity = Step(identity.name, r"\|y-x\|^2 = \|z-Ax\|^2", "=", identity.justification, numeric=identity.numeric)
    window = _steps(radius=lambda inst: _radius_step(inst, window=1.0))[4]
    window = Step(window.name, r"\|z^*-Ax\| \le 1", "≤", window.justification, numeric=window.numeric)
    return [Proof(
        id="w1b.grid_reduction", theorem="W1b", title="grid reduction of the prox of f(Ay): radius, O(h) and O(h²) error",
        statement=r"\max_y f(Ay)-\tfrac\lambda2\|y-x\|^2 = \max_z\Phi(z),\ \|z^*-Ax\|\le\tfrac{2L\|A\|^2}{\lambda},\ \text{error}(h)\le\min\big((L+L_{\mathrm{pen}})\delta,\ \tfrac12(H_f+\lambda\|M\|)\delta^2\big)",
        steps=_steps(), instances=lambda: list(_registered()), strategy=_strategy,
        hypotheses=(r"$A\in\mathbb R^{k\times d}$ of full row rank", r"$f$ $L$-Lipschitz with $\|\nabla^2f\|_2\le H_f$",
                    r"cost $\tfrac12\|x-y\|^2$"),
        source="theorems/prox_grid_error.py (module docstring)",
        wrong_steps=(
            WrongStep("identity-metric", "lift_cost", identity, "‖z − Ax‖² in place of (z − Ax)ᵀ(AAᵀ)⁻¹(z − Ax)",
                      instance="sine-bump-d3-k1/lam=1"),
            WrongStep("local-window", "radius", window, "a local window of radius 1 in place of R = 2L‖A‖²/λ",
                      instance="sine-bump-d3-k1/lam=1"),
        ))]
