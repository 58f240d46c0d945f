"""Bring your own KL aligner: check its output law against ``q ∝ p·e^{r/λ}`` (tractability spec, L1).

``check_kl_align(sampler, base, reward, lam)`` calls ``sampler(n, generator)`` — returning n samples of
the aligned law as an ``(n, d)`` tensor/array, or an object with ``.samples`` (and optionally
``.oracle_calls``, reported), e.g. ``lambda n, g: kl_align(base, reward, lam, n, g)`` — and tests
H₀ "the output law is q_KL" at level α. The exact side comes by a route independent of any sampler:

* ``Categorical`` base, any reward evaluable on the support: ``q = softmax(log p + r/λ)``, tested by the
  multinomial TV;
* ``Gaussian``/``GaussianMixture`` base and ``LinearReward`` ``⟨θ,x⟩ + o``: the closed-form tilt
  ``p_{θ/λ}`` (``primitives.laws``); ``SquaredNormReward`` ``½‖Lx‖²``: each component becomes
  ``N(Σ'Σ⁻¹μ, Σ')``, ``Σ' = (Σ⁻¹ − LᵀL/λ)⁻¹`` (requires ``Σ⁻¹ ≻ LᵀL/λ``); ``LogSumExpReward`` on a
  Gaussian with ``τ/λ`` a positive integer: the finite Laplace mixture of tilts. Projections: every
  coordinate and every reward direction, with closed-form mixture CDFs;
* ``Gaussian``/``GaussianMixture`` base and ``MaxOfPlanes`` or ``LogSumExpReward`` with k = 1
  (``f(⟨a,x⟩)``, any λ): 1-D quadrature along the ridge with an error bound (``estimators.exact.ridge_law``), projections
  ``⟨a,x⟩`` and every coordinate (KS lower bounds against the gridded CDFs).

Design: n is the smallest size at which the test rejects, w.p. ≥ 1 − β, a sampler that aligns at
``λ(1 ± lambda_error)`` instead of λ: the signal is the exact KS (TV) distance between ``q_λ`` and
``q_{λ(1±s)}`` on the tested projections (``estimators.projection_fit``). ``budget`` is the TV to
q_KL the sampler claims (0 for an exact sampler; ``q(K^c)`` for a plane net on a ball K, η for
partition errors): it is added to the threshold (KS ≤ TV on every projection). Power in user units:
``lambda_relative_error`` (the smallest s whose ``λ(1 ± s)`` sampler is detected), and the KS/TV gap.

Verdicts (``tiltproof.byo.verification``): with ``budget`` 0 ``pass`` means not refuted. With ``budget`` > 0
``pass`` needs a certificate: for a finite base ``TV(law, q) ≤ TV(p̂_n, q) + ½√(K/n) + √(log(1/α)/2n)``
w.p. ≥ 1 − α (``certified`` when within the budget); for a continuous base the projection KS distances
bound the TV only from below, so the verdict is ``uncertified`` unless the test refutes the claim. A
sampler that ignores its generator is flagged ``not_reproducible``; one that raises or returns the wrong
type gives an ``error`` record.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import math

import numpy as np
import torch
from scipy.special import logsumexp

from estimators.design import detectable_parameter_error
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_multinomial,
                                       min_num_samples_for_multinomial_tv_test)
from estimators.projection_fit import (min_discrepancy_of_projections_detectable_by_dkw,
                                       min_num_samples_for_projection_ks_test)
from estimators.exact.tilted_law import UnsupportedInstance
from estimators.projection_fit import Projection, multinomial_fit, projection_fit_test
from estimators.exact.ridge_law import RidgeTiltedLaw, mixture_components
from primitives._checks import check_positive
from primitives.laws import Categorical, Gaussian, GaussianMixture
from primitives.planes import LogSumExpReward, MaxOfPlanes, SquaredNormReward
from primitives.rewards import LinearReward, Reward
from tiltproof.byo.common import (NOT_REPRODUCIBLE, BadOutput, ImplementationRaised, Mixture, as_sample_array,
                                     call_user, check_alpha_beta,
                                     check_count, check_seed_device, error_record, finite_tv, fit_outcome,
                                     gridded_ks_lower, ignores_generator, mixture_ks, mixture_projections, seeded)
from estimators.multinomial_tv import multinomial_tv_radius
from tiltproof.byo.families import Family, verify_by_factory
from tiltproof.byo.verification import Certificate, VerificationRecord, settle_verdict

__all__ = ["check_kl_align", "kl_target_supported"]

_RIDGE_POINTS = 3000     # grid of each coordinate CDF under a ridge law (its bracket is a power loss)
_RIDGE_PANELS_PER_SD = 400   # quadrature panels of the ridge statistic: its CDF's bracket ≲ 0.001
FALLBACK_KS_GAP = 0.02   # design gap when no λ-family of exact laws exists (log-sum-exp off its Laplace lattice)


@dataclass
class _Target:
    """The exact q_KL: finite probabilities, a Gaussian mixture with its test directions, or a ridge law."""

    kind: str
    route: str
    probabilities: np.ndarray | None = None
    mixture: Mixture | None = None
    directions: dict[str, np.ndarray] = field(default_factory=dict)
    ridge: RidgeTiltedLaw | None = None


def _finite_rewards(base: Categorical, reward: Reward) -> np.ndarray:
    support = base.support
    try:
        values = reward(support.to(base.dtype)[:, None])
    except (ValueError, RuntimeError, IndexError):
        values = reward(support)
    return values.detach().cpu().numpy().astype(float)


def _squared_norm_mixture(base, reward: SquaredNormReward, lam: float) -> Mixture:
    """Hubbard–Stratonovich closed form (``kl_laplace_mixtures.hubbard_exact_law``, which refuses a λ
    with an infinite partition function)."""
    from theorems.kl_laplace_mixtures import hubbard_exact_law

    return hubbard_exact_law(base, reward, lam)


def _laplace_mixture(base: Gaussian, reward: LogSumExpReward, lam: float) -> Mixture | None:
    mixture = reward.laplace_mixture(lam)
    if mixture is None:
        return None
    mean, cov = base.mean.cpu().numpy(), base.cov.cpu().numpy()
    thetas = mixture.slopes @ reward.A
    log_w = mixture.log_coefficients + thetas @ mean + 0.5 * np.einsum("ti,ij,tj->t", thetas, cov, thetas)
    return np.exp(log_w - logsumexp(log_w)), mean[None] + thetas @ cov, np.repeat(cov[None], len(log_w), axis=0)


def _ridge_law(base, reward: MaxOfPlanes | LogSumExpReward, lam: float) -> RidgeTiltedLaw:
    """``q ∝ p·e^{f(⟨a,x⟩)/λ}`` by quadrature along a; f's kinks (max of planes) are panel edges."""
    if isinstance(reward, MaxOfPlanes):
        G, c = reward.G[:, 0], reward.c
        breakpoints = [(c[j] - c[i]) / (G[i] - G[j]) for i in range(len(c)) for j in range(i + 1, len(c))
                       if G[i] != G[j]]
        return RidgeTiltedLaw(base, reward.A[0], lambda s: np.max(np.asarray(s)[..., None] * G + c, axis=-1) / lam,
                              float(np.abs(G).max()) / lam, breakpoints=breakpoints,
                              panels_per_sd=_RIDGE_PANELS_PER_SD)
    V, b, tau = reward.V[:, 0], reward.offsets, reward.temperature
    return RidgeTiltedLaw(base, reward.A[0],
                          lambda s: tau * logsumexp((np.asarray(s)[..., None] * V + b) / tau, axis=-1) / lam,
                          float(np.abs(V).max()) / lam, panels_per_sd=_RIDGE_PANELS_PER_SD)


