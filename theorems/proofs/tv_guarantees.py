"""Proofs of T2 (clipping error), T3 (Chernoff baseline and its sub-Gaussian corollary) and T6 (learned
baselines) as data (issue 22; LCB spec ``lcb.md``). Declared through ``theorems.tv_guarantees.proofs``.

Notation: ``w = e^{r/λ}``, ``c = e^{b/λ}``, ``a_b = min(1, w/c)``, ``Z = E_p w``, ``Z_b = E_p a_b``,
``D = E_p (w − c)_+``, ``q = p w/Z``, ``q_b = p a_b/Z_b``.

T2: ``TV(q_b, q) = Σ (q − q_b)_+``; ``c Z_b = E_p min(w, c) ≤ Z`` so ``q ≤ q_b`` on ``{w ≤ c}``; on
``{w > c}``, ``q − q_b = p(w/Z − 1/Z_b) ≤ p(w − c)/Z``; summing, ``TV ≤ D/Z = E_q (1 − e^{(b−r)/λ})_+ ≤
P_q(r > b)``. T3: under q the log-MGF is ``Λ_p(1/λ + s) − Λ_p(1/λ)``; Chernoff (``lemma.chernoff``) and
the definition of b_δ give ``P_q(r > b_δ) ≤ δ``, and T2 turns it into ``TV ≤ δ``. T6: on the event
``b̂ ≥ b_δ`` (probability ≥ 1 − η by the learner's union of confidence bounds) D/Z is no larger than
at b_δ, so ``TV(q_{b̂}, q) ≤ δ``.
"""
from __future__ import annotations

import math

import numpy as np
import sympy
from scipy.special import logsumexp

from estimators.exact import tilt_quantities as tq
from estimators.baselines import chernoff_baseline
from estimators.exact.reward_law import NormalMixtureLaw
from theorems.proofs._chain_cases import parent_instances
from theorems.proofs._lcb_common import TiltCase, case_instance, finite_tilt_cases, quantities
from theorems.t6_learner_slack import BERNOULLI, DELTA as BERNOULLI_DELTA
from tiltproof.instances.single_step import INSTANCES, LEARNING_INSTANCES, informative_delta
from theorems.tv_guarantees import _baseline_label, t2_baselines
from tiltproof.proofs import Proof, ProofInstance, Sides, Step, WrongStep
from tiltproof.proofs.lemmas import CHERNOFF

__all__ = ["proofs", "T2_PROOF", "T3_PROOF"]

T2_PROOF, T3_PROOF, T3_SUBGAUSSIAN, T6_PROOF = "t2.tv_bound", "t3.chernoff_baseline", "t3.subgaussian", "t6.learned_baseline"

w_, c_, Z_, t_, p_ = sympy.symbols("w c Z t p", positive=True)
y_, lam_ = sympy.Symbol("y", positive=True), sympy.Symbol("lambda", positive=True)


def _case(instance, baseline: float, **kw) -> TiltCase:
    return TiltCase(instance.law, instance.lam, baseline, extra={"instance": instance}, **kw)


def _finite_only(function):
    def wrapped(instance: ProofInstance):
        case: TiltCase = instance.payload
        return function(case, quantities(case)) if case.finite else None
    return wrapped


def _all(function):
    return lambda instance: function(instance.payload, quantities(instance.payload))


# ---------------------------------------------------------------- T2
def _t2_instances() -> list[ProofInstance]:
    return [case_instance(f"{name}/b={_baseline_label(b)}", _case(instance, b))
            for name, instance in INSTANCES.items() for b in t2_baselines(instance)]


def _above(Q):
    return Q["w"] > Q["c"]


