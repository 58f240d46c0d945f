"""Reports (``tiltproof report``), their escaping and macro names, and the pytest plugin (``pytest --claims``).

The compile test needs TeX Live and poppler-utils; without them it *fails* and says how to install
them (the report is a deliverable: a missing TeX is not a reason to pass). The results file here is
built from real ``run_claim`` records of small synthetic claims: one passing, one failing, one
erroring, one with an awkward id, and records shaped like T5 and BoN ones, so every figure is drawn.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import sympy
from hypothesis import given, strategies as st

from reports import TEX_INSTALL_HINT, build_report, load_results
from reports.build import compile_report
from reports.latex import (decode_macro_code, escape_prose, escape_text, escape_tt, macro_code, macro_name,
                           sanitize_latex)
from tiltproof.core.framework import Claim, Evidence, Hypothesis, run_claim

ROOT = Path(__file__).resolve().parents[1]
AWKWARD_ID = r"demo.awk_ward/x=1,y=2/%&$^{}~\<>|#mut"
FAIL_MESSAGE = r"TV 0.31 > δ = 0.1 & 50% of $x_i^2 {a} ~ \ <b>|c #1 — p̂_n ≥ ½"
ERROR_TEXT = "kernel exploded: λ ≤ 0 in p̂_n #2 & 10%"


def _claim(claim_id: str, theorem: str, check, hypotheses=()) -> Claim:
    return Claim(id=claim_id, theorem=theorem, module="demo_module", title="demo: q_b ≤ δ · λ",
                 statement=r"\mathrm{TV}(q_b, q) \le \delta", bound_expression=sympy.Symbol("delta") / 2,
                 instance="inst-a", hypotheses=hypotheses, check=check)


def _evidence(holds: bool, message: str = "", details: dict | None = None, **values) -> Evidence:
    base = dict(bound=0.1, exact=0.05, empirical=0.07, confidence_bound=0.08, n=1234, detectable_gap=0.02,
                margin=0.02)
    base.update(values)
    return Evidence(holds=holds, statistic="KS vs DKW ε(α) with p̂_n", message=message, details=details or {}, **base)


def _raise(context):
    raise RuntimeError(ERROR_TEXT)


def _records() -> list[dict]:
    tradeoff = {"deltas": [0.5, 0.2, 0.05], "baselines": [1.0, 1.5, 2.0], "expected_proposals": [3.0, 6.0, 12.0],
                "clip_mass": [0.2, 0.1, 0.01], "measured": [[3.1, 2.9, 3.3], [5.9, 5.6, 6.3], [12.2, 11.5, 12.9]]}
    law = {"N": 4, "grid": [-1.0, 0.0, 1.0, 2.0], "claimed_cdf": [0.0, 0.06, 0.5, 0.9],
           "empirical_cdf": [0.0, 0.07, 0.49, 0.91], "band": 0.02}
    claims = [
        _claim("demo.pass_claim/inst-a/b=0.5", "T1", lambda c: _evidence(True), (Hypothesis(r"$\lambda > 0$", lambda: True),)),
        _claim("demo.fail_claim/inst-a/x=1,y=2#wrong", "T1",
               lambda c: _evidence(False, FAIL_MESSAGE, empirical=0.31, confidence_bound=0.29, margin=-0.19)),
        _claim("demo.error_claim/inst-a", "T2", _raise),
        _claim(AWKWARD_ID, "T2", lambda c: _evidence(True, empirical=float("inf"), exact=None)),
        _claim("demo.violated/inst-a", "T2", lambda c: _evidence(True),
               (Hypothesis("b ≥ sup r (q_b & 5%)", lambda: False),)),
        _claim("t5.tradeoff/inst-a", "T5", lambda c: _evidence(True, details=tradeoff, bound=0.0, margin=0.4)),
        _claim("bon.sampler_law/inst-a/N=4", "BoN", lambda c: _evidence(True, details=law)),
        _claim("bon.kl_bound/inst-a/N=4", "BoN", lambda c: _evidence(True, details={"N": 4}, exact=0.6363, bound=0.6363)),
    ]
    return [run_claim(claim, alpha=1e-3, seed=7).to_json() for claim in claims]


def _payload() -> dict:
    return {"meta": {"commit": "abc1234", "date": "2026-01-02T03:04:05+00:00", "seed": 7, "alpha_total": 1e-6,
                     "registered_claims": 8, "alpha_per_claim": 1.25e-7, "device": "cpu", "only": r"demo|t5_x#"},
            "claims": _records()}


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("results") / "results.json"
    path.write_text(json.dumps(_payload()))
    return path


def _require_tex() -> None:
    missing = [tool for tool in ("pdflatex", "latexmk", "pdftotext") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: the report compile test needs TeX Live and poppler-utils — "
                    f"{TEX_INSTALL_HINT}", pytrace=False)


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


# ---------------------------------------------------------------- escaping and macro names
@given(st.text(max_size=40))
def test_macro_code_is_letters_only_and_decodes_back(text):
    code = macro_code(text)
    assert re.fullmatch(r"[A-Za-z]*", code)
    assert decode_macro_code(code) == text  # injective: distinct ids never share a macro


def test_macro_names_of_the_documented_example():
    assert macro_code("t2.sampler_law/finite-k10/b=0.5") == "tTwoDotsamplerUslawSlfiniteHykOneZeroSlbEqZeroDotFive"
    assert macro_name("Verdict", "B") == "tpVerdictQb"
    with pytest.raises(ValueError, match="^field"):
        macro_name("Colour", "x")


def _tt_glyphs(latex: str) -> str:
    """The characters an escape_tt result prints, read back from its markup (an independent decoder)."""
    inner = latex[len(r"\texttt{"):-1].replace(r"\allowbreak{}", "").replace("\\ ", " ")
    return re.sub(r"\{\\char(\d+)\}", lambda match: chr(int(match.group(1))), inner)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40), st.booleans())
def test_escape_tt_prints_exactly_the_identifier(identifier, breakable):
    latex = escape_tt(identifier, breakable=breakable)
    assert _tt_glyphs(latex) == identifier
    bare = re.sub(r"\{\\char\d+\}|\\allowbreak\{\}|\\ ", "", latex[len(r"\texttt{"):-1])
    assert not set(bare) & set("\\{}$&#%_^~")  # nothing left that TeX would interpret


@given(st.text(max_size=60))
def test_escape_text_leaves_no_bare_specials_and_balanced_braces(text):
    latex = escape_text(text)
    text_mode = re.sub(r"\\ensuremath\{(?:[^{}]|\{[^{}]*\})*\}", "", latex)  # math may use ^ and _
    stripped = re.sub(r"\\[A-Za-z]+|\\[^A-Za-z]", "", text_mode)  # drop control sequences
    assert not set(stripped) & set("#$%&_^~\\")
    depth = 0
    for character in stripped:
        depth += {"{": 1, "}": -1}.get(character, 0)
        assert depth >= 0
    assert depth == 0


def test_sanitize_latex_keeps_math_and_escapes_words():
    assert sanitize_latex(r"$\lambda > 0$ and q_b & 5%") == r"$\lambda > 0$ and " + escape_prose("q_b & 5%")
    assert escape_prose("q_b & 5%").endswith(r"\& 5\%") and "_" not in escape_prose("q_b, π_BoN, p̂_n")
    assert escape_prose("sampler_law") == escape_text("sampler_law")  # a word keeps its underscore
    assert sanitize_latex("unbalanced $ sign_x") == escape_text("unbalanced $ sign_x")
    assert " ".join(sanitize_latex(r"\delta ≤ ½", math=True).split()) == r"\delta \le \tfrac12"


# ---------------------------------------------------------------- report generation
def test_load_results_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="^results"):
        load_results(bad)
    with pytest.raises(ValueError, match="^results"):
        load_results(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="verdict"):
        load_results({"claims": [{"id": "a", "theorem": "T1", "verdict": "maybe"}]})
    with pytest.raises(ValueError, match="twice"):
        load_results({"claims": [{"id": "a", "theorem": "T1", "verdict": "pass"}] * 2})


def test_report_files_show_failing_and_erroring_claims(results_file, tmp_path):
    result = build_report(results_file, tmp_path / "report", compile=False)
    out = result.directory
    assert result.pdf is None and (out / "report.tex").exists() and (out / "tiltproof-report.sty").exists()
    assert {path.name for path in (out / "sections").iterdir()} == {"t1.tex", "t2.tex", "t5.tex", "bon.tex"}
    assert {path.name for path in (out / "figures").iterdir()} >= {"t5-tradeoff.pdf", "bon-bon-law.pdf",
                                                                   "bon-bon-kl.pdf", "margins.pdf"}
    payload = json.loads(results_file.read_text())
    verdicts = {record["id"]: record["verdict"] for record in payload["claims"]}
    assert set(verdicts.values()) == {"pass", "fail", "error"}
    definitions = dict(re.findall(r"^\\def\\(tpVerdict[A-Za-z]+)\{([a-z]+)\}$", (out / "verdicts.tex").read_text(), re.M))
    assert definitions == {macro_name("Verdict", claim_id): verdict for claim_id, verdict in verdicts.items()}
    t1 = (out / "sections" / "t1.tex").read_text()
    assert r"\tpshowverdict{fail}" in t1 and r"\subsection*{Not passing}" in t1 and escape_prose(FAIL_MESSAGE) in t1
    t2 = (out / "sections" / "t2.tex").read_text()
    assert t2.count(r"\tpshowverdict{error}") >= 4  # two rows, two entries under "Not passing"
    assert escape_prose("RuntimeError: " + ERROR_TEXT) in t2 and escape_tt(AWKWARD_ID, breakable=True) in t2


def test_report_without_tex_still_writes_the_tex(results_file, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = build_report(results_file, tmp_path / "report")
    assert result.pdf is None and result.tex.exists() and "apt-get install" in result.message


def test_report_compiles_and_every_claim_id_is_in_the_pdf(results_file, tmp_path):
    """The CLI writes and compiles the report; pdftotext reads back every id, verdict and message."""
    _require_tex()
    out = tmp_path / "report"
    mutants = tmp_path / "mutants.json"
    mutants.write_text(json.dumps({"meta": {"commit": "abc1234"}, "mutants": [
        {"id": "demo.pass_claim/inst-a/b=0.5#wrong-temperature", "claim": "demo.pass_claim/inst-a/b=0.5",
         "theorem": "T1", "what_is_wrong": "accepts at 2λ", "verdict": "fail", "killed": True, "margin": -0.3,
         "future_field": 1},
        {"id": "demo.pass_claim/inst-a/b=0.5#dropped-factor", "claim": "demo.pass_claim/inst-a/b=0.5",
         "theorem": "T1", "what_is_wrong": "bound D/(2Z)", "verdict": "pass", "killed": False, "margin": 0.01}]}))
    completed = subprocess.run([sys.executable, "-m", "tiltproof.cli", "report", "--results", str(results_file),
                                "--out", str(out), "--mutants", str(mutants)], capture_output=True, text=True,
                               timeout=300, cwd=ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    text = _pdf_text(out / "report.pdf")
    flat_matrix = " ".join(text.split())
    assert "Killed: 1 of 2" in flat_matrix and "survived (pass)" in flat_matrix and "wrong-temperature" in flat_matrix
    payload = json.loads(results_file.read_text())
    missing = [record["id"] for record in payload["claims"] if record["id"] not in text]
    assert not missing, f"ids not found in the PDF text: {missing}"
    flat = " ".join(text.split())
    assert "FAIL" in text and "ERROR" in text and "abc1234" in text and "seed 7" in flat
    assert "kernel exploded" in flat and "TV 0.31 >" in flat
    # the verdict macros work in a paper: \input{verdicts} and print one verdict and one id
    failing = "demo.fail_claim/inst-a/x=1,y=2#wrong"
    paper = out / "paper.tex"
    paper.write_text("\\documentclass{article}\n\\input{verdicts}\n\\begin{document}\n"
                     f"Verdict: \\{macro_name('Verdict', failing)}. Claim: \\{macro_name('Id', failing)}. "
                     f"Value: \\{macro_name('Empirical', failing)}. Commit \\tpCommit.\n\\end{{document}}\n")
    pdf, engine, excerpt = compile_report(paper, engine="pdflatex")
    assert pdf is not None, excerpt
    # only scalable fonts: a Type 3 font means a glyph fell back to a bitmap (a missing encoding)
    fonts = subprocess.run(["pdffonts", str(out / "report.pdf")], capture_output=True, text=True, check=True).stdout
    assert "Type 3" not in fonts, fonts
    assert f"Verdict: fail. Claim: {failing}. Value: 0.31. Commit abc1234." in " ".join(_pdf_text(pdf).split())


def _registered_payload() -> dict:
    """Records of every registered claim with its real text (statement, bound, hypotheses, instance, title) and
    made-up numbers, so the default claim set's report is laid out in seconds without running a sampler."""
    import dataclasses

    from tiltproof.core.registry import all_claims

    def fake(index: int):
        def check(context):
            bound = 0.5 + index % 7
            return Evidence(holds=True, statistic=f"demo statistic p̂_n #{index}", bound=bound, exact=bound * 0.9,
                            empirical=bound * 0.8, confidence_bound=bound * 0.85, n=1000 + 37 * index,
                            detectable_gap=0.01 * (1 + index % 5), margin=bound * 0.1, relation="≤=≥∈"[index % 4])
        return check

    records = [run_claim(dataclasses.replace(claim, check=fake(index)), seed=0).to_json()
               for index, claim in enumerate(all_claims())]
    return {"meta": {"commit": "abc1234+dirty.0123456789", "dirty": True, "date": "2026-01-02T03:04:05+00:00",
                     "seed": 0, "alpha_cap": 1e-6, "alpha_spent": sum(r["alpha"] for r in records), "device": "cpu",
                     "device_name": "cpu: demo (2 cores available)", "seconds": 60.0, "complete": True,
                     "packages": {"python": "3.11", "torch": "2.13.0"}, "registered_claims": len(records)},
            "claims": records}


