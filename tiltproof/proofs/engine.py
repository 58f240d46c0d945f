"""Checking whole proofs, their step-level wrong variants, and finding proofs in the registry.

``check_proof(proof)`` runs every step through the three checkers (``checkers``) and returns a
``ProofRecord`` with one ``StepRecord`` per step. A step's ``kind`` is the strongest method that
established it (``model.STEP_KINDS``): ``checked-symbolic`` (proved on its whole domain), ``searched``
(exact on the registered instances that apply and on every instance the search drew), ``checked-on-instances``,
else ``argued`` (its ``argued`` reason, or the lemma it cites). Its ``verdict`` is ``fail`` if any method
found a violation, ``error`` if evaluating it raised, ``argued`` when nothing mechanical applied, else
``pass``. ``check_wrong_step`` runs one ``WrongStep``: it is *killed* when the replaced step's verdict is
``fail`` (on its named instance, when it names one).

Discovery: a theorem module declares ``proofs() -> list[Proof]`` next to ``claims()``; generic lemmas
(Chernoff, Markov …) live in ``tiltproof.proofs.lemmas``. ``all_proofs()`` collects both, requires unique
ids and that every ``Step.cites`` names a collected proof.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from tiltproof.proofs.checkers import (CheckOutcome, SearchProfile, check_on_instances, check_symbolic, compare,
                                       evaluate_step, search, search_profile)
from tiltproof.proofs.model import STEP_KINDS, Proof, ProofInstance, Step, WrongStep

__all__ = ["StepRecord", "ProofRecord", "WrongStepRecord", "check_step", "check_proof", "check_wrong_step",
           "all_proofs", "select_proofs", "validate_citations", "summarize"]


@dataclass(frozen=True)
class StepRecord:
    """What the checkers found for one step. ``checks``: every method's ``CheckOutcome`` as a dict;
    ``reference``: the sides on the proof's reference instance (None if the step does not apply there)."""

    name: str
    index: int
    latex: str
    relation: str
    justification: str
    kind: str
    verdict: str
    message: str
    checks: list[dict[str, Any]]
    reference: dict[str, Any] | None = None
    cites: str | None = None
    argued: str | None = None
    text: str = ""


@dataclass(frozen=True)
class ProofRecord:
    """A checked proof (JSON-able through ``to_json``). ``verdict``: ``pass`` when no step failed or
    raised (argued steps included: they are counted in ``kinds``)."""

    id: str
    theorem: str
    title: str
    statement: str
    hypotheses: list[str]
    lemma: bool
    verdict: str
    reference_instance: str | None
    reference_parameters: dict[str, float]
    instances: list[str]
    profile: str | None
    steps: list[StepRecord]
    kinds: dict[str, int]
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WrongStepRecord:
    """A step-level wrong variant: ``killed`` iff the replaced step fails (on ``instance`` if named);
    ``killed_by``: the methods that found the violation; ``step_record``: the replaced step's record."""

    name: str
    proof: str
    step: str
    what_is_wrong: str
    instance: str | None
    history: str
    killed: bool
    killed_by: list[str]
    step_record: StepRecord

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _kind(step: Step, outcomes: dict[str, CheckOutcome]) -> str:
    passed = {method for method, outcome in outcomes.items() if outcome.verdict == "pass"}
    if "symbolic" in passed:
        return "checked-symbolic"
    if "search" in passed and outcomes["instances"].verdict in ("pass", "skipped"):
        return "searched"
    if "instances" in passed:
        return "checked-on-instances"
    return "argued"


def _argued_reason(step: Step, outcomes: dict[str, CheckOutcome]) -> str:
    if step.argued:
        return step.argued
    if step.cites:
        return f"by lemma {step.cites} (checked as its own proof)"
    return "no method applied: " + "; ".join(f"{m}: {o.message}" for m, o in outcomes.items())


