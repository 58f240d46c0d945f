"""``benchmarks/ddpm_figures.py``: the propagated exact per-step count against the closed form
``T·e^{(B − V)/λ}`` (T4, an independent route), and the markdown table."""
from __future__ import annotations

import math

import pytest

from benchmarks.ddpm_figures import ConstantBaseline, _law_row, markdown
from tiltproof.instances.chain import ddpm_exact

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_exact_per_step_count_matches_the_closed_form():
    exact = ddpm_exact(1.0, 1.0)
    row = _law_row("exact per-step", exact, ConstantBaseline(1.0))
    gap = math.exp(1.0 - exact.log_root())
    assert row["queries_excluding_prior"] == pytest.approx(exact.ridge.steps * gap, rel=1e-6)
    assert row["queries_including_prior"] == pytest.approx((exact.ridge.steps + 1) * gap, rel=1e-6)
    assert row["tv_x0"] <= 2 * row["quadrature_error"] + 1e-9
    row.update(B=1.0, authors_queries_excluding_prior=50.9)
    table = markdown([row])
    assert "| 1 | exact per-step |" in table and "50.9" in table