T2_STEPS = (
    Step("positive-part", r"\mathrm{TV}(q_b,q) = \sum_x \big(q(x)-q_b(x)\big)_+", "=", "definition",
         numeric=_finite_only(lambda case, Q: Sides(Q["tv"], float(np.maximum(Q["q"] - Q["qb"], 0).sum()), 1e-13))),
    Step("closed-form", r"\mathrm{TV}(q_b,q) = P_q(r>b^*) - P_p(r>b^*)/Z_b,\quad b^*=\lambda\log(Z/Z_b)", "=", "identity",
         numeric=lambda instance: Sides(quantities(instance.payload)["tv"],
                                        tq.tv_to_target(instance.payload.law, instance.payload.lam, instance.payload.baseline),
                                        quantities(instance.payload)["tv_err"] + 1e-10)),
    Step("normalisation", r"c\,Z_b = E_p\min(w,c) \le E_p w = Z", "≤", "monotonicity",
         numeric=_all(lambda case, Q: Sides(Q["c"] * Q["Zb"], Q["Z"], 1e-12 * Q["Z"]))),
    Step("no-excess-below", r"q(x) = \frac{p(x)w(x)}{Z} \le \frac{p(x)w(x)}{cZ_b} = q_b(x)\quad\text{on } \{w\le c\}", "≤", "algebra",
         numeric=_finite_only(lambda case, Q: Sides(Q["q"][~_above(Q)], Q["qb"][~_above(Q)], 1e-14))),
    Step("pointwise-excess", r"\frac{w}{Z}-\frac{1}{Z_b} \le \frac{w-c}{Z}\quad\text{on } \{w>c\},\ t=\frac{cZ_b}{Z}\in(0,1]",
         "≤", "algebra", lhs=w_ / Z_ - c_ / (t_ * Z_), rhs=(w_ - c_) / Z_,
         domain={"w": (0.01, 100.0), "c": (0.01, 100.0), "Z": (0.01, 100.0), "t": (0.001, 1.0)},
         numeric=_finite_only(lambda case, Q: Sides(Q["w"][_above(Q)] / Q["Z"] - 1 / Q["Zb"],
                                                    (Q["w"][_above(Q)] - Q["c"]) / Q["Z"], 1e-12))),
    Step("clip-mass", r"\sum_{w>c} p\,\frac{w-c}{Z} = \frac{D}{Z}", "=", "definition",
         numeric=_finite_only(lambda case, Q: Sides(float(Q["p"] @ np.maximum(Q["w"] - Q["c"], 0)) / Q["Z"],
                                                    tq.clip_mass(case.law, case.lam, case.baseline), 1e-12))),
    Step("tv-le-clip", r"\mathrm{TV}(q_b,q) \le D/Z", "≤", "algebra",
         numeric=_all(lambda case, Q: Sides(Q["tv"], Q["DZ"], Q["tv_err"])),
         text="Sum the pointwise excess over $\\{w>c\\}$; below $c$ there is none."),
    Step("change-of-measure", r"p\,\frac{w-c}{Z} = q\,\big(1-e^{(b-r)/\lambda}\big)\quad\text{so}\quad \frac DZ = E_q\big(1-e^{(b-r)/\lambda}\big)_+",
         "=", "change of measure", lhs=p_ * (w_ - c_) / Z_, rhs=(p_ * w_ / Z_) * (1 - c_ / w_),
         numeric=_finite_only(lambda case, Q: Sides(Q["DZ"], float(Q["q"] @ np.maximum(1 - np.exp((case.baseline - Q["r"]) / case.lam), 0)), 1e-12))),
    Step("le-tail", r"E_q\big(1-e^{(b-r)/\lambda}\big)_+ \le P_q(r>b)\quad(1-e^{-y/\lambda}\le 1 \text{ for } y=r-b>0)",
         "≤", "monotonicity", lhs=1 - sympy.exp(-y_ / lam_), rhs=sympy.Integer(1),
         numeric=_all(lambda case, Q: Sides(Q["DZ"], Q["tail"], 1e-12))),
)


def _t2_wrong() -> tuple[WrongStep, ...]:
    return (
        WrongStep("le-tail-reversed", "le-tail",
                  Step("le-tail", r"E_q(1-e^{(b-r)/\lambda})_+ \ge P_q(r>b)", "≥", "monotonicity",
                       numeric=_all(lambda case, Q: Sides(Q["DZ"], Q["tail"], 1e-12))),
                  "the clip mass claimed to exceed the tail", instance="finite-k10/b=" + _baseline_label(
                      t2_baselines(INSTANCES["finite-k10"])[0])),
        WrongStep("excess-dropped-c", "pointwise-excess",
                  Step("pointwise-excess", r"\frac wZ-\frac1{Z_b}\le \frac{w-c}{Z}-\frac cZ", "≤", "algebra",
                       lhs=w_ / Z_ - c_ / (t_ * Z_), rhs=(w_ - 2 * c_) / Z_,
                       domain={"w": (0.01, 100.0), "c": (0.01, 100.0), "Z": (0.01, 100.0), "t": (0.001, 1.0)}),
                  "the clipped level subtracted twice (a wrong constant)"),
    )


# ---------------------------------------------------------------- T3
def _t3_instances() -> list[ProofInstance]:
    out = []
    for name, instance in INSTANCES.items():
        for delta in (0.5, informative_delta(instance)):
            found = chernoff_baseline(instance.law, instance.lam, delta)
            out.append(case_instance(f"{name}/delta={delta:g}", _case(instance, found.value, delta=delta, s=found.s)))
    # per_step_delta's T3 claims: the per-parent oracle Chernoff baseline at every step of gmm-ref-B7, δ = 1e-3
    return out + parent_instances("gmm-ref-B7", None, "oracle", delta=1e-3, suffix=",delta=0.001")