def _reference_values(step: Step, instance: ProofInstance | None) -> dict[str, Any] | None:
    if instance is None:
        return None
    try:
        sides = evaluate_step(step, instance)
        if sides is None:
            return None
        holds, values = compare(step, sides, instance.name)
    except Exception as error:  # noqa: BLE001 - reported, the step's own record carries the error
        return {"instance": instance.name, "error": f"{type(error).__name__}: {error}"}
    return {"instance": instance.name, "holds": holds, **values}


def check_step(step: Step, index: int, instances: Sequence[ProofInstance], strategy: Any,
               profile: SearchProfile | None, reference: ProofInstance | None = None) -> StepRecord:
    """Run the checkers on one step (``strategy``: a hypothesis strategy or None; ``profile`` None: no search)."""
    outcomes: dict[str, CheckOutcome] = {}
    try:
        outcomes["symbolic"] = check_symbolic(step)
        outcomes["instances"] = check_on_instances(step, instances)
        decided = outcomes["symbolic"].verdict in ("pass", "fail")   # a proof or a witness: search adds nothing
        if strategy is not None and profile is not None and not decided and (step.numeric is not None or step.symbolic):
            outcomes["search"] = search(step, strategy, profile)
    except Exception as error:  # noqa: BLE001 - a step that cannot be evaluated is an error, named
        if isinstance(error, ValueError) and "different shapes" in str(error):
            raise
        message = f"{type(error).__name__}: {error}"
        return StepRecord(step.name, index, step.latex, step.relation, step.justification, "argued", "error",
                          message, [asdict(o) for o in outcomes.values()], None, step.cites, step.argued, step.text)
    failed = [outcome for outcome in outcomes.values() if outcome.verdict == "fail"]
    kind = _kind(step, outcomes)
    if failed:
        verdict, message = "fail", "; ".join(f"{o.method}: {o.message}" for o in failed)
    elif kind == "argued":
        verdict, message = "argued", _argued_reason(step, outcomes)
    else:
        verdict, message = "pass", "; ".join(f"{o.method}: {o.message}" for o in outcomes.values()
                                             if o.verdict == "pass")
    return StepRecord(step.name, index, step.latex, step.relation, step.justification, kind, verdict, message,
                      [asdict(o) for o in outcomes.values()], _reference_values(step, reference), step.cites,
                      step.argued, step.text)


def _reference(proof: Proof, instances: Sequence[ProofInstance]) -> ProofInstance | None:
    if proof.reference is not None:
        for instance in instances:
            if instance.name == proof.reference:
                return instance
        raise ValueError(f"proof {proof.id!r}: reference instance {proof.reference!r} is not one of its instances")
    return instances[0] if instances else None


def check_proof(proof: Proof, profile: SearchProfile | str | None = "ci", slow: bool = True) -> ProofRecord:
    """Check every step of ``proof``; ``profile``: a ``SearchProfile``, a profile name, or None (no search);
    ``slow=False`` leaves out the instances marked ``slow`` (the default test suite; the CLI evaluates all)."""
    if isinstance(profile, str):
        profile = search_profile(profile)
    instances = [instance for instance in proof.instances() if slow or not instance.slow]
    strategy = proof.strategy() if (proof.strategy is not None and profile is not None) else None
    reference = _reference(proof, instances)
    steps = [check_step(step, index, instances, strategy, profile, reference)
             for index, step in enumerate(proof.steps)]
    kinds = {kind: sum(record.kind == kind for record in steps) for kind in STEP_KINDS}
    bad = any(record.verdict in ("fail", "error") for record in steps)
    return ProofRecord(proof.id, proof.theorem, proof.title, proof.statement, list(proof.hypotheses), proof.lemma,
                       "fail" if bad else "pass", reference.name if reference else None,
                       dict(reference.parameters) if reference else {}, [i.name for i in instances],
                       profile.name if profile else None, steps, kinds, proof.source)


