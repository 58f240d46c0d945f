"""The proof companion (tiltproof.proofs): the API's errors, each checker on a true and a false step,
the interval enclosure's soundness, and every declared proof: steps pass on instances and in the
derandomised short search, and every step-level wrong variant is killed at its step.

Expected values come from independent routes (float evaluation at points, brute-force enumeration),
never from the code under test. No statistical assertion here: everything is exact.
"""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import sympy
from hypothesis import given, strategies as st

from estimators.exact.reward_law import DiscreteLaw
from tiltproof.proofs import (Proof, ProofInstance, Sides, Step, WrongStep, check_on_instances, check_proof,
                              check_symbolic, check_wrong_step, enclose, prove_nonnegative, select_proofs,
                              validate_citations)
from tiltproof.proofs.intervals import _hi, _lo
from mpmath import iv

X = sympy.Symbol("x", real=True)
N = sympy.Symbol("N", positive=True)


def _instances(*values: float):
    return lambda: [ProofInstance(f"x={v}", {"x": v}) for v in values]


# ---------------------------------------------------------------- API errors
@pytest.mark.parametrize("kwargs, word", [
    (dict(relation="<"), "relation"),
    (dict(justification="because"), "justification"),
    (dict(lhs=X), "lhs and rhs"),
    (dict(lhs=X, rhs=1.0), "rhs"),
    (dict(lhs=X, rhs=X, domain={"x": (2.0, 1.0)}), "domain"),
    (dict(numeric=None), "nothing to check"),
])
def test_bad_step_raises_naming_the_field(kwargs, word):
    base = dict(name="s", latex="x", relation="=", justification="identity", numeric=lambda i: None)
    base.update(kwargs)
    with pytest.raises(ValueError, match=word):
        Step(**base)


def test_bad_proof_raises_naming_the_step():
    step = Step("s", "x", "=", "identity", lhs=X, rhs=X)
    with pytest.raises(ValueError, match="duplicate step names"):
        Proof("p", "T", "t", "s", (step, step), _instances(1.0))
    with pytest.raises(ValueError, match="unknown step 'nope'"):
        Proof("p", "T", "t", "s", (step,), _instances(1.0), wrong_steps=(WrongStep("w", "nope", step, "?"),))


def test_missing_lemma_and_unknown_id_are_named():
    citing = Step("uses", "x", "≤", "lemma", cites="chernoff-lemma", argued="applies the lemma")
    proof = Proof("p", "T", "t", "s", (citing,), _instances(1.0))
    with pytest.raises(ValueError, match="step 'uses'.*missing lemma 'chernoff-lemma'"):
        validate_citations([proof])
    with pytest.raises(ValueError, match="unknown theorem or proof id 'T99'"):
        select_proofs([proof], "T99")
    assert select_proofs([proof], "t") == [proof]


def test_wrong_step_on_an_extra_instance_with_history_and_unknown_instance():
    true = Step("sq", "", "≥", "algebra", numeric=lambda i: Sides(i.parameters["x"] ** 2, 0.0))
    wrong = Step("sq", "", "≥", "algebra", numeric=lambda i: Sides(i.parameters["x"] ** 3, 0.0))
    extra = WrongStep("cube", "sq", wrong, "x³ for x²", instance="x=-2.0", history="spec §1, corrected",
                      extra_instances=_instances(-2.0))
    proof = Proof("p", "T", "t", "s", (true,), _instances(1.0, 3.0), wrong_steps=(extra,))
    assert check_proof(proof, None).verdict == "pass"
    result = check_wrong_step(proof, extra, None)
    assert result.killed and result.killed_by == ["instances"] and result.history == "spec §1, corrected"
    missing = WrongStep("cube", "sq", wrong, "x³ for x²", instance="x=-9.0")
    with pytest.raises(ValueError, match="instance 'x=-9.0' is not an instance of proof 'p'"):
        check_wrong_step(proof, missing, None)


def test_sides_of_different_shapes_raise_naming_step_and_instance():
    step = Step("vec", "x", "≤", "algebra", numeric=lambda i: Sides(np.zeros(3), np.zeros(2)))
    with pytest.raises(ValueError, match=r"step 'vec' on instance 'x=1.0'.*\(3,\).*\(2,\)"):
        check_on_instances(step, _instances(1.0)())


