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

**Sequential.** The sample is drawn in doubling batches and tested after each
(``estimators.sequential``: α and β spent geometrically over the looks, the cap designed at (α/2, β/2),
so the false-fail level holds at whichever look the check stops and the designed power holds at the
cap); a gross bug stops at the first look, a correct sampler once its confidence band excludes every
designed alternative. The record states the samples drawn, the sampler calls, the looks and the cap's
inflation over the fixed-n design (``details``).

**One meaning per verdict.** Every claim here is an exactness claim, so ``pass`` means "not refuted at
level α, with the designed power stated" (``pass_meaning="not_refuted"``). Before the test, two equally
seeded draws of 8 check that the sampler draws only from its generator; if not, the record is flagged
``not_reproducible`` and the verdict stays what the data say (a refuted law is still ``fail``). A
sampler that raises or returns the wrong type or shape gives an ``error`` record naming what it did.
A ``fail`` carries a diagnosis (``details["diagnosis"]``, ``estimators.diagnosis``): confidence
intervals for the λ and b that would explain the sample, and whether an untilted sampler would.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

from estimators.binomial import (binomial_rate_test, binomial_rejection_counts,
                                 min_discrepancy_of_binomial_rates_detectable)
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_dkw_cdf_test
from estimators.multinomial_tv import min_gap_of_tvs_detectable_by_multinomial
from estimators import single_step_power as power
from estimators import sequential
from estimators.binomial import clopper_pearson_lower, clopper_pearson_upper
from estimators.dkw import dkw_radius, ks_distance
from estimators.diagnosis import diagnose_single_step
from estimators.exact.tilted_law import TiltedLaw
from estimators.law_tests import fit_sample_size, fit_test
from primitives._checks import check_positive, check_unit_interval, resolve_device
from tiltproof.byo.families import Family, Option
from tiltproof.byo.common import (NOT_REPRODUCIBLE, BadOutput, ImplementationRaised, call_user, error_record,
                                     ignores_generator)
from tiltproof.byo.verification import TestOutcome, VerificationRecord, settle_verdict

__all__ = ["check_sampler", "SamplerCheck", "DEFAULT_LAM_ERROR", "DEFAULT_BASELINE_ERROR", "DEFAULT_MAX_SAMPLES"]

SamplerCheck = VerificationRecord  # the single-step check's record (kept as a name for callers)

DEFAULT_LAM_ERROR = 0.05
"""Relative temperature error the default design detects (either sign)."""
DEFAULT_BASELINE_ERROR = 0.25
"""Baseline error, in units of λ, the default design detects (either sign)."""
DEFAULT_MAX_SAMPLES = 4_000_000
"""Cap on n: beyond it the check runs at the cap and says which designed errors it no longer detects."""
MIN_SAMPLES = 2_000


def _as_samples(output: Any, n: int, claimed: TiltedLaw) -> np.ndarray:
    """The sampler's output as ``(n,)`` category indices (finite base) or an ``(n, d)`` float array;
    ``BadOutput`` naming what was returned otherwise."""
    samples = getattr(output, "samples", output)
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().numpy()
    try:
        samples = np.asarray(samples, dtype=float)
    except (TypeError, ValueError):
        raise BadOutput(f"sampler must return n samples (an array or tensor, or an object with .samples), got "
                        f"{type(samples).__name__}") from None
    if samples.ndim == 0 or samples.shape[0] != n:
        rows = f"a scalar ({type(output).__name__})" if samples.ndim == 0 else f"{samples.shape[0]} samples"
        raise BadOutput(f"sampler returned {rows} when asked for n={n}")
    if not np.isfinite(samples).all():
        raise BadOutput("sampler returned non-finite values (NaN or inf)")
    if claimed.is_finite:
        labels = samples.reshape(n, -1)
        size = claimed.base.size
        if labels.shape[1] != 1 or np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= size:
            raise BadOutput(f"sampler returned samples of shape {samples.shape} that are not category indices in "
                            f"[0, {size - 1}]")
        return labels[:, 0].astype(np.int64)
    samples = samples.reshape(n, -1)
    if samples.shape[1] != claimed.dim:
        raise BadOutput(f"sampler returned samples of shape {samples.shape}, expected (n, {claimed.dim})")
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
                           min_gap_of_tvs_detectable_by_multinomial(n, claimed.finite_probabilities(),
                                                                           alpha=alpha, beta=beta),
                           "TV", fit.rejected)
    rewards = claimed.reward(torch.as_tensor(samples.reshape(n, -1), dtype=torch.float64)).cpu().numpy()
    if kind == "rate":
        value = power.rate_event_value(claimed)
        rate = power.event_rate(claimed, value)
        count = int(np.sum(rewards == value))
        rejected, (low, high) = binomial_rate_test(count, n, rate, alpha=alpha)
        k_low, k_high = binomial_rejection_counts(n, rate, alpha)
        detect_low, detect_high = min_discrepancy_of_binomial_rates_detectable(n, rate, alpha=alpha, beta=beta)
        return TestOutcome(
            "output law", f"frequency of r(X) = {value:g} (claimed {rate:.4g}; exact binomial, two-sided)", count / n,
            (k_high - 1) / n if count / n > rate else (k_low + 1) / n, n, alpha,
            max(detect_high - rate, rate - detect_low), "probability of the top reward atom", rejected,
            {"claimed_rate": rate, "clopper_pearson_interval": [low, high], "count": count,
             "acceptance_region": [(k_low + 1) / n, (k_high - 1) / n]})
    statistic = ks_distance(rewards, claimed.reward_cdf)
    threshold = dkw_radius(n, alpha)
    return TestOutcome("output law", "KS on r(X) (DKW)", statistic, threshold, n, alpha,
                       min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=alpha, beta=beta), "KS on r(X)",
                       statistic > threshold)


