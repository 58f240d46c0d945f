"""Per-state linear algebra for small state dimensions, written as broadcast products.

The exact GMM chain evaluates, for every proposed state, a few d×d products per mixture component
(Mahalanobis distances, the kernel's and posterior's affine means, the Cholesky transform of the noise).
Written as ``einsum``/``@`` these become batched GEMM/GEMV calls on d×d blocks; on an H200 those calls took
64 % of the per-step sampler's device time at d = 2 (``benchmarks/chain_throughput.py --profile``,
2026-11-26), and a scan over the K components (``cumsum``) another 15 %. For d ≤ ``SMALL_DIM`` the same
sums are formed by broadcasting and one reduction (memory-bound elementwise kernels) on the device types
in ``BROADCAST_DEVICE_TYPES``; elsewhere, and above that dimension, the GEMM route is kept. On the CPU the
GEMM route is the faster one (broadcasting measured 2–8× slower at m = 2^19, K = d = 2), and keeping it
there keeps CPU records bit-identical to earlier versions. The two routes agree up to the order of the
floating-point additions (a few ulp for d ≤ 8).
"""
from __future__ import annotations

import torch

__all__ = ["SMALL_DIM", "BROADCAST_DEVICE_TYPES", "broadcast_route", "quadratic_forms", "affine_means", "right_multiply_transpose", "inclusive_cumsum", "dot_last"]

#: largest dimension written as broadcast products
SMALL_DIM = 8
#: device types on which small products are broadcast (mutable: benchmarks compare both routes)
BROADCAST_DEVICE_TYPES: set[str] = {"cuda"}


def broadcast_route(tensor: torch.Tensor, size: int) -> bool:
    """Whether a product over an axis of ``size`` on ``tensor``'s device takes the broadcast route."""
    return size <= SMALL_DIM and tensor.device.type in BROADCAST_DEVICE_TYPES


def quadratic_forms(centred: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """``out[m, k] = centredᵀ[m, k] · matrices[k] · centred[m, k]`` for centred (m, K, d), matrices (K, d, d)."""
    if broadcast_route(centred, centred.shape[-1]):
        return (centred[..., :, None] * matrices[None] * centred[..., None, :]).sum((-2, -1))
    return torch.einsum("mki,kij,mkj->mk", centred, matrices, centred)


def affine_means(offsets: torch.Tensor, gains: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """``out[m, k] = offsets[k] + gains[k] · states[m]`` for offsets (K, d), gains (K, d, d), states (m, d)."""
    if broadcast_route(states, states.shape[-1]):
        return offsets[None] + (gains[None] * states[:, None, None, :]).sum(-1)
    return offsets[None] + torch.einsum("kij,mj->mki", gains, states)


def right_multiply_transpose(vectors: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``vectors @ matrixᵀ`` over the last axis (vectors (…, d), matrix (d, d))."""
    if broadcast_route(vectors, vectors.shape[-1]):
        return (vectors[..., None, :] * matrix).sum(-1)
    return vectors @ matrix.T


def dot_last(vectors: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """``vectors @ direction`` over the last axis (vectors (…, d), direction (d,))."""
    if broadcast_route(vectors, vectors.shape[-1]):
        return (vectors * direction).sum(-1)
    return vectors @ direction


def inclusive_cumsum(values: torch.Tensor) -> torch.Tensor:
    """``torch.cumsum(values, -1)`` for a short last axis as a running sum of slices (the same sequential
    additions as the CPU scan; a GPU scan over an axis of length K ≤ 8 is a slow kernel)."""
    if not broadcast_route(values, values.shape[-1]):
        return torch.cumsum(values, -1)
    running, out = values[..., 0], [values[..., 0]]
    for k in range(1, values.shape[-1]):
        running = running + values[..., k]
        out.append(running)
    return torch.stack(out, -1)
