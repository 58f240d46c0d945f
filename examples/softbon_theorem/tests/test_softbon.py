"""The exact law of soft best-of-n (enumeration) against independent facts, and the bound on random instances."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softbon_theorem.exact import chi_square, kl, kl_bound, soft_bon_law, tilted_law

PROBS = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
REWARDS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def test_one_draw_is_the_base_law():
    assert np.allclose(soft_bon_law(PROBS, REWARDS, 0.3, 1), PROBS, atol=1e-14)


def test_two_draws_match_the_closed_form():
    """n = 2: P_2(x) = 2 p(x) Σ_y p(y) w(x)/(w(x) + w(y)), written out by hand."""
    w = np.exp(REWARDS / 0.3)
    closed = 2 * PROBS * np.array([np.sum(PROBS * wx / (wx + w)) for wx in w])
    assert np.allclose(soft_bon_law(PROBS, REWARDS, 0.3, 2), closed, rtol=1e-12)


def test_large_n_tends_to_the_tilted_law():
    assert kl(tilted_law(PROBS, REWARDS, 0.5), soft_bon_law(PROBS, REWARDS, 0.5, 40)) < 1e-3


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.05, 1.0), min_size=2, max_size=4), st.floats(0.2, 2.0), st.integers(1, 6), st.data())
def test_bound_chain_holds(weights, lam, n, data):
    """KL(π_λ ‖ P_n) ≤ log(1 + χ²/n) ≤ the range bound, and P_n is a probability vector."""
    probs = np.asarray(weights) / np.sum(weights)
    rewards = np.asarray(data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(probs), max_size=len(probs))))
    law = soft_bon_law(probs, rewards, lam, n)
    assert abs(law.sum() - 1) < 1e-10 and np.all(law >= 0)
    divergence = kl(tilted_law(probs, rewards, lam), law)
    assert divergence <= math.log1p(chi_square(probs, rewards, lam) / n) + 1e-10
    assert math.log1p(chi_square(probs, rewards, lam) / n) <= kl_bound(1.0, lam, n) + 1e-10


def test_bad_input_raises():
    with pytest.raises(ValueError, match="lam"):
        soft_bon_law(PROBS, REWARDS, 0.0, 2)
