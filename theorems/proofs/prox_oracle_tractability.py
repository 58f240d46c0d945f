"""W1a, W1c and W1d proofs as data (issue 22; ``theorems.prox_oracle_tractability``).

**W1a** (``r = −½yᵀQy + bᵀy``, Q ⪰ 0, cost ½‖y − x‖², ``Φ_x(y) = r(y) − (λ/2)‖y − x‖²``): ``hessian`` —
``λ_max(−Q − λI) ≤ −λ`` (strong concavity); ``first_order`` — ``y = (Q + λI)⁻¹(λx + b)`` solves
``∇r(y) = λ(y − x)`` (symbolic, 2×2 generic Q); ``quadratic_gap`` — ``Φ(T) − Φ(y) = ½(y − T)ᵀ(Q + λI)(y − T)``;
``strong_gap`` — ``≥ (λ/2)‖y − T‖²`` (so a point with gap g is within √(2g/λ) of T); ``pushforward_mean`` /
``pushforward_cov`` — T is affine, ``T_#N(μ, Σ) = N(M(λμ + b), λ²MΣM)``; ``brenier`` — ``W₂²(p, T_#p) =
E‖T(X) − X‖²`` (λM symmetric positive definite: T is the gradient of a convex function), POT's Bures–Wasserstein.

**W1c** (``r = ⟨b, y⟩``, cost ‖y − x‖): ``cauchy_schwarz`` — ``⟨b, y − x⟩ ≤ ‖b‖‖y − x‖``; ``objective_drop`` —
``Φ(y) − Φ(x) ≤ −(λ − ‖b‖)‖y − x‖``; ``stay`` — for ‖b‖ < λ no y beats x; ``ray`` — along ``u = b/‖b‖``,
``Φ(x + tu) − Φ(x) = t(‖b‖ − λ)`` (unbounded when ‖b‖ > λ; symbolic).

**W1d** (``p = N(μ, Σ)``, ``r = ⟨b, x⟩``): ``kl_tilt`` — completing the square, ``q_KL = N(μ + Σb/λ, Σ)``
(symbolic, 1-D; and the law's tilt on the instance); ``w_map`` — ``T(x) = x + b/λ`` (symbolic first-order
condition); ``w2_equal_cov`` — ``W₂(N(m₁, Σ), N(m₂, Σ)) = ‖m₁ − m₂‖`` (POT); ``mean_gap`` — ``= ‖(Σ − I)b‖/λ``;
``kl_gap`` / ``w_gap`` — each law wins its own objective by ``½(b − Σb)ᵀΣ⁻¹(b − Σb)/λ`` and ``‖(Σ − I)b‖²/(2λ)``
(direct evaluation of the objectives, POT's W₂ for the transport term).

Instances: the registered ones (``concave-quadratic-gauss-d4/lam=0.7``, ``gauss-d3/norm_b=0.6lam`` and
``=1.5lam``, ``gauss-linear-d3/lam=1``); the search draws Q, b, λ, μ, Σ in d ∈ {2, 3}. Wrong steps: the closed
form without λ on x (``(Q + λI)⁻¹(x + b)``, the module's mutant) in ``first_order`` — killed symbolically and on
the instance; the quadratic-cost map ``x + b/λ`` claimed optimal under the W1 cost (``stay``); and the W₂
between the laws as ``‖(Σ^{1/2} − I)b‖/λ`` (``mean_gap``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

from tiltproof.proofs.checkers import at_worst_point
from tiltproof.proofs.model import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs"]


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    factor = rng.normal(size=(d, d))
    return factor @ factor.T / d + 0.4 * np.eye(d)


@dataclass(frozen=True, eq=False)
class QuadCase:
    Q: np.ndarray
    b: np.ndarray
    lam: float
    mean: np.ndarray
    cov: np.ndarray
    points: np.ndarray      # x's
    others: np.ndarray      # y's


def _T(case: QuadCase, x: np.ndarray, missing_lambda: bool = False) -> np.ndarray:
    system = case.Q + case.lam * np.eye(case.Q.shape[0])
    rhs = (x if missing_lambda else case.lam * x) + case.b
    return np.linalg.solve(system, rhs.T).T


def _phi(case: QuadCase, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return -0.5 * np.einsum("ni,ij,nj->n", y, case.Q, y) + y @ case.b - 0.5 * case.lam * ((y - x) ** 2).sum(1)


# ---------------------------------------------------------------- W1a steps
def _hessian(instance):
    case = instance.payload
    top = float(np.linalg.eigvalsh(-case.Q - case.lam * np.eye(case.Q.shape[0])).max())
    return Sides(top, -case.lam, 1e-12 * (1 + np.abs(case.Q).max()))


def _first_order(instance, missing_lambda: bool = False):
    case = instance.payload
    x = case.points
    y = _T(case, x, missing_lambda)
    gradient = -y @ case.Q + case.b
    return Sides(gradient, case.lam * (y - x), 1e-10 * (1 + float(np.abs(gradient).max())))


def _quadratic_gap(instance):
    case = instance.payload
    x, y = case.points, case.others
    t = _T(case, x)
    lhs = _phi(case, t, x) - _phi(case, y, x)
    system = case.Q + case.lam * np.eye(case.Q.shape[0])
    rhs = 0.5 * np.einsum("ni,ij,nj->n", y - t, system, y - t)
    return Sides(lhs, rhs, 1e-10 * (1 + float(np.abs(rhs).max())))


def _strong_gap(instance):
    case = instance.payload
    x, y = case.points, case.others
    t = _T(case, x)
    return Sides(_phi(case, t, x) - _phi(case, y, x), 0.5 * case.lam * ((y - t) ** 2).sum(1), 1e-10)


def _pushforward(instance, which: str):
    case = instance.payload
    M = np.linalg.inv(case.Q + case.lam * np.eye(case.Q.shape[0]))
    if which == "mean":
        return Sides(_T(case, case.mean[None])[0], M @ (case.lam * case.mean + case.b), 1e-10)
    linear = case.lam * M                            # T(x) = λMx + Mb
    return Sides(linear @ case.cov @ linear.T, case.lam**2 * M @ case.cov @ M, 1e-10)


def _brenier(instance):
    import ot

    case = instance.payload
    M = np.linalg.inv(case.Q + case.lam * np.eye(case.Q.shape[0]))
    mean_w, cov_w = M @ (case.lam * case.mean + case.b), case.lam**2 * M @ case.cov @ M
    linear = case.lam * M - np.eye(case.Q.shape[0])
    cost = float(np.sum((linear @ case.mean + M @ case.b) ** 2) + np.trace(linear @ case.cov @ linear.T))
    bures = float(ot.gaussian.bures_wasserstein_distance(case.mean, mean_w, case.cov, cov_w)) ** 2
    return Sides(bures, cost, 1e-7 * max(1.0, cost))


def _first_order_symbolic(missing_lambda: bool = False) -> tuple[sympy.Expr, sympy.Expr]:
    q11, q22 = sympy.symbols("q11 q22", positive=True)
    q12, b1, b2, x1, x2 = sympy.symbols("q12 b1 b2 x1 x2", real=True)
    lam = sympy.Symbol("lambda", positive=True)
    Q = sympy.Matrix([[q11, q12], [q12, q22]])
    b, x = sympy.Matrix([b1, b2]), sympy.Matrix([x1, x2])
    y = (Q + lam * sympy.eye(2)).inv() * ((x if missing_lambda else lam * x) + b)
    residual = -Q * y + b - lam * (y - x)
    return sympy.together(residual[0]) ** 2 + sympy.together(residual[1]) ** 2, sympy.Integer(0)


def _w1a_steps(first_order=_first_order, missing_lambda: bool = False) -> tuple[Step, ...]:
    residual = _first_order_symbolic(missing_lambda)
    return (
        Step("hessian", r"\lambda_{\max}(\nabla^2\Phi_x) = \lambda_{\max}(-Q-\lambda I) \le -\lambda", "≤", "convexity",
             numeric=_hessian, text="$Q\\succeq0$: the objective is $\\lambda$-strongly concave, $T(x)$ is unique."),
        Step("first_order", r"y=(Q+\lambda I)^{-1}(\lambda x+b) \Rightarrow \nabla r(y) = \lambda(y-x)", "=", "algebra",
             lhs=residual[0], rhs=residual[1], numeric=at_worst_point("=", first_order),
             domain={"q11": (0.1, 2.0), "q22": (0.1, 2.0), "q12": (-0.05, 0.05), "b1": (-1.0, 1.0), "b2": (-1.0, 1.0),
                     "x1": (-1.0, 1.0), "x2": (-1.0, 1.0), "lambda": (0.1, 2.0)}),
        Step("quadratic_gap", r"\Phi_x(T(x))-\Phi_x(y) = \tfrac12(y-T(x))^\top(Q+\lambda I)(y-T(x))", "=", "calculus",
             numeric=_quadratic_gap, text="A quadratic with zero gradient at $T(x)$."),
        Step("strong_gap", r"\Phi_x(T(x))-\Phi_x(y) \ge \tfrac\lambda2\|y-T(x)\|^2", "≥", "convexity", numeric=_strong_gap,
             text="So a point whose value is within $g$ of the optimum is within $\\sqrt{2g/\\lambda}$ of $T(x)$."),
        Step("pushforward_mean", r"\mathbb E\,T(X) = M(\lambda\mu+b),\ M=(Q+\lambda I)^{-1}", "=", "algebra",
             numeric=lambda inst: _pushforward(inst, "mean")),
        Step("pushforward_cov", r"\mathrm{Cov}\,T(X) = (\lambda M)\Sigma(\lambda M)^\top = \lambda^2M\Sigma M", "=", "algebra",
             numeric=lambda inst: _pushforward(inst, "cov")),
        Step("brenier", r"W_2^2(p, T_\#p) = \mathbb E\|T(X)-X\|^2", "=", "coupling", numeric=_brenier,
             text="$T(x)=\\lambda Mx+Mb$ with $\\lambda M$ symmetric positive definite is the gradient of a convex function."),
    )


@lru_cache(maxsize=None)
def _w1a_registered() -> ProofInstance:
    from theorems.prox_oracle_tractability import quadratic_instance

    base, reward, lam_value = quadratic_instance()
    rng = np.random.default_rng(22)
    d = reward.Q.shape[0]
    case = QuadCase(reward.Q, reward.b, lam_value, base.mean.numpy(), base.cov.numpy(), rng.normal(size=(12, d)),
                    rng.normal(size=(12, d)) * 2)
    # The same Q, b as w1a.closed_form_vs_cvxpy's concave-quadratic-d4: the first-order and gap steps need no p.
    return ProofInstance("concave-quadratic-gauss-d4/lam=0.7", {"lambda": lam_value}, case,
                         covers=("concave-quadratic-d4",))


def _w1a_strategy():
    from hypothesis import strategies as st

    def build(d, rank, lam, seed):
        rng = np.random.default_rng(seed)
        factor = rng.normal(size=(d, rank))
        case = QuadCase(factor @ factor.T / d, rng.normal(size=d), lam, rng.normal(size=d), _spd(rng, d),
                        rng.normal(size=(6, d)), rng.normal(size=(6, d)) * 2)
        return ProofInstance(f"quadratic-d{d}-rank{rank}/lam={lam:.3g},seed={seed}", {"lambda": lam}, case)
    return st.integers(2, 3).flatmap(lambda d: st.builds(build, st.just(d), st.integers(0, d), st.floats(0.1, 3.0),
                                                         st.integers(0, 2**16)))


# ---------------------------------------------------------------- W1c
@dataclass(frozen=True, eq=False)
class W1Case:
    b: np.ndarray
    lam: float
    points: np.ndarray
    others: np.ndarray


def _w1_phi(case: W1Case, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return y @ case.b - case.lam * np.linalg.norm(y - x, axis=-1)


def _cauchy(instance):
    c = instance.payload
    delta = c.others - c.points
    return Sides(delta @ c.b, np.linalg.norm(c.b) * np.linalg.norm(delta, axis=1), 1e-12)


def _drop(instance):
    c = instance.payload
    return Sides(_w1_phi(c, c.others, c.points) - _w1_phi(c, c.points, c.points),
                 -(c.lam - np.linalg.norm(c.b)) * np.linalg.norm(c.others - c.points, axis=1), 1e-12)


def _stay(instance, sq_formula: bool = False):
    c = instance.payload
    if np.linalg.norm(c.b) >= c.lam:
        return None
    claimed = c.points + c.b / c.lam if sq_formula else c.points
    # competitors: the drawn y's and x itself (x + b/λ must beat x if it were optimal)
    ys, xs = np.concatenate([c.others, c.points]), np.concatenate([c.points, c.points])
    return Sides(_w1_phi(c, ys, xs), _w1_phi(c, np.concatenate([claimed, claimed]), xs), 1e-12)


def _ray(instance):
    c = instance.payload
    u = c.b / np.linalg.norm(c.b)
    t = np.array([0.5, 3.0, 1e3, 1e6])
    x = c.points[0]
    ys = x + t[:, None] * u
    return Sides(_w1_phi(c, ys, x[None]) - _w1_phi(c, x[None], x[None]), t * (np.linalg.norm(c.b) - c.lam),
                 1e-9 * float(t.max()))


def _ray_symbolic() -> tuple[sympy.Expr, sympy.Expr]:
    t, nb, lam = sympy.symbols("t norm_b lambda", positive=True)
    # Φ(x + tu) − Φ(x) with u = b/‖b‖: ⟨b, tu⟩ − λ‖tu‖ = t‖b‖²/‖b‖ − λt
    return t * nb**2 / nb - lam * t, t * (nb - lam)


def _w1c_steps(stay=_stay) -> tuple[Step, ...]:
    ray = _ray_symbolic()
    return (
        Step("cauchy_schwarz", r"\langle b, y-x\rangle \le \|b\|\|y-x\|", "≤", "Cauchy–Schwarz", numeric=_cauchy),
        Step("objective_drop", r"\Phi_x(y)-\Phi_x(x) \le -(\lambda-\|b\|)\|y-x\|", "≤", "monotonicity", numeric=_drop),
        Step("stay", r"\|b\|<\lambda \Rightarrow \Phi_x(y) \le \Phi_x(x)\ \forall y \quad (T(x)=x)", "≤", "monotonicity",
             numeric=stay),
        Step("ray", r"\Phi_x(x+tb/\|b\|)-\Phi_x(x) = t(\|b\|-\lambda) \to \infty \text{ if } \|b\|>\lambda", "=", "algebra",
             lhs=ray[0], rhs=ray[1], numeric=_ray),
    )


@lru_cache(maxsize=None)
def _w1c_registered() -> tuple[ProofInstance, ...]:
    from theorems.prox_oracle_tractability import _w1_instance

    out = []
    for ratio in (0.6, 1.5):
        base, reward, lam_value = _w1_instance(ratio)
        rng = np.random.default_rng(23)
        x = base.sample(10, __import__("torch").Generator().manual_seed(5)).numpy()
        out.append(ProofInstance(f"gauss-d3/norm_b={ratio:g}lam", {"lambda": lam_value, "norm_b": ratio * lam_value},
                                 W1Case(reward.theta, lam_value, x, x + rng.normal(size=x.shape) * 2)))
    return tuple(out)


def _w1c_strategy():
    from hypothesis import strategies as st

    def build(d, ratio, lam, seed):
        rng = np.random.default_rng(seed)
        b = rng.normal(size=d)
        b *= ratio * lam / np.linalg.norm(b)
        x = rng.normal(size=(6, d))
        return ProofInstance(f"linear-d{d}/norm_b={ratio:.3g}lam,lam={lam:.3g},seed={seed}",
                             {"lambda": lam, "norm_b": ratio * lam}, W1Case(b, lam, x, x + rng.normal(size=(6, d)) * 2))
    return st.builds(build, st.integers(1, 4), st.floats(0.05, 3.0), st.floats(0.2, 3.0), st.integers(0, 2**16))


# ---------------------------------------------------------------- W1d
@dataclass(frozen=True, eq=False)
class SideCase:
    mean: np.ndarray
    cov: np.ndarray
    b: np.ndarray
    lam: float


def _laws(c: SideCase):
    return c.mean + c.cov @ c.b / c.lam, c.mean + c.b / c.lam


def _kl_tilt(instance):
    from primitives.laws import Gaussian

    c = instance.payload
    tilted = Gaussian(c.mean, c.cov).tilt(c.b / c.lam)
    return Sides(np.concatenate([tilted.mean.numpy(), tilted.cov.numpy().ravel()]),
                 np.concatenate([_laws(c)[0], c.cov.ravel()]), 1e-10)


def _w2_equal_cov(instance):
    import ot

    c = instance.payload
    m_kl, m_w = _laws(c)
    return Sides(float(ot.gaussian.bures_wasserstein_distance(m_kl, m_w, c.cov, c.cov)), float(np.linalg.norm(m_kl - m_w)),
                 1e-7)


def _mean_gap(instance, root: bool = False):
    c = instance.payload
    m_kl, m_w = _laws(c)
    if root:
        values, vectors = np.linalg.eigh(c.cov)
        matrix = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    else:
        matrix = c.cov
    return Sides(float(np.linalg.norm(m_kl - m_w)), float(np.linalg.norm((matrix - np.eye(len(c.b))) @ c.b)) / c.lam, 1e-12)


def _kl_gap(instance):
    c = instance.payload
    m_kl, m_w = _laws(c)
    precision = np.linalg.inv(c.cov)
    value = lambda m: float(c.b @ m - c.lam * 0.5 * (m - c.mean) @ precision @ (m - c.mean))   # E r − λKL
    diff = c.b - c.cov @ c.b
    return Sides(value(m_kl) - value(m_w), 0.5 * diff @ precision @ diff / c.lam, 1e-9 * (1 + abs(value(m_kl))))


def _w_gap(instance):
    import ot

    c = instance.payload
    m_kl, m_w = _laws(c)
    value = lambda m: float(c.b @ m - c.lam * 0.5 * float(ot.gaussian.bures_wasserstein_distance(c.mean, m, c.cov, c.cov)) ** 2)
    return Sides(value(m_w) - value(m_kl), float(np.linalg.norm((c.cov - np.eye(len(c.b))) @ c.b)) ** 2 / (2 * c.lam),
                 1e-7 * (1 + abs(value(m_w))))


def _w1d_symbolic():
    x, mu, b = sympy.symbols("x mu b", real=True)
    s, lam = sympy.symbols("s lambda", positive=True)
    tilt = (b * x / lam - (x - mu) ** 2 / (2 * s), -(x - mu - s * b / lam) ** 2 / (2 * s) + b * mu / lam + s * b**2 / (2 * lam**2))
    y = x + b / lam
    fo = (b - lam * (y - x), sympy.Integer(0))
    return tilt, fo


def _w1d_steps(mean_gap=_mean_gap) -> tuple[Step, ...]:
    tilt, fo = _w1d_symbolic()
    return (
        Step("kl_tilt", r"q_{KL}\propto \mathcal N(\mu,\Sigma)e^{\langle b,x\rangle/\lambda} = \mathcal N(\mu+\Sigma b/\lambda,\Sigma)",
             "=", "algebra", lhs=tilt[0], rhs=tilt[1], numeric=_kl_tilt,
             text="Completing the square (shown per coordinate of the eigenbasis)."),
        Step("w_map", r"\nabla_y(\langle b,y\rangle-\tfrac\lambda2\|y-x\|^2)\big|_{y=x+b/\lambda} = 0", "=", "calculus",
             lhs=fo[0], rhs=fo[1], text="So $q_W=\\mathcal N(\\mu+b/\\lambda,\\Sigma)$."),
        Step("w2_equal_cov", r"W_2(\mathcal N(m_1,\Sigma),\mathcal N(m_2,\Sigma)) = \|m_1-m_2\|", "=", "coupling",
             numeric=_w2_equal_cov),
        Step("mean_gap", r"\|m_{KL}-m_W\| = \|(\Sigma-I)b\|/\lambda", "=", "algebra", numeric=mean_gap),
        Step("kl_gap", r"V_{KL}(q_{KL})-V_{KL}(q_W) = \tfrac{(b-\Sigma b)^\top\Sigma^{-1}(b-\Sigma b)}{2\lambda}", "=",
             "algebra", numeric=_kl_gap),
        Step("w_gap", r"V_W(q_W)-V_W(q_{KL}) = \tfrac{\|(\Sigma-I)b\|^2}{2\lambda}", "=", "algebra", numeric=_w_gap),
    )


def _w1d_registered() -> list[ProofInstance]:
    from theorems.prox_oracle_tractability import side_by_side_instance

    base, reward, lam_value = side_by_side_instance()
    return [ProofInstance("gauss-linear-d3/lam=1", {"lambda": lam_value},
                          SideCase(base.mean.numpy(), base.cov.numpy(), reward.theta, lam_value))]


def _w1d_strategy():
    from hypothesis import strategies as st

    def build(d, lam, seed):
        rng = np.random.default_rng(seed)
        case = SideCase(rng.normal(size=d), _spd(rng, d), rng.normal(size=d), lam)
        return ProofInstance(f"gauss-linear-d{d}/lam={lam:.3g},seed={seed}", {"lambda": lam}, case)
    return st.builds(build, st.integers(1, 4), st.floats(0.2, 3.0), st.integers(0, 2**16))


def proofs() -> list[Proof]:
    missing = _w1a_steps(first_order=lambda inst: _first_order(inst, missing_lambda=True), missing_lambda=True)[1]
    sq_stay = _w1c_steps(stay=lambda inst: _stay(inst, sq_formula=True))[2]
    sq_stay = Step(sq_stay.name, r"\Phi_x(y) \le \Phi_x(x+b/\lambda)\ \forall y", sq_stay.relation, sq_stay.justification,
                   numeric=sq_stay.numeric)
    root = _w1d_steps(mean_gap=lambda inst: _mean_gap(inst, root=True))[3]
    root = Step(root.name, r"\|m_{KL}-m_W\| = \|(\Sigma^{1/2}-I)b\|/\lambda", "=", root.justification, numeric=root.numeric)
    return [
        Proof(id="w1a.concave_quadratic", theorem="W1a", title="concave reward, quadratic cost: closed form and pushforward",
              statement=r"T(x)=(Q+\lambda I)^{-1}(\lambda x+b),\ T_\#\mathcal N(\mu,\Sigma)=\mathcal N(M(\lambda\mu+b),\lambda^2M\Sigma M),\ \|T(x)-y\|\le\sqrt{2g/\lambda}",
              steps=_w1a_steps(), instances=lambda: [_w1a_registered()], strategy=_w1a_strategy,
              hypotheses=(r"$Q\succeq0$, $\lambda>0$", r"cost $\tfrac12\|x-y\|^2$"),
              source="theorems/prox_oracle_tractability.py, primitives/prox.py (docstrings)",
              wrong_steps=(WrongStep("missing-lambda", "first_order", missing, "T(x) = (Q + λI)⁻¹(x + b): λ dropped on x",
                                     instance="concave-quadratic-gauss-d4/lam=0.7"),)),
        Proof(id="w1c.w1_linear", theorem="W1c", title="W1 cost with a linear reward: stay or unbounded",
              statement=r"c=\|x-y\|,\ r=\langle b,y\rangle:\ \|b\|<\lambda\Rightarrow T(x)=x;\ \|b\|>\lambda\Rightarrow\sup_y\Phi_x(y)=+\infty",
              steps=_w1c_steps(), instances=lambda: list(_w1c_registered()), strategy=_w1c_strategy,
              hypotheses=(r"cost $\|x-y\|$", r"$r=\langle b,y\rangle$, $b\ne0$"),
              source="theorems/prox_oracle_tractability.py (module docstring)",
              wrong_steps=(WrongStep("sq-formula", "stay", sq_stay, "the quadratic-cost map x + b/λ claimed optimal",
                                     instance="gauss-d3/norm_b=0.6lam"),),
              uncovered={"various": "w1c.nonconcave_refused checks that the oracle refuses inputs outside the "
                                    "theorem's hypotheses (a convex quadratic, a convex cvxpy expression, a wiggly "
                                    "f(Ay), a wrong dimension): software behaviour, no inequality to prove"}),
        Proof(id="w1d.laws_differ", theorem="W1d", title="the KL and Wasserstein laws differ, each wins its objective",
              statement=r"q_{KL}=\mathcal N(\mu+\Sigma b/\lambda,\Sigma),\ q_W=\mathcal N(\mu+b/\lambda,\Sigma),\ W_2(q_{KL},q_W)=\|(\Sigma-I)b\|/\lambda",
              steps=_w1d_steps(), instances=_w1d_registered, strategy=_w1d_strategy,
              hypotheses=(r"$p=\mathcal N(\mu,\Sigma)$", r"$r=\langle b,x\rangle$", r"cost $\tfrac12\|x-y\|^2$"),
              source="theorems/prox_oracle_tractability.py (module docstring)",
              wrong_steps=(WrongStep("root-formula", "mean_gap", root, "‖(Σ^{1/2} − I)b‖/λ for ‖(Σ − I)b‖/λ",
                                     instance="gauss-linear-d3/lam=1"),)),
    ]
