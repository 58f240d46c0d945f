"""A proof as data: ``Step``, ``Proof``, ``ProofInstance``, ``Sides``, ``WrongStep`` (issue 22).

A theorem's proof is an ordered tuple of ``Step``s. Each step asserts ``lhs REL rhs`` with REL one of
``=``, ``≤``, ``≥`` (or ``premise ⇒ conclusion``), says why (``justification``, a controlled
vocabulary, optionally ``cites`` the id of a lemma that is itself a ``Proof``), and gives the means to
check it:

* ``lhs``/``rhs`` as sympy expressions (with ``domain``: a bounded interval per free symbol) — the
  symbolic checker proves the step for *every* point of the domain (sympy simplification, sign
  deduction, then interval branch-and-bound) or refutes it with a witness point;
* ``numeric(instance) -> Sides | None`` — both sides computed exactly on one ``ProofInstance`` by a
  route independent of the code under test, with the route's error; ``None`` means "this step does
  not apply to this instance" (e.g. a step about atoms on a continuous law). When ``numeric`` is absent
  but the sympy sides are given and every free symbol is a parameter of the instance (matched by
  name), the sides are evaluated by substitution;
* ``argued`` — the reason no mechanical method applies (the step is then reported as *argued*).

Steps are *links*: the chain ``exact TV ≤ D/Z ≤ P_q(r > b) ≤ δ`` is three steps, each checked on
its own, so a wrong link is named. A ``Proof`` carries the exact instances on which every step is
evaluated (``instances``, the theorem's registered ones) and a ``hypothesis`` strategy over the
theorem's hypotheses (``strategy``) for the property-based search. ``wrong_steps`` are deliberately
wrong versions of single steps that the checkers must reject *at that step*.

Semantics of a numeric comparison (``Sides``: ``lhs``, ``rhs`` floats or arrays of one shape,
``error`` ≥ 0 the stated numerical error of the route): with slack ``s = error + RELATIVE_TOLERANCE·
max(1, |rhs|)``, ``=`` holds iff ``|lhs − rhs| ≤ s``, ``≤`` iff ``lhs ≤ rhs + s``, ``≥`` iff
``lhs ≥ rhs − s``, elementwise; ``⇒`` takes booleans and holds iff ``not lhs or rhs``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy

__all__ = [
    "RELATIONS", "JUSTIFICATIONS", "STEP_KINDS", "RELATIVE_TOLERANCE", "Sides", "ProofInstance", "LazyPayload",
    "Step", "WrongStep", "Proof", "registry_keys",
]

RELATIONS = ("=", "≤", "≥", "⇒")
"""``lhs REL rhs``; for ``⇒`` the sides are the premise and the conclusion (booleans on an instance)."""

JUSTIFICATIONS = (
    "definition", "identity", "algebra", "calculus", "hypothesis", "monotonicity", "convexity", "Jensen",
    "Markov", "Chernoff", "Hoeffding", "DKW", "Bernstein", "Gaussian concentration", "data processing",
    "union bound", "Pinsker", "triangle inequality", "Cauchy–Schwarz", "change of measure", "telescoping",
    "coupling", "lemma",
)
"""The controlled vocabulary of ``Step.justification`` (a step that ``cites`` a lemma uses "lemma" or
the lemma's named inequality). Extend it here, never by free text in a step."""

STEP_KINDS = ("checked-symbolic", "checked-on-instances", "searched", "argued")
"""How a step was established, strongest first: proved over its whole stated domain by sympy or
interval arithmetic; evaluated exactly on every applicable registered instance; evaluated exactly on
the registered instances *and* on every instance the hypothesis search drew; not checked mechanically."""

RELATIVE_TOLERANCE = 1e-9
"""Relative slack of a numeric comparison on top of the route's stated error (as
``tiltproof.core.framework.NUMERIC_TOLERANCE``: float64 closed forms carry errors far below it)."""


@dataclass(frozen=True)
class Sides:
    """Both sides of a step on one instance. ``lhs``/``rhs``: floats or numpy arrays of equal shape
    (booleans for ``⇒``); ``error``: the stated absolute error of the computation (quadrature …)."""

    lhs: Any
    rhs: Any
    error: float = 0.0


@dataclass(frozen=True)
class ProofInstance:
    """One exact instance on which steps are evaluated.

    ``name``: stable and readable (``finite-k8/N=4``); ``parameters``: the numbers shown in reports and
    substituted, by symbol name, into steps that give sympy sides only; ``payload``: whatever the
    proof's ``numeric`` functions need (a law, a reward, a chain …), never shown.
    """

    name: str
    parameters: Mapping[str, float] = field(default_factory=dict)
    payload: Any = None
    covers: tuple[str, ...] = ()
    """Registry instance keys (``registry_keys``) this instance reproduces besides its name's first segment."""
    slow: bool = False
    """Seconds to evaluate (a chain's kernel laws at every step): left out of the default test suite's check
    (``check_proof(..., slow=False)``), evaluated by ``tiltproof proof`` and the slow-marked tests."""


class LazyPayload:
    """A ``ProofInstance.payload`` built on first use and then kept (``evaluate_step`` resolves it), so listing a
    proof's instances — the CLI, the coverage test — builds no chain. ``build``: () → the payload."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build, self._value, self._built = build, None, False

    def value(self) -> Any:
        if not self._built:
            self._value, self._built = self._build(), True
        return self._value


def registry_keys(instance: ProofInstance) -> frozenset[str]:
    """The registered instances ``instance`` reproduces: its name's first ``/``-segment (``finite-k10`` for
    ``finite-k10/b=1.357``) and its ``covers``. A claim's key is its id's segment after the claim name
    (``t2.tv_exact/finite-k10/b=1.357`` → ``finite-k10``; ``tiltproof.proofs.coverage``)."""
    return frozenset({instance.name.split("/")[0], *instance.covers})


@dataclass(frozen=True)
class Step:
    """One link of a proof: ``lhs relation rhs`` because ``justification``.

    * ``name``: a short id unique within the proof (``jensen``); wrong steps and records refer to it.
    * ``latex``: the step as a paper would typeset it (math mode, no ``$``), e.g.
      ``r"\\sum_v g(v)\\log\\frac{g(v)}{p(v)} \\le \\int_0^1 \\varphi(Nu^{N-1})\\,du"``.
    * ``relation``: one of ``RELATIONS``; ``justification``: one of ``JUSTIFICATIONS``.
    * ``lhs``, ``rhs``: sympy expressions, or None when the sides are only computable on instances.
      Symbols carry sympy assumptions (``positive=True`` …), used by simplification.
    * ``domain``: ``{symbol name: (low, high)}``, a bounded box over which the symbolic checker proves the
      step by interval arithmetic when simplification and sign deduction do not decide it.
    * ``numeric``: ``instance -> Sides | None``, exact on the instance (None: not applicable to it).
    * ``cites``: the id of a lemma ``Proof`` this step applies (checked separately, must exist).
    * ``argued``: why no mechanical method can check the step; a step with nothing checkable must say.
    * ``text``: one sentence of prose for the appendix (optional).
    """

    name: str
    latex: str
    relation: str
    justification: str
    lhs: sympy.Expr | None = None
    rhs: sympy.Expr | None = None
    domain: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    numeric: Callable[[ProofInstance], Sides | None] | None = None
    cites: str | None = None
    argued: str | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"step name must be a non-empty string, got {self.name!r}")
        if self.relation not in RELATIONS:
            raise ValueError(f"step {self.name!r}: relation must be one of {RELATIONS}, got {self.relation!r}")
        if self.justification not in JUSTIFICATIONS:
            raise ValueError(f"step {self.name!r}: justification must be one of {JUSTIFICATIONS}, "
                             f"got {self.justification!r}")
        if (self.lhs is None) != (self.rhs is None):
            raise ValueError(f"step {self.name!r}: give both lhs and rhs as sympy expressions, or neither")
        for side_name, side in (("lhs", self.lhs), ("rhs", self.rhs)):
            if side is not None and not isinstance(side, sympy.Basic):
                raise ValueError(f"step {self.name!r}: {side_name} must be a sympy expression, got {type(side).__name__}")
        for symbol, bounds in self.domain.items():
            if len(bounds) != 2 or not (np.isfinite(bounds[0]) and np.isfinite(bounds[1])) or bounds[0] > bounds[1]:
                raise ValueError(f"step {self.name!r}: domain of {symbol!r} must be a bounded interval (low ≤ high), "
                                 f"got {bounds!r}")
        if self.lhs is None and self.numeric is None and self.argued is None and self.cites is None:
            raise ValueError(f"step {self.name!r}: nothing to check — give lhs/rhs, numeric, cites or argued (why not)")

    @property
    def symbolic(self) -> bool:
        return self.lhs is not None


@dataclass(frozen=True)
class WrongStep:
    """A deliberately wrong version of one step, which must be killed *at that step*.

    ``step``: the name of the step it replaces; ``replacement``: the wrong ``Step`` (same name is not
    required); ``what_is_wrong``: one line (a flipped sign, a dropped factor, a wrong constant);
    ``instance``: the name of an instance (of ``Proof.instances`` or ``extra_instances``) on which it must
    fail, or None when the symbolic checker or the search is expected to kill it; ``history``: where a
    historical spec error is recorded (a commit, a spec section), shown in reports.
    """

    name: str
    step: str
    replacement: Step
    what_is_wrong: str
    instance: str | None = None
    history: str = ""
    extra_instances: Callable[[], Sequence[ProofInstance]] | None = None


@dataclass(frozen=True)
class Proof:
    """A theorem's proof as data.

    * ``id``: unique across the suite (``bon.kl_bound``); ``theorem``: the registry's theorem name (``BoN``);
      a lemma (``lemma=True``) may have a theorem name of its own (``Chernoff``).
    * ``title``, ``statement`` (LaTeX, math mode), ``hypotheses`` (words with ``$…$`` math), ``source``.
    * ``steps``: the ordered links; ``instances``: ``() -> [ProofInstance]``, the theorem's registered
      exact instances (built lazily: the CLI lists proofs without building them).
    * ``strategy``: ``() -> hypothesis.strategies.SearchStrategy[ProofInstance]`` drawing instances that
      satisfy the theorem's hypotheses and whose step sides are exactly computable, or None.
    * ``wrong_steps``: step-level wrong variants; ``reference``: the instance shown by ``tiltproof proof``
      (default: the first).
    """

    id: str
    theorem: str
    title: str
    statement: str
    steps: tuple[Step, ...]
    instances: Callable[[], Sequence[ProofInstance]]
    strategy: Callable[[], Any] | None = None
    hypotheses: tuple[str, ...] = ()
    wrong_steps: tuple[WrongStep, ...] = ()
    source: str = ""
    lemma: bool = False
    reference: str | None = None
    uncovered: Mapping[str, str] = field(default_factory=dict)
    """Registry keys of the theorem's claims that no step of this proof is about, each with the reason (a claim
    that tests software behaviour, e.g. a refusal); ``tiltproof.proofs.coverage`` accepts exactly these gaps."""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("proof id must be a non-empty string")
        if not self.steps:
            raise ValueError(f"proof {self.id!r}: steps must not be empty")
        names = [step.name for step in self.steps]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"proof {self.id!r}: duplicate step names {duplicates}")
        for wrong in self.wrong_steps:
            if wrong.step not in names:
                raise ValueError(f"proof {self.id!r}: wrong step {wrong.name!r} replaces unknown step {wrong.step!r}")

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise ValueError(f"proof {self.id!r} has no step {name!r}; steps: {[s.name for s in self.steps]}")

    def with_step(self, name: str, replacement: Step) -> "Proof":
        """This proof with step ``name`` replaced (used to run a ``WrongStep``)."""
        self.step(name)
        steps = tuple(replacement if step.name == name else step for step in self.steps)
        from dataclasses import replace

        return replace(self, steps=steps, wrong_steps=())
