"""``benchmarks/lcb_training_cost.py``: the phases account for every training query, and the calibration
floor's pair count is the least with a finite offset."""
from __future__ import annotations

import torch

from benchmarks.lcb_training_cost import minimum_calibration_pairs, training_cost_by_phase
from estimators.offset_calibration import calibration_rank
from tiltproof.instances import chain as chain_instances


def test_minimum_calibration_pairs_is_the_least_with_a_finite_offset():
    for delta, eta in ((0.05 / 21, 0.05 / 21), (0.1, 0.05), (0.3, 0.3)):
        n = minimum_calibration_pairs(delta, eta)
        assert calibration_rank(n, delta, eta) >= 0 and calibration_rank(n - 1, delta, eta) < 0


def test_phases_sum_to_the_training_queries(one_torch_thread):
    instance = chain_instances.chain_instance("gmm", 3.0)
    settings = dict(train_parents=16, children=4, calibration_pairs=30, iterations=2, learning_rate=0.02,
                    selection_pairs=8)
    result = training_cost_by_phase(instance, settings, delta=0.2, eta=0.2, generator=torch.Generator().manual_seed(2))
    phases = result["phases"]
    assert sum(phases.values()) == result["training_queries"]
    assert all(value >= 0 for value in phases.values())
    assert phases["tilted_calibration"] > 0 and phases["tilted_selection"] > 0 and phases["parents"] > 0


def test_path_phases_sum_to_the_training_queries(one_torch_thread):
    from benchmarks.lcb_training_cost import path_training_cost_by_phase

    instance = chain_instances.chain_instance("gmm", 3.0)
    settings = dict(train_parents=16, children=4, selection_pairs=16, iterations=2, learning_rate=0.02)
    result = path_training_cost_by_phase(instance, settings, budget=0.5, eta=0.2,
                                         generator=torch.Generator().manual_seed(2))
    phases = result["phases"]
    assert sum(phases.values()) == result["training_queries"]
    assert all(value >= 0 for value in phases.values())
    assert phases["tilted_test"] > 0 and phases["test_paths"] > 0 and phases["tilted_selection"] > 0
    assert phases["tilted_prior"] > 0 and phases["population"] > 0
    assert sum(test["queries"] for test in result["path_tests"]) == phases["tilted_test"] + phases["test_paths"]
