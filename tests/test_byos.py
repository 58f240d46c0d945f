"""Bring your own sampler: ``check_sampler`` accepts correct samplers and rejects wrong ones."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from estimators.exact.tilted_law import UnsupportedInstance
from primitives import (Categorical, Gaussian, GaussianMixture, LinearReward, QuadraticReward, StepReward,
                        TableReward, rejection_sample)
from tiltproof.byo import check_sampler
from tests.conftest import STAT_ALPHA


def _rejection(base, reward, lam, baseline):
    return lambda n, generator: rejection_sample(base, reward, lam, baseline, n, generator=generator).samples


README_BASE = GaussianMixture([0.95, 0.05], [[5.0], [-5.0]], [[[1.0]], [[1.0]]])
README_REWARD = StepReward(5.0, [1.0], -7.0)


def test_correct_lcb_sampler_passes_with_designed_power():
    record = check_sampler(_rejection(README_BASE, README_REWARD, 1.0, 3.0), base=README_BASE, reward=README_REWARD,
                           lam=1.0, baseline=3.0, alpha=STAT_ALPHA)
    assert record.verdict == "pass", str(record)
    # the designed errors (5 % in λ, 0.25λ in b) are within what the record says it detects
    assert record.power["lambda_relative_error"] <= 0.05 * (1 + 1e-2)
    assert record.power["baseline_too_low"] <= 0.25 and record.power["baseline_too_high"] <= 0.25
    assert record.tests[0].statistic.startswith("frequency of r(X) = 5")  # the sufficient statistic, not KS


def _drop_tail(fraction):
    """A sampler that loses ``fraction`` of its rare-mode samples (a filtering bug), refilled from the bulk."""
    def sampler(n, generator):
        draws = rejection_sample(README_BASE, README_REWARD, 1.0, 3.0, 2 * n, generator=generator).samples
        tail = draws[:, 0] < -7.0
        keep = ~tail | (torch.rand(draws.shape[0], generator=generator, dtype=draws.dtype) >= fraction)
        return draws[keep][:n]
    return sampler


@pytest.mark.parametrize("wrong", ["lambda+10%", "lambda-10%", "baseline-0.5", "baseline-1.0", "untilted",
                                   "drop-20%-tail"])
def test_readme_example_default_design_fails_realistic_bugs(wrong):
    sampler = {
        "lambda+10%": _rejection(README_BASE, README_REWARD, 1.1, 3.0),
        "lambda-10%": _rejection(README_BASE, README_REWARD, 0.9, 3.0),
        "baseline-0.5": _rejection(README_BASE, README_REWARD, 1.0, 2.5),
        "baseline-1.0": _rejection(README_BASE, README_REWARD, 1.0, 2.0),
        "untilted": lambda n, g: README_BASE.sample(n, g),
        "drop-20%-tail": _drop_tail(0.2),
    }[wrong]
    record = check_sampler(sampler, base=README_BASE, reward=README_REWARD, lam=1.0, baseline=3.0, alpha=STAT_ALPHA)
    assert record.verdict == "fail", str(record)


def test_requested_gap_above_the_alignment_effect_is_flagged():
    record = check_sampler(_rejection(README_BASE, README_REWARD, 1.0, 3.0), base=README_BASE, reward=README_REWARD,
                           lam=1.0, baseline=3.0, gap=0.03, alpha=STAT_ALPHA)
    assert any("alignment effect" in warning for warning in record.warnings)


def test_sampler_ignoring_its_generator_is_flagged_and_a_refuted_law_still_fails():
    def careless(n, generator):  # draws from torch's global RNG, and from the wrong law
        return README_BASE.sample(n)

    record = check_sampler(careless, base=README_BASE, reward=README_REWARD, lam=1.0, baseline=3.0, alpha=STAT_ALPHA)
    assert record.verdict == "fail" and record.not_reproducible, str(record)
    assert "NOT REPRODUCIBLE" in record.summary() and any("generator" in w for w in record.warnings)


def test_correct_sampler_ignoring_its_generator_is_flagged_not_hidden():
    def careless(n, generator):  # the right law, from the global RNG
        return rejection_sample(README_BASE, README_REWARD, 1.0, 3.0, n).samples

    record = check_sampler(careless, base=README_BASE, reward=README_REWARD, lam=1.0, baseline=3.0, alpha=STAT_ALPHA)
    assert record.not_reproducible and record.verdict in ("pass", "fail"), str(record)


BASELINES = {"gaussian-linear-d1": 3.0, "gaussian-linear-d5": 2.0, "finite-k10": 2.0, "gmm-step-d1": 3.0}


def _registered_cases():
    for name in sorted(BASELINES):
        marks = [pytest.mark.slow] if name == "gaussian-linear-d5" else []  # 5 bivariate-normal coordinate CDFs
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", _registered_cases())
def test_registered_instances_default_design(name):
    from tiltproof.instances.single_step import get_instance

    instance = get_instance(name)
    base, lam, b = instance.base("cpu"), instance.lam, BASELINES[name]
    good = check_sampler(_rejection(base, instance.reward, lam, b), instance=name, baseline=b, alpha=STAT_ALPHA)
    assert good.verdict == "pass", str(good)
    for label, (wrong_lam, wrong_b) in {"λ·1.1": (1.1 * lam, b), "λ·0.9": (0.9 * lam, b),
                                        "b − 0.5λ": (lam, b - 0.5 * lam)}.items():
        record = check_sampler(_rejection(base, instance.reward, wrong_lam, wrong_b), instance=name, baseline=b,
                               alpha=STAT_ALPHA)
        assert record.verdict == "fail", f"{label}: {record}"


def test_numpy_sampler_of_the_target_passes():
    base, reward = Gaussian([0.0, 0.0], np.eye(2)), LinearReward([1.0, -2.0])
    tilted = base.tilt(np.array([1.0, -2.0]) / 0.8)

    def numpy_sampler(n, generator):
        return tilted.sample(n, generator).numpy()

    assert check_sampler(numpy_sampler, base=base, reward=reward, lam=0.8, baseline=None, alpha=STAT_ALPHA).verdict == "pass"


@pytest.mark.parametrize("wrong", ["temperature", "baseline", "unclipped"])
def test_wrong_samplers_fail(wrong):
    base, reward, lam, baseline = Gaussian([0.0], [[1.0]]), LinearReward([1.0]), 0.5, 2.0
    sampler = {
        "temperature": _rejection(base, reward, 2 * lam, baseline),
        "baseline": _rejection(base, reward, lam, baseline - 1.0),
        "unclipped": lambda n, g: base.tilt([1 / lam]).sample(n, g),  # the target q claimed as q_b
    }[wrong]
    assert check_sampler(sampler, base=base, reward=reward, lam=lam, baseline=baseline, alpha=STAT_ALPHA).verdict == "fail"


def test_finite_law_sampler():
    base, reward = Categorical([0.1, 0.2, 0.3, 0.4]), TableReward([3.0, 0.0, 1.0, -1.0])
    good = _rejection(base, reward, 0.5, 1.0)
    bad = _rejection(base, reward, 0.5, 0.0)
    assert check_sampler(good, base=base, reward=reward, lam=0.5, baseline=1.0, alpha=STAT_ALPHA).verdict == "pass"
    assert check_sampler(bad, base=base, reward=reward, lam=0.5, baseline=1.0, alpha=STAT_ALPHA).verdict == "fail"


def test_unsupported_law_raises_clearly():
    base = Gaussian([0.0], [[1.0]])
    with pytest.raises(UnsupportedInstance, match="no exact reward law"):
        check_sampler(lambda n, g: base.sample(n, g), base=base, reward=QuadraticReward([[1.0]], [0.0]), lam=1.0,
                      baseline=None)


@pytest.mark.parametrize("output, match", [
    (lambda n, g: torch.zeros(n, 3, dtype=torch.float64), "shape"),
    (lambda n, g: torch.zeros(n - 1, 2, dtype=torch.float64), "asked for n="),
    (lambda n, g: torch.full((n, 2), float("nan"), dtype=torch.float64), "non-finite"),
    (lambda n, g: None, "scalar"),
    (lambda n, g: "samples", "got str|scalar"),
    (lambda n, g: 1 / 0, "ZeroDivisionError"),
])
def test_sampler_that_raises_or_returns_the_wrong_thing_is_an_error_record(output, match):
    base, reward = Gaussian([0.0, 0.0], np.eye(2)), LinearReward([1.0, 1.0])
    record = check_sampler(output, base=base, reward=reward, lam=1.0, baseline=None)
    assert record.verdict == "error" and record.pass_meaning == "", str(record)
    assert re.search(match, record.message), record.message


def test_bad_arguments_raise_before_sampling():
    base, reward = Gaussian([0.0, 0.0], np.eye(2)), LinearReward([1.0, 1.0])
    with pytest.raises(ValueError, match="lam"):
        check_sampler(lambda n, g: None, base=base, reward=reward, lam=0.0, baseline=None)
    with pytest.raises(ValueError, match="instance"):
        check_sampler(lambda n, g: None, instance="no-such-instance", baseline=None)
    with pytest.raises(ValueError, match="max_samples"):
        check_sampler(lambda n, g: None, base=base, reward=reward, lam=1.0, baseline=None, max_samples=10)
