"""Proofs of the peers' guarantees (QRS's TV bound and acceptance rate; SIR's ``TV(π_M, q) ≤ ρ/M``) as
data (issue 22). Declared through ``theorems.peer_guarantees.proofs``; the SIR argument is the one in
``theorems.peer_guarantees``'s docstring, step by step.

SIR quantities are computed at the reward level by enumerating the multinomial counts
``c ~ Mult(M, p_R)`` (the particles' law up to order): ``S_A/M = Σ_{v∈A} c_v w_v / M``,
``W̄ = Σ_v c_v w_v / M`` — a route written here from the definition, independent of
``estimators.exact.peer_laws``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import sympy
from scipy.special import gammaln

from estimators.exact.peer_laws import _atoms, sir_reward_probabilities
from theorems.proofs._lcb_common import TiltCase, case_instance, finite_tilt_cases, quantities
from tiltproof.instances.single_step import INSTANCES
from theorems.peer_guarantees import QRS_INSTANCES, SIR_SETTINGS, _qrs_beta, qrs_acceptance_by_quadrature
from tiltproof.proofs import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "sir_moments"]

W_, Z_ = sympy.symbols("W Z", positive=True)


# ---------------------------------------------------------------- QRS
def _qrs_instances() -> list[ProofInstance]:
    out = []
    for name in QRS_INSTANCES:
        instance = INSTANCES[name]
        beta = _qrs_beta(instance)
        case = TiltCase(instance.law, instance.lam, instance.lam * math.log(beta), extra={"instance": instance})
        out.append(case_instance(f"{name}/beta={beta:.4g}", case, beta=beta))
    return out


def _beta(case: TiltCase) -> float:
    return math.exp(case.baseline / case.lam)


def _z_beta(case: TiltCase, Q) -> float:
    if case.finite:
        return float(Q["p"] @ np.minimum(Q["w"], _beta(case)))
    return _beta(case) * Q["Zb"]


def _all(function):
    return lambda instance: function(instance.payload, quantities(instance.payload))


def _qrs_law(case: TiltCase, Q) -> Sides | None:
    if not case.finite:
        return None
    z_beta = _z_beta(case, Q)
    return Sides(Q["p"] * np.minimum(Q["w"], _beta(case)) / z_beta, Q["qb"], 1e-13)


def _acceptance(case: TiltCase, Q) -> Sides:
    instance = case.extra.get("instance")
    if instance is None:
        value, error = float(Q["p"] @ np.minimum(Q["w"] / _beta(case), 1.0)), 1e-13
    else:
        value, error = qrs_acceptance_by_quadrature(instance, _beta(case))
    return Sides(value, _z_beta(case, Q) / _beta(case), error + 1e-10)


QRS_STEPS = (
    Step("partition", r"Z_\beta = E_p\min(w,\beta) = \beta\,E_p\min(w/\beta,1) = \beta Z_b,\quad b=\lambda\log\beta", "=",
         "algebra", numeric=_all(lambda case, Q: Sides(_z_beta(case, Q), _beta(case) * Q["Zb"], 1e-12 * Q["Z"]))),
    Step("law", r"p_\beta = \frac{p\min(w,\beta)}{Z_\beta} = \frac{p\min(1,w/\beta)}{Z_b} = q_b", "=", "definition",
         numeric=_all(_qrs_law)),
    Step("clip-mass", r"\frac DZ = \frac{Z-cZ_b}{Z} = 1-\frac{Z_\beta}{Z}", "=", "algebra",
         numeric=_all(lambda case, Q: Sides(Q["DZ"], 1 - _z_beta(case, Q) / Q["Z"], 1e-10))),
    Step("tv", r"\mathrm{TV}(p_\beta,q) = \mathrm{TV}(q_b,q) \le D/Z = 1-Z_\beta/Z", "≤", "lemma", cites="t2.tv_bound",
         numeric=_all(lambda case, Q: Sides(Q["tv"], 1 - _z_beta(case, Q) / Q["Z"], Q["tv_err"]))),
    Step("acceptance", r"P(\text{accept}) = E_p\min(w/\beta,1) = Z_\beta/\beta", "=", "definition", numeric=_all(_acceptance)),
)


# ---------------------------------------------------------------- SIR
def _compositions(k: int, m: int) -> np.ndarray:
    return np.array([np.diff((-1, *bars, m + k - 1)) - 1 for bars in itertools.combinations(range(m + k - 1), k - 1)])


def sir_moments(values: np.ndarray, probs: np.ndarray, lam: float, m: int) -> dict[str, np.ndarray | float]:
    """Per reward level v (A = {v}): π_M(v) = E[S_A/(M W̄)], q(v), −Cov(S_A/M, W̄)/Z², the remainder
    E[(S_A/M)(W̄−Z)²/(Z² W̄)], E[w² 1_A], ρ; by enumeration of the counts (weights rescaled by e^{−max r/λ})."""
    w = np.exp((values - values.max()) / lam)
    counts = _compositions(values.size, m)
    pmf = np.exp(gammaln(m + 1) - gammaln(counts + 1).sum(1) + (counts * np.log(probs)).sum(1))
    S = counts * w / m                        # S_A/M for each singleton A (rows: compositions)
    W = S.sum(1)
    Z = float(probs @ w)
    pi = pmf @ (S / W[:, None])
    mean_S = pmf @ S
    cov = pmf @ (S * W[:, None]) - mean_S * float(pmf @ W)
    remainder = pmf @ (S * ((W - Z) ** 2 / (Z**2 * W))[:, None])
    second = probs * w**2
    return {"pi": pi, "q": probs * w / Z, "first": -cov / Z**2, "remainder": remainder, "second": second,
            "Z": Z, "rho": float(second.sum()) / Z**2, "cov": cov}


def _sir_instances() -> list[ProofInstance]:
    out = []
    for name, m in SIR_SETTINGS:
        instance = INSTANCES[name]
        values, probs = _atoms(instance.law)
        out.append(ProofInstance(f"{name}/M={m}", {"lambda": instance.lam, "M": m}, (instance.law, values, probs, instance.lam, m)))
    return out


def _sir_strategy():
    from hypothesis import strategies as st

    @st.composite
    def draws(draw) -> ProofInstance:
        size = draw(st.integers(1, 4))
        weights = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=size, max_size=size)))
        values = np.array(sorted(set(draw(st.lists(st.integers(-4, 6), min_size=size, max_size=size)))), float) / 2
        weights = weights[: values.size] / weights[: values.size].sum()
        lam, m = draw(st.sampled_from([0.25, 0.5, 1.0, 2.0])), draw(st.integers(1, 8))
        from estimators.exact.reward_law import DiscreteLaw

        law = DiscreteLaw(values, np.log(weights))
        return ProofInstance(f"p={np.round(weights, 3).tolist()}, r={values.tolist()}, λ={lam}, M={m}",
                             {"lambda": lam, "M": m}, (law, values, weights, lam, m))

    return draws()


def _sir(function):
    def wrapped(instance: ProofInstance):
        law, values, probs, lam, m = instance.payload
        return function(sir_moments(values, probs, lam, m), law, lam, m)
    return wrapped


def _sir_law(moments, law, lam, m) -> Sides:
    _, module_law = sir_reward_probabilities(law, lam, m)
    return Sides(module_law, moments["pi"], 1e-12)


SIR_STEPS = (
    Step("law", r"\pi_M(A) = E\Big[\frac{S_A/M}{\bar W}\Big],\ S_A=\sum_i w_i\mathbf 1_A(x_i),\ \bar W=\frac1M\sum_j w_j",
         "=", "definition", numeric=_sir(_sir_law)),
    Step("reciprocal", r"\frac1{\bar W} = \frac1Z - \frac{\bar W-Z}{Z^2} + \frac{(\bar W-Z)^2}{Z^2\bar W}", "=", "algebra",
         lhs=1 / W_, rhs=1 / Z_ - (W_ - Z_) / Z_**2 + (W_ - Z_) ** 2 / (Z_**2 * W_)),
    Step("decomposition", r"\pi_M(A)-q(A) = -\frac{\mathrm{Cov}(S_A/M,\bar W)}{Z^2} + E\Big[\frac{S_A}{M}\frac{(\bar W-Z)^2}{Z^2\bar W}\Big]",
         "=", "identity", numeric=_sir(lambda mo, law, lam, m: Sides(mo["pi"] - mo["q"], mo["first"] + mo["remainder"], 1e-12)),
         text=r"Take expectations in the identity times $S_A/M$; $E[S_A/M]=Z\,q(A)$ and $E\bar W=Z$."),
    Step("covariance", r"\mathrm{Cov}(S_A/M,\bar W) = \frac{E_p[w^2\mathbf 1_A]-Z^2q(A)}{M}", "=", "identity",
         numeric=_sir(lambda mo, law, lam, m: Sides(mo["cov"], (mo["second"] - mo["Z"] ** 2 * mo["q"]) / m, 1e-12))),
    Step("first-upper", r"-\frac{\mathrm{Cov}(S_A/M,\bar W)}{Z^2} \le \frac{q(A)}M", "≤", "algebra",
         numeric=_sir(lambda mo, law, lam, m: Sides(mo["first"], mo["q"] / m, 1e-12))),
    Step("first-lower", r"-\frac{\mathrm{Cov}(S_A/M,\bar W)}{Z^2} \ge \frac{q(A)-\rho}M", "≥", "algebra",
         numeric=_sir(lambda mo, law, lam, m: Sides(mo["first"], (mo["q"] - mo["rho"]) / m, 1e-12)),
         text=r"$E_p[w^2\mathbf 1_A]\le E_p w^2=\rho Z^2$."),
    Step("remainder", r"0 \le E\Big[\frac{S_A}{M}\frac{(\bar W-Z)^2}{Z^2\bar W}\Big] \le \frac{\mathrm{Var}(\bar W)}{Z^2} = \frac{\rho-1}M",
         "≤", "monotonicity", numeric=_sir(lambda mo, law, lam, m: Sides(mo["remainder"], np.full_like(mo["remainder"], (mo["rho"] - 1) / m), 1e-12)),
         text=r"$0\le S_A/M\le\bar W$."),
    Step("tv", r"|\pi_M(A)-q(A)| \le \rho/M \ \text{for every } A,\ \text{so}\ \mathrm{TV}(\pi_M,q)\le\rho/M", "≤", "algebra",
         numeric=_sir(lambda mo, law, lam, m: Sides(0.5 * float(np.abs(mo["pi"] - mo["q"]).sum()), mo["rho"] / m, 1e-12))),
)


def _sir_wrong() -> tuple[WrongStep, ...]:
    return (WrongStep("remainder-without-rho", "remainder",
                      Step("remainder", r"E[\cdots]\le 1/M^2", "≤", "monotonicity",
                           numeric=_sir(lambda mo, law, lam, m: Sides(mo["remainder"], np.full_like(mo["remainder"], 1 / m**2), 1e-12))),
                      "the remainder bounded by 1/M² (variance of W̄ forgotten)", instance="finite-k10/M=8"),)


def proofs() -> list[Proof]:
    qrs_wrong = (WrongStep("acceptance-times-beta", "acceptance",
                           Step("acceptance", r"P(\text{accept}) = Z_\beta", "=", "definition",
                                numeric=_all(lambda case, Q: Sides(_acceptance(case, Q).lhs, _z_beta(case, Q), 1e-10))),
                           "the division by β dropped", instance=_qrs_instances()[1].name),)
    return [
        Proof("qrs.guarantees", "QRS", "Quasi-rejection sampling: TV bound and acceptance rate",
              r"\mathrm{TV}(p_\beta,q)\le 1-Z_\beta/Z,\quad P(\text{accept}) = Z_\beta/\beta", QRS_STEPS, _qrs_instances,
              strategy=lambda: finite_tilt_cases("any"), wrong_steps=qrs_wrong, hypotheses=(r"$\beta>0$",),
              source="T2 with $b=\\lambda\\log\\beta$", reference=_qrs_instances()[1].name),
        Proof("sir.tv_bound", "SIR", "Importance-sampling consistency of SIR",
              r"\mathrm{TV}(\pi_M,q)\le\rho/M,\quad \rho=E_p[w^2]/(E_pw)^2", SIR_STEPS, _sir_instances,
              strategy=_sir_strategy, wrong_steps=_sir_wrong(), hypotheses=("finite reward law (exact enumeration)",),
              source="theorems/peer_guarantees.py"),
    ]
