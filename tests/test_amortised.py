"""``benchmarks/amortised.py``: lcb's total cost (training + n·queries/sample) and its break-even n."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.amortised import amortised_summary, break_even_samples, total_queries

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


@given(training=st.integers(0, 10**9), per_sample=st.integers(0, 10**4), gain=st.integers(1, 10**4))
def test_break_even_is_the_first_n_where_lcb_is_cheaper_in_total(training, per_sample, gain):
    reference = per_sample + gain      # integer costs: the totals below are exact
    n = break_even_samples(training, per_sample, reference)
    lcb = {"training_queries": training, "queries_per_sample": per_sample}
    other = {"queries_per_sample": reference}
    assert total_queries(lcb, n) < total_queries(other, n)
    assert total_queries(lcb, n - 1) >= total_queries(other, n - 1)


def test_never_when_lcb_costs_as_much_per_sample():
    assert break_even_samples(10.0, 5.0, 5.0) is None and break_even_samples(0.0, 6.0, 5.0) is None
    assert break_even_samples(0.0, 1.0, 2.0) == 1
    with pytest.raises(ValueError, match="non-negative"):
        break_even_samples(-1.0, 1.0, 2.0)


@pytest.mark.parametrize("instance", ["gmm", "masked"])
def test_committed_results_carry_the_amortised_summary_of_their_own_rows(instance):
    results = json.loads((RESULTS / f"alignment_{instance}.json").read_text())
    summary = amortised_summary(results["rows"])
    assert results["meta"]["amortised"] == json.loads(json.dumps(summary))
    at_7 = {row["method"]: row for row in results["rows"] if row["B"] == 7.0}
    n = summary["7"]["break_even_n"]["ideal_per_step"]
    lcb, ideal = at_7["lcb"], at_7["ideal_per_step"]
    assert lcb["training_queries"] + n * lcb["queries_per_sample"] < n * ideal["queries_per_sample"]
    assert lcb["training_queries"] + (n - 1) * lcb["queries_per_sample"] >= (n - 1) * ideal["queries_per_sample"]
