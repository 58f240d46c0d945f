"""Power beyond the registered seed (issue 11): every wrong variant of the chain and tractability modules must
fail at each of several seeds, not only at seed 0 (slow; the checks are sized for β = 1e-3 per variant)."""
from __future__ import annotations

import pytest

from theorems import (chain_learned_baseline, chain_step_bounds, chain_step_terms, diffusion_chains,
                      diffusion_tilt_oracle, kl_laplace_mixtures, kl_net_clipping, kl_nonconvexity, kl_oracle_calls,
                      kl_partition_error, linear_tilt_sufficiency, prox_grid_error, prox_oracle_tractability,
                      ddpm_value_error, plug_in_offset, t6_learner_slack)
from tiltproof.core.framework import run_claim
from tests.conftest import STAT_ALPHA

MODULES = (diffusion_chains, chain_step_bounds, chain_step_terms, chain_learned_baseline, diffusion_tilt_oracle,
           linear_tilt_sufficiency, kl_net_clipping, kl_oracle_calls, kl_nonconvexity, kl_laplace_mixtures,
           kl_partition_error, prox_oracle_tractability, prox_grid_error, t6_learner_slack, plug_in_offset,
           ddpm_value_error)
MUTANTS = [mutant for module in MODULES for mutant in module.mutants()]
SEEDS = range(1, 7)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda mutant: mutant.name)
def test_wrong_variant_fails_at_every_seed(mutant):
    verdicts = {seed: run_claim(mutant.claim, alpha=STAT_ALPHA, seed=seed).verdict for seed in SEEDS}
    assert set(verdicts.values()) == {"fail"}, verdicts
