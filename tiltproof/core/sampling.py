"""How a claim draws from the sampler under test; the default is ``primitives.rejection_sample``.

A ``SamplerFactory`` maps (instance, baseline, device) to ``sampler(n, generator) -> RejectionResult``.
Wrong variants (``tiltproof.core.mutants``) and users' own samplers plug in here.
"""
from __future__ import annotations

from typing import Callable

import torch

from primitives.rejection import RejectionResult, rejection_sample
from tiltproof.instances.single_step import Instance

SamplerFactory = Callable[[Instance, float, torch.device], Callable[[int, torch.Generator], RejectionResult]]


def rejection_factory(instance: Instance, baseline: float, device: torch.device):
    base = instance.base(device)

    def sampler(n: int, generator: torch.Generator) -> RejectionResult:
        return rejection_sample(base, instance.reward, instance.lam, baseline, n, generator=generator)

    return sampler
