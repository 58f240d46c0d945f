"""Path-level calibration of a learned chain baseline: one exceedance test spends η once for the whole chain.

Per-step calibration (``learning.chain_baseline``, T6 on chains) certifies every step at tail δ and
failure η/(T+1); with a distribution-free rank that needs ``n ≥ log((T+1)/η)·(T+1)/ε`` exact tilted pairs *per
step* (2 534 at ε = η = 0.05, T = 20), each drawn by envelope rejection (≈ 700 kernel queries on the
reference GMM chain at B = 7): ≥ 3.6e7 queries. Here the whole path is tested once.

**Setting.** A per-step rejection sampler with baseline ``b = (b_T, …, b_0)``, ``b_t(y) = V̂_{t+1}(y) +
λγ_t(y) + c_t`` (``b_T = V̂_root + c_T``), capped at ``sup V̂_t``; ``q̂`` is its path law and ``q`` the
path law of the kernel it targets, ``q_t(·|y) ∝ p_t(·|y) e^{V̂_t/λ}`` (exact soft values: the aligned
chain; learned ones: T8 adds ``tanh(ε_V/2λ)`` per step). The *exceedance rate* of b is

    ρ(b) = (1/(T+1)) Σ_{t=0}^{T} E_{y ~ q̂_{t+1}} P_{x ~ q_t(·|y)}( V̂_t(x) > b_t(y) )      (q̂_{T+1}: no parent).

**Lemma 1 (path TV).** ``TV(q̂, q) ≤ (T+1)·ρ(b)``, on paths, hence on x_0.
*Proof.* T7 telescopes the path TV over steps with the sampler's own parent marginals:
``TV(q̂, q) ≤ Σ_t E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))``; per state, T2 gives
``TV(q̂_t(·|y), q_t(·|y)) ≤ D/Z(y) = E_{q_t(·|y)} (1 − e^{−(V̂_t − b_t(y))/λ})_+ ≤ P_{q_t(·|y)}(V̂_t > b_t(y))``. ∎

**Lemma 2 (one pair is one Bernoulli(ρ)).** Draw a path of the sampler (x_T, …, x_0) ~ q̂, an independent
step τ uniform on {0, …, T}, and one child ``x ~ q_τ(·|x_{τ+1})`` (x ~ q_T for τ = T) by envelope rejection
(exact: proposals from the kernel accepted with ``e^{(V̂_τ(x) − sup V̂_τ)/λ}``). Then
``E = 1{V̂_τ(x) > b_τ(x_{τ+1})}`` is Bernoulli(ρ(b)), since x_{τ+1} ~ q̂_{τ+1} and τ is uniform. m pairs
from independent paths give i.i.d. indicators.

**Lemma 3 (the test).** Let ``r = ε/(T+1)`` and ``j* = max{j : P(Bin(m, r) ≤ j) ≤ η}`` (``exceedance_rank``;
the test needs ``m ≥ min_num_pairs_for_path_tail_test(ε, η, T+1, j)``). Certify b iff ``Σ_i E_i ≤ j*``. If
``ρ(b) > r`` then ``P(certify) = P(Bin(m, ρ) ≤ j*) ≤ P(Bin(m, r) ≤ j*) ≤ η`` (the binomial cdf decreases in
its rate). Equivalently: certify iff the one-sided Clopper–Pearson upper bound at level η on ρ is ≤ r.

**Lemma 3′ (the sharper statistic, default).** T2's own term can be tested instead of the tail: with the
same pairs, ``W = (1 − e^{−(V̂_τ(x) − b_τ(x_{τ+1}))/λ})_+ ∈ [0, 1]`` has mean
``ρ_D(b) = (1/(T+1)) Σ_t E_{y~q̂_{t+1}} D/Z(y) ≥ TV(q̂, q)/(T+1)`` (T7 with T2's equality
``D/Z = E_q (1 − e^{−(V̂−b)/λ})_+``), and ``ρ_D ≤ ρ``. Certify b iff ``bounded_mean_upper_confidence(W, η) ≤ r``
(KL–Hoeffding and empirical Bernstein at η/2 each: a valid level-η upper bound for i.i.d. [0, 1] variables).
If ``ρ_D(b) > r``, certification requires the upper bound to miss ``ρ_D``: probability ≤ η. An exceedance
just above the baseline adds a small W where the tail statistic adds a whole 1, so this test certifies lower
offsets with the same pairs (measured: ``benchmarks/README.md``). m comes from
``min_num_pairs_for_path_clip_test``: the smallest m at which a sample mean of ``κ·r`` still certifies.

**Theorem (path calibration, sequential).** Test candidate baselines ``b^(1), b^(2), …`` in turn, each on its
own m_k fresh pairs drawn with *its own* sampler, where ``b^(k)`` may depend on the training data and on the
pairs of tests 1, …, k−1 (here ``c^(k) = ĉ + s_k λ``: ĉ from training, ``s_1`` fixed, ``s_k`` planned on the
(k−1)-th test's pairs, ``planned_shift``); stop at the first candidate not certified (or after K tests) and
output the last certified one — or the envelope baseline ``b_t ≡ sup V̂_t`` (ideal per-step rejection: ρ = 0,
exact) when ``b^(1)`` fails. Then, with probability ≥ 1 − η over the training and all the tests,

    TV(law of x_0, q_0) ≤ TV(q̂, q) ≤ (T+1)·ρ(output) ≤ ε          (ρ_D for the statistic of Lemma 3′),

where q_0 is the x_0 marginal of the targeted chain q: the aligned law for exact soft values; for learned
ones T8 adds its per-step term to the distance from the aligned law.

*Proof.* Let F_k be the training data and the pairs of tests 1..k; b^(k) is F_{k−1}-measurable. Call b^(k)
*bad* if ``ρ(b^(k)) > r``, and let A_k = {tests 1..k−1 certified, b^(k) is the first bad candidate}, an
F_{k−1} event; the A_k are disjoint. The output is bad only if some bad candidate was certified after an
unbroken run of certifications, which requires the *first* bad candidate to be certified: the event
⊆ ∪_k (A_k ∩ {test k certifies}). Test k's pairs are independent of F_{k−1}, so by Lemma 3 (3′)
``P(test k certifies | F_{k−1}) ≤ η`` on A_k, and
``P(output bad) ≤ Σ_k E[1_{A_k} P(test k certifies | F_{k−1})] ≤ η Σ_k P(A_k) ≤ η``. The envelope is never bad.
Lemma 1 turns ρ ≤ r (T7 with T2's D/Z for ρ_D ≤ r) into the TV bound. No union bound over the candidates or
over the T+1 steps is paid: η is spent once. ∎

**Design.** Every test is sized to certify a sample mean of 0.4·r (``DESIGN_FRACTIONS``: m = 6 624 at
ε = η = 0.05, T = 20; a per-step calibration needs 21 × 2 534); the first candidate is ĉ + 0.5λ
(``FIRST_SHIFT``), later ones are planned to a plug-in mass ≤ r/4 (``PLAN_FRACTION``). Measured on the
reference GMM chain at B = 7 (``benchmarks/README.md``, four trainings): the first test's upper bound was
0.40–0.63·r, and starting at ĉ + λ instead (a cheaper 5 148-pair first test, then 6 624) cost 3.7e6
more queries per training and ended at shift 1 in one of four. If the first candidate fails, the output
is the envelope — exact but as costly as ideal per-step rejection. The failure probability of the whole
training is η: the fit and the planning are data only.

The training (``train_path_calibrated_baseline``) fits γ_t and a provisional offset from the top of the
chain down, on one population of sampler chains advanced a step at a time (the parents of step t are the
population at t+1; no fresh chains from the prior per step), with the model selection of
``learning.model_selection`` (shared with ``learning.chain_baseline``); the selection pairs' tilted children
give ĉ_t (their empirical (1−δ̂)-quantile, ``point_offset``). Only the theorem's tests certify; every kernel draw is counted in ``training_queries``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from estimators.bounded_means import bounded_mean_upper_confidence
from estimators.offset_calibration import calibration_rank, point_offset
from learning.chain_baseline import LearnedChernoffBaseline, TrainingReport
from learning.model_selection import select_network, selection_candidates
from learning.step_network import ConstantNetwork, StepFeatures, copy_network, fit_step_network
from primitives._checks import check_positive, check_unit_interval
from primitives.chain_samplers import per_step_rejection_sample, step_rejection_sample
from primitives.diffusion import CountingKernel

__all__ = ["exceedance_rank", "min_num_pairs_for_path_tail_test", "min_num_pairs_for_path_clip_test", "STATISTICS", "PathTest", "path_exceedance_test",
           "calibrate_path_offsets", "planned_shift", "exact_tilted_children", "train_path_calibrated_baseline",
           "FIRST_SHIFT", "SHIFT_GRID"]

FIRST_SHIFT = 0.5                       # s_1 (units of λ): the first candidate (see Design)
SHIFT_GRID = (0.75, 0.5, 0.25, 0.0, -0.25)   # where later candidates are planned
PLAN_FRACTION = 0.25                    # plan the next shift at a plug-in clipped mass ≤ this fraction of r
STATISTICS = ("clip", "tail")           # Lemma 3′ (default) and Lemma 3
DESIGN_FRACTIONS = (0.4,)               # κ_k: test k's m certifies a sample mean of κ_k·ε/(T+1) (last repeats)


def exact_tilted_children(kernel: CountingKernel, parents: torch.Tensor | None, t: int, values, *,
                          n: int | None = None, chunk: int = 64, max_proposals: int = 10**8,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """One child of ``q_t(·|y) ∝ p_t(·|y) e^{V̂_t/λ}`` per parent (n draws of q_T when ``parents`` is None) by
    envelope rejection at ``sup V̂_t``: exact. Draws ``chunk`` proposals per still-active parent and round, so
    at most ``chunk − 1`` draws per child are wasted (the sampler's doubling batches waste ≈ 25 % at the
    ≈ 700 proposals a child costs on the reference chain at B = 7); every draw is counted by the kernel.

    Exactness needs ``envelope(t) ≥ V̂_t`` on every proposal: a value above it (log-acceptance > 1e-9) raises
    ``ValueError``, as does a NaN value (never accepted: the loop would not end). ``RuntimeError`` once a
    still-active parent has drawn ``max_proposals`` proposals (envelope far above the values?)."""
    lam = values.lam
    envelope = float(values.envelope(t))
    max_proposals = _positive_int("max_proposals", max_proposals)
    count = n if parents is None else parents.shape[0]
    out = None
    active = torch.arange(count, device=kernel.device)
    drawn_by_active = 0   # proposals drawn by every still-active parent (identical across them)
    while active.numel() > 0:
        if drawn_by_active >= max_proposals:
            raise RuntimeError(f"exact tilted children at step {t} needed more than max_proposals={max_proposals} "
                               "proposals for one child (envelope far above the values?)")
        drawn_by_active += chunk
        if parents is None:
            proposals = kernel.sample_prior(active.numel() * chunk, generator).reshape(active.numel(), chunk,
                                                                                      *kernel.state_shape)
        else:
            proposals = kernel.sample_children(parents[active], t, chunk, generator)
        flat = proposals.reshape(-1, *proposals.shape[2:])
        log_accept = ((values(flat, t).double() - envelope) / lam).reshape(active.numel(), chunk)
        worst = float(log_accept.max())             # NaN if any value is (one host read per round)
        if math.isnan(worst):
            raise ValueError(f"values returned NaN at step {t}: exact tilted children need finite values")
        if worst > 1e-9:
            raise ValueError(f"envelope({t}) = {envelope!r} is below the values at step {t} (log-acceptance "
                             f"{worst:.3g} > 0): the children would not be exact")
        uniforms = torch.rand(log_accept.shape, generator=generator, device=log_accept.device, dtype=torch.float64)
        accept = torch.log(uniforms) < log_accept
        has = accept.any(1)
        if out is None:
            out = proposals.new_empty((count, *proposals.shape[2:]))
        first = accept.to(torch.int8).argmax(1)
        out[active[has]] = proposals[has, first[has]]
        active = active[~has]
    return out


def exceedance_rank(pairs: int, budget: float, steps_plus_one: int, eta: float) -> int:
    """``j* = max{j : P(Bin(m, ε/(T+1)) ≤ j) ≤ η}``: the most exceedances among m pairs that still certify
    ``ρ ≤ ε/(T+1)`` at level η (Lemma 3); −1 when m is too small for any."""
    budget = check_unit_interval("budget", budget)
    steps_plus_one = _positive_int("steps_plus_one", steps_plus_one)
    return calibration_rank(int(pairs), budget / steps_plus_one, eta)


def min_num_pairs_for_path_tail_test(budget: float, eta: float, steps_plus_one: int, allowed: int = 0) -> int:
    """The smallest m whose test certifies with ``allowed`` exceedances: ``P(Bin(m, ε/(T+1)) ≤ allowed) ≤ η``.
    Grows like ``(T+1)·log(1/η)/ε`` for allowed = 0 (``(1 − r)^m ≤ η``), plus ≈ allowed·(T+1)/ε per allowed
    exceedance. The cdf at a fixed count decreases in m, so the search is a bisection."""
    budget = check_unit_interval("budget", budget)
    eta = check_unit_interval("eta", eta)
    steps_plus_one = _positive_int("steps_plus_one", steps_plus_one)
    if isinstance(allowed, bool) or not isinstance(allowed, int) or allowed < 0:
        raise ValueError(f"allowed must be a non-negative integer, got {allowed!r}")
    high = 1
    while exceedance_rank(high, budget, steps_plus_one, eta) < allowed:
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if exceedance_rank(middle, budget, steps_plus_one, eta) < allowed else (low, middle)
    return high


def min_num_pairs_for_path_clip_test(budget: float, eta: float, steps_plus_one: int,
                                    fraction: float = DESIGN_FRACTIONS[-1]) -> int:
    """The smallest m at which Lemma 3′'s KL bound (level η/2) at a sample mean of ``κ·r`` is ≤ ``r = ε/(T+1)``:
    ``m = ⌈log(2/η) / kl(κr ‖ r)⌉``. Since ``kl(κr ‖ r) ≈ r(κ log κ + 1 − κ)``, m grows like
    ``(T+1) log(2/η) / (ε (κ log κ + 1 − κ))`` (the default κ = 0.4: ≈ 4.3·(T+1) log(2/η)/ε)."""
    from estimators.bounded_means import bernoulli_kl

    budget = check_unit_interval("budget", budget)
    eta = check_unit_interval("eta", eta)
    steps_plus_one = _positive_int("steps_plus_one", steps_plus_one)
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be a number in [0, 1), got {fraction!r}")
    rate = budget / steps_plus_one
    return math.ceil(math.log(2.0 / eta) / bernoulli_kl(fraction * rate, rate))


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@dataclass
class PathTest:
    """One test of Lemma 3: pairs, exceedances, the certifying rank, the verdict and the kernel draws spent."""

    pairs: int
    exceedances: int
    allowed: int
    certified: bool
    queries: int
    steps: list[int] = field(default_factory=list)       # the uniform step of each exceedance
    statistic: str = "tail"
    clipped_mean: float = 0.0                            # mean of W (Lemma 3′)
    clipped_upper: float = 0.0                           # its level-η upper bound
    rate: float = 0.0                                    # r = ε/(T+1)
    excess: np.ndarray | None = None                     # V̂_τ(x) − b_τ(y) per pair (for planning the next shift)
    shift: float = 0.0                                   # the candidate's shift s (units of λ)
    child_values: torch.Tensor | None = None             # V̂_τ(x) per pair
    parents_at: dict = field(default_factory=dict)       # step t -> (pair rows, parents or None at the prior)

    def as_dict(self) -> dict:
        return {"pairs": self.pairs, "exceedances": self.exceedances, "allowed": self.allowed,
                "certified": self.certified, "queries": self.queries, "statistic": self.statistic,
                "clipped_mean": self.clipped_mean, "clipped_upper": self.clipped_upper, "rate": self.rate,
                "shift": self.shift}


def path_exceedance_test(kernel, values, baseline, *, pairs: int, budget: float, eta: float, statistic: str = "clip",
                         generator: torch.Generator | None = None) -> PathTest:
    """Lemma 2–3′: m sampler paths, one uniform step each, one exact tilted child there. ``"tail"``: certify
    ``ρ(b) ≤ ε/(T+1)`` iff the exceedances are ≤ ``exceedance_rank``; ``"clip"``: certify ``ρ_D(b) ≤ ε/(T+1)``
    iff the level-η upper bound on the mean clipped mass W is. Costs m (partial) paths of the sampler plus m
    envelope-rejection children."""
    pairs = _positive_int("pairs", pairs)
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    budget = check_unit_interval("budget", budget)
    eta = check_unit_interval("eta", eta)
    counting = kernel if isinstance(kernel, CountingKernel) else CountingKernel(kernel)
    start = counting.draws
    steps = counting.steps
    allowed = exceedance_rank(pairs, budget, steps + 1, eta)
    device = counting.device
    chosen = torch.randint(0, steps + 1, (pairs,), generator=generator, device=device)
    excess = torch.zeros(pairs, dtype=torch.float64, device=device)
    child_values = torch.zeros(pairs, dtype=torch.float64, device=device)
    parents_at: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
    for t in range(steps + 1):
        rows = torch.nonzero(chosen == t).reshape(-1)
        if rows.numel() == 0:
            continue
        parents = None if t == steps else per_step_rejection_sample(    # a sampler path down to x_{t+1}
            counting, values, baseline, rows.numel(), generator=generator, stop_at=t + 1).samples
        children = exact_tilted_children(counting, parents, t, values, n=rows.numel(), generator=generator)
        b = torch.as_tensor(baseline(parents, t), dtype=torch.float64, device=device).reshape(-1)
        child_values[rows] = values(children, t).double()
        excess[rows] = child_values[rows] - b
        parents_at[t] = (rows, parents)
    exceeded = excess > 0
    count = int(exceeded.sum())
    clipped = -torch.expm1(-torch.clamp(excess, min=0.0) / values.lam).cpu().numpy()
    upper = bounded_mean_upper_confidence(clipped, eta)
    certified = count <= allowed if statistic == "tail" else upper <= budget / (steps + 1)
    return PathTest(pairs=pairs, exceedances=count, allowed=allowed, certified=bool(certified),
                    queries=counting.draws - start, steps=chosen[exceeded].tolist(), statistic=statistic,
                    clipped_mean=float(clipped.mean()), clipped_upper=upper, rate=budget / (steps + 1),
                    excess=excess.cpu().numpy(), child_values=child_values, parents_at=parents_at)


def planned_shift(test: PathTest, tested_shift: float, grid, baseline, base_offsets: dict[int, float],
                  fraction: float) -> float | None:
    """The next candidate after a certified test. Scan the grid shifts s below ``tested_shift`` downward, from
    the highest, computing each one's plug-in clipped mass on that test's pairs,
    ``mean_i (1 − e^{−(V̂(x_i) − b^{(s)}(y_i))/λ})_+`` with the candidate baseline ``b^{(s)}`` (offsets
    ĉ + sλ, capped at the envelope as the sampler caps them); stop at the first shift whose mass exceeds
    ``fraction·r`` (``PLAN_FRACTION`` = 0.25 in ``calibrate_path_offsets``) and return the shift scanned just
    before it — the lowest of the unbroken run of passing shifts, the lowest grid shift when none fails —
    or None when the highest already fails. A planning estimate only (it ignores that the parents move with
    the offsets); the next test alone decides."""
    lam = baseline.values.lam
    saved = dict(baseline.offsets)
    chosen = None
    try:
        for shift in sorted((float(s) for s in grid if s < tested_shift), reverse=True):
            baseline.offsets = {t: c + shift * lam for t, c in base_offsets.items()}
            excess = test.child_values.clone()
            for t, (rows, parents) in test.parents_at.items():
                b = torch.as_tensor(baseline(parents, t), dtype=torch.float64, device=excess.device).reshape(-1)
                excess[rows] = excess[rows] - b
            if float((-torch.expm1(-torch.clamp(excess, min=0.0) / lam)).mean()) > fraction * test.rate:
                break
            chosen = shift
    finally:
        baseline.offsets = saved
    return chosen


def calibrate_path_offsets(kernel, values, baseline: LearnedChernoffBaseline, base_offsets: dict[int, float], *,
                           budget: float, eta: float, first_shift: float = FIRST_SHIFT, grid=SHIFT_GRID,
                           max_tests: int = 3, plan_fraction: float = PLAN_FRACTION, pairs=None,
                           statistic: str = "clip", generator: torch.Generator | None = None,
                           log=None) -> list[PathTest]:
    """The theorem's sequence: offsets ``ĉ_t + s_k λ``, starting at ``s_1 = first_shift``; after each certified
    test the next shift is planned from that test's pairs (``planned_shift``: scanning the grid downward, the
    lowest shift before the first whose plug-in clipped mass exceeds ``plan_fraction·r``), each candidate tested on fresh pairs with its own sampler,
    at most ``max_tests`` tests, stopping at the first failure. ``baseline.offsets`` ends as the last certified
    candidate, or +inf at every step (the envelope: ideal per-step rejection) when the first fails.
    ``pairs``: m per test, an int or one per test (the last repeats); default ``"clip"``: every test uses
    ``min_num_pairs_for_path_clip_test`` at the single design fraction ``DESIGN_FRACTIONS = (0.4,)``, the m
    that certifies a sample mean up to 0.4·r (6 624 pairs at ε = η = 0.05, T = 20); ``"tail"``: the smallest
    m certifying 0 exceedances."""
    budget = check_unit_interval("budget", budget)
    eta = check_unit_interval("eta", eta)
    grid = tuple(float(s) for s in grid)
    if not math.isfinite(first_shift) or any(not math.isfinite(s) for s in grid):
        raise ValueError("first_shift and grid must be finite numbers")
    max_tests = _positive_int("max_tests", max_tests)
    counting = kernel if isinstance(kernel, CountingKernel) else CountingKernel(kernel)
    steps = counting.steps
    if set(base_offsets) != set(range(steps + 1)):
        raise ValueError(f"base_offsets must hold one offset per step 0..{steps}")
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    if pairs is None:
        pairs = ([min_num_pairs_for_path_clip_test(budget, eta, steps + 1, kappa) for kappa in DESIGN_FRACTIONS]
                 if statistic == "clip" else [min_num_pairs_for_path_tail_test(budget, eta, steps + 1)])
    pairs = [_positive_int("pairs", m) for m in ([pairs] if isinstance(pairs, (int, np.integer)) else pairs)]
    if not pairs:
        raise ValueError("pairs must name at least one test size")
    lam = values.lam
    certified = {t: math.inf for t in range(steps + 1)}
    tests: list[PathTest] = []
    shift: float | None = float(first_shift)
    while shift is not None and len(tests) < max_tests:
        candidate = {t: base_offsets[t] + shift * lam for t in range(steps + 1)}
        baseline.offsets = dict(candidate)
        outcome = path_exceedance_test(counting, values, baseline, pairs=pairs[min(len(tests), len(pairs) - 1)],
                                       budget=budget, eta=eta, statistic=statistic, generator=generator)
        outcome.shift = shift
        tests.append(outcome)
        if log is not None:
            log(f"path test ({statistic}) at shift {shift:+.2f}λ: {outcome.exceedances} exceedances of {outcome.pairs} "
                f"pairs, mean clipped mass {outcome.clipped_mean:.2e} (upper {outcome.clipped_upper:.2e} vs "
                f"{outcome.rate:.2e}) -> {'certified' if outcome.certified else 'stop'}")
        if not outcome.certified:
            break
        certified = candidate
        shift = planned_shift(outcome, shift, grid, baseline, base_offsets, plan_fraction) if len(tests) < max_tests else None
    baseline.offsets = certified
    return tests


def train_path_calibrated_baseline(kernel, values, *, budget: float, eta: float, train_parents: int = 512,
                                   children: int = 16, tilted_children: int = 0, selection_pairs: int = 400,
                                   offset_level: float | None = None, first_shift: float = FIRST_SHIFT,
                                   grid=SHIFT_GRID, max_tests: int = 3, test_pairs=None,
                                   statistic: str = "clip", cap: float = 6.0, hidden: int = 32,
                                   iterations: int = 300, learning_rate: float = 0.02, smoothing: float = 0.1,
                                   train_fraction: float = 0.4, vocabulary: int | None = None,
                                   generator: torch.Generator | None = None,
                                   log=None) -> tuple[LearnedChernoffBaseline, TrainingReport]:
    """Fit a ``LearnedChernoffBaseline`` step by step from the prior down and certify it with the path test
    (module docstring): with probability ≥ 1 − η the sampler's path TV to the targeted chain is ≤ ``budget``.

    Per step t: the parents are the population of ``train_parents + selection_pairs`` sampler chains, advanced
    from step t+1 with the provisional baseline; γ_t is fitted on the training parents (k untilted and
    ``tilted_children`` tilted children each, ``fit_step_network``) and chosen among the candidates of
    ``learning.model_selection`` on the selection parents (one tilted child each), whose residuals also give the
    provisional offset ĉ_t at per-step tail ``offset_level`` (default ε/(T+1)). Then the candidates
    ``ĉ + sλ`` are tested in sequence (``calibrate_path_offsets``: ``first_shift``, then shifts planned on the
    grid, at most ``max_tests``). ``report.offsets`` are the certified offsets, ``report.base_offsets`` ĉ,
    ``report.history[t]`` the fit and selection, ``report.path_tests`` the tests (``PathTest``).
    Validity does not depend on how well the parents of step t follow the final sampler: the tests draw
    their own paths."""
    budget = check_unit_interval("budget", budget)
    eta = check_unit_interval("eta", eta)
    cap = check_positive("cap", cap)
    train_parents = _positive_int("train_parents", train_parents)
    selection_pairs = _positive_int("selection_pairs", selection_pairs)
    if isinstance(tilted_children, bool) or not isinstance(tilted_children, int) or tilted_children < 0:
        raise ValueError(f"tilted_children must be a non-negative integer, got {tilted_children!r}")
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    max_tests = _positive_int("max_tests", max_tests)
    if not math.isfinite(first_shift) or any(not math.isfinite(float(shift)) for shift in grid):
        raise ValueError("first_shift and grid must be finite numbers")
    if test_pairs is not None:
        sizes = [test_pairs] if isinstance(test_pairs, (int, np.integer)) else list(test_pairs)
        if not sizes:
            raise ValueError("test_pairs must name at least one test size (or be None for the design's)")
        for m in sizes:
            _positive_int("test_pairs", m)
    children = _positive_int("children", children)
    iterations = _positive_int("iterations", iterations)
    hidden = _positive_int("hidden", hidden)
    learning_rate = check_positive("learning_rate", learning_rate)
    smoothing = check_positive("smoothing", smoothing)
    train_fraction = check_positive("train_fraction", train_fraction)
    if train_fraction > 1.0:
        raise ValueError(f"train_fraction must be a number in (0, 1], got {train_fraction!r}")
    if vocabulary is not None:
        vocabulary = _positive_int("vocabulary", vocabulary)
    lam = values.lam
    counting = kernel if isinstance(kernel, CountingKernel) else CountingKernel(kernel)
    steps = counting.steps
    level = budget / (steps + 1) if offset_level is None else check_unit_interval("offset_level", offset_level)
    start, clock = counting.draws, time.perf_counter()
    baseline = LearnedChernoffBaseline(values, cap)
    report = TrainingReport(delta=budget / (steps + 1), eta=eta, calibration_pairs=0)
    base_offsets: dict[int, float] = {}
    # Prior step: ĉ_T from tilted prior draws, then the population's first state.
    prior = exact_tilted_children(counting, None, steps, values, n=selection_pairs, generator=generator)
    base_offsets[steps] = point_offset((values(prior, steps) - values.root()).cpu().numpy(), lam, level)
    baseline.offsets[steps] = base_offsets[steps]
    population, _ = step_rejection_sample(counting, None, steps, values, baseline(None, steps).reshape(1),
                                          n=train_parents + selection_pairs, generator=generator)
    previous = None
    for t in reversed(range(steps)):
        training, selection = population[:train_parents], population[train_parents:]
        parent_values = values(training, t + 1)
        kids = counting.sample_children(training, t, children, generator)
        log_ratios = (values(kids.reshape(-1, *kids.shape[2:]), t).reshape(train_parents, children)
                      - parent_values[:, None]) / lam
        tilted_log_ratios = None
        if tilted_children > 0:
            tilted = exact_tilted_children(counting, training.repeat_interleave(tilted_children, 0), t, values,
                                           generator=generator)
            tilted_log_ratios = ((values(tilted, t) - parent_values.repeat_interleave(tilted_children)) / lam
                                 ).reshape(train_parents, tilted_children)
        features = StepFeatures(training, parent_values, lam, vocabulary)
        inputs = features(training, parent_values)

        def fit(seed: int, initial):
            return fit_step_network(inputs, log_ratios, delta_train=train_fraction * level, cap=cap, hidden=hidden,
                                    tilted_log_ratios=tilted_log_ratios, iterations=iterations,
                                    learning_rate=learning_rate, smoothing=smoothing, seed=seed, initial=initial)

        warm = fit(t, None if previous is None else copy_network(previous))
        candidates = selection_candidates(fit, warm, inputs, log_ratios, level=level, cap=cap, hidden=hidden,
                                          iterations=iterations, learning_rate=learning_rate, seed=t)
        baseline.features[t] = features
        network, history, base_offsets[t] = select_network(
            candidates, baseline, counting, values, selection, t, children,
            lambda kernel, parents, step, values, generator: exact_tilted_children(kernel, parents, step, values,
                                                                                   generator=generator),
            lambda residuals: point_offset(residuals, lam, level), generator)
        baseline.networks[t] = network
        baseline.offsets[t] = base_offsets[t]
        report.history[t] = history
        if not isinstance(network, ConstantNetwork):
            previous = network
        if t > 0:
            population, _ = step_rejection_sample(counting, population, t, values, baseline(population, t),
                                                  generator=generator)
        if log is not None:
            log(f"step {t}: provisional offset {base_offsets[t]:.3f}, selected {history['selected']}, "
                f"training queries so far {counting.draws - start}")
    report.path_tests = calibrate_path_offsets(counting, values, baseline, base_offsets, budget=budget, eta=eta,
                                               first_shift=first_shift, grid=grid, max_tests=max_tests,
                                               pairs=test_pairs, statistic=statistic, generator=generator, log=log)
    report.base_offsets = base_offsets
    report.offsets = dict(baseline.offsets)
    report.training_queries = counting.draws - start
    report.seconds = time.perf_counter() - clock
    return baseline, report
