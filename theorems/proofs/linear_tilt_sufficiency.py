"""L1a's proof as data (issue 22): KL alignment by planes is exact for convex low-dimensional rewards, and planes
valid only on K cost at most ``q_KL(Ax ∉ K)`` in TV (``theorems.linear_tilt_sufficiency``, ``theorems.kl_net_clipping``).

Planes ``ℓ_i(z) = g_i z + c_i`` of ``f`` along ``s = ⟨a, x⟩``, ``S = Σ_i e^{ℓ_i/λ}``, ``W_i = E_p e^{ℓ_i/λ}``, clip weight
``w = min(1, S e^{−(f−ε)/λ})``. Steps:

1. ``minorant`` — ``max_i ℓ_i ≤ f`` (subgradient inequality; on a grid of s, or the support);
2. ``cover_gap`` — ``f − max_i ℓ_i ≤ ε`` on K (hypothesis);
3. ``plane_weight`` — ``W_i = e^{c_i/λ}Z(a g_i/λ)``: ridge quadrature of ``E_p e^{ℓ_i(s)/λ}`` against the base's
   closed-form log-partition (enumeration for the finite law);
4. ``proposal_density`` — ``Σ_i (W_i/ΣW) p_{θ_i} = p·S/ΣW`` (symbolic, two planes);
5. ``acceptance_le_one`` — ``(f − ε)/λ − log S ≤ 0`` on K, so the acceptance ``e^{(f−ε)/λ}/S`` is a probability
   and the output density is ``∝ p·min(S, e^{(f−ε)/λ}) = q·w·const``;
6. ``exact_tv`` — when K is all of ℝ^k: ``TV(output, q_KL) = ½E_q|w/E_q w − 1| = 0``;
7. ``clip_tv_identity`` — ``½E_q|w/E_q w − 1| = E_q(1 − w/E_q w)_+``;
8. ``clip_drop_normaliser`` — ``E_q(1 − w/E_q w)_+ ≤ 1 − E_q w`` (``E_q w ≤ 1``);
9. ``clip_outside`` — ``1 − E_q w ≤ q(K^c)`` (w = 1 on K, w ≥ 0).

Instances: the four registered exactness instances (|⟨a,x⟩| on ℝ⁵, the hinge on a mixture, log-sum-exp pieces in
k = 2, the 12-point law) and ``convex-net-gauss-d3`` (clipping), with the modules' exact laws (ridge quadrature,
enumeration); the search draws 1-D ridge instances (a Gaussian projection, a max of random planes, or tangent
planes of a smooth convex f valid on a window K). Wrong steps: the acceptance without the ε shift
(``e^{f/λ}/S ≤ 1``, killed on the log-sum-exp instance) and the clip bound with ``q(K)`` in place of ``q(K^c)``
killed on the net instance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np
import sympy
from scipy.special import logsumexp

from tiltproof.proofs.checkers import at_worst_point
from tiltproof.proofs.model import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "RidgeCase"]


@dataclass(frozen=True, eq=False)
class RidgeCase:
    """A reward ``f(⟨a, x⟩)`` covered by planes ``g_i s + c_i``, valid to ε on ``window`` (None: all of ℝ)."""

    base: object
    direction: np.ndarray
    f: Callable[[np.ndarray], np.ndarray]
    slopes: np.ndarray
    intercepts: np.ndarray
    epsilon: float
    lam: float
    slope_bound: float
    window: tuple[float, float] | None = None
    breakpoints: tuple[float, ...] = ()
    cache: dict = field(default_factory=dict)


def _log_s(case: RidgeCase, s: np.ndarray) -> np.ndarray:
    return logsumexp((np.asarray(s)[..., None] * case.slopes + case.intercepts) / case.lam, axis=-1)


def _planes_max(case: RidgeCase, s: np.ndarray) -> np.ndarray:
    return np.max(np.asarray(s)[..., None] * case.slopes + case.intercepts, axis=-1)


def _law(case: RidgeCase):
    if "law" not in case.cache:
        from estimators.exact.ridge_law import RidgeTiltedLaw

        edges = list(case.breakpoints) + (list(case.window) if case.window else [])
        case.cache["law"] = RidgeTiltedLaw(case.base, case.direction, lambda s: case.f(s) / case.lam,
                                           case.slope_bound / case.lam, breakpoints=edges)
    return case.cache["law"]


def _grid(case: RidgeCase, inside: bool) -> np.ndarray:
    if inside and case.window is not None:
        return np.linspace(case.window[0], case.window[1], 20_001)
    law = _law(case)
    return np.linspace(law.lo, law.hi, 40_001)


def _clip_quantities(case: RidgeCase) -> dict:
    if "clip" not in case.cache:
        law = _law(case)
        w = lambda s: np.exp(np.minimum(0.0, _log_s(case, s) - (case.f(s) - case.epsilon) / case.lam))
        mean, mean_err = law.expectation(w)
        half_abs, e1 = law.expectation(lambda s: 0.5 * np.abs(w(s) / mean - 1), bound=1 / mean)
        positive, e2 = law.expectation(lambda s: np.maximum(0.0, 1 - w(s) / mean), bound=1.0)
        if case.window is not None:
            inside, e3 = law.statistic_probability(*case.window)
        else:
            inside, e3 = 1.0, 0.0
        case.cache["clip"] = {"mean": mean, "tv": half_abs, "positive": positive, "outside": 1 - inside,
                              "error": mean_err / mean + e1 + e2 + e3 + 1e-12}
    return case.cache["clip"]


# ---------------------------------------------------------------- finite and log-sum-exp cases
@dataclass(frozen=True, eq=False)
class FiniteCase:
    probs: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray
    lam: float


@dataclass(frozen=True, eq=False)
class LseCase:
    A: np.ndarray
    V: np.ndarray
    offsets: np.ndarray
    tau: float
    lam: float


def _lse_grid(case: LseCase) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f, max ℓ, log S) on a grid of z ∈ [−8, 8]² (k = 2)."""
    axis = np.linspace(-8, 8, 401)
    z = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    pieces = z @ case.V.T + case.offsets
    f = case.tau * logsumexp(pieces / case.tau, axis=1)
    return f, pieces.max(1), logsumexp(pieces / case.lam, axis=1)