_ROUNDING = 8 * np.finfo(float).eps
"""Relative rounding of a float64 difference of two large terms: at a minimiser s ~ 1e9 (b_δ at the top atom of a
chain's step law) ``ΔΛ(s) − s b_δ`` is a difference of two 1e10-sized numbers."""


def _log_mgf_gap(case: TiltCase) -> float:
    return case.law.log_mgf(1 / case.lam + case.s) - case.law.log_mgf(1 / case.lam)


def _tilted_mgf(instance: ProofInstance, tilt: bool = True) -> Sides | None:
    case: TiltCase = instance.payload
    if not case.finite or not math.isfinite(case.s):
        return None
    Q = quantities(case)
    with np.errstate(divide="ignore"):
        lhs = float(logsumexp(np.log(Q["q"]) + case.s * Q["r"]))       # log space: s·r reaches 10⁴ on chains
    rhs = _log_mgf_gap(case) if tilt else case.law.log_mgf(case.s)
    return Sides(lhs, rhs, 1e-10 + _ROUNDING * abs(rhs))


def _if_clipping(function):
    def wrapped(instance: ProofInstance):
        case: TiltCase = instance.payload
        return function(case, quantities(case)) if math.isfinite(case.s) else None
    return wrapped


T3_STEPS = (
    Step("tilted-mgf", r"\log E_q e^{sr} = \Lambda_p(1/\lambda+s)-\Lambda_p(1/\lambda)", "=", "change of measure",
         numeric=_tilted_mgf),
    Step("chernoff", r"P_q(r>b_\delta) \le \exp\big(\Lambda_p(1/\lambda+s)-\Lambda_p(1/\lambda)-s\,b_\delta\big)", "≤",
         "Chernoff", cites=CHERNOFF,
         numeric=_if_clipping(lambda case, Q: Sides(Q["tail"], math.exp(_log_mgf_gap(case) - case.s * case.baseline), 1e-12))),
    Step("definition-of-b", r"\Lambda_p(1/\lambda+s)-\Lambda_p(1/\lambda)-s\,b_\delta \le \log\delta", "≤", "definition",
         numeric=_if_clipping(lambda case, Q: Sides(_log_mgf_gap(case) - case.s * case.baseline, math.log(case.delta),
                                                    1e-8 + _ROUNDING * case.s * abs(case.baseline))),
         text=r"$b_\delta$ is the value of the objective at its minimiser $s$."),
    Step("tv-le-tail", r"\mathrm{TV}(q_{b_\delta},q) \le P_q(r>b_\delta)", "≤", "lemma", cites=T2_PROOF,
         numeric=_all(lambda case, Q: Sides(Q["tv"], Q["tail"], Q["tv_err"]))),
    Step("tail-le-delta", r"P_q(r>b_\delta) \le \delta", "≤", "algebra",
         numeric=_all(lambda case, Q: Sides(Q["tail"], case.delta, 1e-10))),
)


def _t3_wrong() -> tuple[WrongStep, ...]:
    return (WrongStep("mgf-untilted", "tilted-mgf",
                      Step("tilted-mgf", r"\log E_q e^{sr} = \Lambda_p(s)", "=", "change of measure",
                           numeric=lambda instance: _tilted_mgf(instance, tilt=False)),
                      "the tilt forgotten: the MGF taken under p", instance="finite-k10/delta=0.5"),)


# ---------------------------------------------------------------- T3, sub-Gaussian corollary
mu_, sigma_, L_, s_ = sympy.Symbol("mu", real=True), sympy.Symbol("sigma", positive=True), \
    sympy.Symbol("L", positive=True), sympy.Symbol("s", positive=True)
_LAMBDA_P = lambda t: mu_ * t + sigma_**2 * t**2 / 2
_MU_Q = mu_ + sigma_**2 / lam_
_OBJECTIVE = (s_ * _MU_Q + s_**2 * sigma_**2 / 2 + L_) / s_
_S_STAR = sympy.sqrt(2 * L_) / sigma_


def _gaussian_instances() -> list[ProofInstance]:
    out = []
    for name, instance in INSTANCES.items():
        if not instance.is_gaussian_linear:
            continue
        law: NormalMixtureLaw = instance.law
        mu, sigma = float(law.means[0]), float(law.stds[0])
        for delta in (0.1, 0.01):
            out.append(ProofInstance(f"{name}/delta={delta:g}",
                                     {"mu": mu, "sigma": sigma, "lambda": instance.lam, "L": math.log(1 / delta)},
                                     (law, instance.lam, delta)))
    return out