# ---------------------------------------------------------------- checkers, true and false
def test_symbolic_identity_true_and_false():
    true = Step("sq", "", "=", "algebra", lhs=(X + 1) ** 2, rhs=X**2 + 2 * X + 1)
    false = Step("sq", "", "=", "algebra", lhs=(X + 1) ** 2, rhs=X**2 + 1)
    assert check_symbolic(true).verdict == "pass"
    assert check_symbolic(false).verdict == "fail"


def test_symbolic_inequality_proved_by_intervals_and_refuted_with_a_witness():
    proved = Step("log", "", "≥", "calculus", lhs=sympy.log(N), rhs=(N - 1) / N, domain={"N": (1.0, 1e6)})
    assert check_symbolic(proved).verdict == "pass"
    wrong = Step("log", "", "≥", "calculus", lhs=sympy.log(N), rhs=(N - 1) / 2, domain={"N": (1.0, 50.0)})
    outcome = check_symbolic(wrong)
    assert outcome.verdict == "fail"
    witness = outcome.values["witness"]["N"]
    assert math.log(witness) < (witness - 1) / 2          # the witness really violates the step


def test_numeric_checker_true_and_false_and_tolerance():
    square = lambda instance: Sides(instance.parameters["x"] ** 2, 2 * instance.parameters["x"] - 1)
    ok = check_on_instances(Step("am-gm", "", "≥", "algebra", numeric=square), _instances(-3.0, 0.5, 1.0, 7.0)())
    assert ok.verdict == "pass" and ok.count == 4
    bad = check_on_instances(Step("am-gm", "", "≤", "algebra", numeric=square), _instances(1.0, 7.0)())
    assert bad.verdict == "fail" and bad.values["instance"] == "x=7.0"
    within_error = lambda instance: Sides(1.0, 1.0 + 1e-6, error=2e-6)
    assert check_on_instances(Step("e", "", "=", "identity", numeric=within_error), _instances(0.0)()).verdict == "pass"


def test_implication_checker():
    step = Step("imp", "", "⇒", "monotonicity",
                numeric=lambda i: Sides(i.parameters["x"] > 2, i.parameters["x"] ** 2 > 4))
    assert check_on_instances(step, _instances(-3.0, 1.0, 3.0)()).verdict == "pass"
    wrong = Step("imp", "", "⇒", "monotonicity",
                 numeric=lambda i: Sides(i.parameters["x"] ** 2 > 4, i.parameters["x"] > 2))
    assert check_on_instances(wrong, _instances(-3.0, 3.0)()).verdict == "fail"


def test_search_finds_and_shrinks_a_counterexample():
    strategy = lambda: st.floats(0.0, 10.0).map(lambda v: ProofInstance(f"x={v}", {"x": v}))
    step = Step("cube", "", "≤", "algebra", numeric=lambda i: Sides(i.parameters["x"] ** 3, 8.0))
    proof = Proof("p", "T", "t", "s", (step,), _instances(1.0), strategy=strategy)
    record = check_proof(proof)
    assert record.verdict == "fail"
    search = next(check for check in record.steps[0].checks if check["method"] == "search")
    assert search["verdict"] == "fail" and search["values"]["lhs"] > 8.0


@given(st.floats(-3, 3), st.floats(0, 3), st.floats(0, 1), st.floats(0.1, 4))
def test_interval_enclosure_contains_every_point(low, width, fraction, positive):
    expr = sympy.exp(X) * X**2 - sympy.log(N + 1) * X / N + sympy.sqrt(N)
    box = {X: iv.mpf([low, low + width]), N: iv.mpf([positive, positive + 1])}
    point_x, point_n = low + fraction * width, positive + fraction
    value = math.exp(point_x) * point_x**2 - math.log(point_n + 1) * point_x / point_n + math.sqrt(point_n)
    interval = enclose(expr, box)
    assert float(_lo(interval)) - 1e-9 <= value <= float(_hi(interval)) + 1e-9


