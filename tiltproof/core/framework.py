"""Claims, their evidence, verdicts and the false-alarm budget (claims spec).

A ``Claim`` is one checkable inequality or identity of a theorem on one instance. Its ``check``
receives a ``CheckContext`` (its own fixed level α — ``Claim.level`` or ``DEFAULT_CLAIM_LEVEL`` —, a seed,
a device) and returns ``Evidence``: the symbolic bound evaluated, the exact value, the empirical statistic
with its one-sided confidence bound at level α, the relation the claim asserts (≤ ≥ = ∈), the margin to the
rejection threshold, the sample size, the smallest violation the test detects with probability ≥ 1 − β
(its power), and whether the claim holds. ``run_claim`` turns that into a
``Record`` with verdict ``pass``/``fail``; a violated hypothesis or an exception gives ``error``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal

import time
import traceback
import zlib

import sympy
import torch

from primitives._checks import resolve_device
from tiltproof.core.outcome import Outcome, error_outcome

__all__ = [
    "Verdict", "Hypothesis", "Evidence", "CheckContext", "Claim", "Record",
    "Mutant", "wrong_variant", "run_claim", "claim_error_record", "claim_identity", "claim_seed", "claim_level",
    "DEFAULT_ALPHA_TOTAL", "DEFAULT_CLAIM_LEVEL", "DEFAULT_BETA", "NUMERIC_TOLERANCE", "RELATIONS",
]

Verdict = Literal["pass", "fail", "error"]

DEFAULT_ALPHA_TOTAL = 1e-6
"""The default cap on the total false-alarm level a run may spend (``tiltproof check --alpha``)."""
DEFAULT_CLAIM_LEVEL = 4e-9
"""Each claim's own false-alarm level unless it sets ``Claim.level``: fixed, so a claim's sample size and
figures do not move when other claims are added or removed. 4e-9 keeps up to 250 claims (168 registered
when it was fixed, room for ~80 more) under the default cap 1e-6 by Bonferroni: 250 · 4e-9 = 1e-6. It is
below the old equal split 1e-6/168 ≈ 6e-9, which costs ≈ 2% more samples (n grows like log(1/α))."""
RELATIONS = ("≤", "≥", "=", "∈")
"""How a record's decisive figure relates to its bound: ≤ and ≥ one-sided, = an identity checked by a
two-sided interval (or exactly, within the numerical tolerance), ∈ membership in a bracket."""
DEFAULT_BETA = 1e-3
NUMERIC_TOLERANCE = 1e-9
"""Relative tolerance for exact-side comparisons: closed forms in float64 through log_ndtr/logsumexp
carry errors far below it; quadrature routes state their own error estimate on top of it."""


@dataclass(frozen=True)
class Hypothesis:
    """A theorem hypothesis in words (LaTeX allowed) and a predicate checked on the instance."""

    text: str
    holds: Callable[[], bool]


@dataclass(frozen=True)
class Evidence(Outcome):
    """What a check found, built once with every field (by the builders in ``tiltproof.core.evidence``);
    frozen: a later stage that adds information builds a new one with ``dataclasses.replace``.
    ``holds`` is the verdict before error handling."""

    holds: bool
    statistic: str
    bound: float | None = None
    exact: float | None = None
    empirical: float | None = None
    confidence_bound: float | None = None
    n: int = 0
    detectable_gap: float | None = None
    margin: float | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    detectable_gap_units: str | None = None
    """The units of ``detectable_gap`` (e.g. "TV", "KS on r(X)", "relative error of E[N]", "KL")."""
    relation: str = "≤"

    @property
    def verdict(self) -> Verdict:
        return "pass" if self.holds else "fail"


@dataclass(frozen=True)
class CheckContext:
    alpha: float
    seed: int
    device: torch.device
    beta: float = DEFAULT_BETA

    def generator(self, stream: int = 0) -> torch.Generator:
        """A generator seeded from the claim's seed and a stream number (deterministic)."""
        generator = torch.Generator(device=self.device)
        generator.manual_seed((self.seed * 1_000_003 + stream) % (2**63 - 1))
        return generator


@dataclass(frozen=True)
class Claim:
    id: str
    theorem: str
    module: str
    title: str
    statement: str
    bound_expression: sympy.Expr
    instance: str
    hypotheses: tuple[Hypothesis, ...]
    check: Callable[[CheckContext], Evidence]
    parameters: dict[str, float] = field(default_factory=dict)
    level: float | None = None
    """This claim's false-alarm level; None: ``DEFAULT_CLAIM_LEVEL``. Fixed per claim (see ``claim_level``)."""


@dataclass(frozen=True)
class Mutant:
    """A deliberately wrong variant of a claim (wrong sampler or wrong bound) that its check must fail."""

    name: str
    theorem: str
    what_is_wrong: str
    claim: Claim


