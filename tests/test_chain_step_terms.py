"""T7's per-step terms against T2 on the GMM chain (``theorems.chain_step_terms``) and the Bernstein mean test
that sizes it (``estimators.bernstein_mean``). The claim passing and its wrong variant (a sampler accepting
against b + 0.5) failing are run by ``tests/test_claims.py`` with every registered claim and variant."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from estimators.exact.chain_laws import kernel_value_laws
from estimators.bernstein_mean import (assert_mean_equal_by_bernstein, bernstein_radius,
                                       min_gap_of_means_detectable_by_bernstein,
                                       min_num_samples_for_bernstein_mean_test)
from tests.conftest import STAT_ALPHA
from theorems import chain_step_terms
from tiltproof.instances.chain import chain_instance, make_baseline
from tiltproof.core.chain_path_tv import t2_per_state


@settings(max_examples=25, deadline=None)
@given(gap=st.floats(0.01, 0.5), mean=st.floats(0.0, 2.0), span=st.floats(2.0, 10.0))
def test_bernstein_design_companions_invert_each_other(gap, mean, span):
    n = min_num_samples_for_bernstein_mean_test(gap, mean, span, alpha=1e-8, beta=1e-3)
    assert min_gap_of_means_detectable_by_bernstein(n, mean, span, alpha=1e-8, beta=1e-3) <= gap * (1 + 1e-9)
    if n > 16:
        assert min_gap_of_means_detectable_by_bernstein(n - 1, mean, span, alpha=1e-8, beta=1e-3) > gap * (1 - 1e-6)


def test_bernstein_radius_meets_its_tail_bound():
    # exp(−nε²/(2σ² + 2Rε/3)) = level at the radius (the inequality it inverts).
    for variance, span, n, level in ((0.3, 4.0, 1000, 1e-6), (0.0, 1.0, 50, 0.01), (2.0, 10.0, 10**5, 1e-9)):
        radius = bernstein_radius(variance, span, n, level)
        assert np.isclose(np.exp(-n * radius**2 / (2 * variance + 2 * span * radius / 3)), level, rtol=1e-9)


def test_bernstein_mean_test_rejects_a_shifted_mean_and_keeps_the_true_one():
    generator = np.random.default_rng(0)
    values = 4.0 * generator.beta(0.5, 6.0, size=40_000)          # mean 4·0.5/6.5 ≈ 0.3077
    mean = 4.0 * 0.5 / 6.5
    assert assert_mean_equal_by_bernstein(values, mean, 4.0, alpha=STAT_ALPHA)[0]
    gap = min_gap_of_means_detectable_by_bernstein(values.size, mean, 4.0, alpha=STAT_ALPHA, beta=1e-3)
    assert not assert_mean_equal_by_bernstein(values + gap, mean, 4.0, alpha=STAT_ALPHA)[0]


@pytest.mark.parametrize("bad", [dict(gap=0.0), dict(mean=-1.0), dict(span=0.0), dict(alpha=1.5)])
def test_bernstein_design_rejects_bad_arguments(bad):
    arguments = dict(gap=0.05, mean=0.3, span=4.0, alpha=1e-6, beta=1e-3) | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        min_num_samples_for_bernstein_mean_test(**arguments)


def test_ridge_terms_are_t2_exact_form_and_below_its_bound(one_torch_thread):
    """On the ridge grid, T2's exact form (t2_per_state) equals the laws' own ½Σ|q − q_b| (another formula) and
    never exceeds D/Z; interpolation and atom errors are small beside the designed gap."""
    instance = chain_instance("gmm", 5.0)
    baseline = make_baseline(instance, "offset=0")
    terms = chain_step_terms._cached_step_terms(instance, "offset=0")
    assert terms.min_bound_margin >= -1e-12
    for t in (1, 10):
        parents = chain_step_terms._ridge_parents(instance, torch.as_tensor(terms.nodes[t][::50]))
        laws = kernel_value_laws(instance.chain, t, parents, instance.values)
        half_l1 = laws.tv_to_target(instance.lam, baseline(parents, t).reshape(-1)).numpy()
        assert np.allclose(terms.tv[t][::50], half_l1, atol=1e-12)
        exact, _ = t2_per_state(laws, instance.lam, baseline(parents, t).reshape(-1))
        assert np.allclose(exact, half_l1, atol=1e-12)
    assert float(np.sum(terms.interpolation_error + terms.atom_error)) < 0.2 * chain_step_terms.STEP_TERM_GAP


@pytest.mark.slow
def test_step_terms_claim_passes_with_its_power_stated(one_torch_thread):
    """The registered claim at the test share (about 10 s; `tiltproof check` runs it at its own level)."""
    from tiltproof.core.framework import run_claim

    (claim,) = chain_step_terms.claims()
    record = run_claim(claim, alpha=STAT_ALPHA)
    assert record.verdict == "pass", record.message
    assert record.margin >= 0 and record.detectable_gap <= chain_step_terms.STEP_TERM_GAP * (1 + 1e-9)
    assert record.details["numerical_tolerance"] <= record.details["numerical_tolerance_bound"]
