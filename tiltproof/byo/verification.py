"""The record every bring-your-own check returns (single step, chain, tilt oracle, KL, prox).

A verification is a family of statistical tests run on a user's implementation against an exactly
known truth, each at its share of the check's false-fail budget ``alpha`` (Bonferroni over the tests,
so P(a correct implementation fails) ≤ alpha), each with its power stated:

* ``fail`` — the data refute the claim (some ``TestOutcome.rejected``): the output law, a declared
  rule, a query count or an oracle value is wrong;
* ``uncertified`` — nothing is refuted, but a certificate (an upper confidence bound on the TV the
  implementation claims, say) exceeds the claimed budget, so the claim is not shown either;
* ``pass`` — nothing is refuted and every certificate lies within its budget;
* ``error`` — the implementation could not be checked (it raised, or returned the wrong type).

``pass`` has one of two meanings, stated in ``pass_meaning`` and in the summary line:

* ``"not_refuted"`` — an **exactness** claim (budget 0: a single-step law, a registered identity, an
  exact chain): the tests did not reject at level α, and ``power`` states what they would have rejected
  w.p. ≥ 1 − β. Nothing smaller is excluded.
* ``"certified"`` — a **budget** claim (TV ≤ budget > 0, a tolerance): a certificate (an upper
  confidence bound at level α, or a deterministic bound) lies within the budget. Without one the verdict
  is ``uncertified``, whatever else was returned, and the record says what to declare or return.

``not_reproducible`` is a flag beside the verdict: two equally seeded small draws differed, so the
implementation takes randomness from somewhere other than the generator it is handed. The verdict is
still what the data say (a refuted law is ``fail``), but no run of the check can be replayed.

``power`` states what the design detects in the user's units (e.g. ``{"lambda_relative_error": 0.06,
"baseline_error": 0.3}``: a sampler off by that much fails with probability ≥ 1 − beta).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from tiltproof.core.outcome import Outcome

__all__ = ["VerificationVerdict", "TestOutcome", "Certificate", "VerificationRecord", "combine_verdict",
           "split_alpha", "settle_verdict", "PASS_MEANINGS"]

PASS_MEANINGS = {"not_refuted": "not refuted at level α; the designed power is stated",
                 "certified": "certified within the budget at level α"}

VerificationVerdict = Literal["pass", "fail", "uncertified", "error"]


@dataclass(frozen=True)
class TestOutcome:
    """One statistical test of a verification.

    ``value`` is the statistic, ``threshold`` the level-``alpha`` rejection point it is compared with
    (``rejected`` says which side it fell on), ``detectable_gap`` the smallest violation, in
    ``gap_units``, that the test detects with probability ≥ 1 − β at this ``n``.
    """

    name: str
    statistic: str
    value: float
    threshold: float
    n: int
    alpha: float
    detectable_gap: float | None
    gap_units: str
    rejected: bool
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        gap = "—" if self.detectable_gap is None else f"{self.detectable_gap:.3g} {self.gap_units}"
        mark = "REJECTED" if self.rejected else "ok"
        return (f"  {mark:8s} {self.name}: {self.statistic} = {self.value:.4g} vs {self.threshold:.4g} "
                f"(n={self.n}, α={self.alpha:.2g}, detects ≥ {gap})")


@dataclass(frozen=True)
class Certificate:
    """An upper confidence bound on a quantity the implementation claims to keep within ``budget``."""

    name: str
    upper_confidence: float
    budget: float
    alpha: float
    estimate: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def within(self) -> bool:
        return self.upper_confidence <= self.budget


@dataclass(frozen=True)
class VerificationRecord(Outcome):
    """What a bring-your-own check found; ``str(record)`` is the human summary, ``to_json`` the one JSON
    writer of every outcome (``tiltproof.core.outcome``), ``error_outcome(VerificationRecord, …)`` its error."""

    family: str
    instance: str
    verdict: VerificationVerdict
    alpha: float
    beta: float
    seed: int
    tests: tuple[TestOutcome, ...]
    certificates: tuple[Certificate, ...] = ()
    power: dict[str, float | None] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    pass_meaning: str = ""
    """``"not_refuted"`` (exactness claim) or ``"certified"`` (budget claim) when the verdict is ``pass``."""
    not_reproducible: bool = False
    """Two equally seeded draws differed: the implementation ignores the generator it is handed."""

    # Single-statistic views, for callers of the original single-step check.
    @property
    def n(self) -> int:
        return max((test.n for test in self.tests), default=0)

    @property
    def statistic(self) -> float | None:
        return self.tests[0].value if self.tests else None

    @property
    def detectable_gap(self) -> float | None:
        return self.tests[0].detectable_gap if self.tests else None

    def summary(self) -> str:
        """One line: verdict, what ``pass`` means here, reproducibility, samples used."""
        verdict = self.verdict.upper()
        if self.verdict == "pass" and self.pass_meaning:
            verdict += f" ({self.pass_meaning.replace('_', ' ')})"
        parts = [f"{verdict}: {self.family} check on {self.instance} at α={self.alpha:g}, β={self.beta:g}"]
        if self.not_reproducible:
            parts.append("NOT REPRODUCIBLE (ignores its generator)")
        used = self.details.get("samples_used") if isinstance(self.details, dict) else None
        if used is not None:
            parts.append(f"{used} samples")
        return " · ".join(parts)

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.verdict == "pass" and self.pass_meaning in PASS_MEANINGS:
            lines.append(f"  pass means: {PASS_MEANINGS[self.pass_meaning]}")
        if self.message:
            lines.append(f"  {self.message}")
        lines.extend(test.line() for test in self.tests)
        for certificate in self.certificates:
            state = "within" if certificate.within else "OVER"
            lines.append(f"  {state:8s} certificate {certificate.name}: upper bound {certificate.upper_confidence:.4g} "
                         f"vs budget {certificate.budget:.4g} (α={certificate.alpha:.2g})")
        if self.power:
            detail = ", ".join(f"{key} ≥ {'—' if value is None else f'{value:.3g}'}" for key, value in self.power.items())
            lines.append(f"  power (prob. ≥ {1 - self.beta:g}): detects {detail}")
        lines.extend(f"  warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)

    EMPTY_FIGURES: ClassVar[dict[str, Any]] = dict(tests=())


def split_alpha(alpha: float, parts: int) -> float:
    """Each of ``parts`` tests gets α/parts (Bonferroni): the family's false-fail rate stays ≤ α."""
    if parts < 1:
        raise ValueError(f"parts must be ≥ 1, got {parts}")
    return alpha / parts