def _coordinate_tests(samples: np.ndarray, claimed: TiltedLaw, alpha: float, beta: float) -> list[TestOutcome]:
    n = samples.shape[0]
    share = alpha / claimed.dim
    threshold = dkw_radius(n, share)
    outcomes = []
    for j in range(claimed.dim):
        statistic = ks_distance(samples[:, j], lambda y, j=j: claimed.coordinate_cdf(j, y))
        outcomes.append(TestOutcome(f"coordinate x{j}", f"KS on x{j} (DKW)", statistic, threshold, n, share,
                                    min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=share, beta=beta),
                                    f"KS on x{j}", statistic > threshold))
    return outcomes


def _run_tests(samples: np.ndarray, claimed: TiltedLaw, kind, alpha: float, beta: float) -> tuple[TestOutcome, ...]:
    if kind == "multinomial":
        return (_primary_test(samples, claimed, kind, alpha, beta),)
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

    Raises ``ValueError`` naming the argument for bad input, and ``estimators.exact.tilted_law.UnsupportedInstance``
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
    share = 1.0 if kind == "multinomial" else 0.5      # the primary statistic's part of α (coordinates: the rest)
    alpha_last, beta_last = sequential.final_levels(alpha, beta)
    warnings: list[str] = []
    alternatives = _alternatives(claimed, lam_error, baseline_error)
    effect = power.signal(claimed, alternatives["untilted (p)"], kind)
    needs = {name: power.samples_to_detect(claimed, other, kind, alpha=share * alpha, beta=beta)
             for name, other in alternatives.items()}
    if gap is not None:
        def sized(a: float, b: float) -> int:
            return fit_sample_size(claimed, gap, a, b) if kind != "rate" else \
                min_num_samples_for_dkw_cdf_test(gap, alpha=a, beta=b)
        fixed, cap = sized(share * alpha, beta), sized(share * alpha_last, beta_last)
        designed_signals = {"requested gap": gap}
        if gap >= effect:
            warnings.append(f"the requested gap {gap:g} is at least the whole alignment effect ({effect:.3g} in the "
                            "statistic's units, p against the claimed law): an untilted sampler may pass")
    else:
        detectable = {name: other for name, other in alternatives.items() if needs[name] is not None}
        fixed = max([MIN_SAMPLES] + [needs[name] for name in detectable])
        cap = max([MIN_SAMPLES] + [power.samples_to_detect(claimed, other, kind, alpha=share * alpha_last,
                                                           beta=beta_last) for other in detectable.values()])
        designed_signals = {name: power.signal(claimed, other, kind) for name, other in detectable.items()}
    if cap > max_samples:
        warnings.append(f"n capped at max_samples={max_samples} (the sequential design asked for {cap}); see the "
                        "power line for what is still detected")
        cap = int(max_samples)
    plan = sequential.sequential_design(min(fixed, cap), cap, alpha, beta)
    instance_name = instance or (f"{type(base).__name__}, {type(claimed.reward).__name__}, λ={lam:g}, "
                                 f"b={'ess sup (target q)' if baseline is None else f'{baseline:g}'}")
    details: dict[str, Any] = {
        "designed_for": {"lam_error": lam_error, "baseline_error_in_lambda": baseline_error},
        "samples_needed": needs, "alignment_effect": effect, "statistic_kind": kind, "device": str(device),
        "sequential": {"looks": list(plan.looks), "alpha_spent": list(plan.alphas), "beta_spent": list(plan.betas),
                       "cap": plan.cap, "fixed_design_n": fixed, "inflation": plan.inflation,
                       "designed_signals": designed_signals}}
    calls = {"sampler_calls": 0, "samples_drawn": 0, "reported_queries": None}

    def draw(count: int, generator: torch.Generator) -> np.ndarray:
        output = call_user("sampler", sampler, count, generator)
        calls["sampler_calls"] += 1
        calls["samples_drawn"] += count
        queries = getattr(output, "queries", getattr(output, "oracle_calls", None))
        if isinstance(queries, (int, np.integer)):
            calls["reported_queries"] = (calls["reported_queries"] or 0) + int(queries)
        return _as_samples(output, count, claimed)

    try:
        not_reproducible = ignores_generator(draw, seed, device)
        samples, tests, look, reason = _sequential_tests(draw, plan, claimed, kind, alternatives, designed_signals,
                                                         seed, device)
    except (ImplementationRaised, BadOutput) as problem:
        details.update(calls)
        return error_record("single", instance_name, alpha=alpha, beta=beta, seed=seed, details=details,
                            message=f"{problem}; the sampler could not be checked")
    if not_reproducible:
        warnings.append(NOT_REPRODUCIBLE)
    verdict, meaning, _ = settle_verdict(tests, budget=0.0)
    details.update(calls)
    details.update({"samples_used": samples.shape[0], "stopped_at_look": look + 1, "stop_reason": reason})
    message = ""
    if verdict == "fail":
        details["diagnosis"] = diagnose_single_step(samples, claimed, kind, alpha)
        message = "diagnosis: " + details["diagnosis"]["text"]
    return VerificationRecord(
        family="single", instance=instance_name, verdict=verdict, alpha=alpha, beta=beta, seed=seed, tests=tests,
        power=_user_units_power(plan.cap, claimed, kind, share * alpha_last, beta_last), warnings=tuple(warnings),
        message=message, details=details, pass_meaning=meaning, not_reproducible=not_reproducible)


