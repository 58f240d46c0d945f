"""Soft best-of-n's KL bound: the output law of soft best-of-n is within O(1/n) of the tilted law.

Setting (Verdun et al., "Soft Best-of-n Sampling for Model Alignment", 2025): base law ``p``, reward
``r ∈ [0, R]``, temperature ``λ > 0``, ``w = e^{r/λ}``, ``Z = E_p[w]``, tilted law ``π_λ = p·w/Z``; soft
best-of-n draws ``X_1, …, X_n ~ p`` and returns ``X_i`` with probability ``w(X_i)/Σ_j w(X_j)``; ``P_n`` is its
output law.

**Bound.** ``KL(π_λ ‖ P_n) ≤ log(1 + χ²(π_λ ‖ p)/n) ≤ log(1 + (e^{R/λ} − 1)² / (4 e^{R/λ} n))``.

*Proof.* ``P_n(x) = n·p(x)·w(x)·E[1/(w(x) + S_{n−1})]`` with ``S_{n−1}`` the sum of ``w`` over the other
``n − 1`` draws. (i) ``t ↦ 1/t`` is convex, so ``E[1/(w(x) + S_{n−1})] ≥ 1/(w(x) + (n − 1)Z)`` and
``π_λ(x)/P_n(x) ≤ 1 + (w(x)/Z − 1)/n``. (ii) ``log`` is concave, so ``KL(π_λ ‖ P_n) = E_{π_λ}[log(π_λ/P_n)]
≤ log(1 + (E_{π_λ}[w/Z] − 1)/n)`` and ``E_{π_λ}[w/Z] − 1 = E_p[w²]/Z² − 1 = χ²(π_λ ‖ p)``. (iii) ``w ∈ [1, M]``,
``M = e^{R/λ}``: ``Var_p(w) ≤ (M − Z)(Z − 1)`` (Bhatia–Davis), and ``(M − Z)(Z − 1)/Z² ≤ (M − 1)²/(4M)``, with
equality at ``Z = 2M/(M + 1)`` (a two-point reward with ``p(r = R) = 1/(1 + M)``). ∎

**Claims** (each instance and n):

* ``softbon.sampler_law`` — the sampler under test (``softbon_theorem.sampler``) has the law ``P_n`` computed by
  enumeration (``softbon_theorem.exact``, a route without sampling): multinomial TV test at the claim's α,
  n designed for a TV gap of ``LAW_GAP`` at miss rate β (``min_num_samples_for_multinomial_tv_test``);
* ``softbon.kl_bound`` — the exact ``KL(π_λ ‖ P_n)`` is at most the bound (an exact comparison).

Wrong variants: a sampler that forgets λ (selects with ``e^{r}``), and the bound with ``n²`` for ``n``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import sympy
import torch

from softbon_theorem.exact import kl, kl_bound, soft_bon_law, tilted_law
from softbon_theorem.sampler import soft_best_of_n_sample
from tiltproof.api import (CheckContext, Claim, Evidence, Hypothesis, Mutant, min_gap_of_tvs_detectable_by_multinomial,
                           min_num_samples_for_multinomial_tv_test, multinomial_tv_radius, upper_bound_evidence,
                           wrong_variant)

__all__ = ["claims", "mutants", "proofs", "INSTANCES", "N_VALUES", "LAW_GAP", "KL_BOUND"]

THEOREM = "softBoN"
MODULE = "softbon_theorem.claims"
LAW_GAP = 0.05  # smallest TV between the sampler's law and P_n that the law check detects w.p. ≥ 1 − β
N_VALUES = (2, 8)

n_symbol, lam_symbol, range_symbol = sympy.symbols("n lambda R", positive=True)
_M = sympy.exp(range_symbol / lam_symbol)
KL_BOUND = sympy.log(1 + (_M - 1) ** 2 / (4 * _M * n_symbol))


@dataclass(frozen=True)
class Instance:
    name: str
    probs: tuple[float, ...]
    rewards: tuple[float, ...]
    lam: float
    reward_range: float


def _two_point(lam: float) -> Instance:
    m = math.exp(1.0 / lam)  # p(r = 1) = 1/(1 + M): the instance where step (iii) of the proof is an equality
    return Instance("two-point-extremal", (m / (1 + m), 1 / (1 + m)), (0.0, 1.0), lam, 1.0)


INSTANCES = {instance.name: instance for instance in (
    Instance("finite-k5", (0.4, 0.3, 0.15, 0.1, 0.05), (0.0, 0.25, 0.5, 0.75, 1.0), 0.25, 1.0),
    _two_point(0.5),
)}


def _hypotheses(instance: Instance, n: int) -> tuple[Hypothesis, ...]:
    probs, rewards = np.asarray(instance.probs), np.asarray(instance.rewards)
    return (
        Hypothesis(r"$p$ is a probability vector", lambda: bool(np.all(probs >= 0) and abs(probs.sum() - 1) < 1e-12)),
        Hypothesis(r"$r \in [0, R]$", lambda: bool(np.all((rewards >= 0) & (rewards <= instance.reward_range)))),
        Hypothesis(r"$\lambda > 0$, $n \geq 1$", lambda: instance.lam > 0 and n >= 1),
    )


def check_sampler_law(instance: Instance, n: int, context: CheckContext, *, lam_used: float | None = None) -> Evidence:
    """The sampler's outputs against the exact ``P_n``: empirical TV ≤ the multinomial radius at α."""
    law = soft_bon_law(np.asarray(instance.probs), np.asarray(instance.rewards), instance.lam, n)
    size = min_num_samples_for_multinomial_tv_test(LAW_GAP, law, alpha=context.alpha, beta=context.beta)
    samples = soft_best_of_n_sample(torch.tensor(instance.probs), torch.tensor(instance.rewards),
                                    instance.lam if lam_used is None else lam_used, n, size, context.generator(),
                                    device=context.device)
    frequencies = np.bincount(samples.cpu().numpy(), minlength=law.size) / size
    statistic = 0.5 * float(np.abs(frequencies - law).sum())
    threshold = multinomial_tv_radius(size, context.alpha, probs=law)
    holds = statistic <= threshold
    return Evidence(holds=holds, statistic="TV(empirical, exact P_n) vs ½Σ√(P_n/m) + √(log(1/α)/2m)",
                    bound=threshold, empirical=statistic, confidence_bound=statistic, n=size,
                    detectable_gap=min_gap_of_tvs_detectable_by_multinomial(size, law, alpha=context.alpha,
                                                                           beta=context.beta),
                    detectable_gap_units="TV", margin=threshold - statistic,
                    message="" if holds else f"sampler law differs from P_n: TV {statistic:.4g} > {threshold:.4g}")


