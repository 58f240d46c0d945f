"""Total-variation guarantees of tilted rejection with a baseline (LCB spec T2, T3, T6).

Claims registered here, on the instances of ``theorems.instances``:

* ``t2.sampler_law`` — rejection with baseline b outputs ``q_b = p·a_b/Z_b`` (goodness of fit);
* ``t2.tv_exact`` — the closed form ``TV(q_b,q) = P_q(R>b*) − P_p(R>b*)/Z_b`` equals ½∫|q_b − q|
  computed by an independent route (enumeration, or adaptive quadrature with its error estimate);
* ``t2.tv_le_clip_mass`` — ``TV(q_b, q) ≤ D/Z``; ``t2.tv_le_tail`` — ``TV(q_b, q) ≤ P_q(r > b)``;
* ``t3.chernoff_tail`` — ``P_q(r > b) ≤ exp(Λ_p(1/λ+s) − Λ_p(1/λ) − s b)``;
* ``t3.chernoff_baseline`` — ``TV(q_{b_δ}, q) ≤ δ``;
* ``t3.subgaussian`` — Gaussian reward: ``b_δ = E_q r + σ√(2 log(1/δ))`` and ``P_q(r > b_δ) ≤ δ``;
* ``t6.learned_baseline`` — over independent trainings, the fraction of learned baselines whose
  clipping mass exceeds δ is at most η (exact binomial test), and each one's N obeys T4.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
from scipy import integrate
from scipy.stats import norm

from estimators import tilt_quantities as tq
from estimators.baselines import chernoff_baseline, empirical_chernoff_baseline
from estimators.confidence import binomial_detectable_rate, clopper_pearson_lower
from estimators.exact import TiltedLaw
from estimators.law_tests import fit_sample_size, fit_test, tv_lower_confidence
from estimators.reward_law import DiscreteLaw, NormalMixtureLaw
from theorems import symbols as sym
from theorems._evidence import interval_evidence, upper_bound_evidence
from theorems._sampling import SamplerFactory, rejection_factory
from theorems.framework import CheckContext, Claim, Evidence, Hypothesis
from theorems.instances import INSTANCES, Instance, target_sampler

MODULE = "tv_guarantees"
FIT_GAP = 0.03            # smallest KS (or finite TV) violation each sampler check must detect, w.p. ≥ 1 − β
TAIL_SAMPLES = 20_000     # target samples for the Chernoff tail frequencies
LEARNED_TRAININGS = 300   # independent trainings in the T6 binomial test


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
        log_density = np.log(float(weights @ norm.pdf(value, law.means, law.stds)))
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
    return Evidence(
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
        value=independent, exact=closed_form, empirical=None, interval=None, n=0, detectable_gap=None,
        exact_tolerance=error + 1e-10, details={"quadrature_error": error},
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
    )


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
    samples = draw(TAIL_SAMPLES, context.generator())
    hits = int((instance.reward(samples) > baseline).sum())
    lower = clopper_pearson_lower(hits, TAIL_SAMPLES, context.alpha)
    return upper_bound_evidence(
        statistic="Clopper–Pearson lower bound on P_q(r > b) from exact target samples", bound=bound_value,
        exact=tq.tail_probability_q(law, instance.lam, baseline), empirical=hits / TAIL_SAMPLES,
        lower_confidence=lower, n=TAIL_SAMPLES,
        detectable_gap=binomial_detectable_rate(TAIL_SAMPLES, context.alpha, context.beta, bound_value) - bound_value,
        details={"s": s},
    )


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
    )


def check_subgaussian(instance: Instance, delta: float, context: CheckContext,
                      expression=sym.SUBGAUSSIAN_BASELINE) -> Evidence:
    law = instance.law
    mean_q, sigma = law.tilted_mean_and_std(1.0 / instance.lam)
    formula = sym.evaluate(expression, {sym.mean_q: mean_q, sym.sigma: sigma, sym.delta: delta})
    chernoff = chernoff_baseline(law, instance.lam, delta).value
    samples = target_sampler(instance, context.device)(TAIL_SAMPLES, context.generator())
    hits = int((instance.reward(samples) > formula).sum())
    lower = clopper_pearson_lower(hits, TAIL_SAMPLES, context.alpha / 2)
    identity = interval_evidence(statistic="", value=formula, exact=chernoff, empirical=None, interval=None,
                                 n=0, detectable_gap=None, exact_tolerance=1e-6 * max(1.0, abs(formula)))
    tail = upper_bound_evidence(
        statistic="sub-Gaussian baseline equals b_δ (exact, 1e-6 relative: 1-D minimiser), and a "
                  "Clopper–Pearson lower bound on P_q(r > b) stays ≤ δ",
        bound=delta, exact=tq.tail_probability_q(law, instance.lam, formula), empirical=hits / TAIL_SAMPLES,
        lower_confidence=lower, n=TAIL_SAMPLES,
        detectable_gap=binomial_detectable_rate(TAIL_SAMPLES, context.alpha / 2, context.beta, delta) - delta,
        details={"formula_baseline": formula, "chernoff_baseline": chernoff},
    )
    tail.holds = tail.holds and identity.holds
    tail.message = "; ".join(m for m in (identity.message, tail.message) if m)
    return tail


def check_learned_baseline(instance: Instance, delta: float, eta: float, training_size: int,
                           context: CheckContext, learner=None) -> Evidence:
    """T6: binomial test of "P(D/Z(b̂) > δ) ≤ η" over independent trainings; T4 bounds for each b̂."""
    law, lam = instance.law, instance.lam
    base = instance.base(context.device)
    generator = context.generator()
    learn = learner or (lambda rewards: empirical_chernoff_baseline(rewards, lam, delta, eta, instance.reward_bounds).value)
    exceed, proposals, outside_t4 = 0, [], 0
    soft = tq.soft_value(law, lam)
    for _ in range(LEARNED_TRAININGS):
        rewards = instance.reward(base.sample(training_size, generator)).cpu().numpy()
        learned = learn(rewards)
        mass = tq.clip_mass(law, lam, learned)
        exceed += mass > delta
        expected = tq.expected_proposals(law, lam, learned)
        proposals.append(expected)
        lower = math.exp((learned - soft) / lam)
        upper_ok = mass > delta or expected <= lower / (1.0 - delta) * (1 + 1e-9)
        outside_t4 += (expected < lower * (1 - 1e-9)) or not upper_ok
    lower_rate = clopper_pearson_lower(exceed, LEARNED_TRAININGS, context.alpha)
    evidence = upper_bound_evidence(
        statistic=f"Clopper–Pearson lower bound on P(D/Z(b̂) > δ) over {LEARNED_TRAININGS} trainings of "
                  f"{training_size} base samples; every b̂ checked against T4 exactly",
        bound=eta, exact=None, empirical=exceed / LEARNED_TRAININGS, lower_confidence=lower_rate,
        n=LEARNED_TRAININGS * training_size,
        detectable_gap=binomial_detectable_rate(LEARNED_TRAININGS, context.alpha, context.beta, eta) - eta,
        details={"mean_expected_proposals": float(np.mean(proposals)),
                 "ideal_expected_proposals": tq.expected_proposals(law, lam, law.ess_sup),
                 "outside_t4": outside_t4},
    )
    if outside_t4:
        evidence.holds = False
        evidence.message = "; ".join(filter(None, [evidence.message, f"{outside_t4} learned baselines violate T4"]))
    return evidence


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
        hypotheses=(Hypothesis(r"$0<\delta<1$", lambda d=delta: 0 < d < 1),),
        check=partial(check_chernoff_baseline, instance, delta))


def learned_baseline_claim(instance: Instance, delta: float, eta: float, training_size: int) -> Claim:
    """T6: over independent trainings of ``training_size`` base samples, P(D/Z(b̂) > δ) ≤ η."""
    return Claim(
        id=f"t6.learned_baseline/{instance.name}/delta={delta:g},eta={eta:g}", theorem="T6", module=MODULE,
        title="learned baseline guarantee",
        statement=r"P\big(D/Z(\hat b) > \delta\big) \le \eta \text{ over the training samples}",
        bound_expression=sym.eta, instance=instance.name,
        parameters={"lambda": instance.lam, "delta": delta, "eta": eta, "training_size": training_size},
        hypotheses=(_bounded(instance),),
        check=partial(check_learned_baseline, instance, delta, eta, training_size))


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
        for delta in (0.5, 0.1):
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
    for name, delta, eta, size in (("finite-k10", 0.5, 0.05, 2000), ("gmm-step-d1", 0.05, 0.05, 500)):
        out.append(learned_baseline_claim(INSTANCES[name], delta, eta, size))
    return out
