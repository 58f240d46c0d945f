"""The learned per-step baseline: its calibration guarantee (distribution-free, checked by simulation and
exactly on an enumerable chain), training end to end, learned soft values and T8 on them, bad input."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from estimators.exact.finite_chain_law import finite_sampler_law
from estimators.exact.chain_laws import kernel_value_laws
from estimators.binomial import clopper_pearson_lower
from learning.step_network import CHERNOFF_S_GRID, ConstantNetwork, empirical_chernoff_gamma, validation_log_cost
from learning.chain_baseline import fit_soft_values, train_learned_baseline, train_selected_baseline
from estimators.offset_calibration import calibrate_clip_offset, calibrate_offset, calibration_rank
from primitives.chain_samplers import EnvelopeBaseline, ExactSoftValues, per_step_rejection_sample
from primitives.diffusion import CountingKernel
from primitives.masked_diffusion import MaskedDiffusion, SequenceSetReward
from tests.conftest import STAT_ALPHA


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _small_masked():
    sequences = np.array(list(itertools.product(range(3), repeat=3)))
    probs = np.random.default_rng(7).dirichlet(np.ones(len(sequences)))
    return MaskedDiffusion(sequences, probs, 3), SequenceSetReward(3.0, sequences[[0, 13]])


def test_calibration_rank_is_the_binomial_quantile():
    for n, delta, eta in ((200, 0.05, 0.05), (1000, 0.01, 0.001), (50, 0.2, 0.3)):
        rank = calibration_rank(n, delta, eta)
        assert binom.cdf(rank, n, delta) <= eta < binom.cdf(rank + 1, n, delta)
    assert calibration_rank(10, 0.01, 0.01) == -1
    assert calibrate_offset(np.zeros(10), 0.01, 0.01) == math.inf
    with pytest.raises(ValueError, match="finite"):
        calibrate_offset(np.array([0.0, np.nan]), 0.1, 0.1)


@pytest.mark.parametrize("law", ["continuous", "atoms"])
def test_calibrated_offset_keeps_the_tail_below_delta_with_probability_eta(law):
    """Over 4000 calibrations, the fraction with P(R > c) > δ is at most η (binomial test at STAT_ALPHA);
    residual laws with and without atoms (the guarantee is distribution-free)."""
    rng = np.random.default_rng(11)
    n, delta, eta, repeats = 300, 0.05, 0.1, 4000
    if law == "continuous":
        draws = rng.normal(size=(repeats, n))
        tail = lambda c: 0.5 * math.erfc(c / math.sqrt(2))
    else:
        support, probs = np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.6, 0.3, 0.06, 0.04])
        draws = rng.choice(support, size=(repeats, n), p=probs)
        tail = lambda c: float(probs[support > c].sum())
    exceed = sum(tail(calibrate_offset(row, delta, eta)) > delta for row in draws)
    assert clopper_pearson_lower(int(exceed), repeats, STAT_ALPHA) <= eta
    # Without the slack (the empirical (1−δ)-quantile) the same test rejects: the check has power.
    if law == "continuous":
        plugin = sum(tail(np.quantile(row, 1 - delta, method="higher")) > delta for row in draws)
        assert clopper_pearson_lower(int(plugin), repeats, STAT_ALPHA) > eta


def test_clip_calibration_keeps_the_mean_clipped_mass_below_delta_with_probability_eta():
    """Residuals R ~ N(0, 1): ``E(1 − e^{−(R − c)})_+ = Φ(−c) − e^{c + 1/2} Φ(−c − 1)`` exactly; over 300
    calibrations the fraction exceeding δ is at most η (binomial test at STAT_ALPHA)."""
    from scipy.special import ndtr

    rng = np.random.default_rng(12)
    n, delta, eta, repeats = 1000, 0.02, 0.1, 300
    mass = lambda c: ndtr(-c) - math.exp(c + 0.5) * ndtr(-c - 1.0)
    offsets = [calibrate_clip_offset(rng.normal(size=n), 1.0, delta, eta) for _ in range(repeats)]
    assert all(math.isfinite(c) for c in offsets)
    exceed = sum(mass(c) > delta for c in offsets)
    assert clopper_pearson_lower(int(exceed), repeats, STAT_ALPHA) <= eta
    assert np.mean([mass(c) for c in offsets]) > delta / 4          # not vacuous: it spends the budget


def test_trained_baseline_keeps_every_step_within_delta_exactly():
    """End to end on an enumerable chain: each step's exact average tilted tail under the sampler's own
    parent law is ≤ δ (fails with probability ≤ T·η = STAT_ALPHA), hence T7's path bound ≤ (T+1)δ."""
    chain, reward = _small_masked()
    values = ExactSoftValues(chain, reward, 1.0)
    delta, eta = 0.05, STAT_ALPHA / chain.steps
    baseline, report = train_learned_baseline(chain, values, delta=delta, eta=eta, train_parents=256, children=8,
                                              calibration_pairs=600, iterations=60, vocabulary=chain.mask + 1,
                                              generator=torch.Generator().manual_seed(3))
    assert report.training_queries > 0 and all(math.isfinite(v) for v in report.offsets.values())
    law = finite_sampler_law(chain, values, baseline)
    for t in range(chain.steps):
        states, probs = law.marginals[t + 1]
        laws = kernel_value_laws(chain, t, states, values)
        average_tail = float((probs * laws.tail_q(1.0, baseline(states, t))).sum())
        assert average_tail <= delta and law.step_terms[t] <= average_tail + 1e-12
    assert law.path_bound <= (chain.steps + 1) * delta
    result = per_step_rejection_sample(chain, values, baseline, 500, generator=torch.Generator().manual_seed(4))
    assert result.n == 500


