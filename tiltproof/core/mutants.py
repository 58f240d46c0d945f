"""Deliberately wrong variants: each must be rejected by its theorem's check (claims spec, "Power").

These are the single-step LCB ones (T1–T6); other theorem modules define their own ``mutants()``
and ``tiltproof.core.registry.all_mutants`` collects them all. A mutant is a claim whose sampler or bound is
wrong in a way a real implementation or paper could be:
acceptance at the wrong temperature, an envelope below sup r, a baseline below what the theorem needs,
a bound with a dropped factor, a miscounted proposal, a learned baseline without its confidence slack.
``tests/test_claims.py`` runs every one and requires the verdict ``fail``; ``tiltproof`` users can run
them too to see what a failing record looks like.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import sympy
import torch

from estimators.baselines import chernoff_baseline, empirical_chernoff_baseline, zero_radius
from primitives.rejection import RejectionResult, rejection_sample
from theorems import proposal_complexity as pc
from tiltproof.core import symbols as sym
from theorems import tv_guarantees as tv
from tiltproof.core.framework import Claim, Mutant, wrong_variant
from tiltproof.instances.single_step import INSTANCES, LEARNING_INSTANCES, Instance

__all__ = ["Mutant", "mutants"]


def wrong_temperature_factory(instance: Instance, baseline: float, device: torch.device):
    """Accepts with ``min(1, e^{(r−b)/(2λ)})``: the tilt at twice the temperature."""
    base = instance.base(device)
    return lambda n, generator: rejection_sample(base, instance.reward, 2 * instance.lam, baseline, n,
                                                 generator=generator)


def shifted_baseline_factory(shift: float):
    """Uses ``b + shift`` while claiming to use b."""
    def factory(instance: Instance, baseline: float, device: torch.device):
        base = instance.base(device)
        return lambda n, generator: rejection_sample(base, instance.reward, instance.lam, baseline + shift, n,
                                                     generator=generator)
    return factory


def undercounting_factory(instance: Instance, baseline: float, device: torch.device):
    """Reports 10% fewer proposals than it used (e.g. forgetting the last partial batch)."""
    base = instance.base(device)

    def sampler(n: int, generator: torch.Generator) -> RejectionResult:
        result = rejection_sample(base, instance.reward, instance.lam, baseline, n, generator=generator)
        return RejectionResult(samples=result.samples, proposals=max(n, int(0.9 * result.proposals)))

    return sampler


def envelope_overreporting_factory(instance: Instance, baseline: float, device: torch.device):
    """Reports 1.5× the proposals it used when run as ideal rejection (baseline ≥ ess sup r): a counter
    bug confined to the envelope sampler, which only the saving ratio N(B)/N(b) sees."""
    base = instance.base(device)

    def sampler(n: int, generator: torch.Generator) -> RejectionResult:
        result = rejection_sample(base, instance.reward, instance.lam, baseline, n, generator=generator)
        if baseline >= instance.law.ess_sup:
            return RejectionResult(samples=result.samples, proposals=int(1.5 * result.proposals))
        return result

    return sampler


def mirrored_baseline_factory(low: float, high: float):
    """Maps b to ``low + high − b``: the compute knob turned the wrong way."""
    def factory(instance: Instance, baseline: float, device: torch.device):
        base = instance.base(device)
        return lambda n, generator: rejection_sample(base, instance.reward, instance.lam, low + high - baseline, n,
                                                     generator=generator)
    return factory


def _claim(claim_id: str) -> Claim:
    """The registered single-step claim with this id (the two LCB modules only: cheap to build)."""
    from theorems import proposal_complexity, tv_guarantees

    for claim in [*tv_guarantees.claims(), *proposal_complexity.claims()]:
        if claim.id == claim_id:
            return claim
    raise KeyError(claim_id)


def _variant(claim_id: str, check, suffix: str, bound_expression=None) -> Claim:
    return wrong_variant([_claim(claim_id)], claim_id, check, suffix, bound_expression)


def mutants() -> list[Mutant]:
    d1, d5 = INSTANCES["gaussian-linear-d1"], INSTANCES["gaussian-linear-d5"]
    finite, gmm = INSTANCES["finite-k10"], INSTANCES["gmm-step-d1"]
    b_d1 = tv.t2_baselines(d1)[1]
    b_gmm = tv.t2_baselines(gmm)[1]
    deltas = pc.tradeoff_deltas(finite)
    finite_baselines = [chernoff_baseline(finite.law, finite.lam, d).value for d in deltas]
    u11 = LEARNING_INSTANCES["finite-u11"]
    t6_delta, t6_eta, t6_size = 0.5, 0.05, 4000
    t6_label = f"finite-u11/delta={t6_delta:g},eta={t6_eta:g}"
    no_slack = lambda rewards: empirical_chernoff_baseline(rewards, u11.lam, t6_delta, t6_eta, u11.reward_bounds,
                                                           radius=zero_radius).value
    dropped_half = sym.CLIP_MASS_BOUND / 2
    wrong_subgaussian = sym.mean_q + sym.sigma * sympy.sqrt(sympy.log(1 / sym.delta))
    wrong_saving = sympy.exp(2 * (sym.envelope - sym.baseline) / sym.lam) * (1 - sym.clipped_mass / sym.partition)
    return [
        Mutant("ideal-envelope-below-sup", "T1", "ideal rejection with envelope sup r − 2 claimed exact",
               _variant("t1.ideal_exact/gmm-step-d1", partial(pc.check_ideal_exact, gmm, sampler=shifted_baseline_factory(-2.0)),
                        "envelope-below-sup")),
        Mutant("ideal-wrong-temperature", "T1", "ideal rejection accepting at temperature 2λ",
               _variant("t1.ideal_exact/finite-k10", partial(pc.check_ideal_exact, finite, sampler=wrong_temperature_factory),
                        "wrong-temperature")),
        Mutant("sampler-wrong-temperature", "T2", "rejection accepting at 2λ checked against q_b",
               _variant(f"t2.sampler_law/gaussian-linear-d5/b={tv.t2_baselines(d5)[1]:.4g}",
                        partial(tv.check_sampler_law, d5, tv.t2_baselines(d5)[1], sampler=wrong_temperature_factory),
                        "wrong-temperature")),
        Mutant("tv-wrong-temperature", "T2", "TV ≤ D/Z for a sampler accepting at 2λ",
               _variant(f"t2.tv_le_clip_mass/gaussian-linear-d1/b={b_d1:.4g}",
                        partial(tv.check_tv_le_clip_mass, d1, b_d1, sampler=wrong_temperature_factory), "wrong-temperature")),
        Mutant("tv-bound-dropped-factor", "T2", "the bound D/(2Z) in place of D/Z",
               _variant(f"t2.tv_le_clip_mass/gmm-step-d1/b={b_gmm:.4g}",
                        partial(tv.check_tv_le_clip_mass, gmm, b_gmm, bound=dropped_half), "half-bound", dropped_half)),
        Mutant("chernoff-baseline-too-low", "T3", "baseline b_δ − 3λ used where b_δ is needed",
               _variant("t3.chernoff_baseline/gaussian-linear-d1/delta=0.1",
                        partial(tv.check_chernoff_baseline, d1, 0.1, baseline_shift=-3 * d1.lam), "baseline-too-low")),
        Mutant("subgaussian-dropped-factor", "T3", "σ√(log 1/δ) in place of σ√(2 log 1/δ)",
               _variant("t3.subgaussian/gaussian-linear-d1/delta=0.01",
                        partial(tv.check_subgaussian, d1, 0.01, expression=wrong_subgaussian), "dropped-2", wrong_subgaussian)),
        Mutant("proposals-undercounted", "T4", "a sampler that reports 10% fewer proposals than it used",
               _variant("t4.proposals_identity/gmm-step-d1/b=" + f"{chernoff_baseline(gmm.law, gmm.lam, 0.3).value:.4g}",
                        partial(pc.check_proposals_identity, gmm, chernoff_baseline(gmm.law, gmm.lam, 0.3).value,
                                sampler=undercounting_factory), "undercount")),
        Mutant("proposals-upper-dropped-factor", "T4", "N(b_δ) ≤ e^{(b−V)/λ}, the 1/(1−δ) factor dropped",
               _variant("t4.proposals_upper/finite-k10/delta=0.3",
                        partial(pc.check_proposals_upper, finite, 0.3, expression=sym.PROPOSALS_LOWER), "dropped-1-delta",
                        sym.PROPOSALS_LOWER)),
        Mutant("saving-wrong-temperature", "T4", "saving claimed as e^{2(B−b)/λ}(1 − D/Z)",
               _variant("t4.saving/gmm-step-d1/delta=0.5,B=5",
                        partial(pc.check_saving, gmm, 0.5, 5.0, expression=wrong_saving), "wrong-temperature", wrong_saving)),
        Mutant("tradeoff-knob-reversed", "T5", "a sampler that turns δ the wrong way (mirrored baseline)",
               _variant("t5.tradeoff/finite-k10",
                        partial(pc.check_tradeoff, finite, deltas=deltas,
                                sampler=mirrored_baseline_factory(min(finite_baselines), max(finite_baselines))),
                        "reversed")),
        Mutant("tradeoff-rule-at-one-minus-delta", "T5", "the baseline rule evaluated at 1 − δ instead of δ",
               _variant("t5.tradeoff/gaussian-linear-d1",
                        partial(pc.check_tradeoff, d1, deltas=pc.tradeoff_deltas(d1),
                                baseline_rule=lambda law, lam, d: pc.chernoff_rule(law, lam, 1 - d)),
                        "rule-one-minus-delta")),
        Mutant("saving-envelope-overcounted", "T4", "the envelope (ideal) sampler reports 1.5× its proposals",
               _variant("t4.saving/gmm-step-d1/delta=0.5,B=5",
                        partial(pc.check_saving, gmm, 0.5, 5.0, sampler=envelope_overreporting_factory), "envelope-overcount")),
        Mutant("learned-baseline-no-slack", "T6", "the learner with its confidence radius removed (plug-in Chernoff)",
               _variant(f"t6.certificate/{t6_label}",
                        partial(tv.check_learned_certificate, u11, t6_delta, t6_eta, t6_size, learner=no_slack), "no-slack")),
        Mutant("learned-baseline-base-quantile", "T6", "the (1−δ)-quantile of r under p (ignores the tilt)",
               _variant(f"t6.certificate/{t6_label}",
                        partial(tv.check_learned_certificate, u11, t6_delta, t6_eta, t6_size,
                                learner=lambda rewards: float(np.quantile(rewards, 1 - t6_delta))), "base-quantile")),
        Mutant("learned-baseline-proposals-undercounted", "T6", "the sampler run at each learned b̂ reports 10% fewer proposals",
               _variant(f"t6.learned_baseline/{t6_label}",
                        partial(tv.check_learned_baseline, u11, t6_delta, t6_eta, t6_size, sampler=undercounting_factory),
                        "undercount")),
    ]
