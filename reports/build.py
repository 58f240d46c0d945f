r"""Results JSON → a LaTeX report directory → PDF (claims spec, "Outputs").

``build_report(results, out_dir)`` writes

* ``report.tex`` — the document: stamp (commit, date, seed, α budget), summary, one section per theorem,
  the list of verdict macros;
* ``tiltproof-report.sty`` — the generated style (stock TeX Live packages only);
* ``verdicts.tex`` — one ``\def`` per claim and field (``\tpVerdict<code>`` …) that a paper can
  ``\input``; names from ``reports.latex.macro_name``;
* ``sections/<theorem>.tex`` — per theorem: each claim kind's statement, sympy bound, hypotheses and
  statistic; a booktabs table of its claims; figures; the claims that did not pass, with their messages;
* ``figures/*.pdf`` — matplotlib figures (``reports.figures``);

and compiles ``report.tex`` with latexmk (or pdflatex, three passes) when one is on the PATH.

Templates are jinja2 with LaTeX-safe delimiters: ``\VAR{…}`` for values, ``\BLOCK{…}`` for control,
``%#`` for template comments. Every value printed is escaped (``escape_text``) unless it was built as
``Latex`` by this module from a sanitiser (``escape_tt``, ``sanitize_latex``, ``format_number``).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2

from reports import figures as fig
from reports.latex import (MACRO_FIELDS, Latex, escape_text, escape_tt, format_count, format_number, macro_code,
                           macro_name, sanitize_latex)

__all__ = ["ReportResult", "load_results", "build_report", "render_report", "compile_report", "find_engine",
           "TEX_INSTALL_HINT"]

TEX_INSTALL_HINT = ("install TeX Live: apt-get install -y --no-install-recommends texlive-latex-base "
                    "texlive-latex-recommended latexmk poppler-utils")
VERDICTS = ("pass", "fail", "error")
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class ReportResult:
    directory: Path
    tex: Path
    pdf: Path | None          # None when not compiled (no TeX, --no-compile) or compilation failed
    engine: str | None        # "latexmk" or "pdflatex" when one ran
    message: str              # one line for the user
    log_excerpt: str = ""     # the first LaTeX errors when compilation failed


# ---------------------------------------------------------------- input
def load_results(source: str | Path | dict) -> dict[str, Any]:
    """Read and validate a ``tiltproof check --json`` file (or an already-loaded payload).

    Raises ``ValueError`` naming ``results`` if it is not ``{"meta": {...}, "claims": [records...]}``
    with an ``id``, ``theorem`` and a verdict in pass/fail/error for every record, ids unique.
    """
    if isinstance(source, dict):
        payload = source
    else:
        path = Path(source)
        try:
            payload = json.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"results: no such file {str(path)!r}") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"results: {str(path)!r} is not JSON ({error})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("claims"), list):
        raise ValueError("results must be an object {'meta': {...}, 'claims': [records...]}")
    seen: set[str] = set()
    for position, record in enumerate(payload["claims"]):
        if not isinstance(record, dict) or not {"id", "theorem", "verdict"} <= set(record):
            raise ValueError(f"results: claim #{position} lacks id, theorem or verdict")
        if record["verdict"] not in VERDICTS:
            raise ValueError(f"results: claim {record['id']!r} has verdict {record['verdict']!r}, not pass/fail/error")
        if record["id"] in seen:
            raise ValueError(f"results: claim id {record['id']!r} appears twice")
        seen.add(record["id"])
    payload.setdefault("meta", {})
    return payload


# ---------------------------------------------------------------- rendering
def _finalize(value: Any) -> str:
    """Every ``\\VAR{}`` passes here: LaTeX built by this module as is, everything else escaped."""
    if isinstance(value, Latex):
        return value
    if value is None:
        return r"\textemdash{}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return format_count(value)
    if isinstance(value, float):
        return format_number(value)
    return escape_text(value)


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_comment_prefix="%#", trim_blocks=True, lstrip_blocks=True, autoescape=False,
        keep_trailing_newline=True, undefined=jinja2.StrictUndefined, finalize=_finalize,
    )
    environment.filters["tt"] = lambda value: escape_tt(value)
    environment.filters["num"] = lambda value: format_number(value)
    environment.filters["tt_comment"] = lambda value: Latex(" ".join(str(value).split()))
    return environment


def _theorem_key(name: str) -> tuple:
    """T1 < T2 < … < T10 < other names (alphabetical)."""
    match = re.fullmatch(r"[Tt](\d+)", name)
    return (0, int(match.group(1)), "") if match else (1, 0, name)


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "theorem"
    slug, index = base, 2
    while slug in taken:
        slug, index = f"{base}-{index}", index + 1
    taken.add(slug)
    return slug


def _unique(values) -> list:
    out = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _counts(records: list[dict]) -> dict[str, int]:
    return {verdict: sum(r["verdict"] == verdict for r in records) for verdict in VERDICTS}


def _row(record: dict) -> dict[str, Any]:
    return {
        "id_tt": escape_tt(record["id"], breakable=True), "instance": escape_text(record.get("instance", "")),
        "exact": format_number(record.get("exact")), "empirical": format_number(record.get("empirical")),
        "confidence": format_number(record.get("confidence_bound")), "bound": format_number(record.get("bound")),
        "margin": format_number(record.get("margin")), "n": format_count(record.get("n")) if record.get("n") else Latex(r"\textemdash{}"),
        "verdict": record["verdict"],
    }


def _problem(record: dict) -> dict[str, Any]:
    traceback = (record.get("details") or {}).get("traceback") if isinstance(record.get("details"), dict) else None
    lines = [escape_tt(line.strip(), breakable=True) for line in str(traceback).strip().splitlines()[-3:]] if traceback else []
    statistic = record.get("statistic")
    return {"id_tt": escape_tt(record["id"], breakable=True), "verdict": record["verdict"],
            "message": escape_text(record.get("message") or "(no message)"),
            "statistic": escape_text(statistic) if statistic and statistic not in ("exception", "hypotheses") else None,
            "traceback": lines}


def _kinds(records: list[dict]) -> list[dict[str, Any]]:
    kinds: dict[str, list[dict]] = {}
    for record in records:
        kinds.setdefault(fig.claim_kind(record["id"]), []).append(record)
    out = []
    for kind, members in kinds.items():
        statistics = [r["statistic"] for r in members if r.get("statistic") and r["statistic"] not in ("exception", "hypotheses")]
        out.append({
            "kind": kind,
            "title": escape_text("; ".join(_unique(r.get("title") or kind for r in members))),
            "statements": [sanitize_latex(s, math=True) for s in _unique(r.get("statement") or "" for r in members) if s],
            "bounds": [sanitize_latex(b, math=True) for b in _unique(r.get("bound_latex") or "" for r in members) if b],
            "hypotheses": [sanitize_latex(h) for h in _unique(h for r in members for h in (r.get("hypotheses") or []))],
            "statistics": Latex("; ".join(escape_text(s) for s in _unique(statistics))),
            "instances": Latex(", ".join(escape_text(i) for i in _unique(r.get("instance", "") for r in members))),
        })
    return out


def _figures(records: list[dict], slug: str, figure_dir: Path) -> list[dict[str, Any]]:
    made = []
    kinds = _unique(fig.claim_kind(r["id"]) for r in records)
    for kind in kinds:
        if kind in fig.KIND_FIGURES:
            name, function, width = fig.KIND_FIGURES[kind]
            path = figure_dir / f"{slug}-{name}.pdf"
            caption = function(records, path)
            if caption:
                made.append({"file": Latex(f"figures/{path.name}"), "caption": Latex(caption), "width": Latex(f"{width:.2f}")})
    path = figure_dir / f"{slug}-margins.pdf"
    caption = fig.margin_figure(records, path)
    if caption:
        made.append({"file": Latex(f"figures/{path.name}"), "caption": escape_text(caption), "width": Latex("0.95")})
    return made


def _macro_values(record: dict) -> list[tuple[Latex, Latex]]:
    values = {
        "Verdict": escape_text(record["verdict"]), "Empirical": format_number(record.get("empirical")),
        "Confidence": format_number(record.get("confidence_bound")), "Bound": format_number(record.get("bound")),
        "Exact": format_number(record.get("exact")), "Margin": format_number(record.get("margin")),
        "Samples": format_count(record.get("n")), "Id": escape_tt(record["id"]),
    }
    return [(Latex("\\" + macro_name(field, record["id"])), values[field]) for field in MACRO_FIELDS]


def _selection(meta: dict) -> Latex:
    only = meta.get("only")
    if only:
        return Latex(r"claims selected with \texttt{--only} " + escape_tt(only) + ".")
    return Latex("all registered claims were run.")


def render_report(payload: dict, out_dir: Path, *, source: str = "") -> Path:
    """Write report.tex, the style, verdicts.tex, sections and figures into ``out_dir``; return the .tex."""
    out_dir = Path(out_dir)
    (out_dir / "sections").mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    records: list[dict] = payload["claims"]
    meta = {key: payload["meta"].get(key) for key in ("commit", "date", "seed", "alpha_total", "registered_claims",
                                                       "alpha_per_claim", "device", "only")}
    meta = {key: ("unknown" if value is None and key in ("commit", "date", "device") else value)
            for key, value in meta.items()}
    codes: dict[str, str] = {}
    for record in records:
        code = macro_code(record["id"])
        if code in codes:  # cannot happen (the code is injective); guard against a future edit
            raise ValueError(f"claims {codes[code]!r} and {record['id']!r} map to the same macro code")
        codes[code] = record["id"]
    environment = _environment()
    taken: set[str] = set()
    theorems = []
    for name in sorted(_unique(r["theorem"] for r in records), key=_theorem_key):
        members = [r for r in records if r["theorem"] == name]
        slug = _slug(name, taken)
        theorem = {
            "name": name, "slug": slug, "modules": ", ".join(_unique(str(r.get("module", "")) for r in members)),
            "total": len(members), "counts": _counts(members), "kinds": _kinds(members),
            "rows": [_row(r) for r in members], "problems": [_problem(r) for r in members if r["verdict"] != "pass"],
            "figures": _figures(members, slug, out_dir / "figures"),
        }
        (out_dir / "sections" / f"{slug}.tex").write_text(environment.get_template("theorem.tex.j2").render(theorem=theorem))
        theorems.append(theorem)
    ordered = sorted(records, key=lambda r: _theorem_key(r["theorem"]))  # stable: results order within a theorem
    claims = [{"id": r["id"], "id_tt": escape_tt(r["id"]), "code_tt": escape_tt(macro_code(r["id"])),
               "verdict": r["verdict"], "macros": _macro_values(r)} for r in ordered]
    counts = {**_counts(records), "total": len(records)}
    example = records[0] if records else None
    context = dict(
        meta=meta, counts=counts, theorems=theorems, claims=claims, source=source or "(payload)",
        selection=_selection(meta), fields=Latex(", ".join(r"\texttt{" + f + "}" for f in MACRO_FIELDS)),
        example_id=example["id"] if example else "", example_macro="\\" + macro_name("Verdict", example["id"]) if example else "",
        example_value=Latex("\\" + macro_name("Verdict", example["id"])) if example else "",
        generated_on=datetime.now(timezone.utc).strftime("%Y/%m/%d"),
    )
    (out_dir / "tiltproof-report.sty").write_text(environment.get_template("tiltproof-report.sty.j2").render(**context))
    (out_dir / "verdicts.tex").write_text(environment.get_template("verdicts.tex.j2").render(**context))
    tex = out_dir / "report.tex"
    tex.write_text(environment.get_template("report.tex.j2").render(**context))
    return tex


# ---------------------------------------------------------------- compiling
def find_engine() -> str | None:
    """``latexmk`` if it and pdflatex are on the PATH, else ``pdflatex``, else None."""
    if shutil.which("pdflatex") is None:
        return None
    return "latexmk" if shutil.which("latexmk") else "pdflatex"


def _log_excerpt(log_path: Path) -> str:
    if not log_path.exists():
        return ""
    lines = log_path.read_text(errors="replace").splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("!") or re.match(r"^\S+\.tex:\d+:", line)]
    if not errors:
        return "\n".join(lines[-15:])
    return "\n".join(lines[errors[0]:errors[0] + 8])


def compile_report(tex: Path, *, engine: str | None = None, timeout: float = 300) -> tuple[Path | None, str, str]:
    """Compile ``tex`` in its directory; returns (pdf or None, engine used, log excerpt on failure)."""
    engine = engine or find_engine()
    if engine is None:
        return None, "", ""
    directory, name = tex.parent, tex.name
    pdflatex = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    if engine == "latexmk":
        runs = [["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "-quiet", name]]
    else:
        runs = [pdflatex + [name]] * 3  # longtable widths and references settle in three passes
    for command in runs:
        try:
            completed = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=timeout,
                                       stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, engine, f"{engine} timed out after {timeout:.0f}s"
        if completed.returncode != 0:
            return None, engine, _log_excerpt(directory / tex.with_suffix(".log").name) or completed.stdout[-2000:]
    pdf = directory / tex.with_suffix(".pdf").name
    return (pdf if pdf.exists() else None), engine, "" if pdf.exists() else "no PDF was produced"


def build_report(results: str | Path | dict, out_dir: str | Path, *, compile: bool = True,
                 engine: str | None = None, timeout: float = 300) -> ReportResult:
    """Render the report of ``results`` into ``out_dir`` and compile it when TeX is available."""
    payload = load_results(results)
    out_dir = Path(out_dir)
    source = "" if isinstance(results, dict) else Path(results).name
    tex = render_report(payload, out_dir, source=source)
    if not compile:
        return ReportResult(out_dir, tex, None, None, f"wrote {tex} (not compiled: --no-compile)")
    chosen = engine or find_engine()
    if chosen is None:
        return ReportResult(out_dir, tex, None, None,
                            f"wrote {tex}; no latexmk or pdflatex on the PATH, so no PDF — {TEX_INSTALL_HINT}")
    pdf, used, excerpt = compile_report(tex, engine=chosen, timeout=timeout)
    if pdf is None:
        return ReportResult(out_dir, tex, None, used, f"wrote {tex}; {used} failed (see {tex.with_suffix('.log')})",
                            excerpt)
    return ReportResult(out_dir, tex, pdf, used, f"wrote {pdf} ({used})")
