"""The proof of the best-of-N KL bound as data (theorem "BoN"; the worked example of issue 22).

Statement: for every reward law, ``KL(π_BoN ‖ p) ≤ log N − (N−1)/N`` (Beirami et al. 2024, arXiv
2401.01879), with equality when the reward law under p is continuous.

Proof. Let R = r(X), F its CDF under p, φ(x) = x log x. For a level v of R put a_v = F(v−), b_v = F(v),
p(v) = b_v − a_v and g(v) = b_v^N − a_v^N.

1. *law* (definition). π_BoN picks the first argmax: draws before it lie below v (prob. a_v each), after
   it at most v (b_v each), so ``π_BoN(i) = p_i Σ_{j=1}^N a_v^{j−1} b_v^{N−j} = p_i g(v)/p(v)``, v = r(i).
2. *levels* (data processing, with equality: dπ_BoN/dp is a function of R). ``KL(π_BoN ‖ p) = ∫_0^1
   φ(h̄(u)) du`` with h̄ = N u^{N−1} off the atoms and, on an atom's interval (a_v, b_v], its mean
   ``g(v)/p(v)`` there (for a continuous law: u = F(R) ~ U(0,1) under p, and π_BoN has density N u^{N−1}).
3. *jensen* (Jensen). φ is convex, so on each atom interval ``p(v) φ(g(v)/p(v)) ≤ ∫_{a_v}^{b_v} φ(N u^{N−1}) du``.
4. *integral* (calculus). ``∫_0^1 φ(N u^{N−1}) du = log N + (N−1) ∫_0^1 N u^{N−1} log u du = log N − (N−1)/N``.

Every step is evaluated exactly on the theorem's registered instances (the two finite laws and the two
continuous ones, N ∈ ``N_VALUES``) and on finite laws drawn by ``hypothesis`` (ties likely); step 4 is
proved by sympy. The three wrong steps are a reversed Jensen, a left CDF dropped from the law of the
selected level, and the integral's ``(N−1)/N`` replaced by 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy
from scipy import integrate

from estimators.exact.reward_law import DiscreteLaw, NormalMixtureLaw, RewardLaw
from theorems.best_of_n import (INSTANCES, N_SYMBOL, N_VALUES, KL_BOUND, category_log_probabilities,
                                kl_by_quadrature, kl_exact_discrete)
from tiltproof.proofs import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "BoNCase", "level_cdfs", "position_law", "phi_integral", "finite_case_strategy"]

U = sympy.Symbol("u", positive=True)


@dataclass(frozen=True)
class BoNCase:
    """A reward law and N: the payload of a BoN ``ProofInstance``."""

    law: RewardLaw
    N: int


# ---------------------------------------------------------------- exact routes, independent of the module's
def level_cdfs(law: DiscreteLaw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(levels v, a_v = F(v−), b_v = F(v)) by sorting and summing the probabilities (no log space)."""
    probs = np.exp(law.log_probs)
    levels = np.unique(law.values[probs > 0])
    mass = np.array([probs[law.values == v].sum() for v in levels])
    b = np.cumsum(mass) / mass.sum()
    a = np.concatenate([[0.0], b[:-1]])
    return levels, a, b


def position_law(law: DiscreteLaw, N: int, left_cdf: bool = True) -> np.ndarray:
    """π_BoN(i) by the position of the first argmax: ``p_i Σ_j a^{j−1} b^{N−j}`` (a literal sum over j).
    ``left_cdf=False`` is the wrong step (a_v taken as 0: the earlier draws' constraint dropped)."""
    probs = np.exp(law.log_probs)
    levels, a, b = level_cdfs(law)
    out = np.zeros_like(probs)
    for i, (p_i, value) in enumerate(zip(probs, law.values)):
        if p_i == 0:
            continue
        k = int(np.searchsorted(levels, value))
        below = a[k] if left_cdf else 0.0
        out[i] = p_i * sum(below ** (j - 1) * b[k] ** (N - j) for j in range(1, N + 1))
    return out


