"""The broadcast route of the small per-state products equals the GEMM route (up to the order of additions)."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings, strategies as st

from primitives import small_linalg as sl


@pytest.fixture
def broadcast_on_cpu():
    saved = set(sl.BROADCAST_DEVICE_TYPES)
    sl.BROADCAST_DEVICE_TYPES.add("cpu")
    yield
    sl.BROADCAST_DEVICE_TYPES.clear()
    sl.BROADCAST_DEVICE_TYPES.update(saved)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 40), k=st.integers(1, 5), d=st.integers(1, sl.SMALL_DIM), seed=st.integers(0, 2**31 - 1))
def test_broadcast_route_equals_the_gemm_route(m, k, d, seed):
    g = torch.Generator().manual_seed(seed)
    centred = torch.randn(m, k, d, generator=g, dtype=torch.float64)
    matrices = torch.randn(k, d, d, generator=g, dtype=torch.float64)
    states = torch.randn(m, d, generator=g, dtype=torch.float64)
    offsets = torch.randn(k, d, generator=g, dtype=torch.float64)
    probs = torch.rand(m, k, generator=g, dtype=torch.float64)
    gemm = (sl.quadratic_forms(centred, matrices), sl.affine_means(offsets, matrices, states),
            sl.right_multiply_transpose(centred, matrices[0]), sl.dot_last(centred, offsets[0]),
            sl.inclusive_cumsum(probs))
    assert not sl.broadcast_route(centred, d)
    sl.BROADCAST_DEVICE_TYPES.add("cpu")
    try:
        assert sl.broadcast_route(centred, d)
        broadcast = (sl.quadratic_forms(centred, matrices), sl.affine_means(offsets, matrices, states),
                     sl.right_multiply_transpose(centred, matrices[0]), sl.dot_last(centred, offsets[0]),
                     sl.inclusive_cumsum(probs))
    finally:
        sl.BROADCAST_DEVICE_TYPES.discard("cpu")
    for a, b in zip(gemm, broadcast):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # the independent definitions, by loops
    assert torch.allclose(gemm[0][0, 0], centred[0, 0] @ matrices[0] @ centred[0, 0])
    assert torch.allclose(gemm[4], torch.cumsum(probs, -1))


def test_gmm_chain_on_the_broadcast_route_draws_the_same_law(broadcast_on_cpu):
    """The chain's kernel and soft values through the broadcast route match the GEMM route state by state."""
    from theorems.diffusion_chains import chain_instance

    instance = chain_instance("gmm", 7.0)
    chain, values = instance.chain, instance.values
    parents = chain.sample_prior(64, torch.Generator().manual_seed(1))
    children = chain.sample_children(parents, 10, 3, torch.Generator().manual_seed(2)).reshape(-1, 2)
    on_broadcast = values(children, 10)
    sl.BROADCAST_DEVICE_TYPES.discard("cpu")
    again = chain.sample_children(parents, 10, 3, torch.Generator().manual_seed(2)).reshape(-1, 2)
    torch.testing.assert_close(children, again, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(on_broadcast, values(children, 10), rtol=1e-12, atol=1e-12)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_soft_values_and_kernel_means_match_the_cpu():
    """On a GPU the broadcast route is the default: the soft values and kernel means of the same states equal
    the CPU's GEMM route to 1e-12."""
    from theorems.diffusion_chains import chain_instance

    cpu, cuda = chain_instance("gmm", 7.0), chain_instance("gmm", 7.0).on("cuda")
    states = cpu.chain.sample_prior(4096, torch.Generator().manual_seed(3))
    for t in (1, 10, 20):
        torch.testing.assert_close(cuda.values(states.cuda(), t).cpu(), cpu.values(states, t), rtol=1e-12, atol=1e-12)
    for t in (0, 10, 19):
        for a, b in zip(cuda.chain.reverse_kernel(t, states.cuda()), cpu.chain.reverse_kernel(t, states)):
            torch.testing.assert_close(a.cpu(), b, rtol=1e-12, atol=1e-12)