# ---------------------------------------------------------------- steps
def _minorant(instance):
    kind, case = instance.payload
    if kind == "ridge":
        s = _grid(case, inside=False)
        return Sides(_planes_max(case, s), case.f(s), 1e-12)
    if kind == "finite":
        s = np.arange(case.probs.size, dtype=float)
        values = s[:, None] * case.slopes + case.intercepts
        return Sides(values.max(1), values.max(1))
    f, top, _ = _lse_grid(case)
    return Sides(top, f, 1e-12)


def _cover_gap(instance):
    kind, case = instance.payload
    if kind == "ridge":
        s = _grid(case, inside=True)
        return Sides(case.f(s) - _planes_max(case, s), np.full(s.shape, case.epsilon), 1e-12)
    if kind == "lse":
        f, top, _ = _lse_grid(case)
        return Sides(f - top, np.full(f.shape, case.tau * math.log(case.V.shape[0])), 1e-12)
    return None


def _plane_weight(instance):
    kind, case = instance.payload
    if kind == "finite":
        s = np.arange(case.probs.size, dtype=float)
        lhs = logsumexp(np.log(case.probs)[:, None] + (s[:, None] * case.slopes + case.intercepts) / case.lam, axis=0)
        from primitives.laws import Categorical

        law = Categorical(case.probs)
        rhs = case.intercepts / case.lam + np.array([law.log_partition(g / case.lam) for g in case.slopes])
        return Sides(lhs, rhs, 1e-10)
    if kind != "ridge":
        return None
    from estimators.exact.ridge_law import RidgeTiltedLaw

    lhs, errors = [], []
    for g, c in zip(case.slopes, case.intercepts):
        law = RidgeTiltedLaw(case.base, case.direction, lambda s, g=g, c=c: (g * s + c) / case.lam, abs(g) / case.lam)
        lhs.append(law.log_normaliser)
        errors.append(law.relative_error)
    rhs = case.intercepts / case.lam + np.array([case.base.log_partition(case.direction * g / case.lam)
                                                 for g in case.slopes])
    return Sides(np.array(lhs), rhs, 2 * max(errors) + 1e-10)


