"""Base laws, rewards and samplers (torch; CPU by default, ``device="cuda"`` when present)."""
from primitives._checks import resolve_device
from primitives.laws import BaseLaw, Categorical, Gaussian, GaussianMixture
from primitives.rejection import RejectionResult, ideal_rejection_sample, rejection_sample
from primitives.rewards import (
    CallableReward,
    LinearReward,
    QuadraticReward,
    Reward,
    StepReward,
    TableReward,
    as_reward,
)

__all__ = [
    "BaseLaw", "Categorical", "Gaussian", "GaussianMixture",
    "RejectionResult", "ideal_rejection_sample", "rejection_sample",
    "CallableReward", "LinearReward", "QuadraticReward", "Reward", "StepReward", "TableReward",
    "as_reward", "resolve_device",
]
from primitives.best_of_n import BestOfNResult, best_of_n_sample

__all__ += ["BestOfNResult", "best_of_n_sample"]
