"""Per-step δ in both meanings (``estimators.per_step_delta``, ``theorems.per_step_delta``): the three proved
inequalities on drawn finite laws, the authors' offset identity, the per-step mean test and its design
companions, bad input, and the two-point gap claim with its wrong-side variant. The chain claims run through
``tests/test_claims.py`` with every registered claim; here the masked chain keeps them small."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from estimators.exact.chain_laws import StateLaws
from estimators.bounded_means import (assert_step_mean_at_most_by_kl, min_excess_of_step_mean_detectable,
                                      min_num_samples_for_step_mean_test, step_mean_threshold)
from estimators.per_step_delta import (chernoff_factor_bound, log_proposal_chernoff_mass, proposal_offset,
                                       proposal_offset_from_log_masses, proposal_tail, proposal_tail_bound,
                                       target_tail)
from estimators.bounded_means import bernoulli_kl
from tests.conftest import STAT_ALPHA
from theorems import per_step_delta
from tiltproof.core.chain_path_tv import t2_per_state
from tiltproof.core.framework import CheckContext


@st.composite
def finite_steps(draw):
    """A finite per-step law of V under p, λ, κ ≥ 1/λ and a baseline anywhere around the values."""
    atoms = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    lam = draw(st.floats(0.2, 5.0))
    values = rng.normal(scale=3.0, size=atoms)
    probs = rng.dirichlet(np.ones(atoms) * 0.5) + 1e-12
    kappa = (1.0 / lam) * draw(st.floats(1.0, 20.0))
    b = float(draw(st.floats(-1.0, 1.0)) * 4.0 + values.mean())
    laws = StateLaws(torch.tensor(values[None, :]), torch.tensor(np.log(probs / probs.sum()))[None, :])
    return laws, lam, kappa, b, float(values.max())


@settings(max_examples=60, deadline=None)
@given(finite_steps())
def test_factor_and_tail_forms_bound_the_step_tv(step):
    laws, lam, kappa, b, envelope = step
    parent = lam * laws.log_partition(lam)
    tv, clip = t2_per_state(laws, lam, torch.tensor([b], dtype=torch.float64))
    tail_q = float(target_tail(laws, lam, b)[0])
    factor = float(chernoff_factor_bound(laws, lam, kappa, b, parent)[0])
    tail_bound = float(proposal_tail_bound(lam, proposal_tail(laws, b), envelope, b, parent)[0])
    assert tv[0] <= clip[0] + 1e-12 and clip[0] <= tail_q + 1e-12          # T2
    assert tail_q <= factor * (1 + 1e-9) + 1e-15                              # (A)
    assert clip[0] <= tail_bound * (1 + 1e-9) + 1e-15                         # (C), equality with one atom above b


def test_tail_form_needs_its_positive_part_above_the_envelope():
    laws = StateLaws(torch.tensor([[0.0, 1.0]]), torch.log(torch.tensor([[0.5, 0.5]])))
    parent = laws.log_partition(1.0)
    b = 2.0                                                                   # above ess sup V = 1: no clipping
    tv, _ = t2_per_state(laws, 1.0, torch.tensor([b], dtype=torch.float64))
    bracket = math.exp(1.0 - float(parent)) - math.exp(b - float(parent))
    assert bracket < 0 <= tv[0]                                               # §2's form without (·)_+ is false here
    assert float(proposal_tail_bound(1.0, torch.tensor([0.0]), 1.0, b, parent)[0]) >= tv[0]


@settings(max_examples=40, deadline=None)
@given(s=st.lists(st.floats(-5.0, 5.0), min_size=1, max_size=50), kappa=st.floats(1.0, 30.0),
       delta=st.floats(1e-6, 0.5))
def test_authors_offset_makes_the_training_mass_delta(s, kappa, delta):
    tau = proposal_offset(s, kappa, delta)
    mass = np.mean(np.exp(kappa * (np.asarray(s) - tau)))
    assert math.isclose(mass, delta, rel_tol=1e-9)
    logs = torch.tensor(kappa * np.asarray(s))
    assert math.isclose(proposal_offset_from_log_masses(logs, kappa, delta), tau, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=25, deadline=None)
@given(delta=st.floats(1e-4, 0.2), gap=st.floats(1e-3, 0.3))
def test_step_mean_design_companions_invert_each_other(delta, gap):
    gap = min(gap, 0.9 - delta)
    n = min_num_samples_for_step_mean_test(delta, gap, alpha=1e-8, beta=1e-3)
    assert min_excess_of_step_mean_detectable(n, delta, alpha=1e-8, beta=1e-3) <= gap * (1 + 1e-9)
    threshold = step_mean_threshold(n, delta, 1e-8)
    assert delta < threshold < delta + gap
    assert n * bernoulli_kl(threshold, delta) >= math.log(1e8) * (1 - 1e-9)


def test_step_mean_test_rejects_an_excess_and_keeps_a_mean_at_delta():
    rng = np.random.default_rng(1)
    delta = 1e-3
    n = min_num_samples_for_step_mean_test(delta, 4e-3, alpha=STAT_ALPHA, beta=1e-3)
    at_delta = assert_step_mean_at_most_by_kl((rng.random(n) < delta).astype(float), delta, alpha=STAT_ALPHA)
    above = assert_step_mean_at_most_by_kl((rng.random(n) < 5 * delta).astype(float), delta, alpha=STAT_ALPHA)
    assert not at_delta["exceeds"] and above["exceeds"]
    assert at_delta["upper_confidence"] >= at_delta["clipped_mean"]


@pytest.mark.parametrize("call, name", [
    (lambda: proposal_offset([0.0], 15.0, 1.5), "delta"),
    (lambda: proposal_offset([0.0], -1.0, 0.1), "kappa"),
    (lambda: chernoff_factor_bound(StateLaws(torch.zeros(1, 2), torch.log(torch.full((1, 2), 0.5))), 1.0, 0.5, 0.0, 0.0),
     "kappa"),
    (lambda: assert_step_mean_at_most_by_kl([0.1, 0.2], 0.0, alpha=0.1), "delta"),
    (lambda: min_num_samples_for_step_mean_test(0.5, 0.6, alpha=0.1, beta=0.1), "gap"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def _context(alpha=1e-6):
    return CheckContext(alpha=alpha, seed=3, device=torch.device("cpu"))


def test_two_point_gap_is_near_sharp_and_the_target_side_offset_is_refused():
    exact = per_step_delta.gap_quantities()
    assert math.isclose(exact["mass"], per_step_delta.GAP_DELTA, rel_tol=1e-9)
    assert exact["tv"] <= exact["count"] * exact["mass"] * (1 + 1e-9)         # (A) at the one parent
    assert exact["tv"] / (exact["count"] * exact["mass"]) > per_step_delta.GAP_FRACTION
    assert per_step_delta.check_unweighted_gap(_context()).holds
    assert not per_step_delta.check_unweighted_gap(_context(), side="target").holds


def test_masked_chain_claims_hold_and_their_variants_fail():
    from tiltproof.instances.chain import chain_instance

    masked = chain_instance("masked", 5.0)
    context = _context()
    factor = per_step_delta.check_factor_bound(masked, 15.0, 1e-3, context, parents=100)
    weighted = per_step_delta.check_weighted(masked, 15.0, 1e-3, context, parents=100)
    assert factor.holds and weighted.holds, (factor.message, weighted.message)
    assert weighted.details["identity_relative_error"] < 1e-8
    assert not per_step_delta.check_weighted(masked, 15.0, 1e-3, context, weight="count", parents=100).holds


def test_two_point_factor_bound_holds_and_the_inverted_factor_fails():
    assert per_step_delta.check_two_point_factor(_context()).holds
    assert not per_step_delta.check_two_point_factor(_context(), factor="inverted").holds
