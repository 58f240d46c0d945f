"""Samplers of the aligned chain that use the model only through its black-box kernel (LCB spec,
"Diffusion chains").

Target: ``q(x_{0:T}) ∝ p(x_{0:T}) e^{r(x_0)/λ}``; its kernels are
``q_t(x | y) = p_t(x | y) e^{(V_t(x) − V_{t+1}(y))/λ}`` and ``q_T ∝ p_T e^{V_T/λ}`` (``V_{T+1} := V``,
the root value ``λ log E_p e^{r/λ}``).

* ``unaligned_sample``: the base chain (T + 1 queries per sample).
* ``trajectory_rejection_sample``: propose whole chains, accept with ``e^{(r(x_0) − B)/λ}``, ``B ≥ sup r``:
  exact (T1 on path space), ``(T + 1)·e^{(B − V)/λ}`` queries per sample on average.
* ``last_step_rejection_sample`` (the LCB authors' "last-step"): trajectory rejection of the chain up to x_1
  with ``e^{(V̂_1(x_1) − B)/λ}``, then the last step by rejection with envelope B: exact for ``B ≥ sup V_0``.
* ``per_step_rejection_sample``: at each step propose children ``x ~ p_t(·|y)`` and accept with
  ``min(1, e^{(V̂_t(x) − b_t(y))/λ})``; the first accepted child moves on. The baseline decides the method:
  ``EnvelopeBaseline`` (``b ≥ sup V_t``: ideal per-step, exact), ``OffsetBaseline`` (``V̂_{t+1}(y) + c``),
  and the oracle, analytic and learned baselines of ``estimators.chain_baselines``.

Query counting: ``queries`` counts, for every particle and step, the proposals up to and including the
first accepted one, which is exactly what a sequential implementation spends (the count T4 predicts).
The batched implementation draws some children past the first acceptance; those are counted separately
in ``kernel_draws`` (every state the kernel produced), so nothing is hidden.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, runtime_checkable

import math

import torch

from primitives._checks import check_finite_scalar, check_positive
from primitives.diffusion import ChainKernel, CountingKernel
from primitives.rewards import Reward, as_reward

__all__ = [
    "SoftValues", "ExactSoftValues", "ChainBaseline", "EnvelopeBaseline", "OffsetBaseline", "ConstantBaseline",
    "last_step_rejection_sample",
    "ChainResult", "unaligned_sample", "trajectory_rejection_sample", "per_step_rejection_sample",
    "step_rejection_sample", "baseline_values", "default_max_batch",
]


@runtime_checkable
class SoftValues(Protocol):
    """``V̂_t``: a callable ``(states, t) -> (m,)`` for t = 0..T, the root value and the envelopes."""

    lam: float

    def __call__(self, states: torch.Tensor, t: int) -> torch.Tensor: ...

    def root(self) -> float: ...

    def envelope(self, t: int) -> float: ...


class ExactSoftValues:
    """The exact ``V_t`` of a chain that computes them (``GaussianMixtureDiffusion``, ``MaskedDiffusion``)."""

    exact = True

    def __init__(self, chain, reward: Reward, lam: float) -> None:
        self.chain = chain
        self.reward = as_reward(reward)
        self.lam = check_positive("lam", lam)
        self._root = lam * chain.log_partition(self.reward, self.lam)
        self._envelopes: dict[int, float] = {}

    def __call__(self, states: torch.Tensor, t: int) -> torch.Tensor:
        return self.chain.soft_value(states, t, self.reward, self.lam)

    def root(self) -> float:
        """``V = λ log E_p e^{r/λ}`` (plays ``V_{T+1}`` for the prior step)."""
        return self._root

    def envelope(self, t: int) -> float:
        """``sup_x V_t(x)``: the chain's own exact value when it has one, else ``sup r`` (V_t ≤ sup r)."""
        if t not in self._envelopes:
            if hasattr(self.chain, "value_envelope"):
                self._envelopes[t] = float(self.chain.value_envelope(t, self.reward, self.lam))
            else:
                if not math.isfinite(self.reward.sup):
                    raise ValueError(f"envelope: reward {self.reward.name} has no finite supremum; ideal per-step "
                                     "rejection needs one")
                self._envelopes[t] = float(self.reward.sup)
        return self._envelopes[t]


