"""The certificate of a per-step mean: an upper confidence bound on ``E X`` (X ∈ [0, 1]) by betting, and its
design (paper-fidelity §2; LCB spec T3 per state, T7).

**Why not the KL bound.** A per-step target-side term ``X = P_q(V_t > b_t(y) | y)`` of a sampler that meets T3 per
state (the oracle Chernoff baseline) is ≤ δ at every parent, and its mean over parents sits well below δ
(0.15δ at the worst step of the oracle on gmm-ref-B7). Hoeffding's KL bound treats X as a Bernoulli variable (its
worst case on [0, 1]); certifying ``E X ≤ δ`` at α ≈ 1e-8 from a Bernoulli mean 0.15δ needs ≈ 70/δ particles.
Every [0, 1] bound needs ≥ log(1/α)/δ (a law with mass just above δ at X = 1 shows no 1 in fewer draws w.p. > α);
the betting bound below reaches about ``log(1/α)/(δ − E X)`` when the terms are small, 3× fewer than KL here.

**The bound** (one fixed bet, λ = 1; Waudby-Smith & Ramdas 2023, "Estimating means of bounded random variables by
betting", JRSS-B, with a predictable bet taken constant). For i.i.d. ``X_i ∈ [0, 1]`` and ``m ∈ [0, 1]`` let
``K_n(m) = Π_i (1 + m − X_i)`` (each factor ≥ m ≥ 0). At the true mean ``μ``, ``E K_n(μ) = Π_i (1 + μ − E X_i) = 1``,
so by Markov ``P(K_n(μ) ≥ 1/α) ≤ α``. ``K_n`` increases in m, hence
``U = inf{m ∈ [0, 1] : log K_n(m) ≥ log(1/α)}`` (1 if none) satisfies ``P(U < μ) ≤ P(K_n(μ) ≥ 1/α) ≤ α``: a level-α
upper confidence bound. ``U ≤ δ`` iff ``Σ log(1 + δ − X_i) ≥ log(1/α)`` (the certificate of ``E X ≤ δ``). ∎

**Design** (``min_num_samples_for_step_mean_certificate``, ``min_slack_of_step_mean_certifiable``). The class
designed for: every term ``X ∈ [0, δ]`` (T3 per state) and ``E X ≤ δ − s`` (slack s). On [0, δ],
``x ↦ log(1 + δ − x)`` is concave, so it lies above its chord: ``log(1 + δ − X) ≥ a·W`` with ``a = log(1 + δ)``,
``W = 1 − X/δ ∈ [0, 1]``, ``E W ≥ s/δ``. The certificate is then reached when ``W̄ ≥ c = log(1/α)/(a n)``; for
``c < s/δ`` Hoeffding's lower tail gives ``P(W̄ < c) ≤ e^{−n·kl(c ‖ s/δ)}``, ≤ β when
``n·kl(c ‖ s/δ) ≥ log(1/β)``. So n ∝ log(1/α)/s for small δ (≈ log(1/α)/(δ·s/δ)), and ∝ log(1/β) only through the
second condition. Terms above δ (a sampler that is not T3 per state) are outside the class: the bound stays valid,
the power is not promised.
"""
from __future__ import annotations

import math

import numpy as np

from estimators.bounded_means import (assert_step_mean_at_most_by_kl, bernoulli_kl, min_excess_of_step_mean_detectable,
                                      step_mean_threshold)
from estimators.design import smallest_n
from primitives._checks import check_positive, check_unit_interval

__all__ = ["step_mean_upper_confidence_by_betting", "min_num_samples_for_step_mean_certificate",
           "min_slack_of_step_mean_certifiable", "step_mean_tests"]


def _terms(terms) -> np.ndarray:
    values = np.asarray(terms, dtype=float).reshape(-1)
    if values.size < 1 or not np.isfinite(values).all() or values.min() < -1e-12 or values.max() > 1 + 1e-12:
        raise ValueError("terms must hold at least one finite value in [0, 1]")
    return np.clip(values, 0.0, 1.0)


def _log_capital(values: np.ndarray, m: float) -> float:
    return float(np.log1p(m - values).sum())


