"""Proofs of T1 (ideal rejection is exact), T4 (proposal complexity) and T5 (δ is the compute knob) as
data (issue 22; LCB spec). Declared through ``theorems.proposal_complexity.proofs``.

T1: for ``B ≥ ess sup r``, ``a_B = e^{(r−B)/λ}`` (no clipping), so ``Z_B = Z e^{−B/λ}``, ``q_B = q`` and
``N(B) = 1/Z_B = e^{(B−V)/λ}``. T4: ``c Z_b = E_p min(w, c) = Z − D``, so ``N(b) = 1/Z_b =
e^{(b−V)/λ}/(1 − D/Z)``; ``0 ≤ D/Z < 1`` gives the lower bound and ``D/Z ≤ δ`` the upper one; with T1,
``N(B)/N(b) = e^{(B−b)/λ}(1 − D/Z)``. T5: the Chernoff objective ``(ΔΛ(s) + log(1/δ))/s`` decreases in δ
for every s, so does its infimum b_δ, and N(b) = 1/Z_b increases in b.

On the chains of the T1 and T4 claims each step is a single-step problem per parent (reward V_t, base
p_t(·|y)); the steps are evaluated on the finite law of V_t at each listed parent (``_chain_cases``: T1 at every
step with B_t = sup V_t, T4 at the claims' step). Those instances are marked slow.
"""
from __future__ import annotations

import math

import numpy as np
import sympy

from estimators.exact import tilt_quantities as tq
from estimators.baselines import chernoff_baseline
from theorems.proofs._chain_cases import parent_instances
from theorems.proofs._lcb_common import TiltCase, case_instance, finite_tilt_cases, quantities
from tiltproof.instances.single_step import INSTANCES, LEARNING_INSTANCES, informative_delta
from theorems.tv_guarantees import _baseline_label, t2_baselines
from tiltproof.proofs import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs"]

lam_, Z_, D_, u_, x_, delta_, t_, s_, k_ = sympy.symbols("lambda Z D u x delta t s k", positive=True)
b_, B_, V_, y_ = sympy.symbols("b B V y", real=True)
A_ = sympy.Symbol("A", real=True)
_POSITIVE_FINITE = {**INSTANCES, **LEARNING_INSTANCES}
T1_CHAINS = ("gmm-ref-B3", "gmm-ddpm-B3", "gmm-ddpm-B5", "lm-tiny-B5")
"""Chains of the T1 claims (t1.trajectory_exact, ddpm.x0_marginal): per-step T1 with B_t = sup V_t at each parent."""
T4_CHAIN_STEPS = (("gmm-ref-B5", 10), ("gmm-ddpm-B5", 10), ("masked-ref-B5", 2))
"""(chain, t) of the T4 step claims: baseline V_{t+1}(y) + 0.5 and (not on the DDPM chain) the oracle b_δ, δ = 0.3."""


def _case(instance, baseline: float, **kw) -> TiltCase:
    return TiltCase(instance.law, instance.lam, baseline, extra={"instance": instance}, **kw)


def _all(function):
    return lambda instance: function(instance.payload, quantities(instance.payload))


# ---------------------------------------------------------------- T1
def _t1_instances() -> list[ProofInstance]:
    out = []
    for name, instance in _POSITIVE_FINITE.items():
        top = instance.law.ess_sup
        if math.isfinite(top):
            for B in (top, top + 1.0):
                out.append(case_instance(f"{name}/B={B:.4g}", _case(instance, B, envelope=B)))
    for chain in T1_CHAINS:     # per-step T1 at every step and parent of the chains the T1 claims run on
        out += parent_instances(chain, None, "envelope")
    return out


def _t1_law(instance: ProofInstance) -> Sides:
    case: TiltCase = instance.payload
    Q = quantities(case)
    if case.finite:
        return Sides(Q["qb"], Q["q"], 1e-13)
    return Sides(Q["tv"], 0.0, Q["tv_err"] + 1e-12)


