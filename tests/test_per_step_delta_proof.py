"""The per-step δ proofs (``theorems/proofs/per_step_delta.py``): every step passes on the registered instances and
in the short search, every wrong step is killed at its step, and the proof's literal sums agree with independent
routes (mpmath at 40 digits; closed forms of the two-point law; the identity N·m = 1 at κ = 1/λ).

Maths used as expectations (none taken from the code under test):
* two-point law V ∈ {0, h}, p(h) = π, λ = 1, 0 < b < h: ``q(h) = πe^h/(1−π+πe^h)``, ``q_b(h) = πe^b/(1−π+πe^b)``,
  ``TV = q(h) − q_b(h)``; at κ = 1/λ, ``N·m = e^{(b−V')/λ}E_p e^{(V−b)/λ} = e^{−V'/λ}E_p e^{V/λ} = 1`` for every b;
* b > ess sup V: q_b = q, TV = 0, while ``e^{(M−V')/λ} − e^{(b−V')/λ} < 0`` for M = ess sup V.
"""
from __future__ import annotations

import math
import shutil

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from theorems.proofs.per_step_delta import (FACTOR_PROOF, TAIL_PROOF, WEIGHTED_PROOF, Case, _instances, _literal,
                                           _module, proofs)
from tiltproof.proofs import all_proofs, check_proof, check_wrong_step, select_proofs, summarize
from tiltproof.proofs.checkers import resolved
from tests.proof_appendix import assert_proof_appendix_typesets

PROOFS = {proof.id: proof for proof in proofs()}


def _instance(name: str):
    return resolved(next(instance for instance in _instances() if instance.name == name))


@pytest.mark.parametrize("proof_id", [FACTOR_PROOF, WEIGHTED_PROOF, TAIL_PROOF])
def test_every_step_passes_and_every_wrong_step_is_killed_at_its_step(proof_id):
    proof = PROOFS[proof_id]
    assert select_proofs(all_proofs(), proof_id)[0].id == proof_id          # discovered through the module
    record = check_proof(proof, "short", slow=False)
    assert record.verdict == "pass", [(s.name, s.message) for s in record.steps if s.verdict != "pass"]
    assert record.kinds["argued"] == 0 and len(record.instances) == 3
    for wrong in proof.wrong_steps:
        result = check_wrong_step(proof, wrong, "short")
        assert result.killed and result.step_record.name == wrong.step, (wrong.name, result.step_record.message)


def test_pointwise_step_is_proved_symbolically_and_the_kappa_witness_really_violates():
    proof = PROOFS[FACTOR_PROOF]
    record = check_proof(proof, None, slow=False)
    assert next(s for s in record.steps if s.name == "pointwise").kind == "checked-symbolic"
    wrong = next(w for w in proof.wrong_steps if w.name == "kappa-below-inverse-lambda")
    result = check_wrong_step(proof, wrong, None)
    witness = next(c for c in result.step_record.checks if c["method"] == "symbolic")["values"]["witness"]
    b, y, lam, theta = (witness[k] for k in ("b", "y", "lambda", "theta"))
    assert theta < 1 and math.exp((b + y) / lam) > math.exp(b / lam) * math.exp(theta / lam * y)


def test_two_point_instance_against_its_closed_form():
    case = _instance("two-point/kappa=1,delta=0.01").payload
    with mpmath.workdps(40):
        pi, h, b = (mpmath.mpf(x) for x in (case.p[0, 1], case.V[0, 1], case.b[0]))
        q_h = pi * mpmath.e**h / (1 - pi + pi * mpmath.e**h)
        qb_h = pi * mpmath.e**b / (1 - pi + pi * mpmath.e**b)
    Q = _literal(case)
    assert Q["tv"][0] == pytest.approx(float(q_h - qb_h), rel=1e-10)
    assert Q["tail_q"][0] == pytest.approx(float(q_h), rel=1e-12)
    assert Q["count"][0] * Q["mass"][0] == pytest.approx(1.0, rel=1e-10)            # κ = 1/λ
    assert Q["mass"][0] == pytest.approx(case.delta, rel=1e-9)                      # the authors' offset: m = δ
    assert Q["tail_q"][0] > 10 * Q["mass"][0]                                       # the dropped factor matters