def _acceptance(instance, shift: bool = True):
    kind, case = instance.payload
    if kind == "ridge":
        s = _grid(case, inside=True)
        f, log_s, eps = case.f(s), _log_s(case, s), case.epsilon
    elif kind == "lse":
        f, _, log_s = _lse_grid(case)
        eps = case.tau * math.log(case.V.shape[0])
    else:
        s = np.arange(case.probs.size, dtype=float)
        values = s[:, None] * case.slopes + case.intercepts
        f, log_s, eps = values.max(1), logsumexp(values / case.lam, axis=1), 0.0
    return Sides((f - (eps if shift else 0.0)) / case.lam - log_s, np.zeros_like(f), 1e-12)


def _exact_tv(instance):
    kind, case = instance.payload
    if kind == "ridge":
        if case.window is not None:
            return None
        clip = _clip_quantities(case)
        return Sides(clip["tv"], 0.0, clip["error"])
    sides = _acceptance(instance)     # w = 1 everywhere ⇔ (f − ε)/λ ≤ log S everywhere: the TV is 0
    return Sides(float(np.max(np.maximum(0.0, sides.lhs))), 0.0, 1e-12)


def _clip_identity(instance):
    kind, case = instance.payload
    if kind != "ridge":
        return None
    clip = _clip_quantities(case)
    return Sides(clip["tv"], clip["positive"], clip["error"])


def _clip_drop(instance):
    kind, case = instance.payload
    if kind != "ridge":
        return None
    clip = _clip_quantities(case)
    return Sides(clip["positive"], 1 - clip["mean"], clip["error"])


def _clip_outside(instance):
    kind, case = instance.payload
    if kind != "ridge":
        return None
    clip = _clip_quantities(case)
    return Sides(1 - clip["mean"], clip["outside"], clip["error"])


def _proposal_symbolic() -> tuple[sympy.Expr, sympy.Expr]:
    x, lam, p = sympy.symbols("x lambda p", positive=True)
    g = sympy.symbols("g1 g2", real=True)
    c = sympy.symbols("c1 c2", real=True)
    Z = sympy.symbols("Z1 Z2", positive=True)
    W = [sympy.exp(c[i] / lam) * Z[i] for i in range(2)]
    total = W[0] + W[1]
    lhs = sum(W[i] / total * p * sympy.exp(g[i] * x / lam) / Z[i] for i in range(2))
    rhs = p * sum(sympy.exp((g[i] * x + c[i]) / lam) for i in range(2)) / total
    return lhs, rhs


