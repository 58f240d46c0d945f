"""`tiltproof check` as a user runs it: arguments checked before any claim, no lost records, resumable
runs, margins that never contradict a pass, and a table that shows the relation of each claim."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

from tiltproof.core import registry
from tiltproof.core.evidence import interval_evidence, lower_bound_evidence, upper_bound_evidence
from tiltproof.core.framework import DEFAULT_ALPHA_TOTAL, Claim, Evidence, run_claim
from tiltproof import cli
from tiltproof.records_io import ResultsWriter, check_output_directory, check_output_path, read_partial

ROOT = Path(__file__).resolve().parents[1]


def _claim(claim_id: str, check) -> Claim:
    return Claim(id=claim_id, theorem="DEMO", module="demo", title="demo", statement="x \\le 1",
                 bound_expression=sympy.Integer(1), instance="none", hypotheses=(), check=check)


def _passing(context) -> Evidence:
    return upper_bound_evidence(statistic="demo", bound=1.0, exact=0.5, empirical=0.6, lower_confidence=0.55, n=10,
                                detectable_gap=0.1)


def _interrupt(context) -> Evidence:
    raise KeyboardInterrupt  # Ctrl-C in the middle of a claim


DEMO = [_claim(f"demo.c{index}/x", _passing) for index in range(4)]


# ---------------------------------------------------------------- margins and relations
def test_margins_of_passing_claims_are_never_negative_even_at_equality():
    """An exact value equal to its bound up to rounding used to give a −2e-16 margin on a pass."""
    bound = 1.8350887222397811
    upper = upper_bound_evidence(statistic="s", bound=bound, exact=bound + 2.2e-16, empirical=None,
                                 lower_confidence=None, n=0, detectable_gap=None)
    lower = lower_bound_evidence(statistic="s", bound=bound, exact=bound - 2.2e-16, empirical=1.9,
                                 upper_confidence=1.95, n=5, detectable_gap=None)
    equal = interval_evidence(statistic="s", value=bound, exact=bound + 4e-16, empirical=1.84,
                              interval=(1.80, 1.87), n=5, detectable_gap=None)
    for evidence, relation in ((upper, "≤"), (lower, "≥"), (equal, "=")):
        assert evidence.holds and evidence.margin >= 0 and evidence.relation == relation
    # the two-sided interval decides an equality's margin: the distance to the nearer end
    assert equal.margin == pytest.approx(min(bound - 1.80, 1.87 - bound))
    violated = upper_bound_evidence(statistic="s", bound=1.0, exact=None, empirical=1.3, lower_confidence=1.2, n=9,
                                    detectable_gap=None)
    assert not violated.holds and violated.margin < 0


def test_numbers_have_four_significant_digits_and_the_table_shows_the_relation():
    from rich.console import Console

    assert cli._number(0.000123456) == "0.0001235" and cli._number(123456.7) == "1.235e+05"
    assert cli._number(None) == "—" and cli._number("inf") == "inf"
    record = run_claim(DEMO[0], alpha=1e-3).to_json() | {"relation": "≥", "some_future_field": [1, 2]}
    console = Console(width=100, record=True, color_system=None)
    console.print(cli._table([record], width=100))
    text = console.export_text()
    assert "≥" in text and "0.55" in text and "demo.c0/x" in text and "…" not in text


def test_default_cap_of_the_cli_is_the_framework_s():
    assert cli.DEFAULT_ALPHA_CAP == DEFAULT_ALPHA_TOTAL


# ---------------------------------------------------------------- outputs validated first
def test_output_paths_are_checked(tmp_path):
    with pytest.raises(ValueError, match="^--json: the folder"):
        check_output_path(tmp_path / "missing" / "r.json")
    with pytest.raises(ValueError, match="is a folder"):
        check_output_path(tmp_path)
    assert check_output_path(tmp_path / "r.json") == tmp_path / "r.json" and not list(tmp_path.iterdir())
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="^--out"):
        check_output_directory(tmp_path / "file")
    assert check_output_directory(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"


def test_json_into_a_missing_folder_exits_2_before_any_claim_runs(tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(registry, "all_claims", lambda: ran.append("built") or DEMO)
    assert cli.main(["check", "--json", str(tmp_path / "no" / "r.json")]) == 2
    assert "does not exist" in capsys.readouterr().err and not ran  # not even the registry was built


def test_report_out_that_is_a_file_exits_2(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert cli.main(["report", "--results", str(tmp_path / "r.json"), "--out", str(tmp_path / "taken")]) == 2
    assert "--out" in capsys.readouterr().err


# ---------------------------------------------------------------- no lost runs
def test_writer_keeps_a_complete_json_after_every_record(tmp_path):
    path = tmp_path / "r.json"
    writer = ResultsWriter(path, {"seed": 1})
    assert json.loads(path.read_text()) == {"meta": {"seed": 1, "complete": False, "finished_claims": 0}, "claims": []}
    writer.add({"id": "b"})
    writer.add({"id": "a"})
    assert [r["id"] for r in read_partial(path)["claims"]] == ["b", "a"]
    writer.finish(order=["a", "b"])
    payload = json.loads(path.read_text())
    assert payload["meta"]["complete"] and [r["id"] for r in payload["claims"]] == ["a", "b"]
    assert not list(tmp_path.glob("*.tmp"))


def test_an_interrupted_run_keeps_finished_records_and_resume_completes_them(tmp_path, monkeypatch, capsys):
    path = tmp_path / "r.json"
    claims = DEMO[:2] + [_claim("demo.c9/ctrl-c", _interrupt)] + DEMO[2:]
    monkeypatch.setattr(registry, "all_claims", lambda: claims)
    assert cli.main(["check", "--json", str(path), "--seed", "4"]) == cli.EXIT_INTERRUPTED
    assert "--resume" in capsys.readouterr().err
    partial = json.loads(path.read_text())
    assert not partial["meta"]["complete"] and [r["id"] for r in partial["claims"]] == ["demo.c0/x", "demo.c1/x"]
    # the interruption is gone (the user fixed it); a resumed run finishes only what is missing
    fixed = DEMO[:2] + [_claim("demo.c9/ctrl-c", _passing)] + DEMO[2:]
    monkeypatch.setattr(registry, "all_claims", lambda: fixed)
    assert cli.main(["check", "--resume", str(path), "--seed", "5"]) == 2  # conflicts with the file's seed
    assert cli.main(["check", "--resume", str(path)]) == 0
    resumed = json.loads(path.read_text())
    assert resumed["meta"]["complete"] and resumed["meta"]["seed"] == 4
    assert [r["id"] for r in resumed["claims"]] == [claim.id for claim in fixed]
    assert resumed["claims"][:2] == partial["claims"]  # kept as they were, not run again
    fresh = tmp_path / "fresh.json"
    assert cli.main(["check", "--json", str(fresh), "--seed", "4"]) == 0
    strip = lambda payload: [r | {"seconds": 0} for r in payload["claims"]]  # noqa: E731
    assert strip(resumed) == strip(json.loads(fresh.read_text()))


def test_a_crash_outside_a_claim_keeps_the_finished_records(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    monkeypatch.setattr(registry, "all_claims", lambda: DEMO)
    calls = []
    original = ResultsWriter.add

    def add_then_crash(self, record):
        original(self, record)
        calls.append(record["id"])
        if len(calls) == 2:
            raise MemoryError("simulated crash after the second record")

    monkeypatch.setattr(ResultsWriter, "add", add_then_crash)
    with pytest.raises(MemoryError):
        cli.main(["check", "--json", str(path)])
    assert [r["id"] for r in json.loads(path.read_text())["claims"]] == calls


def test_help_and_argument_errors_import_nothing_heavy():
    """Lazy imports: neither torch nor the registry is loaded to answer --help or a bad argument
    (the time it takes is measured in benchmarks/cli_startup.py, not here)."""
    probe = ("import sys; from tiltproof import cli; code = cli.main(['check', '--alpha', '3']); "
             "heavy = [m for m in ('torch', 'sympy', 'tiltproof.core.registry', 'matplotlib') if m in sys.modules]; "
             "print(code, heavy)")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert completed.stdout.strip() == "2 []", completed.stdout + completed.stderr


@pytest.mark.slow
def test_full_check_then_report_end_to_end(tmp_path):
    """The whole default run as a user does it (minutes): every claim passes with a non-negative margin, the
    stamp names the packages and the device, and the report of it is at most 12 pages with no LaTeX source."""
    import re
    import shutil

    results, out = tmp_path / "results.json", tmp_path / "report"
    run = lambda *argv: subprocess.run([sys.executable, "-m", "tiltproof.cli", *argv], cwd=ROOT,  # noqa: E731
                                       capture_output=True, text=True, timeout=3600)
    checked = run("check", "--json", str(results))
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    payload = json.loads(results.read_text())
    assert payload["meta"]["complete"] and payload["meta"]["alpha_spent"] <= payload["meta"]["alpha_cap"]
    assert {"torch", "numpy", "python"} <= set(payload["meta"]["packages"]) and payload["meta"]["device_name"]
    assert all(r["margin"] is None or r["margin"] >= 0 for r in payload["claims"])
    if shutil.which("pdflatex") is None:
        pytest.fail("the report half needs TeX Live (see docs/reports.md)")
    reported = run("report", "--results", str(results), "--out", str(out))
    assert reported.returncode == 0, reported.stdout + reported.stderr
    info = subprocess.run(["pdfinfo", str(out / "report.pdf")], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) <= 12
    text = subprocess.run(["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True).stdout
    assert not any(source in text for source in ("\\mathcal", "$", "\\|", "_{"))
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt", (out / "report.log").read_text())]
    assert all(width <= 5.0 for width in widths), widths