def _gaussian_strategy():
    """r ~ N(μ, σ²) under p, any λ and δ: the hypotheses of the corollary (the tail by the law's closed form)."""
    from hypothesis import strategies as st

    def build(mu: float, sigma: float, lam: float, delta: float) -> ProofInstance:
        law = NormalMixtureLaw(np.zeros(1), np.array([mu]), np.array([sigma]))
        return ProofInstance(f"N({mu:.4g}, {sigma:.4g}²), λ={lam:.4g}, δ={delta:.4g}",
                             {"mu": mu, "sigma": sigma, "lambda": lam, "L": math.log(1 / delta)}, (law, lam, delta))

    return st.builds(build, st.floats(-3.0, 3.0), st.floats(0.1, 3.0), st.floats(0.2, 5.0), st.floats(1e-4, 0.5))


def _gaussian_tail(instance: ProofInstance) -> Sides:
    law, lam, delta = instance.payload
    P = instance.parameters
    b = P["mu"] + P["sigma"] ** 2 / lam + P["sigma"] * math.sqrt(2 * P["L"])
    return Sides(tq.tail_probability_q(law, lam, b), delta, 1e-12)


T3_SUBGAUSSIAN_STEPS = (
    Step("tilted-gaussian", r"\Lambda_p(1/\lambda+s)-\Lambda_p(1/\lambda) = s\mu_q + \tfrac12 s^2\sigma^2,\quad \mu_q=\mu+\sigma^2/\lambda",
         "=", "change of measure", lhs=_LAMBDA_P(1 / lam_ + s_) - _LAMBDA_P(1 / lam_), rhs=s_ * _MU_Q + s_**2 * sigma_**2 / 2),
    Step("optimum", r"\frac{s\mu_q+\frac12 s^2\sigma^2+L}{s}\Big|_{s=\sqrt{2L}/\sigma} = \mu_q+\sigma\sqrt{2L},\quad L=\log(1/\delta)",
         "=", "calculus", lhs=_OBJECTIVE.subs(s_, _S_STAR), rhs=_MU_Q + sigma_ * sympy.sqrt(2 * L_)),
    Step("square", r"\frac{s\mu_q+\frac12 s^2\sigma^2+L}{s} - \mu_q-\sigma\sqrt{2L} = \Big(\sigma\sqrt{s/2}-\sqrt{L/s}\Big)^2",
         "=", "algebra", lhs=_OBJECTIVE - _MU_Q - sigma_ * sympy.sqrt(2 * L_),
         rhs=(sigma_ * sympy.sqrt(s_ / 2) - sympy.sqrt(L_ / s_)) ** 2),
    Step("minimum", r"\Big(\sigma\sqrt{s/2}-\sqrt{L/s}\Big)^2 \ge 0", "≥", "algebra",
         lhs=(sigma_ * sympy.sqrt(s_ / 2) - sympy.sqrt(L_ / s_)) ** 2, rhs=sympy.Integer(0),
         text=r"So $b_\delta=\inf_s$ of the objective is $\mu_q+\sigma\sqrt{2\log(1/\delta)}$."),
    Step("tail", r"P_q\big(r>\mu_q+\sigma\sqrt{2\log(1/\delta)}\big) \le \delta", "≤", "Chernoff", cites=T3_PROOF,
         numeric=_gaussian_tail),
)


# ---------------------------------------------------------------- T6
def _t6_instances() -> list[ProofInstance]:
    out = []
    for name, instance in {**INSTANCES, **LEARNING_INSTANCES}.items():
        delta = 0.5 if name in LEARNING_INSTANCES else informative_delta(instance)
        found = chernoff_baseline(instance.law, instance.lam, delta)
        out.append(case_instance(f"{name}/delta={delta:g}", _case(instance, found.value, delta=delta, s=found.s)))
    bernoulli = BERNOULLI.law
    found = chernoff_baseline(bernoulli, BERNOULLI.lam, BERNOULLI_DELTA)
    out.append(case_instance(f"{BERNOULLI.name}/delta={BERNOULLI_DELTA:g}",
                             _case(BERNOULLI, found.value, delta=BERNOULLI_DELTA, s=found.s)))
    for t, delta in ((10, 0.05), (2, 0.01)):      # t6.learned_chain_baseline: the per-parent b_δ it must dominate
        out += parent_instances("gmm-ref-B2", (t,), "oracle", delta=delta, suffix=f",delta={delta:g}")
    return out


