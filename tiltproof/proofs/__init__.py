"""The proof companion (issue 22): every theorem's proof as data, each step checked.

Declare a proof in a theorem module (``theorems/<module>.py``, or a sibling ``theorems/proofs/<module>.py``
without ``claims()`` that the module's ``proofs()`` imports lazily)::

    from tiltproof.proofs import Proof, ProofInstance, Sides, Step, WrongStep

    def proofs() -> list[Proof]:
        return [Proof(id="bon.kl_bound", theorem="BoN", title=..., statement=r"...",
                      steps=(Step("jensen", r"...", "≤", "Jensen", numeric=..., domain=...), ...),
                      instances=lambda: [ProofInstance("finite-k8/N=4", {"N": 4}, payload), ...],
                      strategy=lambda: hypothesis_strategy_of_ProofInstances,
                      wrong_steps=(WrongStep("jensen-flipped", "jensen", wrong_step, "≥ for ≤", "finite-k8/N=4"),))]

``check_proof(proof)`` returns a ``ProofRecord``; ``check_wrong_step`` a ``WrongStepRecord``;
``all_proofs()`` collects every declared proof. The worked example is ``theorems/proofs/best_of_n.py``;
``docs/adding-a-theorem.md`` (section "A proof") walks through it.
"""
from tiltproof.proofs.checkers import (PROFILES, CheckOutcome, SearchProfile, check_on_instances, check_symbolic,
                                       search, search_profile)
from tiltproof.proofs.engine import (ProofRecord, StepRecord, WrongStepRecord, all_proofs, check_proof, check_step,
                                     check_wrong_step, select_proofs, summarize, validate_citations)
from tiltproof.proofs.intervals import enclose, prove_nonnegative
from tiltproof.proofs.model import (JUSTIFICATIONS, RELATIONS, RELATIVE_TOLERANCE, STEP_KINDS, LazyPayload, Proof,
                                    ProofInstance, Sides, Step, WrongStep, registry_keys)

__all__ = [
    "Proof", "ProofInstance", "LazyPayload", "registry_keys", "Sides", "Step", "WrongStep", "RELATIONS", "JUSTIFICATIONS", "STEP_KINDS",
    "RELATIVE_TOLERANCE", "ProofRecord", "StepRecord", "WrongStepRecord", "CheckOutcome", "SearchProfile", "PROFILES",
    "search_profile", "check_proof", "check_step", "check_wrong_step", "check_symbolic", "check_on_instances",
    "search", "all_proofs", "select_proofs", "summarize", "validate_citations", "enclose", "prove_nonnegative",
]