def _phi_h(u: float, N: int) -> float:
    """φ(N u^{N−1}) = N u^{N−1} (log N + (N−1) log u), 0 at u = 0."""
    if u <= 0.0:
        return 0.0 if N > 1 else 0.0
    return N * u ** (N - 1) * (math.log(N) + (N - 1) * math.log(u))


def phi_integral(low: float, high: float, N: int) -> tuple[float, float]:
    """∫_low^high φ(N u^{N−1}) du by adaptive quadrature: (value, error estimate)."""
    if high <= low:
        return 0.0, 0.0
    value, error = integrate.quad(_phi_h, low, high, args=(N,), epsabs=1e-13, epsrel=1e-11, limit=200)
    return float(value), float(error)


def _phi(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


def _atoms(law: DiscreteLaw, N: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a_v, b_v, mean of N u^{N−1} on (a_v, b_v]) by the position route (grouped by level)."""
    levels, a, b = level_cdfs(law)
    mean = np.array([sum(lo ** (j - 1) * hi ** (N - j) for j in range(1, N + 1)) for lo, hi in zip(a, b)])
    return a, b, mean


# ---------------------------------------------------------------- the steps' sides on an instance
def _law_sides(instance: ProofInstance, left_cdf: bool = True) -> Sides | None:
    case: BoNCase = instance.payload
    if not isinstance(case.law, DiscreteLaw):
        return None
    lhs = np.exp(category_log_probabilities(case.law, case.N))   # the module's log-space route
    return Sides(lhs, position_law(case.law, case.N, left_cdf=left_cdf), error=1e-12)


def _levels_sides(instance: ProofInstance) -> Sides:
    case: BoNCase = instance.payload
    if isinstance(case.law, DiscreteLaw):
        a, b, mean = _atoms(case.law, case.N)
        return Sides(kl_exact_discrete(case.law, case.N), float(np.sum((b - a) * _phi(mean))), error=1e-12)
    value, error = kl_by_quadrature(case.law, case.N)
    target, target_error = phi_integral(0.0, 1.0, case.N)
    return Sides(value, target, error=error + target_error)


def _jensen_sides(instance: ProofInstance) -> Sides | None:
    case: BoNCase = instance.payload
    if not isinstance(case.law, DiscreteLaw):
        return None   # no atoms: the step is an equality and there is nothing to compare
    a, b, mean = _atoms(case.law, case.N)
    integrals = [phi_integral(lo, hi, case.N) for lo, hi in zip(a, b)]
    return Sides((b - a) * _phi(mean), np.array([value for value, _ in integrals]),
                 error=float(sum(error for _, error in integrals)) + 1e-12)


PHI_INTEGRAL = sympy.Integral(N_SYMBOL * U ** (N_SYMBOL - 1) * sympy.log(N_SYMBOL * U ** (N_SYMBOL - 1)), (U, 0, 1))

STEPS = (
    Step("law", r"\pi_{\mathrm{BoN}}(i) = p_i\sum_{j=1}^{N} a_v^{\,j-1} b_v^{\,N-j} = p_i\,\frac{g(v)}{p(v)},\quad v=r(i)",
         "=", "definition", numeric=_law_sides,
         text="The first argmax is at position $j$ when the earlier draws lie below $v$ and the later ones at most $v$."),
    Step("levels", r"\mathrm{KL}(\pi_{\mathrm{BoN}}\,\|\,p) = \int_0^1 \varphi\big(\bar h(u)\big)\,du",
         "=", "data processing", numeric=_levels_sides,
         text=r"$d\pi_{\mathrm{BoN}}/dp$ depends on $x$ only through $r(x)$, so the KL is that of the reward "
              r"laws; in $u=F(r)$ it is $\varphi$ of the mean $\bar h$ of $Nu^{N-1}$ over each atom's interval."),
    Step("jensen", r"p(v)\,\varphi\!\Big(\frac{g(v)}{p(v)}\Big) \le \int_{a_v}^{b_v} \varphi(Nu^{N-1})\,du",
         "≤", "Jensen", numeric=_jensen_sides,
         text=r"$\varphi$ is convex and $g(v)/p(v)$ is the mean of $Nu^{N-1}$ over $(a_v, b_v]$."),
    Step("integral", r"\int_0^1 \varphi(Nu^{N-1})\,du = \log N - \frac{N-1}{N}", "=", "calculus",
         lhs=PHI_INTEGRAL, rhs=KL_BOUND,
         text=r"$\int_0^1 Nu^{N-1}\log u\,du = -1/N$ (the mean of $\log U$ for $U\sim\mathrm{Beta}(N,1)$)."),
)


def _instances() -> list[ProofInstance]:
    return [ProofInstance(f"{instance.name}/N={N}", {"N": N}, BoNCase(instance.law, N))
            for instance in INSTANCES.values() for N in N_VALUES]


def finite_case_strategy():
    """Finite reward laws with K ≤ 6 atoms, rewards in {0, 1, 2, 3} (ties likely), N ∈ [1, 12]."""
    from hypothesis import strategies as st

    @st.composite
    def cases(draw) -> ProofInstance:
        size = draw(st.integers(1, 6))
        weights = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=size, max_size=size)))
        rewards = np.array(draw(st.lists(st.integers(0, 3), min_size=size, max_size=size)), dtype=float)
        N = draw(st.integers(1, 12))
        law = DiscreteLaw(rewards, np.log(weights / weights.sum()))
        name = f"p={np.round(weights / weights.sum(), 4).tolist()}, r={rewards.tolist()}, N={N}"
        return ProofInstance(name, {"N": N, "K": size}, BoNCase(law, N))

    return cases()


def _wrong_steps() -> tuple[WrongStep, ...]:
    reversed_jensen = Step("jensen", STEPS[2].latex.replace(r"\le", r"\ge"), "≥", "Jensen", numeric=_jensen_sides)
    no_left_cdf = Step("law", r"\pi_{\mathrm{BoN}}(i) = p_i\,N b_v^{\,N-1}", "=", "definition",
                       numeric=lambda instance: _law_sides(instance, left_cdf=False))
    log_n_minus_one = sympy.log(N_SYMBOL) - 1
    return (
        WrongStep("jensen-reversed", "jensen", reversed_jensen, "Jensen's inequality the wrong way round",
                  instance="finite-k8/N=4"),
        WrongStep("law-no-left-cdf", "law", no_left_cdf,
                  "the earlier draws' constraint a_v dropped from the law of the first argmax",
                  instance="finite-ties-k6/N=4"),
        WrongStep("integral-log-n-minus-one", "integral",
                  Step("integral", r"\int_0^1 \varphi(Nu^{N-1})\,du = \log N - 1", "=", "calculus",
                       lhs=PHI_INTEGRAL, rhs=log_n_minus_one),
                  "the integral's (N−1)/N replaced by 1 (the bound log N − 1 of the claim variant bon-bound-log-n-minus-one)"),
    )


def proofs() -> list[Proof]:
    return [Proof(
        id="bon.kl_bound", theorem="BoN", title=r"Best-of-$N$: $\mathrm{KL}(\pi_{\mathrm{BoN}}\,\|\,p) \le \log N - (N-1)/N$",
        statement=r"\mathrm{KL}(\pi_{\mathrm{BoN}}\,\|\,p) \le \log N - \frac{N-1}{N}",
        hypotheses=(r"$N \ge 1$ draws from $p$; $\pi_{\mathrm{BoN}}$ returns the first one of maximal reward",
                    r"any reward law: $a_v=F(v-)$, $b_v=F(v)$, $p(v)=b_v-a_v$, $g(v)=b_v^N-a_v^N$, $\varphi(x)=x\log x$"),
        steps=STEPS, instances=_instances, strategy=finite_case_strategy, wrong_steps=_wrong_steps(),
        source="Beirami et al. 2024, arXiv 2401.01879", reference="finite-k8/N=4")]
