"""Exact claims on the learned masked LM's chain (``theorems.masked_lm_chains``): the claims pass, their
exact sides agree with independent routes, and the module is registered (its wrong variants run in
``tests/test_claims.py::test_every_wrong_variant_is_rejected``, ids ``lm-*``)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.exact.finite_chain_law import aligned_data_law
from theorems import masked_lm_chains as lm
from tiltproof.core.framework import run_claim
from tiltproof.core.registry import theorem_modules
from tests.conftest import STAT_ALPHA


@pytest.mark.parametrize("claim", lm.claims(), ids=lambda claim: claim.id)
def test_claims_pass_on_the_learned_chain(claim):
    record = run_claim(claim, alpha=STAT_ALPHA)
    assert record.verdict == "pass", record.message
    assert record.detectable_gap is not None and record.detectable_gap_units


def test_module_is_registered_with_code_path_variants():
    """The registry discovers the module (its claims and variants then run in test_claims.py)."""
    assert lm.MODULE in {module.__name__.rsplit(".", 1)[-1] for module in theorem_modules()}
    assert all(claim.module == lm.MODULE for claim in lm.claims())
    assert {mutant.theorem for mutant in lm.mutants()} == {"T1", "T7", "T8"}


def test_exact_values_have_zero_value_error_and_zero_tv():
    """With V̂ = V the tilted kernels coincide: T8's exact side must give TV = 0 and ε = 0 at every state."""
    chain, values = lm.tiny_chain(), lm.tiny_values()
    for t in range(chain.steps):
        tv, epsilon = lm.per_state_value_error(chain, chain, values, values, t)
        assert float(tv.max()) <= 1e-12 and float(epsilon.max()) == 0.0


class _Shifted:
    """V̂_t = V_t + ε·s(x) with a fixed sign pattern s ∈ {−1, +1} (a hash of the state)."""

    def __init__(self, values, epsilon: float, seed: int) -> None:
        self.values, self.epsilon, self.seed, self.lam = values, epsilon, seed, values.lam

    def __call__(self, states, t):
        sign = ((states * torch.arange(1, states.shape[1] + 1) + self.seed).sum(-1) % 2) * 2 - 1
        return self.values(states, t) + self.epsilon * sign.double()


@settings(max_examples=10)
@given(st.floats(0.01, 3.0), st.integers(0, 100))
def test_t8_exact_side_holds_for_any_bounded_perturbation(epsilon, seed):
    """T8 is a theorem: the exact per-state TV never exceeds tanh(ε_t(y)/2λ), whatever the perturbation."""
    chain, values = lm.tiny_chain(), lm.tiny_values()
    shifted = _Shifted(values, epsilon, seed)
    for t in range(chain.steps):
        tv, eps = lm.per_state_value_error(chain, chain, values, shifted, t)
        assert bool((tv <= torch.tanh(eps / (2 * lm.LAM)) + 1e-12).all())
        assert math.isclose(float(eps.max()), epsilon, rel_tol=1e-9)


def test_aligned_law_is_the_tilted_enumerated_law():
    chain = lm.tiny_chain()
    reward = lm.tiny_reward()
    q0 = aligned_data_law(chain, reward, lm.LAM)
    weights = chain.probs.numpy() * np.exp(reward(chain.sequences).numpy() / lm.LAM)
    assert np.allclose(q0, weights / weights.sum(), rtol=1e-12)
    assert math.isclose(chain.log_partition(reward, lm.LAM),
                        float(lm.tiny_values().root()) / lm.LAM, rel_tol=1e-12)
