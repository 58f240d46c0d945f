"""Exact law of a per-step rejection sampler on a finite chain (``MaskedDiffusion``, or any chain with its
enumeration interface: ``primitives.masked_lm_exact.EnumeratedMaskedLM``), by enumeration.

Per-step rejection with baseline b and values V̂ moves a parent y to a child x with probability
``q̂_t(x|y) = p_t(x|y) min(1, e^{(V̂_t(x) − b_t(y))/λ}) / Z_b(y)``. Starting from the prior (a point mass
for the masked chain, where rejection changes nothing), pushing the law level by level through these
kernels gives the sampler's exact marginals ``q̂_t`` and its exact x_0 law. Along the way T7's terms
``E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))`` are exact sums.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from estimators.exact.chain_laws import kernel_value_laws
from primitives.masked_diffusion import MaskedDiffusion

__all__ = ["FiniteSamplerLaw", "finite_sampler_law", "aligned_data_law"]


@dataclass(frozen=True)
class FiniteSamplerLaw:
    """``x0_probs[n]``: the sampler's probability of data sequence n; ``step_terms[t]``: T7's exact
    expected per-step TV at step t (index T: the prior step); ``marginals[t]``: (states, probs)."""

    x0_probs: np.ndarray
    step_terms: np.ndarray
    marginals: list

    @property
    def path_bound(self) -> float:
        return float(self.step_terms.sum())


def aligned_data_law(chain: MaskedDiffusion, reward, lam: float) -> np.ndarray:
    """``q_0 ∝ P_n e^{r(s_n)/λ}`` over the data table (exact)."""
    scores = chain.log_probs + chain.data_rewards(reward) / lam
    return torch.softmax(scores, 0).cpu().numpy()


def finite_sampler_law(chain: MaskedDiffusion, values, baseline, *, target=None) -> FiniteSamplerLaw:
    """Exact marginals and x_0 law of per-step rejection on a masked chain (module docstring)."""
    if not isinstance(chain, MaskedDiffusion) and not all(
            hasattr(chain, name) for name in ("kernel_atoms", "data_index", "sequences", "mask", "length")):
        raise ValueError("finite_sampler_law needs an enumerable chain (a MaskedDiffusion or EnumeratedMaskedLM)")
    lam = values.lam
    steps = chain.steps
    states = chain.sample_prior(1)
    probs = torch.ones(1, dtype=chain.dtype, device=chain.device)
    terms = np.zeros(steps + 1)
    prior = kernel_value_laws(chain, steps, None, values, target=target)
    terms[steps] = float(prior.tv_to_target(lam, baseline(None, steps))[0])
    marginals = [None] * (steps + 1)
    marginals[steps] = (states, probs)
    base = chain.mask + 1
    weights = base ** torch.arange(chain.length - 1, -1, -1, device=chain.device)
    for t in reversed(range(steps)):
        laws = kernel_value_laws(chain, t, states, values, target=target)
        b = baseline(states, t).reshape(-1).to(chain.dtype)
        terms[t] = float((probs * laws.tv_to_target(lam, b)).sum())
        log_accept = torch.clamp((torch.nan_to_num(laws.values, nan=0.0) - b[:, None]) / lam, max=0.0)
        log_step = laws.log_probs + log_accept - laws.log_clipped_partition(lam, b)[:, None]
        mass = probs[:, None] * torch.exp(log_step)                                   # (S, A)
        atoms = chain.kernel_atoms(t, states).atoms                                    # (S, A, L)
        keep = mass > 0
        child_states, child_mass = atoms[keep], mass[keep]
        codes = (child_states * weights).sum(-1)
        unique_codes, inverse = torch.unique(codes, return_inverse=True)
        new_probs = torch.zeros(unique_codes.shape[0], dtype=chain.dtype, device=chain.device)
        new_probs.scatter_add_(0, inverse, child_mass)
        first = torch.zeros(unique_codes.shape[0], dtype=torch.long, device=chain.device)
        first.scatter_(0, inverse, torch.arange(codes.shape[0], device=chain.device))
        states, probs = child_states[first], new_probs
        marginals[t] = (states, probs)
    index = chain.data_index(states)
    if bool((index < 0).any()):
        raise RuntimeError("the sampler reached a sequence outside the data table")
    x0 = np.zeros(chain.sequences.shape[0])
    np.add.at(x0, index.cpu().numpy(), probs.cpu().numpy())
    return FiniteSamplerLaw(x0_probs=x0, step_terms=terms, marginals=marginals)