def test_beyond_ess_sup_instance_has_no_clipping_and_a_negative_bracket():
    case = _instance("two-point/b>M").payload
    Q = _literal(case)
    assert case.b[0] > case.V.max() and Q["tv"][0] == 0.0 and Q["tail_p"][0] == 0.0 and Q["width"][0] < 0


def test_gmm_instance_is_the_authors_plug_in_at_t0():
    case = _instance("gmm-ref-B7/t=0").payload
    Q = _literal(case)
    assert case.p.shape == (301, 2) and case.kappa == 15.0
    assert float(Q["mass"].mean()) == pytest.approx(case.delta, rel=1e-9)           # mean_i m(y_i) = δ
    assert np.all(Q["tv"] <= np.minimum(Q["count"] * Q["mass"], 1.0) + 1e-12)


def _mp_tv_and_factor(case: Case, row: int):
    with mpmath.workdps(40):
        return _mp_sums(case, row)


def _mp_sums(case: Case, row: int):
    p = [mpmath.mpf(x) for x in case.p[row]]
    V = [mpmath.mpf(x) for x in case.V[row]]
    lam, b, kappa = mpmath.mpf(case.lam), mpmath.mpf(case.b[row]), mpmath.mpf(case.kappa)
    w = [mpmath.e**(v / lam) for v in V]
    Z = mpmath.fsum(pi * wi for pi, wi in zip(p, w))
    clipped = [pi * min(wi, mpmath.e**(b / lam)) for pi, wi in zip(p, w)]
    Zb = mpmath.fsum(clipped)
    tv = mpmath.fsum(abs(pi * wi / Z - ci / Zb) for pi, wi, ci in zip(p, w, clipped)) / 2
    v_next = lam * mpmath.log(Z)
    factor = mpmath.e**((b - v_next) / lam) * mpmath.fsum(pi * mpmath.e**(kappa * (v - b)) for pi, v in zip(p, V))
    return float(tv), float(factor)


@st.composite
def _cases(draw, kappa_equal=False):
    A = draw(st.integers(2, 4))
    p = np.array([[draw(st.floats(0.05, 1.0)) for _ in range(A)]])
    p /= p.sum()
    V = np.array([[draw(st.floats(-4.0, 4.0)) for _ in range(A)]])
    lam = draw(st.floats(0.25, 4.0))
    kappa = 1.0 / lam if kappa_equal else 1.0 / lam + draw(st.floats(0.0, 4.0))
    v_next = lam * np.log((p * np.exp(V / lam)).sum(1))
    return Case(p, V, v_next, np.array([draw(st.floats(-6.0, 6.0))]), np.ones(1), lam, kappa, float(V.max()), 0.1)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(_cases())
def test_literal_sums_and_the_module_agree_with_mpmath(case):
    tv, factor = _mp_tv_and_factor(case, 0)
    Q, M = _literal(case), _module(case)
    assert Q["tv"][0] == pytest.approx(tv, rel=1e-9, abs=1e-12)
    assert Q["count"][0] * Q["mass"][0] == pytest.approx(factor, rel=1e-9)
    assert M["tv"][0] == pytest.approx(tv, rel=1e-9, abs=1e-12)
    assert math.exp(M["log_factor"][0]) == pytest.approx(factor, rel=1e-9)
    assert tv <= factor * (1 + 1e-12)                                           # (A) itself, at 40 digits


@settings(max_examples=30, deadline=None, derandomize=True)
@given(_cases(kappa_equal=True))
def test_count_times_mass_is_one_at_kappa_equal_inverse_lambda(case):
    Q = _literal(case)
    assert Q["count"][0] * Q["mass"][0] == pytest.approx(1.0, rel=1e-10)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_appendix_of_these_proofs_typesets_without_overfull_boxes(tmp_path):
    """The report's proof appendix (reports.proofs) for these three proofs and their wrong steps compiles with no
    overfull box (the unicode and braces in the wrong steps' descriptions and history are escaped)."""
    records = [check_proof(proof, None, slow=False) for proof in PROOFS.values()]
    wrongs = [check_wrong_step(proof, wrong, None).to_json() for proof in PROOFS.values() for wrong in proof.wrong_steps]
    payload = {"summary": summarize(records), "proofs": [r.to_json() for r in records], "wrong_steps": wrongs}
    assert_proof_appendix_typesets(payload, tmp_path)
