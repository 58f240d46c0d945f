"""Chain peers of per-step rejection that a practitioner would use instead (issue 18, item 4): SVDD and
reward-gradient guidance. FK steering / twisted SMC over a chain is ``primitives.peers.smc.fk_steering_sample``.

Target: ``q(x_{0:T}) ∝ p(x_{0:T}) e^{r(x_0)/λ}``, whose kernels are ``q_t(x | y) ∝ p_t(x | y) e^{V_t(x)/λ}``
(``V_0 = r``; LCB spec, "Diffusion chains"). Both samplers see the chain only through its black-box kernel
(``primitives.diffusion.ChainKernel``) and are given soft values ``V̂_t`` (``values(states, t)``, with ``.lam``).
Neither states a TV guarantee to ``q_0``; on an exact chain their distance to it can be measured.

* **SVDD** (soft value-based decoding; Li et al. 2024, "Derivative-free guidance in continuous and discrete
  diffusion models with soft value-based decoding"): at each step, from the parent y (the prior at t = T),
  draw M children ``x^1..x^M ~ p_t(·|y)`` and keep one. ``selection="argmax"`` keeps the first
  ``argmax_j V̂_t(x^j)`` (their α → 0 limit, the setting they run); ``selection="softmax"`` draws j with
  probability ``∝ e^{V̂_t(x^j)/λ}`` (their α = λ): sampling-importance-resampling of the tilted kernel, whose
  per-step law tends to ``q_t(·|y)`` as M → ∞ (``TV ≤ ρ_t(y)/M`` by the SIR bound of ``peer_guarantees``)
  but is biased at every finite M; argmax is biased for every M (it concentrates on high values, not on the
  tilt). With M = 1 either is the base chain. Queries: ``M·(T + 1)`` per sample.
* **Reward-gradient guidance** (classifier guidance, Dhariwal & Nichol 2021, with the soft value as the
  classifier's log-likelihood ``log e^{V̂_t/λ}``): ``x_t = x + s_t ∇V̂_t(y)/λ`` with ``x ~ p_t(·|y)``, i.e. the
  kernel's mean shifted by ``s_t`` times the value gradient at the parent; at the prior ``x_T = x + s_T
  ∇V̂_T(x)/λ`` at the prior draw x. For a Gaussian kernel ``N(μ, σ²I)`` and ``s_t = σ²`` this is the
  first-order (linearised ``V_t``) approximation of ``q_t(·|y) ∝ N(μ, σ²I) e^{V_t/λ}``, exact only for linear
  ``V_t``; ``s ≡ 0`` is the base chain. Gradients by torch autograd through ``values`` (values without a
  gradient at the prior step are refused; a step whose ``V̂_t`` carries none, such as a step reward's
  ``V_0 = r``, is unguided: its gradient is 0 almost everywhere; ``details["steps_without_gradient"]``). Queries: ``T + 1`` per sample (a gradient is a value call, not a kernel call).

Both are batched over samples (chunks of at most ``max_batch`` kernel draws), run on the kernel's device and
take all their randomness from ``generator``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import math

import torch

from primitives._checks import check_positive, resolve_device
from primitives.chain_samplers import ChainResult
from primitives.diffusion import ChainKernel, CountingKernel

__all__ = ["SELECTIONS", "svdd_sample", "gradient_guidance_sample"]

SELECTIONS = ("argmax", "softmax")


def _check_count(name: str, value: int, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return value


def _check_kernel(kernel) -> CountingKernel:
    if not isinstance(kernel, ChainKernel):
        raise ValueError(f"kernel must be a ChainKernel (steps, state_shape, device, sample_prior, sample_children), "
                         f"got {type(kernel).__name__}")
    return kernel if isinstance(kernel, CountingKernel) else CountingKernel(kernel)


def _check_device(device, kernel: CountingKernel) -> torch.device:
    own = torch.device(kernel.device)
    if device is None:
        return own
    resolved = resolve_device(device)
    if resolved.type != own.type or (resolved.index is not None and own.index is not None and resolved.index != own.index):
        raise ValueError(f"device must be the kernel's device ({own}), got {device!r}")
    return own


def _check_values(values) -> float:
    if not callable(values):
        raise ValueError(f"values must be a callable values(states, t) with .lam, got {values!r}")
    return check_positive("values.lam", getattr(values, "lam", float("nan")))


def _select(children: torch.Tensor, scores: torch.Tensor, selection: str, lam: float,
            generator: torch.Generator | None) -> torch.Tensor:
    """One child per row of ``children`` (m, M, …) by ``scores`` (m, M): first argmax, or ∝ e^{score/λ}."""
    if selection == "argmax":
        index = torch.argmax(scores, dim=1)
    else:
        index = torch.multinomial(torch.softmax(scores / lam, dim=1), 1, generator=generator).reshape(-1)
    return children[torch.arange(children.shape[0], device=children.device), index]


def svdd_sample(kernel: ChainKernel, values: Callable[[torch.Tensor, int], torch.Tensor], n: int, *,
                proposals: int, selection: str = "argmax", generator: torch.Generator | None = None,
                device: str | torch.device | None = None, max_batch: int = 1 << 18) -> ChainResult:
    """n samples of SVDD with M = ``proposals`` children per step (module docstring); ``ChainResult`` with
    ``queries = n·M·(T + 1)`` and ``details["selection"]``."""
    counting = _check_kernel(kernel)
    n = _check_count("n", n, minimum=0)
    proposals = _check_count("proposals", proposals, minimum=1)
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}")
    lam = _check_values(values)
    _check_device(device, counting)
    max_batch = _check_count("max_batch", max_batch, minimum=1)
    steps, shape = counting.steps, counting.state_shape
    start = counting.draws
    rows = max(1, max_batch // proposals)
    outputs = []
    for first in range(0, n, rows):
        m = min(rows, n - first)
        flat = counting.sample_prior(m * proposals, generator)
        x = _select(flat.reshape(m, proposals, *shape), values(flat, steps).reshape(m, proposals), selection, lam,
                    generator)
        for t in reversed(range(steps)):
            children = counting.sample_children(x, t, proposals, generator)
            scores = values(children.reshape(m * proposals, *shape), t).reshape(m, proposals)
            x = _select(children, scores, selection, lam, generator)
        outputs.append(x)
    samples = torch.cat(outputs) if outputs else counting.sample_prior(0, generator)
    queries = n * proposals * (steps + 1)
    return ChainResult(samples=samples, queries=queries, kernel_draws=counting.draws - start,
                       step_queries=[n * proposals] * (steps + 1),
                       details={"selection": selection, "proposals": proposals})


def _value_gradient(values, states: torch.Tensor, t: int) -> torch.Tensor | None:
    """``∇_x V̂_t(x)`` at each row (autograd), or None when ``V̂_t`` carries no gradient (a piecewise-constant
    ``V_0 = r``, whose gradient is 0 almost everywhere)."""
    with torch.enable_grad():
        leaf = states.detach().clone().requires_grad_(True)
        out = values(leaf, t)
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            return None
        (gradient,) = torch.autograd.grad(out.sum(), leaf, allow_unused=True)
    if gradient is None:
        return None
    return torch.nan_to_num(gradient.detach(), nan=0.0, posinf=0.0, neginf=0.0)


def _shift(values, states: torch.Tensor, t: int, size: float, lam: float, flat: list[int]) -> torch.Tensor:
    gradient = _value_gradient(values, states, t)
    if gradient is None:
        flat.append(t)
        return torch.zeros_like(states)
    return size * gradient / lam


def _step_sizes(step_sizes, steps: int) -> list[float]:
    if isinstance(step_sizes, (int, float)) and not isinstance(step_sizes, bool):
        step_sizes = [step_sizes] * (steps + 1)
    try:
        sizes = [float(s) for s in step_sizes]
    except (TypeError, ValueError):
        raise ValueError(f"step_sizes must be a number or T + 1 = {steps + 1} numbers ≥ 0, got {step_sizes!r}") from None
    if len(sizes) != steps + 1 or any(not math.isfinite(s) or s < 0 for s in sizes):
        raise ValueError(f"step_sizes must be a number or T + 1 = {steps + 1} finite numbers ≥ 0 (index t = 0..T), "
                         f"got {step_sizes!r}")
    return sizes


def gradient_guidance_sample(kernel: ChainKernel, values: Callable[[torch.Tensor, int], torch.Tensor], n: int, *,
                             step_sizes: float | Sequence[float], generator: torch.Generator | None = None,
                             device: str | torch.device | None = None, max_batch: int = 1 << 18) -> ChainResult:
    """n samples of reward-gradient guidance with step sizes ``s_t`` (one number, or T + 1 numbers indexed
    t = 0..T; module docstring); ``ChainResult`` with ``queries = n·(T + 1)``."""
    counting = _check_kernel(kernel)
    n = _check_count("n", n, minimum=0)
    lam = _check_values(values)
    sizes = _step_sizes(step_sizes, counting.steps)
    _check_device(device, counting)
    max_batch = _check_count("max_batch", max_batch, minimum=1)
    steps = counting.steps
    probe = torch.zeros(1, *counting.state_shape, dtype=torch.float64, device=counting.device)   # no kernel call
    if any(sizes) and _value_gradient(values, probe, steps) is None:
        raise ValueError(f"values: V̂_{steps} (the prior step) carries no autograd gradient; gradient guidance needs "
                         "differentiable values")
    start = counting.draws
    outputs, flat = [], []
    for first in range(0, n, max_batch):
        m = min(max_batch, n - first)
        x = counting.sample_prior(m, generator)
        if sizes[steps] > 0:
            x = x + _shift(values, x, steps, sizes[steps], lam, flat)
        for t in reversed(range(steps)):
            child = counting.sample_children(x, t, 1, generator)[:, 0]
            if sizes[t] > 0:
                child = child + _shift(values, x, t, sizes[t], lam, flat)
            x = child
        outputs.append(x)
    samples = torch.cat(outputs) if outputs else counting.sample_prior(0, generator)
    return ChainResult(samples=samples, queries=n * (steps + 1), kernel_draws=counting.draws - start,
                       step_queries=[n] * (steps + 1), details={"step_sizes": sizes, "steps_without_gradient": sorted(set(flat))})