def _steps(acceptance=_acceptance, acceptance_latex=None) -> tuple[Step, ...]:
    lhs, rhs = _proposal_symbolic()
    return (
        Step("minorant", r"\max_i\ell_i \le f", "≤", "convexity", numeric=at_worst_point("≤", _minorant),
             text="Each plane is a tangent (a subgradient inequality) or a piece of $f$."),
        Step("cover_gap", r"f-\max_i\ell_i \le \varepsilon \text{ on } K", "≤", "hypothesis", numeric=at_worst_point("≤", _cover_gap)),
        Step("plane_weight", r"W_i = \mathbb E_p e^{\ell_i(Ax)/\lambda} = e^{c_i/\lambda}Z(A^\top g_i/\lambda)", "=",
             "definition", numeric=_plane_weight),
        Step("proposal_density", r"\sum_i\frac{W_i}{\sum_jW_j}p_{\theta_i}(x) = \frac{p(x)\sum_ie^{\ell_i(Ax)/\lambda}}{\sum_jW_j}",
             "=", "algebra", lhs=lhs, rhs=rhs, text="$p_\\theta = p\\,e^{\\langle\\theta,x\\rangle}/Z(\\theta)$ with $\\theta_i=A^\\top g_i/\\lambda$."),
        Step("acceptance_le_one", acceptance_latex or r"(f-\varepsilon)/\lambda - \log S \le 0 \text{ on } K", "≤",
             "monotonicity", numeric=at_worst_point("≤", acceptance),
             text="$S\\ge e^{\\max_i\\ell_i/\\lambda}\\ge e^{(f-\\varepsilon)/\\lambda}$ on $K$: the output is $\\propto p\\min(S,e^{(f-\\varepsilon)/\\lambda})$."),
        Step("exact_tv", r"K=\mathbb R^k:\ \mathrm{TV}(\text{output}, q_{KL}) = \tfrac12\mathbb E_q|w/\mathbb E_qw-1| = 0", "=",
             "definition", numeric=_exact_tv),
        Step("clip_tv_identity", r"\tfrac12\mathbb E_q|w/\mathbb E_qw-1| = \mathbb E_q(1-w/\mathbb E_qw)_+", "=", "definition",
             numeric=_clip_identity),
        Step("clip_drop_normaliser", r"\mathbb E_q(1-w/\mathbb E_qw)_+ \le 1-\mathbb E_qw", "≤", "monotonicity",
             numeric=_clip_drop, text="$\\mathbb E_qw\\le1$, so $w/\\mathbb E_qw\\ge w$."),
        Step("clip_outside", r"1-\mathbb E_qw \le q(K^c)", "≤", "monotonicity", numeric=_clip_outside,
             text="$w=1$ on $K$ and $w\\ge0$."),
    )


# ---------------------------------------------------------------- instances
def _ridge_from(base, reward, lam_value) -> RidgeCase:
    from theorems.linear_tilt_sufficiency import _planes_breakpoints

    G, c = reward.G[:, 0], reward.c
    f = lambda s: np.max(np.asarray(s)[..., None] * G + c, axis=-1)
    return RidgeCase(base, reward.A[0], f, G.copy(), c.copy(), 0.0, lam_value, float(np.abs(G).max()),
                     breakpoints=tuple(_planes_breakpoints(reward.G, c)))


@lru_cache(maxsize=None)
def _net_case() -> RidgeCase:
    from theorems.kl_net_clipping import NET_L, NET_RADIUS, NET_S0, f_of_s, net_cover, net_instance

    base, reward, lam_value = net_instance()
    cover = net_cover()
    return RidgeCase(base, reward.A[0], f_of_s, cover.slopes[:, 0].copy(), cover.intercepts.copy(), cover.epsilon,
                     lam_value, NET_L, window=(NET_S0 - NET_RADIUS, NET_S0 + NET_RADIUS))


@lru_cache(maxsize=None)
def _registered() -> tuple[ProofInstance, ...]:
    from theorems.linear_tilt_sufficiency import abs_instance, categorical_instance, hinge_instance, lse_instance

    out = []
    for name, builder in (("abs-linear-gauss-d5/lam=0.5", abs_instance), ("hinge-gmm-d3/lam=1", hinge_instance)):
        base, reward, lam_value = builder()
        out.append(ProofInstance(name, {"lambda": lam_value, "epsilon": 0.0}, ("ridge", _ridge_from(base, reward, lam_value))))
    base, reward, lam_value = lse_instance(False)
    out.append(ProofInstance("logsumexp-planes-gauss-d4/k=2,tau=1,lam=0.5", {"lambda": lam_value, "tau": reward.temperature},
                             ("lse", LseCase(reward.A, reward.V, reward.offsets, reward.temperature, lam_value))))
    base, reward, lam_value = categorical_instance()
    out.append(ProofInstance("hinge-categorical-k12/lam=0.7", {"lambda": lam_value, "epsilon": 0.0},
                             ("finite", FiniteCase(base.probs.numpy(), reward.G[:, 0].copy(), reward.c.copy(), lam_value))))
    net = _net_case()
    out.append(ProofInstance("convex-net-gauss-d3/eps=0.3,R=2.5", {"lambda": net.lam, "epsilon": net.epsilon},
                             ("ridge", net)))
    return tuple(out)


