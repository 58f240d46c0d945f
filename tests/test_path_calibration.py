"""Path-level calibration (learning.path_calibration): the design functions against scipy's binomial and
the KL bound, the path test's verdicts on honest and wrong baselines, the sequential calibration's
fallback and its accounting, bad input."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import rel_entr
from scipy.stats import beta, binom, norm

from estimators.bounded_means import bernoulli_kl, kl_upper_confidence
from estimators.chain_baselines import OracleChernoffBaseline
from learning.chain_baseline import LearnedChernoffBaseline
from learning.path_calibration import (calibrate_path_offsets, min_num_pairs_for_path_clip_test, exceedance_rank,
                                       exact_tilted_children, min_num_pairs_for_path_tail_test, path_exceedance_test,
                                       train_path_calibrated_baseline)
from primitives.chain_samplers import EnvelopeBaseline, OffsetBaseline
from primitives.diffusion import CountingKernel
from tests.conftest import STAT_ALPHA
from theorems import diffusion_chains as dc

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BUDGET, ETA = 0.5, 0.05        # path TV budget ε and failure probability η of the small tests (T + 1 = 21)


@pytest.fixture(scope="module")
def chain_b2():
    """The reference GMM chain at B = 2 (an exact tilted child costs ≈ e² proposals)."""
    instance = dc.chain_instance("gmm", 2.0)
    return instance.chain, instance.values


@settings(max_examples=40, deadline=None)
@given(budget=st.floats(0.01, 0.5), eta=st.floats(1e-4, 0.3), steps_plus_one=st.integers(1, 60),
       allowed=st.integers(0, 5))
def test_tail_design_is_the_smallest_binomial_size(budget, eta, steps_plus_one, allowed):
    """m is the least size with P(Bin(m, ε/(T+1)) ≤ allowed) ≤ η (scipy), and the rank the test then uses is
    the one-sided Clopper–Pearson rule: count ≤ j* iff the level-η upper bound on the rate is ≤ ε/(T+1)."""
    rate = budget / steps_plus_one
    m = min_num_pairs_for_path_tail_test(budget, eta, steps_plus_one, allowed)
    assert binom.cdf(allowed, m, rate) <= eta < binom.cdf(allowed, m - 1, rate)
    rank = exceedance_rank(m, budget, steps_plus_one, eta)
    assert rank >= allowed
    for count in range(0, rank + 3):
        upper = beta.ppf(1 - eta, count + 1, m - count) if count < m else 1.0
        assert (count <= rank) == (upper <= rate * (1 + 1e-9)) or abs(upper - rate) < 1e-9 * rate


@settings(max_examples=40, deadline=None)
@given(budget=st.floats(0.01, 0.5), eta=st.floats(1e-4, 0.3), steps_plus_one=st.integers(1, 60),
       fraction=st.floats(0.0, 0.8))
def test_clip_design_certifies_its_design_mean_and_no_smaller_size_does(budget, eta, steps_plus_one, fraction):
    rate = budget / steps_plus_one
    m = min_num_pairs_for_path_clip_test(budget, eta, steps_plus_one, fraction)
    assert m * bernoulli_kl(fraction * rate, rate) >= math.log(2 / eta) > (m - 1) * bernoulli_kl(fraction * rate, rate)
    assert kl_upper_confidence(fraction * rate, m, eta / 2) <= rate * (1 + 1e-6)


def test_reference_sizes_undercut_the_per_step_calibration():
    """At ε = η = 0.05, T = 20: one path test needs far fewer tilted pairs than 21 per-step calibrations."""
    per_step = 21 * min_num_pairs_for_path_tail_test(0.05 / 21, 0.05 / 21, 1)        # (1 − δ)^n ≤ η at every step
    assert min_num_pairs_for_path_tail_test(0.05, 0.05, 21) < per_step / 40
    assert min_num_pairs_for_path_clip_test(0.05, 0.05, 21, 0.4) < per_step / 8


def test_path_test_accepts_exact_and_oracle_baselines_and_rejects_a_learner_without_slack(chain_b2):
    """At the reference budget ε = η = 0.05: the envelope (exact) and the exact per-state Chernoff baseline at
    tail r/20 are certified; ``b_t(y) = V_{t+1}(y)`` — a learner's baseline without its calibrated slack,
    whose mean clipped mass on this chain is ≈ 0.003 > r = 0.0024 (exceedance rate ≈ 0.3) — is rejected by
    both statistics."""
    chain, values = chain_b2
    generator = torch.Generator().manual_seed(3)
    budget = 0.05
    rate = budget / 21
    m = min_num_pairs_for_path_clip_test(budget, ETA, 21, 0.4)
    exact = path_exceedance_test(chain, values, EnvelopeBaseline(values), pairs=m, budget=budget, eta=ETA,
                                 generator=generator)
    assert exact.certified and exact.exceedances == 0
    oracle = OracleChernoffBaseline(chain, values, rate / 20)            # per-state tail ≤ r/20, so ρ ≤ r/20
    assert path_exceedance_test(chain, values, oracle, pairs=m, budget=budget, eta=ETA, generator=generator).certified
    bug = path_exceedance_test(chain, values, OffsetBaseline(values, 0.0), pairs=m, budget=budget, eta=ETA,
                               generator=generator)
    assert not bug.certified and bug.clipped_upper > rate
    tail_m = min_num_pairs_for_path_tail_test(budget, ETA, 21, 0)
    tail_bug = path_exceedance_test(chain, values, OffsetBaseline(values, 0.0), pairs=tail_m, budget=budget,
                                    eta=ETA, statistic="tail", generator=generator)
    assert not tail_bug.certified and tail_bug.exceedances > tail_bug.allowed


def test_trained_baseline_is_certified_and_rejected_once_its_offsets_are_lowered(chain_b2):
    chain, values = chain_b2
    counting = CountingKernel(chain)
    generator = torch.Generator().manual_seed(0)
    baseline, report = train_path_calibrated_baseline(counting, values, budget=BUDGET, eta=ETA, train_parents=96,
                                                      children=8, selection_pairs=96, iterations=20,
                                                      generator=generator)
    assert report.training_queries == counting.draws
    assert report.path_tests and report.path_tests[0].certified
    last = max(k for k, test in enumerate(report.path_tests) if test.certified)
    shift = report.path_tests[last].shift
    assert all(math.isclose(report.offsets[t], report.base_offsets[t] + shift * values.lam) for t in range(21))
    assert all(test.certified for test in report.path_tests[:last + 1])
    assert all(not test.certified for test in report.path_tests[last + 1:])
    m = min_num_pairs_for_path_clip_test(BUDGET, ETA, 21, 0.4)
    baseline.offsets = {t: c - 2.0 * values.lam for t, c in report.offsets.items()}     # the slack removed
    lowered = path_exceedance_test(counting, values, baseline, pairs=m, budget=BUDGET, eta=ETA, generator=generator)
    assert not lowered.certified


def test_failed_first_candidate_falls_back_to_the_envelope(chain_b2):
    chain, values = chain_b2
    learned = LearnedChernoffBaseline(values, cap=6.0)               # γ ≡ 0: b_t = V_{t+1} + c_t
    tests = calibrate_path_offsets(chain, values, learned, {t: -1.0 for t in range(21)}, budget=BUDGET, eta=ETA,
                                   first_shift=0.0, generator=torch.Generator().manual_seed(1))
    assert len(tests) == 1 and not tests[0].certified
    assert all(math.isinf(c) for c in learned.offsets.values())
    envelope = torch.full((4,), values.envelope(5), dtype=torch.float64)
    assert torch.equal(learned(torch.zeros(4, 2, dtype=torch.float64), 5), envelope)


def test_exact_tilted_children_match_the_tilted_prior_mean(chain_b2):
    """q_T ∝ p_T e^{V_T/λ}: the tilted mean of V_T equals the self-normalised mean over many prior draws."""
    chain, values = chain_b2
    counting = CountingKernel(chain)
    generator = torch.Generator().manual_seed(5)
    tilted = values(exact_tilted_children(counting, None, 20, values, n=20_000, generator=generator), 20)
    prior = values(chain.sample_prior(400_000, generator), 20)
    weights = torch.softmax(prior / values.lam, 0)
    expected = float((weights * prior).sum())
    snis_error = float(((weights * (prior - expected)) ** 2).sum()) ** 0.5          # delta-method s.e. of the reference
    radius = norm.isf(STAT_ALPHA / 2) * math.hypot(float(tilted.std()) / math.sqrt(20_000), snis_error)
    assert abs(float(tilted.mean()) - expected) < radius
    assert counting.draws >= 20_000


class _AlteredValues:
    """The chain's values with ``__call__`` or ``envelope`` replaced (a buggy values object)."""

    def __init__(self, values, *, call=None, envelope=None) -> None:
        self.values, self.lam, self._call, self._envelope = values, values.lam, call, envelope

    def __call__(self, states, t):
        return self.values(states, t) if self._call is None else self._call(states, t)

    def root(self):
        return self.values.root()

    def envelope(self, t):
        return self.values.envelope(t) if self._envelope is None else self._envelope(t)


