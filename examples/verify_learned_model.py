"""Verify a sampler on your own diffusion model, where no exact aligned law exists.

A small DDPM is trained on 4 000 points of 0.95 N((5,0), I) + 0.05 N((−5,0), I) (about a minute on a
CPU, cached afterwards), wrapped as a ``ChainKernel`` (``primitives.learned_diffusion``), and three
samplers of the aligned law q_0 ∝ p_0 e^{r/λ}, r = 2·1{x_1 < 0}, λ = 1, are checked against a
trajectory-rejection reference (exact by T1 on the learned chain)::

    python examples/verify_learned_model.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from primitives import GaussianMixture  # noqa: E402
from primitives.chain_samplers import trajectory_rejection_sample, unaligned_sample  # noqa: E402
from primitives.learned_diffusion import train_small_diffusion  # noqa: E402
from primitives.rewards import StepReward  # noqa: E402
from tiltproof.byo import check_chain_sampler_on_kernel  # noqa: E402


def run_demo(cache_dir=None, device: str = "cpu") -> dict:
    mixture = GaussianMixture([0.95, 0.05], [[5.0, 0.0], [-5.0, 0.0]], [np.eye(2), np.eye(2)])
    data = mixture.sample(4000, torch.Generator().manual_seed(1))
    kernel = train_small_diffusion(data, cache_dir=cache_dir, device=device)   # your model, as a ChainKernel
    reward = StepReward(2.0, [1.0, 0.0], 0.0)
    samplers = {
        "trajectory rejection (correct)": lambda k, n, g: trajectory_rejection_sample(k, reward, 1.0, n, generator=g),
        "unaligned (forgot to tilt)": lambda k, n, g: unaligned_sample(k, n, generator=g),
        "trajectory rejection at 2λ (wrong temperature)":
            lambda k, n, g: trajectory_rejection_sample(k, reward, 2.0, n, generator=g),
    }
    return {name: check_chain_sampler_on_kernel(sampler, kernel, reward, 1.0, budget=0.0)
            for name, sampler in samplers.items()}


if __name__ == "__main__":
    for name, record in run_demo().items():
        print(f"== {name}\n{record}\n")
