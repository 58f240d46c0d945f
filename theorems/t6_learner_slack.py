"""T6's learner slack, where it is testable: a two-point reward law on which the learner's law is exact.

The learner (``estimators.baselines.empirical_chernoff_baseline``) certifies ``b̂ ≥ b_δ`` w.p. ≥ 1 − η by a union
of 2|grid| = 32 one-sided empirical-Bernstein bounds, each at η/32. Two realistic slips in that slack — the radius
halved, the union over the grid dropped (each bound at η/2, ``bound_count=2``) — are invisible on the registered
T6 instance ``finite-u11`` (δ = 0.5, η = 0.05, n = 4000: 0/300 failures, and a halved radius still certifies there).
On a two-point reward law the learner's law is exactly enumerable (``estimators.exact.learner_law``: b̂ is a closed form
of the count K ~ Bin(n, p)), so the question "is there a setting where the wrong learner breaks T6?" has exact
answers:

* **Halved radius: yes, for small η.** Halving a radius at level a acts like raising the level to about a^{1/4}
  (the radius' normal quantile √(2 log(2/a)) is halved), so its failure rate outgrows η as η shrinks. On
  ``bernoulli-p0.05`` (rewards {0, 1}, P(1) = 0.05, λ = 10, so b_δ = 0.9022 < ess sup 1 at δ = 0.1; learner's
  population value 0.9145) with n = 10⁵ and η = 10⁻³, exactly: ``P(b̂ < b_δ)`` = 2.02·10⁻⁷ for the real learner
  and 5.04·10⁻³ (5.0 η) for the halved radius. Exact scan over two-point laws (λ ∈ {0.25, 0.5, 1, 2, 5, 10, 20},
  q(1) ∈ {0.01, 0.03, 0.1, 0.2, 0.4}, δ ∈ {0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9} where b_δ < 1,
  n ∈ {10², 10³, 10⁴, 10⁵, 3·10⁵}), the largest ``P(b̂ < b_δ)/η`` of the halved radius: 0.32 at η = 0.05, 0.83 at
  η = 0.01, 3.6 at η = 10⁻³, 16.4 at η = 10⁻⁴ (all at λ = 20, q(1) = 0.03, δ = 0.1, n ≥ 10⁵, where the range term
  7L/(3(n−1)) no longer pads the radius; the registered setting, q(1) = 0.055, is off that grid). At the spec's
  η = 0.05 it is a valid learner everywhere scanned.
* **Dropped union: no.** Its largest ratio in the same scan is 0.013 (η = 0.05), 0.008 (10⁻²), 0.0043 (10⁻³),
  0.0026 (10⁻⁴) with each bound at η/2 (``bound_count=2``; 0.031 … 0.0062 with one bound at η), and 6.6·10⁻⁶ =
  0.0066η in the registered setting: the per-bound level rises only from η/32 to η/2, whose radius quantile
  √(2 log(4/η)) (2.96 at η = 0.05) is still far in the normal tail, and on a two-point law the two means of one
  grid point move together (both are affine in K), so their log-ratio's error is much smaller than the sum of
  the radii. No sound test of T6's event can reject it; it is caught by the consistency claim below.

Only the certificate is registered here: on a two-point law T6's clip-mass event is empty, since b_δ < 1 forces
``q(1) = P_q(R > b) ≤ δ`` for every b < 1 and ``D/Z(b) ≤ P_q(R > b)``; the event the learner's slack protects is
``b̂ ≥ b_δ``.

Claims (module ``t6_learner_slack``):

* ``t6.certificate/bernoulli-p0.05/delta=0.1,eta=0.001,n=100000`` — ``P(b̂ < b_δ) ≤ η``, one-sided
  Clopper–Pearson over K trainings, K from ``estimators.binomial.min_num_samples_for_binomial_upper_test`` for the
  gap between η and the halved-radius learner's exact 5.04·10⁻³ (11 636 trainings at 4·10⁻⁹). A training is its
  sufficient statistic: K ~ Bin(n, p) drawn on the context's generator, and the learner under test run on the
  training's sorted rewards (K ones, n − K zeros; the learner is symmetric in its inputs), once per distinct K.
  The exact rate is the record's exact side.
* ``t6.learner_law/bernoulli-p0.05/delta=0.1,eta=0.001,n=100000`` — a consistency check, registered as such: the
  law of b̂ over trainings drawn through the base sampler and the reward (the whole training path) equals its
  exact law (two-sided DKW on the CDF of b̂, atoms handled exactly). Trainings designed for the smallest exact KS
  distance between the real law and a slack variant's: 0.283 (dropped union; halved radius 0.796).

Wrong variants (``mutants``): the halved radius against both claims, the dropped union against the law claim.
"""
from __future__ import annotations

from functools import lru_cache, partial

import numpy as np
import sympy
import torch

from estimators.baselines import (DEFAULT_S_GRID, chernoff_baseline, empirical_chernoff_baseline,
                                  population_learned_baseline)
from estimators.binomial import clopper_pearson_lower
from estimators.dkw import dkw_radius, ks_distance
from estimators.bounded_means import empirical_bernstein_radius
from estimators.exact.learner_law import (certificate_failure_probability, ks_distance_between_laws,
                                          two_point_learner_law)
