"""Kernel draws per second of the per-step tilted rejection sampler on the reference GMM chain.

The chain is the GMM reference diffusion (d = 2, T = 20) with r = B·1{x_1 < −B}, λ = 1 (B = 7 by default);
the sampler is ``primitives.per_step_rejection_sample`` with the analytic Chernoff baseline
(``estimators.chain_baselines.AnalyticGaussianBaseline``, δ = 0.05/21 per step) and, for reference, with
the envelope (ideal per-step rejection). For each device it reports, at n particles:

* ``kernel_draws/s``: every state the black-box kernel produced (children past the first acceptance included),
  over the wall time of the whole sampler run (synchronised);
* ``queries/s``: the sequential-equivalent proposals (what T4 counts) over the same time;
* on a GPU, in the same process, the same sampler with the small per-state products by GEMM (``GEMM
  products``) and with the code as it was before 2026-11-26 (2^19 draws per round and GEMM products) — the
  ratios are the gains of the device's round size and of ``primitives.small_linalg``'s broadcast route;
* ``kernel only``: ``sample_children`` + the soft value of every child on one fixed batch, no rejection
  logic — the ceiling the sampler's rounds can approach (both routes on a GPU).

Usage: ``python benchmarks/chain_throughput.py [--device cuda] [--particles 1000000] [--json FILE]``.
Speed belongs here, not in timed tests.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from estimators.chain_baselines import AnalyticGaussianBaseline  # noqa: E402
from primitives import small_linalg  # noqa: E402
from primitives._checks import resolve_device  # noqa: E402
from primitives.chain_samplers import EnvelopeBaseline, default_max_batch, per_step_rejection_sample  # noqa: E402
from theorems import diffusion_chains as dc  # noqa: E402


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_sampler(instance, baseline, n: int, device: torch.device, seed: int, max_batch: int | None) -> dict:
    """One warm-up run at n/10 particles, then one timed run at n; rates over the synchronised wall time."""
    generator = torch.Generator(device=device).manual_seed(seed)
    per_step_rejection_sample(instance.chain, instance.values, baseline, max(1, n // 10), generator=generator,
                              max_batch=max_batch)
    _synchronise(device)
    start = time.perf_counter()
    result = per_step_rejection_sample(instance.chain, instance.values, baseline, n, generator=generator,
                                       max_batch=max_batch)
    _synchronise(device)
    seconds = time.perf_counter() - start
    return {"particles": n, "seconds": seconds, "kernel_draws": result.kernel_draws, "queries": result.queries,
            "kernel_draws_per_s": result.kernel_draws / seconds, "queries_per_s": result.queries / seconds,
            "queries_per_sample": result.queries_per_sample,
            "max_batch": default_max_batch(device) if max_batch is None else max_batch}


def time_kernel_only(instance, draws: int, device: torch.device, seed: int, repeats: int = 5) -> dict:
    """``sample_children`` of ``draws`` children at t = 10 plus their soft values, best of ``repeats``."""
    generator = torch.Generator(device=device).manual_seed(seed)
    chain, values = instance.chain, instance.values
    parents = chain.sample_prior(1024, generator)
    best = float("inf")
    for _ in range(repeats):
        _synchronise(device)
        start = time.perf_counter()
        children = chain.sample_children(parents, 10, draws // 1024, generator)
        values(children.reshape(-1, children.shape[-1]), 10)
        _synchronise(device)
        best = min(best, time.perf_counter() - start)
    done = 1024 * (draws // 1024)
    return {"draws": done, "seconds": best, "kernel_draws_per_s": done / best}


@contextlib.contextmanager
def route(broadcast: bool, device: torch.device):
    """Small per-state products by broadcasting (``True``) or by GEMM on ``device`` for the body."""
    saved = set(small_linalg.BROADCAST_DEVICE_TYPES)
    if broadcast:
        small_linalg.BROADCAST_DEVICE_TYPES.add(device.type)
    else:
        small_linalg.BROADCAST_DEVICE_TYPES.discard(device.type)
    try:
        yield
    finally:
        small_linalg.BROADCAST_DEVICE_TYPES.clear()
        small_linalg.BROADCAST_DEVICE_TYPES.update(saved)


def run(device: torch.device, particles: int, height: float, seed: int) -> list[dict]:
    """The committed configuration first, then (on a GPU) the variants it is compared with, same process."""
    instance = dc.chain_instance("gmm", height).on(device)
    steps = instance.chain.steps
    analytic = AnalyticGaussianBaseline(instance.chain, instance.values, 0.05 / (steps + 1))
    default_broadcast = device.type in small_linalg.BROADCAST_DEVICE_TYPES
    configurations = [("committed", None, default_broadcast)]
    if device.type != "cpu":
        configurations += [("GEMM products", None, False), ("before: 2^19 rounds, GEMM", 1 << 19, False)]
    rows = []
    for name, baseline, n in (("analytic", analytic, particles),
                              ("ideal_per_step", EnvelopeBaseline(instance.values), max(1, particles // 50))):
        for label, max_batch, broadcast in configurations:
            with route(broadcast, device):
                row = time_sampler(instance, baseline, n, device, seed, max_batch)
            row.update(method=name, device=str(device), configuration=label, broadcast=broadcast, B=height)
            rows.append(row)
            print(f"{device} {name:15s} {label:26s} n={n:>9,d} {row['seconds']:8.2f} s  "
                  f"kernel draws/s {row['kernel_draws_per_s']:.3e}  queries/s {row['queries_per_s']:.3e}",
                  flush=True)
    for label, broadcast in [("committed", default_broadcast)] + ([("GEMM products", False)] if device.type != "cpu" else []):
        with route(broadcast, device):
            kernel = time_kernel_only(instance, default_max_batch(device), device, seed)
        kernel.update(method="kernel only", device=str(device), configuration=label, broadcast=broadcast, B=height)
        rows.append(kernel)
        print(f"{device} kernel only {label:26s} {kernel['draws']:,d} draws  kernel draws/s "
              f"{kernel['kernel_draws_per_s']:.3e}", flush=True)
    return rows


def profile(device: torch.device, particles: int, height: float, seed: int, top: int = 20) -> str:
    """torch.profiler's table of the operators that took the most device (or CPU) time in one run."""
    instance = dc.chain_instance("gmm", height).on(device)
    analytic = AnalyticGaussianBaseline(instance.chain, instance.values, 0.05 / (instance.chain.steps + 1))
    generator = torch.Generator(device=device).manual_seed(seed)
    activities = [torch.profiler.ProfilerActivity.CPU] + (
        [torch.profiler.ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch.profiler.profile(activities=activities) as prof:
        per_step_rejection_sample(instance.chain, instance.values, analytic, particles, generator=generator)
        _synchronise(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda; with cuda the CPU rows are run too, at --cpu-particles")
    parser.add_argument("--particles", type=int, default=1_000_000)
    parser.add_argument("--cpu-particles", type=int, default=20_000, help="particles of the CPU comparison rows")
    parser.add_argument("--height", type=float, default=7.0, help="B of the reward B·1{x_1 < −B}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--profile", action="store_true",
                        help="also print torch.profiler's top operators of one analytic-baseline run at --particles")
    args = parser.parse_args(argv)
    if args.particles < 1 or args.cpu_particles < 1:
        raise SystemExit("--particles and --cpu-particles must be ≥ 1")
    if args.json is not None and not args.json.parent.exists():
        raise SystemExit(f"--json: folder {args.json.parent} does not exist")
    device = resolve_device(args.device)
    rows = run(device, args.particles, args.height, args.seed)
    if args.profile:
        print(profile(device, args.particles, args.height, args.seed))
    if device.type != "cpu":
        rows += run(torch.device("cpu"), args.cpu_particles, args.height, args.seed)
    meta = {"device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "threads": torch.get_num_threads()}
    if args.json is not None:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
