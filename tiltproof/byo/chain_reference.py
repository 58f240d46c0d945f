"""A chain sampler on the user's own model, where no exact law exists: a two-sample test against T1.

``check_chain_sampler_on_kernel(sampler, my_kernel, r, λ, budget=…)`` (the old call form
``check_chain_sampler(sampler, kernel=…, reward=…, lam=…, reference="trajectory")`` is routed here) draws a
reference sample of the aligned x_0 law ``q_0 ∝ p_0 e^{r/λ}`` *of the user's own chain* by trajectory-level
rejection — whole chains accepted with ``e^{(r(x_0) − B)/λ}``, ``B = sup r`` — which is exact by T1 on path space,
and compares the sampler's x_0 with it.

Statistic: for each projection φ of x_0 (the reward r(x_0) and each coordinate of the flattened state,
at most ``MAX_COORDINATES``) the two-sample KS distance ``sup_y |F̂_φ(y) − Ĝ_φ(y)|``. By DKW on each
sample, ``KS(F̂, Ĝ) ≤ KS(F, G) + ε(n, α_φ/2) + ε(m, α_φ/2)`` w.p. ≥ 1 − α_φ, and ``KS(F_φ, G_φ) ≤
TV(law, q_0)``; so the claim "TV ≤ budget" is rejected when some projection's KS exceeds
``budget + ε(n, α_φ/2) + ε(m, α_φ/2)`` (Bonferroni over projections). It detects a projection KS gap of
``budget + 2[ε(n, α_φ/2) + ε(n, β/2)]`` w.p. ≥ 1 − β (n = m); n is designed for ``budget + gap``.

The reference costs ``(T + 1)/P(accept)`` queries per sample; a pilot of unaligned chains estimates
``P(accept) = E_p e^{(r − B)/λ}`` and the check refuses, before sampling, when the reference would cost
more than ``query_cap`` queries.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

from estimators.dkw import dkw_radius, ks_distance
from primitives._checks import check_positive, check_unit_interval
from primitives.chain_samplers import trajectory_rejection_sample, unaligned_sample
from primitives.diffusion import CountingKernel
from primitives.rewards import as_reward
from tiltproof.byo.common import NOT_REPRODUCIBLE, BadOutput, ImplementationRaised, error_record, x0_samples
from tiltproof.byo.verification import TestOutcome, VerificationRecord, settle_verdict

__all__ = ["check_chain_sampler_on_kernel", "check_against_trajectory_reference", "check_budget",
            "two_sample_sample_size", "MAX_COORDINATES", "DEFAULT_GAP"]

MAX_COORDINATES = 16
DEFAULT_GAP = 0.1
PILOT_CHAINS = 2_000


def _radius_sum(n: int, alpha: float, beta: float) -> float:
    """Detectable projection KS above the budget at n = m: 2[ε(n, α/2) + ε(n, β/2)]."""
    return 2.0 * (dkw_radius(n, alpha / 2) + dkw_radius(n, beta / 2))


def two_sample_sample_size(gap: float, alpha: float, beta: float) -> int:
    """Smallest n (= m) at which every projection test detects a KS excess ``gap`` over the budget
    w.p. ≥ 1 − β: ``2[√(log(4/α)/2n) + √(log(4/β)/2n)] ≤ gap`` (closed form)."""
    root = 2.0 * (math.sqrt(math.log(4.0 / alpha) / 2.0) + math.sqrt(math.log(4.0 / beta) / 2.0))
    return int(math.ceil((root / gap) ** 2))


def _projections(states: torch.Tensor, reward) -> dict[str, np.ndarray]:
    flat = states.reshape(states.shape[0], -1).to(torch.float64)
    found = {"reward": reward(states).to(torch.float64).cpu().numpy()}
    for j in range(min(flat.shape[1], MAX_COORDINATES)):
        found[f"x{j}"] = flat[:, j].cpu().numpy()
    return found


def _two_sample_ks(first: np.ndarray, second: np.ndarray) -> float:
    """``sup_y |F̂(y) − Ĝ(y)|`` exactly (attained at a sample point, from either side)."""
    second_sorted = np.sort(second)
    return ks_distance(first, lambda y: np.searchsorted(second_sorted, y, side="right") / second_sorted.size,
                       lambda y: np.searchsorted(second_sorted, y, side="left") / second_sorted.size)


def check_budget(budget: Any) -> float:
    """``budget`` as a float in [0, 1] (the TV a chain sampler claims); ``ValueError`` naming it otherwise."""
    try:
        budget = float(budget)
    except (TypeError, ValueError):
        raise ValueError(f"budget must be a number in [0, 1], got {budget!r}") from None
    if not 0.0 <= budget <= 1.0:
        raise ValueError(f"budget must be a number in [0, 1], got {budget!r}")
    return budget


def check_chain_sampler_on_kernel(sampler: Callable, kernel, reward, lam: float, *, budget: float,
                                  alpha: float = 1e-6, beta: float = 1e-3, seed: int = 0, n: int | None = None,
                                  query_cap: float = 1e9, gap: float = DEFAULT_GAP,
                                  reference: str = "trajectory") -> VerificationRecord:
    """Verify a chain sampler on the user's own ``kernel`` (a ``ChainKernel``), where no exact law exists.

    ``sampler(kernel, n, generator)`` may use only the kernel it is handed; ``budget`` ∈ [0, 1] is the TV to
    ``q_0 ∝ p_0 e^{r/λ}`` it claims. The reference (``reference="trajectory"``, the only one) is trajectory-level
    rejection on the same kernel, exact by T1 on path space; the test is the module docstring's two-sample KS
    (level ``alpha``, power ``1 − beta`` at ``budget + gap``). The registered-instance form, with an exact law, is
    ``tiltproof.byo.check_chain_sampler(sampler, instance, …)``."""
    from primitives.diffusion import ChainKernel

    if not callable(sampler):
        raise ValueError(f"sampler must be a callable sampler(kernel, n, generator), got {sampler!r}")
    if not isinstance(kernel, ChainKernel):
        raise ValueError(f"kernel must be a ChainKernel (steps, state_shape, device, sample_prior, sample_children), "
                         f"got {type(kernel).__name__}")
    if reference != "trajectory":
        raise ValueError(f"reference must be 'trajectory' (the only reference on a user's kernel), got {reference!r}")
    return check_against_trajectory_reference(
        sampler, kernel=kernel, reward=reward, lam=lam, budget=check_budget(budget),
        alpha=check_unit_interval("alpha", alpha), beta=check_unit_interval("beta", beta), seed=seed, n=n,
        query_cap=query_cap, gap=check_unit_interval("gap", gap))


def check_against_trajectory_reference(sampler: Callable, *, kernel, reward, lam: float | None, budget: float,
                                       alpha: float, beta: float, seed: int, n: int | None,
                                       query_cap: float = 1e9, gap: float = DEFAULT_GAP) -> VerificationRecord:
    """See the module docstring; called by ``check_chain_sampler_on_kernel`` once its arguments are checked."""
    if kernel is None:
        raise ValueError("kernel is required with reference='trajectory' (your model wrapped as a ChainKernel)")
    if reward is None:
        raise ValueError("reward is required with reference='trajectory'")
    if lam is None:
        raise ValueError("lam is required with reference='trajectory'")
    lam = check_positive("lam", lam)
    reward = as_reward(reward)
    if not math.isfinite(reward.sup):
        raise ValueError(f"reward: trajectory rejection needs a finite sup r, and {reward.name} has none")
    counting = CountingKernel(kernel)
    generator = torch.Generator(device=counting.device)
    generator.manual_seed(seed)
    size = two_sample_sample_size(gap, alpha, beta) if n is None else int(n)
    # Pilot: the reference's acceptance rate, to refuse an unaffordable reference before drawing it.
    pilot = unaligned_sample(counting, PILOT_CHAINS, generator=generator).samples
    rate = float(torch.exp(torch.clamp((reward(pilot).to(torch.float64) - reward.sup) / lam, max=0.0)).mean())
    expected_queries = size * (counting.steps + 1) / max(rate, 1e-300)
    if expected_queries > query_cap:
        raise ValueError(f"query_cap: the trajectory reference would need about {expected_queries:.3g} kernel queries "
                         f"({size} samples at acceptance rate {rate:.3g} over T + 1 = {counting.steps + 1} steps), "
                         f"more than query_cap={query_cap:.3g}; raise query_cap, or lower gap's demands")
    reference = trajectory_rejection_sample(counting, reward, lam, size, generator=generator).samples

    def run(count: int) -> tuple[torch.Tensor, CountingKernel]:
        view = CountingKernel(kernel)
        user_generator = torch.Generator(device=counting.device)
        user_generator.manual_seed(seed + 1)
        try:
            output = sampler(view, count, user_generator)
        except Exception as error:  # noqa: BLE001 - the user's code: reported as an error record
            raise ImplementationRaised("sampler", error) from error
        try:
            return x0_samples(output, count, counting.state_shape), view
        except (TypeError, ValueError) as error:
            raise BadOutput(f"{error} (it returned {type(output).__name__})") from error

    name = f"user kernel ({type(kernel).__name__}, T={counting.steps}), trajectory reference"
    try:
        not_reproducible = not torch.equal(run(8)[0].cpu(), run(8)[0].cpu())
        samples, user_view = run(size)
    except (ImplementationRaised, BadOutput) as problem:
        return error_record("chain", name, alpha=alpha, beta=beta, seed=seed, details={"n": size, "budget": budget},
                            message=f"{problem}; the sampler could not be checked")
    ours, theirs = _projections(reference, reward), _projections(samples.to(reference.device), reward)
    share = alpha / len(ours)
    threshold = budget + dkw_radius(size, share / 2) + dkw_radius(size, share / 2)
    tests = []
    for name in ours:
        statistic = _two_sample_ks(theirs[name], ours[name])
        tests.append(TestOutcome(f"x_0 law ({name})", f"two-sample KS of {name} against the trajectory-rejection "
                                 "reference (DKW on both samples)", statistic, threshold, size, share,
                                 budget + _radius_sum(size, share, beta), f"KS of {name} (≤ TV)",
                                 statistic > threshold))
    tests = tuple(tests)
    verdict, meaning, message = settle_verdict(tests, budget=budget, missing=(
        "not certified: two-sample KS distances bound the TV only from below, so the trajectory reference gives no "
        "certificate of TV ≤ budget; use a registered instance with a declared rule for one, or claim budget 0"))
    return VerificationRecord(
        family="chain", instance=name, verdict=verdict, alpha=alpha, beta=beta, seed=seed, tests=tests,
        power={"x0_projection_ks_beyond_budget": _radius_sum(size, share, beta)}, message=message,
        warnings=(NOT_REPRODUCIBLE,) if not_reproducible else (),
        details={"n": size, "reference_acceptance_rate": rate, "reference_queries": counting.draws,
                 "sampler_queries": user_view.draws, "budget": budget, "samples_used": size},
        pass_meaning=meaning, not_reproducible=not_reproducible)