@runtime_checkable
class ChainBaseline(Protocol):
    """``b_t(y)``: ``(parents, t) -> (m,)``; ``parents=None`` at the prior step t = T returns a 0-dim tensor."""

    def __call__(self, parents: torch.Tensor | None, t: int) -> torch.Tensor: ...


class EnvelopeBaseline:
    """Ideal per-step rejection: ``b_t(y) = sup_x V̂_t(x)`` for every parent (no clipping, exact kernels)."""

    def __init__(self, values: SoftValues, margin: float = 0.0) -> None:
        self.values = values
        self.margin = check_finite_scalar("margin", margin)

    def __call__(self, parents: torch.Tensor | None, t: int) -> torch.Tensor:
        level = torch.tensor(self.values.envelope(t) + self.margin, dtype=torch.float64)
        return level if parents is None else level.expand(parents.shape[0]).to(parents.device)


class OffsetBaseline:
    """``b_t(y) = V̂_{t+1}(y) + offset`` (``V + offset`` at the prior step): the simplest state baseline."""

    def __init__(self, values: SoftValues, offset: float) -> None:
        self.values = values
        self.offset = check_finite_scalar("offset", offset)

    def __call__(self, parents: torch.Tensor | None, t: int) -> torch.Tensor:
        if parents is None:
            return torch.tensor(self.values.root() + self.offset, dtype=torch.float64)
        return self.values(parents, t + 1) + self.offset


class ConstantBaseline:
    """``b_t ≡ level`` at every step, the prior included (the LCB authors' "exact per-step" with envelope B)."""

    def __init__(self, level: float) -> None:
        self.level = check_finite_scalar("level", level)

    def __call__(self, parents: torch.Tensor | None, t: int) -> torch.Tensor:
        b = torch.tensor(self.level, dtype=torch.float64)
        return b if parents is None else b.expand(parents.shape[0]).to(parents.device)


@dataclass
class ChainResult:
    """x_0 samples; ``queries`` (sequential-equivalent proposals), ``kernel_draws`` (all draws made),
    per-step query counts (index t = 0..T), and, when recorded, the accepted states of every step
    (``states[t]``, shape (n, …)) and each particle's proposals per step (``proposals[t]``, shape (n,))."""

    samples: torch.Tensor
    queries: int
    kernel_draws: int
    step_queries: list[int]
    states: list[torch.Tensor] | None = None
    proposals: list[torch.Tensor] | None = None
    details: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.samples.shape[0])

    @property
    def queries_per_sample(self) -> float:
        return self.queries / max(self.n, 1)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return n


def _counting(kernel: ChainKernel) -> CountingKernel:
    return kernel if isinstance(kernel, CountingKernel) else CountingKernel(kernel)


def unaligned_sample(kernel: ChainKernel, n: int, *, generator: torch.Generator | None = None,
                     record_states: bool = False) -> ChainResult:
    """The base chain: ``x_T ~ p_T``, then one child per step."""
    n = _check_n(n)
    counting = _counting(kernel)
    start = counting.draws
    x = counting.sample_prior(n, generator)
    states = [None] * (counting.steps + 1)
    states[counting.steps] = x
    for t in reversed(range(counting.steps)):
        x = counting.sample_children(x, t, 1, generator)[:, 0]
        states[t] = x
    per_step = [n] * (counting.steps + 1)
    return ChainResult(samples=x, queries=n * (counting.steps + 1), kernel_draws=counting.draws - start,
                       step_queries=per_step, states=states if record_states else None)