def check_kl_bound(instance: Instance, n: int, context: CheckContext, *, bound_n: int | None = None) -> Evidence:
    """Exact ``KL(π_λ ‖ P_n)`` (enumeration) against the bound evaluated at ``bound_n`` (default n)."""
    probs, rewards = np.asarray(instance.probs), np.asarray(instance.rewards)
    exact = kl(tilted_law(probs, rewards, instance.lam), soft_bon_law(probs, rewards, instance.lam, n))
    bound = kl_bound(instance.reward_range, instance.lam, n if bound_n is None else bound_n)
    return upper_bound_evidence(statistic="exact KL(π_λ ‖ P_n) by enumeration", bound=bound, exact=exact,
                                empirical=None, lower_confidence=None, n=0, detectable_gap=None)


def claims() -> list[Claim]:
    out = []
    for instance in INSTANCES.values():
        for n in N_VALUES:
            common = dict(theorem=THEOREM, module=MODULE, instance=instance.name, hypotheses=_hypotheses(instance, n),
                          parameters={"n": float(n), "lambda": instance.lam, "R": instance.reward_range})
            out += [
                Claim(id=f"softbon.sampler_law/{instance.name}/n={n}", title="soft best-of-n outputs P_n",
                      statement=r"soft best-of-$n$ returns $X_i$ w.p. $\propto e^{r(X_i)/\lambda}$; its law is $P_n$",
                      bound_expression=sympy.Integer(0), check=partial(check_sampler_law, instance, n), **common),
                Claim(id=f"softbon.kl_bound/{instance.name}/n={n}", title="KL(π_λ ‖ P_n) = O(1/n)",
                      statement=r"$\mathrm{KL}(\pi_\lambda \| P_n) \leq \log(1 + (e^{R/\lambda}-1)^2/(4e^{R/\lambda}n))$",
                      bound_expression=KL_BOUND, check=partial(check_kl_bound, instance, n), **common),
            ]
    return out


def proofs():
    """The bound's proof as data (``softbon_theorem.proofs``; imported lazily: it needs hypothesis only to search)."""
    from softbon_theorem.proofs import proofs as declared

    return declared()


def mutants() -> list[Mutant]:
    registered = claims()
    finite, extremal = INSTANCES["finite-k5"], INSTANCES["two-point-extremal"]
    n_squared = KL_BOUND.subs(n_symbol, n_symbol**2)
    return [
        Mutant("softbon-forgot-lambda", THEOREM, "a sampler selecting with e^{r} instead of e^{r/λ} (λ = 0.25)",
               wrong_variant(registered, "softbon.sampler_law/finite-k5/n=8",
                             partial(check_sampler_law, finite, 8, lam_used=1.0), "forgot-lambda")),
        Mutant("softbon-bound-n-squared", THEOREM, "the bound with n² in place of n (a claimed O(1/n²) rate)",
               wrong_variant(registered, "softbon.kl_bound/two-point-extremal/n=8",
                             partial(check_kl_bound, extremal, 8, bound_n=64), "n-squared", n_squared)),
    ]
