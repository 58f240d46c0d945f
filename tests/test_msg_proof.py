"""The MSG proof (``theorems/proofs/msg_baseline.py``): its wrong step (i) fails where the module says."""
import numpy as np

from theorems.proofs.msg_baseline import _authors_phi, _h1, _instances, tables


def test_authors_step_i_fails_at_t7_to_9_at_b3_and_the_corrected_one_holds():
    instance = next(i for i in _instances() if i.parameters["B"] == 3.0)
    values = tables(3.0)["values"]                      # V_t on the grid, t = 0..T−1
    authors = _authors_phi(3.0)
    gap = [float((v - phi).max()) for v, phi in zip(values, authors)]
    failing = [t for t, g in enumerate(gap) if g > 1e-9]
    # theorems/msg_baseline.py docstring: "below V_t at t = 7…10 by up to 0.51" (t = 10 by 0.015)
    assert {7, 8, 9} <= set(failing) <= {7, 8, 9, 10} and all(g <= 1e-9 for g in gap[:7])
    assert 0.45 < max(gap) < 0.55
    sides = _h1(instance)
    assert sides.lhs.shape == sides.rhs.shape and np.all(sides.lhs <= sides.rhs + sides.error)
