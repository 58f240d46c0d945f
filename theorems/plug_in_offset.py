r"""The authors' proposal-side claim on their own plug-in (zero-slack) offset, tested as T6 tests a learner
(paper-fidelity §2; ``estimators.per_step_delta``; the learner-testing pattern of ``theorems.t6_learner_slack``).

**The learner.** At a parent y with exact ``log u = V' = V_{t+1}(y)``, n training children ``x_i ~ p(·|y)`` give
residuals ``s_i = V(x_i) − V'`` and the offset ``τ̂ = [log(1/δ) + log mean_i e^{κ s_i}]/κ``
(``train_proposal_offsets``, rule ``one-proposal``), so the training mass ``mean_i e^{κ(s_i − τ̂)} = δ`` exactly. The
authors claim the *population* proposal-side term ``M(τ̂) = E_p e^{κ(V − V' − τ̂)} ≤ δ``. A plug-in has no slack:
``M(τ̂) = δ·μ/μ̂`` with ``μ = E_p e^{κ s}`` and ``μ̂ = mean_i e^{κ s_i}``, so ``M(τ̂) > δ`` whenever the training
mean falls below its expectation — about half the trainings (exactly 0.513 here).

**What holds: δ up to the learner's sampling error.** Let ``s_max`` bound the residuals, ``w_i = e^{κ(s_i − s_max)}``
∈ [0, 1] (so ``M(τ̂)/δ = E w / w̄``) and ``ρ`` the empirical-Bernstein radius of the w_i at η/2 (Maurer & Pontil
2009, Thm 4; one per side). With probability ≥ 1 − η, ``|E w − w̄| ≤ ρ``, hence

    ``M(τ̂) ∈ δ·[1 − ρ/w̄, 1 + ρ/w̄]``.                                                          (P)

*Proof.* ``M(τ̂) = E_p e^{κ s}·e^{−κτ̂} = δ·E e^{κ s}/mean_i e^{κ s_i} = δ·E w/w̄`` (the factor ``e^{κ s_max}`` cancels);
divide the two-sided Bernstein event by w̄ > 0. ∎ (P) is two-sided, so an offset that overshoots (too small a mass:
too conservative, or computed for another κ) breaks it as surely as one that undershoots.

**Instance** (T6's choice: a two-point law, where the learner's law is exact): one step, ``V ∈ {0, h}`` under p,
``p(h) = π = 0.2``, h = 2, λ = 1, κ = 15, δ = 1e-3, n = 2 000 training children, η = 1e-3; the band is about
``δ·[0.77, 1.23]``. The exact failure rate of (P) is a sum over the number k of top children, k ~ Bin(n, π), of
closed forms of τ̂(k), M(k), w̄(k), ρ(k) (``exact_failure_rate``; it never calls the code under test).

**Claim** ``plugin.sampling_error/two-point/…``: ``P((P) fails) ≤ η``; one-sided Clopper–Pearson lower bound over
trainings, each a real run of ``train_proposal_offsets`` on the two-point step and the population mass from the
kernel's exact law (``log_proposal_chernoff_mass``); the trainings are designed (``estimators.design``) to reject,
w.p. ≥ 1 − β, a learner whose failure rate is the zero-slack claim's (``M(τ̂) ≤ δ`` with no sampling error:
0.513); the exact rate is the record's exact side. The details record the zero-slack rate.

**Wrong variants that perturb code** (``mutants``): the offset computed on the target side (the training children
drawn from the tilted kernel, ``rule="target-side"``: M ≈ 0.31δ, outside the band in every training) and the offset
trained at κ = 1/λ where κ = 15 is claimed (M ≈ 0).
"""
from __future__ import annotations

import math
from functools import lru_cache, partial

import numpy as np
import sympy
import torch
from scipy import stats

from estimators.exact.chain_laws import kernel_value_laws
from estimators.binomial import clopper_pearson_lower
from estimators.bounded_means import empirical_bernstein_radius
from estimators.binomial import min_num_samples_for_binomial_upper_test, min_rate_detectable_by_binomial_upper_test
from estimators.per_step_delta import log_proposal_chernoff_mass, train_proposal_offsets
from theorems.per_step_delta import two_point_step
from tiltproof.core.evidence import upper_bound_evidence
from tiltproof.core.framework import CheckContext, Claim, Evidence, Hypothesis, Mutant, wrong_variant
from tiltproof.instances.chain import single_threaded

