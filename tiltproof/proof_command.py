"""``tiltproof proof``: a theorem's proof with a verdict per step (issue 22).

``tiltproof proof ID [--json FILE] [--profile ci|dev|nightly] [--no-search] [--no-slow]`` — ID is a proof id
(``bon.kl_bound``) or a theorem (``BoN``, every proof of it, and the lemmas they cite). Prints each step:
its relation, justification, how it was checked (``checked-symbolic``, ``searched``,
``checked-on-instances``, ``argued``), its verdict and both sides on the proof's reference instance;
then each step-level wrong variant and whether it was killed at its step.

``tiltproof proof --summary [--json FILE]`` — every proof: steps by kind and the fraction checked by a
mechanical method (the issue's target is ≥ 80 %), and per theorem the number of exact instances evaluated.
Every registered instance of a theorem's claims is one of its proofs' (``tiltproof.proofs.coverage``); those
on the diffusion chains are marked slow (``--no-slow`` skips them).

Exit status: 0 when every step passes or is argued and every wrong step is killed; 1 otherwise; 2 for
an unknown ID or bad arguments.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

__all__ = ["add_parser", "command_proof", "format_side", "proofs_payload"]


def format_side(value: Any) -> str:
    """A side on the reference instance: 4 significant digits; arrays as their length and range."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, list):
        flat = [v for v in _flatten(value)]
        if len(flat) == 1:
            return format_side(flat[0])
        numbers = [float(v) for v in flat]
        return f"[{len(numbers)} values in {min(numbers):.4g}…{max(numbers):.4g}]"
    return str(value)


def _flatten(value):
    for item in value:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def _print_record(record, wrong_records) -> None:
    kind = "lemma" if record.lemma else "theorem"
    print(f"{record.theorem} ({kind}) — proof {record.id}: {record.verdict}")
    print(f"  statement: {record.statement}")
    for hypothesis in record.hypotheses:
        print(f"  hypothesis: {hypothesis}")
    if record.reference_instance:
        params = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                           for k, v in record.reference_parameters.items())
        print(f"  reference instance: {record.reference_instance}" + (f" ({params})" if params else ""))
    print(f"  {'#':>2}  {'step':<22} {'rel':<3} {'justification':<20} {'kind':<21} {'verdict':<7} "
          f"{'lhs':>22} {'rhs':>22}")
    for step in record.steps:
        ref = step.reference or {}
        lhs = format_side(ref["lhs"]) if "lhs" in ref else "—"
        rhs = format_side(ref["rhs"]) if "rhs" in ref else "—"
        print(f"  {step.index + 1:>2}  {step.name:<22} {step.relation:<3} {step.justification:<20} {step.kind:<21} "
              f"{step.verdict:<7} {lhs:>22} {rhs:>22}")
        print(f"      {step.latex}")
        if step.cites:
            print(f"      cites: {step.cites}")
        if step.verdict != "pass":
            print(f"      {step.message}")
    for wrong in wrong_records:
        status = "killed" if wrong.killed else "SURVIVED"
        where = f" on {wrong.instance}" if wrong.instance else ""
        by = f" by {', '.join(wrong.killed_by)}" if wrong.killed_by else ""
        print(f"  wrong step {wrong.name} (step {wrong.step}){where}: {status}{by} — {wrong.what_is_wrong}")
        if wrong.history:
            print(f"      history: {wrong.history}")
    print()


def _with_lemmas(chosen, proofs):
    by_id = {proof.id: proof for proof in proofs}
    ordered = list(chosen)
    for proof in chosen:
        for step in proof.steps:
            if step.cites and by_id[step.cites] not in ordered:
                ordered.append(by_id[step.cites])
    return ordered


