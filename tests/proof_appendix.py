"""One helper for the tests that typeset a proof appendix on its own (reports.proofs) and require a clean
pdflatex run: no error, no overfull box."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

_PREAMBLE = (
    "\\documentclass[10pt]{article}\\usepackage[utf8]{inputenc}\\usepackage[a4paper,margin=1.6cm]{geometry}"
    "\\usepackage{amsmath,amssymb,graphicx}\\usepackage[table]{xcolor}\\definecolor{tppass}{HTML}{1B7837}"
    "\\definecolor{tpfail}{HTML}{C51B7D}\\definecolor{tperror}{HTML}{7B3294}\\newcommand{\\tpbs}{{\\ttfamily\\char92}}"
    "\\begin{document}\\input{proofs.tex}\\end{document}\n")


def assert_proof_appendix_typesets(payload: dict, directory: Path) -> None:
    """Render ``payload`` ({"summary", "proofs", "wrong_steps"}) with ``render_proofs_section`` into
    ``directory`` and compile it; fail with the log's tail or its overfull lines."""
    from reports.proofs import render_proofs_section

    render_proofs_section(json.loads(json.dumps(payload, default=float)), directory / "proofs.tex")
    (directory / "doc.tex").write_text(_PREAMBLE)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=directory,
                         capture_output=True, text=True, timeout=120)
    log = (directory / "doc.log").read_text(errors="replace")
    assert run.returncode == 0, log[-2000:]
    assert "Overfull" not in log, [line for line in log.splitlines() if "Overfull" in line]
