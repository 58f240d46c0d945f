"""``theorems.plug_in_offset``: the closed forms of the exact side agree with a real training at its own count of
top children, the zero-slack claim fails about half the time while the band holds, and the wrong variants' exact
rates are 1 (the registered claim and its variants run in ``tests/test_claims.py`` and ``tiltproof mutants``)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from estimators.exact.chain_laws import kernel_value_laws
from theorems import plug_in_offset as plugin
from theorems.per_step_delta import two_point_step


@pytest.mark.parametrize("rule, train_kappa", [("one-proposal", plugin.KAPPA), ("target-side", plugin.KAPPA),
                                               ("one-proposal", 1.0)])
def test_closed_form_matches_a_real_training(rule, train_kappa):
    chain, values = two_point_step(plugin.PI, plugin.HEIGHT, plugin.LAM)
    parent = chain.sample_prior(1)
    laws = kernel_value_laws(chain, 0, parent, values)
    failed, ratio, half_width, tops = plugin.one_training(chain, values, parent, laws, torch.Generator().manual_seed(2),
                                                          rule, train_kappa)
    exact_ratio, exact_half_width = plugin.closed_form(np.array([tops]), train_kappa)
    assert math.isclose(ratio, float(exact_ratio[0]), rel_tol=1e-8, abs_tol=1e-300)
    assert math.isclose(half_width, float(exact_half_width[0]), rel_tol=1e-8)
    assert failed == (abs(ratio - 1.0) > half_width)


def test_band_holds_where_the_zero_slack_claim_fails_half_the_time():
    real = plugin.exact_failure_rate()
    assert real["band"] <= plugin.ETA < 0.4 <= real["zero_slack"] <= 0.6
    for rule, train_kappa in (("target-side", plugin.KAPPA), ("one-proposal", 1.0)):
        assert plugin.exact_failure_rate(rule, train_kappa)["band"] > 0.99
