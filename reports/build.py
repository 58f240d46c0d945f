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
* ``benchmarks/chain_peers_table.tex`` and ``figures/chain_peers.pdf`` — the chain-peers benchmark's table and
  plot, and ``benchmarks.tex`` — the masked-LM benchmark's section, when their results exist
  (``reports.benchmarks``; default: the repository's ``benchmarks/results``);

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
from reports import summary
from reports.benchmarks import CHAIN_PEERS_FOLDER, DEFAULT_RESULTS, benchmark_section, chain_peers_context
from reports.bound_order import statement_order
from reports.ordering import theorem_key
from reports.latex import (MACRO_FIELDS, Latex, escape_prose, escape_text, escape_tt, format_count, format_number,
                           macro_code, macro_name, sanitize_latex)

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


RELATION_LATEX = {"≤": r"\ensuremath{\le}", "≥": r"\ensuremath{\ge}", "=": r"\ensuremath{=}", "∈": r"\ensuremath{\in}"}


def _relation(record: dict) -> Latex:
    relation = record.get("relation")
    return Latex(RELATION_LATEX.get(relation, escape_text(relation) if relation else r"\textemdash{}"))


def _row(record: dict) -> dict[str, Any]:
    return {
        "id_tt": escape_tt(record["id"], breakable=True),
        "exact": format_number(record.get("exact")), "empirical": format_number(record.get("empirical")),
        "confidence": format_number(record.get("confidence_bound")), "relation": _relation(record),
        "bound": format_number(record.get("bound")), "margin": format_number(record.get("margin")),
        "n": format_count(record.get("n")) if record.get("n") else Latex(r"\textemdash{}"),
        "verdict": record["verdict"],
    }


def _problem(record: dict) -> dict[str, Any]:
    traceback = (record.get("details") or {}).get("traceback") if isinstance(record.get("details"), dict) else None
    lines = [escape_tt(line.strip(), breakable=True) for line in str(traceback).strip().splitlines()[-3:]] if traceback else []
    statistic = record.get("statistic")
    return {"id_tt": escape_tt(record["id"], breakable=True), "verdict": record["verdict"],
            "message": escape_prose(record.get("message") or "(no message)"),
            "statistic": escape_prose(statistic) if statistic and statistic not in ("exception", "hypotheses") else None,
            "traceback": lines}


def _distinct_titles(titles) -> list[str]:
    """The titles of one claim kind, each once, without those that only add a qualifier to another
    ("per-state N identity (DDPM chain)" beside "per-state N identity"): a heading, not a list of ids."""
    unique = _unique(titles)
    return [t for t in unique if not any(o != t and t.startswith(o) and not t[len(o)].isalnum() for o in unique)]


def _instance(text: str) -> Latex:
    """An instance: a short name (typewriter, as in the claim ids) or a description with ``$…$`` math."""
    text = str(text)
    return sanitize_latex(text) if ("$" in text or " " in text) else escape_tt(text)


def _common_hypotheses(records: list[dict]) -> list[str]:
    """Hypotheses every claim kind of a theorem states: said once, in the theorem's header."""
    kinds: dict[str, set[str]] = {}
    for record in records:
        kinds.setdefault(fig.claim_kind(record["id"]), set()).update(record.get("hypotheses") or [])
    if len(kinds) < 2:
        return []
    shared = set.intersection(*kinds.values())
    return [h for h in _unique(h for r in records for h in (r.get("hypotheses") or [])) if h in shared]


def _kinds(records: list[dict], common: list[str] = ()) -> list[dict[str, Any]]:
    kinds: dict[str, list[dict]] = {}
    for record in records:
        kinds.setdefault(fig.claim_kind(record["id"]), []).append(record)
    out = []
    for kind, members in kinds.items():
        statistics = [r["statistic"] for r in members if r.get("statistic") and r["statistic"] not in ("exception", "hypotheses")]
        statements = [s for s in _unique(r.get("statement") or "" for r in members) if s]
        out.append({
            "kind": kind, "count": len(members),
            "title": escape_prose("; ".join(_distinct_titles(r.get("title") or kind for r in members))),
            "statements": [{"latex": sanitize_latex(s, math=True), "display": len(s) > 70} for s in statements],
            "bounds": [sanitize_latex(statement_order(b), math=True) for b in _unique(r.get("bound_latex") or "" for r in members) if b],
            "hypotheses": Latex("; ".join(sanitize_latex(h) for h in _unique(
                h for r in members for h in (r.get("hypotheses") or []) if h not in common))),
            "statistics": Latex("; ".join(escape_prose(s) for s in _unique(statistics))),
            # short instance names are already in the claim ids of the table; descriptions are printed
            "instances": Latex("; ".join(_instance(i) for i in _unique(r.get("instance", "") for r in members)
                                         if i and ("$" in i or " " in i))),
        })
    return out


def _kind_figures(records: list[dict], slug: str, figure_dir: Path) -> list[dict[str, Any]]:
    made = []
    for kind in _unique(fig.claim_kind(r["id"]) for r in records):
        if kind in fig.KIND_FIGURES:
            name, function, width = fig.KIND_FIGURES[kind]
            path = figure_dir / f"{slug}-{name}.pdf"
            caption = function(records, path)
            if caption:
                made.append({"file": Latex(f"figures/{path.name}"), "caption": Latex(caption), "width": width})
    return made


def _figure_rows(figures: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Figures side by side where two fit in a row (width ≤ ½ each), else one per row: a grid, not a page each."""
    rows: list[list[dict[str, Any]]] = []
    for figure in sorted(figures, key=lambda f: f["width"] > 0.5):
        if figure["width"] <= 0.5 and rows and len(rows[-1]) == 1 and rows[-1][0]["width"] <= 0.5:
            rows[-1].append(figure)
        else:
            rows.append([figure])
    for row in rows:
        for figure in row:
            figure["box"] = Latex(f"{0.49 if len(row) == 2 else min(figure['width'], 0.98):.2f}")
    return rows


def _macro_values(record: dict) -> list[tuple[Latex, Latex]]:
    values = {
        "Verdict": escape_text(record["verdict"]), "Empirical": format_number(record.get("empirical")),
        "Confidence": format_number(record.get("confidence_bound")), "Bound": format_number(record.get("bound")),
        "Exact": format_number(record.get("exact")), "Margin": format_number(record.get("margin")),
        "Samples": format_count(record.get("n")), "Id": escape_tt(record["id"]),
        "Level": format_number(record.get("alpha")), "Relation": _relation(record),
    }
    return [(Latex("\\" + macro_name(field, record["id"])), values[field]) for field in MACRO_FIELDS]


def _selection(meta: dict) -> Latex:
    only = meta.get("only")
    if only:
        return Latex(r"claims selected with \texttt{--only} " + escape_tt(only))
    return Latex("all registered claims")


def _group(name: str, members: list[dict], slug: str) -> dict[str, Any]:
    tight = summary.tightest_margin(members)
    weak = summary.weakest_detectable_gap(members)
    units = (weak[1].get("detectable_gap_units") or "") if weak else ""
    return {
        "name": name, "slug": slug, "modules": ", ".join(_unique(str(r.get("module", "")) for r in members)),
        "total": len(members), "counts": _counts(members),
        "tightest": format_number(tight[0]) if tight else Latex(r"\textemdash{}"),
        "tightest_kind": escape_tt(fig.claim_kind(tight[1]["id"])) if tight else Latex(""),
        "weakest": Latex(format_number(weak[0]) + ((r" \emph{" + escape_prose(units) + "}") if units else ""))
        if weak else Latex(r"\textemdash{}"),
        "weakest_kind": escape_tt(fig.claim_kind(weak[1]["id"])) if weak else Latex(""),
    }


def _variants(mutants: dict | None, claim_ids: set[str]) -> dict[str, Any]:
    """The wrong-variants section: the kill matrix of a mutants file, else the registered variants."""
    if mutants is not None:
        rows = [{"theorem": escape_text(m.get("theorem", "")), "name": escape_tt(str(m["id"]).split("#", 1)[-1], breakable=True, breaks="-_"),
                 "what": escape_prose(m.get("what_is_wrong") or ""), "claim": escape_tt(m.get("claim", ""), breakable=True),
                 "verdict": m["verdict"], "killed": bool(m.get("killed")), "margin": format_number(m.get("margin"))}
                for m in sorted(mutants["mutants"], key=lambda m: (theorem_key(str(m.get("theorem", ""))), str(m["id"])))]
        killed = sum(row["killed"] for row in rows)
        return {"matrix": True, "rows": rows, "total": len(rows), "killed": killed,
                "meta": {key: escape_text(mutants.get("meta", {}).get(key)) if mutants.get("meta", {}).get(key)
                         is not None else None for key in ("commit", "date", "seed")}}
    try:
        registered = summary.registered_variants()
    except Exception:  # a report must build from its JSON alone, even where the theorems cannot be imported
        registered = []
    rows = [{"theorem": escape_text(v["theorem"]), "name": escape_tt(v["name"], breakable=True, breaks="-_"), "what": escape_prose(v["what_is_wrong"]),
             "claim": escape_tt(v["claim"], breakable=True), "in_run": v["claim"] in claim_ids}
            for v in sorted(registered, key=lambda v: (theorem_key(v["theorem"]), v["name"]))]
    return {"matrix": False, "rows": rows, "total": len(rows), "killed": None,
            "meta": {"commit": None, "date": None, "seed": None}}


def _stamp(meta: dict, records: list[dict]) -> dict[str, Any]:
    packages = meta.get("packages") if isinstance(meta.get("packages"), dict) else {}
    levels = sorted({float(r["alpha"]) for r in records if isinstance(r.get("alpha"), (int, float))})
    spent = meta.get("alpha_spent")
    if spent is None:  # an older results file: the levels its records ran at
        spent = sum(float(r["alpha"]) for r in records if isinstance(r.get("alpha"), (int, float)))
    seconds = meta.get("seconds")
    return {
        "commit": escape_tt(meta.get("commit") or "unknown"), "dirty": bool(meta.get("dirty")),
        "date": escape_text(meta.get("date") or "unknown"), "seed": escape_text(meta.get("seed")),
        "device": escape_text(meta.get("device_name") or meta.get("device") or "unknown"),
        "runtime": (escape_text(f"{float(seconds):.0f} s") if isinstance(seconds, (int, float)) else None),
        "packages": Latex(", ".join(escape_text(f"{name} {version}") for name, version in packages.items()
                                    if version != "absent")) if packages else None,
        "cap": format_number(meta.get("alpha_cap", meta.get("alpha_total"))), "spent": format_number(spent),
        "level": format_number(levels[0]) if len(levels) == 1 else
        Latex(format_number(levels[0]) + "--" + format_number(levels[-1])) if levels else Latex(r"\textemdash{}"),
        "scaled": isinstance(meta.get("alpha_scale"), (int, float)) and meta["alpha_scale"] != 1.0,
        "complete": meta.get("complete", True) is not False,
    }


def render_report(payload: dict, out_dir: Path, *, source: str = "", mutants: dict | None = None,
                  appendix: bool = False, proofs: dict | None = None,
                  benchmarks: str | Path | None = DEFAULT_RESULTS, calibration: dict | None = None) -> Path:
    """Write report.tex, the style, verdicts.tex, sections and figures into ``out_dir``; return the .tex.
    ``proofs``: a ``tiltproof proof --json`` payload, typeset as the proof appendix (``reports.proofs``).
    ``benchmarks``: the benchmark results directory (``reports.benchmarks``; default the checkout's
    ``benchmarks/results``): its ``chain_peers/`` results and its ``masked_lm.json`` each add a section when
    present; None: no benchmark section. A results file that is there but broken raises ``ValueError``."""
    out_dir = Path(out_dir)
    (out_dir / "sections").mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    records: list[dict] = payload["claims"]
    raw_meta = payload["meta"]
    meta = {key: raw_meta.get(key) for key in ("commit", "date", "seed", "alpha_total", "registered_claims",
                                               "device", "only")}
    meta = {key: ("unknown" if value is None and key in ("commit", "date", "device") else value)
            for key, value in meta.items()}
    meta["alpha_cap"] = raw_meta.get("alpha_cap", raw_meta.get("alpha_total"))
    meta["alpha_spent"] = raw_meta.get("alpha_spent")
    levels = {r.get("alpha") for r in records}
    meta["alpha_per_claim"] = levels.pop() if len(levels) == 1 else raw_meta.get("alpha_per_claim")
    codes: dict[str, str] = {}
    for record in records:
        code = macro_code(record["id"])
        if code in codes:  # cannot happen (the code is injective); guard against a future edit
            raise ValueError(f"claims {codes[code]!r} and {record['id']!r} map to the same macro code")
        codes[code] = record["id"]
    environment = _environment()
    if proofs is not None:
        from reports.proofs import render_proofs_section

        render_proofs_section(proofs, out_dir / "sections" / "proofs.tex")
    masked_lm = None if benchmarks is None else benchmark_section(benchmarks)
    if masked_lm is not None:
        (out_dir / "benchmarks.tex").write_text(masked_lm)
    has_calibration = False
    if calibration is not None:
        from reports.calibration import render_calibration_section

        has_calibration = render_calibration_section(calibration, out_dir)
    taken: set[str] = set()
    theorems, groups, figures = [], [], []
    for name in sorted(_unique(r["theorem"] for r in records), key=theorem_key):
        members = [r for r in records if r["theorem"] == name]
        slug = _slug(name, taken)
        group = _group(name, members, slug)
        common = _common_hypotheses(members)
        theorem = {**group, "kinds": _kinds(members, common), "rows": [_row(r) for r in members],
                   "hypotheses": Latex("; ".join(sanitize_latex(h) for h in common)),
                   "problems": [_problem(r) for r in members if r["verdict"] != "pass"]}
        (out_dir / "sections" / f"{slug}.tex").write_text(environment.get_template("theorem.tex.j2").render(theorem=theorem))
        theorems.append(theorem)
        groups.append((name, members))
        figures += _kind_figures(members, slug, out_dir / "figures")
    overview = None
    caption = fig.margin_overview_figure(groups, out_dir / "figures" / "margins.pdf")
    if caption:
        overview = {"file": Latex("figures/margins.pdf"), "caption": escape_text(caption)}
    ordered = sorted(records, key=lambda r: theorem_key(r["theorem"]))  # stable: results order within a theorem
    claims = [{"id": r["id"], "id_tt": escape_tt(r["id"]), "code_tt": escape_tt(macro_code(r["id"])),
               "verdict": r["verdict"], "macros": _macro_values(r)} for r in ordered]
    counts = {**_counts(records), "total": len(records)}
    example = next((r for r in records if r.get("empirical") is not None), records[0] if records else None)
    context = dict(
        meta=meta, stamp=_stamp(raw_meta, records), counts=counts, theorems=theorems, claims=claims,
        source=source or "(payload)", selection=_selection(meta), overview=overview, figure_rows=_figure_rows(figures),
        variants=_variants(mutants, {r["id"] for r in records}), appendix=appendix, proofs=proofs is not None,
        chain_peers=chain_peers_context(None if benchmarks is None else Path(benchmarks) / CHAIN_PEERS_FOLDER,
                                        out_dir),
        benchmarks=masked_lm is not None,
        calibration=has_calibration,
        fields=Latex(", ".join(r"\texttt{" + f + "}" for f in MACRO_FIELDS)),
        example_id=example["id"] if example else "",
        example_macro="\\" + macro_name("Empirical", example["id"]) if example else "",
        example_value=Latex("\\" + macro_name("Empirical", example["id"])) if example else "",
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
                 engine: str | None = None, timeout: float = 300, mutants: str | Path | dict | None = None,
                 appendix: bool = False, proofs: dict | None = None,
                 benchmarks: str | Path | None = DEFAULT_RESULTS,
                 calibration: str | Path | dict | None = None) -> ReportResult:
    """Render the report of ``results`` (and the kill matrix of ``mutants``, a ``tiltproof mutants --json``
    file) into ``out_dir`` and compile it when TeX is available. ``appendix``: list every macro code in an
    appendix too (they are always in ``verdicts.tex``'s comments). ``benchmarks``: the benchmark results
    directory (``render_report``; None: no benchmark section)."""
    payload = load_results(results)
    kill_matrix = None if mutants is None else (mutants if isinstance(mutants, dict) else summary.load_mutants(mutants))
    out_dir = Path(out_dir)
    source = "" if isinstance(results, dict) else Path(results).name
    if calibration is not None and not isinstance(calibration, dict):
        from reports.calibration import load_calibration

        calibration = load_calibration(calibration)
    tex = render_report(payload, out_dir, source=source, mutants=kill_matrix, appendix=appendix, proofs=proofs,
                        benchmarks=benchmarks, calibration=calibration)
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