def _path_rejection(counting, n: int, lowest: int, log_accept_of, generator, max_batch: int, max_chains: int,
                    name: str) -> tuple[torch.Tensor, int]:
    """Propose paths ``x_T, …, x_lowest`` in batches and accept each with ``e^{log_accept_of(x_lowest)}`` until n
    are accepted; returns the accepted states (in proposal order) and the number of paths proposed up to the
    n-th acceptance. The batch size follows the running acceptance rate."""
    kept, remaining, chains, accepted_total = [], n, 0, 0
    while remaining > 0:
        rate = (accepted_total + 1.0) / (chains + 2.0)
        batch = int(min(max_batch, max(256, math.ceil(1.2 * remaining / rate) + 64)))
        if chains + batch > max_chains:
            raise RuntimeError(f"{name} needed more than max_chains={max_chains} chains")
        x = counting.sample_prior(batch, generator)
        for t in reversed(range(lowest, counting.steps)):
            x = counting.sample_children(x, t, 1, generator)[:, 0]
        log_accept = log_accept_of(x)
        uniforms = torch.rand(batch, generator=generator, device=log_accept.device, dtype=log_accept.dtype)
        accept = torch.log(uniforms) < log_accept
        hits = int(accept.sum())
        if hits >= remaining:
            last = int(torch.nonzero(accept)[remaining - 1])
            kept.append(x[: last + 1][accept[: last + 1]])
            chains += last + 1
            remaining = 0
        else:
            kept.append(x[accept])
            chains += batch
            accepted_total += hits
            remaining -= hits
    return (torch.cat(kept) if kept else counting.sample_prior(0, generator)), chains


def trajectory_rejection_sample(kernel: ChainKernel, reward: Reward, lam: float, n: int, *,
                                envelope: float | None = None, generator: torch.Generator | None = None,
                                max_batch: int = 1 << 17, max_chains: int = 10**9) -> ChainResult:
    """Exact reference: whole chains accepted with ``e^{(r(x_0) − B)/λ}``, ``B = envelope ≥ sup r``.

    Counts ``T + 1`` queries per proposed chain, up to the chain that gives the n-th acceptance.
    """
    lam = check_positive("lam", lam)
    n = _check_n(n)
    reward = as_reward(reward)
    if envelope is None:
        envelope = reward.sup
    envelope = check_finite_scalar("envelope", envelope)
    counting = _counting(kernel)
    start = counting.draws
    samples, chains = _path_rejection(counting, n, 0, lambda x: torch.clamp((reward(x) - envelope) / lam, max=0.0),
                                      generator, max_batch, max_chains, "trajectory rejection")
    queries = chains * (counting.steps + 1)
    return ChainResult(samples=samples, queries=queries, kernel_draws=counting.draws - start,
                       step_queries=[chains] * (counting.steps + 1), details={"chains": chains})


def last_step_rejection_sample(kernel: ChainKernel, values: SoftValues, n: int, *, envelope: float,
                               generator: torch.Generator | None = None, max_batch: int = 1 << 17,
                               max_chains: int = 10**9) -> ChainResult:
    """The authors' "last-step" sampler, exact for ``envelope = B ≥ sup V_0 ≥ sup V_1``.

    Stage 1 proposes chains ``x_T, …, x_1`` (T queries each: the prior draw and T − 1 children) and accepts
    with ``e^{(V̂_1(x_1) − B)/λ}``: the accepted x_1 has law ``∝ p_1 e^{V̂_1/λ}`` (= q_1 for exact values,
    since ``q(x_{1:T}) ∝ p(x_{1:T}) e^{V_1(x_1)/λ}``). Stage 2 draws ``x_0 ~ p_0(·|x_1)`` accepted with
    ``min(1, e^{(V̂_0(x_0) − B)/λ})``, i.e. ``q_0(·|x_1)`` (T1). Queries: T per proposed chain up to the n-th
    acceptance, plus the last step's proposals.
    """
    n = _check_n(n)
    lam = check_positive("lam", values.lam)
    envelope = check_finite_scalar("envelope", envelope)
    counting = _counting(kernel)
    if counting.steps < 2:
        raise ValueError("kernel: the last-step sampler needs T ≥ 2 steps")
    start = counting.draws
    parents, chains = _path_rejection(counting, n, 1, lambda x: torch.clamp((values(x, 1) - envelope) / lam, max=0.0),
                                      generator, max_batch, max_chains, "last-step rejection")
    baselines = torch.full((parents.shape[0],), envelope, dtype=torch.float64, device=counting.device)
    samples, proposals = step_rejection_sample(counting, parents, 0, values, baselines, generator=generator)
    last = int(proposals.sum())
    return ChainResult(samples=samples, queries=chains * counting.steps + last, kernel_draws=counting.draws - start,
                       step_queries=[last] + [chains] * counting.steps, details={"chains": chains})


