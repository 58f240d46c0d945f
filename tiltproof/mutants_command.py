"""``tiltproof mutants``: run every registered wrong variant and print the kill matrix (issue 11).

A wrong variant (``tiltproof.core.framework.Mutant``) is a registered claim whose check runs a deliberately
wrong sampler, learner, counter or calibration, or whose bound is a wrong expression. The suite is
worth the wrong things it catches: a variant is *killed* only when its claim's own check returns
``fail`` at the claim's share of the budget (the share ``tiltproof check`` gives it), with the power the
check was designed for. ``pass`` means the variant survived (the check is blind to that bug) and
``error`` means the variant could not be judged; both count as not killed, and the command exits 1.

``tiltproof mutants [--only REGEX] [--json FILE] [--seed N] [--alpha A] [--device D]``

* ``--only`` selects variants whose id (``<claim id>#<suffix>``) or name matches REGEX (``re.search``);
* ``--json`` writes ``{"meta": {...}, "mutants": [row, ...]}`` with one row per variant:
  ``id, claim, theorem, what_is_wrong, verdict, killed, statistic, empirical, confidence_bound, bound,
  margin, message`` (plus ``name``, ``kind``, ``n``, ``detectable_gap``, ``detectable_gap_units``, ``seconds``).

* ``--no-proofs`` skips the proofs' step-level wrong variants (issue 22), which are otherwise rows too:
  ``proof:<proof id>/<wrong step name>``, kind ``"proof step"``, *killed* iff the replaced step fails (on its
  named instance, when it names one; ``tiltproof.proofs.check_wrong_step`` at the ``ci`` search profile),
  with ``proof``, ``step``, ``instance`` and ``killed_by`` in the JSON and "killed at step <step>" as statistic.

``kind`` is ``"code path"`` when the variant keeps the claim's bound and changes what the check runs
(sampler, learner, counter, calibration) and ``"bound"`` when it swaps the symbolic side; the summary
names every theorem that has no code-path variant.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the registry, torch and sympy load only when the command runs
    from tiltproof.core.framework import Claim, Mutant, Record

__all__ = ["MutantRow", "ProofStepRow", "run_proof_steps", "mutant_kind", "select_mutants", "run_mutants", "missing_code_path_theorems",
           "mutants_payload", "command_mutants", "add_parser"]


@dataclass(frozen=True)
class MutantRow:
    """One line of the kill matrix: a wrong variant and the verdict of its claim's check on it."""

    id: str
    name: str
    claim: str
    theorem: str
    kind: str
    what_is_wrong: str
    record: Record

    @property
    def killed(self) -> bool:
        return self.record.verdict == "fail"

    def to_json(self) -> dict[str, Any]:
        record = self.record.to_json()
        return {
            "id": self.id, "claim": self.claim, "theorem": self.theorem, "what_is_wrong": self.what_is_wrong,
            "verdict": self.record.verdict, "killed": self.killed, "statistic": self.record.statistic,
            "empirical": _number(record["empirical"]), "confidence_bound": _number(record["confidence_bound"]),
            "bound": _number(record["bound"]), "margin": _number(record["margin"]), "message": self.record.message,
            "name": self.name, "kind": self.kind, "n": self.record.n,
            "detectable_gap": _number(record["detectable_gap"]),
            "detectable_gap_units": self.record.detectable_gap_units, "seconds": self.record.seconds,
        }


@dataclass(frozen=True)
class ProofStepRow:
    """One line of the kill matrix for a proof's step-level wrong variant: killed iff its step fails."""

    id: str
    name: str
    proof: str
    step: str
    theorem: str
    what_is_wrong: str
    verdict: str
    instance: str | None
    killed_by: tuple[str, ...]
    message: str
    seconds: float
    kind: str = "proof step"

    @property
    def killed(self) -> bool:
        return self.verdict == "fail"

    @property
    def statistic(self) -> str:
        return f"killed at step {self.step}" if self.killed else f"not killed at step {self.step}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "claim": f"proof {self.proof}, step {self.step}", "theorem": self.theorem,
                "what_is_wrong": self.what_is_wrong, "verdict": self.verdict, "killed": self.killed,
                "statistic": self.statistic, "empirical": None, "confidence_bound": None, "bound": None,
                "margin": None, "message": self.message, "name": self.name, "kind": self.kind, "n": None,
                "detectable_gap": None, "detectable_gap_units": None, "seconds": self.seconds,
                "proof": self.proof, "step": self.step, "instance": self.instance, "killed_by": list(self.killed_by)}