def _accepts_early(samples: np.ndarray, tests: tuple[TestOutcome, ...], claimed: TiltedLaw, kind, alternatives,
                   designed_signals: dict[str, float], beta_k: float) -> bool:
    """Futility (``estimators.sequential``): every designed alternative lies outside the level-β_k
    confidence region of the primary statistic, so stopping here misses it w.p. ≤ β_k."""
    if not designed_signals:
        return False
    n = samples.shape[0]
    if kind == "rate" and "requested gap" not in designed_signals:
        value = power.rate_event_value(claimed)
        rate = power.event_rate(claimed, value)
        count = tests[0].details["count"]
        low, high = clopper_pearson_lower(count, n, beta_k / 2.0), clopper_pearson_upper(count, n, beta_k / 2.0)
        rates = [power.event_rate(alternatives[name], value) for name in designed_signals]
        below = max((r for r in rates if r < rate), default=-1.0)
        above = min((r for r in rates if r > rate), default=2.0)
        return below < low and high < above
    distance = abs(tests[0].value - tests[0].details["claimed_rate"]) if kind == "rate" else tests[0].value
    support = claimed.base.size if kind == "multinomial" else None
    radius = sequential.futility_radius(kind, n, beta_k, support)
    return distance + radius < min(designed_signals.values())


def _sequential_tests(draw, plan, claimed: TiltedLaw, kind, alternatives, designed_signals, seed: int,
                      device) -> tuple[np.ndarray, tuple[TestOutcome, ...], int, str]:
    """Draw in the plan's batches from one generator; stop at the first look that rejects (at α_k) or
    accepts early (β_k futility); the last look decides at (α/2, β/2)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    chunks: list[np.ndarray] = []
    drawn = 0
    for look, size in enumerate(plan.looks):
        chunks.append(draw(size - drawn, generator))
        drawn = size
        samples = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
        chunks = [samples]
        last = look == len(plan.looks) - 1
        tests = _run_tests(samples, claimed, kind, plan.alphas[look], plan.betas[-1])
        if any(test.rejected for test in tests):
            return samples, tests, look, "rejected"
        if last:
            return samples, tests, look, "cap"
        if _accepts_early(samples, tests, claimed, kind, alternatives, designed_signals, plan.betas[look]):
            return samples, tests, look, "every designed alternative excluded"
    raise AssertionError("unreachable: the last look always returns")


def _verify(target: Callable, arguments) -> VerificationRecord:
    """``tiltproof verify --family single``: ``target`` is ``sampler(n, generator)``."""
    return check_sampler(target, instance=arguments.instance, baseline=arguments.baseline, alpha=arguments.alpha,
                         seed=arguments.seed, device=arguments.device)


def _validate(arguments) -> None:
    if not arguments.instance:
        raise ValueError("--instance is required for --family single (see `tiltproof list`)")


FAMILY = Family(
    name="single", summary="a single-step rejection sampler's output law against q_b (T1–T3)",
    check="check_sampler", assertion="assert_sampler", verify=_verify, validate=_validate, exports=("SamplerCheck",),
    options=(Option(("--baseline",), type="float",
                    help="single: the baseline b the sampler claims (omit for the target q)"),),
)
