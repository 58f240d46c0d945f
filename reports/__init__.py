"""LaTeX reports of claim verdicts: ``tiltproof report --results FILE --out DIR`` (claims spec, "Outputs").

``build_report(results, out_dir)`` turns a ``tiltproof check --json`` file into ``DIR/report.tex`` (with a
generated style, per-theorem section files, matplotlib figures and ``verdicts.tex``, one macro per claim
and field) and compiles it to ``DIR/report.pdf`` with latexmk or pdflatex when present.
"""
from reports.build import TEX_INSTALL_HINT, ReportResult, build_report, compile_report, find_engine, load_results
from reports.latex import decode_macro_code, escape_text, escape_tt, macro_code, macro_name

__all__ = ["TEX_INSTALL_HINT", "ReportResult", "build_report", "compile_report", "find_engine", "load_results",
           "decode_macro_code", "escape_text", "escape_tt", "macro_code", "macro_name"]