T1_STEPS = (
    Step("no-clipping", r"r\le B \ \Rightarrow\ e^{(r-B)/\lambda}\le 1,\ \text{so } a_B = e^{(r-B)/\lambda}", "≤", "monotonicity",
         lhs=sympy.exp(y_ / lam_), rhs=sympy.Integer(1), domain={"y": (-50.0, 0.0), "lambda": (0.01, 100.0)}),
    Step("partition", r"Z_B = E_p\,e^{(r-B)/\lambda} = Z\,e^{-B/\lambda}", "=", "algebra",
         numeric=_all(lambda case, Q: Sides(Q["Zb"], Q["Z"] * math.exp(-case.baseline / case.lam), 1e-12 * Q["Zb"]))),
    Step("law", r"q_B = \frac{p\,e^{(r-B)/\lambda}}{Z e^{-B/\lambda}} = \frac{p\,w}{Z} = q", "=", "definition", numeric=_t1_law),
    Step("proposals", r"N(B) = \frac1{Z_B} = \frac{e^{B/\lambda}}{Z} = e^{(B-V)/\lambda},\quad V=\lambda\log Z", "=", "algebra",
         lhs=1 / (Z_ * sympy.exp(-B_ / lam_)), rhs=sympy.exp((B_ - lam_ * sympy.log(Z_)) / lam_),
         numeric=_all(lambda case, Q: Sides(tq.expected_proposals(case.law, case.lam, case.baseline),
                                            math.exp((case.baseline - Q["V"]) / case.lam), 1e-10 * Q["N"]))),
)


def _t1_wrong() -> tuple[WrongStep, ...]:
    return (WrongStep("proposals-without-lambda", "proposals",
                      Step("proposals", r"N(B) = e^{B-V}", "=", "algebra", lhs=1 / (Z_ * sympy.exp(-B_ / lam_)),
                           rhs=sympy.exp(B_ - lam_ * sympy.log(Z_))),
                      "the temperature dropped from the exponent"),)


# ---------------------------------------------------------------- T4
def _t4_instances() -> list[ProofInstance]:
    out = []
    for name, instance in INSTANCES.items():
        for b in t2_baselines(instance):
            out.append(case_instance(f"{name}/b={_baseline_label(b)}", _case(instance, b, envelope=instance.law.ess_sup)))
        delta = informative_delta(instance)
        found = chernoff_baseline(instance.law, instance.lam, delta)
        out.append(case_instance(f"{name}/delta={delta:g}", _case(instance, found.value, delta=delta, s=found.s,
                                                                  envelope=instance.law.ess_sup)))
    for chain, t in T4_CHAIN_STEPS:     # the step claims t4.step_proposals_identity/upper
        out += parent_instances(chain, (t,), 0.5, suffix=",offset=0.5")
        if not chain.startswith("gmm-ddpm"):
            out += parent_instances(chain, (t,), "oracle", delta=0.3, suffix=",delta=0.3")
    return out


def _clip_identity(case: TiltCase, Q) -> Sides:
    if case.finite:
        return Sides(Q["c"] * Q["Zb"], Q["Z"] - float(Q["p"] @ np.maximum(Q["w"] - Q["c"], 0)), 1e-12 * Q["Z"])
    return Sides(Q["c"] * Q["Zb"], Q["Z"] * (1 - Q["DZ"]), 1e-10 * Q["Z"])


def _upper(case: TiltCase, Q, factor: bool = True) -> Sides | None:
    if case.delta is None:
        return None
    ideal = math.exp((case.baseline - Q["V"]) / case.lam)
    return Sides(Q["N"], ideal / (1 - case.delta) if factor else ideal, 1e-10 * Q["N"])


def _saving(case: TiltCase, Q) -> Sides | None:
    if case.envelope is None or not math.isfinite(case.envelope) or case.envelope < case.baseline:
        return None
    ratio = tq.expected_proposals(case.law, case.lam, case.envelope) / Q["N"]
    return Sides(ratio, math.exp((case.envelope - case.baseline) / case.lam) * (1 - Q["DZ"]), 1e-9 * ratio)


