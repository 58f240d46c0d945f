"""Exactly computable single-step instances (LCB spec, "Exactly computable instances").

* ``gaussian-linear-d1``: p = N(0, 1), r(x) = x, λ = 0.5 (under q, R ~ N(2, 1)).
* ``gaussian-linear-d5``: p = N(μ, Σ) on ℝ⁵ (fixed, non-isotropic), r = ⟨θ, x⟩, λ = 1.
* ``finite-k10``: a 10-point law with arbitrary (signed) rewards, λ = 0.7.
* ``gmm-step-d1``: p = 0.95 N(5, 1) + 0.05 N(−5, 1), r = 5·1{x < −7}, λ = 1: the reward sits in the
  tail of the rare mode, so ideal rejection (envelope 5) is costly and the baseline matters.

``LEARNING_INSTANCES`` (the T6 learned-baseline claims only):

* ``finite-u11``: p uniform on 11 points, r(k) = k/10 ∈ [0, 1], λ = 0.5. Ideal rejection costs only
  N(1) = 2.24 proposals, so a learner sees the top of the law from a few thousand draws: at δ = 0.5 the
  Chernoff baseline is b_δ = 0.945 and the learner's population value at n = 4000 is 0.967, strictly
  between b_δ and ess sup r = 1 (the registered instances clip only at n ≫ 10⁴ and fall back to ess sup).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import math

import numpy as np
import torch

from estimators.exact import tilt_quantities as tq
from estimators.exact.tilted_law import reward_law
from estimators.exact.reward_law import RewardLaw
from primitives.laws import BaseLaw, Categorical, Gaussian, GaussianMixture
from primitives.rejection import ideal_rejection_sample
from primitives.rewards import LinearReward, Reward, StepReward, TableReward

__all__ = ["Instance", "INSTANCES", "LEARNING_INSTANCES", "get_instance", "target_sampler", "informative_delta",
           "baseline_below_ess_sup"]


@dataclass(frozen=True)
class Instance:
    name: str
    description: str
    lam: float
    make_base: Callable[[torch.device | str], BaseLaw]
    reward: Reward
    reward_bounds: tuple[float, float] | None = None

    def base(self, device: torch.device | str = "cpu") -> BaseLaw:
        return self.make_base(device)

    @property
    def law(self) -> RewardLaw:
        return reward_law(self.make_base("cpu"), self.reward)

    @property
    def soft_value(self) -> float:
        return tq.soft_value(self.law, self.lam)

    @property
    def is_gaussian_linear(self) -> bool:
        return isinstance(self.reward, LinearReward) and self.name.startswith("gaussian-linear")


def _five_dimensional() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20260208)
    factor = rng.normal(size=(5, 5))
    cov = factor @ factor.T / 5 + 0.5 * np.eye(5)
    mean = rng.normal(size=5)
    theta = np.array([0.6, -0.3, 0.2, 0.0, 0.4])
    return mean, cov, theta


_MEAN5, _COV5, _THETA5 = _five_dimensional()
_FINITE_PROBS = np.array([0.22, 0.18, 0.14, 0.12, 0.1, 0.08, 0.07, 0.05, 0.03, 0.01])
_FINITE_REWARDS = np.array([-1.0, 0.3, -0.4, 0.9, 1.6, 0.0, 2.2, 1.1, 2.9, 3.4])

INSTANCES: dict[str, Instance] = {
    instance.name: instance
    for instance in [
        Instance(
            "gaussian-linear-d1", r"$p=\mathcal N(0,1)$, $r(x)=x$, $\lambda=0.5$", 0.5,
            lambda device: Gaussian([0.0], [[1.0]], device=device), LinearReward([1.0]),
        ),
        Instance(
            "gaussian-linear-d5", r"$p=\mathcal N(\mu,\Sigma)$ on $\mathbb R^5$, $r(x)=\langle\theta,x\rangle$, $\lambda=1$",
            1.0, lambda device: Gaussian(_MEAN5, _COV5, device=device), LinearReward(_THETA5),
        ),
        Instance(
            "finite-k10", r"10-point law, signed table reward, $\lambda=0.7$", 0.7,
            lambda device: Categorical(_FINITE_PROBS, device=device), TableReward(_FINITE_REWARDS),
            reward_bounds=(float(_FINITE_REWARDS.min()), float(_FINITE_REWARDS.max())),
        ),
        Instance(
            "gmm-step-d1", r"$p=0.95\,\mathcal N(5,1)+0.05\,\mathcal N(-5,1)$, $r=5\cdot 1\{x<-7\}$, $\lambda=1$",
            1.0, lambda device: GaussianMixture([0.95, 0.05], [[5.0], [-5.0]], [[[1.0]], [[1.0]]], device=device),
            StepReward(5.0, [1.0], -7.0), reward_bounds=(0.0, 5.0),
        ),
    ]
}


_UNIFORM11_REWARDS = np.linspace(0.0, 1.0, 11)

LEARNING_INSTANCES: dict[str, Instance] = {
    "finite-u11": Instance(
        "finite-u11", r"uniform 11-point law, $r(k)=k/10\in[0,1]$, $\lambda=0.5$", 0.5,
        lambda device: Categorical(np.full(11, 1.0 / 11), device=device), TableReward(_UNIFORM11_REWARDS),
        reward_bounds=(0.0, 1.0),
    ),
}


def get_instance(name: str) -> Instance:
    """A registered single-step instance, or a learning instance (``LEARNING_INSTANCES``) by name."""
    found = INSTANCES.get(name) or LEARNING_INSTANCES.get(name)
    if found is None:
        raise ValueError(f"instance must be one of {sorted(INSTANCES) + sorted(LEARNING_INSTANCES)}, got {name!r}")
    return found


def target_sampler(instance: Instance, device: torch.device | str = "cpu"):
    """An exact sampler of the target q: ideal rejection if sup r is finite, else the linear tilt."""
    base = instance.base(device)
    reward = instance.reward
    if math.isfinite(reward.sup):
        return lambda n, generator: ideal_rejection_sample(base, reward, instance.lam, n, generator=generator).samples
    if isinstance(reward, LinearReward) and isinstance(base, (Gaussian, GaussianMixture)):
        tilted = base.tilt(reward.theta / instance.lam)
        return lambda n, generator: tilted.sample(n, generator)
    raise ValueError(f"no exact target sampler for instance {instance.name!r}")


SMALL_DELTA_CANDIDATES = (0.1, 0.25)


def baseline_below_ess_sup(instance: Instance, delta: float) -> bool:
    """b_δ < ess sup r: with b_δ = ess sup r the baseline is the ideal envelope, q_b = q, and a claim
    about clipping (T3, T4, T5, T6) degenerates into T1. Such an instance is an ``error``, not evidence."""
    from estimators.baselines import chernoff_baseline

    return chernoff_baseline(instance.law, instance.lam, delta).value < instance.law.ess_sup


def informative_delta(instance: Instance, candidates: tuple[float, ...] = SMALL_DELTA_CANDIDATES) -> float:
    """The smallest δ of ``candidates`` whose Chernoff baseline stays below ess sup r on this instance
    (0.1 on the Gaussian instances, 0.25 on finite-k10 and gmm-step-d1, whose b_0.1 is ess sup r)."""
    for delta in candidates:
        if baseline_below_ess_sup(instance, delta):
            return delta
    raise ValueError(f"instance {instance.name!r}: every candidate δ gives b_δ = ess sup r")
