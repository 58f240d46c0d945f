"""Group-sequential single-step checks: the design's levels, its companions, early stops, diagnosis."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from estimators import sequential
from estimators.diagnosis import diagnose_single_step
from estimators.exact.tilted_law import TiltedLaw
from estimators.single_step_power import statistic_kind
from primitives import Gaussian, LinearReward, rejection_sample
from tiltproof.byo.byos import check_sampler
from tests.conftest import STAT_ALPHA


@given(st.integers(1, 10_000_000), st.integers(1, 5000))
def test_look_schedule_doubles_up_to_the_cap(cap, first):
    looks = sequential.look_schedule(cap, first)
    assert looks[-1] == cap and looks[0] <= max(first, 1) or len(looks) == 1
    assert all(b > a for a, b in zip(looks, looks[1:]))
    assert all(b <= 2 * a for a, b in zip(looks, looks[1:]))


@given(st.floats(1e-12, 0.5), st.integers(1, 40))
def test_spending_sums_below_the_total_and_keeps_half_for_the_last_look(total, looks):
    spent = sequential.spend(total, looks)
    assert math.fsum(spent) < total and spent[-1] == pytest.approx(total / 2)


@given(st.floats(1e-4, 0.5), st.floats(1e-9, 1e-2), st.floats(1e-6, 1e-1))
def test_design_companions_agree_and_state_the_inflation(gap, alpha, beta):
    cap = sequential.max_num_samples_for_sequential_dkw_test(gap, alpha=alpha, beta=beta)
    assert sequential.min_discrepancy_of_cdfs_detectable_by_sequential_dkw(cap, alpha=alpha, beta=beta) <= gap
    from estimators.dkw import min_num_samples_for_dkw_cdf_test

    fixed = min_num_samples_for_dkw_cdf_test(gap, alpha=alpha, beta=beta)
    assert cap >= fixed
    # the closed-form inflation is the ratio of the continuous designs (rounding moves it by ≤ 1/fixed each way)
    assert cap / fixed == pytest.approx(sequential.sequential_inflation(alpha, beta), abs=2.0 / fixed + 1e-9)


def test_rate_companions_agree():
    cap = sequential.min_num_samples_for_sequential_rate_test(0.1, 0.12, alpha=1e-6, beta=1e-3)
    low, high = sequential.min_discrepancy_of_rates_detectable_by_sequential_test(cap, 0.1, alpha=1e-6, beta=1e-3)
    assert high <= 0.12 + 1e-9 and low < 0.1


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="cap"):
        sequential.look_schedule(0)
    with pytest.raises(ValueError, match="total"):
        sequential.spend(1.5, 3)
    with pytest.raises(ValueError, match="kind"):
        sequential.futility_radius("chi2", 10, 0.1)
    with pytest.raises(ValueError, match="support_size"):
        sequential.futility_radius("multinomial", 10, 0.1)
    with pytest.raises(ValueError, match="kind"):
        diagnose_single_step(np.zeros((3, 1)), TiltedLaw(Gaussian([0.0], [[1.0]]), LinearReward([1.0]), 1.0, None),
                             "chi2", 0.1)


def _gaussian_2d():
    base, reward, lam = Gaussian([0.0, 0.0], np.eye(2)), LinearReward([1.0, -2.0]), 0.8
    return base, reward, lam


def test_untilted_sampler_on_a_2d_gaussian_is_rejected_within_five_seconds_at_the_first_looks():
    base, reward, lam = _gaussian_2d()
    start = time.perf_counter()
    record = check_sampler(lambda n, g: base.sample(n, g), base=base, reward=reward, lam=lam, baseline=None,
                           alpha=STAT_ALPHA)
    elapsed = time.perf_counter() - start
    assert record.verdict == "fail", str(record)
    assert record.details["samples_used"] < record.details["sequential"]["cap"] / 8
    assert elapsed <= 5.0 * 3, f"{elapsed:.1f} s (target 5 s on an idle core; ×3 for a shared machine)"
    assert "untilted" in record.message


def test_correct_sampler_passes_as_not_refuted_and_states_the_samples_it_used():
    base, reward, lam = _gaussian_2d()
    tilted = base.tilt(np.array([1.0, -2.0]) / lam)
    record = check_sampler(lambda n, g: tilted.sample(n, g), base=base, reward=reward, lam=lam, baseline=None,
                           alpha=STAT_ALPHA)
    assert record.verdict == "pass" and record.pass_meaning == "not_refuted", str(record)
    assert "not refuted" in record.summary()
    plan = record.details["sequential"]
    assert record.details["samples_used"] in plan["looks"]
    assert record.details["samples_drawn"] == record.details["samples_used"] + 16  # + the two reproducibility draws
    assert plan["cap"] >= plan["fixed_design_n"] and plan["inflation"] == pytest.approx(
        plan["cap"] / plan["fixed_design_n"])


def test_diagnosis_interval_covers_the_sampler_temperature():
    base, reward, lam, wrong = Gaussian([0.0], [[1.0]]), LinearReward([1.0]), 0.5, 0.6
    claimed = TiltedLaw(base, reward, lam, 1.0)
    samples = rejection_sample(base, reward, wrong, 1.0, 20_000, generator=torch.Generator().manual_seed(3)).samples
    found = diagnose_single_step(samples.numpy(), claimed, statistic_kind(claimed), STAT_ALPHA)
    assert found["lambda"] is not None and found["lambda"]["low"] <= wrong <= found["lambda"]["high"], found
    assert not found["claimed_consistent"] and not found["untilted_consistent"]
    assert "not with an untilted sampler" in found["text"]


def test_failed_check_names_the_temperature_in_record_and_assertion():
    from tiltproof.testing import assert_sampler

    base, reward, lam = Gaussian([0.0], [[1.0]]), LinearReward([1.0]), 0.5
    wrong = lambda n, g: rejection_sample(base, reward, 0.6, 2.0, n, generator=g).samples
    with pytest.raises(AssertionError, match="consistent with λ") as raised:
        assert_sampler(wrong, base=base, reward=reward, lam=lam, baseline=2.0, alpha=STAT_ALPHA)
    assert "diagnosis" in str(raised.value)