def combine_verdict(tests: tuple[TestOutcome, ...], certificates: tuple[Certificate, ...] = ()) -> VerificationVerdict:
    """``fail`` if any test rejects, else ``uncertified`` if any certificate exceeds its budget, else ``pass``."""
    if any(test.rejected for test in tests):
        return "fail"
    if any(not certificate.within for certificate in certificates):
        return "uncertified"
    return "pass"


def settle_verdict(tests: tuple[TestOutcome, ...], certificates: tuple[Certificate, ...] = (), *,
                   budget: float = 0.0, missing: str = "") -> tuple[VerificationVerdict, str, str]:
    """(verdict, pass_meaning, message) under the one meaning of each verdict (module docstring).

    ``budget`` > 0 is a budget claim: ``pass`` needs at least one certificate and every certificate
    within its budget; without a certificate the verdict is ``uncertified`` and the message is
    ``missing`` (what to declare or return to get one). ``budget`` = 0 is an exactness claim: ``pass``
    means not refuted (a certificate over its budget still makes it ``uncertified``).
    """
    if any(test.rejected for test in tests):
        return "fail", "", ""
    if any(not certificate.within for certificate in certificates):
        return "uncertified", "", ""
    if budget > 0:
        if not certificates:
            return "uncertified", "", missing or "no certificate for this budget claim: nothing bounds the TV above"
        return "pass", "certified", ""
    return "pass", "not_refuted", ""