def _ridge_projections(law: RidgeTiltedLaw, dim: int) -> list[Projection]:
    """``⟨a, x⟩`` and each coordinate not a function of it, on grids fine enough that gridding costs ≲ 0.003 KS."""
    projections = [Projection("statistic", law.direction, law.statistic_cdf())]
    for j in range(dim):
        try:
            unit = np.eye(dim)[j]
            projections.append(Projection(f"x{j}", unit, law.projection_cdf(unit, points=_RIDGE_POINTS)))
        except ValueError:
            continue   # X_j is a function of ⟨a, X⟩ (d = 1): the statistic tests it
    return projections


def _coordinates(dim: int) -> dict[str, np.ndarray]:
    return {f"x{j}": np.eye(dim)[j] for j in range(dim)}


def _target(base, reward: Reward, lam: float) -> _Target:
    """The exact q_KL of (base, reward, λ), or ``UnsupportedInstance`` (a ``ValueError``) naming the reward."""
    if isinstance(base, Categorical):
        scores = np.log(base.probs.cpu().numpy()) + _finite_rewards(base, reward) / lam
        return _Target("finite", "softmax enumeration", probabilities=np.exp(scores - logsumexp(scores)))
    if not isinstance(base, (Gaussian, GaussianMixture)):
        raise ValueError(f"base must be a Gaussian, GaussianMixture or Categorical, got {base!r}")
    dim = base.dim
    if isinstance(reward, LinearReward):
        if reward.theta.shape[0] != dim:
            raise ValueError(f"reward theta has length {reward.theta.shape[0]} but the base has dimension {dim}")
        log_weights, means, covs = mixture_components(base.tilt(reward.theta / lam))
        directions = _coordinates(dim)
        if dim > 1:
            directions["reward"] = reward.theta / max(np.linalg.norm(reward.theta), 1e-300)
        return _Target("mixture", "closed-form tilt p_{θ/λ}", mixture=(np.exp(log_weights), means, covs),
                       directions=directions)
    if isinstance(reward, SquaredNormReward):
        if reward.dim != dim:
            raise ValueError(f"reward acts on ℝ^{reward.dim} but the base has dimension {dim}")
        directions = {f"Lx{i}": row for i, row in enumerate(reward.L)} | _coordinates(dim)
        return _Target("mixture", "Gaussian-mixture closed form", mixture=_squared_norm_mixture(base, reward, lam),
                       directions=directions)
    if isinstance(reward, (MaxOfPlanes, LogSumExpReward)) and reward.k == 1 and reward.dim == dim:
        return _Target("ridge", "ridge quadrature", ridge=_ridge_law(base, reward, lam))
    if isinstance(reward, LogSumExpReward) and isinstance(base, Gaussian) and reward.dim == dim:
        mixture = _laplace_mixture(base, reward, lam)
        if mixture is not None:
            directions = {f"Ax{i}": row for i, row in enumerate(reward.A)} | _coordinates(dim)
            return _Target("mixture", "finite Laplace mixture", mixture=mixture, directions=directions)
    raise UnsupportedInstance(
        f"reward {getattr(reward, 'name', reward)!r} on {base!r}: q_KL is not exactly computable here; supported: "
        "Categorical with any reward; Gaussian/GaussianMixture with LinearReward, SquaredNormReward, or MaxOfPlanes / "
        "LogSumExpReward with k = 1; Gaussian with LogSumExpReward (any k) at temperature/λ a positive integer")


