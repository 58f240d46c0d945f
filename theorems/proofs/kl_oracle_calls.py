"""L1b's proof as data (issue 22): the oracle calls of KL alignment by planes (``theorems.kl_oracle_calls``).

Setting: ``z = Ax ~ N(0, I_k)``, ``f(z) = L(√(1 + ‖z‖²) − 1)``, the net of ``primitives.planes`` at ε on the ball K of
radius R (N planes ``ℓ_i = ⟨g_i, z⟩ + c_i``), ``W_i = E e^{ℓ_i/λ}``, ``Z = E e^{f/λ}``, ``J = E min(S, e^{(f−ε)/λ})``
with ``S = Σ_i e^{ℓ_i/λ}``. Steps:

1. ``weights_closed_form`` — ``W_i = e^{c_i/λ}Z(Aᵀg_i/λ) = e^{c_i/λ + ‖g_i‖²/(2λ²)}`` (the oracle's exact
   log-partition in ℝ^d against the Gaussian MGF in ℝ^k);
2. ``calls_identity`` — ``E[calls] = ΣW_i/J`` (geometric trials; ΣW by the oracle, J by quadrature);
3. ``mass_below`` — ``J ≤ e^{−ε/λ}Z`` (the min is at most its second term), hence
4. ``calls_floor`` — ``E[calls] ≥ e^{ε/λ}ΣW_i/Z``;
5. ``mass_region`` — ``J ≥ e^{−ε/λ}Z q(K)`` (on K the cover gives ``S ≥ e^{(f−ε)/λ}``), hence
6. ``calls_region_top`` — ``E[calls] ≤ e^{ε/λ}ΣW_i/(Z q(K))``;
7. ``mass_plane`` — ``J ≥ e^{−ε/λ}max_j W_j`` (``S ≥ e^{ℓ_j/λ}``, ``f ≥ ℓ_j``), hence
8. ``calls_plane_top`` — ``E[calls] ≤ e^{ε/λ}ΣW_i/max_j W_j``;
9. ``sum_over_max`` — ``ΣW_i/max_j W_j ≤ N``;
10. ``axis_count`` — ``2(R + δ)/h + 1 = 2√k·LR/ε + √k + 1`` for ``h = ε/(L√k)``, ``δ = h√k/2`` (symbolic);
11. ``net_size`` — ``N ≤ (2√k·LR/ε + √k + 1)^k`` (grid of spacing ε/(L√k) in the ball of radius R + ε/(2L)).

Exact sides: ``radial_quantities``/``exact_calls`` of the module on the six registered (k, d) instances
(``estimators.exact.plane_calls``: the k-dimensional integral with its error), ``plane_log_weights`` with the exact
tilt oracle; the search draws (k ≤ 2, L, R, ε, λ) and recomputes Z, q(K) by radial quadrature.

Wrong step (history, d9eabf4): the first derivation reached the spec's ``e^{ε/λ}N`` through the region top,
``ΣW_i/(Z q(K)) ≤ N`` — false, which is why a ``1/q(K)`` factor was put into the bound; killed on
``smooth-norm/k=3,d=4`` (209.8 > 179 planes). The corrected route is steps 7–9.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy
import torch
from scipy import integrate
from scipy.special import gammaln, logsumexp

from tiltproof.proofs.checkers import at_worst_point
from tiltproof.proofs.model import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "NetInstance", "net_quantities"]


@dataclass(frozen=True)
class NetInstance:
    k: int
    d: int
    lipschitz: float
    radius: float
    epsilon: float
    lam: float
    registered: bool = False


def _radial(inst: NetInstance) -> tuple[float, float, float]:
    """(Z, q(‖z‖ ≤ R), relative error) for z ~ N(0, I_k) by 1-D radial quadrature (log-space integrand)."""
    k, L, lam = inst.k, inst.lipschitz, inst.lam
    log_norm = (k / 2 - 1) * math.log(2) + gammaln(k / 2)

    def density(r: float) -> float:
        if r <= 0:
            return 0.0 if k > 1 else math.exp(-log_norm)
        return math.exp((k - 1) * math.log(r) - r * r / 2 - log_norm + L * (math.sqrt(1 + r * r) - 1) / lam)

    inside, e1 = integrate.quad(density, 0, inst.radius, epsabs=1e-13, epsrel=1e-12, limit=200)
    outside, e2 = integrate.quad(density, inst.radius, 80, epsabs=1e-13, epsrel=1e-12, limit=200)
    total = inside + outside
    return total, inside / total, (e1 + e2) / total + 1e-10


def _reward(inst: NetInstance):
    from primitives.planes import ConvexLowRank

    L = inst.lipschitz
    f = lambda z: L * (torch.sqrt(1 + (z**2).sum(-1)) - 1)
    grad = lambda z: L * z / torch.sqrt(1 + (z**2).sum(-1, keepdim=True))
    A = np.eye(inst.d)[:inst.k]
    return ConvexLowRank(A, f, grad, L, inst.radius)


@lru_cache(maxsize=128)
def net_quantities(inst: NetInstance) -> dict:
    from estimators.exact.plane_calls import expected_planes_calls
    from primitives.kl_align import plane_cover, plane_log_weights
    from primitives.laws import Gaussian
    from primitives.tilt_oracle import ExactTiltOracle

    if inst.registered:
        from theorems.kl_oracle_calls import complexity_instance, exact_calls, radial_quantities

        base, reward, _ = complexity_instance(inst.k, inst.d)
        Z, q_k, z_err = radial_quantities(inst.k)
        calls = exact_calls(inst.k)
    else:
        reward = _reward(inst)
        base = Gaussian(np.zeros(inst.d), np.eye(inst.d))
        Z, q_k, z_err = _radial(inst)
        calls = None
    cover = plane_cover(reward, inst.epsilon)
    if calls is None:
        L = inst.lipschitz
        calls = expected_planes_calls(cover.slopes, cover.intercepts, lambda r: L * (np.sqrt(1 + r * r) - 1),
                                      epsilon=inst.epsilon, lam=inst.lam)
    log_w_oracle = plane_log_weights(ExactTiltOracle(base), cover, reward.A, inst.lam)
    log_w_closed = cover.intercepts / inst.lam + (cover.slopes**2).sum(1) / (2 * inst.lam**2)
    total_w = math.exp(logsumexp(log_w_oracle))
    return {"calls": calls.value, "J": math.exp(calls.log_acceptance_mass), "Z": Z, "q_K": q_k, "N": cover.size,
            "total_w": total_w, "max_w": math.exp(float(log_w_oracle.max())), "log_w_oracle": log_w_oracle,
            "log_w_closed": log_w_closed, "relative_error": calls.relative_error + z_err + 1e-9}


def _v(instance: ProofInstance) -> tuple[dict, NetInstance]:
    return net_quantities(instance.payload), instance.payload


def _sides(lhs: float, rhs: float, relative: float) -> Sides:
    return Sides(lhs, rhs, relative * max(abs(lhs), abs(rhs)))


def _weights(instance):
    v, _ = _v(instance)
    return Sides(v["log_w_oracle"], v["log_w_closed"], 1e-9)


def _calls_identity(instance):
    v, _ = _v(instance)
    return _sides(v["calls"], v["total_w"] / v["J"], v["relative_error"])


def _mass_below(instance):
    v, inst = _v(instance)
    return _sides(v["J"], math.exp(-inst.epsilon / inst.lam) * v["Z"], v["relative_error"])


def _calls_floor(instance):
    v, inst = _v(instance)
    return _sides(v["calls"], math.exp(inst.epsilon / inst.lam) * v["total_w"] / v["Z"], v["relative_error"])


def _mass_region(instance):
    v, inst = _v(instance)
    return _sides(v["J"], math.exp(-inst.epsilon / inst.lam) * v["Z"] * v["q_K"], v["relative_error"])


def _calls_region_top(instance):
    v, inst = _v(instance)
    return _sides(v["calls"], math.exp(inst.epsilon / inst.lam) * v["total_w"] / (v["Z"] * v["q_K"]), v["relative_error"])


def _mass_plane(instance):
    v, inst = _v(instance)
    return _sides(v["J"], math.exp(-inst.epsilon / inst.lam) * v["max_w"], v["relative_error"])


def _calls_plane_top(instance):
    v, inst = _v(instance)
    return _sides(v["calls"], math.exp(inst.epsilon / inst.lam) * v["total_w"] / v["max_w"], v["relative_error"])


def _sum_over_max(instance, region: bool = False):
    v, _ = _v(instance)
    lhs = v["total_w"] / (v["Z"] * v["q_K"]) if region else v["total_w"] / v["max_w"]
    return _sides(lhs, float(v["N"]), 1e-9 + (v["relative_error"] if region else 0.0))


def _net_size(instance):
    v, inst = _v(instance)
    k = inst.k
    return Sides(float(v["N"]), (2 * math.sqrt(k) * inst.lipschitz * inst.radius / inst.epsilon + math.sqrt(k) + 1) ** k)


def _axis_sides() -> tuple[sympy.Expr, sympy.Expr]:
    k, L, R, eps = sympy.symbols("k L R varepsilon", positive=True)
    h = eps / (L * sympy.sqrt(k))
    return 2 * (R + h * sympy.sqrt(k) / 2) / h + 1, 2 * sympy.sqrt(k) * L * R / eps + sympy.sqrt(k) + 1


_axis = _axis_sides()


def _steps(sum_over_max=_sum_over_max) -> tuple[Step, ...]:
    e = r"e^{\varepsilon/\lambda}"
    return (
        Step("weights_closed_form", r"W_i = e^{c_i/\lambda}Z(A^\top g_i/\lambda) = e^{c_i/\lambda+\|g_i\|^2/(2\lambda^2)}", "=",
             "identity", numeric=at_worst_point("=", _weights), text="The Gaussian moment generating function, $Ax\\sim\\mathcal N(0,I_k)$."),
        Step("calls_identity", r"\mathbb E[\text{calls}] = \sum_iW_i/J,\ J=\mathbb E\min(S, e^{(f-\varepsilon)/\lambda})", "=",
             "definition", numeric=_calls_identity, text="Each proposal is accepted with probability $J/\\sum_iW_i$."),
        Step("mass_below", r"J \le e^{-\varepsilon/\lambda}Z", "≤", "monotonicity", numeric=_mass_below),
        Step("calls_floor", r"\mathbb E[\text{calls}] \ge " + e + r"\sum_iW_i/Z", "≥", "monotonicity", numeric=_calls_floor),
        Step("mass_region", r"J \ge e^{-\varepsilon/\lambda}Z\,q(K)", "≥", "hypothesis", numeric=_mass_region,
             text="On $K$ the cover gives $S\\ge e^{\\max_i\\ell_i/\\lambda}\\ge e^{(f-\\varepsilon)/\\lambda}$."),
        Step("calls_region_top", r"\mathbb E[\text{calls}] \le " + e + r"\sum_iW_i/(Z\,q(K))", "≤", "monotonicity",
             numeric=_calls_region_top),
        Step("mass_plane", r"J \ge e^{-\varepsilon/\lambda}\max_jW_j", "≥", "convexity", numeric=_mass_plane,
             text="$\\min(S, e^{(f-\\varepsilon)/\\lambda})\\ge e^{(\\ell_j-\\varepsilon)/\\lambda}$ as $S\\ge e^{\\ell_j/\\lambda}$ and $f\\ge\\ell_j$."),
        Step("calls_plane_top", r"\mathbb E[\text{calls}] \le " + e + r"\sum_iW_i/\max_jW_j", "≤", "monotonicity",
             numeric=_calls_plane_top),
        Step("sum_over_max", r"\sum_iW_i/\max_jW_j \le N", "≤", "algebra", numeric=sum_over_max),
        Step("axis_count", r"\frac{2(R+\delta)}{h}+1 = \frac{2\sqrt k\,LR}{\varepsilon}+\sqrt k+1,\ h=\frac{\varepsilon}{L\sqrt k},\ \delta=\frac{h\sqrt k}{2}",
             "=", "algebra", lhs=_axis[0], rhs=_axis[1],
             text="Grid points per axis within $R+\\delta$ of the centre: at most $2(R+\\delta)/h+1$."),
        Step("net_size", r"N \le \left(2\sqrt k\,LR/\varepsilon+\sqrt k+1\right)^k", "≤", "algebra", numeric=_net_size,
             text="Grid points of spacing $\\varepsilon/(L\\sqrt k)$ in the ball of radius $R+\\varepsilon/(2L)$."),
    )


def _instances() -> list[ProofInstance]:
    from theorems.kl_oracle_calls import COMPLEXITY_EPS, COMPLEXITY_GRID, COMPLEXITY_L, COMPLEXITY_LAM, COMPLEXITY_R

    return [ProofInstance(f"smooth-norm/k={k},d={d}", {"k": k, "d": d, "epsilon": COMPLEXITY_EPS, "R": COMPLEXITY_R,
                                                       "L": COMPLEXITY_L, "lambda": COMPLEXITY_LAM},
                          NetInstance(k, d, COMPLEXITY_L, COMPLEXITY_R, COMPLEXITY_EPS, COMPLEXITY_LAM, True))
            for k, d in COMPLEXITY_GRID]


def _strategy():
    from hypothesis import strategies as st

    def build(k, d_extra, L, R, eps, lam):
        inst = NetInstance(k, k + d_extra, L, R, eps, lam)
        return ProofInstance(f"smooth-norm/k={k},d={k + d_extra},L={L:.3g},R={R:.3g},eps={eps:.3g},lam={lam:.3g}",
                             {"k": k, "d": k + d_extra, "epsilon": eps, "R": R, "L": L, "lambda": lam}, inst)
    return st.builds(build, st.integers(1, 2), st.integers(0, 3), st.floats(0.5, 2.0), st.floats(0.5, 2.0),
                     st.floats(0.6, 1.5), st.floats(0.5, 2.0))


def proofs() -> list[Proof]:
    region = _steps(sum_over_max=lambda inst: _sum_over_max(inst, region=True))[8]
    region = Step(region.name, r"\sum_iW_i/(Z\,q(K)) \le N", region.relation, region.justification, numeric=region.numeric)
    return [Proof(
        id="l1b.oracle_calls", theorem="L1b", title="oracle calls exponential in k, free of d",
        statement=r"e^{\varepsilon/\lambda}\frac{\sum_iW_i}{Z} \le \mathbb E[\text{calls}] \le e^{\varepsilon/\lambda}\sum_iW_i\min\!\Big(\frac{1}{Zq_K},\frac{1}{\max_iW_i}\Big) \le e^{\varepsilon/\lambda}\Big(\frac{2\sqrt kLR}{\varepsilon}+\sqrt k+1\Big)^k",
        steps=_steps(), instances=_instances, strategy=_strategy,
        hypotheses=(r"$f$ convex and $L$-Lipschitz, tangent planes of a net on the ball $K$ of radius $R$",
                    r"$Ax\sim\mathcal N(0,I_k)$"),
        source="theorems/kl_oracle_calls.py, primitives/kl_align.py (docstrings)", reference="smooth-norm/k=3,d=4",
        wrong_steps=(WrongStep("region-top-to-N", "sum_over_max", region,
                               "the spec's e^{ε/λ}N reached through the q(K) top: ΣW/(Z q(K)) ≤ N",
                               instance="smooth-norm/k=3,d=4",
                               history="d9eabf4: the bound first carried a 1/q(K) factor because the derivation went "
                                       "through e^{ε/λ}ΣW/(Z q(K)); the 1/max W route removes it"),))]
