"""lcb training and the benchmarks follow ``--device`` (issue 12), checked on the CUDA stand-in ``tests.fake_cuda``.

The stand-in enforces CUDA's device rules on the CPU with CPU generators seeded alike, so a run on it
must give the CPU run's numbers exactly, with every random draw on the device. The default suite trains a
tiny learned baseline (its networks, warm starts, calibration and sampling); ``-m slow`` runs the alignment
and peers benchmarks at tiny sizes, model selection included.
"""
from __future__ import annotations

import pytest
import torch

from benchmarks import alignment
from benchmarks import peers_diffusion as pd
from learning.chain_baseline import train_learned_baseline
from primitives.chain_samplers import per_step_rejection_sample
from tests.fake_cuda import fake_cuda, is_fake
from tiltproof.instances import chain as chain_instances


def _train_and_sample(device: str):
    instance = chain_instances.chain_instance("gmm", 1.0).on(device)
    generator = torch.Generator(device=device).manual_seed(4)
    baseline, report = train_learned_baseline(instance.chain, instance.values, delta=0.2, eta=0.2, train_parents=24,
                                              children=4, calibration_pairs=40, iterations=2, selection_pairs=0,
                                              generator=generator)
    result = per_step_rejection_sample(instance.chain, instance.values, baseline, 50, generator=generator)
    return baseline, report, result


def test_lcb_trains_and_samples_on_the_device(one_torch_thread):
    _, on_cpu, cpu_result = _train_and_sample("cpu")
    with fake_cuda() as audit:
        baseline, on_device, result = _train_and_sample("cuda")
        parameters = [parameter for network in baseline.networks.values() for parameter in network.parameters()]
        assert parameters and all(parameter.device.type == "cuda" for parameter in parameters)
        assert result.samples.device.type == "cuda" and is_fake(result.samples)
    assert audit.cpu_draws() == {} and not audit.global_generator_draws
    assert on_device.training_queries == on_cpu.training_queries and on_device.offsets == on_cpu.offsets
    assert torch.equal(result.samples, cpu_result.samples) and result.queries == cpu_result.queries


def test_benchmarks_refuse_an_unknown_device_before_sampling(tmp_path):
    with pytest.raises(ValueError, match="device"):
        alignment.main(["--instance", "gmm", "--json", str(tmp_path / "out.json"), "--device", "tpu"])


TINY_TRAINING = dict(n=200, train_parents=32, children=4, calibration_pairs=1500, iterations=3, learning_rate=0.02,
                     selection_pairs=16)


@pytest.mark.slow
def test_alignment_and_peers_benchmarks_run_on_the_device(monkeypatch, one_torch_thread):
    monkeypatch.setitem(alignment.SETTINGS, ("gmm", True), TINY_TRAINING)
    settings = pd.DiffusionSettings(peer_samples=100, sizes=(16,), qrs_baselines=(6.0,), qrs_rates=(0.01,), pilot=500,
                                    smc_samples=50, smc_particles=(8,), chain_samples=50, lcb_samples=100,
                                    lcb_budgets=(0.1,), training=TINY_TRAINING)
    runs = {}
    for device in ("cpu", "cuda"):
        with fake_cuda() as audit:
            aligned = alignment.run_height("gmm", 7.0, True, torch.Generator(device=device).manual_seed(1), None,
                                           lambda line: None)
            peers = pd.diffusion_rows(settings, alpha=0.01, generator=torch.Generator(device=device).manual_seed(5))
        assert audit.cpu_draws() == ({} if device == "cuda" else audit.cpu_draws())
        assert not audit.global_generator_draws
        runs[device] = [{key: value for key, value in row.items() if "seconds" not in key} for row in aligned + peers]
    assert runs["cuda"] == runs["cpu"]
