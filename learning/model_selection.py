"""Model selection of the per-step network γ_t, shared by both trainers of ``learning``.

One fit of the shared network can land badly on the few parents where the tilt is strong, so each trainer
weighs several candidates per step (``selection_candidates``: the warm-started fit, optional fresh fits, the
constant γ, the Chernoff regression and its refit) and keeps the one with the smallest estimated cost
``validation_log_cost`` on selection parents (``select_network``), each candidate at its own slack-free
offset estimated from one exact tilted child per selection parent.

The choice is data-dependent, but the selection parents are drawn independently of whatever certifies the
chosen baseline afterwards (held-out calibration pairs in ``learning.chain_baseline``, the path tests in
``learning.path_calibration``), so the guarantee is unaffected: the selection only moves the cost.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from learning.step_network import (ConstantNetwork, copy_network, empirical_chernoff_gamma, fit_gamma_regression,
                                   validation_log_cost)

__all__ = ["selection_candidates", "select_network"]

Fit = Callable[[int, "torch.nn.Module | None"], tuple]


def selection_candidates(fit: Fit, warm: tuple, inputs: torch.Tensor, log_ratios: torch.Tensor, *, level: float,
                         cap: float, hidden: int, iterations: int, learning_rate: float, seed: int,
                         fresh: int = 0) -> list[tuple[str, torch.nn.Module, dict]]:
    """The candidates, in this order: ``warm_start`` (``warm`` = (network, history), already fitted),
    ``fresh_k`` (``fit(seed + 1000(k + 1), None)`` for k < ``fresh``), ``constant`` (γ ≡ 0),
    ``chernoff_regression`` (γ regressed on ``empirical_chernoff_gamma(log_ratios, level)``) and
    ``chernoff_regression_refit`` (``fit`` started from that regression). ``fit(seed, initial)`` returns
    (network, history); every fit seeds itself, so the list is a function of its arguments."""
    candidates = [("warm_start", *warm)]
    candidates += [(f"fresh_{k}", *fit(seed + 1000 * (k + 1), None)) for k in range(fresh)]
    candidates.append(("constant", ConstantNetwork(), {}))
    regression = fit_gamma_regression(inputs, empirical_chernoff_gamma(log_ratios, level), cap=cap, hidden=hidden,
                                      iterations=iterations, learning_rate=learning_rate, seed=seed)
    candidates.append(("chernoff_regression", regression, {}))
    candidates.append(("chernoff_regression_refit", *fit(seed, copy_network(regression))))
    return candidates


def select_network(candidates: list[tuple[str, torch.nn.Module, dict]], baseline, kernel, values,
                   selection: torch.Tensor, t: int, children: int, tilted_children: Callable[..., torch.Tensor],
                   estimate_offset: Callable[[np.ndarray], float],
                   generator: torch.Generator | None) -> tuple[torch.nn.Module, dict, float]:
    """The candidate with the smallest ``validation_log_cost`` on the ``selection`` parents of step t.

    Each parent gets ``children`` black-box children (the cost's sample) and one exact tilted child
    (``tilted_children(kernel, parents, t, values, generator)``); a candidate's offset is
    ``estimate_offset`` of its residuals ``V̂_t(x) − V̂_{t+1}(y) − λγ(y)`` on the tilted children, never a
    certified one. Leaves ``baseline.networks[t]`` at the last candidate scored (the caller sets the chosen
    one). Returns (network, its history with ``selection_scores`` and ``selected``, its offset estimate)."""
    lam = values.lam
    parent_values = values(selection, t + 1)
    kids = kernel.sample_children(selection, t, children, generator)
    kid_values = values(kids.reshape(-1, *kids.shape[2:]), t).reshape(selection.shape[0], children)
    log_ratios = (kid_values - parent_values[:, None]) / lam
    tilted_values = values(tilted_children(kernel, selection, t, values, generator), t)
    scores, offsets = [], []
    for _, network, _ in candidates:
        baseline.networks[t] = network
        gamma = baseline.gamma(selection, t, parent_values)
        offsets.append(estimate_offset((tilted_values - parent_values - lam * gamma).cpu().numpy()))
        scores.append(validation_log_cost(gamma, offsets[-1], log_ratios, lam))
    best = int(np.argmin(scores))
    name, network, history = candidates[best]
    return network, {**history, "selection_scores": dict(zip((c[0] for c in candidates), scores)),
                     "selected": name}, offsets[best]
