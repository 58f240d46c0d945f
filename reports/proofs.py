r"""The proof appendix of the report (``tiltproof report --proofs``, issue 22).

``render_proofs_section(payload, path)`` writes ``sections/proofs.tex`` from a ``tiltproof proof --json``
payload (``{"summary", "proofs", "wrong_steps"}``): for every proof, its statement, hypotheses and steps
typeset as a paper's appendix — each step a displayed formula (scaled down to the line width when it is
wider, so no box is overfull), its justification, the lemma it cites, a sentence of prose, and a tag saying
how it was established (checked symbolically, on the exact instances, by search, or argued) — followed by
the step-level wrong variants and the step at which each was killed. Theorems in the report's order (T1 < T2 < … < other names), lemmas last.
No source code is printed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from reports.ordering import theorem_key
from reports.latex import Latex, escape_prose, escape_text, escape_tt, sanitize_latex

__all__ = ["render_proofs_section", "KIND_LABELS"]

KIND_LABELS = {"checked-symbolic": ("tppass", "symbolic"), "checked-on-instances": ("tppass", "exact instances"),
               "searched": ("tppass", "instances + search"), "argued": ("tperror", "argued")}

PREAMBLE = r"""\makeatletter
\newsavebox{\tpprfbox}
\newcommand{\tpprfdisplay}[1]{\sbox{\tpprfbox}{$\displaystyle #1$}\par\smallskip\noindent\hfil
  \ifdim\wd\tpprfbox>\linewidth\resizebox{\linewidth}{!}{\usebox{\tpprfbox}}\else\usebox{\tpprfbox}\fi\hfil\par\smallskip}
\newcommand{\tpprfkind}[2]{\textcolor{#1}{\textsc{#2}}}
\makeatother
"""


def _kind_tag(kind: str, verdict: str) -> str:
    if verdict in ("fail", "error"):
        return r"\tpprfkind{tpfail}{" + escape_text(verdict) + "}"
    colour, label = KIND_LABELS.get(kind, ("tperror", kind))
    return r"\tpprfkind{" + colour + "}{" + escape_text(label) + "}"


def _step(step: dict[str, Any], titles: dict[str, str]) -> str:
    lines = [r"\item " + _kind_tag(step["kind"], step["verdict"]) + r" \quad \emph{" +
             escape_text(step["justification"]) + "}"]
    if step.get("cites"):
        lines[-1] += " (by " + escape_prose(titles.get(step["cites"], step["cites"])) + ")"
    lines.append(r"\tpprfdisplay{" + sanitize_latex(step["latex"], math=True) + "}")
    if step.get("text"):
        lines.append(sanitize_latex(step["text"]))
    if step["kind"] == "argued" and step.get("argued"):
        lines.append(r"\emph{Argued:} " + escape_prose(step["argued"]))
    if step["verdict"] in ("fail", "error"):
        lines.append(r"\textcolor{tpfail}{" + escape_prose(step["message"]) + "}")
    return "\n".join(lines)


def _proof(record: dict[str, Any], wrongs: list[dict[str, Any]], titles: dict[str, str]) -> str:
    kind = "Lemma" if record["lemma"] else "Theorem"
    out = [r"\subsection*{" + escape_text(kind) + " " + escape_text(record["theorem"]) + ": " +
           sanitize_latex(record["title"]) + "}",
           r"\addcontentsline{toc}{subsection}{" + escape_text(record["theorem"]) + " (" + escape_tt(record["id"]) + ")}",
           r"\tpprfdisplay{" + sanitize_latex(record["statement"], math=True) + "}"]
    if record["hypotheses"]:
        out.append(r"\emph{Hypotheses:} " + "; ".join(sanitize_latex(h) for h in record["hypotheses"]) + ".")
    if record.get("source"):
        out.append(r"\emph{Source:} " + sanitize_latex(record["source"]) + ".")
    checked = ", ".join(f"{count} {escape_text(KIND_LABELS[k][1])}" for k, count in record["kinds"].items() if count)
    out.append(r"\par\noindent\emph{Proof} (" + checked + r"; exact instances: " + str(len(record["instances"])) + ").")
    out.append(r"\begin{enumerate}")
    out += [_step(step, titles) for step in record["steps"]]
    out.append(r"\end{enumerate}")
    mine = [w for w in wrongs if w["proof"] == record["id"]]
    if mine:
        out.append(r"\noindent\emph{Wrong steps}, each run in place of the step it replaces:")
        out.append(r"\begin{itemize}")
        for wrong in mine:
            status = (r"\textcolor{tppass}{killed at step " + escape_tt(wrong["step"], breakable=True) + "}" if wrong["killed"]
                      else r"\textcolor{tpfail}{not killed}")
            where = (" on " + escape_tt(wrong["instance"], breakable=True)) if wrong.get("instance") else ""
            by = (" by " + escape_text(", ".join(wrong["killed_by"]))) if wrong["killed_by"] else ""
            history = (" " + escape_prose(wrong["history"]) + ".") if wrong.get("history") else ""
            out.append(r"\item " + escape_prose(wrong["what_is_wrong"]) + ": " + status + where + by + "." + history)
        out.append(r"\end{itemize}")
    return "\n".join(out) + "\n"


def render_proofs_section(payload: dict[str, Any], path: str | Path) -> Path:
    """Write the proof appendix for ``payload`` (a ``tiltproof proof --json`` object) to ``path``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("proofs"), list):
        raise ValueError("proofs must be a `tiltproof proof --json` object {'summary', 'proofs', 'wrong_steps'}")
    summary = payload.get("summary", {})
    titles = {record["id"]: f"{record['theorem']}" for record in payload["proofs"]}
    kinds = summary.get("kinds", {})
    intro = (r"\section{Proofs}\label{sec:proofs}" "\n"
             r"Every theorem's proof as a sequence of steps, each checked on its own: \emph{symbolic} steps are "
             r"proved for every value of their symbols (sympy simplification, sign deduction, or sound interval "
             r"arithmetic over the stated domain); \emph{exact instances} steps are evaluated exactly on every "
             r"registered instance of the theorem; \emph{instances + search} steps also hold on every instance a "
             r"property-based search drew from the theorem's hypotheses; \emph{argued} steps are not checked "
             r"mechanically and say why. ")
    if summary:
        intro += (f"Of {summary.get('steps', 0)} steps in {summary.get('proofs', 0)} proofs, "
                  + ", ".join(f"{count} {escape_text(KIND_LABELS[k][1])}" for k, count in kinds.items())
                  + f" ({100 * summary.get('mechanical_fraction', 0):.0f}\\,\\% checked mechanically).")
    body = [PREAMBLE, intro + "\n", r"\begingroup\sloppy"]
    ordered = sorted(payload["proofs"], key=lambda record: (record["lemma"], theorem_key(record["theorem"])))
    body += [_proof(record, payload.get("wrong_steps", []), titles) for record in ordered]
    body.append(r"\endgroup")
    path = Path(path)
    path.write_text(Latex("\n".join(body)))
    return path