MODULE = "plug_in_offset"
PI, HEIGHT, LAM, KAPPA, DELTA, TRAINING, ETA = 0.2, 2.0, 1.0, 15.0, 1e-3, 2000, 1e-3
CLAIM_ID = f"plugin.sampling_error/two-point/kappa={KAPPA:g},delta={DELTA:g},eta={ETA:g},n={TRAINING}"
eta_symbol = sympy.Symbol(r"\eta", positive=True)


def _residual_points() -> tuple[float, float]:
    """``(s_0, s_1) = (0 − V', h − V')`` with ``V' = λ log(1 − π + π e^{h/λ})`` (closed form)."""
    parent = LAM * math.log(1.0 - PI + PI * math.exp(HEIGHT / LAM))
    return -parent, HEIGHT - parent


def _training_top_rate(rule: str) -> float:
    """P(a training child is the top atom): π under p; ``π e^{h/λ}/Z`` under the tilted kernel (target side)."""
    if rule == "target-side":
        return PI * math.exp(HEIGHT / LAM) / (1.0 - PI + PI * math.exp(HEIGHT / LAM))
    return PI


def closed_form(k, train_kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """For k top children of n: ``M(τ̂)/δ`` and the band's half-width ``ρ/w̄`` (closed forms)."""
    s0, s1 = _residual_points()
    n = TRAINING
    k = np.asarray(k, dtype=float)
    log_mean = np.logaddexp(np.log(np.maximum(n - k, 1e-300)) + train_kappa * s0,
                            np.log(np.maximum(k, 1e-300)) + train_kappa * s1) - math.log(n)
    tau = (math.log(1.0 / DELTA) + log_mean) / train_kappa
    log_mass = np.logaddexp(math.log(1.0 - PI) + KAPPA * (s0 - tau), math.log(PI) + KAPPA * (s1 - tau))
    ratio = np.exp(log_mass) / DELTA
    w0 = math.exp(KAPPA * (s0 - s1))
    mean = ((n - k) * w0 + k) / n
    variance = k * (n - k) / (n * (n - 1)) * (1.0 - w0) ** 2
    level = math.log(2.0 / (ETA / 2))
    radius = np.sqrt(2.0 * variance * level / n) + 7.0 * level / (3.0 * (n - 1))
    return ratio, radius / mean


def _band_fails(k: np.ndarray, train_kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """For k top children of n: does (P) fail, and does the zero-slack claim ``M ≤ δ`` fail."""
    ratio, half_width = closed_form(k, train_kappa)
    return np.abs(ratio - 1.0) > half_width, ratio > 1.0


@lru_cache(maxsize=8)
def exact_failure_rate(rule: str = "one-proposal", train_kappa: float = KAPPA) -> dict[str, float]:
    """Exact ``P((P) fails)`` and ``P(M(τ̂) > δ)`` over k ~ Bin(n, top rate) (module docstring)."""
    k = np.arange(TRAINING + 1)
    weights = stats.binom.pmf(k, TRAINING, _training_top_rate(rule))
    band, zero_slack = _band_fails(k, train_kappa)
    return {"band": float(np.sum(weights * band)), "zero_slack": float(np.sum(weights * zero_slack))}


def design(alpha: float, beta: float) -> dict:
    """Trainings that reject a failure rate equal to the zero-slack claim's w.p. ≥ 1 − β (one-sided CP at α)."""
    alternative = exact_failure_rate()["zero_slack"]
    trainings = min_num_samples_for_binomial_upper_test(ETA, alternative, alpha=alpha, beta=beta)
    return {"trainings": trainings, "alternative": alternative,
            "detectable_rate": min_rate_detectable_by_binomial_upper_test(trainings, ETA, alpha=alpha, beta=beta)}


def one_training(chain, values, parent, laws, generator, rule: str = "one-proposal",
                 train_kappa: float = KAPPA) -> tuple[bool, float, float, int]:
    """One real training: (does (P) fail, M(τ̂)/δ, ρ/w̄, the number of top children)."""
    residuals: dict = {}
    baseline, _ = train_proposal_offsets(chain, values, kappa=train_kappa, delta=DELTA, parents=TRAINING, rule=rule,
                                         generator=generator, residuals=residuals)
    s = residuals[0].cpu().numpy()
    w = np.exp(KAPPA * (s - _residual_points()[1]))
    mean = float(w.mean())
    radius = empirical_bernstein_radius(np.clip(w, 0.0, 1.0), ETA / 2)
    offset_baseline = baseline(parent, 0).reshape(-1)
    ratio = float(torch.exp(log_proposal_chernoff_mass(laws, KAPPA, offset_baseline))[0]) / DELTA
    tops = int(np.sum(s > 0.5 * sum(_residual_points())))
    return abs(ratio - 1.0) > radius / mean, ratio, radius / mean, tops


def check_sampling_error(context: CheckContext, *, rule: str = "one-proposal", train_kappa: float = KAPPA) -> Evidence:
    """``P((P) fails) ≤ η`` over real trainings, Clopper–Pearson lower bound at α (module docstring)."""
    plan = design(context.alpha, context.beta)
    chain, values = two_point_step(PI, HEIGHT, LAM, device=context.device)
    parent = chain.sample_prior(1)
    laws = kernel_value_laws(chain, 0, parent, values)
    generator = context.generator(0)
    runs = [one_training(chain, values, parent, laws, generator, rule, train_kappa) for _ in range(plan["trainings"])]
    failures = sum(run[0] for run in runs)
    ratios = np.array([run[1] for run in runs])
    exact = exact_failure_rate(rule, train_kappa)
    evidence = upper_bound_evidence(
        units="rate of (P) failing above η",
        statistic=f"Clopper–Pearson lower bound (α) on P(M(τ̂)/δ ∉ [1 ± ρ/w̄]) over {plan['trainings']} trainings of "
                  f"{TRAINING} children (train_proposal_offsets on the two-point step; M from the exact kernel law)",
        bound=ETA, exact=exact["band"], empirical=failures / plan["trainings"],
        lower_confidence=clopper_pearson_lower(failures, plan["trainings"], context.alpha),
        n=plan["trainings"] * TRAINING, detectable_gap=plan["detectable_rate"] - ETA,
        details={"trainings": plan["trainings"], "zero_slack_failure_rate_exact": exact["zero_slack"],
                 "zero_slack_failures": int(np.sum(ratios > 1.0)), "mass_over_delta_range": [float(ratios.min()),
                 float(ratios.max())], "mean_band_half_width": float(np.mean([run[2] for run in runs])),
                 "design_alternative_rate": plan["alternative"], "rule": rule, "train_kappa": train_kappa})
    return evidence


def claims() -> list[Claim]:
    return [Claim(
        id=CLAIM_ID, theorem="T6", module=MODULE,
        title="the authors' plug-in offset meets the proposal-side δ up to its sampling error",
        statement=(r"P\Big(E_p e^{\kappa(V-V'-\hat\tau)} \notin \delta\big[1 \pm \rho/\bar w\big]\Big) \le \eta,\ "
                   r"\hat\tau = \tfrac{1}{\kappa}\big[\log\tfrac{1}{\delta} + \log \tfrac{1}{n}\textstyle\sum_i e^{\kappa s_i}\big]"),
        bound_expression=eta_symbol, instance="two-point",
        hypotheses=(Hypothesis(r"$\kappa \ge 1/\lambda$", lambda: KAPPA >= 1.0 / LAM),
                    Hypothesis(r"$0 < \pi < 1$, $h > 0$", lambda: 0.0 < PI < 1.0 and HEIGHT > 0)),
        parameters={"lambda": LAM, "pi": PI, "h": HEIGHT, "kappa": KAPPA, "delta": DELTA, "eta": ETA,
                    "training_size": TRAINING},
        check=single_threaded(check_sampling_error))]


def mutants() -> list[Mutant]:
    registered = claims()
    return [
        Mutant("plug-in-offset-target-side", "T6", "the offset's training children drawn from the tilted kernel "
               "(target side) where the proposal-side δ is claimed",
               wrong_variant(registered, CLAIM_ID, single_threaded(partial(check_sampling_error, rule="target-side")),
                             "target-side")),
        Mutant("plug-in-offset-wrong-kappa", "T6", "the offset trained at κ = 1/λ where κ = 15 is claimed",
               wrong_variant(registered, CLAIM_ID, single_threaded(partial(check_sampling_error, train_kappa=1.0 / LAM)),
                             "kappa=1/lambda")),
    ]


def proofs():
    """(P) as a proof object (``theorems/proofs/plug_in_offset.py``, imported lazily)."""
    from theorems.proofs.plug_in_offset import proofs as declared

    return declared()
