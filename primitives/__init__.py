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


# Tractability primitives (issue 4): the linear-tilt oracle and KL alignment by planes (L1), the proximal
# transport oracle and Wasserstein alignment (W1).
from primitives.tilt_oracle import ExactTiltOracle, LinearTiltOracle, as_tilt_oracle
from primitives.score_tilt import ExactScoreMixtureDiffusion, ScoreTiltOracle
from primitives.planes import (ConvexLowRank, LogSumExpReward, MaxOfPlanes, PlaneCover, SquaredNormReward,
                               check_full_row_rank)
from primitives.kl_align import KLAlignResult, kl_align, plane_cover
from primitives.prox import (ConcaveExpressionReward, ConcaveQuadratic, LowRankReward, ProxResult,
                             WassersteinAlignResult, prox, solve_prox, wasserstein_align)

__all__ += [
    "ExactTiltOracle", "LinearTiltOracle", "as_tilt_oracle",
    "ExactScoreMixtureDiffusion", "ScoreTiltOracle",
    "ConvexLowRank", "LogSumExpReward", "MaxOfPlanes", "PlaneCover", "SquaredNormReward", "check_full_row_rank",
    "KLAlignResult", "kl_align", "plane_cover",
    "ConcaveExpressionReward", "ConcaveQuadratic", "LowRankReward", "ProxResult", "WassersteinAlignResult",
    "prox", "solve_prox", "wasserstein_align",
]

# Diffusion chains (issue 3): one black-box kernel interface, exact instances, samplers.
from primitives.chain_samplers import (  # noqa: E402
    ChainResult, EnvelopeBaseline, ExactSoftValues, OffsetBaseline, per_step_rejection_sample,
    step_rejection_sample, trajectory_rejection_sample, unaligned_sample,
)
from primitives.diffusion import ChainKernel, CountingKernel, GaussianMixtureDiffusion, reference_schedule  # noqa: E402
from primitives.masked_diffusion import MaskedDiffusion, SequenceSetReward, reference_masked_diffusion  # noqa: E402

__all__ += [
    "ChainKernel", "CountingKernel", "GaussianMixtureDiffusion", "reference_schedule",
    "MaskedDiffusion", "SequenceSetReward", "reference_masked_diffusion",
    "ChainResult", "EnvelopeBaseline", "ExactSoftValues", "OffsetBaseline", "per_step_rejection_sample",
    "step_rejection_sample", "trajectory_rejection_sample", "unaligned_sample",
]