def test_model_selection_keeps_the_guarantee_and_picks_the_smallest_validation_cost():
    """With candidates chosen on selection parents drawn apart from the calibration parents, every step's
    exact average tilted tail is still ≤ δ (fails with probability ≤ T·η = STAT_ALPHA), and each step's
    network is the candidate with the smallest validation score."""
    chain, reward = _small_masked()
    values = ExactSoftValues(chain, reward, 1.0)
    delta, eta = 0.05, STAT_ALPHA / chain.steps
    baseline, report = train_learned_baseline(chain, values, delta=delta, eta=eta, train_parents=256, children=8,
                                              calibration_pairs=600, selection_pairs=300, iterations=60,
                                              vocabulary=chain.mask + 1, generator=torch.Generator().manual_seed(3))
    law = finite_sampler_law(chain, values, baseline)
    for t in range(chain.steps):
        scores = report.history[t]["selection_scores"]
        assert set(scores) == {"warm_start", "constant", "chernoff_regression", "chernoff_regression_refit"}
        assert report.history[t]["selected"] == min(scores, key=scores.get)
        assert isinstance(baseline.networks[t], ConstantNetwork) == (report.history[t]["selected"] == "constant")
        states, probs = law.marginals[t + 1]
        laws = kernel_value_laws(chain, t, states, values)
        assert float((probs * laws.tail_q(1.0, baseline(states, t))).sum()) <= delta
    assert law.path_bound <= (chain.steps + 1) * delta


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.floats(1e-4, 0.5), st.integers(0, 2**31 - 1))
def test_empirical_chernoff_gamma_bounds_the_empirical_tilted_tail(children, delta, seed):
    """Chernoff's inequality on the empirical tilted law of each parent's children:
    ``Σ_j e^{U_j} 1{U_j > g} / Σ_j e^{U_j} ≤ δ`` at ``g = empirical_chernoff_gamma``."""
    rng = np.random.default_rng(seed)
    log_ratios = torch.tensor(rng.normal(size=(6, children)) * rng.uniform(0.1, 5.0, size=(6, 1)))
    gamma = empirical_chernoff_gamma(log_ratios, delta)
    weights = torch.softmax(log_ratios, -1)
    tail = (weights * (log_ratios > gamma[:, None])).sum(-1)
    assert bool((tail <= delta + 1e-12).all()) and bool(torch.isfinite(gamma).all())


def test_empirical_chernoff_gamma_of_identical_children_is_the_value_plus_the_largest_s_term():
    log_ratios = torch.full((3, 5), 0.7, dtype=torch.float64)
    delta = 0.01
    expected = 0.7 + math.log(1 / delta) / max(CHERNOFF_S_GRID)
    assert torch.allclose(empirical_chernoff_gamma(log_ratios, delta), torch.full((3,), expected, dtype=torch.float64))


