"""``benchmarks/chain_peers.py``: its tables and plot, the report's benchmark section (present exactly when the
results exist), and (slow) a ``--quick`` run end to end."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from benchmarks import chain_peers
from reports import build_report
from reports.benchmarks import chain_peers_context
from reports.build import compile_report
from tests.test_reports import results_file  # noqa: F401 (the fixture: a small claims results file)


def _rows() -> list[dict]:
    base = {"instance": "gmm-ref-B3", "claimed_budget": 0.05, "certified_tv": None, "tv_x0": None,
            "tv_x0_quadrature_error": None, "tv_estimate": 0.31, "tv_lower_confidence": 0.27,
            "queries_per_sample": 336.0, "n": 1000, "capped": False, "sampler_seconds": 1.0, "check_seconds": 2.0}
    return [
        {**base, "sampler": "trajectory rejection", "verdict": "pass", "pass_meaning": "not_refuted",
         "claimed_budget": 0.0, "tv_x0": 0.0, "tv_x0_quadrature_error": 0.0, "queries_per_sample": 371.0},
        {**base, "sampler": "tight (b = V_{t+1})", "verdict": "uncertified", "pass_meaning": None, "tv_x0": 0.017,
         "tv_x0_quadrature_error": 3e-6, "queries_per_sample": 21.1},
        {**base, "sampler": "LCB (offset rule, δ = 1e-3)", "verdict": "pass", "pass_meaning": "certified",
         "certified_tv": 0.04, "tv_x0": 0.007, "tv_x0_quadrature_error": 3e-6, "capped": True},
        {**base, "sampler": "SVDD argmax (M = 16)", "verdict": "fail", "pass_meaning": None},
        {"instance": "gmm-ref-B3", "sampler": "MSG (δ = 0.01)", "verdict": "n/a", "note": "not applicable"},
    ]


def _payload() -> dict:
    return {"meta": {"command": "python benchmarks/chain_peers.py", "seconds": 12.0, "quick": False,
                     "machine": "demo machine"}, "rows": _rows()}


def test_tables_show_every_row_with_its_verdict_and_tv_route():
    rows = _rows()
    table = chain_peers.markdown(rows)
    lines = table.strip().splitlines()
    assert len(lines) == 2 + len(rows)
    for row, line in zip(rows, lines[2:]):
        assert row["sampler"] in line and chain_peers.verdict_text(row) in line
    assert "pass (certified)" in table and "pass (not refuted)" in table and "0.04" in table
    assert "≥ 0.27 (estimate 0.31)" in table and "0.017 exact" in table and "(capped)" in table
    tex = chain_peers.latex(rows)
    assert tex.isascii() and tex.count(r"\\") == 1 + len(rows)      # header + one line per row
    assert tex.count("{") == tex.count("}") and tex.count("$") % 2 == 0


NO_MUTANTS = {"meta": {}, "mutants": []}
"""An empty kill matrix: the report then skips importing every registered variant (minutes on a loaded machine)."""


def _one_claim(results_file) -> dict:
    """The reports test's results with only its first claim (the section does not depend on the claims)."""
    payload = json.loads(results_file.read_text())
    return {**payload, "claims": payload["claims"][:1]}


def test_report_includes_the_chain_peers_section_when_the_results_exist(results_file, tmp_path):
    folder = tmp_path / "chain_peers"
    chain_peers.write(_payload(), folder)
    assert {p.name for p in folder.iterdir()} >= {"chain_peers.json", "chain_peers.md", "chain_peers.tex",
                                                  "chain_peers.pdf", "chain_peers.png"}
    out = build_report(_one_claim(results_file), tmp_path / "with", compile=False, benchmarks=tmp_path, mutants=NO_MUTANTS).directory
    tex = (out / "report.tex").read_text()
    assert r"\section{Benchmark: the field's samplers on exact chains}" in tex
    assert r"\input{benchmarks/chain_peers_table}" in tex and "figures/chain_peers.pdf" in tex
    assert (out / "benchmarks" / "chain_peers_table.tex").read_text() == (folder / "chain_peers.tex").read_text()
    assert (out / "figures" / "chain_peers.pdf").is_file()
    assert "4 samplers on 1 exact chains, 4 checks" in " ".join(tex.split())
    without = build_report(_one_claim(results_file), tmp_path / "without", compile=False,
                           benchmarks=tmp_path / "nothing", mutants=NO_MUTANTS).directory
    assert "Benchmark:" not in (without / "report.tex").read_text()
    assert not (without / "benchmarks").exists()


def test_report_refuses_a_broken_results_file(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "chain_peers.json").write_text("{not json")
    (folder / "chain_peers.tex").write_text("")
    with pytest.raises(ValueError, match="benchmarks"):
        chain_peers_context(folder, tmp_path / "out")
    assert chain_peers_context(None, tmp_path / "out") is None


@pytest.mark.slow
def test_report_with_the_section_compiles(results_file, tmp_path):
    if shutil.which("pdflatex") is None or shutil.which("pdftotext") is None:
        pytest.skip("needs pdflatex and pdftotext")
    folder = tmp_path / "chain_peers"
    chain_peers.write(_payload(), folder)
    out = build_report(_one_claim(results_file), tmp_path / "report", compile=False, benchmarks=tmp_path, mutants=NO_MUTANTS).directory
    pdf, _, excerpt = compile_report(out / "report.tex", engine="pdflatex")
    assert pdf is not None, excerpt
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split())
    assert "samplers on exact chains" in text and "SVDD argmax" in text   # (pdftotext gives a curly apostrophe)
    fonts = subprocess.run(["pdffonts", str(folder / "chain_peers.pdf")], capture_output=True, text=True).stdout
    assert "Type 3" not in fonts, fonts


@pytest.mark.slow
def test_quick_run_writes_every_output_and_judges_each_sampler(tmp_path, one_torch_thread):
    payload = chain_peers.main(["--quick", "--instances", "gmm-ref-B3", "--out", str(tmp_path)])
    rows = payload["rows"]
    assert [row["sampler"] for row in rows] == chain_peers.sampler_names(chain_peers.Settings(proposals=4))
    assert json.loads((tmp_path / "chain_peers.json").read_text())["rows"] == json.loads(json.dumps(rows, default=float))
    by_name = {row["sampler"]: row for row in rows}
    assert by_name["MSG (δ = 0.01)"]["verdict"] == "n/a"          # the DDPM step's baseline, not gmm-ref's
    for name in ("trajectory rejection", "exact per-step (b = B)", "last-step"):
        assert by_name[name]["verdict"] == "pass" and by_name[name]["tv_x0"] == 0.0
    for row in rows:
        if row["verdict"] != "n/a":
            assert row["verdict"] in ("pass", "fail", "uncertified") and row["queries_per_sample"] >= 21
    assert by_name["LCB (offset rule, δ = 1e-3)"]["training_queries"] > 0