def run_proof_steps(pattern: str | None = None, profile: str = "ci",
                    on_row: Callable[[ProofStepRow], None] | None = None) -> list[ProofStepRow]:
    """Every proof's wrong steps whose row id or name matches ``pattern`` (all without one), each run by
    ``check_wrong_step``; ``verdict`` is ``fail`` (killed), ``pass`` (the step still passed) or ``error``
    (evaluating it raised: not killed)."""
    from tiltproof.proofs import all_proofs, check_wrong_step

    compiled = re.compile(pattern) if pattern else None
    rows = []
    for proof in all_proofs():
        for wrong in proof.wrong_steps:
            row_id = f"proof:{proof.id}/{wrong.name}"
            if compiled is not None and not (compiled.search(row_id) or compiled.search(wrong.name)):
                continue
            started = time.perf_counter()
            try:
                result = check_wrong_step(proof, wrong, profile)
                verdict = "fail" if result.killed else ("error" if result.step_record.verdict == "error" else "pass")
                killed_by, message = tuple(result.killed_by), result.step_record.message
            except Exception as error:  # a crash is an error row, never lost
                verdict, killed_by, message = "error", (), f"{type(error).__name__}: {error}"
            row = ProofStepRow(id=row_id, name=wrong.name, proof=proof.id, step=wrong.step, theorem=proof.theorem,
                               what_is_wrong=wrong.what_is_wrong, verdict=verdict, instance=wrong.instance,
                               killed_by=killed_by, message=message, seconds=time.perf_counter() - started)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def _number(value: Any) -> float | None:
    """JSON numbers only: non-finite values become null (the schema says ``float|null``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _claim_id(mutant: Mutant) -> str:
    return mutant.claim.id.split("#", 1)[0]


def mutant_kind(mutant: Mutant, registered: dict[str, Claim]) -> str:
    """``"bound"`` if the variant swaps its claim's symbolic bound, else ``"code path"``."""
    original = registered.get(_claim_id(mutant))
    if original is not None and original.bound_expression != mutant.claim.bound_expression:
        return "bound"
    return "code path"


def select_mutants(mutants: list[Mutant], pattern: str | None) -> list[Mutant]:
    """Variants whose id or name matches ``pattern`` (``re.search``); all of them without one."""
    if not pattern:
        return list(mutants)
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ValueError(f"--only must be a valid regular expression: {error}") from None
    return [mutant for mutant in mutants if compiled.search(mutant.claim.id) or compiled.search(mutant.name)]


def run_mutants(mutants: list[Mutant], registered: list[Claim], *, alpha: float | None = None, seed: int = 0,
                device: str = "cpu", on_row: Callable[[MutantRow], None] | None = None) -> list[MutantRow]:
    """Run each variant's claim at ``alpha`` (default: its claim's own level, as ``tiltproof check`` runs the
    claim); a crash is an ``error`` row, never lost."""
    from tiltproof.core.framework import claim_level, run_claim

    by_id = {claim.id: claim for claim in registered}
    rows = []
    for mutant in mutants:
        record = run_claim(mutant.claim, alpha=claim_level(mutant.claim) if alpha is None else alpha, seed=seed,
                           device=device)
        row = MutantRow(id=mutant.claim.id, name=mutant.name, claim=_claim_id(mutant), theorem=mutant.theorem,
                        kind=mutant_kind(mutant, by_id), what_is_wrong=mutant.what_is_wrong, record=record)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def missing_code_path_theorems(mutants: list[Mutant], registered: list[Claim]) -> list[str]:
    """Theorems with registered claims but no code-path variant (only wrong bounds, or none at all)."""
    by_id = {claim.id: claim for claim in registered}
    covered = {mutant.theorem for mutant in mutants if mutant_kind(mutant, by_id) == "code path"}
    return sorted({claim.theorem for claim in registered} - covered)


def mutants_payload(rows: list[MutantRow], meta: dict[str, Any]) -> dict[str, Any]:
    return {"meta": meta, "mutants": [row.to_json() for row in rows]}


# ---------------------------------------------------------------- command line
def add_parser(commands) -> argparse.ArgumentParser:
    """Register the ``mutants`` sub-command (its handler imports the registry lazily)."""
    parser = commands.add_parser("mutants", help="run every registered wrong variant; exit 1 if one survives")
    parser.add_argument("--only", metavar="REGEX", help="run only variants whose id or name matches REGEX")
    parser.add_argument("--json", metavar="FILE", help="write {'meta': …, 'mutants': [rows…]} to FILE")
    parser.add_argument("--seed", type=int, default=0, help="master seed (per-claim seeds derive from it)")
    parser.add_argument("--alpha", type=float, default=None,
                        help="suite false-alarm budget α_total (default 1e-6, as `tiltproof check`); each "
                             "variant runs at its claim's share")
    parser.add_argument("--device", default="cpu", help="torch device for the samplers: cpu (default) or cuda")
    parser.add_argument("--no-proofs", action="store_true",
                        help="skip the proofs' step-level wrong variants (rows proof:<proof id>/<wrong step>)")
    from tiltproof.plugins import add_theorems_option

    add_theorems_option(parser)
    parser.set_defaults(handler=command_mutants)
    return parser


def _fmt(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4g}"


