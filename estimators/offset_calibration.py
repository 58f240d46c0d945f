"""Order-statistic calibration of a baseline offset (T6 on chains), with its design companions.

Calibration (used by the trainers of ``learning``). From n i.i.d. residuals ``R_i = V̂_t(x_i) − b_θ(y_i)`` of
tilted pairs, the offset ``c`` is the (j*+1)-th largest residual, ``j* = max{j : P(Bin(n, δ) ≤ j) ≤ η}``
(``calibration_rank``, ``calibrate_offset``): ``P(P(R > c) > δ) ≤ η`` distribution-free. The clip statistic
``W = (1 − e^{−(R − c)/λ})_+`` (``clip_values``) is tested instead by ``calibrate_clip_offset`` (fixed-sequence
tests over ``CLIP_GRID`` with a KL/Bernstein upper confidence bound); ``point_offset`` is the slack-free
estimate used only to rank candidates.

Design. An offset calibrated as the (j+1)-th largest of m i.i.d. residuals with a continuous law exceeds the
true (1 − δ)-quantile u (``P(R ≥ u) = δ``) unless at most j residuals reach u, so
``P(tail(offset) > δ) = P(Bin(m, p_u) ≤ j) = I_{1−p_u}(m − j, j + 1)`` (regularised incomplete beta) where
``p_u = P(R ≥ u)`` under the sampler that drew the residuals (δ when it is exact). ``exceedance_probability``
evaluates this Beta form (scipy's ``betainc``: independent of ``calibration_rank``, which works with binomial
CDFs), ``largest_valid_rank`` is the theorem's rank by that route, ``tail_rate_for_exceedance`` inverts it, and
``min_num_residuals_for_calibration_test`` sizes the one-sided exact test that a residual sampler whose tail
gives exceedance ``factor·η`` is detected with probability ≥ 1 − β.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import betainc
from scipy.stats import binom

from estimators.binomial import min_num_samples_for_binomial_upper_test
from primitives._checks import check_positive, check_unit_interval

__all__ = [
    "calibration_rank",
    "calibrate_offset",
    "point_offset",
    "CLIP_GRID",
    "clip_values",
    "calibrate_clip_offset",
    "exceedance_probability",
    "largest_valid_rank",
    "tail_rate_for_exceedance",
    "min_num_residuals_for_calibration_test",
]


def exceedance_probability(rank: int, pairs: int, tail_rate: float) -> float:
    """``P(Bin(pairs, tail_rate) ≤ rank) = I_{1−p}(pairs − rank, rank + 1)``: the probability that the offset
    of rank ``rank`` (0 = the largest residual) lies below the quantile u with ``P(R ≥ u) = tail_rate``."""
    if rank < 0:
        return 0.0
    if rank >= pairs:
        return 1.0
    return float(betainc(pairs - rank, rank + 1, 1.0 - tail_rate))


def largest_valid_rank(pairs: int, delta: float, eta: float) -> int:
    """The largest rank j with ``exceedance_probability(j, pairs, δ) ≤ η`` (−1 if none): the theorem's rank."""
    delta = check_unit_interval("delta", delta)
    eta = check_unit_interval("eta", eta)
    rank = -1
    while rank + 1 < pairs and exceedance_probability(rank + 1, pairs, delta) <= eta:
        rank += 1
    return rank


def tail_rate_for_exceedance(rank: int, pairs: int, exceedance: float) -> float:
    """The tail rate p with ``exceedance_probability(rank, pairs, p) = exceedance`` (decreasing in p)."""
    exceedance = check_unit_interval("exceedance", exceedance)
    return float(brentq(lambda p: exceedance_probability(rank, pairs, p) - exceedance, 1e-12, 1.0 - 1e-12,
                        xtol=1e-14))


def min_num_residuals_for_calibration_test(pairs: int, delta: float, eta: float, *, factor: float = 2.0,
                                           alpha: float, beta: float) -> int:
    """Residuals N for the one-sided exact test of "P(R ≥ u) ≥ p*" (p* = the tail rate at which the theorem's
    rank gives exceedance η) that rejects w.p. ≥ 1 − β when the residual sampler's tail rate gives exceedance
    ``factor·η``. The test is the Clopper–Pearson bound on the rate of {R < u} against 1 − p*."""
    rank = largest_valid_rank(pairs, delta, eta)
    if rank < 0:
        raise ValueError(f"pairs={pairs} too few for any guarantee at delta={delta}, eta={eta}")
    threshold = tail_rate_for_exceedance(rank, pairs, eta)
    alternative = tail_rate_for_exceedance(rank, pairs, min(factor * eta, 1.0 - 1e-9))
    return min_num_samples_for_binomial_upper_test(1.0 - threshold, 1.0 - alternative, alpha=alpha, beta=beta)


