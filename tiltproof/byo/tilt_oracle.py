"""Bring your own linear-tilt oracle: check its samples and log-partitions against the exact tilts.

A linear-tilt oracle for a base law p (tractability spec, "Primitive 1") answers, for θ ∈ ℝ^d:

* ``sample(theta, n, generator)`` — n draws of ``p_θ ∝ p·e^{⟨θ,x⟩}`` (θ handed over as a ``(d,)`` tensor
  in the base's dtype and on ``device``) as an ``(n, d)`` tensor or array (``(n,)`` or ``(n, 1)`` category
  indices for a finite base), drawing only from ``generator``; an object with only
  ``sample_rows(thetas, generator)`` (one draw per row, the vectorised form) is accepted too;
* ``log_partition(thetas)`` — ``log Z(θ_i) = log E_p e^{⟨θ_i,X⟩}`` for the rows of an ``(m, d)`` tensor,
  as m numbers (optional: without it that test is skipped with a warning);
* ``calls`` (optional int) — its own count of tilted draws; when present it is audited: n draws must
  add exactly n.

That is the interface of ``primitives.tilt_oracle.ExactTiltOracle``, which passes as is.

``check_tilt_oracle(oracle, base, thetas)`` checks it against the exact tilts of a ``Gaussian``,
``GaussianMixture`` or ``Categorical`` base: the tilted laws by ``primitives.laws`` (``base.tilt``: a
Gaussian tilts to ``N(μ + Σθ, Σ)``, a mixture's component means shift by ``Σ_kθ`` and its weights become
``∝ π_k e^{⟨θ,μ_k⟩ + ½θᵀΣ_kθ}``, a finite law to ``softmax(log p + θx)``), the log-partitions
``log Σ_k π_k e^{⟨θ,μ_k⟩ + ½θᵀΣ_kθ}`` (``log Σ_x p(x)e^{θx}``) in float64 from the base's parameters:

* per θ_i, a goodness-of-fit test at α/m (``split_alpha`` over the m tilts): the largest KS distance
  over the coordinates and the tilt direction θ̂ against DKW at α/(mT) (closed-form mixture CDFs), or
  the multinomial TV for a finite base. n_i is designed (``estimators.projection_fit``, ``estimators.multinomial_tv``) so that
  an oracle tilting by ``(1 ± theta_error)·θ_i`` is rejected w.p. ≥ 1 − β: the signal is the exact KS
  (TV) distance between the two tilts;
* the log-partitions, deterministically: ``|log Ẑ − log Z| ≤ tol·max(1, |log Z|)`` at every θ_i;
* the call count, deterministically, when the oracle keeps one.

An oracle that raises, or whose output breaks the protocol (wrong type, rows, NaN), gives verdict
``error`` naming what it did (the tests finished are kept). Two equally seeded draws run first; an
oracle that ignores its generator is flagged ``not_reproducible`` and still tested (a refuted law is
``fail``). Every claim here is exact, so ``pass`` means not refuted, with the designed power stated.

Power in user units: ``theta_relative_error`` (every tested θ_i detects an oracle tilting by
``(1 ± s)θ_i`` for s ≥ this), ``theta_error_norm`` (Gaussian base: any additive θ error of this norm, by
``max_j |(Σδ)_j|/√Σ_jj ≥ σ_min(D^{−½}Σ)‖δ‖/√d`` on the coordinate projections), ``log_partition_error``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.special import logsumexp, ndtri

from estimators.design import detectable_parameter_error
from estimators.multinomial_tv import min_num_samples_for_multinomial_tv_test
from estimators.projection_fit import min_num_samples_for_projection_ks_test
from estimators.projection_fit import multinomial_fit, projection_fit_test
from estimators.exact.ridge_law import mixture_components
from primitives._checks import check_positive
from primitives.laws import Categorical, Gaussian, GaussianMixture
from tiltproof.byo.common import (NOT_REPRODUCIBLE, BadOutput, ImplementationRaised, as_sample_array, call_user,
                                     check_alpha_beta, check_count,
                                     check_seed_device, error_record, finite_tv, fit_outcome, ignores_generator,
                                     mixture_ks, mixture_projections, seeded)
from tiltproof.byo.families import Family, verify_by_factory
from tiltproof.byo.verification import TestOutcome, VerificationRecord, settle_verdict, split_alpha

__all__ = ["check_tilt_oracle"]


def _check_base(base) -> None:
    if not isinstance(base, (Gaussian, GaussianMixture, Categorical)):
        raise ValueError(f"base must be a Gaussian, GaussianMixture or Categorical (laws with exact tilts), "
                         f"got {base!r}")


def _check_thetas(thetas, dim: int) -> np.ndarray:
    try:
        array = np.asarray(thetas.detach().cpu().numpy() if isinstance(thetas, torch.Tensor) else thetas, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"thetas must be numeric, one tilt per row, got {thetas!r}") from None
    if array.ndim == 0 and dim == 1:
        array = array.reshape(1, 1)
    if array.ndim == 1:
        array = array[:, None] if dim == 1 else array[None, :]
    if array.ndim != 2 or array.shape[1] != dim or array.shape[0] < 1:
        raise ValueError(f"thetas must have shape (m, {dim}) (one tilt per row), got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("thetas must contain only finite values")
    if not np.any(array):
        raise ValueError("thetas must contain at least one non-zero tilt (θ = 0 alone checks only the base law)")
    return array


def _check_oracle(oracle, dim: int) -> None:
    if not (callable(getattr(oracle, "sample", None)) or callable(getattr(oracle, "sample_rows", None))):
        raise ValueError("oracle must have sample(theta, n, generator) or sample_rows(thetas, generator) "
                         f"(see primitives.tilt_oracle.ExactTiltOracle), got {oracle!r}")
    oracle_dim = getattr(oracle, "dim", dim)
    if oracle_dim != dim:
        raise ValueError(f"oracle has dim={oracle_dim} but the base has dimension {dim}")


def _draw(oracle, theta: np.ndarray, n: int, generator: torch.Generator, dtype: torch.dtype, device) -> Any:
    theta_t = torch.as_tensor(theta, dtype=dtype, device=device)
    if callable(getattr(oracle, "sample", None)):
        return oracle.sample(theta_t, n, generator)
    return oracle.sample_rows(theta_t.expand(n, -1), generator)


def _finite_samples(array: np.ndarray, size: int) -> np.ndarray:
    labels = np.round(array[:, 0])
    if np.any(np.abs(array[:, 0] - labels) > 1e-9) or labels.min() < 0 or labels.max() >= size:
        raise BadOutput(f"oracle returned samples that are not category indices in [0, {size - 1}]")
    return labels.astype(np.int64)


# ---------------------------------------------------------------------------- exact tilts
def _tilt_mixture(base, theta: np.ndarray):
    log_weights, means, covs = mixture_components(base.tilt(theta))
    return np.exp(log_weights), means, covs


def _directions(theta: np.ndarray, dim: int) -> dict[str, np.ndarray]:
    directions = {f"x{j}": np.eye(dim)[j] for j in range(dim)}
    if dim > 1 and np.any(theta):
        directions["theta"] = theta / np.linalg.norm(theta)
    return directions


def _signal(base, theta: np.ndarray, directions: dict[str, np.ndarray]):
    """s ↦ the smaller of the exact discrepancies between p_θ and p_{(1 ± s)θ} (KS, or TV if finite)."""
    if isinstance(base, Categorical):
        exact = base.tilt(float(theta[0])).probs.cpu().numpy()
        return lambda s: min(finite_tv(exact, base.tilt(float(theta[0]) * (1 + sign * s)).probs.cpu().numpy())
                             for sign in (1, -1))
    exact = _tilt_mixture(base, theta)
    return lambda s: min(mixture_ks(exact, _tilt_mixture(base, theta * (1 + sign * s)), directions) for sign in (1, -1))


def _exact_log_partition(base, theta: np.ndarray) -> float:
    """``log E_p e^{⟨θ,X⟩}`` in float64 from the base's parameters (whatever the base's dtype)."""
    if isinstance(base, Categorical):
        with np.errstate(divide="ignore"):
            scores = np.log(base.probs.cpu().numpy().astype(float)) + float(theta[0]) * np.arange(base.size)
        return float(logsumexp(scores))
    log_weights, means, covs = mixture_components(base)
    return float(logsumexp(log_weights + means @ theta + 0.5 * np.einsum("i,kij,j->k", theta, covs, theta)))


def _norm_constant(base: Gaussian) -> float:
    """``σ_min(D^{−½}Σ)/√d``: ``max_j |(Σδ)_j|/√Σ_jj ≥`` this ``·‖δ‖``."""
    cov = base.cov.cpu().numpy()
    scaled = cov / np.sqrt(np.diag(cov))[:, None]
    return float(np.linalg.svd(scaled, compute_uv=False).min()) / math.sqrt(cov.shape[0])


def _sample_tests(oracle, base, plans: list[dict], seed: int, device, dtype, alpha_each: float, beta: float,
                  tests: list[TestOutcome], call_errors: list[int], per_theta_power: list[float | None]) -> None:
    """One goodness-of-fit test per θ_i (appended to ``tests`` as it finishes), and the call-count deltas."""
    finite, dim = isinstance(base, Categorical), base.dim
    for index, plan in enumerate(plans):
        theta, n = plan["theta"], plan["n"]
        calls_before = getattr(oracle, "calls", None)
        output = call_user("oracle.sample", _draw, oracle, theta, n, seeded(seed, device, stream=index), dtype,
                           device)
        calls_after = getattr(oracle, "calls", None)
        if isinstance(calls_before, (int, np.integer)) and isinstance(calls_after, (int, np.integer)):
            call_errors.append(int(calls_after - calls_before) - n)
        samples = as_sample_array("oracle.sample", output, n, dim)
        if finite:
            probs = base.tilt(float(theta[0])).probs.cpu().numpy()
            fit = multinomial_fit(_finite_samples(samples, base.size), probs, alpha_each, beta)
            units = "TV distance"
        else:
            projections = mixture_projections(_tilt_mixture(base, theta), plan["directions"])
            fit = projection_fit_test(samples, projections, alpha_each, beta)
            units = "KS distance"
        detectable_s = (detectable_parameter_error(plan["signal"], fit.detectable_gap, largest=0.99, tolerance=1e-4)
                        if np.any(theta) else None)
        per_theta_power.append(detectable_s)
        tests.append(fit_outcome(f"tilt law at θ_{index}", fit, alpha_each, gap_units=units,
                                 details={"theta": theta.tolist(), "theta_relative_error_detectable": detectable_s,
                                          "designed_signal": plan["strength"]}))


def _log_partition_test(oracle, base, thetas: np.ndarray, tolerance: float, dtype, device) -> TestOutcome:
    """Deterministic: ``|log Ẑ(θ_i) − log Z(θ_i)| ≤ tolerance·max(1, |log Z(θ_i)|)`` at every θ_i."""
    m = thetas.shape[0]
    exact = np.array([_exact_log_partition(base, theta) for theta in thetas])
    thetas_t = torch.as_tensor(thetas, dtype=dtype, device=device)
    reported = call_user("oracle.log_partition", oracle.log_partition, thetas_t)
    try:
        reported = np.asarray(reported.detach().cpu().numpy() if isinstance(reported, torch.Tensor) else reported,
                              dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise BadOutput(f"oracle.log_partition must return {m} numbers, got {type(reported).__name__}") from None
    if reported.shape != (m,):
        raise BadOutput(f"oracle.log_partition returned {reported.size} values for {m} tilts")
    errors = np.abs(reported - exact) / np.maximum(1.0, np.abs(exact))
    worst = float(np.max(np.where(np.isfinite(errors), errors, np.inf)))
    return TestOutcome(name="log-partition", statistic="max |log Ẑ(θ) − log Z(θ)|/max(1, |log Z(θ)|)",
                       value=worst, threshold=tolerance, n=m, alpha=0.0, detectable_gap=tolerance,
                       gap_units="relative log-partition error (deterministic)", rejected=not worst <= tolerance,
                       details={"exact": exact.tolist(), "reported": reported.tolist()})


def check_tilt_oracle(oracle, base, thetas, *, alpha: float = 1e-6, beta: float = 1e-3, seed: int = 0,
                      device: str | torch.device = "cpu", theta_error: float = 0.05,
                      log_partition_tolerance: float = 1e-6, max_samples: int = 2_000_000) -> VerificationRecord:
    """Check a linear-tilt oracle's samples, log-partitions and call count against the exact tilts of ``base``.

    ``thetas``: the tilts to test, ``(m, d)`` (at least one non-zero). ``theta_error``: the relative θ
    error every θ_i's sample test is sized to detect w.p. ≥ 1 − β. ``log_partition_tolerance``: the
    accepted ``|log Ẑ − log Z|/max(1, |log Z|)``. ``max_samples`` caps each θ_i's n (a warning says so).
    """
    _check_base(base)
    alpha, beta = check_alpha_beta(alpha, beta)
    seed, device = check_seed_device(seed, device)
    theta_error = check_positive("theta_error", theta_error)
    if theta_error >= 1.0:
        raise ValueError(f"theta_error must lie in (0, 1), got {theta_error!r}")
    tolerance = check_positive("log_partition_tolerance", log_partition_tolerance)
    max_samples = check_count("max_samples", max_samples, minimum=64)
    dim = base.dim
    thetas = _check_thetas(thetas, dim)
    _check_oracle(oracle, dim)
    finite = isinstance(base, Categorical)
    m = thetas.shape[0]
    alpha_each = split_alpha(alpha, m)
    warnings: list[str] = []

    # -- design: n_i detects a (1 ± theta_error) scaling of θ_i; θ = 0 reuses the largest n
    plans = []
    for theta in thetas:
        directions = {} if finite else _directions(theta, dim)
        signal = _signal(base, theta, directions)
        strength = signal(theta_error) if np.any(theta) else 0.0
        n = None
        if strength > 0:
            if finite:
                probs = base.tilt(float(theta[0])).probs.cpu().numpy()
                n = min_num_samples_for_multinomial_tv_test(min(strength, 0.999), probs, alpha=alpha_each, beta=beta)
            else:
                n = min_num_samples_for_projection_ks_test(min(strength, 0.999), len(directions), alpha=alpha_each,
                                                           beta=beta)
        plans.append({"theta": theta, "directions": directions, "signal": signal, "n": n, "strength": strength})
    designed = [plan["n"] for plan in plans if plan["n"] is not None]
    largest = max(designed) if designed else max_samples
    for plan in plans:
        plan["n"] = plan["n"] if plan["n"] is not None else largest
        if plan["n"] > max_samples:
            warnings.append(f"n_capped_by_budget: θ={plan['theta'].tolist()} needs n={plan['n']} to detect a "
                            f"{theta_error:.0%} θ error; capped at max_samples={max_samples}")
            plan["n"] = max_samples

    dtype = getattr(base, "dtype", torch.float64)
    probe_theta = next(theta for theta in thetas if np.any(theta))

    def probe(n: int, generator: torch.Generator) -> np.ndarray:
        output = call_user("oracle.sample", _draw, oracle, probe_theta, n, generator, dtype, device)
        return as_sample_array("oracle.sample", output, n, dim)

    instance = f"{base!r}, {m} tilt{'s' if m > 1 else ''}"
    details: dict[str, Any] = {"thetas": thetas.tolist()}
    tests: list[TestOutcome] = []
    call_errors: list[int] = []
    per_theta_power: list[float | None] = []
    try:
        not_reproducible = ignores_generator(probe, seed, device)
        if not_reproducible:
            warnings.append(NOT_REPRODUCIBLE)
        _sample_tests(oracle, base, plans, seed, device, dtype, alpha_each, beta, tests, call_errors, per_theta_power)
        if callable(getattr(oracle, "log_partition", None)):
            tests.append(_log_partition_test(oracle, base, thetas, tolerance, dtype, device))
        else:
            warnings.append("oracle has no log_partition(thetas): log-partitions not checked")
    except (ImplementationRaised, BadOutput) as raised:
        return error_record("tilt", instance, alpha=alpha, beta=beta, seed=seed, tests=tuple(tests), details=details,
                            message=f"{raised}; the tests finished before it are kept")

    # -- call count (deterministic)
    if call_errors:
        worst_calls = max(call_errors, key=abs)
        tests.append(TestOutcome(name="call count", statistic="oracle.calls added − samples drawn (worst θ)",
                                 value=float(worst_calls), threshold=0.0, n=m, alpha=0.0, detectable_gap=1.0,
                                 gap_units="miscounted calls (deterministic)", rejected=worst_calls != 0,
                                 details={"per_theta": call_errors}))

    nonzero = [p for theta, p in zip(thetas, per_theta_power) if np.any(theta)]
    power: dict[str, float | None] = {
        "theta_relative_error": None if any(p is None for p in nonzero) else max(nonzero),
        "log_partition_error": tolerance if callable(getattr(oracle, "log_partition", None)) else None,
    }
    if isinstance(base, Gaussian):
        gap = max(test.detectable_gap for test in tests if test.name.startswith("tilt law"))
        power["theta_error_norm"] = (2.0 * float(ndtri((1.0 + gap) / 2.0)) / _norm_constant(base)) if gap < 1 else None
    if power["theta_relative_error"] is None:
        warnings.append("some tested θ detects no relative θ error below 0.99 at its n; use larger tilts or raise "
                        "max_samples")
    outcome = tuple(tests)
    verdict, meaning, _ = settle_verdict(outcome, budget=0.0)
    message = "" if verdict == "pass" else "rejected against the exact tilts: " + ", ".join(
        test.name for test in outcome if test.rejected)
    return VerificationRecord(family="tilt", instance=instance, verdict=verdict, alpha=alpha, beta=beta, seed=seed,
                              tests=outcome, power=power, warnings=tuple(warnings), message=message, details=details,
                              pass_meaning=meaning, not_reproducible=not_reproducible)


FAMILY = Family(name="tilt", check="check_tilt_oracle",
                summary="a linear-tilt oracle's samples, log-partitions and call count against the exact tilts",
                assertion="assert_tilt_oracle", verify=verify_by_factory("tilt"))
