"""The registered diffusion-chain instances of the T7/T8 claims (LCB spec, "Diffusion chains"), the baselines
they run by name, and the per-step samplers (correct and deliberately wrong) the chain claims push through
their checks. Split out of ``theorems.diffusion_chains`` (which re-exports these names).

Instances (``chain_instance``): the reference Gaussian-mixture diffusion (d = 2, means (±5, 0), weights
(0.95, 0.05) with the 0.95 component at (+5, 0), Σ = I, T = 20, the reference schedule), reward
``B·1{x_1 < −7}``, λ = 1; and the reference masked diffusion (L = 6, V = 8, 512 sequences), reward
``B·1{x ∈ A}`` on a rare set of probability 4.5e-3, λ = 1; and the LCB authors' own chain (``gmm-ddpm-B*``,
``shared/spec/paper-fidelity.md`` §1): the same mixture driven by a DDPM step with the exact mixture score,
``x_19 ~ N(0, I)``, 19 transitions (``primitives.ddpm_chain``), reward ``B·1{x_1 < −7}``, λ = 1, whose own x_0
marginal, soft values and aligned law come from 1-D quadrature (``estimators.exact.ddpm_law``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import torch

from estimators.chain_baselines import OracleChernoffBaseline
from estimators.exact.tilted_law import TiltedLaw
from primitives.chain_samplers import (ConstantBaseline, EnvelopeBaseline, ExactSoftValues, OffsetBaseline,
                                       per_step_rejection_sample)
from primitives._checks import resolve_device
from primitives.ddpm_chain import MixtureScoreDDPM, authors_ddpm_chain
from primitives.diffusion import GaussianMixtureDiffusion
from primitives.laws import Categorical, GaussianMixture
from primitives.masked_diffusion import MaskedDiffusion, SequenceSetReward, reference_masked_diffusion
from primitives.rewards import StepReward, TableReward
from tiltproof.core.framework import CheckContext, Evidence, Hypothesis


# ---------------------------------------------------------------- instances
@lru_cache(maxsize=None)
def reference_gmm_diffusion(device: str = "cpu") -> GaussianMixtureDiffusion:
    """The reference GMM diffusion: 0.95 N((5,0), I) + 0.05 N((−5,0), I), reference schedule (T = 20)."""
    mixture = GaussianMixture([0.95, 0.05], [[5.0, 0.0], [-5.0, 0.0]], [np.eye(2), np.eye(2)], device=device)
    return GaussianMixtureDiffusion(mixture)


@lru_cache(maxsize=None)
def reference_ddpm_chain(device: str = "cpu", score_shift: int = 0) -> MixtureScoreDDPM:
    """The authors' DDPM-step chain (paper-fidelity §1; ``score_shift=1``: the wrong noise level)."""
    return authors_ddpm_chain(device, score_shift=score_shift)


@lru_cache(maxsize=None)
def ddpm_exact(height: float, lam: float, reward_kind: str = "step"):
    """``DdpmExact`` of the authors' chain for ``B·1{x_1 < −7}`` (``"step"``) or the MSG surrogate
    ``B/(1 + e^{2(x_1 + 8)})`` (``"sigmoid"``)."""
    from estimators.exact.ddpm_law import DdpmExact, DdpmRidge
    from primitives.rewards import SigmoidReward

    reward = _reward("ddpm", height) if reward_kind == "step" else SigmoidReward(height, [1.0, 0.0], -8.0, 2.0)
    chain = reference_ddpm_chain()
    return DdpmExact(DdpmRidge.of(chain, reward), reward, lam)


@lru_cache(maxsize=None)
def _reference_masked(device: str = "cpu") -> tuple[MaskedDiffusion, np.ndarray]:
    return reference_masked_diffusion(device=device)


@dataclass(frozen=True)
class ChainInstance:
    name: str
    description: str
    kind: str                 # "gmm", "ddpm" or "masked"
    height: float             # B
    lam: float = 1.0
    device: str = "cpu"       # where the chain, its soft values and the samplers run

    def on(self, device: str | torch.device) -> ChainInstance:
        """This instance with its chain and values on ``device`` (a check runs on its context's device)."""
        return dataclasses.replace(self, device=str(resolve_device(device)))

    @property
    def chain(self):
        if self.kind == "ddpm":
            return reference_ddpm_chain(self.device)
        return reference_gmm_diffusion(self.device) if self.kind == "gmm" else _reference_masked(self.device)[0]

    @property
    def reward(self):
        return _reward(self.kind, self.height)

    @property
    def values(self) -> ExactSoftValues:
        return _values(self.kind, self.height, self.lam, self.device)

    def x0_target(self) -> TiltedLaw:
        """The exact aligned x_0 law q_0 (GMM: on ℝ²; masked: over the data table's indices)."""
        return _x0_target(self.kind, self.height, self.lam)

    def x0_points(self, samples: torch.Tensor):
        if self.kind in ("gmm", "ddpm"):
            return samples
        index = self.chain.data_index(samples)
        if bool((index < 0).any()):
            raise RuntimeError("sampler produced a sequence outside the data table")
        return index


@lru_cache(maxsize=None)
def _reward(kind: str, height: float):
    if kind in ("gmm", "ddpm"):
        return StepReward(height, [1.0, 0.0], -7.0)
    return SequenceSetReward(height, _reference_masked()[1])


