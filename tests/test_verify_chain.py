"""Bring your own chain sampler: the repo's samplers pass, the wrong variants do not, bad input is named."""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom
import pytest
import torch

from estimators.chain_baselines import OracleChernoffBaseline
from primitives.chain_samplers import EnvelopeBaseline, trajectory_rejection_sample, unaligned_sample
from tiltproof.byo import check_chain_sampler, check_chain_sampler_on_kernel
from tiltproof.byo.chain import janson_interval, resolve_chain_instance
from tests import chain_variants as cv
from tests.conftest import STAT_ALPHA

INSTANCE = "gmm-ref-B3"
AUDIT = 1500        # audited particles in the default suite (the certificate needs ~1e4 for budget 0.05)


@pytest.fixture(scope="module")
def chain():
    instance = resolve_chain_instance(INSTANCE)
    return instance, instance.values, EnvelopeBaseline(instance.values)


def _check(sampler, baseline, budget=0.0, **kwargs):
    return check_chain_sampler(sampler, INSTANCE, budget=budget, baseline=baseline, alpha=STAT_ALPHA,
                               audit_particles=AUDIT, **kwargs)


def test_ideal_per_step_sampler_passes_as_exact(chain, one_torch_thread):
    _, values, ideal = chain
    record = _check(cv.per_step(values, ideal), ideal)
    assert record.verdict == "pass", str(record)
    names = {test.name for test in record.tests}
    assert {"x_0 law", "declared rule", "query count"} <= names
    assert record.power["proposal_pit_ks"] is not None


@pytest.mark.parametrize("wrong", ["temperature-1.25", "untilted-prior", "miscounted-0.8",
                                   "declared-rule-not-followed"])
def test_wrong_chain_samplers_do_not_pass(chain, wrong, one_torch_thread):
    instance, values, ideal = chain
    declared = ideal
    sampler = {
        "temperature-1.25": lambda: cv.wrong_temperature(values, ideal, 1.25),
        "untilted-prior": lambda: cv.untilted_prior(values, ideal),
        "miscounted-0.8": lambda: cv.miscounted(values, ideal, 0.8),
        # declares the ideal envelope but accepts at the exact values' own offset 0 (a different rule)
        "declared-rule-not-followed": lambda: cv.per_step(values, cv.OffsetBaseline(values, 0.0)),
    }[wrong]()
    record = _check(sampler, declared)
    assert record.verdict == "fail", str(record)


def test_baseline_calibrated_under_the_proposal_law_is_not_certified(chain, one_torch_thread):
    instance, values, _ = chain
    wrong = cv.ProposalLawChernoffBaseline(instance.chain, values, 0.05 / 21)
    record = _check(cv.per_step(values, wrong), wrong, budget=0.05, n=AUDIT)
    assert record.verdict in ("fail", "uncertified"), str(record)
    certificate = record.certificates[0]
    assert certificate.upper_confidence > 0.05


def test_undeclared_sampler_is_checked_on_its_x0_law_only(chain, one_torch_thread):
    instance, _, _ = chain
    good = lambda kernel, n, generator: trajectory_rejection_sample(kernel, instance.reward, instance.lam, n,
                                                                    generator=generator)
    unaligned = lambda kernel, n, generator: unaligned_sample(kernel, n, generator=generator)
    assert check_chain_sampler(good, INSTANCE, budget=0.0, alpha=STAT_ALPHA).verdict == "pass"
    assert check_chain_sampler(unaligned, INSTANCE, budget=0.0, alpha=STAT_ALPHA).verdict == "fail"