#: Draws per proposal round when ``max_batch`` is not given: the CPU keeps rounds cache-sized; a GPU needs
#: millions of draws per launch to amortise its kernel launches and the one host synchronisation a round
#: costs (the compaction of the still-active parents).
DEFAULT_MAX_BATCH = {"cpu": 1 << 19, "cuda": 1 << 22}


def default_max_batch(device: torch.device | str) -> int:
    """Draws per proposal round on ``device`` (``DEFAULT_MAX_BATCH``; unknown device types use the CPU's)."""
    return DEFAULT_MAX_BATCH.get(torch.device(device).type, DEFAULT_MAX_BATCH["cpu"])


def _rejection_step(propose: Callable[[torch.Tensor, int], torch.Tensor],
                    evaluate: Callable[[torch.Tensor], torch.Tensor], baselines: torch.Tensor, lam: float,
                    template: torch.Tensor, generator: torch.Generator | None, max_batch: int | None,
                    max_proposals: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One accepted child per parent; returns (children (m, …), proposals per parent (m,)).

    Rounds draw ``c`` children for every still-active parent (c doubles each round, capped by
    ``max_batch``), accept the first child with ``log U < min(0, (V̂(x) − b)/λ)`` and record its index.
    Host synchronisation: one per chunk (the compaction of the parents still without a child) besides what
    the kernel's own validation costs. The proposal cap is checked without reading the device: every
    still-active parent has drawn exactly the children of every round so far.
    """
    m = baselines.shape[0]
    device = baselines.device
    if max_batch is None:
        max_batch = default_max_batch(device)
    accepted = template.new_empty((m, *template.shape[1:]))
    proposals = torch.zeros(m, dtype=torch.long, device=device)
    active = torch.arange(m, device=device)
    children_per_parent = 2
    drawn_by_active = 0   # proposals of every still-active parent (identical across them)
    while active.numel() > 0:
        if drawn_by_active > max_proposals:
            raise RuntimeError(f"per-step rejection needed more than max_proposals={max_proposals} proposals for "
                               "one parent (baseline far above the values?)")
        c = max(1, min(children_per_parent, max_batch // max(active.numel(), 1)))
        still_active = []
        for chunk in torch.split(active, max(1, max_batch // c)):
            children = propose(chunk, c)                                          # (a, c, …)
            a = chunk.shape[0]
            values = evaluate(children.reshape(a * c, *children.shape[2:])).reshape(a, c)
            log_accept = torch.clamp((values - baselines[chunk, None]) / lam, max=0.0)
            uniforms = torch.rand(a, c, generator=generator, device=values.device, dtype=values.dtype)
            accept = torch.log(uniforms) < log_accept
            has = accept.any(1)
            first = accept.to(torch.int8).argmax(1)
            # Masked updates by torch.where over the whole chunk: no host read until the compaction below.
            proposals[chunk] += torch.where(has, first + 1, torch.full_like(first, c))
            chosen = children[torch.arange(a, device=children.device), first]
            keep = has.reshape(a, *([1] * (chosen.ndim - 1)))
            accepted[chunk] = torch.where(keep, chosen, accepted[chunk])
            still_active.append(chunk[~has])
        drawn_by_active += c
        active = torch.cat(still_active)
        children_per_parent = min(children_per_parent * 2, 1 << 14)
    return accepted, proposals


def baseline_values(b, m: int, t: int, *, device: torch.device | str = "cpu") -> torch.Tensor:
    """A baseline's output as m float64 values on ``device`` (a scalar is broadcast); ``ValueError`` for the
    wrong count or NaN, naming the step."""
    if not isinstance(b, torch.Tensor):
        b = torch.as_tensor(b, dtype=torch.float64)
    b = b.reshape(-1).to(device=device, dtype=torch.float64)
    if b.shape[0] == 1 and m != 1:
        b = b.expand(m)
    if b.shape[0] != m:
        raise ValueError(f"baseline returned {b.shape[0]} values for {m} parents at step {t}")
    if torch.isnan(b).any():
        raise ValueError(f"baseline returned NaN at step {t}")
    return b


def per_step_rejection_sample(kernel: ChainKernel, values: SoftValues, baseline: ChainBaseline, n: int, *,
                              generator: torch.Generator | None = None, record_states: bool = False,
                              stop_at: int = 0, max_batch: int | None = None, max_proposals: int = 10**8) -> ChainResult:
    """Per-step tilted rejection with state-dependent baseline ``b_t(y)`` (LCB spec, per-step rejection).

    Step T draws ``x_T`` from the prior accepted with ``min(1, e^{(V̂_T(x) − b_T)/λ})``; each later step
    draws children of the current state accepted with ``min(1, e^{(V̂_t(x) − b_t(y))/λ})``. With
    ``stop_at = s > 0`` the chain stops at step s and ``samples`` are the states ``x_s`` (used to train
    baselines step by step).
    """
    n = _check_n(n)
    if isinstance(stop_at, bool) or not isinstance(stop_at, int) or not 0 <= stop_at <= kernel.steps:
        raise ValueError(f"stop_at must be an integer step in [0, {kernel.steps}], got {stop_at!r}")
    lam = check_positive("lam", values.lam)
    counting = _counting(kernel)
    start = counting.draws
    steps = counting.steps
    states: list[torch.Tensor | None] = [None] * (steps + 1)
    proposals: list[torch.Tensor | None] = [None] * (steps + 1)
    step_queries = [0] * (steps + 1)

    def check_baseline(b: torch.Tensor, m: int, t: int) -> torch.Tensor:
        return baseline_values(b, m, t, device=counting.device)

    template = counting.sample_prior(0, generator)
    prior_baseline = check_baseline(baseline(None, steps), 1, steps).expand(n).contiguous()
    x, count = _rejection_step(
        lambda chunk, c: counting.sample_prior(chunk.shape[0] * c, generator).reshape(chunk.shape[0], c, *counting.state_shape),
        lambda children: values(children, steps), prior_baseline.to(template.device), lam, template, generator,
        max_batch, max_proposals)
    states[steps], proposals[steps], step_queries[steps] = x, count, int(count.sum())
    for t in reversed(range(stop_at, steps)):
        parents = x
        b = check_baseline(baseline(parents, t), parents.shape[0], t).to(parents.device)
        x, count = _rejection_step(
            lambda chunk, c, parents=parents, t=t: counting.sample_children(parents[chunk], t, c, generator),
            lambda children, t=t: values(children, t), b, lam, template, generator, max_batch, max_proposals)
        states[t], proposals[t], step_queries[t] = x, count, int(count.sum())
    return ChainResult(samples=x, queries=sum(step_queries), kernel_draws=counting.draws - start,
                       step_queries=step_queries, states=states if record_states else None,
                       proposals=proposals if record_states else None)


def step_rejection_sample(kernel: ChainKernel, parents: torch.Tensor | None, t: int, values: SoftValues,
                          baselines: torch.Tensor, *, n: int | None = None, generator: torch.Generator | None = None,
                          max_batch: int | None = None, max_proposals: int = 10**8) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of per-step rejection for given parents (``parents=None``, t = T: n prior draws):
    returns one accepted child per parent and the proposals each used (i.i.d. geometric given y)."""
    lam = check_positive("lam", values.lam)
    counting = _counting(kernel)
    template = counting.sample_prior(0, generator)
    baselines = torch.as_tensor(baselines, dtype=torch.float64, device=counting.device).reshape(-1)
    if parents is None:
        if n is None:
            raise ValueError("n is required for the prior step")
        baselines = baselines.expand(n).contiguous()
        return _rejection_step(
            lambda chunk, c: counting.sample_prior(chunk.shape[0] * c, generator).reshape(chunk.shape[0], c, *counting.state_shape),
            lambda children: values(children, counting.steps), baselines, lam, template, generator, max_batch, max_proposals)
    if baselines.shape[0] == 1:
        baselines = baselines.expand(parents.shape[0]).contiguous()
    if baselines.shape[0] != parents.shape[0]:
        raise ValueError(f"baselines must have one value per parent, got {baselines.shape[0]} for {parents.shape[0]}")
    return _rejection_step(lambda chunk, c: counting.sample_children(parents[chunk], t, c, generator),
                           lambda children: values(children, t), baselines.to(parents.device), lam, template,
                           generator, max_batch, max_proposals)