def test_selected_baseline_keeps_the_guarantee_and_is_the_cheapest_validated_training():
    """Two trainings at η/2 each, the cheaper on validation runs kept: every step's exact average tilted tail
    is ≤ δ (fails with probability ≤ T·η = STAT_ALPHA), the chosen training's validation cost is the smallest,
    and the reported training queries include both trainings and the validation runs."""
    chain, reward = _small_masked()
    values = ExactSoftValues(chain, reward, 1.0)
    delta, eta = 0.05, STAT_ALPHA / chain.steps
    counting = CountingKernel(chain)
    baseline, report = train_selected_baseline(counting, values, delta=delta, eta=eta, trainings=2,
                                               validation_samples=300, train_parents=256, children=8,
                                               calibration_pairs=600, iterations=60, vocabulary=chain.mask + 1,
                                               generator=torch.Generator().manual_seed(3))
    assert len(report.validation_costs) == 2 and report.training_queries == counting.draws
    assert report.validation_costs[report.selected_training] == min(report.validation_costs)
    law = finite_sampler_law(chain, values, baseline)
    for t in range(chain.steps):
        states, probs = law.marginals[t + 1]
        laws = kernel_value_laws(chain, t, states, values)
        assert float((probs * laws.tail_q(1.0, baseline(states, t))).sum()) <= delta
    with pytest.raises(ValueError, match="trainings"):
        train_selected_baseline(chain, values, delta=delta, eta=eta, trainings=0)


def test_validation_log_cost_is_the_log_mean_inverse_acceptance():
    """Against a direct numpy evaluation of log mean_i 1/mean_j min(1, e^{u_ij − γ_i − c/λ})."""
    rng = np.random.default_rng(0)
    log_ratios = rng.normal(size=(50, 7)) * 3
    gamma = rng.normal(size=50)
    for offset, lam in ((0.3, 1.0), (-1.0, 2.5)):
        accept = np.minimum(1.0, np.exp(log_ratios - gamma[:, None] - offset / lam)).mean(1)
        direct = math.log(np.mean(1.0 / accept))
        assert validation_log_cost(torch.tensor(gamma), offset, torch.tensor(log_ratios), lam) == pytest.approx(direct, rel=1e-12)
    assert validation_log_cost(torch.tensor(gamma), math.inf, torch.tensor(log_ratios), 1.0) == math.inf


def test_learned_soft_values_obey_t8_per_state():
    """With ε_t = max |V̂_t − V_t| over the reachable states (exact), ideal per-step rejection on V̂ is
    within tanh(ε_t/2λ) of the exact kernel at every state (T8, exact by enumeration)."""
    chain, reward = _small_masked()
    lam = 1.0
    exact = ExactSoftValues(chain, reward, lam)
    learned, draws = fit_soft_values(chain, reward, lam, parents=512, children=16, iterations=200,
                                     vocabulary=chain.mask + 1, generator=torch.Generator().manual_seed(5))
    assert draws > 0
    for t in range(chain.steps):
        states, _ = chain.level_states(t)
        epsilon = float((learned(states, t) - exact(states, t)).abs().max())
        parents, _ = chain.level_states(t + 1)
        laws = kernel_value_laws(chain, t, parents, learned, target=exact)
        tv = laws.tv_to_target(lam, learned.envelope(t))
        assert (tv <= math.tanh(epsilon / (2 * lam)) + 1e-12).all()
    ideal = per_step_rejection_sample(chain, learned, EnvelopeBaseline(learned), 200,
                                      generator=torch.Generator().manual_seed(6))
    assert ideal.n == 200


def test_learned_baseline_bad_input():
    chain, reward = _small_masked()
    values = ExactSoftValues(chain, reward, 1.0)
    for name, kwargs in (("delta", dict(delta=0.0, eta=0.1)), ("eta", dict(delta=0.1, eta=1.5)),
                         ("cap", dict(delta=0.1, eta=0.1, cap=-1.0)),
                         ("selection_pairs", dict(delta=0.1, eta=0.1, selection_pairs=-1))):
        with pytest.raises(ValueError, match=name):
            train_learned_baseline(chain, values, **kwargs)