def test_trajectory_reference_on_a_users_kernel(one_torch_thread):
    """check_chain_sampler_on_kernel: the user's own kernel (here the GMM chain, treated as a black box) with a
    reward of its own (r = 2·1{x_1 < 0}: q_0 puts 0.28 on the minority mode, p_0 0.05)."""
    from primitives.rewards import StepReward

    kernel, reward = resolve_chain_instance("gmm-ref-B1").chain, StepReward(2.0, [1.0, 0.0], 0.0)
    good = lambda k, n, g: trajectory_rejection_sample(k, reward, 1.0, n, generator=g)
    untilted = lambda k, n, g: unaligned_sample(k, n, generator=g)
    common = dict(budget=0.0, alpha=STAT_ALPHA, n=4000)
    record = check_chain_sampler_on_kernel(good, kernel, reward, 1.0, **common)
    assert record.verdict == "pass", str(record)
    assert check_chain_sampler_on_kernel(untilted, kernel, reward, 1.0, **common).verdict == "fail"
    with pytest.raises(ValueError, match="query_cap"):
        check_chain_sampler_on_kernel(good, kernel, reward, 1.0, **common, query_cap=1e3)
    with pytest.raises(ValueError, match="kernel must be a ChainKernel"):
        check_chain_sampler_on_kernel(good, INSTANCE, reward, 1.0, **common)
    # The old call form is routed to the same check, with a DeprecationWarning naming the new one.
    old = dict(kernel=kernel, reward=reward, lam=1.0, reference="trajectory", **common)
    with pytest.warns(DeprecationWarning, match="check_chain_sampler_on_kernel"):
        routed = check_chain_sampler(good, **old)
    assert routed.to_json() == record.to_json()
    with pytest.raises(ValueError, match="instance"):
        check_chain_sampler(good, INSTANCE, **old)
    with pytest.raises(ValueError, match="reward is required"):
        check_chain_sampler(good, kernel=kernel, lam=1.0, budget=0.0)


def test_janson_region_holds_its_level_by_simulation():
    """The tail bounds are conservative: simulate sums of heterogeneous geometrics (independent route)."""
    rng = np.random.default_rng(0)
    rates = rng.uniform(0.05, 0.9, size=400)
    mean = float(np.sum(1 / rates))
    low, high = janson_interval(mean, float(rates.min()), 1e-3)
    sums = rng.geometric(rates[None, :], size=(4000, rates.size)).sum(1)
    assert low < mean < high
    assert np.mean((sums < low) | (sums > high)) == 0.0  # level 1e-3: none of 4000 expected (P ≈ 0.98)


@pytest.mark.parametrize("bad, match", [
    (dict(budget=1.5), "budget"), (dict(budget=-0.1), "budget"), (dict(instance="gmm-ref-Bx"), "instance"),
    (dict(instance="no-such"), "instance"), (dict(alpha=2.0), "alpha"), (dict(n=0), "n must"),
])
def test_bad_arguments_raise_naming_them(bad, match):
    arguments = dict(instance=INSTANCE, budget=0.0)
    arguments.update(bad)
    with pytest.raises(ValueError, match=match):
        check_chain_sampler(lambda kernel, n, generator: None, **arguments)


@pytest.mark.parametrize("sampler, match", [
    (lambda kernel, n, generator: unaligned_sample(kernel, n - 1, generator=generator), "asked for n="),
    (lambda kernel, n, generator: torch.full((n, 2), float("nan"), dtype=torch.float64), "non-finite"),
    (lambda kernel, n, generator: kernel.sample_children(kernel.sample_prior(n, generator), 99, 1, generator),
     "t must be"),
    (lambda kernel, n, generator: 1 / 0, "ZeroDivisionError"),
    (lambda kernel, n, generator: None, "NoneType"),
])
def test_bad_sampler_output_and_kernel_calls_are_error_records(sampler, match, one_torch_thread):
    record = check_chain_sampler(sampler, INSTANCE, budget=0.0, n=100)
    assert record.verdict == "error" and match in record.message, str(record)


def test_chain_sampler_ignoring_its_generator_is_flagged_and_still_fails(one_torch_thread):
    careless = lambda kernel, n, generator: unaligned_sample(kernel, n)       # global RNG, unaligned law
    record = check_chain_sampler(careless, INSTANCE, budget=0.0, alpha=STAT_ALPHA)
    assert record.verdict == "fail" and record.not_reproducible, str(record)


