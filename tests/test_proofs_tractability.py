"""The tractability proofs as data (issue 22): P1, L1a–L1d, W1a–W1d.

Every step passes on the registered exact instances and in the derandomised short search (profile ``ci``);
every step-level wrong variant is killed at its step, the three historical spec corrections (L1c's sign, L1b's
``q(K)`` factor, L1d's constant) on their named instances; at least 80 % of the steps are checked mechanically.
Everything here is exact (quadrature, enumeration, closed forms): no statistical assertion.
"""
from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from tiltproof.proofs import all_proofs, check_proof, check_wrong_step, summarize
from tests.proof_appendix import assert_proof_appendix_typesets

THEOREMS = ("P1", "L1a", "L1b", "L1c", "L1d", "W1a", "W1b", "W1c", "W1d")
HISTORICAL = {  # theorem → (wrong step, the step it replaces, the instance it must fail on)
    "L1c": ("spec-sign", "ceiling", "w-shape-gauss/lam=1"),
    "L1b": ("region-top-to-N", "sum_over_max", "smooth-norm/k=3,d=4"),
    "L1d": ("kappa-squared", "attained", "two-point/eta=0.3"),
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many tiny torch calls: intra-op threads only contend on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def declared():
    return {proof.id: proof for proof in all_proofs() if proof.theorem in THEOREMS}


@pytest.fixture(scope="module")
def records(declared):
    return {ident: check_proof(proof, "ci") for ident, proof in declared.items()}


def test_every_listed_theorem_has_a_proof(declared):
    have = {proof.theorem for proof in declared.values()}
    missing = [t for t in THEOREMS if t not in have]
    assert not missing, f"no proof object for {missing}"


def test_every_step_passes_on_instances_and_in_the_search(records):
    for ident, record in records.items():
        bad = [(step.name, step.verdict, step.message) for step in record.steps if step.verdict in ("fail", "error")]
        assert not bad, (ident, bad)
        assert record.verdict == "pass", ident
        searched = [step for step in record.steps if any(c["method"] == "search" for c in step.checks)]
        assert searched, f"{ident}: no step was searched"


def test_at_least_80_percent_of_the_steps_are_mechanical(records):
    summary = summarize(list(records.values()))
    assert summary["mechanical_fraction"] >= 0.8, summary["kinds"]
    for record in records.values():
        for step in record.steps:
            if step.kind == "argued":
                assert step.argued, f"{record.id}:{step.name} is argued without a reason"


@pytest.fixture(scope="module")
def wrong_records(declared):
    return {(ident, wrong.name): check_wrong_step(proof, wrong, "ci")
            for ident, proof in declared.items() for wrong in proof.wrong_steps}


def test_every_wrong_step_is_killed_at_its_step(declared, wrong_records):
    for ident, proof in declared.items():
        assert proof.wrong_steps, ident
        for wrong in proof.wrong_steps:
            result = wrong_records[(ident, wrong.name)]
            assert result.killed, (ident, wrong.name, result.step_record.message)
            assert result.step_record.name == wrong.step


@pytest.mark.parametrize("theorem", sorted(HISTORICAL))
def test_historical_spec_corrections_fail_on_their_named_instance(declared, theorem):
    name, step, instance = HISTORICAL[theorem]
    proof, wrong = next((p, w) for p in declared.values() if p.theorem == theorem for w in p.wrong_steps
                        if w.name == name)
    assert (wrong.step, wrong.instance) == (step, instance)
    assert wrong.history, f"{theorem}: the historical correction must say where it is recorded"
    result = check_wrong_step(proof, wrong, None)      # the named instance alone, no search
    assert result.killed and "instances" in result.killed_by
    original = check_wrong_step(proof, type(wrong)(wrong.name, wrong.step, proof.step(wrong.step), "", instance), None)
    assert not original.killed, f"{theorem}: the corrected step must hold on {instance}"


def test_l1d_sharp_constant_against_an_independent_route():
    """On the attaining two-point law, q̂(1) − q(1) with ρ two-level in closed form equals tanh(artanh(η)/2)."""
    from theorems.proofs.kl_partition_error import finite_l1d_quantities, _two_point

    inst = _two_point()
    kappa = (1 + inst.eta) / (1 - inst.eta)
    p = inst.probs[1]
    closed = kappa * p / (kappa * p + 1 - p) - p           # ρ = κm on {1}, m on {0}
    assert closed == pytest.approx(math.tanh(math.atanh(inst.eta) / 2), rel=1e-12)
    assert finite_l1d_quantities(inst)["tv"] == pytest.approx(closed, abs=1e-12)


def test_l1b_region_top_exceeds_the_net_size_at_k3():
    """The historical route ΣW/(Z q(K)) ≤ N is false at k = 3 (the reason the 1/q(K) factor was added), while the
    corrected ΣW/max W ≤ N holds: both from the module's own exact quantities."""
    from theorems.proofs.kl_oracle_calls import NetInstance, net_quantities

    values = net_quantities(NetInstance(3, 4, 1.0, 1.5, 1.0, 1.0, True))
    assert values["total_w"] / (values["Z"] * values["q_K"]) > values["N"]
    assert values["total_w"] / values["max_w"] <= values["N"]
    assert np.allclose(values["log_w_oracle"], values["log_w_closed"], atol=1e-10)


@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=1, max_size=30),
       st.sampled_from(["=", "≤", "≥"]), st.floats(0.0, 10.0))
def test_worst_sides_holds_iff_every_point_holds(pairs, relation, error):
    """``worst_sides`` (the API addition the grid steps use) keeps the verdict of the whole array."""
    from tiltproof.proofs import Sides, Step
    from tiltproof.proofs.checkers import compare, worst_sides

    sides = Sides(np.array([a for a, _ in pairs]), np.array([b for _, b in pairs]), error)
    step = Step("s", "s", relation, "definition", argued="test")
    whole, _ = compare(step, sides, "grid")
    reduced = worst_sides(relation, sides)
    assert np.ndim(reduced.lhs) == 0
    assert compare(step, reduced, "grid")[0] == whole


def test_worst_sides_bad_input_names_the_argument():
    from tiltproof.proofs import Sides
    from tiltproof.proofs.checkers import worst_sides

    with pytest.raises(ValueError, match="relation"):
        worst_sides("<", Sides(np.zeros(2), np.zeros(2)))
    with pytest.raises(ValueError, match="shapes"):
        worst_sides("=", Sides(np.zeros(2), np.zeros(3)))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_appendix_of_these_proofs_typesets_without_overfull_boxes(records, wrong_records, tmp_path):
    """The report's proof appendix for these proofs (reports.proofs) compiles, with no overfull box: long hypotheses,
    instance names and statements break or scale instead of running into the margin."""
    wrongs = [record.to_json() for record in wrong_records.values()]
    payload = {"summary": summarize(list(records.values())), "proofs": [r.to_json() for r in records.values()],
               "wrong_steps": wrongs}
    assert_proof_appendix_typesets(payload, tmp_path)
