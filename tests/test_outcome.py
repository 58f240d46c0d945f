"""The one outcome vocabulary (issue 21 item 3): frozen once built, one JSON writer, one error builder."""
from __future__ import annotations

import ast
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tiltproof.byo.common import error_record as byo_error_record
from tiltproof.byo.verification import Certificate, VerificationRecord
from tiltproof.byo.verification import TestOutcome as OneTest
from tiltproof.core.evidence import interval_evidence, lower_bound_evidence, upper_bound_evidence
from tiltproof.core.framework import Claim, Evidence, Hypothesis, Record, claim_error_record, claim_seed, run_claim
from tiltproof.core.outcome import Outcome, error_outcome, json_ready

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE_FIELDS = {field.name for field in dataclasses.fields(Evidence)}


def _claim(check=lambda context: Evidence(holds=True, statistic="none"), hypotheses=()) -> Claim:
    return Claim(id="demo/outcome", theorem="T1", module="demo", title="demo", statement="x ≤ 1",
                 bound_expression=sympy.Integer(1), instance="none", hypotheses=hypotheses, check=check,
                 parameters={"lam": 0.5})


def _outcomes() -> list[Outcome]:
    test = OneTest(name="x0", statistic="KS", value=0.1, threshold=0.2, n=10, alpha=1e-3, detectable_gap=0.3,
                       gap_units="KS", rejected=False)
    return [
        Evidence(holds=True, statistic="demo", bound=1.0, exact=0.5),
        run_claim(_claim(), alpha=0.01),
        VerificationRecord(family="single", instance="demo", verdict="pass", alpha=1e-3, beta=1e-3, seed=0,
                           tests=(test,), certificates=(Certificate("tv", 0.01, 0.05, 1e-3),)),
        test,
    ]


@pytest.mark.parametrize("outcome", _outcomes(), ids=lambda outcome: type(outcome).__name__)
def test_every_field_of_an_outcome_is_frozen_once_built(outcome):
    for field in dataclasses.fields(outcome):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(outcome, field.name, getattr(outcome, field.name))


def _attribute_patches(source: str, filename: str = "<source>") -> list[str]:
    """Assignments ``name.<Evidence field> = …`` (or ``+=``) to anything but ``self``: a patched outcome."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            for leaf in ast.walk(target):
                if (isinstance(leaf, ast.Attribute) and leaf.attr in EVIDENCE_FIELDS
                        and isinstance(leaf.value, ast.Name) and leaf.value.id != "self"):
                    found.append(f"{filename}:{leaf.lineno}: {leaf.value.id}.{leaf.attr}")
    return found


def test_the_patch_scan_finds_a_patched_evidence():
    """The scan below can fail: it flags the pattern the migration removed (45 sites in 13 modules)."""
    patched = "evidence = upper_bound_evidence(**kw)\nevidence.holds = False\nevidence.message += 'x'\n"
    assert len(_attribute_patches(patched)) == 2
    assert _attribute_patches("self.exact = exact\nevidence = dataclasses.replace(evidence, holds=False)\n") == []


def test_no_module_patches_an_outcome_after_construction():
    modules = [path for folder in ("theorems", "tiltproof", "estimators", "primitives", "examples")
               for path in sorted((ROOT / folder).rglob("*.py"))]
    found = [hit for path in modules for hit in _attribute_patches(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == [], ("build the outcome once (builders' units=/also_fails=, dataclasses.replace):\n"
                         + "\n".join(found))


finite = st.floats(-10, 10, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(bound=finite, exact=finite, lower=finite, reasons=st.lists(st.text(min_size=1, max_size=8), max_size=3))
def test_also_fails_fails_the_claim_keeps_the_margin_and_appends_its_reasons(bound, exact, lower, reasons):
    common = dict(statistic="s", bound=bound, exact=exact, empirical=None, n=1, detectable_gap=None)
    for build, side in ((upper_bound_evidence, "lower_confidence"), (lower_bound_evidence, "upper_confidence")):
        plain = build(**common, **{side: lower})
        extra = build(**common, **{side: lower}, also_fails=reasons, units="TV")
        assert extra.holds == (plain.holds and not reasons)
        assert extra.margin == plain.margin and extra.detectable_gap_units == "TV"
        assert extra.message == "; ".join(filter(None, [plain.message, *reasons]))
    plain = interval_evidence(statistic="s", value=bound, exact=exact, empirical=None, interval=(lower, lower + 1),
                              n=1, detectable_gap=None)
    extra = interval_evidence(statistic="s", value=bound, exact=exact, empirical=None, interval=(lower, lower + 1),
                              n=1, detectable_gap=None, also_fails=reasons)
    assert extra.holds == (plain.holds and not reasons) and extra.margin == plain.margin


def test_the_one_json_writer_makes_every_outcome_json_ready():
    record = VerificationRecord(family="single", instance="demo", verdict="fail", alpha=1e-3, beta=1e-3, seed=0,
                                tests=(), power={"tv": math.inf},
                                details={"array": np.array([1.5, 2.5]), "scalar": np.float32(0.25),
                                         "tensor": torch.tensor([1, 2]), 3: math.nan})
    payload = record.to_json()
    assert payload["power"] == {"tv": "inf"}
    assert payload["details"] == {"array": [1.5, 2.5], "scalar": 0.25, "tensor": [1, 2], "3": "nan"}
    assert json.loads(json.dumps(payload)) == payload
    claim_record = run_claim(_claim(lambda context: Evidence(holds=True, statistic="s", bound=math.inf,
                                                             details={"n": np.int64(3)})), alpha=0.01)
    payload = claim_record.to_json()
    assert payload["bound"] == "inf" and payload["details"] == {"n": 3} and json.loads(json.dumps(payload)) == payload
    assert json_ready((1, {2: -math.inf})) == [1, {"2": "-inf"}]


def test_a_detail_json_cannot_hold_fails_in_the_writer_not_later():
    evidence = Evidence(holds=True, statistic="s", details={"what": object()})
    with pytest.raises(TypeError):
        evidence.to_json()


def test_the_one_error_builder_gives_every_kind_its_empty_figures():
    claim = _claim(hypotheses=(Hypothesis("b ≥ sup r", lambda: False),))
    violated = run_claim(claim, alpha=0.01, seed=7)
    built = claim_error_record(claim, alpha=0.01, seed=7, statistic="hypotheses", message=violated.message,
                               seconds=violated.seconds)
    assert violated == built
    assert (built.verdict, built.seed, built.n, built.bound, built.margin) == ("error", claim_seed(7, claim.id), 0,
                                                                                None, None)
    byo = byo_error_record("chain", "gmm-ref-B5", alpha=1e-3, beta=1e-3, seed=2, message="raised")
    assert byo == error_outcome(VerificationRecord, message="raised", family="chain", instance="gmm-ref-B5",
                                alpha=1e-3, beta=1e-3, seed=2)
    assert (byo.verdict, byo.tests, byo.passed) == ("error", (), False)
    with pytest.raises(ValueError, match="verdict"):
        error_outcome(Record, message="x", verdict="pass")