def check_wrong_step(proof: Proof, wrong: WrongStep, profile: SearchProfile | str | None = "ci",
                     slow: bool = False) -> WrongStepRecord:
    """Run the proof's step ``wrong.step`` replaced by ``wrong.replacement``; killed iff that step fails
    (and, when ``wrong.instance`` is named, fails on that instance). The instances marked slow are left out
    unless ``slow`` or the wrong step names one: a kill needs one witness, not every chain."""
    if isinstance(profile, str):
        profile = search_profile(profile)
    index = [step.name for step in proof.steps].index(proof.step(wrong.step).name)
    instances = [instance for instance in proof.instances() if slow or not instance.slow
                 or instance.name == wrong.instance]
    instances += list(wrong.extra_instances() if wrong.extra_instances else [])
    if wrong.instance is not None:
        named = [instance for instance in instances if instance.name == wrong.instance]
        if not named:
            raise ValueError(f"wrong step {wrong.name!r}: instance {wrong.instance!r} is not an instance of "
                             f"proof {proof.id!r} (nor an extra instance)")
        instances = named
    strategy = proof.strategy() if (proof.strategy is not None and profile is not None
                                    and wrong.instance is None) else None
    record = check_step(wrong.replacement, index, instances, strategy, profile,
                        instances[0] if instances else None)
    killed_by = [check["method"] for check in record.checks if check["verdict"] == "fail"]
    return WrongStepRecord(wrong.name, proof.id, wrong.step, wrong.what_is_wrong, wrong.instance, wrong.history,
                           record.verdict == "fail", killed_by, record)


# ---------------------------------------------------------------- discovery
def _theorem_modules():
    """The registry's theorem modules, built-in then outside packages (the one import of the registry)."""
    from tiltproof.core.registry import package_modules, theorem_modules

    return theorem_modules() + package_modules()


def validate_citations(proofs: Sequence[Proof]) -> None:
    """ValueError naming the proof, the step and the id when a step cites a proof that is not there."""
    ids = {proof.id for proof in proofs}
    for proof in proofs:
        for step in proof.steps:
            if step.cites is not None and step.cites not in ids:
                raise ValueError(f"proof {proof.id!r}, step {step.name!r}: cites missing lemma {step.cites!r}")


def all_proofs() -> list[Proof]:
    """Every proof: ``tiltproof.proofs.lemmas.proofs()`` and each theorem module's ``proofs()`` (the built-in
    modules and the registered outside theorem packages)."""
    from tiltproof.proofs import lemmas

    found = list(lemmas.proofs())
    for module in _theorem_modules():
        declared = getattr(module, "proofs", None)
        if callable(declared):
            found.extend(declared())
    ids = [proof.id for proof in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate proof ids: {duplicates}")
    validate_citations(found)
    return found


def select_proofs(proofs: Sequence[Proof], ident: str) -> list[Proof]:
    """The proof with id ``ident``, or every proof of theorem ``ident`` (case-insensitive); with lemmas
    they cite. ValueError naming ``ident`` and the known ids when nothing matches."""
    exact = [proof for proof in proofs if proof.id == ident]
    chosen = exact or [proof for proof in proofs if proof.theorem.lower() == ident.lower()]
    if not chosen:
        theorems = sorted({proof.theorem for proof in proofs})
        raise ValueError(f"unknown theorem or proof id {ident!r}; theorems: {', '.join(theorems)}")
    return chosen


def summarize(records: Sequence[ProofRecord]) -> dict[str, Any]:
    """Steps by kind over ``records``, the fraction checked by a mechanical method, failing steps, and per theorem
    the number of exact instances its proofs were evaluated on."""
    counts = {kind: sum(record.kinds[kind] for record in records) for kind in STEP_KINDS}
    total = sum(counts.values())
    mechanical = total - counts["argued"]
    failing = [f"{record.id}:{step.name}" for record in records for step in record.steps
               if step.verdict in ("fail", "error")]
    return {"proofs": len(records), "steps": total, "kinds": counts,
            "mechanical_fraction": mechanical / total if total else 0.0, "failing": failing,
            "by_theorem": {theorem: {kind: sum(r.kinds[kind] for r in records if r.theorem == theorem)
                                     for kind in STEP_KINDS}
                           for theorem in sorted({r.theorem for r in records})},
            "instances_by_theorem": {theorem: len({name for r in records if r.theorem == theorem for name in r.instances})
                                     for theorem in sorted({r.theorem for r in records})}}
