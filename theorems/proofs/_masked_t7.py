"""T7's proof steps on the registered masked reference chains ``masked-ref-B*`` (L = 6, V = 8, 512 data
sequences, ``r = B·1{x ∈ A}``, λ = 1), exact by enumeration (issue 22; used by ``diffusion_chains``).

The chain's levels are the states with t masks (``level_states``); its kernels p_t(x|y) are sparse matrices
between levels (``kernel_atoms``, the chain's own exact support). With the baseline ``b_t(y) = V_{t+1}(y) + c``:

* ``V_t`` by the backward recursion ``V_{t+1}(y) = λ log Σ_x p_t(x|y) e^{V_t(x)/λ}`` (compared, in step
  *soft-values*, with the chain's direct enumeration of the consistent data sequences);
* target kernels ``q_t(x|y) = p_t(x|y) e^{(V_t(x) − V_{t+1}(y))/λ}``, sampler kernels
  ``q̂_t(x|y) ∝ p_t(x|y) min(1, e^{(V_t(x) − b_t(y))/λ})``, ``D_y/Z_y`` per parent;
* both path laws by enumerating every path (512 sequences × 6! orders), the x_0 marginals by summing them.

The prior is the all-mask point mass: ``TV(q̂_T, q_T) = 0``. One instance takes ~2 s.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from scipy import sparse

__all__ = ["MaskedCase", "masked_quantities"]


@dataclass(frozen=True)
class MaskedCase:
    """The masked reference chain at reward height B, temperature λ, baseline offset c (a proof payload)."""

    height: float
    lam: float
    offset: float


def _codes(chain, states: torch.Tensor) -> np.ndarray:
    base = chain.mask + 1
    weights = base ** torch.arange(chain.length - 1, -1, -1)
    return (states.long() * weights).sum(-1).cpu().numpy()


@lru_cache(maxsize=1)
def _levels(chain):
    states = [chain.level_states(t)[0] for t in range(chain.steps + 1)]
    kernels = []
    for t in range(chain.steps):
        parents, children = states[t + 1], states[t]
        atoms = chain.kernel_atoms(t, parents)
        probs = torch.exp(atoms.log_probs).double().cpu().numpy()            # (m, A)
        codes = _codes(chain, children)
        order = np.argsort(codes)
        child_codes = _codes(chain, atoms.atoms.reshape(-1, chain.length)).reshape(probs.shape)
        rows, positions = np.nonzero(probs > 0)
        found = np.searchsorted(codes, child_codes[rows, positions], sorter=order)
        cols = order[found]
        if not np.array_equal(codes[cols], child_codes[rows, positions]):
            raise RuntimeError("a kernel atom is not a state of the level below")
        data = probs[rows, positions]
        kernel = sparse.csr_matrix((data, (rows, cols)), shape=(len(parents), len(children)))
        kernel.sum_duplicates()
        kernels.append(kernel)
    return states, kernels


def _with_data(kernel: sparse.csr_matrix, data: np.ndarray) -> sparse.csr_matrix:
    return sparse.csr_matrix((data, kernel.indices, kernel.indptr), shape=kernel.shape)


def _path_tv(kernels_hat, kernels, steps: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Path TV by enumerating every path from the all-mask state; also both x_0 marginals."""
    index, p_hat, p = np.zeros(1, dtype=np.int64), np.ones(1), np.ones(1)
    for t in reversed(range(steps)):
        k_hat, k = kernels_hat[t], kernels[t]
        counts = np.diff(k.indptr)[index]
        starts = k.indptr[index]
        owner = np.repeat(np.arange(index.size), counts)
        offsets = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
        entry = starts[owner] + offsets
        index, p_hat, p = k.indices[entry], p_hat[owner] * k_hat.data[entry], p[owner] * k.data[entry]
    size = kernels[0].shape[1]
    return 0.5 * float(np.abs(p_hat - p).sum()), np.bincount(index, p_hat, size), np.bincount(index, p, size)


@lru_cache(maxsize=8)
def masked_quantities(case: MaskedCase) -> dict:
    """The dict of ``diffusion_chains._quantities`` (values, kernel_tv, clip, terms, path/x0/prior TV) for
    the masked chain, plus ``direct_values`` (the chain's enumeration route)."""
    from tiltproof.instances.chain import _reference_masked, _reward

    chain = _reference_masked()[0]
    reward, lam = _reward("masked", case.height), case.lam
    states, kernels = _levels(chain)
    values = [chain.soft_value(states[0], 0, reward, lam).double().cpu().numpy()]
    for t in range(chain.steps):
        values.append(lam * np.log(kernels[t] @ np.exp(values[-1] / lam)))
    direct = [chain.soft_value(states[t], t, reward, lam).double().cpu().numpy() for t in range(1, chain.steps + 1)]
    targets, samplers, kernel_tv, clip = [], [], [], []
    for t, kernel in enumerate(kernels):
        rows = np.repeat(np.arange(kernel.shape[0]), np.diff(kernel.indptr))
        v_child, v_parent = values[t][kernel.indices], values[t + 1][rows]
        baseline = v_parent + case.offset
        target = kernel.data * np.exp((v_child - v_parent) / lam)
        accepted = kernel.data * np.minimum(1.0, np.exp((v_child - baseline) / lam))
        zb = np.bincount(rows, accepted, kernel.shape[0])
        sampler = accepted / zb[rows]
        w, c = np.exp(v_child / lam), np.exp(baseline / lam)
        excess = np.bincount(rows, kernel.data * np.maximum(w - c, 0.0), kernel.shape[0])
        clip.append(excess / np.bincount(rows, kernel.data * w, kernel.shape[0]))
        kernel_tv.append(0.5 * np.bincount(rows, np.abs(sampler - target), kernel.shape[0]))
        targets.append(_with_data(kernel, target))
        samplers.append(_with_data(kernel, sampler))
    marginal = np.ones(1)
    hat_marginals = {chain.steps: marginal}
    for t in reversed(range(chain.steps)):
        hat_marginals[t] = samplers[t].T @ hat_marginals[t + 1]
    terms = [float(hat_marginals[t + 1] @ kernel_tv[t]) for t in range(chain.steps)]
    path_tv, x0_hat, x0 = _path_tv(samplers, targets, chain.steps)
    return {"values": values, "direct_values": direct, "kernel_tv": kernel_tv, "clip": clip, "terms": terms,
            "path_tv": path_tv, "x0_tv": 0.5 * float(np.abs(x0_hat - x0).sum()), "prior_tv": 0.0}