def test_budget_claim_without_a_certificate_is_uncertified_and_says_what_to_declare(one_torch_thread):
    instance = resolve_chain_instance(INSTANCE)
    good = lambda kernel, n, generator: trajectory_rejection_sample(kernel, instance.reward, instance.lam, n,
                                                                    generator=generator)
    exact = check_chain_sampler(good, INSTANCE, budget=0.0, alpha=STAT_ALPHA)
    assert exact.verdict == "pass" and exact.pass_meaning == "not_refuted", str(exact)
    claimed = check_chain_sampler(good, INSTANCE, budget=0.05, alpha=STAT_ALPHA)
    assert claimed.verdict == "uncertified" and "record_states" in claimed.message, str(claimed)


@pytest.mark.slow
@pytest.mark.parametrize("method, budget", [("oracle", 0.05), ("analytic", 0.1)])
def test_repo_baselines_are_certified_with_default_audit(method, budget, one_torch_thread):
    """The repo's oracle and analytic per-step baselines (δ = 0.05/21 per step), wrapped as user samplers.
    The analytic baseline's realised terms sit close to δ, so at the suite's α its T7 certificate from 20 000
    particles is 0.059 (uncertified at 0.05, measured); it is certified at 0.1."""
    from estimators.chain_baselines import AnalyticGaussianBaseline

    instance = resolve_chain_instance("gmm-ref-B5")
    maker = OracleChernoffBaseline if method == "oracle" else AnalyticGaussianBaseline
    baseline = maker(instance.chain, instance.values, 0.05 / 21)
    record = check_chain_sampler(cv.per_step(instance.values, baseline), "gmm-ref-B5", budget=budget,
                                 baseline=baseline, alpha=STAT_ALPHA)
    assert record.verdict == "pass", str(record)


@pytest.mark.slow
def test_learned_lcb_wrapped_as_a_user_sampler_passes(one_torch_thread):
    from examples.verify_lcb import run

    record, facts = run(height=3.0, budget=0.1)
    assert record.verdict == "pass", str(record)


@pytest.mark.slow
def test_learned_model_demo_trajectory_reference(tmp_path, one_torch_thread):
    from examples.verify_learned_model import run_demo

    records = run_demo(cache_dir=tmp_path)
    assert records["trajectory rejection (correct)"].verdict == "pass"
    assert records["unaligned (forgot to tilt)"].verdict == "fail"
    assert records["trajectory rejection at 2λ (wrong temperature)"].verdict == "fail"


def test_chain_check_follows_the_device(one_torch_thread):
    """On the CUDA stand-in (tests.fake_cuda, CUDA's device rules on the CPU) the check builds the chain, its
    laws and its generator on the device: the ideal sampler passes there with no draw on the CPU."""
    from tests.fake_cuda import fake_cuda

    with fake_cuda() as audit:
        instance = resolve_chain_instance("gmm-ref-B1").on("cuda")
        ideal = EnvelopeBaseline(instance.values)
        record = check_chain_sampler(cv.per_step(instance.values, ideal), "gmm-ref-B1", budget=0.0, baseline=ideal,
                                     device="cuda", audit_particles=500, alpha=STAT_ALPHA)
    assert record.verdict == "pass", str(record)
    assert audit.cpu_draws() == {} and record.details["device"] == "cuda"


def test_chernoff_count_region_holds_its_level_and_is_inside_janson_s():
    """The exact Chernoff region for Σ Geom(p_i) (estimators.geometric_sums), checked by simulation (an
    independent route), is never wider than Janson's; a counter off by its stated detectable error is caught."""
    from estimators.geometric_sums import geometric_sum_interval, min_relative_count_error_detectable

    rng = np.random.default_rng(1)
    rates = rng.uniform(0.1, 1.0, size=3000)
    mean = float(np.sum(1 / rates))
    low, high = geometric_sum_interval(rates, 1e-3)
    janson_low, janson_high = janson_interval(mean, float(rates.min()), 1e-3)
    assert janson_low <= low < mean < high <= janson_high
    draws = 4000
    sums = rng.geometric(rates[None, :], size=(draws, rates.size)).sum(1)
    # misses ~ Bin(4000, ≤ 1e-3) under the level; more than its (1 − STAT_ALPHA)-quantile fails
    assert np.sum((sums < low) | (sums > high)) <= binom.isf(STAT_ALPHA, draws, 1e-3)
    epsilon = min_relative_count_error_detectable(rates, 1e-3, 1e-3)
    assert epsilon is not None and epsilon < 0.2
    # misses of a counter at the detectable error ~ Bin(4000, ≤ β = 1e-3) by design, one assertion per side
    def missed(factor):
        return int(np.sum(~((factor * sums < low) | (factor * sums > high))))

    assert missed(1 - epsilon) <= binom.isf(STAT_ALPHA, draws, 1e-3)
    assert missed(1 + epsilon) <= binom.isf(STAT_ALPHA, draws, 1e-3)


