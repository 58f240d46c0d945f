"""User-style chain samplers for the bring-your-own chain check: the repo's own (correct) samplers and the
wrong variants the check must not pass (each perturbs the code a real bug would hit)."""
from __future__ import annotations

from dataclasses import replace

import torch

from estimators.chain_baselines import OracleChernoffBaseline
from estimators.exact.chain_laws import kernel_value_laws
from primitives.chain_samplers import EnvelopeBaseline, OffsetBaseline, per_step_rejection_sample
from tiltproof.instances.chain import TemperatureValues


class ProposalLawChernoffBaseline(OracleChernoffBaseline):
    """The per-state Chernoff offset computed under the proposal law p_t(·|y) instead of the tilted kernel
    q_t(·|y) (a calibration bug): ``[Λ_y(s) − Λ_y(0) + log(1/δ)]/s`` (λ → ∞ in the tilted formula)."""

    def __call__(self, parents, t):
        lam = 1e12
        if parents is None:
            laws = kernel_value_laws(self.chain, self.chain.steps, None, self.values, spacing=self.spacing)
            return laws.chernoff_baseline(lam, self.delta, self.s_grid)[0]
        laws = kernel_value_laws(self.chain, t, parents, self.values, spacing=self.spacing)
        return laws.chernoff_baseline(lam, self.delta, self.s_grid)


def per_step(values, baseline, *, record=True):
    """The repo's per-step rejection as a user sampler ``sampler(kernel, n, generator)``."""
    return lambda kernel, n, generator: per_step_rejection_sample(kernel, values, baseline, n, generator=generator,
                                                                  record_states=record)


def wrong_temperature(values, baseline, factor=1.25):
    return per_step(TemperatureValues(values, factor), baseline)


def untilted_prior(values, baseline):
    """Draws x_T from p_T without tilting (every prior proposal accepted), then per-step rejection."""
    class PriorAlwaysAccepts:
        def __call__(self, parents, t):
            if parents is None:
                return torch.tensor([-1e300], dtype=torch.float64)
            return baseline(parents, t)
    return per_step(values, PriorAlwaysAccepts())


def miscounted(values, baseline, factor=0.8, with_proposals=True):
    def sampler(kernel, n, generator):
        result = per_step_rejection_sample(kernel, values, baseline, n, generator=generator, record_states=True)
        out = replace(result, queries=int(result.queries * factor))
        return out if with_proposals else replace(out, proposals=None)
    return sampler


def ideal(values):
    return EnvelopeBaseline(values)