@given(st.floats(-2, 2), st.floats(0, 2), st.floats(0, 1), st.floats(0, 1), st.floats(0, 3))
def test_interval_enclosure_of_abs_max_min_powers_and_constants(low, width, fraction, base, exponent):
    y = sympy.Symbol("y", nonnegative=True)
    expr = (sympy.Abs(X) + sympy.Max(X, sympy.pi / 4) - sympy.Min(X, sympy.E) + y ** N
            + sympy.Float(0.1) * sympy.cos(X) + sympy.sin(X) ** 2)
    box = {X: iv.mpf([low, low + width]), y: iv.mpf([0, base]), N: iv.mpf([exponent, exponent + 1])}
    px, py, pn = low + fraction * width, fraction * base, exponent + fraction
    value = abs(px) + max(px, math.pi / 4) - min(px, math.e) + py ** pn + 0.1 * math.cos(px) + math.sin(px) ** 2
    interval = enclose(expr, box)
    assert float(_lo(interval)) - 1e-9 <= value <= float(_hi(interval)) + 1e-9


def test_interval_prover_reports_what_it_cannot_do():
    assert prove_nonnegative(sympy.gamma(N), {"N": (1.0, 2.0)}).outcome == "undecided"      # no interval extension
    assert prove_nonnegative(sympy.log(X), {"x": (-1.0, 2.0)}).outcome == "refuted"          # log of a negative box
    tangent = prove_nonnegative((N - 2) ** 2 * sympy.exp(N) - sympy.Rational(1, 10**9), {"N": (1.0, 3.0)},
                                max_boxes=50)
    assert tangent.outcome == "refuted" and abs(tangent.witness["N"] - 2.0) < 1e-3


def test_prove_nonnegative_undecided_without_domain():
    assert prove_nonnegative(sympy.log(N) - 1 + 1 / N, {}).outcome == "undecided"


# ---------------------------------------------------------------- the declared proofs
from tiltproof.proofs import all_proofs  # noqa: E402

PROOFS = all_proofs()
REQUIRED_THEOREMS = {"BoN", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "QRS", "SIR", "Chernoff"}


def test_every_lcb_theorem_has_a_proof_and_citations_resolve():
    assert REQUIRED_THEOREMS <= {proof.theorem for proof in PROOFS}
    ids = {proof.id for proof in PROOFS}
    cited = {step.cites for proof in PROOFS for step in proof.steps if step.cites}
    assert cited <= ids and {"lemma.chernoff", "t2.tv_bound"} <= cited


@pytest.mark.parametrize("proof", PROOFS, ids=lambda proof: proof.id)
def test_proof_steps_pass_on_instances_and_in_a_short_search(proof):
    record = check_proof(proof, "short", slow=False)      # the chains' slow instances: tests/test_proof_coverage.py
    bad = [(step.name, step.message) for step in record.steps if step.verdict in ("fail", "error")]
    assert not bad and record.verdict == "pass", bad
    for step in record.steps:       # a passing mechanical step was really evaluated somewhere
        if step.kind != "argued":
            assert any(check["verdict"] == "pass" and check["method"] != "search" or check["method"] == "search"
                       and check["count"] > 0 for check in step.checks), step.name


@pytest.mark.parametrize("proof", [p for p in PROOFS if p.wrong_steps], ids=lambda proof: proof.id)
def test_every_wrong_step_is_killed_at_its_step(proof):
    for wrong in proof.wrong_steps:
        result = check_wrong_step(proof, wrong, "short")
        assert result.killed, (wrong.name, result.step_record.message)
        assert result.step_record.index == [s.name for s in proof.steps].index(wrong.step)
        if wrong.instance:
            assert any(check["values"].get("instance") == wrong.instance for check in result.step_record.checks
                       if check["verdict"] == "fail")


def test_every_theorem_has_a_wrong_step():
    theorems = {proof.theorem for proof in PROOFS}
    assert theorems == {proof.theorem for proof in PROOFS if proof.wrong_steps}


@pytest.mark.slow
@pytest.mark.parametrize("proof", PROOFS, ids=lambda proof: proof.id)
def test_proof_steps_survive_the_nightly_search(proof):
    assert check_proof(proof, "nightly").verdict == "pass"


def test_bon_position_law_against_enumeration_of_all_tuples():
    from theorems.proofs.best_of_n import position_law

    probs = np.array([0.35, 0.25, 0.15, 0.25])
    rewards = np.array([1.0, 2.0, 0.0, 2.0])
    law = DiscreteLaw(rewards, np.log(probs))
    for n_draws in (1, 2, 3):
        brute = np.zeros(probs.size)
        for draws in itertools.product(range(probs.size), repeat=n_draws):
            best = max(rewards[list(draws)])
            first = next(d for d in draws if rewards[d] == best)
            brute[first] += np.prod(probs[list(draws)])
        np.testing.assert_allclose(position_law(law, n_draws), brute, rtol=1e-12)