def test_exact_tilted_children_refuse_nan_values_a_low_envelope_and_endless_rejection(chain_b2):
    """A NaN value is never accepted (the loop would not end), an envelope below the values makes the
    acceptance exceed 1 (biased children): both raise ValueError; an envelope far above the values hits the
    proposal cap."""
    chain, values = chain_b2
    generator = torch.Generator().manual_seed(6)
    nan_values = _AlteredValues(values, call=lambda states, t: torch.full(states.shape[:1], math.nan,
                                                                           dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        exact_tilted_children(CountingKernel(chain), None, 20, nan_values, n=4, generator=generator)
    prior_values = values(chain.sample_prior(512, generator), 20)
    median = float(prior_values.median())            # < sup V_20: half the proposals lie above it
    assert median < float(values.envelope(20))
    low = _AlteredValues(values, envelope=lambda t: median)
    with pytest.raises(ValueError, match="envelope"):
        exact_tilted_children(CountingKernel(chain), None, 20, low, n=8, generator=generator)
    high = _AlteredValues(values, envelope=lambda t: float(values.envelope(t)) + 100 * values.lam)
    with pytest.raises(RuntimeError, match="max_proposals"):
        exact_tilted_children(CountingKernel(chain), None, 20, high, n=4, max_proposals=256, generator=generator)
    with pytest.raises(ValueError, match="max_proposals"):
        exact_tilted_children(CountingKernel(chain), None, 20, values, n=4, max_proposals=0, generator=generator)


@pytest.mark.parametrize("kwargs, name", [(dict(budget=0.0), "budget"), (dict(eta=1.5), "eta"),
                                          (dict(train_parents=0), "train_parents"),
                                          (dict(tilted_children=-1), "tilted_children"),
                                          (dict(statistic="mean"), "statistic"), (dict(max_tests=0), "max_tests"),
                                          (dict(test_pairs=[100, 0]), "test_pairs"),
                                          (dict(first_shift=math.inf), "first_shift"),
                                          (dict(test_pairs=[]), "test_pairs"), (dict(children=0), "children"),
                                          (dict(iterations=0), "iterations"), (dict(hidden=2.5), "hidden"),
                                          (dict(learning_rate=-0.1), "learning_rate"),
                                          (dict(train_fraction=0.0), "train_fraction"),
                                          (dict(train_fraction=1.5), "train_fraction"),
                                          (dict(smoothing=math.nan), "smoothing"),
                                          (dict(vocabulary=0), "vocabulary")])
def test_bad_input_names_the_argument(chain_b2, kwargs, name):
    chain, values = chain_b2
    arguments = dict(budget=BUDGET, eta=ETA, train_parents=8, selection_pairs=8, iterations=1)
    arguments.update(kwargs)
    counting = CountingKernel(chain)
    with pytest.raises(ValueError, match=name):
        train_path_calibrated_baseline(counting, values, **arguments)
    assert counting.draws == 0                       # refused before any kernel draw


def test_design_functions_refuse_bad_input_and_default_to_the_design_fraction():
    """Bad sizes raise naming the argument; the clip design's default m is ``⌈log(2/η)/kl(κr ‖ r)⌉`` at
    κ = 0.4 with the Bernoulli KL computed here from scipy's relative entropy."""
    with pytest.raises(ValueError, match="allowed"):
        min_num_pairs_for_path_tail_test(0.05, 0.05, 21, -1)
    with pytest.raises(ValueError, match="steps_plus_one"):
        min_num_pairs_for_path_clip_test(0.05, 0.05, 0)
    with pytest.raises(ValueError, match="fraction"):
        min_num_pairs_for_path_clip_test(0.05, 0.05, 21, 1.0)
    budget, eta, steps_plus_one, kappa = 0.05, 0.05, 21, 0.4
    rate = budget / steps_plus_one
    kl = float(rel_entr(kappa * rate, rate) + rel_entr(1 - kappa * rate, 1 - rate))
    assert min_num_pairs_for_path_clip_test(budget, eta, steps_plus_one) == math.ceil(math.log(2 / eta) / kl)


def test_path_calibrated_training_runs_on_the_device(one_torch_thread):
    """On the CUDA stand-in the training, its tests and its sampler draw everything on the device and give the
    CPU run's numbers exactly."""
    from primitives.chain_samplers import per_step_rejection_sample
    from tests.fake_cuda import fake_cuda

    def run(device):
        instance = dc.chain_instance("gmm", 2.0).on(device)
        generator = torch.Generator(device=device).manual_seed(4)
        baseline, report = train_path_calibrated_baseline(instance.chain, instance.values, budget=BUDGET, eta=ETA,
                                                          train_parents=24, children=4, selection_pairs=24,
                                                          iterations=2, generator=generator)
        result = per_step_rejection_sample(instance.chain, instance.values, baseline, 50, generator=generator)
        return baseline, report, result

    _, on_cpu, cpu_result = run("cpu")
    with fake_cuda() as audit:
        baseline, on_device, result = run("cuda")
        parameters = [p for network in baseline.networks.values() for p in network.parameters()]
        assert all(p.device.type == "cuda" for p in parameters) and result.samples.device.type == "cuda"
    assert audit.cpu_draws() == {} and not audit.global_generator_draws
    assert on_device.training_queries == on_cpu.training_queries and on_device.offsets == on_cpu.offsets
    assert torch.equal(result.samples.cpu(), cpu_result.samples) and result.queries == cpu_result.queries
