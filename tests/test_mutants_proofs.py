"""``tiltproof mutants`` lists every proof's wrong steps as kill-matrix rows (issue 22): ids, counts, JSON,
``--no-proofs``, a surviving wrong step, and the report's kill matrix."""
import dataclasses
import json

import pytest

import tiltproof.proofs as proofs_package
from reports.build import _variants
from theorems.proofs.best_of_n import proofs as bon_proofs
from tiltproof import cli
from tiltproof.core import mutants as single_step
from tiltproof.mutants_command import run_proof_steps
from tiltproof.proofs import WrongStep


@pytest.fixture
def small_registry(monkeypatch):
    """The single-step claim variants and the BoN proof only (cheap), plus a wrong step that is the correct
    step itself (it must survive)."""
    import tiltproof.core.registry as registry

    monkeypatch.setattr(registry, "all_mutants", single_step.mutants)
    bon = bon_proofs()[0]
    same = WrongStep("not-wrong", "jensen", bon.step("jensen"), "the correct step (must survive)",
                     instance="finite-k8/N=4")
    with_survivor = dataclasses.replace(bon, id="bon.with_survivor", wrong_steps=bon.wrong_steps + (same,))
    monkeypatch.setattr(proofs_package, "all_proofs", lambda: [bon, with_survivor])
    return bon, with_survivor


def test_rows_name_proof_and_step_and_only_filters(small_registry):
    bon, with_survivor = small_registry
    rows = run_proof_steps(r"^proof:bon\.kl_bound/", profile="short")
    assert [row.id for row in rows] == [f"proof:bon.kl_bound/{w.name}" for w in bon.wrong_steps]
    for row, wrong in zip(rows, bon.wrong_steps):
        assert row.killed and row.verdict == "fail" and row.step == wrong.step
        assert row.statistic == f"killed at step {wrong.step}" and row.to_json()["kind"] == "proof step"
    survivor = run_proof_steps("not-wrong", profile="short")
    assert len(survivor) == 1 and not survivor[0].killed and survivor[0].verdict == "pass"


def test_command_counts_step_rows_in_json_and_exits_one_on_a_survivor(small_registry, tmp_path):
    bon, with_survivor = small_registry
    output = tmp_path / "mutants.json"
    assert cli.main(["mutants", "--workers", "1", "--only", r"#(undercount|no-slack)$|^proof:", "--json", str(output)]) == 1
    payload = json.loads(output.read_text())
    steps = [row for row in payload["mutants"] if row["kind"] == "proof step"]
    expected = len(bon.wrong_steps) + len(with_survivor.wrong_steps)
    assert len(steps) == payload["meta"]["proof_steps"] == expected
    assert payload["meta"]["proof_steps_killed"] == expected - 1
    assert payload["meta"]["survived"] == 1 and payload["meta"]["killed"] == len(payload["mutants"]) - 1
    assert {row["id"] for row in steps if not row["killed"]} == {"proof:bon.with_survivor/not-wrong"}
    # the report's kill matrix shows the step rows
    section = _variants(payload, set())
    assert section["total"] == len(payload["mutants"]) and section["killed"] == len(payload["mutants"]) - 1
    assert sum("bon.kl" in row["claim"] for row in section["rows"]) == len(bon.wrong_steps)


def test_no_proofs_skips_the_step_rows(small_registry, tmp_path):
    output = tmp_path / "mutants.json"
    assert cli.main(["mutants", "--workers", "1", "--no-proofs", "--only", r"#(undercount|no-slack)$", "--json", str(output)]) == 0
    payload = json.loads(output.read_text())
    assert payload["mutants"] and all(row["kind"] != "proof step" for row in payload["mutants"])
    assert payload["meta"]["proof_steps"] == 0
    assert cli.main(["mutants", "--workers", "1", "--no-proofs", "--only", "^proof:"]) == 2     # nothing left to run


def test_report_kill_matrix_compiles_with_the_step_rows(small_registry, tmp_path):
    """The report's wrong-variants section typesets the proof-step rows (every id in the PDF, no overfull box)."""
    import re
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from tests.test_reports import ROOT, _payload, _pdf_text

    if any(shutil.which(tool) is None for tool in ("pdflatex", "latexmk", "pdftotext")):
        pytest.fail("the report compile test needs TeX Live and poppler-utils", pytrace=False)
    rows = [row.to_json() for row in run_proof_steps(r"^proof:bon\.kl_bound/", profile="short")]
    mutants, results, out = tmp_path / "mutants.json", tmp_path / "results.json", tmp_path / "report"
    mutants.write_text(json.dumps({"meta": {"commit": "abc1234", "proof_steps": len(rows)}, "mutants": rows}))
    results.write_text(json.dumps(_payload()))
    completed = subprocess.run([sys.executable, "-m", "tiltproof.cli", "report", "--results", str(results), "--out",
                                str(out), "--mutants", str(mutants)], capture_output=True, text=True, timeout=300,
                               cwd=ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    flat = " ".join(_pdf_text(out / "report.pdf").split())
    assert f"Killed: {len(rows)} of {len(rows)}" in flat
    for row in rows:
        squeezed = flat.replace(" ", "").replace("-", "")      # ids break across lines at - and _
        assert row["id"].replace("-", "") in squeezed and f"step {row['step']}" in flat
    log = "\n".join(path.read_text(errors="replace") for path in Path(out).rglob("*.log"))
    assert all(float(width) <= 5.0 for width in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log))