def _strategy():
    from hypothesis import strategies as st

    from primitives.laws import Gaussian

    def planes(mean, sd, lam, pieces):
        G = np.array([g for g, _ in pieces])
        c = np.array([c for _, c in pieces])
        f = lambda s: np.max(np.asarray(s)[..., None] * G + c, axis=-1)
        case = RidgeCase(Gaussian([mean], [[sd * sd]]), np.array([1.0]), f, G, c, 0.0, lam, float(np.abs(G).max()))
        return ProofInstance(f"planes/m={mean:.3g},sd={sd:.3g},lam={lam:.3g},J={len(G)}", {"lambda": lam}, ("ridge", case))

    def tangents(mean, sd, lam, L, C, radius, eps_slack):
        f = lambda s: L * C * (np.sqrt(1 + (np.asarray(s, float) / C) ** 2) - 1)
        slope = lambda s: L * (np.asarray(s, float) / C) / np.sqrt(1 + (np.asarray(s, float) / C) ** 2)
        points = np.array([-radius / 2, 0.0, radius / 2])
        G, c = slope(points), f(points) - slope(points) * points
        window = (-radius, radius)
        grid = np.linspace(*window, 20_001)
        gap = float((f(grid) - np.max(grid[:, None] * G + c, axis=1)).max())
        case = RidgeCase(Gaussian([mean], [[sd * sd]]), np.array([1.0]), f, G, c, gap + eps_slack, lam, L,
                         window=window)
        return ProofInstance(f"tangents/m={mean:.3g},sd={sd:.3g},lam={lam:.3g},L={L:.3g},C={C:.3g},R={radius:.3g}",
                             {"lambda": lam}, ("ridge", case))

    common = (st.floats(-1.0, 1.0), st.floats(0.5, 1.5), st.floats(0.5, 2.0))
    plane_lists = st.lists(st.tuples(st.floats(-2.0, 2.0), st.floats(-1.0, 1.0)), min_size=1, max_size=3)
    return st.one_of(st.builds(planes, *common, plane_lists),
                     st.builds(tangents, *common, st.floats(0.5, 2.0), st.floats(0.5, 3.0), st.floats(0.5, 3.0),
                               st.floats(0.0, 0.2)))


def proofs() -> list[Proof]:
    no_shift = _steps(acceptance=lambda inst: _acceptance(inst, shift=False),
                      acceptance_latex=r"f/\lambda - \log S \le 0 \text{ on } K")[4]
    drop = _steps()[7]
    flipped = Step(drop.name, r"\mathbb E_q(1-w/\mathbb E_qw)_+ \ge 1-\mathbb E_qw", "≥", drop.justification,
                   numeric=drop.numeric)
    return [Proof(
        id="l1a.exact", theorem="L1a", title="planes sample q_KL exactly; valid on K only, they cost q_KL(K^c)",
        statement=r"\ell_i\le f,\ \max_i\ell_i\ge f-\varepsilon \text{ on } K \Rightarrow \mathrm{TV}(\text{output}, q_{KL}) \le q_{KL}(Ax\notin K)\ (=0 \text{ for } K=\mathbb R^k)",
        steps=_steps(), instances=lambda: list(_registered()), strategy=_strategy,
        hypotheses=(r"$r=f(Ax)$ with $f$ convex", r"planes $\ell_i\le f$ within $\varepsilon$ of $f$ on $K$",
                    "exact tilts and partition functions"),
        source="primitives/kl_align.py, theorems/kl_net_clipping.py (docstrings)",
        reference="convex-net-gauss-d3/eps=0.3,R=2.5",
        wrong_steps=(
            WrongStep("acceptance-without-epsilon", "acceptance_le_one", no_shift,
                      "the acceptance e^{f/λ}/S without the ε shift (not a probability when ε > 0)",
                      instance="logsumexp-planes-gauss-d4/k=2,tau=1,lam=0.5"),
            WrongStep("clip-drop-flipped", "clip_drop_normaliser", flipped, "the inequality flipped (≥ for ≤)",
                      instance="convex-net-gauss-d3/eps=0.3,R=2.5"),
        ))]