def wrong_variant(claims: list[Claim], claim_id: str, check: Callable[[CheckContext], Evidence], suffix: str,
                  bound_expression: sympy.Expr | None = None) -> Claim:
    """The registered claim ``claim_id`` with a wrong ``check`` (and, for a wrong bound, its expression),
    under the id ``claim_id#suffix``: the building block of every module's ``mutants()``."""
    for claim in claims:
        if claim.id == claim_id:
            return dataclasses.replace(claim, id=f"{claim.id}#{suffix}", check=check,
                                       bound_expression=claim.bound_expression if bound_expression is None
                                       else bound_expression)
    raise KeyError(f"no registered claim {claim_id!r} to build a wrong variant from")


@dataclass(frozen=True)
class Record(Outcome):
    """One claim's outcome: who it is (id … parameters), its verdict and figures (those of its ``Evidence``)."""

    id: str
    theorem: str
    module: str
    title: str
    instance: str
    verdict: Verdict
    alpha: float
    statistic: str
    bound: float | None
    exact: float | None
    empirical: float | None
    confidence_bound: float | None
    margin: float | None
    n: int
    detectable_gap: float | None
    seconds: float
    seed: int
    statement: str
    bound_latex: str
    hypotheses: list[str]
    parameters: dict[str, float]
    message: str
    details: dict[str, Any]
    detectable_gap_units: str | None = None
    relation: str = "≤"

    EMPTY_FIGURES: ClassVar[dict[str, Any]] = dict(
        statistic="exception", bound=None, exact=None, empirical=None, confidence_bound=None, margin=None, n=0,
        detectable_gap=None, seconds=0.0)


def claim_seed(seed: int, claim_id: str) -> int:
    """A per-claim seed: stable across runs, selections (--only) and Python versions."""
    return (int(seed) * 2654435761 + zlib.crc32(claim_id.encode())) % (2**31 - 1)


def claim_level(claim: Claim) -> float:
    """The claim's own false-alarm level: ``claim.level``, else ``DEFAULT_CLAIM_LEVEL``."""
    return DEFAULT_CLAIM_LEVEL if claim.level is None else float(claim.level)


def claim_error_record(claim: Claim, *, alpha: float, seed: int, message: str, statistic: str = "exception",
                       details: dict[str, Any] | None = None, seconds: float = 0.0) -> Record:
    """The ``error`` record of ``claim`` (``seed``: the master seed): its identity, every figure empty.

    The one place a claim's error record is built: a violated hypothesis, a check that raised, a worker that
    died or timed out (``tiltproof.parallel``)."""
    return error_outcome(Record, message=message, details=details, **claim_identity(claim, alpha, seed),
                         statistic=statistic, seconds=seconds)


def claim_identity(claim: Claim, alpha: float, seed: int) -> dict[str, Any]:
    """The fields of a record that name the claim and its run (``seed``: the master seed)."""
    return dict(
        id=claim.id, theorem=claim.theorem, module=claim.module, title=claim.title, instance=claim.instance,
        alpha=alpha, seed=claim_seed(seed, claim.id), statement=claim.statement,
        bound_latex=sympy.latex(claim.bound_expression),
        hypotheses=[h.text for h in claim.hypotheses], parameters=dict(claim.parameters),
    )


def run_claim(claim: Claim, *, alpha: float | None = None, seed: int = 0, device: str | torch.device = "cpu",
              beta: float = DEFAULT_BETA) -> Record:
    """Check one claim at false-alarm level ``alpha`` (default: its own level); never raises for a failing check.

    A pure function of (claim, alpha, seed, device, beta) up to the timing field ``seconds``, so serial runs,
    process pools and pytest-xdist workers write identical records."""
    alpha = claim_level(claim) if alpha is None else alpha
    device_resolved = resolve_device(device)
    context = CheckContext(alpha=alpha, seed=claim_seed(seed, claim.id), device=device_resolved, beta=beta)
    start = time.perf_counter()
    try:
        violated = [h.text for h in claim.hypotheses if not h.holds()]
        if violated:
            return claim_error_record(claim, alpha=alpha, seed=seed, statistic="hypotheses",
                                      message="instance violates the hypotheses: " + "; ".join(violated),
                                      seconds=time.perf_counter() - start)
        evidence = claim.check(context)
    except Exception as error:  # an erroring claim is reported, never counted as a pass
        return claim_error_record(claim, alpha=alpha, seed=seed, statistic="exception",
                                  message=f"{type(error).__name__}: {error}", seconds=time.perf_counter() - start,
                                  details={"traceback": traceback.format_exc(limit=6)})
    return Record(
        **claim_identity(claim, alpha, seed), verdict=evidence.verdict, statistic=evidence.statistic,
        bound=evidence.bound, exact=evidence.exact, empirical=evidence.empirical,
        confidence_bound=evidence.confidence_bound, margin=evidence.margin, n=evidence.n,
        detectable_gap=evidence.detectable_gap, seconds=time.perf_counter() - start, message=evidence.message,
        details=evidence.details, detectable_gap_units=evidence.detectable_gap_units, relation=evidence.relation,
    )
