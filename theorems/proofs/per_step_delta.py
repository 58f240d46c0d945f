"""The proofs of the proposal-side per-step δ (``theorems.per_step_delta``, paper-fidelity §2) as data (issue 22).

One step, parents y with weights ν(y); per parent a finite law p of ``V`` (atoms ``p_i``, ``V_i``), the soft value
``V'`` with ``E_p e^{V/λ} = e^{V'/λ}``, a baseline b, ``w = e^{V/λ}``, ``c = e^{b/λ}``, ``q = pw/Z``,
``q_b ∝ p min(w, c)``, ``N = e^{(b−V')/λ}``, ``m = E_p e^{κ(V−b)}``, κ ≥ 1/λ, ``M ≥ ess sup V``.

(A) ``psd.factor_bound``: TV ≤ D/Z = E_q(1 − e^{(b−V)/λ})_+ ≤ P_q(V > b) = E_p[w1{V>b}]/e^{V'/λ}; pointwise
``e^{V/λ}1{V>b} ≤ e^{b/λ}e^{κ(V−b)}`` (on V > b put V = b + y, κ = 1/λ + η: proved by interval arithmetic on a stated
box); average over p and divide: ``P_q(V > b) ≤ N·m``. (B) ``psd.weighted``: ``N^{-1}TV ≤ m`` per parent, average
over ν, so ``E_ν m ≤ δ ⇒ E_ν[N^{-1}TV] ≤ δ``. (C) ``psd.tail_form``: ``(w − c)_+ ≤ 1{V>b}(e^{M/λ} − c)_+`` per atom,
average and divide by ``Z = e^{V'/λ}``: ``D/Z ≤ P_p(V>b)(e^{(M−V')/λ} − e^{(b−V')/λ})_+``, so ``P_p(V>b) ≤ δ ⇒
TV ≤ δ(…)_+``.

Every side is a literal float64 sum over the atoms (``_literal``), never the module's log-space estimators; one
step per proof (``module``) compares those estimators (``estimators.per_step_delta``, ``t2_per_state``) with the
literal sums. Instances: the module's two-point instance (D) at the authors' offset (exact: V ∈ {0, h}); the same law
with b = h + 1 > ess sup V (TV = 0; where §2's form without the positive part fails); gmm-ref-B7 at every step t
(301 ridge-grid parents, the authors' exact-mass offset fitted on the grid at each t, κ = 15, δ = 1e-3): at t = 0 two
exact atoms per parent, at t ≥ 1 the ridge quadrature, exact sums of the quadrature law whose soft-value step
states the quadrature error (t ≥ 1 marked slow).
The search draws small finite laws (1–3 parents, 2–4 atoms, any b, κ = 1/λ + η). Wrong steps: κ < 1/λ (refuted
symbolically), the factor e^{(b−V')/λ} dropped (killed on two-point), the weight on the wrong side in (B), and
§2's pointwise form without the positive part (killed on two-point/b>M).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy
import torch

from tiltproof.proofs import LazyPayload, Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "Case", "FACTOR_PROOF", "WEIGHTED_PROOF", "TAIL_PROOF"]

FACTOR_PROOF, WEIGHTED_PROOF, TAIL_PROOF = "psd.factor_bound", "psd.weighted", "psd.tail_form"
T2_PROOF = "t2.tv_bound"
ERROR = 1e-12


@dataclass(frozen=True, eq=False)
class Case:
    """Parents (rows) of one step: atoms ``p``, ``V`` (m, A), soft values ``v_next`` (m,), baselines ``b`` (m,),
    parent weights ``nu`` (m,), and λ, κ, M, δ. Hashed by identity (memoised quantities)."""

    p: np.ndarray
    V: np.ndarray
    v_next: np.ndarray
    b: np.ndarray
    nu: np.ndarray
    lam: float
    kappa: float
    M: float
    delta: float
    error: float = 0.0
    """The stated relative error of ``Z = Σ p e^{V/λ}`` against ``e^{V'/λ}`` (quadrature atoms; 0: exact atoms)."""


@lru_cache(maxsize=256)
def _literal(case: Case) -> dict:
    """Every quantity by its definition, float64 sums over atoms (no log space, no module code)."""
    p, V, lam, b = case.p, case.V, case.lam, case.b[:, None]
    w, c = np.exp(V / lam), np.exp(b / lam)
    Z = (p * w).sum(1)
    q = p * w / Z[:, None]
    clipped = p * np.minimum(w, c)
    qb = clipped / clipped.sum(1, keepdims=True)
    above = V > b
    zv = np.exp(case.v_next / lam)
    count = np.exp((case.b - case.v_next) / lam)
    mass = (p * np.exp(case.kappa * (V - b))).sum(1)
    width = np.exp((case.M - case.v_next) / lam) - np.exp((case.b - case.v_next) / lam)
    tail_p = (p * above).sum(1)
    return {"w": w, "c": c, "Z": Z, "zv": zv, "tv": 0.5 * np.abs(q - qb).sum(1),
            "DZ": (p * np.maximum(w - c, 0.0)).sum(1) / Z, "clip_q": (q * np.maximum(1 - np.exp((b - V) / lam), 0)).sum(1),
            "tail_q": (q * above).sum(1), "top": (p * w * above).sum(1),
            "pointwise_l": (w * above).ravel(), "pointwise_r": (c * np.exp(case.kappa * (V - b))).ravel(),
            "c_mass": (p * c * np.exp(case.kappa * (V - b))).sum(1), "mass": mass, "count": count,
            "tail_p": tail_p, "width": width, "tail_form": tail_p * np.maximum(width, 0.0),
            "integrand_l": (p * np.maximum(w - c, 0.0)).ravel(),
            "integrand_r": (p * above * np.maximum(np.exp(case.M / lam) - c, 0.0)).ravel(),
            "clip_sum": (p * np.maximum(w - c, 0.0)).sum(1), "avg_r": tail_p * np.maximum(np.exp(case.M / lam) - c[:, 0], 0)}


@lru_cache(maxsize=256)
def _module(case: Case) -> dict:
    """The code under test on the same atoms: ``estimators.per_step_delta`` and ``t2_per_state``."""
    from estimators.exact.chain_laws import StateLaws
    from estimators.per_step_delta import chernoff_factor_bound, proposal_tail, proposal_tail_bound, target_tail
    from tiltproof.core.chain_path_tv import t2_per_state

    with np.errstate(divide="ignore"):
        log_p = np.log(case.p)
    laws = StateLaws(torch.as_tensor(case.V, dtype=torch.float64), torch.as_tensor(log_p, dtype=torch.float64), exact=True)
    b = torch.as_tensor(case.b, dtype=torch.float64)
    tv, clip = t2_per_state(laws, case.lam, b)
    factor = chernoff_factor_bound(laws, case.lam, case.kappa, b, torch.as_tensor(case.v_next)).numpy()
    tail_form = proposal_tail_bound(case.lam, proposal_tail(laws, b), case.M, b, torch.as_tensor(case.v_next)).numpy()
    return {"tv": tv, "DZ": clip, "tail_q": target_tail(laws, case.lam, b).numpy(), "log_factor": np.log(factor),
            "tail_form": tail_form}


def _q(instance: ProofInstance) -> dict:
    return _literal(instance.payload)


def _rel(x) -> float:
    return ERROR * float(np.max(np.abs(x))) + ERROR


def _sides(lhs_key: str, rhs_key: str):
    def numeric(instance: ProofInstance) -> Sides:
        Q = _q(instance)
        return Sides(Q[lhs_key], Q[rhs_key], _rel(Q[rhs_key]) + _rel(Q[lhs_key]))
    return numeric


def _mean(case: Case, x: np.ndarray) -> float:
    return float(case.nu @ x / case.nu.sum())


# ---------------------------------------------------------------- instances
def _two_point(beyond: bool) -> ProofInstance:
    from theorems.per_step_delta import GAP_DELTA, GAP_HEIGHT, GAP_KAPPA, GAP_PI, gap_quantities

    exact = gap_quantities()
    v_next = float(exact["values"](exact["parent"], 1).reshape(-1)[0])
    b = GAP_HEIGHT + 1.0 if beyond else exact["baseline"]
    case = Case(np.array([[1.0 - GAP_PI, GAP_PI]]), np.array([[0.0, GAP_HEIGHT]]), np.array([v_next]), np.array([b]),
                np.ones(1), 1.0, GAP_KAPPA, GAP_HEIGHT, GAP_DELTA)
    name = "two-point/b>M" if beyond else f"two-point/kappa={GAP_KAPPA:g},delta={GAP_DELTA:g}"
    return ProofInstance(name, {"pi": GAP_PI, "h": GAP_HEIGHT, "lambda": 1.0, "kappa": GAP_KAPPA, "delta": GAP_DELTA,
                                "b": b}, case)


def _atoms(instance, t: int, grid, spacing: float) -> tuple[np.ndarray, np.ndarray, object]:
    from estimators.exact.chain_laws import kernel_value_laws

    laws = kernel_value_laws(instance.chain, t, grid, instance.values, spacing=spacing)
    p = laws.log_probs.exp().numpy()
    return p, np.where(p > 0, laws.values.numpy(), 0.0), laws


@lru_cache(maxsize=32)
def _gmm_case(t: int) -> Case:
    """gmm-ref-B7 at step t: 301 ridge-grid parents, the authors' exact-mass offset fitted on the grid (κ = 15,
    δ = 1e-3), M = B_t. t = 0: two exact atoms per parent; t ≥ 1: the ridge quadrature (h = 0.05), whose error on
    ``Σ p e^{V/λ}`` is stated as ``2|S_h − S_{h/2}|/S_h + 1e-9`` (relative)."""
    from estimators.per_step_delta import log_proposal_chernoff_mass, proposal_offset_from_log_masses
    from theorems.per_step_delta import DELTA, KAPPA, PER_STEP_INSTANCES, ridge_grid
    from tiltproof.instances.chain import chain_instance

    instance = chain_instance(*PER_STEP_INSTANCES[0])
    grid = ridge_grid(instance)
    p, V, laws = _atoms(instance, t, grid, 0.05)
    v_next = instance.values(grid, t + 1).reshape(-1).to(torch.float64)
    offset = proposal_offset_from_log_masses(log_proposal_chernoff_mass(laws, KAPPA, v_next), KAPPA, DELTA)
    error = 0.0
    if not laws.exact:
        fine_p, fine_V, _ = _atoms(instance, t, grid, 0.025)
        coarse, fine = (p * np.exp(V / instance.lam)).sum(1), (fine_p * np.exp(fine_V / instance.lam)).sum(1)
        error = float(np.max(2 * np.abs(coarse - fine) / coarse)) + 1e-9
    return Case(p, V, v_next.numpy(), (v_next + offset).numpy(), np.ones(len(grid)), instance.lam, KAPPA,
                float(instance.values.envelope(t)), DELTA, error)


def _gmm_step(t: int) -> ProofInstance:
    from theorems.per_step_delta import DELTA, KAPPA

    return ProofInstance(f"gmm-ref-B7/t={t}", {"lambda": 1.0, "B": 7.0, "kappa": KAPPA, "delta": DELTA, "step": t},
                         LazyPayload(lambda: _gmm_case(t)), slow=t > 0)


GMM_STEPS = 20
"""Transitions of gmm-ref-B7 (every one is an instance; t = 0 in the default suite, the others marked slow)."""


@lru_cache(maxsize=1)
def _instances() -> tuple[ProofInstance, ...]:
    return (_two_point(False), _two_point(True), *(_gmm_step(t) for t in range(GMM_STEPS)))


def _strategy():
    from hypothesis import strategies as st

    @st.composite
    def cases(draw):
        m, A = draw(st.integers(1, 3)), draw(st.integers(2, 4))
        unit = st.floats(0.05, 1.0)
        p = np.array([[draw(unit) for _ in range(A)] for _ in range(m)])
        p /= p.sum(1, keepdims=True)
        V = np.array([[draw(st.floats(-4.0, 4.0)) for _ in range(A)] for _ in range(m)])
        lam = draw(st.floats(0.25, 4.0))
        kappa = 1.0 / lam + draw(st.floats(0.0, 4.0))
        b = np.array([draw(st.floats(-6.0, 6.0)) for _ in range(m)])
        v_next = lam * np.log((p * np.exp(V / lam)).sum(1))       # the soft value of a finite law
        M = float(V.max()) + draw(st.floats(0.0, 2.0))
        case = Case(p, V, v_next, b, np.array([draw(unit) for _ in range(m)]), lam, kappa, M,
                    draw(st.floats(1e-3, 0.5)))
        return ProofInstance("drawn", {"lambda": lam, "kappa": kappa, "M": M}, case)

    return cases()


# ---------------------------------------------------------------- (A)
b_, V_ = sympy.Symbol("b", real=True), sympy.Symbol("V", real=True)
y_, lam_, eta_, theta_ = sympy.symbols("y lambda eta theta", positive=True)
BOX = {"b": (-20.0, 20.0), "y": (0.0, 30.0), "lambda": (0.1, 10.0)}


def _soft_value(instance: ProofInstance) -> Sides:
    Q = _q(instance)
    return Sides(Q["Z"], Q["zv"], _rel(Q["zv"]) + instance.payload.error * float(np.max(Q["zv"])))


def _factor(instance: ProofInstance, count: bool = True) -> Sides:
    Q = _q(instance)
    rhs = Q["count"] * Q["mass"] if count else Q["mass"]
    return Sides(Q["tail_q"], rhs, _rel(rhs))


def _module_a(instance: ProofInstance) -> Sides:
    Q, Mod = _q(instance), _module(instance.payload)
    with np.errstate(divide="ignore"):
        literal = np.concatenate([Q["tv"], Q["tail_q"], np.log(Q["count"] * Q["mass"])])
    return Sides(np.concatenate([Mod["tv"], Mod["tail_q"], Mod["log_factor"]]), literal, 1e-9)


A_STEPS = (
    Step("soft-value", r"Z = E_p e^{V/\lambda} = e^{V'/\lambda}", "=", "definition", numeric=_soft_value),
    Step("tv-le-clip", r"\mathrm{TV}(q_b,q) \le D/Z", "≤", "lemma", cites=T2_PROOF, numeric=_sides("tv", "DZ")),
    Step("clip-under-q", r"D/Z = E_q\big(1-e^{(b-V)/\lambda}\big)_+", "=", "change of measure",
         numeric=_sides("DZ", "clip_q")),
    Step("clip-le-tail", r"E_q\big(1-e^{(b-V)/\lambda}\big)_+ \le P_q(V>b)", "≤", "monotonicity",
         numeric=_sides("clip_q", "tail_q")),
    Step("tail-under-p", r"P_q(V>b) = E_p[e^{V/\lambda}1\{V>b\}]\,/\,e^{V'/\lambda}", "=", "change of measure",
         numeric=lambda i: Sides(_q(i)["tail_q"], _q(i)["top"] / _q(i)["zv"], _rel(_q(i)["tail_q"]))),
    Step("pointwise", r"e^{V/\lambda}1\{V>b\} \le e^{b/\lambda}e^{\kappa(V-b)}\quad(\kappa=1/\lambda+\eta,\ \eta\ge0;"
         r"\ \text{on } V>b,\ V=b+y)", "≤", "monotonicity",
         lhs=sympy.exp((b_ + y_) / lam_), rhs=sympy.exp(b_ / lam_) * sympy.exp((1 / lam_ + eta_) * y_),
         domain={**BOX, "eta": (0.0, 20.0)}, numeric=_sides("pointwise_l", "pointwise_r"),
         text=r"On $V\le b$ the left side is 0; on $V>b$, $(V-b)/\lambda\le\kappa(V-b)$. Atoms: both cases."),
    Step("average", r"E_p[e^{V/\lambda}1\{V>b\}] \le e^{b/\lambda}E_p e^{\kappa(V-b)}", "≤", "monotonicity",
         numeric=_sides("top", "c_mass")),
    Step("factor", r"P_q(V>b) \le e^{(b-V')/\lambda}\,E_p e^{\kappa(V-b)} = N\,m", "≤", "algebra", numeric=_factor),
    Step("module", r"\text{estimators: } \mathrm{TV},\ P_q(V>b),\ \log(N m) \text{ as defined}", "=", "identity",
         numeric=_module_a),
)

A_WRONG = (
    WrongStep("kappa-below-inverse-lambda", "pointwise",
              Step("pointwise", r"e^{V/\lambda}1\{V>b\} \le e^{b/\lambda}e^{\kappa(V-b)},\ \kappa=\theta/\lambda<1/\lambda",
                   "≤", "monotonicity", lhs=sympy.exp((b_ + y_) / lam_),
                   rhs=sympy.exp(b_ / lam_) * sympy.exp(theta_ / lam_ * y_), domain={**BOX, "theta": (0.1, 0.99)}),
              "κ < 1/λ allowed: e^{(V−b)/λ} outgrows e^{κ(V−b)} as V − b → ∞"),
    WrongStep("factor-dropped", "factor",
              Step("factor", r"P_q(V>b) \le E_p e^{\kappa(V-b)}", "≤", "algebra",
                   numeric=lambda i: _factor(i, count=False)),
              "the proposal-count factor e^{(b−V')/λ} dropped", instance="two-point/kappa=1,delta=0.01"),
)


# ---------------------------------------------------------------- (B)
def _weighted(instance: ProofInstance, inverse: bool = True) -> Sides:
    case, Q = instance.payload, _q(instance)
    weight = 1.0 / Q["count"] if inverse else Q["count"]
    return Sides(_mean(case, weight * Q["tv"]), _mean(case, Q["mass"]), _rel(Q["mass"]))


def _plug_in(instance: ProofInstance) -> Sides:
    case, Q = instance.payload, _q(instance)
    premise = _mean(case, Q["mass"]) <= case.delta * (1 + 1e-9)
    return Sides(premise, _mean(case, Q["tv"] / Q["count"]) <= case.delta * (1 + 1e-9))


B_STEPS = (
    Step("factor", r"\mathrm{TV}_t(y) \le N(y)\,m(y)", "≤", "lemma", cites=FACTOR_PROOF,
         numeric=lambda i: Sides(_q(i)["tv"], _q(i)["count"] * _q(i)["mass"], _rel(_q(i)["count"] * _q(i)["mass"]))),
    Step("reweight", r"N(y)^{-1}\mathrm{TV}_t(y) \le m(y)\quad(N>0)", "≤", "algebra",
         numeric=lambda i: Sides(_q(i)["tv"] / _q(i)["count"], _q(i)["mass"], _rel(_q(i)["mass"]))),
    Step("average", r"E_\nu[N^{-1}\mathrm{TV}_t] \le E_\nu E_p e^{\kappa(V_t-b_t)}", "≤", "monotonicity",
         numeric=_weighted),
    Step("plug-in", r"E_{\nu,p}e^{\kappa(V_t-b_t)} \le \delta \Rightarrow E_\nu[N^{-1}\mathrm{TV}_t] \le \delta", "⇒",
         "hypothesis", numeric=_plug_in),
)

B_WRONG = (
    WrongStep("weight-wrong-side", "average",
              Step("average", r"E_\nu[N\,\mathrm{TV}_t] \le E_\nu E_p e^{\kappa(V_t-b_t)}", "≤", "monotonicity",
                   numeric=lambda i: _weighted(i, inverse=False)),
              "the count weight on the wrong side (E_ν[N·TV] for E_ν[N^{-1}TV])", instance="two-point/kappa=1,delta=0.01"),
)


# ---------------------------------------------------------------- (C)
def _conclusion(instance: ProofInstance, positive_part: bool = True) -> Sides:
    case, Q = instance.payload, _q(instance)
    width = np.maximum(Q["width"], 0.0) if positive_part else Q["width"]
    return Sides(Q["tail_p"] <= case.delta, Q["tv"] <= case.delta * width + ERROR)


def _module_c(instance: ProofInstance) -> Sides:
    Q, Mod = _q(instance), _module(instance.payload)
    return Sides(np.concatenate([Mod["DZ"], Mod["tail_form"]]), np.concatenate([Q["DZ"], Q["tail_form"]]),
                 1e-9 * (1 + float(np.max(Q["tail_form"]))))


z_ = sympy.Symbol("z", nonnegative=True)
C_STEPS = (
    Step("tv-le-clip", r"\mathrm{TV}(q_b,q) \le D/Z", "≤", "lemma", cites=T2_PROOF, numeric=_sides("tv", "DZ")),
    Step("clip", r"D/Z = E_p\big(e^{V/\lambda}-e^{b/\lambda}\big)_+\,/\,e^{V'/\lambda}", "=", "definition",
         numeric=lambda i: Sides(_q(i)["DZ"], _q(i)["clip_sum"] / _q(i)["zv"], _rel(_q(i)["DZ"]))),
    Step("integrand", r"\big(e^{V/\lambda}-e^{b/\lambda}\big)_+ \le 1\{V>b\}\big(e^{M/\lambda}-e^{b/\lambda}\big)_+"
         r"\quad(\text{on } V>b:\ V=b+y,\ M=V+z)", "≤", "monotonicity",
         lhs=sympy.exp((b_ + y_) / lam_) - sympy.exp(b_ / lam_),
         rhs=sympy.exp((b_ + y_ + z_) / lam_) - sympy.exp(b_ / lam_),
         domain={**BOX, "z": (0.0, 30.0)}, numeric=_sides("integrand_l", "integrand_r")),
    Step("average", r"E_p\big(e^{V/\lambda}-e^{b/\lambda}\big)_+ \le P_p(V>b)\big(e^{M/\lambda}-e^{b/\lambda}\big)_+",
         "≤", "monotonicity", numeric=_sides("clip_sum", "avg_r")),
    Step("divide", r"D/Z \le P_p(V>b)\big(e^{(M-V')/\lambda}-e^{(b-V')/\lambda}\big)_+", "≤", "algebra",
         numeric=_sides("DZ", "tail_form")),
    Step("conclusion", r"P_p(V>b)\le\delta \Rightarrow \mathrm{TV}_t(y) \le \delta\big(e^{(M-V')/\lambda}-"
         r"e^{(b-V')/\lambda}\big)_+", "⇒", "monotonicity", numeric=_conclusion),
    Step("module", r"\text{estimators: } D/Z \text{ and the tail form as defined}", "=", "identity", numeric=_module_c),
)

C_WRONG = (
    WrongStep("no-positive-part", "conclusion",
              Step("conclusion", r"P_p(V>b)\le\delta \Rightarrow \mathrm{TV}_t(y) \le \delta\big(e^{(M-V')/\lambda}-"
                   r"e^{(b-V')/\lambda}\big)", "⇒", "monotonicity", numeric=lambda i: _conclusion(i, False)),
              "§2's pointwise form without the positive part: for b > ess sup V the bracket is negative, TV = 0",
              instance="two-point/b>M",
              history="paper-fidelity §2 wording; corrected in theorems/per_step_delta.py (C) with the positive part"),
)


def proofs() -> list[Proof]:
    common = dict(instances=_instances, strategy=_strategy, source="theorems/per_step_delta.py (paper-fidelity §2)",
                  reference="two-point/kappa=1,delta=0.01")
    return [
        Proof(FACTOR_PROOF, "T7", "Proposal-side per-step factor bound (A)",
              r"\mathrm{TV}_t(y) \le P_q(V>b|y) \le e^{(b-V')/\lambda}E_p[e^{\kappa(V-b)}|y]", A_STEPS,
              hypotheses=(r"$\kappa \ge 1/\lambda$", r"$E_p e^{V/\lambda} = e^{V'/\lambda}$"), wrong_steps=A_WRONG,
              **common),
        Proof(WEIGHTED_PROOF, "T7", "Proposal-side δ bounds the count-weighted per-step TV (B)",
              r"E_{\nu,p}e^{\kappa(V_t-b_t)} \le \delta \Rightarrow E_\nu[e^{(V'-b)/\lambda}\mathrm{TV}_t] \le \delta",
              B_STEPS, hypotheses=(r"$\kappa \ge 1/\lambda$", r"any parent law $\nu$"), wrong_steps=B_WRONG, **common),
        Proof(TAIL_PROOF, "T7", "Pointwise tail form of the per-step bound (C)",
              r"P_p(V>b|y)\le\delta \Rightarrow \mathrm{TV}_t(y) \le \delta\big(e^{(M-V')/\lambda}-e^{(b-V')/\lambda}\big)_+",
              C_STEPS, hypotheses=(r"$M \ge \operatorname{ess\,sup} V$",), wrong_steps=C_WRONG, **common),
    ]
