"""The registered claims, the wrong variants, the budget and the CLI, as a user runs them."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tiltproof.core.framework import Claim, Evidence, Hypothesis, run_claim
from tiltproof.core.registry import all_claims, all_mutants, select_claims
from tiltproof.core.framework import DEFAULT_ALPHA_TOTAL, DEFAULT_CLAIM_LEVEL, claim_level
from tiltproof.core.suite import plan_levels, run_suite
from tests.conftest import STAT_ALPHA

import sympy

CLAIMS = all_claims()
MUTANTS = all_mutants()


def test_claims_are_registered_with_unique_ids_and_latex():
    assert len(CLAIMS) >= 50
    assert len({claim.id for claim in CLAIMS}) == len(CLAIMS)
    assert {claim.theorem for claim in CLAIMS} >= {"T1", "T2", "T3", "T4", "T5", "T6"}
    for claim in CLAIMS:
        assert sympy.latex(claim.bound_expression)
        assert claim.statement


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda mutant: mutant.name)
def test_every_wrong_variant_is_rejected(mutant):
    """Power: the theorem's own check returns ``fail`` on a deliberately wrong sampler or bound."""
    record = run_claim(mutant.claim, alpha=STAT_ALPHA)
    assert record.verdict == "fail", record.message


def test_every_theorem_has_a_code_path_variant():
    """Each theorem has a variant that breaks what its check runs (sampler, learner, counter,
    calibration), not only its symbolic bound (``tiltproof mutants`` reports the kind)."""
    from tiltproof.mutants_command import missing_code_path_theorems

    assert missing_code_path_theorems(MUTANTS, CLAIMS) == []


def test_each_theorem_has_two_wrong_variants():
    counts: dict[str, int] = {}
    for mutant in MUTANTS:
        counts[mutant.theorem] = counts.get(mutant.theorem, 0) + 1
    theorems_with_claims = {claim.theorem for claim in CLAIMS}
    assert all(counts.get(theorem, 0) >= 2 for theorem in theorems_with_claims), counts


FAST_CLAIMS = select_claims(CLAIMS, r"(gmm-step-d1|finite-k10)")


@pytest.mark.parametrize("claim", FAST_CLAIMS, ids=lambda claim: claim.id)
def test_registered_claims_pass_on_their_instances(claim):
    """The claims hold at the test share of the budget (the full set runs in `tiltproof check` in CI); each
    record states the power of its statistic with units, and a passing record never has a negative margin."""
    record = run_claim(claim, alpha=STAT_ALPHA)
    assert record.verdict == "pass", record.message
    assert record.margin is None or record.margin >= 0, record.margin  # a pass is never outside its claim
    assert record.relation in ("≤", "≥", "=", "∈")
    assert record.detectable_gap is not None and record.detectable_gap_units, claim.id


def test_violated_hypothesis_is_an_error_not_a_pass():
    claim = Claim(id="demo/violated", theorem="T1", module="demo", title="demo", statement="x",
                  bound_expression=sympy.Integer(1), instance="none",
                  hypotheses=(Hypothesis("b ≥ sup r", lambda: False),),
                  check=lambda context: Evidence(holds=True, statistic="none"))
    record = run_claim(claim, alpha=0.01)
    assert record.verdict == "error" and "b ≥ sup r" in record.message


def test_exception_is_an_error():
    def broken(context):
        raise RuntimeError("kernel exploded")

    claim = Claim(id="demo/broken", theorem="T1", module="demo", title="demo", statement="x",
                  bound_expression=sympy.Integer(1), instance="none", hypotheses=(), check=broken)
    record = run_claim(claim, alpha=0.01)
    assert record.verdict == "error" and "kernel exploded" in record.message


def test_each_claim_runs_at_its_own_level_whatever_else_is_registered_or_selected():
    """Stable records: a claim's level (hence n and its figures) depends on the claim alone."""
    chosen = select_claims(CLAIMS, r"^t2\.(tv_exact|sampler_law)/finite")
    alone = run_suite(chosen[:1], seed=3)
    with_others = run_suite(chosen, seed=3)
    grown = run_suite(chosen + [FAST_CLAIMS[0]], seed=3)  # a suite that gained a claim
    assert alone[0].alpha == claim_level(chosen[0]) == DEFAULT_CLAIM_LEVEL
    for records in (with_others, grown):
        assert alone[0].to_json() | {"seconds": 0} == records[0].to_json() | {"seconds": 0}


def test_the_default_levels_of_the_registered_claims_fit_under_the_default_cap():
    plan = plan_levels(CLAIMS)
    assert plan.scale == 1.0 and plan.spent == pytest.approx(sum(claim_level(claim) for claim in CLAIMS))
    assert plan.spent <= DEFAULT_ALPHA_TOTAL and plan.note is None


def test_a_cap_below_the_selection_s_levels_scales_them_down_and_says_so():
    chosen = CLAIMS[:10]
    plan = plan_levels(chosen, 1e-9)
    assert plan.spent == pytest.approx(1e-9) and plan.scale == pytest.approx(1e-9 / (10 * DEFAULT_CLAIM_LEVEL))
    assert "scaled" in plan.note and plan.levels[chosen[0].id] == pytest.approx(1e-10)
    with pytest.raises(ValueError, match="alpha"):
        plan_levels(chosen, 2.0)


def test_bad_only_pattern():
    with pytest.raises(ValueError, match="--only"):
        select_claims(CLAIMS, "(")


def _cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tiltproof.cli", *arguments], capture_output=True, text=True, timeout=600)


def test_cli_check_writes_json_and_exits_zero(tmp_path):
    output = tmp_path / "results.json"
    completed = _cli("check", "--only", r"t1\.ideal_exact/finite|t2\.tv_exact/gmm", "--json", str(output), "--seed", "5")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    payload = json.loads(output.read_text())
    assert {record["id"] for record in payload["claims"]} == {"t1.ideal_exact/finite-k10", "t2.tv_exact/gmm-step-d1/b=0.155",
                                                            "t2.tv_exact/gmm-step-d1/b=3.31"}
    for record in payload["claims"]:
        assert {"id", "theorem", "verdict", "alpha", "bound", "empirical", "n"} <= set(record)
    assert payload["meta"]["seed"] == 5 and "passed" in completed.stdout


def test_cli_exit_codes_for_bad_arguments():
    assert _cli("check", "--only", "no-such-claim").returncode == 2
    assert _cli("check", "--alpha", "3").returncode == 2
    assert _cli("check", "--device", "tpu", "--only", "t1").returncode == 2


def test_cli_exits_nonzero_when_a_claim_fails(monkeypatch, tmp_path):
    """Exit status is non-zero iff a claim is fail or error: inject one wrong variant into the registry."""
    from tiltproof.core import registry
    from tiltproof import cli

    wrong = MUTANTS[0].claim
    monkeypatch.setattr(registry, "all_claims", lambda: [wrong])
    assert cli.main(["check", "--json", str(tmp_path / "r.json")]) == 1
    assert json.loads((tmp_path / "r.json").read_text())["claims"][0]["verdict"] == "fail"


def test_cli_list():
    completed = _cli("list", "--only", "t5")
    assert completed.returncode == 0 and "t5.tradeoff/finite-k10" in completed.stdout
