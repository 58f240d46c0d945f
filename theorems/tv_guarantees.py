"""Total-variation guarantees of tilted rejection with a baseline (LCB spec T2, T3, T6).

Claims registered here, on the instances of ``tiltproof.instances.single_step``:

* ``t2.sampler_law`` — rejection with baseline b outputs ``q_b = p·a_b/Z_b`` (goodness of fit);
* ``t2.tv_exact`` — the closed form ``TV(q_b,q) = P_q(R>b*) − P_p(R>b*)/Z_b`` equals ½∫|q_b − q|
  computed by an independent route (enumeration, or adaptive quadrature with its error estimate);
* ``t2.tv_le_clip_mass`` — ``TV(q_b, q) ≤ D/Z``; ``t2.tv_le_tail`` — ``TV(q_b, q) ≤ P_q(r > b)``;
* ``t3.chernoff_tail`` — ``P_q(r > b) ≤ exp(Λ_p(1/λ+s) − Λ_p(1/λ) − s b)``;
* ``t3.chernoff_baseline`` — ``TV(q_{b_δ}, q) ≤ δ``;
* ``t3.subgaussian`` — Gaussian reward: ``b_δ = E_q r + σ√(2 log(1/δ))`` and ``P_q(r > b_δ) ≤ δ``;
* ``t6.learned_baseline`` — over independent trainings, the fraction of learned baselines whose
  clipping mass exceeds δ is at most η (exact binomial test), each one's exact N lies in T4's bracket,
  and the proposal counts *measured* at each b̂ follow T4's law (randomized PIT of the NB count, DKW);
* ``t6.certificate`` — P(b̂ < b_δ) ≤ η: the event the learner's union of confidence bounds excludes.

T6 runs on ``LEARNING_INSTANCES`` (finite-u11, δ = 0.5, n = 4000), where the learner lands strictly
between b_δ and ess sup r (population value 0.967 vs b_δ = 0.945); on the other instances it needs
n ≫ 10⁴ to clip at all, which the hypothesis "b̄_n < ess sup r" turns into an ``error``. Sizes come from
``learning_design``: the trainings detect a failure rate of 0.25 (= 5η), the accepts per training a 10 %
error in the measured N. Wrong variants (``tiltproof.core.mutants``): the learner without its slack (killed by
the certificate, which it fails about half the time), a sampler under-reporting its proposals, a sampler
at the wrong temperature. Halving the learner's radius or dropping its union bound does *not* break
T6 here (``estimators.baselines`` explains why); ``theorems.t6_learner_slack`` registers them where they are
testable (a two-point law with the learner's exact law: the halved radius breaks the certificate at 5η).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import integrate
from scipy.special import logsumexp
from scipy.stats import nbinom, norm

from estimators.exact import tilt_quantities as tq
from estimators.binomial import (min_num_samples_for_binomial_relative_upper_test,
                                 min_num_samples_for_binomial_upper_test, min_rate_detectable_by_binomial_upper_test)
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw
from estimators import design
from estimators.baselines import chernoff_baseline, empirical_chernoff_baseline, population_learned_baseline
from estimators.binomial import binomial_detectable_rate, clopper_pearson_lower
from estimators.dkw import dkw_radius, ks_distance
from estimators.exact.tilted_law import TiltedLaw
from estimators.law_tests import fit_sample_size, fit_test, tv_lower_confidence
from estimators.exact.reward_law import DiscreteLaw, NormalMixtureLaw
from tiltproof.core import symbols as sym
from tiltproof.core.evidence import interval_evidence, upper_bound_evidence
from tiltproof.core.sampling import SamplerFactory, rejection_factory
from tiltproof.core.framework import CheckContext, Claim, Evidence, Hypothesis
from tiltproof.instances.single_step import (INSTANCES, LEARNING_INSTANCES, Instance, baseline_below_ess_sup, informative_delta,
                                target_sampler)

MODULE = "tv_guarantees"
FIT_GAP = 0.03            # smallest KS (or finite TV) violation each sampler check must detect, w.p. ≥ 1 − β
TAIL_RELATIVE_GAP = 0.5  # a tail frequency 50 % above its bound (or δ) must be detected w.p. ≥ 1 − β
LEARNED_FAILURE_RATE = 0.25  # a learner failing its T6 event at this rate (5η) must be detected w.p. ≥ 1 − β
PROPOSAL_GAP = 0.1        # proposal counts off by 10 % at the learned baselines must be detected w.p. ≥ 1 − β
LEARNED_SETTINGS = (("finite-u11", 0.5, 0.05, 4000),)  # (learning instance, δ, η, training size n)


# ---------------------------------------------------------------- exact sides
def tv_by_independent_route(instance: Instance, baseline: float) -> tuple[float, float]:
    """½∫|q_b − q| by enumeration (finite reward laws) or adaptive quadrature over the reward's
    density (normal mixtures); returns (value, error estimate)."""
    law, lam = instance.law, instance.lam
    a = 1.0 / lam
    log_z = tq.log_partition(law, lam)
    log_zb = tq.log_clipped_partition(law, lam, baseline)
    if isinstance(law, DiscreteLaw):
        log_q = law.log_probs + a * law.values - log_z
        log_qb = law.log_probs + np.minimum(0.0, a * (law.values - baseline)) - log_zb
        return 0.5 * float(np.abs(np.exp(log_q) - np.exp(log_qb)).sum()), 0.0
    assert isinstance(law, NormalMixtureLaw)
    weights = np.exp(law.log_weights)

    def integrand(value: float) -> float:
        log_density = float(logsumexp(law.log_weights + norm.logpdf(value, law.means, law.stds)))
        return 0.5 * abs(math.exp(log_density + a * value - log_z)
                         - math.exp(log_density + min(0.0, a * (value - baseline)) - log_zb))

    centre = float(weights @ (law.means + a * law.stds**2))
    spread = float(law.stds.max()) * 40.0 + abs(centre - baseline)
    crossing = lam * (log_z - log_zb)
    points = sorted({baseline, crossing, centre})
    value, error = integrate.quad(integrand, min(points) - spread, max(points) + spread, points=points,
                                  limit=500, epsabs=1e-13, epsrel=1e-11)
    return float(value), float(error)


def _values(instance: Instance, baseline: float) -> dict:
    law, lam = instance.law, instance.lam
    return {
        sym.clipped_mass: tq.clip_mass(law, lam, baseline), sym.partition: 1.0,
        sym.tail_q: tq.tail_probability_q(law, lam, baseline),
    }


# ---------------------------------------------------------------- checks
def check_sampler_law(instance: Instance, baseline: float, context: CheckContext,
                      sampler: SamplerFactory = rejection_factory) -> Evidence:
    claimed = TiltedLaw(instance.base("cpu"), instance.reward, instance.lam, baseline)
    n = fit_sample_size(claimed, FIT_GAP, context.alpha, context.beta)
    result = sampler(instance, baseline, context.device)(n, context.generator())
    fit = fit_test(result.samples, claimed, context.alpha, context.beta)
    return Evidence(detectable_gap_units="TV (finite law)" if claimed.is_finite else "KS on r(X) and each coordinate",
        holds=not fit.rejected, statistic=fit.name, bound=fit.threshold, empirical=fit.statistic,
        confidence_bound=fit.statistic, n=n, detectable_gap=fit.detectable_gap,
        margin=fit.threshold - fit.statistic,
        message="" if not fit.rejected else f"sample law differs from q_b: statistic {fit.statistic:.4g} > {fit.threshold:.4g}",
        details={"per_projection": fit.per_projection, "proposals": result.proposals},
    )


def check_tv_exact(instance: Instance, baseline: float, context: CheckContext) -> Evidence:
    closed_form = tq.tv_to_target(instance.law, instance.lam, baseline)
    independent, error = tv_by_independent_route(instance, baseline)
    return interval_evidence(
        statistic="closed form vs enumeration/adaptive quadrature (error estimate added to the tolerance)",
        value=independent, exact=closed_form, empirical=None, interval=None, n=0, detectable_gap=error + 1e-10,
        exact_tolerance=error + 1e-10, details={"quadrature_error": error},
        units="TV (exact comparison: tolerance)",
    )


def _tv_upper_check(instance: Instance, baseline: float, context: CheckContext, bound_expression,
                    sampler: SamplerFactory) -> Evidence:
    bound = sym.evaluate(bound_expression, _values(instance, baseline))
    target = TiltedLaw(instance.base("cpu"), instance.reward, instance.lam, None)
    n = fit_sample_size(target, FIT_GAP, context.alpha, context.beta)
    result = sampler(instance, baseline, context.device)(n, context.generator())
    tv = tv_lower_confidence(result.samples, target, context.alpha, context.beta)
    return upper_bound_evidence(
        statistic=tv.name, bound=bound, exact=tq.tv_to_target(instance.law, instance.lam, baseline),
        empirical=tv.estimate, lower_confidence=tv.lower, n=n, detectable_gap=tv.detectable_gap,
        details={"proposals": result.proposals},
        units=tv_units(target),
    )


def tv_units(target: TiltedLaw) -> str:
    """The units of a ``tv_lower_confidence`` detectable gap: TV above the bound (finite laws), or the
    largest projection KS above it (continuous laws: KS ≤ TV, so a TV excess this large may hide)."""
    return "TV above the bound" if target.is_finite else "largest projection KS (≤ TV) above the bound"


def check_tv_le_clip_mass(instance, baseline, context, sampler=rejection_factory, bound=sym.CLIP_MASS_BOUND):
    return _tv_upper_check(instance, baseline, context, bound, sampler)


def check_tv_le_tail(instance, baseline, context, sampler=rejection_factory, bound=sym.tail_q):
    return _tv_upper_check(instance, baseline, context, bound, sampler)


def best_chernoff_s(instance: Instance, baseline: float) -> float:
    """The s minimising ``Λ(1/λ+s) − Λ(1/λ) − s b`` over a log grid refined by golden section."""
    from scipy.optimize import minimize_scalar

    law, a = instance.law, 1.0 / instance.lam
    objective = lambda u: law.log_mgf(a + math.exp(u)) - law.log_mgf(a) - math.exp(u) * baseline
    grid = np.linspace(-12, 6, 181)
    best = grid[int(np.argmin([objective(u) for u in grid]))]
    result = minimize_scalar(objective, bounds=(best - 0.1, best + 0.1), method="bounded")
    return math.exp(float(result.x))


def check_chernoff_tail(instance: Instance, baseline: float, context: CheckContext,
                        bound=sym.CHERNOFF_TAIL_BOUND, target=None) -> Evidence:
    s = best_chernoff_s(instance, baseline)
    law, a = instance.law, 1.0 / instance.lam
    gap = law.log_mgf(a + s) - law.log_mgf(a)
    bound_value = sym.evaluate(bound, {sym.log_mgf_gap: gap, sym.chernoff_s: s, sym.baseline: baseline})
    draw = (target or target_sampler)(instance, context.device)
    threshold = min(bound_value, 1.0 - 1e-9)
    n = tail_sample_size(threshold, context.alpha, context.beta)
    samples = draw(n, context.generator())
    hits = int((instance.reward(samples) > baseline).sum())
    lower = clopper_pearson_lower(hits, n, context.alpha)
    return upper_bound_evidence(
        statistic="Clopper–Pearson lower bound on P_q(r > b) from exact target samples", bound=bound_value,
        exact=tq.tail_probability_q(law, instance.lam, baseline), empirical=hits / n,
        lower_confidence=lower, n=n,
        detectable_gap=binomial_detectable_rate(n, context.alpha, context.beta, threshold) - threshold,
        details={"s": s, "designed_relative_gap": TAIL_RELATIVE_GAP},
        units="P_q(r > b) above the bound",
    )


def tail_sample_size(threshold: float, alpha: float, beta: float) -> int:
    """Target samples for a tail-frequency claim "P ≤ threshold": detect a true tail TAIL_RELATIVE_GAP
    above it (one-sided Clopper–Pearson at α, power 1 − β)."""
    return min_num_samples_for_binomial_relative_upper_test(threshold, TAIL_RELATIVE_GAP, alpha=alpha, beta=beta)


def check_chernoff_baseline(instance: Instance, delta: float, context: CheckContext,
                            sampler: SamplerFactory = rejection_factory, baseline_shift: float = 0.0) -> Evidence:
    baseline = chernoff_baseline(instance.law, instance.lam, delta).value + baseline_shift
    target = TiltedLaw(instance.base("cpu"), instance.reward, instance.lam, None)
    n = fit_sample_size(target, FIT_GAP, context.alpha, context.beta)
    result = sampler(instance, baseline, context.device)(n, context.generator())
    tv = tv_lower_confidence(result.samples, target, context.alpha, context.beta)
    return upper_bound_evidence(
        statistic=tv.name, bound=sym.evaluate(sym.delta, {sym.delta: delta}),
        exact=tq.tv_to_target(instance.law, instance.lam, baseline), empirical=tv.estimate,
        lower_confidence=tv.lower, n=n, detectable_gap=tv.detectable_gap,
        details={"baseline": baseline, "proposals": result.proposals},
        units=tv_units(target),
    )


def check_subgaussian(instance: Instance, delta: float, context: CheckContext,
                      expression=sym.SUBGAUSSIAN_BASELINE) -> Evidence:
    law = instance.law
    mean_q, sigma = law.tilted_mean_and_std(1.0 / instance.lam)
    formula = sym.evaluate(expression, {sym.mean_q: mean_q, sym.sigma: sigma, sym.delta: delta})
    chernoff = chernoff_baseline(law, instance.lam, delta).value
    n = tail_sample_size(delta, context.alpha / 2, context.beta)
    samples = target_sampler(instance, context.device)(n, context.generator())
    hits = int((instance.reward(samples) > formula).sum())
    lower = clopper_pearson_lower(hits, n, context.alpha / 2)
    identity = interval_evidence(statistic="", value=formula, exact=chernoff, empirical=None, interval=None,
                                 n=0, detectable_gap=None, exact_tolerance=1e-6 * max(1.0, abs(formula)))
    return upper_bound_evidence(
        statistic="sub-Gaussian baseline equals b_δ (exact, 1e-6 relative: 1-D minimiser), and a "
                  "Clopper–Pearson lower bound on P_q(r > b) stays ≤ δ",
        bound=delta, exact=tq.tail_probability_q(law, instance.lam, formula), empirical=hits / n,
        lower_confidence=lower, n=n,
        detectable_gap=binomial_detectable_rate(n, context.alpha / 2, context.beta, delta) - delta,
        details={"formula_baseline": formula, "chernoff_baseline": chernoff},
        units="P_q(r > b_δ) above δ", also_fails=[] if identity.holds else [identity.message],
    )


@dataclass(frozen=True)
class LearningDesign:
    """Sizes of a T6 check, each derived from a stated violation (never picked).

    ``trainings``: detects a failure rate ``LEARNED_FAILURE_RATE`` (vs the claimed η) with the one-sided
    Clopper–Pearson test at α/2, power 1 − β. ``accepts``: acceptances per training, so that the
    randomized-PIT DKW test (α/2, K = trainings) detects proposal counts off by ``PROPOSAL_GAP``
    relative at the learner's population baseline b̄_n (signal: the exact NB CDF distance).
    """

    trainings: int
    accepts: int
    population_baseline: float
    detectable_rate: float
    detectable_proposal_error: float | None


def _nb_pit_signal(accepts: int, rate: float, relative_error: float) -> float:
    """KS distance of the randomized PIT of NB(accepts, rate) failures when N = 1/p is really off by
    ``relative_error``: ``max_f |F₁(f) − F₀(f)|`` (the PIT law is linear between the atoms' CDF values)."""
    alternative = rate / (1.0 + relative_error)
    top = int(nbinom.isf(1e-12, accepts, alternative)) + 1
    support = np.arange(0, top + 1)
    return float(np.max(np.abs(nbinom.cdf(support, accepts, alternative) - nbinom.cdf(support, accepts, rate))))


def learning_design(instance: Instance, delta: float, eta: float, training_size: int, alpha: float,
                    beta: float) -> LearningDesign:
    law, lam = instance.law, instance.lam
    trainings = min_num_samples_for_binomial_upper_test(eta, LEARNED_FAILURE_RATE, alpha=alpha / 2, beta=beta)
    population = population_learned_baseline(law, lam, delta, eta, instance.reward_bounds, training_size)
    rate = math.exp(tq.log_clipped_partition(law, lam, population))
    ks_needed = min_discrepancy_of_cdfs_detectable_by_dkw(trainings, alpha=alpha / 2, beta=beta)
    accepts = design.smallest_n(lambda m: _nb_pit_signal(m, rate, PROPOSAL_GAP) >= ks_needed, start=8)
    error = design.detectable_parameter_error(lambda e: _nb_pit_signal(accepts, rate, e), ks_needed, largest=1.0)
    return LearningDesign(trainings, accepts, population,
                          min_rate_detectable_by_binomial_upper_test(trainings, eta, alpha=alpha / 2, beta=beta),
                          error)


def _learner(instance: Instance, delta: float, eta: float, learner):
    if learner is not None:
        return learner
    return lambda rewards: empirical_chernoff_baseline(rewards, instance.lam, delta, eta, instance.reward_bounds).value


def _trainings(instance: Instance, training_size: int, count: int, learn, context: CheckContext) -> list[float]:
    base = instance.base(context.device)
    generator = context.generator()
    return [float(learn(instance.reward(base.sample(training_size, generator)).cpu().numpy())) for _ in range(count)]


def _proposal_pit(instance: Instance, baselines: list[float], accepts: int, context: CheckContext,
                  sampler: SamplerFactory) -> np.ndarray:
    """Randomized PIT of each training's measured failures under NB(accepts, Z_{b̂}): U(0, 1) exactly if
    the sampler's proposal count has the law T4 gives (``u = F(f − 1) + V·P(f)``, V uniform)."""
    generator = context.generator(1)
    jitter = np.random.default_rng(context.seed).uniform(size=len(baselines))
    values = []
    for baseline, v in zip(baselines, jitter):
        result = sampler(instance, baseline, context.device)(accepts, generator)
        failures = int(result.proposals) - accepts
        rate = math.exp(tq.log_clipped_partition(instance.law, instance.lam, baseline))
        values.append(float(nbinom.cdf(failures - 1, accepts, rate) + v * nbinom.pmf(failures, accepts, rate)))
    return np.asarray(values)


def check_learned_baseline(instance: Instance, delta: float, eta: float, training_size: int,
                           context: CheckContext, learner=None, sampler: SamplerFactory = rejection_factory) -> Evidence:
    """T6: one-sided CP test of "P(D/Z(b̂) > δ) ≤ η" over K independent trainings (α/2), and the measured
    proposal counts of rejection at each b̂ against T4's law of N (randomized PIT + DKW, α/2)."""
    law, lam = instance.law, instance.lam
    plan = learning_design(instance, delta, eta, training_size, context.alpha, context.beta)
    baselines = _trainings(instance, training_size, plan.trainings, _learner(instance, delta, eta, learner), context)
    masses = [tq.clip_mass(law, lam, b) for b in baselines]
    exceed = sum(mass > delta for mass in masses)
    soft = tq.soft_value(law, lam)
    outside_t4 = 0
    for baseline, mass in zip(baselines, masses):  # exact T4 bracket of each learned baseline's N
        expected, lower = tq.expected_proposals(law, lam, baseline), math.exp((baseline - soft) / lam)
        outside_t4 += expected < lower * (1 - 1e-9) or (mass <= delta and expected > lower / (1 - delta) * (1 + 1e-9))
    pit = _proposal_pit(instance, baselines, plan.accepts, context, sampler)
    ks = ks_distance(pit, lambda y: np.clip(y, 0.0, 1.0))
    ks_threshold = dkw_radius(plan.trainings, context.alpha / 2)
    lower_rate = clopper_pearson_lower(exceed, plan.trainings, context.alpha / 2)
    reasons = []
    if outside_t4:
        reasons.append(f"{outside_t4} learned baselines have an exact N outside T4's bracket")
    if ks > ks_threshold:
        reasons.append(f"measured proposal counts do not follow T4's law of N at the learned baselines: PIT KS "
                       f"{ks:.4g} > {ks_threshold:.4g}")
    return upper_bound_evidence(
        statistic=f"Clopper–Pearson lower bound on P(D/Z(b̂) > δ) over {plan.trainings} trainings of {training_size} "
                  f"base samples (α/2); proposal counts at each b̂ ({plan.accepts} accepts) vs NB(Z_b̂) by "
                  "randomized PIT + DKW (α/2)",
        bound=eta, exact=None, empirical=exceed / plan.trainings, lower_confidence=lower_rate,
        n=plan.trainings * training_size, detectable_gap=plan.detectable_rate - eta,
        details={"baselines_below_ess_sup": int(sum(b < law.ess_sup for b in baselines)),
                 "mean_learned_baseline": float(np.mean(baselines)), "population_baseline": plan.population_baseline,
                 "chernoff_baseline": chernoff_baseline(law, lam, delta).value, "ess_sup": law.ess_sup,
                 "outside_t4": outside_t4, "proposal_pit_ks": ks, "proposal_pit_threshold": ks_threshold,
                 "accepts_per_training": plan.accepts,
                 "detectable_relative_proposal_error": plan.detectable_proposal_error},
        units="rate P(D/Z(b̂) > δ) above η", also_fails=reasons,
    )


def check_learned_certificate(instance: Instance, delta: float, eta: float, training_size: int,
                              context: CheckContext, learner=None) -> Evidence:
    """T6's certificate: P(b̂ < b_δ) ≤ η (one-sided CP over K trainings). b̂ ≥ b_δ is what the learner's
    union of confidence bounds proves (each grid candidate ≥ the exact Chernoff objective at its s ≥ b_δ),
    and it implies D/Z(b̂) ≤ D/Z(b_δ) ≤ δ; it is sharper than the clip-mass event, which T3's slack hides."""
    law, lam = instance.law, instance.lam
    plan = learning_design(instance, delta, eta, training_size, context.alpha, context.beta)
    target = chernoff_baseline(law, lam, delta).value
    baselines = _trainings(instance, training_size, plan.trainings, _learner(instance, delta, eta, learner), context)
    below = sum(b < target - 1e-12 * max(1.0, abs(target)) for b in baselines)
    return upper_bound_evidence(
        statistic=f"Clopper–Pearson lower bound (α/2) on P(b̂ < b_δ) over {plan.trainings} trainings of "
                  f"{training_size} base samples",
        bound=eta, exact=None, empirical=below / plan.trainings,
        lower_confidence=clopper_pearson_lower(below, plan.trainings, context.alpha / 2),
        n=plan.trainings * training_size, detectable_gap=plan.detectable_rate - eta,
        details={"chernoff_baseline": target, "mean_learned_baseline": float(np.mean(baselines)),
                 "min_learned_baseline": float(np.min(baselines)), "population_baseline": plan.population_baseline,
                 "ess_sup": law.ess_sup},
        units="rate P(b̂ < b_δ) above η",
    )


# ---------------------------------------------------------------- registration
def _baseline_label(value: float) -> str:
    return f"{value:.4g}"


def t2_baselines(instance: Instance) -> list[float]:
    """A heavily clipped baseline (b = V) and the Chernoff baseline at δ = 0.5."""
    return [instance.soft_value, chernoff_baseline(instance.law, instance.lam, 0.5).value]


def chernoff_tail_baselines(instance: Instance) -> list[float]:
    """b_δ at δ = 0.5, and at δ = 0.1 (or halfway to ess sup r when b_0.1 reaches it)."""
    first = chernoff_baseline(instance.law, instance.lam, 0.5).value
    second = chernoff_baseline(instance.law, instance.lam, 0.1).value
    if second >= instance.law.ess_sup:
        second = 0.5 * (first + instance.law.ess_sup)
    return [first, second]


def _bounded(instance: Instance):
    return Hypothesis("reward bounded on the support of p (stated bounds hold)",
                      lambda: instance.reward_bounds is not None)


def _positive_lambda(instance: Instance) -> Hypothesis:
    return Hypothesis(r"$\lambda > 0$", lambda: instance.lam > 0)


def t2_claims(instance: Instance, baseline: float) -> list[Claim]:
    """T2's four claims on ``instance`` at baseline ``baseline`` (also the sweep's grid-point claims)."""
    label = _baseline_label(baseline)
    params = {"lambda": instance.lam, "b": baseline}
    common = dict(module=MODULE, instance=instance.name, parameters=params)
    return [
        Claim(id=f"t2.sampler_law/{instance.name}/b={label}", theorem="T2", title="rejection outputs q_b",
              statement=r"x\sim p,\ \text{accept w.p. } \min(1,e^{(r(x)-b)/\lambda}) \ \Rightarrow\ x\sim q_b = p\,a_b/Z_b",
              bound_expression=sym.CLIPPED_LAW, hypotheses=(_positive_lambda(instance),),
              check=partial(check_sampler_law, instance, baseline), **common),
        Claim(id=f"t2.tv_exact/{instance.name}/b={label}", theorem="T2", title="exact TV of clipping",
              statement=r"\mathrm{TV}(q_b,q) = P_q(r>b^*) - P_p(r>b^*)/Z_b,\quad b^*=\lambda\log(Z/Z_b)",
              bound_expression=sym.TV_CLOSED_FORM, hypotheses=(_positive_lambda(instance),),
              check=partial(check_tv_exact, instance, baseline), **common),
        Claim(id=f"t2.tv_le_clip_mass/{instance.name}/b={label}", theorem="T2", title="TV ≤ D/Z",
              statement=r"\mathrm{TV}(q_b,q) \le D/Z = E_q[(1-e^{(b-r)/\lambda})_+]",
              bound_expression=sym.CLIP_MASS_BOUND, hypotheses=(_positive_lambda(instance),),
              check=partial(check_tv_le_clip_mass, instance, baseline), **common),
        Claim(id=f"t2.tv_le_tail/{instance.name}/b={label}", theorem="T2", title="TV ≤ P_q(r > b)",
              statement=r"\mathrm{TV}(q_b,q) \le P_q(r>b)",
              bound_expression=sym.tail_q, hypotheses=(_positive_lambda(instance),),
              check=partial(check_tv_le_tail, instance, baseline), **common),
    ]


def chernoff_baseline_claim(instance: Instance, delta: float) -> Claim:
    """T3: the Chernoff baseline b_δ gives TV(q_{b_δ}, q) ≤ δ on ``instance``."""
    return Claim(
        id=f"t3.chernoff_baseline/{instance.name}/delta={delta:g}", theorem="T3", module=MODULE,
        title="Chernoff baseline gives TV ≤ δ",
        statement=r"b_\delta=\inf_{s>0}\frac{\Lambda_p(1/\lambda+s)-\Lambda_p(1/\lambda)+\log(1/\delta)}{s}\ \Rightarrow\ \mathrm{TV}(q_{b_\delta},q)\le\delta",
        bound_expression=sym.delta, instance=instance.name, parameters={"lambda": instance.lam, "delta": delta},
        hypotheses=(Hypothesis(r"$0<\delta<1$", lambda d=delta: 0 < d < 1), below_sup(instance, delta)),
        check=partial(check_chernoff_baseline, instance, delta))


def learned_baseline_claim(instance: Instance, delta: float, eta: float, training_size: int) -> Claim:
    """T6's guarantee claim alone (the sweep's unit): ``learned_baseline_claims(...)[0]``."""
    return learned_baseline_claims(instance, delta, eta, training_size)[0]


def claims() -> list[Claim]:
    out: list[Claim] = []
    for instance in INSTANCES.values():
        for baseline in t2_baselines(instance):
            out += t2_claims(instance, baseline)
        for baseline in chernoff_tail_baselines(instance):
            out.append(Claim(
                id=f"t3.chernoff_tail/{instance.name}/b={_baseline_label(baseline)}", theorem="T3",
                module=MODULE, title="Chernoff tail under q",
                statement=r"P_q(r>b) \le \exp\big(\Lambda_p(1/\lambda+s)-\Lambda_p(1/\lambda)-s b\big),\ s>0",
                bound_expression=sym.CHERNOFF_TAIL_BOUND, instance=instance.name,
                parameters={"lambda": instance.lam, "b": baseline},
                hypotheses=(Hypothesis(r"$\Lambda_p$ finite at $1/\lambda + s$", lambda: True),),
                check=partial(check_chernoff_tail, instance, baseline)))
        for delta in (0.5, informative_delta(instance)):
            out.append(chernoff_baseline_claim(instance, delta))
        if instance.is_gaussian_linear:
            for delta in (0.1, 0.01):
                out.append(Claim(
                    id=f"t3.subgaussian/{instance.name}/delta={delta:g}", theorem="T3", module=MODULE,
                    title="sub-Gaussian baseline", statement=r"r\sim\mathcal N \text{ under } p:\ b_\delta = E_q r + \sigma\sqrt{2\log(1/\delta)},\ P_q(r>b_\delta)\le\delta",
                    bound_expression=sym.SUBGAUSSIAN_BASELINE, instance=instance.name,
                    parameters={"lambda": instance.lam, "delta": delta},
                    hypotheses=(Hypothesis("reward is Gaussian under p", lambda i=instance: isinstance(i.law, NormalMixtureLaw) and i.law.means.size == 1),),
                    check=partial(check_subgaussian, instance, delta)))
    for name, delta, eta, size in LEARNED_SETTINGS:
        out += learned_baseline_claims(LEARNING_INSTANCES[name], delta, eta, size)
    return out


def below_sup(instance: Instance, delta: float) -> Hypothesis:
    return Hypothesis(r"$b_\delta < \operatorname{ess\,sup} r$ (else the claim is T1's)",
                      lambda i=instance, d=delta: baseline_below_ess_sup(i, d))


def learned_baseline_claims(instance: Instance, delta: float, eta: float, size: int) -> list[Claim]:
    """T6's two claims on (instance, δ, η, n); their hypotheses make a degenerate choice an ``error``:
    b_δ = ess sup r, or a learner whose population value at n is ess sup r (it never clips: the check
    would exercise ideal rejection, not learning)."""
    hypotheses = (
        _bounded(instance), below_sup(instance, delta),
        Hypothesis(r"the learner clips at this $n$: $\bar b_n < \operatorname{ess\,sup} r$ (population moments)",
                   lambda: instance.reward_bounds is not None and population_learned_baseline(
                       instance.law, instance.lam, delta, eta, instance.reward_bounds, size) < instance.law.ess_sup),
    )
    common = dict(theorem="T6", module=MODULE, instance=instance.name, hypotheses=hypotheses,
                  parameters={"lambda": instance.lam, "delta": delta, "eta": eta, "training_size": size})
    label = f"{instance.name}/delta={delta:g},eta={eta:g}"
    return [
        Claim(id=f"t6.learned_baseline/{label}", title="learned baseline guarantee",
              statement=r"P\big(D/Z(\hat b) > \delta\big) \le \eta \text{ over the training samples; } N(\hat b) \text{ obeys T4}",
              bound_expression=sym.eta, check=partial(check_learned_baseline, instance, delta, eta, size), **common),
        Claim(id=f"t6.certificate/{label}", title="learned baseline certificate",
              statement=r"P\big(\hat b < b_\delta\big) \le \eta \quad(\hat b \ge b_\delta \Rightarrow D/Z(\hat b) \le \delta)",
              bound_expression=sym.eta, check=partial(check_learned_certificate, instance, delta, eta, size), **common),
    ]


def proofs():
    """T2, T3 and T6 as proof objects (``theorems/proofs/tv_guarantees.py``, imported lazily)."""
    from theorems.proofs.tv_guarantees import proofs as declared

    return declared()