T4_STEPS = (
    Step("clip-identity", r"c\,Z_b = E_p\min(w,c) = E_p w - E_p(w-c)_+ = Z - D", "=", "algebra",
         numeric=_all(_clip_identity)),
    Step("identity", r"N(b) = \frac1{Z_b} = \frac{c}{Z-D} = \frac{e^{(b-V)/\lambda}}{1-D/Z}", "=", "algebra",
         lhs=sympy.exp(b_ / lam_) / (Z_ - D_), rhs=sympy.exp((b_ - lam_ * sympy.log(Z_)) / lam_) / (1 - D_ / Z_),
         numeric=_all(lambda case, Q: Sides(Q["N"], math.exp((case.baseline - Q["V"]) / case.lam) / (1 - Q["DZ"]),
                                            1e-10 * Q["N"]))),
    Step("lower", r"0\le D/Z<1 \ \Rightarrow\ \frac{e^{x}}{1-D/Z} \ge e^{x},\quad x=(b-V)/\lambda", "≥", "monotonicity",
         lhs=sympy.exp(x_) / (1 - u_), rhs=sympy.exp(x_), domain={"x": (-30.0, 30.0), "u": (0.0, 0.999)},
         numeric=_all(lambda case, Q: Sides(Q["N"], math.exp((case.baseline - Q["V"]) / case.lam), 1e-10 * Q["N"]))),
    Step("upper-factor", r"D/Z = t\delta \le \delta \ \Rightarrow\ \frac1{1-t\delta} \le \frac1{1-\delta}", "≤", "monotonicity",
         lhs=1 / (1 - t_ * delta_), rhs=1 / (1 - delta_), domain={"t": (0.0, 1.0), "delta": (0.001, 0.99)}),
    Step("upper", r"N(b_\delta) \le \frac{e^{(b_\delta-V)/\lambda}}{1-\delta}", "≤", "lemma", cites="t3.chernoff_baseline",
         numeric=_all(_upper), text=r"At $b_\delta$, $D/Z\le P_q(r>b_\delta)\le\delta$ (T2, T3)."),
    Step("saving", r"\frac{N(B)}{N(b)} = \frac{e^{(B-V)/\lambda}(1-D/Z)}{e^{(b-V)/\lambda}} = e^{(B-b)/\lambda}(1-D/Z)", "=",
         "algebra", lhs=sympy.exp((B_ - V_) / lam_) / (sympy.exp((b_ - V_) / lam_) / (1 - u_)),
         rhs=sympy.exp((B_ - b_) / lam_) * (1 - u_), numeric=_all(_saving),
         text=r"With $B\ge\operatorname{ess\,sup} r$, $N(B)=e^{(B-V)/\lambda}$ (T1)."),
)


def _t4_wrong() -> tuple[WrongStep, ...]:
    return (
        WrongStep("upper-without-factor", "upper",
                  Step("upper", r"N(b_\delta) \le e^{(b_\delta-V)/\lambda}", "≤", "lemma",
                       numeric=_all(lambda case, Q: _upper(case, Q, factor=False))),
                  "the factor 1/(1 − δ) dropped", instance="finite-k10/delta=0.25"),
        WrongStep("identity-one-plus", "identity",
                  Step("identity", r"N(b) = e^{(b-V)/\lambda}(1+D/Z)", "=", "algebra",
                       lhs=sympy.exp(b_ / lam_) / (Z_ - D_), rhs=sympy.exp((b_ - lam_ * sympy.log(Z_)) / lam_) * (1 + D_ / Z_)),
                  "1/(1 − D/Z) replaced by its first-order expansion 1 + D/Z"),
    )


# ---------------------------------------------------------------- T5
DELTAS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9)


def _t5_instances() -> list[ProofInstance]:
    return [case_instance(name, _case(instance, instance.soft_value)) for name, instance in INSTANCES.items()]


def _baselines(case: TiltCase) -> np.ndarray:
    """b_δ for every δ of ``DELTAS`` (memoised per law: both T5 steps and the search's replays use them)."""
    key = (id(case.law), case.lam)
    hit = _BASELINES.get(key)
    if hit is None or hit[0] is not case.law:
        if len(_BASELINES) > 4096:
            _BASELINES.clear()
        hit = _BASELINES[key] = (case.law, np.array([chernoff_baseline(case.law, case.lam, delta).value
                                                     for delta in DELTAS]))
    return hit[1]