def _summary_lines(summary: dict) -> list[str]:
    lines = [f"{summary['proofs']} proofs, {summary['steps']} steps: " +
             ", ".join(f"{kind} {count}" for kind, count in summary["kinds"].items()),
             f"mechanically checked: {summary['mechanical_fraction']:.1%} (target ≥ 80 %)"]
    instances = summary.get("instances_by_theorem", {})
    for theorem, kinds in summary["by_theorem"].items():
        lines.append(f"  {theorem:<10} " + "  ".join(f"{kind} {count}" for kind, count in kinds.items())
                     + (f"  instances {instances[theorem]}" if theorem in instances else ""))
    if summary["failing"]:
        lines.append("failing steps: " + ", ".join(summary["failing"]))
    if summary.get("surviving_wrong_steps"):
        lines.append("wrong steps not killed: " + ", ".join(summary["surviving_wrong_steps"]))
    return lines


def proofs_payload(chosen=None, profile="ci", on_record=None, slow: bool = True) -> dict[str, Any]:
    """Check ``chosen`` proofs (default: all) and their wrong steps: ``{"summary", "proofs", "wrong_steps"}``
    (the ``--json`` object, which ``tiltproof report --proofs`` typesets). ``profile``: a search profile
    name or None (no search); ``on_record(record, wrong_records)`` is called after each proof; ``slow=False``
    leaves out the instances marked slow (the chains' per-step laws)."""
    from tiltproof.proofs import all_proofs, check_proof, check_wrong_step, summarize

    chosen = all_proofs() if chosen is None else chosen
    started = time.perf_counter()
    records, wrongs = [], []
    for proof in chosen:
        record = check_proof(proof, profile, slow=slow)
        wrong_records = [check_wrong_step(proof, wrong, profile) for wrong in proof.wrong_steps]
        records.append(record)
        wrongs.extend(wrong_records)
        if on_record is not None:
            on_record(record, wrong_records)
    summary = summarize(records)
    summary["surviving_wrong_steps"] = [f"{w.proof}:{w.name}" for w in wrongs if not w.killed]
    summary["seconds"] = time.perf_counter() - started
    return {"summary": summary, "proofs": [r.to_json() for r in records], "wrong_steps": [w.to_json() for w in wrongs]}


def command_proof(arguments: argparse.Namespace) -> int:
    if not arguments.summary and not arguments.id:
        print("error: give a theorem or proof id, or --summary")
        return 2
    from tiltproof.proofs import all_proofs, search_profile, select_proofs

    try:
        profile = None if arguments.no_search else search_profile(arguments.profile)
        proofs = all_proofs()
        chosen = proofs if arguments.summary else _with_lemmas(select_proofs(proofs, arguments.id), proofs)
    except ValueError as error:
        print(f"error: {error}")
        return 2
    try:
        payload = proofs_payload(chosen, profile, None if arguments.summary else _print_record,
                                 slow=not arguments.no_slow)
    except ValueError as error:     # a malformed proof: sides of different shapes, a bad error, a bad reference
        print(f"error: {error}")
        return 2
    summary = payload["summary"]
    for line in _summary_lines(summary):
        print(line)
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=1, default=float)
    bad = summary["failing"] or summary["surviving_wrong_steps"]
    return 1 if bad else 0


def add_parser(commands) -> None:
    parser = commands.add_parser("proof", help="a theorem's proof, each step checked (or --summary of all)")
    parser.add_argument("id", nargs="?", help="a proof id (bon.kl_bound) or a theorem (BoN, T2, …)")
    parser.add_argument("--summary", action="store_true", help="every proof: steps by kind, fraction checked")
    parser.add_argument("--json", metavar="FILE", help="write {'summary', 'proofs', 'wrong_steps'} to FILE")
    parser.add_argument("--profile", default=None, help="search profile: ci (default), dev, nightly")
    parser.add_argument("--no-search", action="store_true", help="skip the property-based search")
    parser.add_argument("--no-slow", action="store_true",
                        help="skip the instances marked slow (the chains' laws at every step: minutes)")
    parser.set_defaults(handler=command_proof)