def _counter(instance, ideal, factor):
    return cv.miscounted(instance.values, ideal, factor, with_proposals=False)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_off_by_ten_percent_counter_is_caught_with_its_stated_power(chain, factor, one_torch_thread):
    """A counter reporting 0.9× or 1.1× its queries (an off-by-one-round bug), no per-particle proposals (a 0.8×
    counter, farther off, is rejected at least as often): the
    count test's power at β = STAT_ALPHA, on 2 000 particles (the default size is the slow test below), covers
    10 %, so the sampler fails (w.p. ≥ 1 − STAT_ALPHA); the correct counter passes."""
    _, _, ideal = chain
    instance = resolve_chain_instance(INSTANCE)
    record = check_chain_sampler(_counter(instance, ideal, factor), INSTANCE, budget=0.0, baseline=ideal,
                                 alpha=STAT_ALPHA, beta=STAT_ALPHA, n=2000)
    assert record.power["query_count_relative_error"] < 0.1
    assert record.verdict == "fail", str(record)
    assert next(t for t in record.tests if t.alpha > 0 and t.name == "query count").rejected


@pytest.mark.slow
@pytest.mark.parametrize("factor", [0.9, 1.0, 1.1])
def test_counter_at_the_default_size(factor, one_torch_thread):
    """The same at the check's default size (20 000 audited particles, 30–80 s each on a shared 2-core machine)."""
    instance = resolve_chain_instance(INSTANCE)
    ideal = EnvelopeBaseline(instance.values)
    record = check_chain_sampler(_counter(instance, ideal, factor), INSTANCE, budget=0.0, baseline=ideal,
                                 alpha=STAT_ALPHA, beta=STAT_ALPHA)
    assert record.power["query_count_relative_error"] < 0.1
    assert record.verdict == ("pass" if factor == 1.0 else "fail"), str(record)


def test_samplers_at_the_stated_detectable_temperature_errors_fail(one_torch_thread):
    """x_0 power in λ units: exact (trajectory-rejection) samplers at λ(1 − ε₋) and λ(1 + ε₊), ε± the record's
    stated detectable errors at β = STAT_ALPHA for this default size, fail w.p. ≥ 1 − STAT_ALPHA; at λ it passes."""
    instance = resolve_chain_instance(INSTANCE)

    def at(lam):
        return lambda kernel, n, generator: trajectory_rejection_sample(kernel, instance.reward, lam, n,
                                                                        generator=generator)

    exact = check_chain_sampler(at(instance.lam), INSTANCE, budget=0.0, alpha=STAT_ALPHA, beta=STAT_ALPHA)
    assert exact.verdict == "pass", str(exact)
    for side, sign in (("lambda_too_low", -1.0), ("lambda_too_high", 1.0)):
        epsilon = exact.power[side]
        assert epsilon is not None and epsilon < 0.5
        record = check_chain_sampler(at(instance.lam * (1 + sign * epsilon)), INSTANCE, budget=0.0, alpha=STAT_ALPHA,
                                     beta=STAT_ALPHA)
        assert record.verdict == "fail", (side, str(record))