def step_mean_upper_confidence_by_betting(terms, *, alpha: float) -> float:
    """``U = inf{m : Σ_i log(1 + m − X_i) ≥ log(1/α)}`` (module docstring): ``P(U < E X) ≤ α`` for i.i.d. terms in
    [0, 1]. Bisection to 1e-15 relative; the returned m satisfies the inequality (rounded up, never down)."""
    alpha = check_unit_interval("alpha", alpha)
    values = _terms(terms)
    level = math.log(1.0 / alpha)
    if _log_capital(values, 1.0) < level:
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if _log_capital(values, middle) >= level:
            high = middle
        else:
            low = middle
        if high - low <= 1e-15 * max(high, 1e-300):
            break
    return high


def _certifies(n: int, delta: float, slack: float, alpha: float, beta: float) -> bool:
    scale = math.log1p(delta)
    threshold = math.log(1.0 / alpha) / (scale * n)        # c: W̄ ≥ c certifies
    rate = slack / delta                                    # E W ≥ s/δ
    return threshold < rate and n * bernoulli_kl(threshold, rate) >= math.log(1.0 / beta)


def min_num_samples_for_step_mean_certificate(delta: float, slack: float, *, alpha: float, beta: float) -> int:
    """Smallest n at which every per-step law with terms in [0, δ] and mean ≤ δ − ``slack`` gets the betting
    certificate ``U ≤ δ`` w.p. ≥ 1 − β (level α; module docstring). n ≈ log(1/α)/slack for small δ."""
    delta = check_unit_interval("delta", delta)
    slack = check_positive("slack", slack)
    if slack > delta:
        raise ValueError(f"slack must be in (0, δ] (a mean below 0 is impossible), got slack = {slack!r}, δ = {delta!r}")
    alpha, beta = check_unit_interval("alpha", alpha), check_unit_interval("beta", beta)
    return smallest_n(lambda n: _certifies(n, delta, slack, alpha, beta), start=2)


def min_slack_of_step_mean_certifiable(n: int, delta: float, *, alpha: float, beta: float) -> float | None:
    """Smallest slack s such that n terms in [0, δ] with mean ≤ δ − s are certified w.p. ≥ 1 − β; None if even
    s = δ (all terms 0) is not."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    delta = check_unit_interval("delta", delta)
    alpha, beta = check_unit_interval("alpha", alpha), check_unit_interval("beta", beta)
    if not _certifies(int(n), delta, delta, alpha, beta):
        return None
    low, high = 0.0, delta
    for _ in range(60):
        middle = 0.5 * (low + high)
        if _certifies(int(n), delta, middle, alpha, beta):
            high = middle
        else:
            low = middle
    return high


def step_mean_tests(delta_terms: np.ndarray, delta: float, *, alpha: float, beta: float, side: str,
                    steps: list[int], exact_steps: tuple[int, ...] = ()) -> dict:
    """Every listed step's mean term against δ (``assert_step_mean_at_most_by_kl`` at α/len(steps) each,
    Bonferroni); rows of ``delta_terms`` are steps, columns particles. ``exact_steps`` (the prior step: one
    parent, its term exact) are compared exactly and spend no α. Returns per-step means, UCBs (target side: the
    betting bound ``step_mean_upper_confidence_by_betting`` at the same share; a false certificate and a false fail
    are errors on different truths, so they share it), the exceeding steps, the rejection point and the smallest
    detectable excess (power)."""
    share = alpha / max(1, len([t for t in steps if t not in exact_steps]))
    n = int(delta_terms.shape[1])
    means, uppers, exceeding = {}, {}, []
    for t in steps:
        row = np.asarray(delta_terms[t], dtype=float)
        if t in exact_steps:
            value = float(row[0])
            means[t], uppers[t] = value, value
            if value > delta:
                exceeding.append(t)
            continue
        result = assert_step_mean_at_most_by_kl(row, delta, alpha=share)
        means[t] = result["mean"]
        uppers[t] = step_mean_upper_confidence_by_betting(row, alpha=share) if side == "target" else None
        if result["exceeds"]:
            exceeding.append(t)
    return {"means": means, "upper_confidence": uppers, "exceeding_steps": exceeding, "alpha_per_step": share,
            "threshold": step_mean_threshold(n, delta, share) if n >= 1 else 1.0,
            "excess_detectable": min_excess_of_step_mean_detectable(n, delta, alpha=share, beta=beta), "n": n}
