"""Baselines b for tilted rejection (LCB spec T3 and "Learned (empirical) baselines").

* ``chernoff_baseline``: ``b_δ = inf_{s>0} [Λ(1/λ + s) − Λ(1/λ) + log(1/δ)]/s`` for an exact log-MGF.
  By the Chernoff bound under q, ``P_q(R > b) ≤ exp(Λ(1/λ+s) − Λ(1/λ) − s b)`` for every s > 0, so any s
  gives a valid baseline; the infimum is found by bounded 1-D minimisation over log s, and the value
  at the returned s (never below the true infimum) is what is used.
* ``subgaussian_baseline``: ``b = E_q R + σ √(2 log(1/δ))`` for σ²-sub-Gaussian ``R − E_q R``.
* ``empirical_chernoff_baseline``: from n base samples of a reward bounded in [lo, hi], upper and lower
  empirical-Bernstein bounds on ``M_t = E e^{t(R − hi)}`` (in [0, 1]) at each s of a fixed grid, with a
  union bound over the grid, give ``P(P_q(R > b̂) > δ) ≤ η`` over the training samples (T6). The
  baseline is capped at ``hi``, where clipping vanishes.
* ``population_learned_baseline``: what that learner returns when every sample mean and variance
  equals its population value (the centre of its law at n): the T6 claims' hypothesis that learning is
  exercised at all (``b̄_n < ess sup r``) is checked on it, before any sampling.

How much slack the learner needs. The union bound and the empirical-Bernstein radius are both
conservative, but not equally. With ``L = log(2/a)`` at the per-bound level a = η/(2|grid|) the radius'
leading term ``√(2VL/n)`` acts as a normal quantile ``√(2L)``; halving it leaves ``√(L/2)``, i.e. roughly the
level a^{1/4}, which outgrows η as η shrinks; dropping the union raises a only to η/2, still far in the normal
tail. Exact figures (the learner's law enumerated on two-point rewards, ``estimators.exact.learner_law``; scan and
setting in ``theorems.t6_learner_slack``): the halved radius stays below 0.25η at η = 0.05 but breaks T6's
certificate at rate 5.04·10⁻³ = 5.0η on ``bernoulli-p0.05`` (λ = 10, δ = 0.1, η = 10⁻³, n = 10⁵), where the
real learner fails at 2.0·10⁻⁷; the dropped union stays below 0.08η everywhere scanned (6.6·10⁻⁶ there). So
``t6_learner_slack`` registers the halved radius against T6's certificate there, and both slips against the
learner's exact law (a consistency claim). On ``finite-u11`` (δ = 0.5, η = 0.05, n = 4000), where T6's other
claims run, both slips still meet T6 (measured: 1 of 400 trainings broke any grid bound with the radius
halved), so no sound test of T6's event can reject them there; the variant those claims reject is no slack
at all (``radius=zero_radius``), where b̂ < b_δ about half the time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import math

import numpy as np
from scipy.optimize import minimize_scalar

from estimators.bounded_means import empirical_bernstein_radius
from estimators.exact.reward_law import RewardLaw
from primitives._checks import check_positive, check_unit_interval

__all__ = [
    "ChernoffBaseline",
    "chernoff_objective",
    "chernoff_baseline",
    "subgaussian_baseline",
    "empirical_chernoff_baseline",
    "plugin_chernoff_baseline",
    "population_learned_baseline",
    "zero_radius",
]


@dataclass(frozen=True)
class ChernoffBaseline:
    """A baseline with the Chernoff parameter s that certifies it (s = inf: the essential sup)."""

    value: float
    s: float


def chernoff_objective(log_mgf: Callable[[float], float], lam: float, delta: float, s: float) -> float:
    """``[Λ(1/λ + s) − Λ(1/λ) + log(1/δ)]/s``: a valid baseline for every s > 0 (T3)."""
    a = 1.0 / lam
    return (log_mgf(a + s) - log_mgf(a) + math.log(1.0 / delta)) / s


def chernoff_baseline(law: RewardLaw, lam: float, delta: float) -> ChernoffBaseline:
    """``b_δ``: minimise the Chernoff objective over ``s = e^u``, ``u ∈ [−25, 25]`` (T3)."""
    lam = check_positive("lam", lam)
    delta = check_unit_interval("delta", delta)

    def objective(u: float) -> float:
        value = chernoff_objective(law.log_mgf, lam, delta, math.exp(u))
        return value if math.isfinite(value) else math.inf

    # Coarse scan first (the objective is unimodal in practice but may be flat), then Brent.
    grid = np.linspace(-25.0, 25.0, 201)
    values = np.array([objective(u) for u in grid])
    best = int(np.argmin(values))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    result = minimize_scalar(objective, bounds=(low, high), method="bounded", options={"xatol": 1e-10})
    u_star = float(result.x) if result.fun <= values[best] else float(grid[best])
    value = objective(u_star)
    if law.ess_sup < value:
        return ChernoffBaseline(value=float(law.ess_sup), s=math.inf)
    return ChernoffBaseline(value=float(value), s=math.exp(u_star))


def subgaussian_baseline(mean_q: float, sigma: float, delta: float) -> float:
    """``E_q R + σ √(2 log(1/δ))`` (T3, sub-Gaussian corollary)."""
    sigma = check_positive("sigma", sigma)
    delta = check_unit_interval("delta", delta)
    return float(mean_q + sigma * math.sqrt(2.0 * math.log(1.0 / delta)))


DEFAULT_S_GRID = tuple(float(s) for s in np.geomspace(0.05, 50.0, 16))


def _check_rewards(rewards: np.ndarray, lower: float, upper: float) -> np.ndarray:
    rewards = np.asarray(rewards, dtype=float).reshape(-1)
    if rewards.size < 2:
        raise ValueError("rewards must hold at least 2 base samples")
    if not np.isfinite(rewards).all():
        raise ValueError("rewards must be finite")
    if not lower < upper:
        raise ValueError(f"bounds must satisfy lower < upper, got ({lower}, {upper})")
    if rewards.min() < lower or rewards.max() > upper:
        raise ValueError(f"rewards fall outside the stated bounds [{lower}, {upper}]")
    return rewards


def empirical_chernoff_baseline(
    rewards: np.ndarray,
    lam: float,
    delta: float,
    eta: float,
    bounds: tuple[float, float],
    s_grid: tuple[float, ...] = DEFAULT_S_GRID,
    *,
    radius: Callable[[np.ndarray, float], float] = empirical_bernstein_radius,
    bound_count: int | None = None,
) -> ChernoffBaseline:
    """Learned baseline ``b̂`` from base samples of a reward bounded in ``bounds`` (T6).

    For each s on the grid, with ``t₀ = 1/λ`` and ``t₁ = 1/λ + s``,
    ``Λ(t₁) − Λ(t₀) = s·hi + log M_{t₁} − log M_{t₀}``, ``M_t = E e^{t(R − hi)} ∈ [0, 1]``; an upper
    empirical-Bernstein bound on ``M_{t₁}`` and a lower one on ``M_{t₀}``, each at ``η/(2|grid|)``,
    bound the difference for all grid points at once w.p. ≥ 1 − η. Grid points whose lower bound on
    ``M_{t₀}`` is not positive are skipped; if none remains, ``b̂ = hi`` (ideal rejection).

    ``radius(values, alpha)`` (one-sided, values in [0, 1]) and ``bound_count`` (the union's size,
    2|grid| by default) are the learner's slack; they are parameters so that the checks can run the
    same code with the slack broken (``tiltproof.core.mutants``), never for users to loosen.
    """
    lam = check_positive("lam", lam)
    delta = check_unit_interval("delta", delta)
    eta = check_unit_interval("eta", eta)
    lower, upper = float(bounds[0]), float(bounds[1])
    rewards = _check_rewards(rewards, lower, upper)
    share = eta / (2.0 * len(s_grid) if bound_count is None else float(bound_count))
    a = 1.0 / lam
    base_values = np.exp(a * (rewards - upper))
    base_lcb = base_values.mean() - radius(base_values, share)
    best = ChernoffBaseline(value=upper, s=math.inf)
    if base_lcb <= 0.0:
        return best
    for s in s_grid:
        tilted_values = np.exp((a + s) * (rewards - upper))
        tilted_ucb = min(tilted_values.mean() + radius(tilted_values, share), 1.0)
        candidate = upper + (math.log(tilted_ucb) - math.log(base_lcb) + math.log(1.0 / delta)) / s
        if candidate < best.value:
            best = ChernoffBaseline(value=candidate, s=s)
    return best


def plugin_chernoff_baseline(
    rewards: np.ndarray, lam: float, delta: float, s_grid: tuple[float, ...] = DEFAULT_S_GRID
) -> ChernoffBaseline:
    """The Chernoff baseline of the empirical law, with no confidence slack.

    Not a valid learned baseline: kept as the deliberately wrong variant that the T6 check must reject.
    """
    rewards = np.asarray(rewards, dtype=float).reshape(-1)
    a = 1.0 / check_positive("lam", lam)
    top = float(rewards.max())

    def empirical_log_mgf(t: float) -> float:
        return t * top + math.log(np.mean(np.exp(t * (rewards - top))))

    best = ChernoffBaseline(value=top, s=math.inf)
    for s in s_grid:
        candidate = (empirical_log_mgf(a + s) - empirical_log_mgf(a) + math.log(1.0 / delta)) / s
        if candidate < best.value:
            best = ChernoffBaseline(value=candidate, s=s)
    return best


def zero_radius(values: np.ndarray, alpha: float) -> float:
    """No confidence slack at all (the plug-in learner): a wrong variant, never a valid radius."""
    return 0.0


def _bernstein_radius_at_variance(variance: float, n: int, alpha: float) -> float:
    """Maurer–Pontil's radius with the sample variance replaced by ``variance`` (its centre at n)."""
    log_term = math.log(2.0 / alpha)
    return math.sqrt(2.0 * variance * log_term / n) + 7.0 * log_term / (3.0 * (n - 1))