@pytest.mark.parametrize("name", ["gmm-ref-B3", "masked-ref-B5"])
def test_rare_event_mass_at_another_temperature_matches_the_exact_law(name):
    """The power's closed form q^λ'(A) = e^{B/λ'}p(A)/(1 + (e^{B/λ'} − 1)p(A)) against the exact tilted law
    built at λ' (estimators.exact.tilted_law.TiltedLaw: another route)."""
    from estimators.exact.tilted_law import TiltedLaw
    from tiltproof.byo import chain_power as power

    instance = resolve_chain_instance(name)
    base = power._base_mass(instance)
    target = instance.x0_target()
    for lam in (0.7, 1.0, 1.6):
        law = TiltedLaw(target.base, target.reward, lam)
        exact = 1.0 - float(law.reward_cdf_left(np.array([instance.height]))[0])
        assert np.isclose(power.tilted_mass(base, instance.height, lam), exact, rtol=1e-9)


def test_sampler_at_the_stated_orthogonal_scale_error_fails(one_torch_thread):
    """x_0 power in the orthogonal coordinate: an exact sampler whose x_2 is scaled by 1 + s (s the record's
    stated detectable scale error at β = STAT_ALPHA) fails w.p. ≥ 1 − STAT_ALPHA."""
    instance = resolve_chain_instance(INSTANCE)
    scale = {"factor": 1.0}

    def sampler(kernel, n, generator):
        samples = trajectory_rejection_sample(kernel, instance.reward, instance.lam, n, generator=generator).samples
        return samples * torch.tensor([1.0, scale["factor"]], dtype=samples.dtype, device=samples.device)

    exact = check_chain_sampler(sampler, INSTANCE, budget=0.0, alpha=STAT_ALPHA, beta=STAT_ALPHA)
    assert exact.verdict == "pass", str(exact)
    scale["factor"] = 1.0 + exact.power["orthogonal_scale_relative_error"]
    assert check_chain_sampler(sampler, INSTANCE, budget=0.0, alpha=STAT_ALPHA, beta=STAT_ALPHA).verdict == "fail"


def test_tilted_mass_in_log_odds_survives_extreme_temperatures():
    """``logit q = B/λ + logit p``: finite and in (0, 1] at B/λ = 2000 (e^{B/λ} overflows a float), the same as
    the direct formula where that one is finite, and a mass outside (0, 1) is refused by name."""
    from tiltproof.byo import chain_power as power

    p = 1e-3
    assert power.tilted_mass(p, 2000.0, 1.0) == 1.0
    assert power.tilted_mass(p, -2000.0, 1.0) == 0.0                 # e^{-2007} underflows, no error
    assert 0.0 < power.tilted_mass(p, -700.0, 1.0) < 1e-300
    direct = math.exp(3.0) * p / (1.0 + (math.exp(3.0) - 1.0) * p)
    assert math.isclose(power.tilted_mass(p, 3.0, 1.0), direct, rel_tol=1e-12)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="base_mass"):
            power.tilted_mass(bad, 1.0, 1.0)


def test_returning_proposals_never_weakens_the_certificate(chain, one_torch_thread):
    """The certificate's audit looks are the same with and without .proposals (module docstring), so the
    same particles give the same certificate; with proposals it may stop after fewer audited particles."""
    from types import SimpleNamespace

    _, values, ideal = chain
    full = cv.per_step(values, ideal)

    def states_only(kernel, n, generator):
        result = full(kernel, n, generator)
        return SimpleNamespace(samples=result.samples, queries=result.queries, states=result.states)

    with_proposals = _check(full, ideal, budget=0.9, n=4 * AUDIT)
    without = _check(states_only, ideal, budget=0.9, n=4 * AUDIT)
    assert with_proposals.verdict == without.verdict == "pass", (str(with_proposals), str(without))
    assert with_proposals.pass_meaning == "certified"
    mine, theirs = with_proposals.certificates[0], without.certificates[0]
    assert mine.upper_confidence == pytest.approx(theirs.upper_confidence, rel=1e-9)
    assert mine.details["audit_looks"] == theirs.details["audit_looks"]
    with pytest.raises(ValueError, match="max_audit"):
        _check(full, ideal, budget=0.9, n=4 * AUDIT, max_audit=0)