def kl_target_supported(base, reward, lam: float) -> bool:
    """Whether ``check_kl_align`` has an exact q_KL for this instance."""
    try:
        _target(base, reward, lam)
    except ValueError:
        return False
    return True


def _discrepancy(first: _Target, second: _Target) -> float:
    if first.kind == "finite":
        return finite_tv(first.probabilities, second.probabilities)
    if first.kind == "mixture":
        return mixture_ks(first.mixture, second.mixture, first.directions)
    return gridded_ks_lower(first.ridge.statistic_cdf(), second.ridge.statistic_cdf())


def _lambda_signal(base, reward, lam: float, exact: _Target):
    """s ↦ the smaller exact discrepancy between q_λ and q_{λ(1 ± s)} (1 where q_{λ(1−s)} does not exist)."""
    def signal(s: float) -> float:
        values = []
        for scale in (1 + s, 1 - s):
            try:
                values.append(_discrepancy(exact, _target(base, reward, lam * scale)))
            except UnsupportedInstance:
                return math.nan
            except ValueError:
                values.append(1.0)
        return min(values)

    return signal


def _detectable(exact: _Target, projections, bracket: float, budget: float, n: int, alpha: float, beta: float) -> float:
    """The gap (KS or TV) the fit test at n detects w.p. ≥ 1 − β, its threshold raised by ``budget``."""
    if exact.kind == "finite":
        return min_gap_of_tvs_detectable_by_multinomial(n, exact.probabilities, alpha=alpha, beta=beta) + budget
    return min_discrepancy_of_projections_detectable_by_dkw(n, len(projections), alpha=alpha, beta=beta,
                                                            bracket=bracket) + budget