def population_learned_baseline(law: RewardLaw, lam: float, delta: float, eta: float, bounds: tuple[float, float],
                                n: int, s_grid: tuple[float, ...] = DEFAULT_S_GRID) -> float:
    """``empirical_chernoff_baseline`` at population moments: ``M_t = e^{Λ(t) − t·hi}`` and
    ``Var = M_{2t} − M_t²`` exactly from the law's log-MGF, the radius at sample size n.

    Deterministic; b̄_n < ess sup r says that a learner trained on n samples is expected to clip at
    all, i.e. that a T6 check on (law, δ, η, n) exercises learning rather than ideal rejection.
    """
    lam = check_positive("lam", lam)
    share = check_unit_interval("eta", eta) / (2.0 * len(s_grid))
    upper = float(bounds[1])
    a = 1.0 / lam

    def moment(t: float) -> tuple[float, float]:
        mean = math.exp(law.log_mgf(t) - t * upper)
        return mean, max(math.exp(law.log_mgf(2 * t) - 2 * t * upper) - mean * mean, 0.0)

    base_mean, base_variance = moment(a)
    base_lcb = base_mean - _bernstein_radius_at_variance(base_variance, n, share)
    best = upper
    if base_lcb <= 0.0:
        return best
    for s in s_grid:
        mean, variance = moment(a + s)
        ucb = min(mean + _bernstein_radius_at_variance(variance, n, share), 1.0)
        best = min(best, upper + (math.log(ucb) - math.log(base_lcb) + math.log(1.0 / check_unit_interval("delta", delta))) / s)
    return float(best)