def command_mutants(arguments: argparse.Namespace) -> int:
    import sys

    from tiltproof.records_io import check_output_path, write_atomically

    if arguments.json:  # refused before the registry loads and any variant runs, not after them
        try:
            check_output_path(arguments.json, option="--json")
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    from rich.console import Console
    from rich.table import Table

    from primitives._checks import check_unit_interval, resolve_device
    from tiltproof.core.framework import DEFAULT_ALPHA_TOTAL
    from tiltproof.core.registry import all_claims, all_mutants, load_problems
    from tiltproof.plugins import use_theorems
    from tiltproof.core.framework import DEFAULT_CLAIM_LEVEL
    from tiltproof.core.suite import plan_levels

    if arguments.alpha is None:
        arguments.alpha = DEFAULT_ALPHA_TOTAL
    console = Console() if sys.stdout.isatty() else Console(width=220)
    try:
        check_unit_interval("--alpha", arguments.alpha)
        resolve_device(arguments.device)
        use_theorems(getattr(arguments, "theorems", None))
        registered = all_claims()
        every = all_mutants()
        chosen = select_mutants(every, arguments.only)
        share = plan_levels(registered, arguments.alpha).scale * DEFAULT_CLAIM_LEVEL  # each claim's level in `check`
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    problems = load_problems()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    proof_pattern = arguments.only
    if not chosen and getattr(arguments, "no_proofs", False):
        console.print(f"[red]error:[/] --only {arguments.only!r} matches none of the {len(every)} wrong variants")
        return 2
    started = time.perf_counter()
    with console.status("running wrong variants") as status:
        rows = run_mutants(chosen, registered, alpha=share, seed=arguments.seed, device=arguments.device,
                           on_row=lambda row: status.update(f"{'killed' if row.killed else 'SURVIVED'} {row.id}"))
        step_rows = [] if getattr(arguments, "no_proofs", False) else run_proof_steps(
            proof_pattern, on_row=lambda row: status.update(f"{'killed' if row.killed else 'SURVIVED'} {row.id}"))
    if not rows and not step_rows:
        console.print(f"[red]error:[/] --only {arguments.only!r} matches none of the {len(every)} wrong variants "
                      "nor any proof's wrong step")
        return 2
    table = Table(title="tiltproof kill matrix (variant → the claim whose check must reject it)")
    for column, justify in (("variant", "left"), ("kind", "left"), ("verdict", "center"), ("statistic", "left"),
                            ("empirical", "right"), ("conf. bound", "right"), ("bound", "right"),
                            ("margin", "right"), ("n", "right"), ("time", "right")):
        table.add_column(column, justify=justify, overflow="fold")
    for row in rows:
        record = row.record
        verdict = "[green]killed[/]" if row.killed else f"[bold red]survived ({record.verdict})[/]"
        table.add_row(row.id, row.kind, verdict, record.statistic, _fmt(record.empirical),
                      _fmt(record.confidence_bound), _fmt(record.bound), _fmt(record.margin), str(record.n),
                      f"{record.seconds:.2f}s")
    for row in step_rows:
        verdict = "[green]killed[/]" if row.killed else f"[bold red]survived ({row.verdict})[/]"
        table.add_row(row.id, row.kind, verdict, row.statistic, "—", "—", "—", "—", "—", f"{row.seconds:.2f}s")
    console.print(table)
    survivors = [row for row in rows if not row.killed] + [row for row in step_rows if not row.killed]
    for row in survivors:
        verdict, message = (row.verdict, row.message) if isinstance(row, ProofStepRow) else (row.record.verdict,
                                                                                             row.record.message)
        console.print(f"[bold red]survived[/] {row.id} ({row.what_is_wrong}): verdict {verdict}; "
                      f"{message or 'the check passed it'}")
    uncovered = missing_code_path_theorems(every, registered)
    if uncovered:
        console.print(f"[yellow]theorems without a code-path variant:[/] {', '.join(uncovered)}")
    total = len(rows) + len(step_rows)
    steps_killed = sum(row.killed for row in step_rows)
    if step_rows:
        console.print(f"{steps_killed} of {len(step_rows)} proof wrong steps killed at their step")
    console.print(f"{total - len(survivors)} of {total} wrong variants killed — each at its claim's share "
                  f"α={share:.3g} (the level its claim runs at in `tiltproof check`, cap {arguments.alpha:g}), "
                  f"seed={arguments.seed}, {time.perf_counter() - started:.1f}s")
    if arguments.json:
        from tiltproof.stamp import git_commit

        meta = {"commit": git_commit(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seed": arguments.seed, "alpha_total": arguments.alpha, "alpha_per_claim": share,
                "registered_claims": len(registered), "registered_mutants": len(every), "device": arguments.device,
                "only": arguments.only, "killed": total - len(survivors), "survived": len(survivors),
                "proof_steps": len(step_rows), "proof_steps_killed": steps_killed,
                "theorems_without_code_path_variant": uncovered, "theorem_package_errors": problems}
        write_atomically(Path(arguments.json), json.dumps(mutants_payload(rows + step_rows, meta), indent=2))
        console.print(f"wrote {arguments.json}")
    return 0 if not survivors and not problems else 1
