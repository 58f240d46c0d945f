"""The record every bring-your-own check returns (single step, chain, tilt oracle, KL, prox).

A verification is a family of statistical tests run on a user's implementation against an exactly
known truth, each at its share of the check's false-fail budget ``alpha`` (Bonferroni over the tests,
so P(a correct implementation fails) ≤ alpha), each with its power stated:

* ``fail`` — the data refute the claim (some ``TestOutcome.rejected``): the output law, a declared
  rule, a query count or an oracle value is wrong;
* ``uncertified`` — nothing is refuted, but a certificate (an upper confidence bound on the TV the
  implementation claims, say) exceeds the claimed budget, so the claim is not shown either;
* ``pass`` — nothing is refuted and every certificate lies within its budget;
* ``error`` — the implementation could not be checked (it raised, or ignores its generator).

``power`` states what the design detects in the user's units (e.g. ``{"lambda_relative_error": 0.06,
"baseline_error": 0.3}``: a sampler off by that much fails with probability ≥ 1 − beta).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["VerificationVerdict", "TestOutcome", "Certificate", "VerificationRecord", "combine_verdict",
           "split_alpha"]

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
class VerificationRecord:
    """What a bring-your-own check found; ``str(record)`` is the human summary."""

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

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def __str__(self) -> str:
        head = f"{self.verdict.upper()}: {self.family} check on {self.instance} at α={self.alpha:g}, β={self.beta:g}"
        lines = [head]
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

    def to_json(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return str(value)
            if isinstance(value, dict):
                return {str(key): clean(item) for key, item in value.items()}
            if isinstance(value, (list, tuple)):
                return [clean(item) for item in value]
            if hasattr(value, "item") and callable(value.item):
                return clean(value.item())
            return value

        payload = clean(asdict(self))
        json.dumps(payload)  # fail here, not in the caller's writer, if a detail is not serialisable
        return payload


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
