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
import math
import re
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the registry, torch and sympy load only when the command runs
    from tiltproof.core.framework import Claim, Mutant, Record

__all__ = ["MutantRow", "ProofStepRow", "proof_step_ids", "run_proof_step", "run_proof_steps", "run_registered_mutant",
           "mutant_row", "mutant_jobs", "mutant_kind", "select_mutants", "run_mutants", "missing_code_path_theorems",
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


def proof_step_ids(pattern: str | None = None) -> list[tuple[str, str]]:
    """(proof id, wrong step name) of every proof's wrong step whose row id or name matches ``pattern``."""
    from tiltproof.proofs import all_proofs

    compiled = re.compile(pattern) if pattern else None
    return [(proof.id, wrong.name) for proof in all_proofs() for wrong in proof.wrong_steps
            if compiled is None or compiled.search(f"proof:{proof.id}/{wrong.name}") or compiled.search(wrong.name)]


def run_proof_step(proof_id: str, wrong_name: str, profile: str = "ci") -> ProofStepRow:
    """One proof's wrong step run by ``check_wrong_step``: ``verdict`` ``fail`` (killed), ``pass`` (the step
    still passed) or ``error`` (evaluating it raised: not killed). The unit of work of a worker."""
    from tiltproof.proofs import all_proofs, check_wrong_step

    proof = next(proof for proof in all_proofs() if proof.id == proof_id)
    wrong = next(wrong for wrong in proof.wrong_steps if wrong.name == wrong_name)
    started = time.perf_counter()
    try:
        result = check_wrong_step(proof, wrong, profile)
        verdict = "fail" if result.killed else ("error" if result.step_record.verdict == "error" else "pass")
        killed_by, message = tuple(result.killed_by), result.step_record.message
    except Exception as error:  # a crash is an error row, never lost
        verdict, killed_by, message = "error", (), f"{type(error).__name__}: {error}"
    return ProofStepRow(id=f"proof:{proof.id}/{wrong.name}", name=wrong.name, proof=proof.id, step=wrong.step,
                        theorem=proof.theorem, what_is_wrong=wrong.what_is_wrong, verdict=verdict,
                        instance=wrong.instance, killed_by=killed_by, message=message,
                        seconds=time.perf_counter() - started)


def _proof_step_fallback(pairs: list[tuple[str, str]]) -> Callable[[int, str], ProofStepRow]:
    def fallback(index: int, reason: str) -> ProofStepRow:
        proof_id, name = pairs[index]
        return ProofStepRow(id=f"proof:{proof_id}/{name}", name=name, proof=proof_id, step="?", theorem="?",
                            what_is_wrong="?", verdict="error", instance=None, killed_by=(), message=reason,
                            seconds=0.0)
    return fallback


def proof_step_jobs(pairs: list[tuple[str, str]], profile: str = "ci"):
    """Jobs and fallback that run the proof wrong steps ``pairs`` under ``tiltproof.parallel.run_jobs``."""
    from tiltproof.parallel import Job

    return ([Job("tiltproof.mutants_command:run_proof_step", (proof_id, name, profile)) for proof_id, name in pairs],
            _proof_step_fallback(pairs))


def run_proof_steps(pattern: str | None = None, profile: str = "ci",
                    on_row: Callable[[ProofStepRow], None] | None = None, workers: int = 1) -> list[ProofStepRow]:
    """Every proof's wrong step whose row id or name matches ``pattern`` (all without one), each run by
    ``run_proof_step`` on ``workers`` processes; rows in proof order."""
    from tiltproof.parallel import run_jobs

    jobs, fallback = proof_step_jobs(proof_step_ids(pattern), profile)
    return run_jobs(jobs, workers=workers, fallback=fallback,
                    on_result=None if on_row is None else (lambda index, row: on_row(row)))


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


def run_registered_mutant(mutant_id: str, alpha: float, seed: int, device: str) -> Record:
    """Worker side of ``run_mutants``: ``run_claim`` on the registered wrong variant ``mutant_id``."""
    from tiltproof.core.framework import run_claim
    from tiltproof.parallel import registered_variant

    return run_claim(registered_variant(mutant_id), alpha=alpha, seed=seed, device=device)


def mutant_row(mutant: Mutant, record: Record, registered: dict[str, Claim]) -> MutantRow:
    """The kill-matrix row of ``mutant`` from its claim's record."""
    return MutantRow(id=mutant.claim.id, name=mutant.name, claim=_claim_id(mutant), theorem=mutant.theorem,
                     kind=mutant_kind(mutant, registered), what_is_wrong=mutant.what_is_wrong, record=record)


def mutant_jobs(mutants: list[Mutant], *, alpha: float | None, seed: int, device: str, workers: int):
    """Jobs, fallback and groups that run each variant's claim at ``alpha`` (default: its claim's own level)."""
    from tiltproof.core.framework import claim_level
    from tiltproof.parallel import claim_jobs

    claims = [mutant.claim for mutant in mutants]
    levels = {claim.id: claim_level(claim) if alpha is None else alpha for claim in claims}
    return claim_jobs(claims, alpha=levels, seed=seed, device=device, workers=workers,
                      target="tiltproof.mutants_command:run_registered_mutant")


def run_mutants(mutants: list[Mutant], registered: list[Claim], *, alpha: float | None = None, seed: int = 0,
                device: str = "cpu", on_row: Callable[[MutantRow], None] | None = None,
                workers: int = 1) -> list[MutantRow]:
    """Run each variant's claim at ``alpha`` (default: its claim's own level, as ``tiltproof check`` runs the
    claim) on ``workers`` processes; a crash is an ``error`` row, never lost. Rows in input order."""
    from tiltproof.parallel import run_jobs

    by_id = {claim.id: claim for claim in registered}
    jobs, fallback, groups = mutant_jobs(mutants, alpha=alpha, seed=seed, device=device, workers=workers)
    records = run_jobs(jobs, workers=workers, fallback=fallback, groups=groups,
                       on_result=None if on_row is None else
                       (lambda index, record: on_row(mutant_row(mutants[index], record, by_id))))
    return [mutant_row(mutant, record, by_id) for mutant, record in zip(mutants, records)]


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
    parser.add_argument("--json", metavar="FILE",
                        help="write {'meta': …, 'mutants': [rows…]} to FILE, rewritten atomically after every row")
    parser.add_argument("--resume", metavar="FILE",
                        help="complete an interrupted --json FILE: run only the variants it lacks, with its settings")
    parser.add_argument("--seed", type=int, default=None, help="master seed (per-claim seeds derive from it; default 0)")
    parser.add_argument("--alpha", type=float, default=None,
                        help="suite false-alarm budget α_total (default 1e-6, as `tiltproof check`); each "
                             "variant runs at its claim's share")
    parser.add_argument("--device", default=None, help="torch device for the samplers: cpu (default) or cuda")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes (default: this machine's cores; 1 = this process)")
    parser.add_argument("--no-proofs", action="store_true",
                        help="skip the proofs' step-level wrong variants (rows proof:<proof id>/<wrong step>)")
    from tiltproof.plugins import add_theorems_option

    add_theorems_option(parser)
    parser.set_defaults(handler=command_mutants)
    return parser


def _table(rows: list[dict[str, Any]], width: int | None) -> str:
    """The kill matrix from rows' JSON: one line per variant; numbers never cut, ids shortened at ``width``."""
    from tiltproof.runner import Column, format_table, number_text

    columns = [Column("variant", "text", min_width=24), Column("kind", "text", optional=True, min_width=9),
               Column("verdict", "text", min_width=8), Column("statistic", "text", optional=True),
               Column("empirical", "number"), Column("conf. bound", "number"), Column("bound", "number"),
               Column("margin", "number"), Column("n", "number"), Column("time", "number", optional=True)]
    lines = [[row["id"], row.get("kind", ""), "killed" if row["killed"] else f"SURVIVED ({row['verdict']})",
              str(row.get("statistic") or ""), number_text(row.get("empirical")),
              number_text(row.get("confidence_bound")), number_text(row.get("bound")), number_text(row.get("margin")),
              "—" if row.get("n") is None else str(row["n"]),
              f"{row['seconds']:.2f}s" if isinstance(row.get("seconds"), (int, float)) else "—"] for row in rows]
    return format_table(columns, lines, width, title="tiltproof kill matrix (variant → the claim whose check "
                                                     "must reject it)")


def _settings(arguments: argparse.Namespace) -> dict[str, Any] | None:
    """Defaults, or with ``--resume`` the file's settings (an explicit option that differs is an error)."""
    from tiltproof.records_io import read_partial

    resumed = read_partial(arguments.resume, key="mutants") if arguments.resume else None
    stored = {} if resumed is None else {"seed": resumed["meta"].get("seed"), "alpha": resumed["meta"].get("alpha_total"),
                                         "device": resumed["meta"].get("device"), "only": resumed["meta"].get("only")}
    for option, default in (("seed", 0), ("alpha", None), ("device", "cpu"), ("only", None)):
        given = getattr(arguments, option)
        if resumed is not None and given is not None and given != stored[option]:
            raise ValueError(f"--resume: the file was run with --{option} {stored[option]!r}, not {given!r}")
        if given is None:
            setattr(arguments, option, stored.get(option, default) if resumed is not None else default)
    return resumed


def command_mutants(arguments: argparse.Namespace) -> int:
    from tiltproof.runner import check_outputs, refuse

    output = arguments.json or arguments.resume
    try:  # refused before the registry loads and any variant runs, not after them
        resumed = _settings(arguments)
        check_outputs({"--json" if arguments.json else "--resume": output})
        if arguments.workers is not None and arguments.workers < 1:
            raise ValueError(f"--workers must be an integer ≥ 1, got {arguments.workers!r}")
        if arguments.only:
            re.compile(arguments.only)
    except re.error as error:
        return refuse(f"--only must be a valid regular expression: {error}")
    except ValueError as error:
        return refuse(str(error))
    from primitives._checks import check_unit_interval, resolve_device
    from tiltproof.core.framework import DEFAULT_ALPHA_TOTAL, DEFAULT_CLAIM_LEVEL
    from tiltproof.core.registry import all_claims, all_mutants, load_problems
    from tiltproof.core.suite import plan_levels
    from tiltproof.parallel import check_workers
    from tiltproof.plugins import use_theorems
    from tiltproof.records_io import ResultsWriter
    from tiltproof.runner import console as make_console, execute, interrupted, run_meta, stdout_width

    if arguments.alpha is None:
        arguments.alpha = DEFAULT_ALPHA_TOTAL
    console = make_console()
    try:
        check_unit_interval("--alpha", arguments.alpha)
        resolve_device(arguments.device)
        workers = check_workers(arguments.workers)
        use_theorems(getattr(arguments, "theorems", None))
        registered = all_claims()
        every = all_mutants()
        chosen = select_mutants(every, arguments.only)
        pairs = [] if arguments.no_proofs else proof_step_ids(arguments.only)
        share = plan_levels(registered, arguments.alpha).scale * DEFAULT_CLAIM_LEVEL  # each claim's level in `check`
    except ValueError as error:
        return refuse(str(error))
    if not chosen and not pairs:
        return refuse(f"--only {arguments.only!r} matches none of the {len(every)} wrong variants"
                      + ("" if arguments.no_proofs else " nor any proof's wrong step"))
    problems = load_problems()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    kept = [row for row in (resumed["mutants"] if resumed else [])]
    done_ids = {row["id"] for row in kept}
    chosen = [mutant for mutant in chosen if mutant.claim.id not in done_ids]
    pairs = [(proof, name) for proof, name in pairs if f"proof:{proof}/{name}" not in done_ids]
    meta = run_meta("mutants", arguments.device, seed=arguments.seed, alpha_total=arguments.alpha,
                    alpha_per_claim=share, registered_claims=len(registered), registered_mutants=len(every),
                    only=arguments.only, workers=workers, theorem_package_errors=problems)
    writer = ResultsWriter(output, meta, kept, key="mutants") if output else None
    by_id = {claim.id: claim for claim in registered}
    rows: list[dict[str, Any]] = list(kept)
    started = time.perf_counter()
    variant_jobs, variant_fallback, groups = mutant_jobs(chosen, alpha=share, seed=arguments.seed,
                                                         device=arguments.device, workers=workers)
    step_jobs, step_fallback = proof_step_jobs(pairs)
    jobs = variant_jobs + step_jobs

    def fallback(index: int, reason: str) -> Any:
        if index < len(variant_jobs):
            return variant_fallback(index, reason)
        return step_fallback(index - len(variant_jobs), reason)

    def as_row(index: int, result: Any) -> dict[str, Any]:
        if index < len(variant_jobs):
            return mutant_row(chosen[index], result, by_id).to_json()
        return result.to_json()

    def done(index: int, result: Any) -> None:
        rows.append(as_row(index, result))
        if writer is not None:
            writer.add(rows[-1])

    try:
        execute(jobs, workers=workers, fallback=fallback, on_done=done, label="wrong variants",
                groups=list(groups) + [("proof", pair[0]) for pair in pairs],
                describe=lambda index, result: f"{'killed' if as_row(index, result)['killed'] else 'SURVIVED'} "
                                               f"{as_row(index, result)['id']}")
    except KeyboardInterrupt:
        return interrupted("mutants", output, len(rows))
    order = [mutant.claim.id for mutant in select_mutants(every, arguments.only)] + \
        [f"proof:{proof}/{name}" for proof, name in proof_step_ids(arguments.only)]
    position = {row_id: index for index, row_id in enumerate(order)}
    rows.sort(key=lambda row: position.get(row["id"], len(position)))
    console.print(_table(rows, stdout_width()), markup=False, highlight=False)
    survivors = [row for row in rows if not row["killed"]]
    for row in survivors:
        console.print(f"survived {row['id']} ({row['what_is_wrong']}): verdict {row['verdict']}; "
                      f"{row['message'] or 'the check passed it'}", markup=False, highlight=False)
    uncovered = missing_code_path_theorems(every, registered)
    if uncovered:
        console.print(f"theorems without a code-path variant: {', '.join(uncovered)}", markup=False)
    step_rows = [row for row in rows if row.get("kind") == "proof step"]
    steps_killed = sum(row["killed"] for row in step_rows)
    if step_rows:
        console.print(f"{steps_killed} of {len(step_rows)} proof wrong steps killed at their step")
    console.print(f"{len(rows) - len(survivors)} of {len(rows)} wrong variants killed — each at its claim's share "
                  f"α={share:.3g} (the level its claim runs at in `tiltproof check`, cap {arguments.alpha:g}), "
                  f"seed={arguments.seed}, {workers} worker(s), {time.perf_counter() - started:.1f}s"
                  + (f" ({len(kept)} rows kept from {arguments.resume})" if kept else ""), highlight=False)
    if writer is not None:
        writer.finish(order=order, killed=len(rows) - len(survivors), survived=len(survivors),
                      proof_steps=len(step_rows), proof_steps_killed=steps_killed,
                      theorems_without_code_path_variant=uncovered, seconds=round(time.perf_counter() - started, 2))
        console.print(f"wrote {output}")
    return 0 if not survivors and not problems else 1