_BASELINES: dict[tuple, tuple] = {}


def _t5_baselines(instance: ProofInstance, reverse: bool = False) -> Sides:
    values = _baselines(instance.payload)
    larger_delta, smaller_delta = values[1:], values[:-1]
    return Sides(smaller_delta, larger_delta, 1e-9) if reverse else Sides(larger_delta, smaller_delta, 1e-9)


def _t5_proposals(instance: ProofInstance) -> Sides:
    case: TiltCase = instance.payload
    counts = np.array([tq.expected_proposals(case.law, case.lam, b) for b in _baselines(case)])
    return Sides(counts[1:], counts[:-1], 1e-9 * counts.max())


T5_STEPS = (
    Step("objective-difference", r"\frac{A+\log(1/\delta)}{s} - \frac{A+\log(1/(k\delta))}{s} = \frac{\log k}{s}", "=", "algebra",
         lhs=(A_ + sympy.log(1 / delta_)) / s_ - (A_ + sympy.log(1 / (k_ * delta_))) / s_, rhs=sympy.log(k_) / s_),
    Step("objective-decreasing", r"k\ge 1 \ \Rightarrow\ \frac{\log k}{s}\ge 0", "≥", "monotonicity",
         lhs=sympy.log(k_) / s_, rhs=sympy.Integer(0), domain={"k": (1.0, 1000.0), "s": (0.001, 1000.0)}),
    Step("baseline-decreasing", r"\delta'\ge\delta \ \Rightarrow\ b_{\delta'} = \inf_s(\cdot) \le b_\delta", "≤", "monotonicity",
         numeric=_t5_baselines, text=r"An infimum of functions each decreasing in $\delta$ decreases in $\delta$ (checked on a grid of $\delta$)."),
    Step("proposals-decreasing", r"b'\le b \ \Rightarrow\ N(b') = 1/Z_{b'} \le 1/Z_b = N(b)", "≤", "monotonicity",
         numeric=_t5_proposals, text=r"$Z_b=E_p\min(1,e^{(r-b)/\lambda})$ is nonincreasing in $b$."),
)


def _t5_wrong() -> tuple[WrongStep, ...]:
    return (WrongStep("baseline-increasing", "baseline-decreasing",
                      Step("baseline-decreasing", r"b_{\delta'} \ge b_\delta", "≥", "monotonicity",
                           numeric=_t5_baselines), "the monotonicity reversed", instance="finite-k10"),)


def proofs() -> list[Proof]:
    return [
        Proof("t1.ideal_exact", "T1", "Ideal rejection is exact",
              r"B\ge\operatorname{ess\,sup} r \ \Rightarrow\ q_B=q,\ N(B)=e^{(B-V)/\lambda}", T1_STEPS, _t1_instances,
              strategy=lambda: finite_tilt_cases("envelope"), wrong_steps=_t1_wrong(), hypotheses=(r"$B\ge\operatorname{ess\,sup} r$",),
              source="LCB spec T1", reference="finite-k10/B=3.4"),
        Proof("t4.proposals", "T4", "Proposal complexity",
              r"N(b) = \frac{e^{(b-V)/\lambda}}{1-D/Z},\quad e^{(b-V)/\lambda}\le N(b)\le\frac{e^{(b-V)/\lambda}}{1-\delta}\ \text{if } D/Z\le\delta",
              T4_STEPS, _t4_instances, strategy=lambda: finite_tilt_cases("chernoff"), wrong_steps=_t4_wrong(),
              hypotheses=(r"$\lambda>0$",), source="LCB spec T4", reference="finite-k10/delta=0.25"),
        Proof("t5.tradeoff", "T5", r"$\delta$ is the compute knob",
              r"\delta\mapsto b_\delta \text{ and } \delta\mapsto N(b_\delta) \text{ are nonincreasing}", T5_STEPS,
              _t5_instances, strategy=lambda: finite_tilt_cases("any"), wrong_steps=_t5_wrong(), hypotheses=(r"$0<\delta<1$",), source="LCB spec T5",
              reference="finite-k10"),
    ]
