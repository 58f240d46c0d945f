"""Samplers on every dtype and device: float32 and float64 on the CPU always; CUDA where present.

Each test checks the sampler's output law against the exact law (goodness of fit at STAT_ALPHA), so a
device or dtype that computes the acceptance wrongly fails, whatever the numbers it returns.
"""
from __future__ import annotations

import math

import pytest
import torch

from estimators.exact.tilted_law import TiltedLaw, reward_law
from estimators.law_tests import fit_sample_size, fit_test
from estimators.exact.peer_laws import reward_tv, sir_reward_probabilities
from estimators.exact.tilt_quantities import soft_value
from primitives import Categorical, Gaussian, GaussianMixture, LinearReward, StepReward, TableReward, rejection_sample
from primitives.peers import rso_sample, sir_sample
from tests.conftest import STAT_ALPHA

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _instances(device: str, dtype: torch.dtype):
    yield (Gaussian([0.5, -1.0], [[1.0, 0.3], [0.3, 2.0]], device=device, dtype=dtype), LinearReward([1.0, -0.5]), 0.7)
    yield (GaussianMixture([0.95, 0.05], [[5.0], [-5.0]], [[[1.0]], [[1.0]]], device=device, dtype=dtype),
           StepReward(5.0, [1.0], -7.0), 1.0)
    yield (Categorical([0.1, 0.2, 0.3, 0.4], device=device, dtype=dtype), TableReward([2.0, -1.0, 0.5, 1.0]), 0.5)


def _check_rejection(device: str, dtype: torch.dtype) -> None:
    for base, reward, lam in _instances(device, dtype):
        baseline = soft_value(reward_law(base, reward), lam) + lam
        claimed = TiltedLaw(base, reward, lam, baseline)
        n = fit_sample_size(claimed, 0.04, STAT_ALPHA)
        generator = torch.Generator(device=device).manual_seed(11)
        result = rejection_sample(base, reward, lam, baseline, n, generator=generator)
        assert result.samples.device.type == device
        if base.dim and not isinstance(base, Categorical):
            assert result.samples.dtype == dtype
        assert not fit_test(result.samples, claimed, STAT_ALPHA).rejected


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rejection_law_on_cpu_in_both_precisions(dtype):
    _check_rejection("cpu", dtype)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rejection_law_on_cuda(dtype):
    _check_rejection("cuda", dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_peers_on_each_device(device):
    base = Categorical([0.1, 0.2, 0.3, 0.4], device=device)
    reward = TableReward([2.0, -1.0, 0.5, 1.0])
    law = reward_law(Categorical([0.1, 0.2, 0.3, 0.4]), reward)
    values, claimed = sir_reward_probabilities(law, 0.5, 6)
    generator = torch.Generator(device=device).manual_seed(3)
    samples = sir_sample(base, reward, 0.5, 6, 30_000, generator=generator).samples
    observed = torch.stack([(reward(samples) == float(v)).double().mean() for v in values]).cpu().numpy()
    from estimators.multinomial_tv import multinomial_tv_radius

    assert reward_tv(observed, claimed) <= multinomial_tv_radius(30_000, STAT_ALPHA, probs=claimed)
    assert rso_sample(base, reward, 0.5, 8, 100, generator=generator).samples.device.type == device
