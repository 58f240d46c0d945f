"""The proof of soft best-of-n's KL bound as data (tiltproof's proof companion; ``softbon_theorem.claims``'
docstring has the argument in prose). ``softbon_theorem.claims.proofs`` imports this lazily.

Notation: base law ``p`` on K atoms, rewards ``r ∈ [0, R]``, ``w = e^{r/λ}``, ``Z = E_p w``, ``M = e^{R/λ}``,
``π = p·w/Z``, ``P_n`` the output law of soft best-of-n.

1. *representation*: ``P_n(x) = n p(x) w(x) E[1/(w(x) + S_{n−1})]`` — ``exact.soft_bon_law`` (count vectors,
   log space) against a literal sum over all ``K^n`` ordered tuples of draws (an independent route);
2. *ratio* (Jensen, ``t ↦ 1/t`` convex): ``π(x)/P_n(x) ≤ 1 + (w(x)/Z − 1)/n`` at every atom;
3. *log-jensen* (Jensen, log concave): ``KL(π ‖ P_n) ≤ log(1 + (E_π[w/Z] − 1)/n)``;
4. *chi-square* (identity): ``E_π[w/Z] − 1 = E_p[w²]/Z² − 1 = Var_p(w)/Z²``;
5. *bhatia-davis*: ``Var_p(w) ≤ (M − Z)(Z − 1)`` for ``w ∈ [1, M]``;
6. *maximum* (calculus, symbolic): ``(M − Z)(Z − 1)/Z² ≤ (M − 1)²/(4M)`` on ``1 ≤ Z ≤ M`` (the difference is
   ``((M + 1)Z − 2M)²/(4MZ²)``).

Instances: the claims' two instances at n ∈ {2, 8}; the search draws finite laws (K ≤ 4, n ≤ 5).
Wrong step: the bound with n² for n (the claims' wrong variant), killed at *log-jensen* on finite-k5/n=8.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

from softbon_theorem.exact import soft_bon_law, tilted_law
from tiltproof.proofs import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "PROOF_ID"]

PROOF_ID = "softbon.kl_bound"


@dataclass(frozen=True, eq=False)
class Case:
    probs: np.ndarray
    rewards: np.ndarray
    lam: float
    reward_range: float
    n: int


@lru_cache(maxsize=512)
def _quantities(case: Case) -> dict:
    w = np.exp(case.rewards / case.lam)
    Z = float(case.probs @ w)
    return {"w": w, "Z": Z, "M": math.exp(case.reward_range / case.lam), "pi": tilted_law(case.probs, case.rewards, case.lam),
            "Pn": soft_bon_law(case.probs, case.rewards, case.lam, case.n), "var": float(case.probs @ (w - Z) ** 2)}


def _brute_force(case: Case) -> np.ndarray:
    """P_n by summing over every ordered n-tuple of draws: P(tuple)·w(x_i)/Σ_j w(x_j) onto each x_i."""
    w = np.exp(case.rewards / case.lam)
    index = np.array(list(itertools.product(range(case.probs.size), repeat=case.n)))     # (K^n, n)
    weight = np.prod(case.probs[index], axis=1)
    share = w[index] / w[index].sum(1, keepdims=True)
    law = np.zeros(case.probs.size)
    np.add.at(law, index.ravel(), (weight[:, None] * share).ravel())
    return law


def _q(instance: ProofInstance) -> dict:
    return _quantities(instance.payload)


def _ratio(instance: ProofInstance) -> Sides:
    Q, case = _q(instance), instance.payload
    return Sides(Q["pi"] / Q["Pn"], 1 + (Q["w"] / Q["Z"] - 1) / case.n, 1e-10)


def _log_jensen(instance: ProofInstance, power: int = 1) -> Sides:
    Q, case = _q(instance), instance.payload
    kl = float(np.sum(Q["pi"] * np.log(Q["pi"] / Q["Pn"])))
    return Sides(kl, math.log1p((float(Q["pi"] @ (Q["w"] / Q["Z"])) - 1) / case.n ** power), 1e-10)


M_, u_ = sympy.Symbol("M", positive=True), sympy.Symbol("u", nonnegative=True)
_Z = 1 + u_ * (M_ - 1)                     # Z ∈ [1, M] as u ∈ [0, 1]

STEPS = (
    Step("representation", r"P_n(x) = n\,p(x)\,w(x)\,E\Big[\frac{1}{w(x)+S_{n-1}}\Big]", "=", "definition",
         numeric=lambda i: Sides(_q(i)["Pn"], _brute_force(i.payload), 1e-12),
         text=r"Left: a sum over the $K^n$ ordered tuples of draws; right: the package's sum over count vectors."),
    Step("ratio", r"\frac{\pi_\lambda(x)}{P_n(x)} \le 1+\frac{w(x)/Z-1}{n}", "≤", "Jensen", numeric=_ratio,
         text=r"$t\mapsto 1/t$ is convex: $E[1/(w(x)+S_{n-1})]\ge 1/(w(x)+(n-1)Z)$."),
    Step("log-jensen", r"\mathrm{KL}(\pi_\lambda\|P_n) \le \log\Big(1+\frac{E_{\pi_\lambda}[w/Z]-1}{n}\Big)", "≤", "Jensen",
         numeric=_log_jensen),
    Step("chi-square", r"E_{\pi_\lambda}[w/Z]-1 = \frac{E_p w^2}{Z^2}-1 = \frac{\mathrm{Var}_p(w)}{Z^2}", "=", "identity",
         numeric=lambda i: Sides(float(_q(i)["pi"] @ (_q(i)["w"] / _q(i)["Z"])) - 1, _q(i)["var"] / _q(i)["Z"] ** 2, 1e-12)),
    Step("bhatia-davis", r"\mathrm{Var}_p(w) \le (M-Z)(Z-1),\quad w\in[1,M]", "≤", "monotonicity",
         numeric=lambda i: Sides(_q(i)["var"], (_q(i)["M"] - _q(i)["Z"]) * (_q(i)["Z"] - 1), 1e-12 * _q(i)["M"] ** 2),
         text=r"$E_p(M-w)(w-1)\ge 0$ expands to $\mathrm{Var}_p(w)\le (M-Z)(Z-1)$."),
    Step("maximum", r"\frac{(M-Z)(Z-1)}{Z^2} \le \frac{(M-1)^2}{4M},\quad 1\le Z\le M", "≤", "calculus",
         lhs=(M_ - _Z) * (_Z - 1) / _Z**2, rhs=(M_ - 1) ** 2 / (4 * M_), domain={"M": (1.0, 50.0), "u": (0.0, 1.0)},
         text=r"The difference is $((M+1)Z-2M)^2/(4MZ^2)\ge 0$, zero at $Z=2M/(M+1)$."),
)


def _instance(name: str, probs, rewards, lam: float, reward_range: float, n: int) -> ProofInstance:
    probs = np.asarray(probs, dtype=float)
    case = Case(probs / probs.sum(), np.asarray(rewards, dtype=float), lam, reward_range, n)
    return ProofInstance(f"{name}/n={n}", {"lambda": lam, "R": reward_range, "n": n}, case)


def _instances() -> list[ProofInstance]:
    from softbon_theorem.claims import INSTANCES, N_VALUES

    return [_instance(instance.name, instance.probs, instance.rewards, instance.lam, instance.reward_range, n)
            for instance in INSTANCES.values() for n in N_VALUES]


def _strategy():
    from hypothesis import strategies as st

    @st.composite
    def draws(draw) -> ProofInstance:
        size = draw(st.integers(1, 4))
        probs = draw(st.lists(st.floats(0.05, 1.0), min_size=size, max_size=size))
        reward_range = draw(st.floats(0.1, 3.0))
        rewards = draw(st.lists(st.floats(0.0, reward_range), min_size=size, max_size=size))
        lam, n = draw(st.floats(0.2, 2.0)), draw(st.integers(1, 5))
        name = f"p={np.round(probs, 3).tolist()}, r={np.round(rewards, 3).tolist()}, λ={lam:.3g}, R={reward_range:.3g}"
        return _instance(name, probs, rewards, lam, reward_range, n)

    return draws()


def proofs() -> list[Proof]:
    wrong = WrongStep("n-squared", "log-jensen",
                      Step("log-jensen", r"\mathrm{KL}(\pi_\lambda\|P_n) \le \log\Big(1+\frac{E_{\pi_\lambda}[w/Z]-1}{n^2}\Big)",
                           "≤", "Jensen", numeric=lambda i: _log_jensen(i, power=2)),
                      "the bound with n² for n (the claims' wrong variant)", instance="finite-k5/n=8")
    return [Proof(PROOF_ID, "softBoN", "Soft best-of-n is within O(1/n) of the tilted law",
                  r"\mathrm{KL}(\pi_\lambda\|P_n) \le \log\Big(1+\frac{\chi^2(\pi_\lambda\|p)}{n}\Big) \le "
                  r"\log\Big(1+\frac{(e^{R/\lambda}-1)^2}{4e^{R/\lambda}n}\Big)",
                  STEPS, _instances, strategy=_strategy, wrong_steps=(wrong,),
                  hypotheses=(r"$r\in[0,R]$", r"$\lambda>0$", r"$n\ge1$"),
                  source="Verdun et al. 2025; softbon_theorem.claims", reference="finite-k5/n=2")]