def test_report_of_the_registered_claims_reads_as_an_appendix(tmp_path):
    """The default claim set's report: no LaTeX source in the text, no overfull box over 5 pt, at most 12
    pages, a first-page summary of every theorem group, and the wrong variants listed."""
    _require_tex()
    payload = _registered_payload()
    # the claims' layout alone: the benchmark sections (their own tests: test_chain_peers_benchmark.py and the
    # masked-LM section test below) would add pages that the per-claim allowance does not count
    result = build_report(payload, tmp_path / "report", benchmarks=None)
    assert result.pdf is not None, result.log_excerpt
    text = _pdf_text(result.pdf)
    # no LaTeX source, no literal superscript braces (e^{(b−V_{t+1})/λ} in a variant's text), no accent tilde
    # for "distributed as" (ξ ~ N(0, I)): ˆ and ˜ are what pdftotext reads for \^{} and \~{}
    for source in ("\\mathcal", "$", "\\|", "_{", "[U+", "^{", "ˆ{", "˜"):
        assert source not in text, f"{source!r} printed in the PDF"
    from reports.bound_order import statement_order

    bounds = re.findall(r"Bound \(sympy\): \$(.*?)\$\.", "".join(
        path.read_text() for path in (tmp_path / "report" / "sections").glob("*.tex")))
    assert bounds and all(statement_order(bound) == bound for bound in bounds)  # statement order, not sympy's
    log = (tmp_path / "report" / "report.log").read_text(errors="replace")
    overfull = [float(width) for width in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]
    assert all(width <= 5.0 for width in overfull), overfull
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(result.pdf)], capture_output=True,
                                                            text=True, check=True).stdout).group(1))
    # 12 pages for the 174 claims this layout was tuned on (3 of front matter and summary + one per 20 claims);
    # the allowance grows with the registry at the same rate, so a layout regression still fails
    allowance = 3 + math.ceil(len(payload["claims"]) / 20)
    assert pages <= allowance, (pages, allowance)
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(result.pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert "Summary" in first and "+dirty.0123456789" in first and "cpu: demo" in first
    assert all(theorem in first for theorem in {r["theorem"] for r in payload["claims"]})
    from tiltproof.core.registry import all_mutants

    flat = " ".join(text.split())
    assert "Wrong variants" in flat and f"The {len(all_mutants())} variants registered" in flat
    assert flat.count("registered; rejected by the test suite") == 1
    verdicts = (tmp_path / "report" / "verdicts.tex").read_text()
    assert all(f"% {r['id']}" in verdicts for r in payload["claims"])  # the macro list lives in verdicts.tex
    assert "Verdict macros" not in flat  # the appendix is opt-in (--macro-appendix)


def test_cli_report_exit_codes(tmp_path, results_file, capsys):
    from tiltproof import cli

    assert cli.main(["report", "--results", str(tmp_path / "missing.json"), "--out", str(tmp_path / "r")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["report", "--results", str(results_file), "--out", str(tmp_path / "r"), "--no-compile"]) == 0
    assert (tmp_path / "r" / "report.tex").exists() and not (tmp_path / "r" / "report.pdf").exists()


# ---------------------------------------------------------------- the pytest plugin
PLUGIN_CONFTEST = '''
import sympy
import tiltproof.core.registry as registry
from tiltproof.core.framework import Claim, Evidence

_registered = registry.all_claims


def _violated(context):
    return Evidence(holds=False, statistic="demo statistic", bound=0.1, empirical=0.5, confidence_bound=0.4,
                    n=123, message="injected violation")


def all_claims():
    injected = Claim(id="demo.injected/x_y/b=0.5,c#1", theorem="DEMO", module="demo", title="demo", statement="x",
                     bound_expression=sympy.Integer(1), instance="none", hypotheses=(), check=_violated)
    return _registered() + [injected]


registry.all_claims = all_claims
pytest_plugins = ["tiltproof.pytest_plugin"]
'''


def _pytest(directory: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments], cwd=directory,
                          capture_output=True, text=True, timeout=300, env=environment)


def test_pytest_claims_runs_each_selected_claim_as_an_item(tmp_path):
    """A real cheap claim passes; an injected violated claim fails with its record in the report."""
    (tmp_path / "conftest.py").write_text(PLUGIN_CONFTEST)
    completed = _pytest(tmp_path, "--claims", "--claims-only", r"^bon\.kl_exact/normal-d1/N=4$|^demo\.injected", "-v")
    output = completed.stdout
    assert completed.returncode == 1, output + completed.stderr
    assert re.search(r"^claims::bon\.kl_exact/normal-d1/N=4 PASSED", output, re.M), output
    assert re.search(r"^claims::demo\.injected/x_y/b=0\.5,c#1 FAILED", output, re.M), output
    for field in ("verdict: FAIL", "message: injected violation", "empirical: 0.5", "confidence bound: 0.4", "relation: ≤",
                  "bound: 0.1", "n: 123"):
        assert field in output, field
    assert "1 failed, 1 passed" in output


DEMO_CONFTEST = PLUGIN_CONFTEST.replace("return _registered() + [injected]", """return [injected] + [
        Claim(id=f"demo.extra/{name}", theorem="DEMO", module="demo", title="demo", statement="x",
              bound_expression=sympy.Integer(1), instance="none", hypotheses=(),
              check=_violated if name.startswith("bad") else _holds)
        for name in ("good-a", "bad-b", "good-c", "bad-d")]


def _holds(context):
    return Evidence(holds=True, statistic="demo statistic", bound=1.0, empirical=0.5, confidence_bound=0.6, n=9,
                    margin=0.4)""")
TEST_FILE = "def test_ordinary():\n    assert True\n"


def test_pytest_claims_runs_only_claims_and_k_x_lf_work_on_them(tmp_path):
    """`pytest --claims` collects no test file unless paths are named; -k, -x and --lf act on claim items."""
    (tmp_path / "conftest.py").write_text(DEMO_CONFTEST)
    (tmp_path / "test_ordinary.py").write_text(TEST_FILE)
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def run(*arguments: str) -> str:  # with the cache, for --lf
        completed = subprocess.run([sys.executable, "-m", "pytest", "--claims", "--claims-only", "^demo.extra", "-v",
                                    *arguments], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                                   env=environment)
        return completed.stdout + completed.stderr

    first = run("-k", "not good-c", "-x")
    assert "test_ordinary" not in first and "claims only" in first, first
    assert "claims::demo.extra/good-a PASSED" in first and "claims::demo.extra/bad-b FAILED" in first
    assert "bad-d" not in first.split("short test summary")[0]  # -x stopped after the first failure
    assert "1 failed, 1 passed, 1 deselected" in first  # -k deselected good-c
    assert "α spent 8e-09" in first  # two claims ran, at 4e-9 each
    again = run("--lf")
    assert "1 failed, 3 deselected" in again and "good-a" not in again.split("short test summary")[0], again
    both = run("-k", "good or ordinary", "test_ordinary.py")
    assert "test_ordinary.py::test_ordinary PASSED" in both and "3 passed" in both, both


def test_without_claims_the_plugin_adds_nothing(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tiltproof.pytest_plugin"]\n')
    completed = _pytest(tmp_path)
    assert completed.returncode == 5 and "no tests ran" in completed.stdout  # exit 5: nothing collected
    assert _pytest(tmp_path, "--claims-only", "x").returncode == 4  # usage error: --claims-only needs --claims


def test_plugin_is_wired_for_checkouts_and_installs():
    import tiltproof.pytest_plugin as plugin

    conftest = (ROOT / "conftest.py").read_text()
    assert 'pytest_plugins = ["tiltproof.pytest_plugin"]' in conftest
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    assert entry_points == {plugin.__name__: plugin.__name__}  # same name: registered once on both routes


# ---------------------------------------------------------------- benchmark section
def _masked_lm_results() -> dict:
    """A results dict shaped like ``benchmarks/masked_lm.py``'s (synthetic numbers)."""
    def row(method, queries, share, **extra):
        return {"method": method, "B": 3.0, "n": 300, "queries_per_sample": queries, "in_reward_set": share,
                "examples": ["a file & 50% {x}"], **extra}
    verdict = {"verdict": "pass", "worst_projection": "x_0 law (x9)", "worst_statistic": 0.043, "threshold": 0.105,
               "detectable_projection_ks": 0.197}
    share = {"verdict": "fail", "share": 0.16, "reference_share": 0.26, "difference": 0.1, "threshold": 0.07,
             "detectable_difference": 0.099}
    block = {"B": 3.0, "rows": [row("unaligned", 9.0, 0.02), row("trajectory", 126.5, 0.26),
                                row("ideal_per_step", 134.1, 0.16),
                                row("lcb", 82.3, 0.163, certificate={"certified": True})],
             "analysis": {"best_saving": 13.96, "oracle_queries": 31.7},
             "verdicts": {"trajectory": verdict, "lcb": {**verdict, "verdict": "fail"}},
             "share_tests": {"gap": 0.1, "n": 6630, "lcb": share}}
    return {"meta": {"quick": True, "command": "python benchmarks/masked_lm.py --quick", "length": 16, "unmask": 2,
                     "steps": 8, "keywords": ["file", "path"], "lambda": 1.0, "device": "cpu"},
            "heights": [block]}


def test_report_adds_the_masked_lm_table_when_its_results_exist(tmp_path, monkeypatch):
    from reports import build as report_build
    from reports.benchmarks import MASKED_LM_FILE, benchmark_section
    from reports.latex import format_number

    monkeypatch.setattr(report_build.summary, "registered_variants", lambda: [])   # no theorem imports: fast
    payload = {"meta": {"commit": "abc1234", "date": "2026-01-02", "seed": 7}, "claims": []}
    bench = tmp_path / "bench"
    bench.mkdir()
    results = _masked_lm_results()
    (bench / MASKED_LM_FILE).write_text(json.dumps(results))
    out = build_report(payload, tmp_path / "with", compile=False, benchmarks=bench).directory
    assert r"\input{benchmarks}" in (out / "report.tex").read_text()
    section = (out / "benchmarks.tex").read_text()
    rows = {row["method"]: row for row in results["heights"][0]["rows"]}
    for figure in (rows["trajectory"]["queries_per_sample"], rows["lcb"]["queries_per_sample"],
                   rows["trajectory"]["queries_per_sample"] / rows["lcb"]["queries_per_sample"],
                   results["heights"][0]["analysis"]["best_saving"], results["heights"][0]["analysis"]["oracle_queries"]):
        assert format_number(figure, 3) in section
    assert section.count(r"\tpshowverdict{pass}") == 1 and section.count(r"\tpshowverdict{fail}") == 2
    assert "certified" in section and "6630" in section
    assert escape_tt(rows["lcb"]["examples"][0]) in section
    without = build_report(payload, tmp_path / "without", compile=False, benchmarks=tmp_path / "empty").directory
    assert not (without / "benchmarks.tex").exists() and r"\input{benchmarks}" not in (without / "report.tex").read_text()
    (bench / MASKED_LM_FILE).write_text(json.dumps({"meta": {}}))
    with pytest.raises(ValueError, match="benchmarks"):
        benchmark_section(bench)
