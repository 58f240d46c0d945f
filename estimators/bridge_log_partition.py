"""The telescoping log-partition interval from tilted draws only, with its design companions.

``telescoping_log_partition`` estimates ``log Z(θ)`` from the draws of a linear-tilt oracle
(``primitives.tilt_oracle``) alone (no exact partition): ``Z(θ) = Π_j E_{p_{θ_{j−1}}} e^{⟨θ_j − θ_{j−1}, X⟩}``,
``θ_j = jθ/m`` (the spec's telescoping product is the point estimate). Its confidence interval rests on the
bounded bridge identity: for ``w = e^{⟨Δ,x⟩}``, ``Δ = θ_j − θ_{j−1}`` and any constant ``c > 0``,

    Z(θ_j)/Z(θ_{j−1}) = E_{θ_{j−1}}[min(1, c·w)] / (c · E_{θ_j}[min(1, 1/(c·w))]),

since with ``I = ∫ p·min(e^{⟨θ_{j−1},x⟩}, c·e^{⟨θ_j,x⟩})`` the numerator is ``I/Z(θ_{j−1})`` and the
denominator's mean is ``I/(c·Z(θ_j))``. It is a ratio of means of [0, 1]-valued variables, so the empirical
Bernstein bound (Maurer–Pontil) gives a finite-sample interval without any moment assumption. ``c`` is chosen
on a pilot quarter of the samples that the interval does not use. An inexact sampler (a diffusion model)
widens every mean by its TV distance to the exact tilt plus ``‖Δ‖·displacement`` (both variables are
‖Δ‖-Lipschitz).

The design. Over ``θ_j = jθ/m`` Over ``θ_j = jθ/m`` each factor ``log Z(θ_j)/Z(θ_{j−1})`` is bracketed by the bounded bridge
identity ``Z_j/Z_{j−1} = E_{j−1} min(1, c w)/(c·E_j min(1, 1/(c w)))``, ``w = e^{⟨Δ, X⟩}``, ``Δ = θ_j − θ_{j−1}``,
with ``c`` from a pilot quarter of the draws and an empirical-Bernstein interval (Maurer–Pontil, α/(4m) per side)
on each of the two means from the other ``n' = 3n/4`` draws, widened by the sampler's TV and displacement terms.

Detectable gap (the statistic's power, in nats of log Z). A claimed value at distance g from the truth is
excluded whenever the interval holds the truth and is narrower than g on that side; so the test detects g
w.p. ≥ 1 − β when, w.p. ≥ 1 − β, every end lies within g of the truth. At the centre of the law (the pilot's
c at its population value ``c* = Z_{j−1}/Z_j``; each mean μ with population variance v):

* the sample variance obeys ``√V̂ ≤ √v + √(2 log(4m/β)/(n'−1))`` (Maurer–Pontil Thm 10, β/(4m) per mean),
* the sample mean obeys ``|μ̂ − μ| ≤ √(2v log(4m/β)/n') + log(4m/β)/(3n')`` (Bernstein, β/(4m) per mean),

so every interval end is within ``r_α(V̂) + r_β + widening`` of μ and the upper end of ``log Z`` exceeds the
truth by at most ``Σ_j log((μ_num + ρ_num)/μ_num) − log((μ_den − ρ_den)/μ_den)`` (the lower end symmetrically);
``min_gap_of_log_partitions_detectable_by_bridge`` is the larger of the two sides. ``n ∝ 1/gap²`` for small
gaps; ``min_num_samples_for_bridge_log_partition_test`` inverts it (doubling + bisection).

``gaussian_mixture_bridge_moments`` gives (μ, E[·²]) of ``min(1, c e^Y)`` for a 1-D Gaussian mixture Y (the law of
``⟨Δ, X⟩`` under a Gaussian-mixture tilt): ``E min(1, c e^Y) = Σ_k π_k [Φ̄((t − m_k)/s_k) + c e^{m_k + s_k²/2}
Φ((t − m_k − s_k²)/s_k)]``, ``t = −log c``, and the second moment with ``c², 2Y``. Closed forms: no sampling.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import norm

from estimators.bounded_means import empirical_bernstein_radius
from estimators.design import smallest_n
from primitives._checks import check_unit_interval
from primitives.tilt_oracle import LinearTiltOracle, as_thetas

__all__ = [
    "PartitionEstimate",
    "telescoping_log_partition",
    "BridgeMoments",
    "gaussian_mixture_bridge_moments",
    "bridge_end_deviations",
    "min_gap_of_log_partitions_detectable_by_bridge",
    "min_num_samples_for_bridge_log_partition_test",
]


@dataclass(frozen=True)
class BridgeMoments:
    """Population mean and variance of the numerator and denominator terms of one telescoping factor."""

    numerator_mean: float
    numerator_variance: float
    denominator_mean: float
    denominator_variance: float


def _clipped_exp_moment(weights, means, scales, log_c: float, power: int) -> float:
    """``E min(1, c e^Y)^power`` for ``Y ~ Σ π_k N(m_k, s_k²)``, power ∈ {1, 2}."""
    weights, means, scales = (np.asarray(v, dtype=float) for v in (weights, means, scales))
    t = -log_c
    above = norm.sf((t - means) / scales)
    log_below = power * log_c + power * means + 0.5 * power**2 * scales**2 \
        + norm.logcdf((t - means - power * scales**2) / scales)
    return float(np.sum(weights * (above + np.exp(log_below))))


def _check_mixture(side: str, weights, means, scales) -> None:
    weights, means, scales = (np.asarray(v, dtype=float).reshape(-1) for v in (weights, means, scales))
    if not weights.size == means.size == scales.size or weights.size == 0:
        raise ValueError(f"weights_{side}, means_{side} and scales_{side} must be non-empty and of one length, got "
                         f"{weights.size}, {means.size}, {scales.size}")
    if not (np.isfinite(scales).all() and (scales > 0).all()):
        raise ValueError(f"scales_{side} must be finite and > 0, got {scales.tolist()}")
    if not np.isfinite(means).all():
        raise ValueError(f"means_{side} must be finite, got {means.tolist()}")
    if (weights < 0).any() or not math.isclose(float(weights.sum()), 1.0, rel_tol=0.0, abs_tol=1e-9):
        raise ValueError(f"weights_{side} must be non-negative and sum to 1, got {weights.tolist()}")


def gaussian_mixture_bridge_moments(weights_below, means_below, scales_below, weights_above, means_above,
                                    scales_above, log_c: float) -> BridgeMoments:
    """Moments of ``min(1, c e^Y)`` with ``Y = ⟨Δ, X⟩``, X from the lower tilt (1-D mixture ``*_below``), and of
    ``min(1, e^{−Y}/c)`` with X from the upper tilt (``*_above``): the two means of one bridge factor.

    ``ValueError`` naming the argument for non-positive or non-finite scales, weights that are negative or do
    not sum to 1, mismatched lengths, or a non-finite ``log_c``."""
    for side, (weights, means, scales) in (("below", (weights_below, means_below, scales_below)),
                                           ("above", (weights_above, means_above, scales_above))):
        _check_mixture(side, weights, means, scales)
    if not math.isfinite(log_c):
        raise ValueError(f"log_c must be finite, got {log_c!r}")
    num = _clipped_exp_moment(weights_below, means_below, scales_below, log_c, 1)
    num2 = _clipped_exp_moment(weights_below, means_below, scales_below, log_c, 2)
    den = _clipped_exp_moment(weights_above, -np.asarray(means_above, dtype=float), scales_above, -log_c, 1)
    den2 = _clipped_exp_moment(weights_above, -np.asarray(means_above, dtype=float), scales_above, -log_c, 2)
    return BridgeMoments(num, max(num2 - num * num, 0.0), den, max(den2 - den * den, 0.0))


def _check_samples(samples_per_step: int) -> int:
    if isinstance(samples_per_step, bool) or not isinstance(samples_per_step, (int, np.integer)) or samples_per_step < 16:
        raise ValueError(f"samples_per_step must be an integer ≥ 16, got {samples_per_step!r}")
    return int(samples_per_step)


def _end_radius(variance: float, n: int, log_alpha_term: float, log_beta_term: float, widening: float) -> float:
    """``r_α(V̂) + r_β + widening`` with V̂ at its β-upper deviation from the population variance."""
    std_hat = math.sqrt(variance) + math.sqrt(2.0 * log_beta_term / (n - 1))
    r_alpha = math.sqrt(2.0 * std_hat**2 * log_alpha_term / n) + 7.0 * log_alpha_term / (3.0 * (n - 1))
    r_beta = math.sqrt(2.0 * variance * log_beta_term / n) + log_beta_term / (3.0 * n)
    return r_alpha + r_beta + widening


def bridge_end_deviations(moments: list[BridgeMoments], samples_per_step: int, *, alpha: float, beta: float,
                          widening: float = 0.0) -> tuple[float, float]:
    """(below, above): how far the interval's lower/upper end can lie from the true log Z, w.p. ≥ 1 − β each
    (``math.inf`` when a mean's interval may reach 0). One ``BridgeMoments`` per telescoping step."""
    samples_per_step = _check_samples(samples_per_step)
    if not (math.isfinite(widening) and widening >= 0):
        raise ValueError(f"widening must be finite and ≥ 0, got {widening!r}")
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    steps = len(moments)
    if steps < 1:
        raise ValueError("moments must hold one entry per telescoping step")
    n = samples_per_step - samples_per_step // 4
    log_alpha_term = math.log(2.0 / (alpha / (4 * steps)))
    log_beta_term = math.log(4 * steps / beta)
    below = above = 0.0
    for m in moments:
        rho_num = _end_radius(m.numerator_variance, n, log_alpha_term, log_beta_term, widening)
        rho_den = _end_radius(m.denominator_variance, n, log_alpha_term, log_beta_term, widening)
        if rho_num >= m.numerator_mean or rho_den >= m.denominator_mean:
            return math.inf, math.inf
        above += math.log1p(rho_num / m.numerator_mean) - math.log1p(-rho_den / m.denominator_mean)
        below += -math.log1p(-rho_num / m.numerator_mean) + math.log1p(rho_den / m.denominator_mean)
    return below, above


def min_gap_of_log_partitions_detectable_by_bridge(moments: list[BridgeMoments], samples_per_step: int, *,
                                                   alpha: float, beta: float, widening: float = 0.0) -> float:
    """Smallest |claimed − true log Z| the telescoping interval excludes w.p. ≥ 1 − β (either side), in nats."""
    return max(bridge_end_deviations(moments, samples_per_step, alpha=alpha, beta=beta, widening=widening))


def min_num_samples_for_bridge_log_partition_test(gap: float, moments: list[BridgeMoments], *, alpha: float,
                                                  beta: float, widening: float = 0.0) -> int:
    """Smallest samples per telescoping point at which a log Z off by ``gap`` nats is excluded w.p. ≥ 1 − β."""
    gap = float(gap)
    if not (gap > 0.0 and math.isfinite(gap)):
        raise ValueError(f"gap must be a positive number of nats, got {gap!r}")
    return smallest_n(lambda n: min_gap_of_log_partitions_detectable_by_bridge(
        moments, n, alpha=alpha, beta=beta, widening=widening) <= gap, start=64)


# ---------------------------------------------------------------------------- telescoping
@dataclass(frozen=True)
class PartitionEstimate:
    """``log Z(θ)`` from oracle samples: the telescoping point estimate and a (1 − α) interval."""

    estimate: float
    lower: float
    upper: float
    alpha: float
    calls: int
    steps: int
    factors: list[dict] = field(default_factory=list)
    sampler_tv: float = 0.0
    displacement: float = 0.0

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper


def _mean_interval(values: np.ndarray, alpha_per_side: float, widening: float) -> tuple[float, float]:
    radius = empirical_bernstein_radius(values, alpha_per_side) + widening
    mean = float(values.mean())
    return max(mean - radius, 0.0), min(mean + radius, 1.0)


def telescoping_log_partition(oracle: LinearTiltOracle, theta, *, steps: int = 4, samples_per_step: int = 4000,
                              alpha: float = 1e-6, generator: torch.Generator | None = None,
                              sampler_tv: float = 0.0, displacement: float = 0.0) -> PartitionEstimate:
    """``log Z(θ)`` by telescoping Monte Carlo over ``θ_j = jθ/m``, with a two-sided (1 − α) interval.

    Draws ``samples_per_step`` samples of each ``p_{θ_j}``, ``j = 0..m`` (``(m+1)·samples_per_step``
    oracle calls). ``sampler_tv`` bounds TV(sampler law, exact tilt) and ``displacement`` the distance of
    each sample from an exact draw (e.g. ODE solver error); both widen the interval (module docstring).
    An oracle that reports ``tv_bound(θ)`` and ``max_displacement`` (``ScoreTiltOracle``) widens it itself.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if isinstance(samples_per_step, bool) or not isinstance(samples_per_step, int) or samples_per_step < 16:
        raise ValueError(f"samples_per_step must be an integer ≥ 16, got {samples_per_step!r}")
    alpha = check_unit_interval("alpha", alpha)
    if sampler_tv < 0 or displacement < 0 or not math.isfinite(sampler_tv + displacement):
        raise ValueError("sampler_tv and displacement must be finite and ≥ 0")
    theta_t = as_thetas("theta", theta, oracle.dim, oracle.dtype, oracle.device)[0]
    calls_before = oracle.calls
    grid = [theta_t * (j / steps) for j in range(steps + 1)]
    draws = [oracle.sample_rows(point.expand(samples_per_step, -1), generator) for point in grid]
    # An inexact oracle may report its own error: a TV bound per tilt and the solver displacement.
    if callable(getattr(oracle, "tv_bound", None)):
        sampler_tv = max([sampler_tv] + [oracle.tv_bound(point) for point in grid])
    displacement = max(displacement, float(getattr(oracle, "max_displacement", 0.0)))
    pilot = samples_per_step // 4
    delta_norm = float(torch.linalg.norm(theta_t)) / steps
    per_side = alpha / (4 * steps)  # 2m means, each bounded on both sides
    widening = sampler_tv + delta_norm * displacement
    estimate, lower, upper, factors = 0.0, 0.0, 0.0, []
    for j in range(1, steps + 1):
        delta = grid[j] - grid[j - 1]
        log_w_below = (draws[j - 1] @ delta).cpu().numpy()   # log w under p_{θ_{j−1}}
        log_w_above = (draws[j] @ delta).cpu().numpy()       # log w under p_{θ_j}
        plain = float(np.logaddexp.reduce(log_w_below) - math.log(log_w_below.size))
        estimate += plain
        log_c = -float(np.logaddexp.reduce(log_w_below[:pilot]) - math.log(pilot))
        numerator = np.exp(np.minimum(0.0, log_c + log_w_below[pilot:]))
        denominator = np.exp(np.minimum(0.0, -(log_c + log_w_above[pilot:])))
        num_low, num_high = _mean_interval(numerator, per_side, widening)
        den_low, den_high = _mean_interval(denominator, per_side, widening)
        with np.errstate(divide="ignore"):
            factor_low = math.log(num_low) - log_c - math.log(den_high) if num_low > 0 else -math.inf
            factor_high = math.log(num_high) - log_c - math.log(den_low) if den_low > 0 else math.inf
        lower += factor_low
        upper += factor_high
        factors.append({"j": j, "plain": plain, "lower": factor_low, "upper": factor_high, "log_c": log_c})
    return PartitionEstimate(estimate=estimate, lower=lower, upper=upper, alpha=alpha,
                             calls=oracle.calls - calls_before, steps=steps, factors=factors,
                             sampler_tv=sampler_tv, displacement=displacement)