def calibration_rank(n: int, delta: float, eta: float) -> int:
    """``j* = max{j ≥ 0 : P(Bin(n, δ) ≤ j) ≤ η}``, or −1 when even j = 0 fails (n < log(1/η)/δ, roughly)."""
    delta = check_unit_interval("delta", delta)
    eta = check_unit_interval("eta", eta)
    if n < 1:
        return -1
    cdf = binom.cdf(np.arange(n + 1), n, delta)
    allowed = np.nonzero(cdf <= eta)[0]
    return int(allowed.max()) if allowed.size else -1


def calibrate_offset(residuals, delta: float, eta: float) -> float:
    """Offset c with ``P(P(R > c) > δ) ≤ η`` over i.i.d. residuals: the (j*+1)-th largest residual
    (``calibration_rank``); ``+inf`` when there are too few residuals for any guarantee.

    Proof: let ``u = inf{x : P(R > x) ≤ δ}``; then ``P(R ≥ u) ≥ δ``, and ``P(R > c) > δ`` forces
    ``c < u``, i.e. at most j* residuals are ``≥ u``: probability ``≤ P(Bin(n, δ) ≤ j*) ≤ η``.
    """
    residuals = np.sort(np.asarray(residuals, dtype=float).reshape(-1))
    if not np.isfinite(residuals).all():
        raise ValueError("residuals must be finite")
    rank = calibration_rank(residuals.size, delta, eta)
    if rank < 0:
        return math.inf
    return float(residuals[residuals.size - 1 - rank])


def point_offset(residuals, lam: float, delta: float, calibration: str = "tail") -> float:
    """Offset estimate without confidence slack, used only to rank candidate networks: the empirical
    (1 − δ)-quantile of the residuals (``"tail"``), or the largest-to-smallest scan of ``CLIP_GRID`` stopping
    before the empirical mean clipped mass exceeds δ (``"clip"``)."""
    residuals = np.asarray(residuals, dtype=float).reshape(-1)
    if calibration == "tail":
        return float(np.quantile(residuals, 1.0 - delta))
    chosen = math.inf
    for offset in sorted(CLIP_GRID, reverse=True):
        if clip_values(residuals, lam * offset, lam).mean() > delta:
            break
        chosen = lam * offset
    return chosen


CLIP_GRID = tuple(float(c) for c in np.round(np.arange(-3.0, 8.0 + 1e-9, 0.05), 10))   # offsets, units of λ


def clip_values(residuals: np.ndarray, offset: float, lam: float) -> np.ndarray:
    """``W = (1 − e^{−(R − c)/λ})_+ ∈ [0, 1]``: under tilted pairs its mean is ``E_y D/Z(y)`` at ``b = b_θ + c``."""
    return -np.expm1(-np.maximum(np.asarray(residuals, dtype=float) - offset, 0.0) / lam)


def calibrate_clip_offset(residuals, lam: float, delta: float, eta: float,
                          grid: tuple[float, ...] = CLIP_GRID) -> float:
    """Offset c from a fixed grid (units of λ) with ``P(E_y D/Z(y) > δ at b_θ + c) ≤ η``, by fixed-sequence
    testing: offsets are tested from the largest down, each null ``E W(c) > δ`` rejected when the upper
    confidence bound (level η) on the mean clipped mass ``E (1 − e^{−(R − c)/λ})_+`` is ≤ δ; the last rejected
    offset is returned (``+inf`` if the largest is not). Since ``E W(c)`` decreases in c, the true nulls form
    a lower set; certifying a wrong c requires rejecting the first true null met in the sequence, a single
    level-η test, so the family-wise error is ≤ η with no union bound over the grid.

    The residuals ``R_i = V̂_t(x_i) − b_θ(y_i)`` must come from tilted pairs ``y ~ q̂_{t+1}``, ``x ~ q_t(·|y)``;
    W is a [0, 1] variable, so ``bounded_mean_upper_confidence`` (KL–Hoeffding and empirical Bernstein)
    applies with no range or variance assumption.
    """
    from estimators.bounded_means import bounded_mean_upper_confidence

    lam = check_positive("lam", lam)
    delta = check_unit_interval("delta", delta)
    eta = check_unit_interval("eta", eta)
    residuals = np.asarray(residuals, dtype=float).reshape(-1)
    if residuals.size < 2 or not np.isfinite(residuals).all():
        raise ValueError("residuals must hold at least 2 finite values")
    chosen = math.inf
    for offset in sorted(grid, reverse=True):
        values = clip_values(residuals, lam * offset, lam)
        if values.mean() > delta or bounded_mean_upper_confidence(values, eta) > delta:
            break
        chosen = lam * offset
    return chosen
