"""Where the learned baseline's training queries go (issue 12, item 1): kernel draws per phase.

    python benchmarks/lcb_training_cost.py [--quick] [--height 7] [--calibration path|per_step] [--device cpu|cuda] [--json FILE]

**Path calibration** (default, as ``benchmarks/alignment.py`` trains lcb on the GMM:
``learning.path_calibration``, ε = η = 0.05 for the whole path): phases ``population`` (the sampler chains
advanced a step at a time that give each step's parents), ``tilted_prior`` / ``tilted_selection`` /
``tilted_training`` (exact tilted children for ĉ_T, model selection and ĉ_t, the fit's tail constraint),
``test_paths`` and ``tilted_test`` (each path test's sampler paths and its one tilted child per pair), and
``untilted_children`` (the rest: black-box children for the fit and the selection score). ``path_tests``
lists each test (shift, pairs, draws, verdict).

**Per-step calibration** (``--calibration per_step``; the settings alignment.py used before issue 12,
δ = η = 0.05/(T+1) per step): attributes every kernel draw of ``train_learned_baseline`` to one phase, by
counting the draws of each call it makes:

* ``parents``: fresh chains from the prior down to step t+1 (``per_step_rejection_sample``);
* ``tilted_training`` / ``tilted_selection`` / ``tilted_calibration``: children of the tilted kernel
  ``q_t(·|y)`` by envelope rejection (``_tilted_children``: exact, ``e^{(sup V_t − V_{t+1}(y))/λ}``
  proposals each on average), for the fit's tail constraint, model selection and the offset's calibration;
* ``prior_calibration``: the prior step's tilted draws; ``untilted_children``: the rest (black-box
  children for the fit and the selection score).

``proposals_per_tilted_child_by_step``: the mean envelope-rejection cost of one calibration child at each
step t < T (how unevenly a per-step (δ_t, η_t) allocation could spread the calibration).

The phases sum to ``training_queries``. ``calibration_floor`` is the least any envelope-rejection
calibration can spend at these (δ, η): ``calibration_rank`` needs ``n_min`` pairs per step, each costing
the measured mean proposals per tilted child.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import learning.chain_baseline as lcb_module  # noqa: E402
import learning.path_calibration as path_module  # noqa: E402
from estimators.offset_calibration import calibration_rank  # noqa: E402
from benchmarks.alignment import PATH_FAILURE, PATH_TV_BUDGET, PATH_TRAINING, PER_STEP_GMM  # noqa: E402
from primitives._checks import resolve_device  # noqa: E402
from theorems import diffusion_chains as dc  # noqa: E402


def minimum_calibration_pairs(delta: float, eta: float) -> int:
    """The smallest n with ``calibration_rank(n, δ, η) ≥ 0`` (a finite offset exists)."""
    n = 1
    while calibration_rank(n, delta, eta) < 0:
        n *= 2
    low, high = n // 2, n
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if calibration_rank(middle, delta, eta) < 0 else (low, middle)
    return high


def training_cost_by_phase(instance, settings: dict, *, delta: float, eta: float,
                           generator: torch.Generator) -> dict:
    """Train lcb with ``settings`` and count its kernel draws per phase (module docstring)."""
    phases: Counter = Counter()
    calibration_by_step: Counter = Counter()      # tilted calibration draws per step t
    selecting = {"active": False}
    calibration_pairs = settings["calibration_pairs"]
    if calibration_pairs == 2 * settings["train_parents"]:       # two tilted children per training parent
        raise ValueError("calibration_pairs must differ from 2·train_parents (the phases are told apart by size)")
    originals = {name: getattr(lcb_module, name) for name in ("_tilted_children", "select_network",
                                                               "per_step_rejection_sample", "step_rejection_sample")}

    def counted(name, phase_of):
        def call(kernel, *args, **kwargs):
            before = kernel.draws
            out = originals[name](kernel, *args, **kwargs)
            phase = phase_of(args)
            phases[phase] += kernel.draws - before
            if phase == "tilted_calibration":
                calibration_by_step[int(args[1])] += kernel.draws - before
            return out
        return call

    def select(*args, **kwargs):
        selecting["active"] = True
        try:
            return originals["select_network"](*args, **kwargs)
        finally:
            selecting["active"] = False

    def tilted_phase(args) -> str:
        if selecting["active"]:
            return "tilted_selection"
        return "tilted_calibration" if args[0].shape[0] == calibration_pairs else "tilted_training"

    replacements = {"_tilted_children": counted("_tilted_children", tilted_phase), "select_network": select,
                    "per_step_rejection_sample": counted("per_step_rejection_sample", lambda args: "parents"),
                    "step_rejection_sample": counted("step_rejection_sample", lambda args: "step_rejection")}
    try:
        for name, replacement in replacements.items():
            setattr(lcb_module, name, replacement)
        clock = time.perf_counter()
        _, report = lcb_module.train_learned_baseline(
            instance.chain, instance.values, delta=delta, eta=eta, train_parents=settings["train_parents"],
            children=settings["children"], calibration_pairs=calibration_pairs, iterations=settings["iterations"],
            learning_rate=settings["learning_rate"], selection_pairs=settings["selection_pairs"], generator=generator)
        seconds = time.perf_counter() - clock
    finally:
        for name, original in originals.items():
            setattr(lcb_module, name, original)
    tilted = sum(phases[key] for key in ("tilted_training", "tilted_selection", "tilted_calibration"))
    phases["prior_calibration"] = phases.pop("step_rejection") - tilted      # the tilted draws go through it too
    phases["untilted_children"] = report.training_queries - sum(phases.values())
    steps = instance.chain.steps
    per_tilted_child = phases["tilted_calibration"] / (calibration_pairs * steps)
    floor_pairs = minimum_calibration_pairs(delta, eta)
    return {"training_queries": report.training_queries, "phases": dict(phases),
            "shares": {key: value / report.training_queries for key, value in phases.items()},
            "proposals_per_tilted_child": per_tilted_child, "minimum_calibration_pairs": floor_pairs,
            "calibration_floor": floor_pairs * steps * per_tilted_child,
            "proposals_per_tilted_child_by_step": {str(t): calibration_by_step[t] / calibration_pairs
                                                   for t in sorted(calibration_by_step)},
            "seconds": seconds}


def path_training_cost_by_phase(instance, settings: dict, *, budget: float, eta: float,
                                generator: torch.Generator) -> dict:
    """Train lcb with path calibration (``train_path_calibrated_baseline``) and count its draws per phase."""
    phases: Counter = Counter()
    context = {"phase": None}
    originals = {name: getattr(path_module, name) for name in ("exact_tilted_children", "per_step_rejection_sample",
                                                                "step_rejection_sample", "path_exceedance_test",
                                                                "select_network")}

    def counted(name, phase_of):
        def call(kernel, *args, **kwargs):
            before = kernel.draws
            out = originals[name](kernel, *args, **kwargs)
            phases[phase_of(args)] += kernel.draws - before
            return out
        return call

    def within(name, phase):
        def call(*args, **kwargs):
            context["phase"] = phase
            try:
                return originals[name](*args, **kwargs)
            finally:
                context["phase"] = None
        return call

    def tilted_phase(args) -> str:
        if context["phase"] is not None:
            return f"tilted_{context['phase']}"
        return "tilted_prior" if args[0] is None else "tilted_training"

    replacements = {"exact_tilted_children": counted("exact_tilted_children", tilted_phase),
                    "per_step_rejection_sample": counted("per_step_rejection_sample", lambda args: "test_paths"),
                    "step_rejection_sample": counted("step_rejection_sample", lambda args: "population"),
                    "path_exceedance_test": within("path_exceedance_test", "test"),
                    "select_network": within("select_network", "selection")}
    try:
        for name, replacement in replacements.items():
            setattr(path_module, name, replacement)
        clock = time.perf_counter()
        _, report = path_module.train_path_calibrated_baseline(instance.chain, instance.values, budget=budget, eta=eta,
                                                               generator=generator, **settings)
        seconds = time.perf_counter() - clock
    finally:
        for name, original in originals.items():
            setattr(path_module, name, original)
    phases["untilted_children"] = report.training_queries - sum(phases.values())
    return {"training_queries": report.training_queries, "phases": dict(phases),
            "shares": {key: value / report.training_queries for key, value in phases.items()},
            "path_tests": [test.as_dict() for test in report.path_tests],
            "per_step_calibration_floor_pairs": 21 * minimum_calibration_pairs(budget / 21, eta / 21),
            "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="alignment.py's --quick training settings")
    parser.add_argument("--height", type=float, default=7.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="where the chain runs and lcb trains: cpu, cuda or cuda:N")
    parser.add_argument("--calibration", choices=("path", "per_step"), default="path")
    parser.add_argument("--json", type=Path, default=None)
    arguments = parser.parse_args(argv)
    device = resolve_device(arguments.device)
    torch.set_num_threads(1)
    instance = dc.chain_instance("gmm", arguments.height).on(device)
    steps = instance.chain.steps
    delta, eta = PATH_TV_BUDGET / (steps + 1), PATH_FAILURE / (steps + 1)
    generator = torch.Generator(device=device).manual_seed(arguments.seed)
    if arguments.calibration == "path":      # the same training in --quick and full (alignment.py)
        result = path_training_cost_by_phase(instance, PATH_TRAINING, budget=PATH_TV_BUDGET, eta=PATH_FAILURE,
                                             generator=generator)
        result.update(budget=PATH_TV_BUDGET, eta=PATH_FAILURE)
    else:
        result = training_cost_by_phase(instance, PER_STEP_GMM[arguments.quick], delta=delta, eta=eta,
                                        generator=generator)
        result.update(delta=delta, eta=eta)
    result.update(height=arguments.height, quick=arguments.quick, seed=arguments.seed, device=str(device),
                  calibration=arguments.calibration, load_average=list(os.getloadavg()))
    print(json.dumps(result, indent=2))
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
