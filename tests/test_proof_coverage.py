"""Coverage of the registry by the proofs (issue 22): every registered claim's (theorem, instance) is an instance
of a proof of that theorem, and — slow-marked, since the chains' laws take minutes — every proof's steps are
evaluated and hold there.

The fast test lists instances only (payloads are lazy: no chain is built); ``-m slow`` evaluates every step on
every instance, the chains' per-parent laws included (measured 2026-12-08 on 2 loaded cores: about 7 minutes,
most of it the DDPM chain's exact tables, ~25 s per height, and the learned soft values of lm-tiny-B5, ~2 min).
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from tiltproof.core.registry import all_claims, package_modules, theorem_modules
from tiltproof.proofs import Proof, ProofInstance, Sides, Step, all_proofs, registry_keys
from tiltproof.proofs.checkers import compare, evaluate_step
from tiltproof.proofs.coverage import claim_key, coverage, coverage_gaps

PROOFS = all_proofs()


def _claims_with_proofs():
    """The built-in claims, and an outside package's when it declares ``proofs()`` (an installed package without
    proofs is the package's business, e.g. an older editable install of examples/softbon_theorem)."""
    declaring = {module.__name__.split(".")[-1] for module in theorem_modules()}
    declaring |= {module.__name__ for module in package_modules() if callable(getattr(module, "proofs", None))}
    return [claim for claim in all_claims() if claim.module in declaring]


CLAIMS = _claims_with_proofs()


def test_every_registered_claim_instance_is_an_instance_of_a_proof_of_its_theorem():
    assert coverage_gaps(PROOFS, CLAIMS) == []
    assert {"T1", "T7", "T8", "MSG", "W1c"} <= {claim.theorem for claim in CLAIMS}


def test_the_chains_of_the_issue_are_covered_at_every_step():
    table = coverage(PROOFS, CLAIMS)
    assert "t7.path_tv" in table["T7"]["gmm-ref-B5"] and "t7.path_tv" in table["T7"]["lm-tiny-B5"]
    assert "t1.ideal_exact" in table["T1"]["gmm-ddpm-B3"] and "t8.value_error_tv" in table["T8"]["masked-ref-B5"]
    by_id = {proof.id: proof for proof in PROOFS}
    psd_steps = {instance.name for instance in by_id["psd.factor_bound"].instances()
                 if instance.name.startswith("gmm-ref-B7/")}
    assert psd_steps == {f"gmm-ref-B7/t={t}" for t in range(20)}
    t1_ref = {instance.name.split(",")[0] for instance in by_id["t1.ideal_exact"].instances()
              if instance.name.startswith("gmm-ref-B3/")}
    assert t1_ref == {f"gmm-ref-B3/t={t}" for t in range(21)}        # the 20 transitions and the prior step


class _Claim:
    def __init__(self, ident: str, theorem: str, instance: str = "") -> None:
        self.id, self.theorem, self.instance = ident, theorem, instance


def test_a_missing_instance_is_a_named_gap_and_an_uncovered_key_needs_its_reason():
    step = Step("s", "x", "=", "identity", numeric=lambda instance: Sides(1.0, 1.0))
    instances = lambda: [ProofInstance("finite-k10/b=1"), ProofInstance("wide/x", covers=("alias",))]
    proof = Proof("p", "T9", "t", "s", (step,), instances)
    claims = [_Claim("t9.a/finite-k10/b=2", "T9"), _Claim("t9.b/alias", "T9"), _Claim("t9.c/gmm-ref-B5/t=1", "T9"),
              _Claim("t9.d/finite-k10", "T8")]
    assert coverage_gaps([proof], claims) == ["T8 finite-k10 (t9.d/finite-k10)", "T9 gmm-ref-B5 (t9.c/gmm-ref-B5/t=1)"]
    excused = Proof("q", "T9", "t", "s", (step,), instances, uncovered={"gmm-ref-B5": "software behaviour"})
    assert coverage_gaps([proof, excused], claims[:3]) == []
    assert claim_key(_Claim("bare", "T9", "its-instance")) == "its-instance"
    assert registry_keys(ProofInstance("a/b", covers=("c",))) == frozenset({"a", "c"})


def _evaluated_keys(proof: Proof) -> tuple[dict[str, int], list[str]]:
    """registry key → steps evaluated on its instances (each must hold); violations as messages."""
    evaluated: dict[str, int] = defaultdict(int)
    violations = []
    for instance in proof.instances():
        for step in proof.steps:
            sides = evaluate_step(step, instance)
            if sides is None:
                continue
            holds, values = compare(step, sides, instance.name)
            if not holds:
                violations.append(f"{proof.id}:{step.name} on {instance.name}: {values}")
            for key in registry_keys(instance):
                evaluated[key] += 1
    return evaluated, violations


@pytest.mark.slow
@pytest.mark.parametrize("proof", PROOFS, ids=lambda proof: proof.id)
def test_steps_hold_on_every_instance_the_theorems_claims_use(proof):
    evaluated, violations = _evaluated_keys(proof)
    assert not violations, violations
    keys = {claim_key(claim) for claim in CLAIMS if claim.theorem == proof.theorem}
    own = {key for instance in proof.instances() for key in registry_keys(instance)}
    unevaluated = sorted(key for key in keys & own if not evaluated[key])
    assert not unevaluated, f"{proof.id}: no step evaluated on {unevaluated}"