@lru_cache(maxsize=None)
def _values(kind: str, height: float, lam: float, device: str = "cpu") -> ExactSoftValues:
    if kind == "ddpm":
        from estimators.exact.ddpm_law import DdpmSoftValues

        return DdpmSoftValues(ddpm_exact(height, lam), device)
    chain = reference_gmm_diffusion(device) if kind == "gmm" else _reference_masked(device)[0]
    return ExactSoftValues(chain, _reward(kind, height), lam)


@lru_cache(maxsize=None)
def _x0_target(kind: str, height: float, lam: float) -> TiltedLaw:
    if kind == "ddpm":
        from estimators.exact.ddpm_law import DdpmAlignedLaw

        return DdpmAlignedLaw(ddpm_exact(height, lam))
    if kind == "gmm":
        return TiltedLaw(reference_gmm_diffusion().mixture, _reward(kind, height), lam)
    chain = _reference_masked()[0]
    return TiltedLaw(Categorical(chain.probs), TableReward(chain.data_rewards(_reward(kind, height)).cpu().numpy()), lam)


def chain_instance(kind: str, height: float) -> ChainInstance:
    if kind == "ddpm":
        return ChainInstance(f"gmm-ddpm-B{height:g}", rf"authors' DDPM-step GMM chain, $r=B\,1\{{x_1<-7\}}$, "
                             rf"$B={height:g}$, $\lambda=1$", "ddpm", float(height))
    if kind == "gmm":
        return ChainInstance(f"gmm-ref-B{height:g}", rf"GMM diffusion, $r=B\,1\{{x_1<-7\}}$, $B={height:g}$, $\lambda=1$",
                             "gmm", float(height))
    return ChainInstance(f"masked-ref-B{height:g}", rf"masked diffusion, $r=B\,1\{{x\in A\}}$, $B={height:g}$, $\lambda=1$",
                         "masked", float(height))


# ---------------------------------------------------------------- baselines by name
def make_baseline(instance: ChainInstance, name: str):
    """``offset=c`` (``V_{t+1}(y) + c``; ``offset=0`` is the authors' "tight"), ``oracle-delta=δ`` (exact
    per-state Chernoff), ``ideal``, ``constant=B`` (``b_t ≡ B``: the authors' "exact per-step"), ``msg-delta=δ``
    (the authors' MSG, ``primitives.msg_baseline``, as they ran it: φ with ``L_r = B·k/4``, k = 2, on the step
    reward, prior untilted; DDPM chains only)."""
    values = instance.values
    if name == "ideal":
        return EnvelopeBaseline(values)
    key, _, number = name.partition("=")
    if key == "offset":
        return OffsetBaseline(values, float(number))
    if key == "oracle-delta":
        return OracleChernoffBaseline(instance.chain, values, float(number))
    if key == "constant":
        return ConstantBaseline(float(number))
    if key == "msg-delta":
        if instance.kind != "ddpm":
            raise ValueError(f"name: MSG is defined for the DDPM-step chain (gmm-ddpm-*), not {instance.name}")
        from primitives.msg_baseline import MSGBaseline

        return MSGBaseline(instance.chain, instance.reward, instance.lam, float(number),
                           lipschitz_reward=instance.height * 2.0 / 4.0)
    raise ValueError(f"unknown baseline name {name!r}")


class TemperatureValues:
    """Soft values whose acceptance runs at ``factor·λ`` (a wrong sampler; the values stay V_t)."""

    def __init__(self, values, factor: float) -> None:
        self.values, self.lam = values, values.lam * factor
        self.reward, self.exact = getattr(values, "reward", None), False

    def __call__(self, states, t):
        return self.values(states, t)

    def root(self):
        return self.values.root()

    def envelope(self, t):
        return self.values.envelope(t)


ChainSampler = Callable[..., object]


def default_chain_sampler(instance: ChainInstance, baseline, n: int, generator: torch.Generator):
    return per_step_rejection_sample(instance.chain, instance.values, baseline, n, generator=generator)


def wrong_temperature_chain_sampler(instance: ChainInstance, baseline, n: int, generator: torch.Generator):
    """Per-step rejection accepting with ``min(1, e^{(V_t − b)/(2λ)})`` while claiming λ."""
    return per_step_rejection_sample(instance.chain, TemperatureValues(instance.values, 2.0), baseline, n,
                                     generator=generator)


def orthogonal_noise_sampler(instance: ChainInstance, baseline, n: int, generator: torch.Generator):
    """Per-step rejection whose output has its orthogonal coordinate spread 1.3× (a sampler that mis-scales the
    noise off the ridge; the ridge coordinate, and so the reward, is unaffected: only the orthogonal KS sees it)."""
    result = per_step_rejection_sample(instance.chain, instance.values, baseline, n, generator=generator)
    samples = result.samples.clone()
    samples[:, 1] = samples[:, 1] * 1.3
    return dataclasses.replace(result, samples=samples)


# ---------------------------------------------------------------- running the chain checks
def single_threaded(check: Callable[[CheckContext], Evidence]) -> Callable[[CheckContext], Evidence]:
    """Run a check with one intra-op torch thread (restored afterwards): these checks move many small
    tensors, for which thread hand-offs cost more than they save, ten-fold on a loaded machine."""
    def run(context: CheckContext) -> Evidence:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return check(context)
        finally:
            torch.set_num_threads(previous)
    run.__wrapped__ = check
    return run


def _hypotheses(instance: ChainInstance) -> tuple[Hypothesis, ...]:
    return (Hypothesis(r"$\lambda > 0$", lambda: instance.lam > 0),
            Hypothesis(r"exact soft values $V_t$ (closed form / enumeration)", lambda: instance.values.exact))