def _grid(case: TiltCase) -> list[TiltCase]:
    top = case.law.ess_sup if math.isfinite(case.law.ess_sup) else case.baseline + 5 * case.lam
    return [TiltCase(case.law, case.lam, b, delta=case.delta, extra=case.extra)
            for b in np.linspace(case.baseline, max(top, case.baseline), 9)]


def _t6_clip(instance: ProofInstance) -> Sides:
    case: TiltCase = instance.payload
    values = np.array([quantities(c)["DZ"] for c in _grid(case)])
    return Sides(values, np.full(values.shape, quantities(case)["DZ"]), 1e-12)


def _t6_tv(instance: ProofInstance) -> Sides:
    case: TiltCase = instance.payload
    grid = [quantities(c) for c in _grid(case)]
    return Sides(np.array([Q["tv"] for Q in grid]), np.full(len(grid), case.delta), max(Q["tv_err"] for Q in grid))


T6_STEPS = (
    Step("certificate", r"P\big(\hat b < b_\delta\big) \le \eta", "≤", "union bound",
         argued="a probability over the learner's random training sample (confidence bounds on Λ_p at a union of "
                "points); the claims t6.certificate test it by an exact binomial test, and t6_learner_slack on a "
                "two-point law where the learner's law is exact"),
    Step("clip-monotone", r"\hat b \ge b_\delta \ \Rightarrow\ D(\hat b)/Z \le D(b_\delta)/Z", "≤", "monotonicity",
         numeric=_t6_clip, text=r"$D(b)=E_p(w-e^{b/\lambda})_+$ is nonincreasing in $b$ (checked on a grid of $\hat b\ge b_\delta$)."),
    Step("tv-le-delta", r"\hat b \ge b_\delta \ \Rightarrow\ \mathrm{TV}(q_{\hat b},q) \le \delta", "≤", "lemma", cites=T3_PROOF,
         numeric=_t6_tv),
)


def _t6_wrong() -> tuple[WrongStep, ...]:
    return (WrongStep("clip-increasing", "clip-monotone",
                      Step("clip-monotone", r"\hat b\ge b_\delta \Rightarrow D(\hat b)/Z \ge D(b_\delta)/Z", "≥",
                           "monotonicity", numeric=_t6_clip),
                      "the clip mass taken to grow with the baseline", instance="finite-u11/delta=0.5"),)


def proofs() -> list[Proof]:
    return [
        Proof(T2_PROOF, "T2", "Clipping error of tilted rejection",
              r"\mathrm{TV}(q_b,q) \le D/Z = E_q\big[(1-e^{(b-r)/\lambda})_+\big] \le P_q(r>b)",
              T2_STEPS, _t2_instances, strategy=lambda: finite_tilt_cases("any"), wrong_steps=_t2_wrong(),
              hypotheses=(r"$\lambda>0$, any baseline $b$",), source="LCB spec T2", reference="finite-k10/b=" +
              _baseline_label(t2_baselines(INSTANCES["finite-k10"])[0])),
        Proof(T3_PROOF, "T3", "Chernoff baseline",
              r"P_q(r>b)\le e^{\Lambda_p(1/\lambda+s)-\Lambda_p(1/\lambda)-sb}\ \Rightarrow\ \mathrm{TV}(q_{b_\delta},q)\le\delta",
              T3_STEPS, _t3_instances, strategy=lambda: finite_tilt_cases("chernoff"), wrong_steps=_t3_wrong(),
              hypotheses=(r"$0<\delta<1$", r"$\Lambda_p$ finite at $1/\lambda+s$"), source="LCB spec T3",
              reference="finite-k10/delta=0.5"),
        Proof(T3_SUBGAUSSIAN, "T3", "Sub-Gaussian corollary of the Chernoff baseline",
              r"r\sim\mathcal N(\mu,\sigma^2) \text{ under } p:\ b_\delta = \mu_q+\sigma\sqrt{2\log(1/\delta)}",
              T3_SUBGAUSSIAN_STEPS, _gaussian_instances, strategy=_gaussian_strategy,
              hypotheses=(r"$r\sim\mathcal N(\mu,\sigma^2)$ under $p$",),
              source="LCB spec T3"),
        Proof(T6_PROOF, "T6", "Learned baseline guarantee",
              r"P\big(\mathrm{TV}(q_{\hat b},q)>\delta\big)\le\eta", T6_STEPS, _t6_instances,
              strategy=lambda: finite_tilt_cases("chernoff"), wrong_steps=_t6_wrong(),
              hypotheses=(r"$\hat b$ upper-bounds $b_\delta$ with probability $\ge 1-\eta$",), source="LCB spec T6",
              reference="finite-u11/delta=0.5"),
    ]