from primitives.laws import Categorical
from primitives.rewards import TableReward
from tiltproof.core import symbols as sym
from tiltproof.instances.single_step import Instance
from tiltproof.api import (CheckContext, Claim, Evidence, Hypothesis, Mutant,
                           min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_binomial_upper_test,
                           min_num_samples_for_dkw_cdf_test, min_rate_detectable_by_binomial_upper_test,
                           upper_bound_evidence, wrong_variant)

MODULE = "t6_learner_slack"
TOP_PROBABILITY = 0.05
DELTA, ETA, TRAINING_SIZE = 0.1, 1e-3, 100_000

BERNOULLI = Instance(
    "bernoulli-p0.05", r"two-point law, $r\in\{0,1\}$, $P(r=1)=0.05$, $\lambda=10$", 10.0,
    lambda device: Categorical(np.array([1.0 - TOP_PROBABILITY, TOP_PROBABILITY]), device=device),
    TableReward(np.array([0.0, 1.0])), reward_bounds=(0.0, 1.0),
)


def _half_radius(values: np.ndarray, alpha: float) -> float:
    """Wrong variant: the empirical-Bernstein radius halved."""
    return 0.5 * empirical_bernstein_radius(values, alpha)


def real_learner(rewards: np.ndarray) -> float:
    return empirical_chernoff_baseline(rewards, BERNOULLI.lam, DELTA, ETA, BERNOULLI.reward_bounds).value


def half_radius_learner(rewards: np.ndarray) -> float:
    return empirical_chernoff_baseline(rewards, BERNOULLI.lam, DELTA, ETA, BERNOULLI.reward_bounds,
                                       radius=_half_radius).value


def dropped_union_learner(rewards: np.ndarray) -> float:
    return empirical_chernoff_baseline(rewards, BERNOULLI.lam, DELTA, ETA, BERNOULLI.reward_bounds,
                                       bound_count=2).value


@lru_cache(maxsize=None)
def exact_laws() -> dict:
    """The exact laws of b̂ (real learner and its two slack variants) and b_δ, by enumeration of K."""
    law = BERNOULLI.law
    common = (TRAINING_SIZE, TOP_PROBABILITY, BERNOULLI.lam, DELTA, ETA, BERNOULLI.reward_bounds, DEFAULT_S_GRID)
    laws = {"real": two_point_learner_law(*common), "half_radius": two_point_learner_law(*common, radius_scale=0.5),
            "dropped_union": two_point_learner_law(*common, bound_count=2)}
    return {"laws": laws, "b_delta": chernoff_baseline(law, BERNOULLI.lam, DELTA).value}


def certificate_design(alpha: float, beta: float) -> dict:
    exact = exact_laws()
    rates = {name: certificate_failure_probability(law, exact["b_delta"]) for name, law in exact["laws"].items()}
    trainings = min_num_samples_for_binomial_upper_test(ETA, rates["half_radius"], alpha=alpha, beta=beta)
    return {"trainings": trainings, "rates": rates,
            "detectable_rate": min_rate_detectable_by_binomial_upper_test(trainings, ETA, alpha=alpha, beta=beta)}


def law_design(alpha: float, beta: float) -> dict:
    laws = exact_laws()["laws"]
    distances = {name: ks_distance_between_laws(laws["real"], law) for name, law in laws.items() if name != "real"}
    trainings = min_num_samples_for_dkw_cdf_test(min(distances.values()), alpha=alpha, beta=beta)
    return {"trainings": trainings, "variant_ks": distances,
            "detectable_ks": min_discrepancy_of_cdfs_detectable_by_dkw(trainings, alpha=alpha, beta=beta)}


def _sufficient_trainings(count: int, learner, context: CheckContext) -> np.ndarray:
    """b̂ of ``count`` trainings: K ~ Bin(n, p) each, the learner run on K ones and n − K zeros (once per K)."""
    totals = torch.full((count,), float(TRAINING_SIZE), dtype=torch.float64, device=context.device)
    tops = torch.binomial(totals, torch.full_like(totals, TOP_PROBABILITY), generator=context.generator(0))
    counts = tops.cpu().numpy().astype(np.int64)
    cache = {}
    for k in np.unique(counts):
        rewards = np.concatenate([np.ones(int(k)), np.zeros(TRAINING_SIZE - int(k))])
        cache[int(k)] = float(learner(rewards))
    return np.array([cache[int(k)] for k in counts])


