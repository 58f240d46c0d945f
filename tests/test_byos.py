"""Bring your own sampler: ``check_sampler`` accepts correct samplers and rejects wrong ones."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from estimators.exact import UnsupportedInstance
from primitives import (Categorical, Gaussian, GaussianMixture, LinearReward, QuadraticReward, StepReward,
                        TableReward, rejection_sample)
from theorems import check_sampler
from tests.conftest import STAT_ALPHA


def _rejection(base, reward, lam, baseline):
    return lambda n, generator: rejection_sample(base, reward, lam, baseline, n, generator=generator).samples


def test_correct_lcb_sampler_passes_with_default_power():
    base, reward = GaussianMixture([0.95, 0.05], [[5.0], [-5.0]], [[[1.0]], [[1.0]]]), StepReward(5.0, [1.0], -7.0)
    record = check_sampler(_rejection(base, reward, 1.0, 3.0), base=base, reward=reward, lam=1.0, baseline=3.0,
                           alpha=STAT_ALPHA)
    assert record.verdict == "pass" and record.detectable_gap <= 0.03 + 1e-12


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


def test_wrong_shape_and_count_raise():
    base, reward = Gaussian([0.0, 0.0], np.eye(2)), LinearReward([1.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        check_sampler(lambda n, g: torch.zeros(n, 3, dtype=torch.float64), base=base, reward=reward, lam=1.0, baseline=None)
    with pytest.raises(ValueError, match="asked for n="):
        check_sampler(lambda n, g: torch.zeros(n - 1, 2, dtype=torch.float64), base=base, reward=reward, lam=1.0, baseline=None)
    with pytest.raises(ValueError, match="lam"):
        check_sampler(lambda n, g: None, base=base, reward=reward, lam=0.0, baseline=None)
