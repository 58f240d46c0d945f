"""Every claim follows ``--device`` (issue 12), checked without a GPU by the CUDA stand-in ``tests.fake_cuda``.

On an H200, 44 diffusion-chain and tractability claims errored under ``--device cuda`` (a generator on the
device filling a CPU tensor, a law built on the CPU sampled with a device generator). The stand-in enforces
CUDA's device rules on the CPU, so those errors recur here; since it computes with CPU generators seeded
alike, a claim's record under it must equal its CPU record exactly, and its audit must show every random
draw on the device and none from torch's global generator. The first test checks that the stand-in
itself catches each bug pattern (so a green run means something); the default suite runs one fast claim
of every theorem module, ``-m slow`` runs all registered claims.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from primitives import Gaussian
from tests.fake_cuda import fake_cuda, is_fake
from tiltproof.core.framework import run_claim
from tiltproof.core.registry import all_claims

#: one fast claim per theorem module and per instance family (the ones that errored included)
REPRESENTATIVES = (
    r"^bon\.sampler_law/", r"^t2\.sampler_law/finite", r"^t4\.proposals_identity/finite", r"^t6\.learned_baseline/finite",
    r"^qrs\.acceptance/finite", r"^sir\.exact_law/finite",
    r"^t8\.tight/two-point/eps=0\.5", r"^t4\.step_proposals_identity/gmm",
    r"^p1\.score_query_shift/", r"^l1a\.exact/hinge-categorical", r"^l1b\.oracle_calls/smooth-norm/k=1,d=4",
    r"^w1a\.closed_form_vs_cvxpy/", r"^w1c\.w1_linear_inside/", r"^w1d\.laws_differ/",
    r"^t6\.learned_chain_baseline/gmm-ref-B2/t=2,",
)


def _registered():
    claims = all_claims()
    return claims, 1e-6 / len(claims)


def _comparable(record) -> dict:
    data = record.to_json()
    data.pop("seconds")
    data["details"] = {key: value for key, value in data["details"].items() if key != "cpu_fallback"}
    return data


def _check_on_fake_cuda(claim, alpha: float) -> None:
    on_cpu = run_claim(claim, alpha=alpha, device="cpu")
    with fake_cuda() as audit:
        on_device = run_claim(claim, alpha=alpha, device="cuda")
    assert on_device.verdict != "error", (claim.id, on_device.message, on_device.details.get("traceback"))
    assert _comparable(on_device) == _comparable(on_cpu), claim.id
    assert audit.cpu_draws() == {}, (claim.id, "random draws on the CPU while the claim ran on cuda", audit.cpu_draws())
    assert not audit.global_generator_draws, (claim.id, "draws from torch's global generator",
                                              dict(audit.global_generator_draws))


def test_stand_in_raises_what_cuda_raises():
    with fake_cuda():
        device_generator = torch.Generator(device="cuda").manual_seed(3)
        assert device_generator.device.type == "cuda"
        with pytest.raises(RuntimeError, match="device type for generator"):
            torch.randn(4, generator=device_generator)                    # the t8/p1/l1 pattern
        with pytest.raises(ValueError, match="generator lives on cuda"):
            Gaussian([0.0], [[1.0]]).sample(4, device_generator)          # the t7/w1 pattern
        on_device = torch.randn(4, generator=device_generator, device="cuda")
        assert on_device.device.type == "cuda" and is_fake(on_device)
        with pytest.raises(RuntimeError, match="same device"):
            _ = on_device + torch.zeros(4)
        _ = on_device + torch.tensor(1.0)                                 # a CPU scalar may join, as on CUDA
        with pytest.raises(TypeError, match="numpy"):
            np.asarray(on_device)
        assert not is_fake(on_device.cpu()) and is_fake(on_device)
        network = torch.nn.Linear(4, 1).double().to("cuda")
        with pytest.raises(RuntimeError, match="same device"):
            torch.nn.Linear(4, 1).double()(on_device.double()[None])
        loss = network(on_device.double()[None]).sum()
        loss.backward()
        torch.optim.Adam(network.parameters()).step()                     # a device network trains
    numbers = torch.randn(4, generator=torch.Generator().manual_seed(3))
    assert torch.equal(on_device, numbers)                                # the same numbers as on the CPU


def test_stand_in_audits_where_draws_happen():
    with fake_cuda() as audit:
        torch.rand(3, generator=torch.Generator(device="cpu"))
        torch.rand(3, generator=torch.Generator(device="cuda"), device="cuda")
        torch.rand(3)
    assert audit.cpu_draws() == {"rand": 2} and audit.draws_on("cuda") == 1
    assert dict(audit.global_generator_draws) == {"rand": 1}


@pytest.mark.parametrize("pattern", REPRESENTATIVES)
def test_representative_claims_run_on_the_device(pattern, one_torch_thread):
    claims, alpha = _registered()
    chosen = [claim for claim in claims if re.search(pattern, claim.id)]
    assert chosen, f"no registered claim matches {pattern!r}"
    _check_on_fake_cuda(chosen[0], alpha)


@pytest.mark.slow
def test_every_claim_runs_on_the_device(one_torch_thread):
    claims, alpha = _registered()
    for claim in claims:
        _check_on_fake_cuda(claim, alpha)


def test_instance_defining_draws_do_not_follow_the_device_stream(one_torch_thread):
    """A fixed set that defines an instance (chain T6's ν) is drawn on the CPU and moved: a real CUDA generator
    with the same seed gives another stream, and on the H200 another ν made the γ ≡ 0 instance degenerate while
    its hypothesis (evaluated on the CPU's ν) held. The stand-in shares the CPU stream, so the test asserts the
    construction: no device draw makes ν, and ν on the device equals ν on the CPU."""
    from theorems.chain_learned_baseline import _cpu_parent_set, _t6_parent_set
    from theorems.diffusion_chains import chain_instance

    instance = chain_instance("gmm", 2.0)
    on_cpu, _ = _t6_parent_set(instance, 2)
    _cpu_parent_set.cache_clear()
    with fake_cuda() as audit:
        on_device, weights = _t6_parent_set(instance.on("cuda"), 2)
    assert is_fake(on_device) and is_fake(weights)
    assert audit.draws_on("cuda") == 0 and audit.cpu_draws()
    assert torch.equal(on_device.cpu(), on_cpu)
