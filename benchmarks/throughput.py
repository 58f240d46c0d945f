"""Throughput of the batched torch rejection sampler against a per-sample Python loop and numpy.

Reports, for the 1-D and 5-D Gaussian/linear instances (``tiltproof.instances.single_step``) at the Chernoff
baseline b_δ (δ = 0.1), proposals per second, accepted samples per second and wall time of:

* ``torch``  — ``primitives.rejection_sample`` (batched, log-space acceptance) on each available device;
* ``numpy``  — the same algorithm vectorised in numpy (one batch at a time);
* ``python`` — one proposal at a time in a plain Python loop (the reference a naive implementation gives).

All three run in the same process on the same instance; ratios are against the Python loop. Speed
belongs here, not in timed tests. Usage: ``python benchmarks/throughput.py [--samples N] [--json FILE]``.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time

import numpy as np
import torch

from estimators.baselines import chernoff_baseline
from primitives import rejection_sample
from tiltproof.instances.single_step import INSTANCES


def python_loop(mean: np.ndarray, cholesky: np.ndarray, theta: np.ndarray, lam: float, baseline: float,
                proposals: int, seed: int) -> tuple[int, float]:
    """One proposal at a time; returns (accepted, seconds) for a fixed number of proposals."""
    rng = random.Random(seed)
    d = mean.shape[0]
    mean_list, chol, theta_list = mean.tolist(), cholesky.tolist(), theta.tolist()
    accepted = 0
    start = time.perf_counter()
    for _ in range(proposals):
        noise = [rng.gauss(0.0, 1.0) for _ in range(d)]
        x = [mean_list[i] + sum(chol[i][j] * noise[j] for j in range(i + 1)) for i in range(d)]
        reward = sum(t * v for t, v in zip(theta_list, x))
        if math.log(rng.random() or 1e-300) < min(0.0, (reward - baseline) / lam):
            accepted += 1
    return accepted, time.perf_counter() - start


def numpy_vectorised(mean, cholesky, theta, lam, baseline, proposals, seed, batch=1 << 20):
    rng = np.random.default_rng(seed)
    accepted, done = 0, 0
    start = time.perf_counter()
    while done < proposals:
        size = min(batch, proposals - done)
        x = mean + rng.standard_normal((size, mean.shape[0])) @ cholesky.T
        log_accept = np.minimum(0.0, (x @ theta - baseline) / lam)
        accepted += int((np.log(rng.random(size)) < log_accept).sum())
        done += size
    return accepted, time.perf_counter() - start


def torch_batched(instance, baseline, samples, device, seed):
    base = instance.base(device)
    generator = torch.Generator(device=device).manual_seed(seed)
    rejection_sample(base, instance.reward, instance.lam, baseline, 1000, generator=generator)  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = rejection_sample(base, instance.reward, instance.lam, baseline, samples, generator=generator)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return result.accepted, result.proposals, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200_000, help="accepted samples for the torch sampler")
    parser.add_argument("--python-proposals", type=int, default=200_000)
    parser.add_argument("--json", help="write the rows to this file")
    arguments = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for name in ("gaussian-linear-d1", "gaussian-linear-d5"):
        instance = INSTANCES[name]
        baseline = chernoff_baseline(instance.law, instance.lam, 0.1).value
        base = instance.base("cpu")
        mean, cholesky = base.mean.numpy(), base.cholesky.numpy()
        theta = instance.reward.theta
        accepted, seconds = python_loop(mean, cholesky, theta, instance.lam, baseline, arguments.python_proposals, 0)
        reference = arguments.python_proposals / seconds
        rows.append(dict(instance=name, method="python", device="cpu", proposals=arguments.python_proposals,
                         accepted=accepted, seconds=seconds))
        torch_accepted, torch_proposals, torch_seconds = torch_batched(instance, baseline, arguments.samples, "cpu", 0)
        accepted, seconds = numpy_vectorised(mean, cholesky, theta, instance.lam, baseline, torch_proposals, 0)
        rows.append(dict(instance=name, method="numpy", device="cpu", proposals=torch_proposals, accepted=accepted,
                         seconds=seconds))
        rows.append(dict(instance=name, method="torch", device="cpu", proposals=torch_proposals,
                         accepted=torch_accepted, seconds=torch_seconds))
        for device in devices[1:]:
            accepted, proposals, seconds = torch_batched(instance, baseline, arguments.samples, device, 0)
            rows.append(dict(instance=name, method="torch", device=device, proposals=proposals, accepted=accepted,
                             seconds=seconds))
        for row in rows:
            if row["instance"] == name:
                row["proposals_per_second"] = row["proposals"] / row["seconds"]
                row["samples_per_second"] = row["accepted"] / row["seconds"]
                row["speedup_vs_python"] = row["proposals_per_second"] / reference
    print(f"{'instance':20s} {'method':7s} {'device':6s} {'proposals':>11s} {'wall s':>8s} {'proposals/s':>12s} "
          f"{'samples/s':>11s} {'× python':>9s}")
    for row in rows:
        print(f"{row['instance']:20s} {row['method']:7s} {row['device']:6s} {row['proposals']:11d} {row['seconds']:8.3f} "
              f"{row['proposals_per_second']:12.3e} {row['samples_per_second']:11.3e} {row['speedup_vs_python']:9.1f}")
    print(f"torch threads: {torch.get_num_threads()}; devices: {devices}")
    if arguments.json:
        with open(arguments.json, "w") as handle:
            json.dump({"rows": rows, "torch_threads": torch.get_num_threads(), "devices": devices}, handle, indent=2)


if __name__ == "__main__":
    main()