def _confirm_design(n: int, signal, lambda_error: float, detectable, attempts: int = 8) -> int:
    """Grow n by 2 % steps until the stated power (bisection on the signal) reaches ``lambda_error``.

    The ridge signal is a gridded lower bound, monotone in s only up to its bracket, so the bisection can
    land a hair above the designed error; the sample size is raised until the reported power keeps the
    promise "n detects λ(1 ± lambda_error)".
    """
    for _ in range(attempts):
        reached = detectable_parameter_error(signal, detectable(n), largest=0.9, tolerance=1e-4)
        if reached is not None and reached <= lambda_error + 1e-4:
            return n
        n = int(math.ceil(n * 1.02))
    return n


def check_kl_align(sampler, base, reward: Reward, lam: float, *, alpha: float = 1e-6, beta: float = 1e-3,
                   seed: int = 0, device: str | torch.device = "cpu", budget: float = 0.0,
                   lambda_error: float = 0.1, max_samples: int = 2_000_000) -> VerificationRecord:
    """Check a KL aligner's output law against ``q ∝ p·e^{r/λ}`` (module docstring).

    ``lambda_error``: the relative temperature error the test is sized to detect w.p. ≥ 1 − β.
    ``budget``: the TV to q_KL the sampler claims (default 0: exact). ``max_samples`` caps n (a warning
    says so). Raises ``ValueError`` naming the argument for bad input, and ``UnsupportedInstance`` (a
    ``ValueError``) when q_KL is not exactly computable for (base, reward).
    """
    if not callable(sampler):
        raise ValueError(f"sampler must be a callable sampler(n, generator), got {sampler!r}")
    if not isinstance(reward, Reward):
        raise ValueError(f"reward must be a primitives Reward (LinearReward, MaxOfPlanes, …), got {reward!r}")
    lam = check_positive("lam", lam)
    alpha, beta = check_alpha_beta(alpha, beta)
    seed, device = check_seed_device(seed, device)
    lambda_error = check_positive("lambda_error", lambda_error)
    if lambda_error >= 1.0:
        raise ValueError(f"lambda_error must lie in (0, 1), got {lambda_error!r}")
    budget = float(budget)
    if not (0.0 <= budget < 1.0):
        raise ValueError(f"budget must lie in [0, 1), got {budget!r}")
    max_samples = check_count("max_samples", max_samples, minimum=64)
    exact = _target(base, reward, lam)
    dim = 1 if exact.kind == "finite" else base.dim
    warnings: list[str] = []

    # -- design
    if exact.kind == "finite":
        projections, bracket, units = None, 0.0, "TV distance"
    elif exact.kind == "mixture":
        projections, bracket, units = mixture_projections(exact.mixture, exact.directions), 0.0, "KS distance"
    else:
        projections, units = _ridge_projections(exact.ridge, dim), "KS distance"
        bracket = max(projection.cdf.bracket for projection in projections)
    signal = _lambda_signal(base, reward, lam, exact)
    strength = signal(lambda_error)
    lambda_power = not math.isnan(strength)
    if not lambda_power:
        strength = FALLBACK_KS_GAP + bracket + budget
        warnings.append(f"no exact q_KL at λ(1 ± {lambda_error:g}) for this reward: n designed for a KS gap of "
                        f"{FALLBACK_KS_GAP:g} and the λ power is not stated")
    # the test rejects above threshold + budget, so the signal must clear the budget (and any CDF bracket)
    margin = min(strength, 0.999) - budget - bracket
    if margin <= 1e-6:
        n = max_samples + 1
    elif exact.kind == "finite":
        n = min_num_samples_for_multinomial_tv_test(margin, exact.probabilities, alpha=alpha, beta=beta)
    else:
        n = min_num_samples_for_projection_ks_test(margin, len(projections), alpha=alpha, beta=beta)
    if lambda_power and n <= max_samples:
        n = _confirm_design(n, signal, lambda_error, lambda count: _detectable(exact, projections, bracket, budget, count,
                                                                              alpha, beta))
    if n > max_samples:
        warnings.append(f"n_capped_by_budget: detecting a {lambda_error:.0%} λ error needs n={n}; capped at "
                        f"max_samples={max_samples}")
        n = max_samples

    def draw(count: int, generator: torch.Generator) -> np.ndarray:
        return as_sample_array("sampler", call_user("sampler", sampler, count, generator), count, dim)

    instance = f"{getattr(reward, 'name', 'reward')} on {base!r}, λ={lam:g}"
    details: dict[str, Any] = {"exact_route": exact.route, "designed_signal": strength}
    try:
        not_reproducible = ignores_generator(draw, seed, device)
        output = call_user("sampler", sampler, n, seeded(seed, device))
        samples = as_sample_array("sampler", output, n, dim)
        if exact.kind == "finite":
            labels = np.round(samples[:, 0])
            size = exact.probabilities.size
            if np.any(np.abs(samples[:, 0] - labels) > 1e-9) or labels.min() < 0 or labels.max() >= size:
                raise BadOutput(f"sampler returned samples that are not category indices in [0, {size - 1}]")
    except (ImplementationRaised, BadOutput) as raised:
        return error_record("kl", instance, alpha=alpha, beta=beta, seed=seed, details=details, message=str(raised))
    if not_reproducible:
        warnings.append(NOT_REPRODUCIBLE)
    calls = getattr(output, "oracle_calls", None)
    if isinstance(calls, (int, np.integer)):
        details["oracle_calls"] = int(calls)
        details["calls_per_sample"] = int(calls) / n
    if exact.kind == "finite":
        fit = multinomial_fit(labels.astype(np.int64), exact.probabilities, alpha, beta)
    else:
        fit = projection_fit_test(samples, projections, alpha, beta)
    test = fit_outcome("output law vs q_KL", fit, alpha, allowance=budget, gap_units=units)
    power: dict[str, float | None] = {units.replace(" ", "_").lower(): test.detectable_gap}
    if lambda_power:
        power["lambda_relative_error"] = detectable_parameter_error(signal, test.detectable_gap,
                                                                    largest=0.9, tolerance=1e-4)
        if power["lambda_relative_error"] is None:
            warnings.append("the test detects no λ error below 90 % at this n")
    certificates = ()
    if budget > 0 and exact.kind == "finite":
        # TV(law, q) ≤ TV(p̂, q) + TV(p̂, law) ≤ statistic + ½√(K/n) + √(log(1/α)/2n) w.p. ≥ 1 − α
        radius = multinomial_tv_radius(n, alpha, support_size=exact.probabilities.size)
        upper = float(fit.statistic) + radius
        certificates = (Certificate("TV(output law, q_KL) ≤ TV(p̂_n, q_KL) + multinomial radius", upper, budget, alpha,
                                    float(fit.statistic), {"radius": radius}),)
    missing = ("not certified: from samples of a continuous law, projection KS distances bound the TV only from "
               "below, so no certificate of TV ≤ budget exists here; claim budget 0 to get a not-refuted verdict "
               "with the designed power")
    verdict, meaning, message = settle_verdict((test,), certificates, budget=budget, missing=missing)
    if verdict == "fail":
        message = (f"the output law is not q_KL: {test.statistic.split(' vs ')[0]} = {test.value:.4g} > "
                   f"{test.threshold:.4g}")
    return VerificationRecord(family="kl", instance=instance, verdict=verdict, alpha=alpha, beta=beta, seed=seed,
                              tests=(test,), certificates=certificates, power=power, warnings=tuple(warnings),
                              message=message, details=details, pass_meaning=meaning,
                              not_reproducible=not_reproducible)


FAMILY = Family(name="kl", summary="a KL aligner's output law against the exact q ∝ p·e^{r/λ}", check="check_kl_align",
                assertion="assert_kl_align", verify=verify_by_factory("kl"))
