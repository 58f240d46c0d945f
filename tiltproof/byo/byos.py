"""Bring your own single-step sampler: does it draw from the law T1–T3 give it?

``check_sampler(sampler, base=..., reward=..., lam=..., baseline=...)`` tests H₀ "``sampler(n,
generator)`` draws from ``q_b ∝ p·min(1, e^{(r−b)/λ})``" (``baseline=None``: the target
``q ∝ p e^{r/λ}``, T1) at false-fail level ``alpha``, with n **designed** so that the errors real
implementations make are caught with probability ≥ 1 − ``beta``:

* λ off by ``lam_error`` (default 5 %) either way — a temperature bug;
* b off by ``baseline_error·λ`` (default 0.25λ) either way — a miscalibrated baseline;
* no tilt at all (the sampler returns p).

Each alternative's law is exact, so the sample size needed to reject it is computed, not tried
(``estimators.single_step_power``). The statistic is the tightest valid one: the frequency of the top
reward atom for a step reward (exact binomial), the multinomial TV for a finite base, KS on r(X)
otherwise; KS on each coordinate runs beside it at the other half of α (it catches errors outside the
family). The record states the power also in the user's units — "detects λ errors ≥ 3.1 %, baseline
errors ≥ 0.16" — and warns when a requested ``gap`` exceeds the whole alignment effect (the
statistic's distance between p and the claimed law), since such a check cannot tell a tilted sampler
from an untilted one.

Before reporting ``fail`` the sampler is run again with the same seed; a different statistic means it
ignores the generator it is handed, and the verdict is ``error`` (the failure would not reproduce).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

from estimators import design
from estimators import single_step_power as power
from estimators.confidence import dkw_radius, ks_distance
from estimators.exact import TiltedLaw
from estimators.law_tests import fit_sample_size, fit_test
from primitives._checks import check_positive, check_unit_interval, resolve_device
from tiltproof.byo.verification import TestOutcome, VerificationRecord, combine_verdict

__all__ = ["check_sampler", "SamplerCheck", "DEFAULT_LAM_ERROR", "DEFAULT_BASELINE_ERROR", "DEFAULT_MAX_SAMPLES"]

SamplerCheck = VerificationRecord  # the single-step check's record (kept as a name for callers)

DEFAULT_LAM_ERROR = 0.05
"""Relative temperature error the default design detects (either sign)."""
DEFAULT_BASELINE_ERROR = 0.25
"""Baseline error, in units of λ, the default design detects (either sign)."""
DEFAULT_MAX_SAMPLES = 4_000_000
"""Cap on n: beyond it the check runs at the cap and says which designed errors it no longer detects."""
MIN_SAMPLES = 2_000


def _as_samples(output: Any, n: int) -> np.ndarray:
    samples = getattr(output, "samples", output)
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().numpy()
    samples = np.asarray(samples)
    if samples.ndim == 0 or samples.shape[0] != n:
        rows = "a scalar" if samples.ndim == 0 else f"{samples.shape[0]} samples"
        raise ValueError(f"sampler returned {rows} when asked for n={n}")
    if samples.dtype.kind == "f" and not np.isfinite(samples).all():
        raise ValueError("sampler returned non-finite values (NaN or inf)")
    return samples


def _alternatives(claimed: TiltedLaw, lam_error: float, baseline_error: float) -> dict[str, TiltedLaw]:
    lam, b = claimed.lam, claimed.baseline
    found = {
        f"λ·{1 + lam_error:g}": power.alternative_law(claimed, lam=lam * (1 + lam_error)),
        f"λ·{1 - lam_error:g}": power.alternative_law(claimed, lam=lam * (1 - lam_error)),
        "untilted (p)": power.untilted_law(claimed),
    }
    ess_sup = claimed.law.ess_sup
    effective = b if b is not None else (ess_sup if math.isfinite(ess_sup) else None)
    if effective is not None and baseline_error > 0:
        found[f"b − {baseline_error:g}λ"] = power.alternative_law(claimed, baseline=effective - baseline_error * lam)
        if b is not None and b + baseline_error * lam < ess_sup:
            found[f"b + {baseline_error:g}λ"] = power.alternative_law(claimed, baseline=b + baseline_error * lam)
    return found


def _user_units_power(n: int, claimed: TiltedLaw, kind, alpha: float, beta: float) -> dict[str, float | None]:
    lam, b = claimed.lam, claimed.baseline
    up = power.smallest_detected_error(n, claimed, kind, lambda s: power.alternative_law(claimed, lam=lam * (1 + s)),
                                       largest=1.0, alpha=alpha, beta=beta)
    down = power.smallest_detected_error(n, claimed, kind, lambda s: power.alternative_law(claimed, lam=lam * (1 - s)),
                                         largest=0.9, alpha=alpha, beta=beta)
    found: dict[str, float | None] = {"lambda_relative_error": None if up is None or down is None else max(up, down)}
    ess_sup = claimed.law.ess_sup
    effective = b if b is not None else (ess_sup if math.isfinite(ess_sup) else None)
    if effective is not None:
        found["baseline_too_low"] = power.smallest_detected_error(
            n, claimed, kind, lambda s: power.alternative_law(claimed, baseline=effective - s), largest=20.0 * lam,
            alpha=alpha, beta=beta)
    if b is not None and b < ess_sup:
        room = ess_sup - b if math.isfinite(ess_sup) else 20.0 * lam
        found["baseline_too_high"] = power.smallest_detected_error(
            n, claimed, kind, lambda s: power.alternative_law(claimed, baseline=b + s), largest=room,
            alpha=alpha, beta=beta)
    return found


def _primary_test(samples: np.ndarray, claimed: TiltedLaw, kind, alpha: float, beta: float) -> TestOutcome:
    n = samples.shape[0]
    if kind == "multinomial":
        fit = fit_test(samples, claimed, alpha, beta)
        return TestOutcome("output law", "TV(p̂_n, q_b) (multinomial)", fit.statistic, fit.threshold, n, alpha,
                           design.min_gap_of_tvs_detectable_by_multinomial(n, claimed.finite_probabilities(),
                                                                           alpha=alpha, beta=beta),
                           "TV", fit.rejected)
    rewards = claimed.reward(torch.as_tensor(samples.reshape(n, -1), dtype=torch.float64)).cpu().numpy()
    if kind == "rate":
        value = power.rate_event_value(claimed)
        rate = power.event_rate(claimed, value)
        count = int(np.sum(rewards == value))
        rejected, (low, high) = design.binomial_rate_test(count, n, rate, alpha=alpha)
        k_low, k_high = design.binomial_rejection_counts(n, rate, alpha)
        detect_low, detect_high = design.min_discrepancy_of_binomial_rates_detectable(n, rate, alpha=alpha, beta=beta)
        return TestOutcome(
            "output law", f"frequency of r(X) = {value:g} (claimed {rate:.4g}; exact binomial, two-sided)", count / n,
            (k_high - 1) / n if count / n > rate else (k_low + 1) / n, n, alpha,
            max(detect_high - rate, rate - detect_low), "probability of the top reward atom", rejected,
            {"claimed_rate": rate, "clopper_pearson_interval": [low, high], "count": count,
             "acceptance_region": [(k_low + 1) / n, (k_high - 1) / n]})
    statistic = ks_distance(rewards, claimed.reward_cdf)
    threshold = dkw_radius(n, alpha)
    return TestOutcome("output law", "KS on r(X) (DKW)", statistic, threshold, n, alpha,
                       design.min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=alpha, beta=beta), "KS on r(X)",
                       statistic > threshold)


def _coordinate_tests(samples: np.ndarray, claimed: TiltedLaw, alpha: float, beta: float) -> list[TestOutcome]:
    n = samples.shape[0]
    share = alpha / claimed.dim
    threshold = dkw_radius(n, share)
    outcomes = []
    for j in range(claimed.dim):
        statistic = ks_distance(samples[:, j], lambda y, j=j: claimed.coordinate_cdf(j, y))
        outcomes.append(TestOutcome(f"coordinate x{j}", f"KS on x{j} (DKW)", statistic, threshold, n, share,
                                    design.min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=share, beta=beta),
                                    f"KS on x{j}", statistic > threshold))
    return outcomes


def _run_tests(samples: np.ndarray, claimed: TiltedLaw, kind, alpha: float, beta: float) -> tuple[TestOutcome, ...]:
    if kind == "multinomial":
        return (_primary_test(samples, claimed, kind, alpha, beta),)
    samples = samples.reshape(samples.shape[0], -1).astype(float)
    if samples.shape[1] != claimed.dim:
        raise ValueError(f"sampler returned samples of shape {samples.shape}, expected (n, {claimed.dim})")
    return (_primary_test(samples, claimed, kind, alpha / 2.0, beta),
            *_coordinate_tests(samples, claimed, alpha / 2.0, beta))


def check_sampler(sampler: Callable[[int, torch.Generator], Any], *, base=None, reward=None, lam: float | None = None,
                  baseline: float | None, instance: str | None = None, alpha: float = 1e-6, beta: float = 1e-3,
                  gap: float | None = None, lam_error: float = DEFAULT_LAM_ERROR,
                  baseline_error: float = DEFAULT_BASELINE_ERROR, max_samples: int = DEFAULT_MAX_SAMPLES,
                  seed: int = 0, device: str | torch.device = "cpu") -> VerificationRecord:
    """Verify ``sampler`` against q_b (or q when ``baseline=None``); returns a ``VerificationRecord``.

    ``sampler(n, generator)`` returns n samples (an (n, d) or (n,) array or tensor, or an object with
    ``.samples``) and must draw all its randomness from ``generator``. Give ``base``, ``reward`` and
    ``lam``, or ``instance`` (a registered single-step instance name, see ``tiltproof list``).
    ``gap`` (optional) replaces the designed n by the n that detects that gap in the primary statistic's
    units (a warning says when it exceeds the whole alignment effect).

    Raises ``ValueError`` naming the argument for bad input, and ``estimators.exact.UnsupportedInstance``
    (a ``ValueError``) when the claimed law is not exactly computable for this base and reward.
    """
    if not callable(sampler):
        raise ValueError(f"sampler must be a callable sampler(n, generator), got {sampler!r}")
    if instance is not None:
        from tiltproof.instances.single_step import get_instance

        registered = get_instance(instance)
        base = registered.base("cpu") if base is None else base
        reward = registered.reward if reward is None else reward
        lam = registered.lam if lam is None else lam
    if base is None or reward is None or lam is None:
        raise ValueError("base, reward and lam are required (or instance=NAME of a registered instance)")
    check_positive("lam", lam)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    lam_error = check_unit_interval("lam_error", lam_error)
    if not (isinstance(baseline_error, (int, float)) and math.isfinite(baseline_error) and baseline_error >= 0):
        raise ValueError(f"baseline_error must be a finite number ≥ 0, got {baseline_error!r}")
    if gap is not None:
        gap = check_unit_interval("gap", gap)
    if int(max_samples) < MIN_SAMPLES:
        raise ValueError(f"max_samples must be ≥ {MIN_SAMPLES}, got {max_samples!r}")
    device = resolve_device(device)
    claimed = TiltedLaw(base, reward, lam, baseline)
    kind = power.statistic_kind(claimed)
    primary_alpha = alpha if kind == "multinomial" else alpha / 2.0
    warnings: list[str] = []
    alternatives = _alternatives(claimed, lam_error, baseline_error)
    effect = power.signal(claimed, alternatives["untilted (p)"], kind)
    needs = {name: power.samples_to_detect(claimed, other, kind, alpha=primary_alpha, beta=beta)
             for name, other in alternatives.items()}
    if gap is not None:
        n = fit_sample_size(claimed, gap, primary_alpha, beta) if kind != "rate" else \
            design.min_num_samples_for_dkw_cdf_test(gap, alpha=primary_alpha, beta=beta)
        if gap >= effect:
            warnings.append(f"the requested gap {gap:g} is at least the whole alignment effect ({effect:.3g} in the "
                            "statistic's units, p against the claimed law): an untilted sampler may pass")
    else:
        n = max([MIN_SAMPLES] + [need for need in needs.values() if need is not None])
    if n > max_samples:
        warnings.append(f"n capped at max_samples={max_samples} (the design asked for {n}); see the power line "
                        "for what is still detected")
        n = int(max_samples)
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    samples = _as_samples(sampler(n, generator), n)
    tests = _run_tests(samples, claimed, kind, alpha, beta)
    verdict = combine_verdict(tests)
    message = ""
    if verdict == "fail":  # a failure must reproduce under the same generator seed
        generator.manual_seed(seed)
        again = _run_tests(_as_samples(sampler(n, generator), n), claimed, kind, alpha, beta)
        if [test.value for test in again] != [test.value for test in tests]:
            verdict = "error"
            message = ("the sampler gave different samples for the same generator seed: it draws randomness from "
                       "somewhere other than the generator it is handed, so a failure cannot be reproduced")
    return VerificationRecord(
        family="single", instance=instance or f"{type(base).__name__}, {type(claimed.reward).__name__}, λ={lam:g}, "
        f"b={'ess sup (target q)' if baseline is None else f'{baseline:g}'}",
        verdict=verdict, alpha=alpha, beta=beta, seed=seed, tests=tests,
        power=_user_units_power(n, claimed, kind, primary_alpha, beta), warnings=tuple(warnings), message=message,
        details={"designed_for": {"lam_error": lam_error, "baseline_error_in_lambda": baseline_error},
                 "samples_needed": needs, "alignment_effect": effect, "statistic_kind": kind, "device": str(device)})
