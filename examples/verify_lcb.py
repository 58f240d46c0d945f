"""The repo's learned chain baseline (LCB), trained and then checked as if it were a user's sampler.

Trains ``learning.chain_baseline`` on a registered GMM chain (per-step δ = budget/(T+1),
η = 0.05/(T+1)), wraps per-step rejection with it as ``sampler(kernel, n, generator)`` declaring its rule
(the learned baseline, the exact values), and runs ``check_chain_sampler`` at that budget::

    python examples/verify_lcb.py --height 3 --budget 0.1
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from learning.chain_baseline import train_learned_baseline  # noqa: E402
from primitives.chain_samplers import per_step_rejection_sample  # noqa: E402
from tiltproof.byo import check_chain_sampler  # noqa: E402
from tiltproof.byo.chain import resolve_chain_instance  # noqa: E402


def run(height: float = 3.0, budget: float = 0.1, seed: int = 0, audit_particles: int = 20_000,
        train_parents: int = 512, calibration_pairs: int = 1500, iterations: int = 150):
    instance = resolve_chain_instance(f"gmm-ref-B{height:g}")
    steps = instance.chain.steps
    started = time.perf_counter()
    baseline, report = train_learned_baseline(
        instance.chain, instance.values, delta=budget / (steps + 1), eta=0.05 / (steps + 1), train_parents=train_parents,
        children=16, calibration_pairs=calibration_pairs, iterations=iterations,
        generator=torch.Generator().manual_seed(seed))
    trained = time.perf_counter() - started

    def lcb(kernel, n, generator):
        return per_step_rejection_sample(kernel, instance.values, baseline, n, generator=generator, record_states=True)

    record = check_chain_sampler(lcb, instance, budget=budget, baseline=baseline, seed=seed,
                                 audit_particles=audit_particles)
    return record, {"training_queries": report.training_queries, "training_seconds": trained,
                    "check_seconds": time.perf_counter() - started - trained}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--height", type=float, default=3.0)
    parser.add_argument("--budget", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    record, facts = run(arguments.height, arguments.budget, arguments.seed)
    print(record)
    print(facts)