# ---------------------------------------------------------------- front ends
def test_cli_proof_prints_each_step_and_writes_json(tmp_path, capsys):
    from tiltproof import cli

    path = tmp_path / "proof.json"
    assert cli.main(["proof", "BoN", "--profile", "short", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    proof = select_proofs(PROOFS, "BoN")[0]
    assert all(step.name in out for step in proof.steps) and "reference instance: " + proof.reference in out
    assert out.count("killed") >= len(proof.wrong_steps)
    payload = json.loads(path.read_text())
    assert [s["name"] for s in payload["proofs"][0]["steps"]] == [s.name for s in proof.steps]
    assert payload["summary"]["steps"] == len(proof.steps)


def test_cli_proof_bad_input_exits_2(capsys):
    from tiltproof import cli

    assert cli.main(["proof", "T99"]) == 2
    assert "unknown theorem or proof id 'T99'" in capsys.readouterr().out
    assert cli.main(["proof"]) == 2


def test_cli_proof_bad_proofs_exit_2_naming_the_step(monkeypatch, capsys):
    """A step citing a missing lemma, and a step whose sides have different shapes, are errors naming them."""
    import tiltproof.proofs as engine
    from tiltproof import cli

    citing = Step("uses", "x", "≤", "lemma", cites="lemma.nowhere", argued="applies the lemma")
    dangling = Proof("p.cites", "T98", "t", "s", (citing,), _instances(1.0))
    monkeypatch.setattr(engine, "all_proofs", lambda: engine.validate_citations([dangling]) or [dangling])
    assert cli.main(["proof", "T98", "--no-search"]) == 2
    assert "step 'uses': cites missing lemma 'lemma.nowhere'" in capsys.readouterr().out
    shapes = Step("vec", "x", "≤", "algebra", numeric=lambda i: Sides(np.zeros(3), np.zeros(2)))
    mismatched = Proof("p.shapes", "T98", "t", "s", (shapes,), _instances(1.0))
    monkeypatch.setattr(engine, "all_proofs", lambda: [mismatched])
    assert cli.main(["proof", "T98", "--no-search"]) == 2
    assert "step 'vec' on instance 'x=1.0': sides have different shapes (3,) (lhs) and (2,) (rhs)" in \
        capsys.readouterr().out


def test_cli_proof_summary_counts_steps_by_kind(monkeypatch, capsys):
    import tiltproof.proofs as engine
    from tiltproof import cli

    chosen = [p for p in PROOFS if p.theorem in ("T5", "Chernoff")]
    monkeypatch.setattr(engine, "all_proofs", lambda: chosen)
    assert cli.main(["proof", "--summary", "--no-search"]) == 0
    out = capsys.readouterr().out
    assert f"{len(chosen)} proofs, {sum(len(p.steps) for p in chosen)} steps" in out
    assert "mechanically checked:" in out


def test_report_proof_appendix_compiles_without_source_or_overfull_boxes(tmp_path):
    """Every proof typeset (no search: the layout does not depend on it) into the report; no LaTeX source
    in the PDF text, no overfull box over 5 pt, every proof's theorem and every wrong step listed."""
    import re
    import shutil
    import subprocess

    from reports import TEX_INSTALL_HINT, build_report
    from tests.test_reports import _payload
    from tiltproof.proof_command import proofs_payload

    missing = [tool for tool in ("pdflatex", "pdftotext") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found — {TEX_INSTALL_HINT}", pytrace=False)
    proofs = proofs_payload(PROOFS, None, slow=False)
    result = build_report(_payload(), tmp_path / "report", proofs=proofs)
    assert result.pdf is not None, result.log_excerpt
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(result.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "\nProofs\n" in text
    text = text.split("\nProofs\n", 1)[1]      # the appendix (the demo claims before it print odd messages on purpose)
    for source in ("\\mathrm", "\\frac", "$", "_{", "\\tp"):
        assert source not in text, f"{source!r} printed in the PDF"
    log = (tmp_path / "report" / "report.log").read_text(errors="replace")
    overfull = [float(width) for width in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]
    assert all(width <= 5.0 for width in overfull), overfull
    flat = " ".join(text.split())
    assert all(f"{p.theorem}:" in flat for p in PROOFS)
    assert flat.count("killed at step") == sum(len(p.wrong_steps) for p in PROOFS)