def check_certificate(context: CheckContext, learner=real_learner) -> Evidence:
    """T6's certificate ``P(b̂ < b_δ) ≤ η`` (one-sided Clopper–Pearson at α), trainings designed to reject the
    halved-radius learner (exact rate 5.0η) w.p. ≥ 1 − β; the real learner's exact rate is the exact side."""
    plan = certificate_design(context.alpha, context.beta)
    target = exact_laws()["b_delta"]
    baselines = _sufficient_trainings(plan["trainings"], learner, context)
    below = int(np.sum(baselines < target - 1e-12 * max(1.0, abs(target))))
    return upper_bound_evidence(
        statistic=f"Clopper–Pearson lower bound (α) on P(b̂ < b_δ) over {plan['trainings']} trainings of "
                  f"{TRAINING_SIZE} rewards (each its count K ~ Bin(n, p); the learner run on the sorted training)",
        bound=ETA, exact=plan["rates"]["real"], empirical=below / plan["trainings"],
        lower_confidence=clopper_pearson_lower(below, plan["trainings"], context.alpha),
        n=plan["trainings"] * TRAINING_SIZE, detectable_gap=plan["detectable_rate"] - ETA,
        details={"b_delta": target, "exact_failure_rates": plan["rates"], "trainings": plan["trainings"],
                 "mean_learned_baseline": float(baselines.mean()), "min_learned_baseline": float(baselines.min()),
                 "distinct_counts": int(len(np.unique(baselines)))}, units="rate P(b̂ < b_δ) above η")


def check_learner_law(context: CheckContext, learner=real_learner) -> Evidence:
    """Consistency: the law of b̂ over trainings drawn through the base sampler equals its exact law (DKW, α)."""
    plan = law_design(context.alpha, context.beta)
    law = exact_laws()["laws"]["real"]
    base = BERNOULLI.base(context.device)
    generator = context.generator(0)
    baselines = np.array([float(learner(BERNOULLI.reward(base.sample(TRAINING_SIZE, generator)).cpu().numpy()))
                          for _ in range(plan["trainings"])])
    statistic = ks_distance(baselines, law.cdf, law.cdf_left)
    threshold = dkw_radius(plan["trainings"], context.alpha)
    return Evidence(
        holds=statistic <= threshold,
        statistic=f"KS of b̂ over {plan['trainings']} trainings against its exact law (enumerated over K), two-sided "
                  "DKW at α",
        bound=threshold, empirical=statistic, confidence_bound=statistic, n=plan["trainings"] * TRAINING_SIZE,
        detectable_gap=plan["detectable_ks"], detectable_gap_units="KS between the law of b̂ and its exact law",
        margin=threshold - statistic,
        message="" if statistic <= threshold else (f"the learned baselines do not follow the learner's exact law: "
                                                   f"KS {statistic:.4g} > {threshold:.4g}"),
        details={"variant_ks": plan["variant_ks"], "trainings": plan["trainings"],
                 "mean_learned_baseline": float(baselines.mean()),
                 "exact_mean": float(np.sum(law.values * law.probabilities))})


def _hypotheses() -> tuple[Hypothesis, ...]:
    law = BERNOULLI.law
    return (
        Hypothesis(r"$b_\delta < \operatorname{ess\,sup} r$ (else the claim is T1's)",
                   lambda: chernoff_baseline(law, BERNOULLI.lam, DELTA).value < law.ess_sup),
        Hypothesis(r"the learner clips at this $n$: $\bar b_n < \operatorname{ess\,sup} r$ (population moments)",
                   lambda: population_learned_baseline(law, BERNOULLI.lam, DELTA, ETA, BERNOULLI.reward_bounds,
                                                       TRAINING_SIZE) < law.ess_sup),
    )


LABEL = f"{BERNOULLI.name}/delta={DELTA:g},eta={ETA:g},n={TRAINING_SIZE}"
CERTIFICATE_ID = f"t6.certificate/{LABEL}"
LAW_ID = f"t6.learner_law/{LABEL}"


def claims() -> list[Claim]:
    common = dict(theorem="T6", module=MODULE, instance=BERNOULLI.name, hypotheses=_hypotheses(),
                  parameters={"lambda": BERNOULLI.lam, "delta": DELTA, "eta": ETA, "training_size": TRAINING_SIZE})
    return [
        Claim(id=CERTIFICATE_ID, title="learned baseline certificate (slack-sensitive setting)",
              statement=r"P\big(\hat b < b_\delta\big) \le \eta \quad(\hat b \ge b_\delta \Rightarrow D/Z(\hat b) \le \delta)",
              bound_expression=sym.eta, check=check_certificate, **common),
        Claim(id=LAW_ID, title="learned baseline follows its exact law (consistency)",
              statement=r"\hat b \sim \text{the law of the learner's closed form at } K\sim\mathrm{Bin}(n,p)",
              bound_expression=sympy.Integer(0), check=check_learner_law, **common),
    ]


def mutants() -> list[Mutant]:
    registered = claims()
    return [
        Mutant("learner-halved-radius", "T6", "the learner's empirical-Bernstein radius halved (rate 5.0η here)",
               wrong_variant(registered, CERTIFICATE_ID, partial(check_certificate, learner=half_radius_learner),
                             "halved-radius")),
        Mutant("learner-law-halved-radius", "T6", "the learner's radius halved, against its exact law",
               wrong_variant(registered, LAW_ID, partial(check_learner_law, learner=half_radius_learner),
                             "halved-radius")),
        Mutant("learner-law-dropped-union", "T6", "the learner's union over the grid dropped (each bound at η/2)",
               wrong_variant(registered, LAW_ID, partial(check_learner_law, learner=dropped_union_learner),
                             "dropped-union")),
    ]
