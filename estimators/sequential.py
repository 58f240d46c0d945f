"""Group-sequential designs for the single-step law tests: stop as soon as the verdict is settled.

A fixed-n design pays for its worst case: n is sized for the smallest designed violation, so a clearly
wrong sampler (or a clearly right one) costs as much as a borderline one. Here the sample is drawn in
growing batches and looked at after each; the check stops at the first look that settles the verdict.

**Look schedule** (fixed before any draw). Given the cap N (below), the looks are the geometric
sequence ``n_k = ⌈N·2^{−(K−k)}⌉``, k = 1..K, with K the smallest integer making ``n_1 ≤ first_look``
(so n_1 ∈ (first_look/2, first_look], unless N ≤ first_look and K = 1). Samples are nested: look k
tests the first n_k draws.

**α spending (reject early).** Look k tests H₀ at level ``α_k = α·2^{−(K−k+1)}`` with the fixed-n test
(DKW, exact binomial, multinomial TV). By the union bound over the K looks,

    P_{H₀}(some look rejects) ≤ Σ_k α_k = α(1 − 2^{−K}) < α,

whatever the dependence between looks and whichever look the check stops at: the false-fail level
holds at every stopping time the schedule allows (a Bonferroni split, the simplest valid α-spending;
the final look keeps α/2, so the inflation of the cap is a log 2 in log(1/α), not a log K).

**β spending (accept early, "futility").** Let the designed alternatives have signals
``s_a = d(q_a, q)`` (the population value of the statistic's distance, exact) and ``g = min_a s_a``.
Each statistic T is a distance ``d(P̂_n, q)`` obeying ``|d(P̂_n, q) − d(P, q)| ≤ d(P̂_n, P)`` (triangle
inequality), and ``d(P̂_n, P) ≤ ρ(n, δ)`` w.p. ≥ 1 − δ for a distribution-free radius ρ:

* KS on a CDF: DKW–Massart, ``ρ = √(log(2/δ)/2n)``;
* the frequency of an event: Hoeffding, the same ρ;
* multinomial TV over K cells: ``ρ = ½√(K/n) + √(log(1/δ)/2n)`` (Cauchy–Schwarz + McDiarmid).

Look k < K accepts (stops with "not refuted") when ``T_{n_k} + ρ(n_k, β_k) < g`` with
``β_k = β·2^{−(K−k+1)}``. Under an alternative with ``s_a ≥ g`` that event needs
``d(P̂_{n_k}, P) > ρ(n_k, β_k)``, probability ≤ β_k. The last look rejects such an alternative w.p.
≥ 1 − β/2 when N is the fixed-n design at (α/2, β/2). So the probability of missing a designed
alternative is ≤ Σ_{k<K} β_k + β/2 < β: **the designed power holds at the cap**.

**Inflation.** The cap is ``N = n_fixed(α/2, β/2)``, against ``n_fixed(α, β)`` for the fixed design;
for DKW, ``N/n_fixed = ((√log(4/α) + √log(4/β)) / (√log(2/α) + √log(2/β)))²`` — 1.09 at α = 1e-6,
β = 1e-3 (``sequential_inflation``). The worst case costs that much more; a gross bug stops at the
first look whose α_k-threshold it exceeds, a correct sampler at the first look where ρ(n_k, β_k) plus
its own sampling noise fits under g (about half the fixed n for DKW at these levels).

Design companions (TFP style, both deterministic): ``max_num_samples_for_sequential_dkw_test(gap)``
(the cap, inflation included) and ``min_discrepancy_of_cdfs_detectable_by_sequential_dkw(cap)`` (the
gap the cap detects w.p. ≥ 1 − β); ``min_num_samples_for_sequential_rate_test`` and
``min_discrepancy_of_rates_detectable_by_sequential_test`` for the event frequency.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from estimators.binomial import min_discrepancy_of_binomial_rates_detectable, min_num_samples_for_binomial_rate_test
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_dkw_cdf_test
from estimators.dkw import dkw_radius
from estimators.multinomial_tv import multinomial_tv_radius
from primitives._checks import check_unit_interval

__all__ = ["SequentialDesign", "sequential_design", "look_schedule", "spend", "final_levels", "futility_radius",
           "sequential_inflation", "max_num_samples_for_sequential_dkw_test",
           "min_discrepancy_of_cdfs_detectable_by_sequential_dkw", "min_num_samples_for_sequential_rate_test",
           "min_discrepancy_of_rates_detectable_by_sequential_test", "FIRST_LOOK"]

FIRST_LOOK = 1000
"""Largest size of the first look (the looks double from there up to the cap)."""


def final_levels(alpha: float, beta: float) -> tuple[float, float]:
    """(α_K, β_K) = (α/2, β/2): the levels of the last look, at which the cap is designed."""
    return check_unit_interval("alpha", alpha) / 2.0, check_unit_interval("beta", beta) / 2.0


def look_schedule(cap: int, first_look: int = FIRST_LOOK) -> list[int]:
    """``[⌈cap·2^{−(K−k)}⌉ for k = 1..K]`` with the fewest looks whose first is ≤ ``first_look``."""
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError(f"cap must be a positive integer, got {cap!r}")
    if isinstance(first_look, bool) or not isinstance(first_look, int) or first_look < 1:
        raise ValueError(f"first_look must be a positive integer, got {first_look!r}")
    looks = 1
    while math.ceil(cap / 2 ** (looks - 1)) > first_look:
        looks += 1
    return [int(math.ceil(cap / 2 ** (looks - k))) for k in range(1, looks + 1)]


def spend(total: float, looks: int) -> list[float]:
    """``[total·2^{−(K−k+1)}]_k``: geometric spending, Σ = total(1 − 2^{−K}) < total, the last look total/2."""
    total = check_unit_interval("total", total)
    if looks < 1:
        raise ValueError(f"looks must be ≥ 1, got {looks!r}")
    return [total * 2.0 ** (-(looks - k + 1)) for k in range(1, looks + 1)]


def futility_radius(kind: str, n: int, delta: float, support_size: int | None = None) -> float:
    """Distribution-free ρ(n, δ) with ``d(P̂_n, P) ≤ ρ`` w.p. ≥ 1 − δ for the statistic ``kind``
    (``ks``/``rate``: DKW / Hoeffding; ``multinomial``: TV over ``support_size`` cells)."""
    if kind in ("ks", "rate"):
        return dkw_radius(n, delta)
    if kind == "multinomial":
        if support_size is None or support_size < 1:
            raise ValueError(f"support_size must be a positive integer for kind='multinomial', got {support_size!r}")
        return multinomial_tv_radius(n, delta, support_size=support_size)
    raise ValueError(f"kind must be 'ks', 'rate' or 'multinomial', got {kind!r}")


@dataclass(frozen=True)
class SequentialDesign:
    """Looks, the levels spent at each, the cap and its inflation over the fixed-n design."""

    looks: tuple[int, ...]
    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    fixed_n: int
    cap: int

    @property
    def inflation(self) -> float:
        return self.cap / self.fixed_n


def sequential_design(fixed_n: int, cap: int, alpha: float, beta: float,
                      first_look: int = FIRST_LOOK) -> SequentialDesign:
    """The design for a statistic whose fixed-n size at (α, β) is ``fixed_n`` and whose cap (its fixed-n
    size at ``final_levels(α, β)``, possibly clipped by the caller's max) is ``cap``."""
    looks = look_schedule(int(cap), first_look)
    return SequentialDesign(tuple(looks), tuple(spend(alpha, len(looks))), tuple(spend(beta, len(looks))),
                            int(fixed_n), int(cap))


def sequential_inflation(alpha: float, beta: float) -> float:
    """Cap ÷ fixed n for DKW: ``((√log(4/α) + √log(4/β)) / (√log(2/α) + √log(2/β)))²``."""
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    fixed = math.sqrt(math.log(2 / alpha)) + math.sqrt(math.log(2 / beta))
    return ((math.sqrt(math.log(4 / alpha)) + math.sqrt(math.log(4 / beta))) / fixed) ** 2


def max_num_samples_for_sequential_dkw_test(gap: float, *, alpha: float, beta: float) -> int:
    """The cap N of the sequential DKW test that detects a sup-CDF gap ``gap`` w.p. ≥ 1 − β:
    the fixed-n design at (α/2, β/2); N/n_fixed is ``sequential_inflation(α, β)`` up to rounding."""
    alpha_k, beta_k = final_levels(alpha, beta)
    return min_num_samples_for_dkw_cdf_test(gap, alpha=alpha_k, beta=beta_k)


def min_discrepancy_of_cdfs_detectable_by_sequential_dkw(cap: int, *, alpha: float, beta: float) -> float:
    """Smallest sup-CDF gap the sequential DKW test with cap ``cap`` detects w.p. ≥ 1 − β (at any stop)."""
    alpha_k, beta_k = final_levels(alpha, beta)
    return min_discrepancy_of_cdfs_detectable_by_dkw(cap, alpha=alpha_k, beta=beta_k)


def min_num_samples_for_sequential_rate_test(rate: float, alternative_rate: float, *, alpha: float,
                                             beta: float) -> int:
    """The cap of the sequential exact-binomial test detecting ``alternative_rate`` against ``rate``."""
    alpha_k, beta_k = final_levels(alpha, beta)
    return min_num_samples_for_binomial_rate_test(rate, alternative_rate, alpha=alpha_k, beta=beta_k)


def min_discrepancy_of_rates_detectable_by_sequential_test(cap: int, rate: float, *, alpha: float,
                                                           beta: float) -> tuple[float, float]:
    """(p⁻, p⁺): the rates the sequential exact-binomial test with cap ``cap`` detects w.p. ≥ 1 − β."""
    alpha_k, beta_k = final_levels(alpha, beta)
    return min_discrepancy_of_binomial_rates_detectable(cap, rate, alpha=alpha_k, beta=beta_k)
